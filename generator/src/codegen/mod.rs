//! The code generator behind `#[equivariant_layer(...)]` (feature `codegen`).
//!
//! [`expand`] turns the attribute and the annotated unit struct into a layer: parsing
//! ([`parse`]), validation against the exact invariant filter counts ([`plan`]), the plan of each
//! unrolled response kernel ([`stencil`]) and its tokens ([`kernel`]), and the layer's struct,
//! constructors, constants and trait impls ([`layer`]). Every problem becomes a
//! `compile_error!` at the offending token; all of them are reported at once.

pub mod errors;
pub mod parse;
pub mod spec;
pub mod stencil;
