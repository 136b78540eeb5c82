//! # ginrs-generator
//!
//! Everything ginrs knows before run time: the hyperoctahedral group B_d and its subgroups
//! ([`group`]), exact invariant filter banks and ginjax's conventions for them, their JSON form,
//! the `gen-filters` command line tool, and the code generator behind `#[equivariant_layer]`.
//!
//! This crate does not depend on the runtime.
#![warn(missing_docs)]

pub mod group;
pub mod picture;
