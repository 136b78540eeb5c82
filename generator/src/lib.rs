//! # ginrs-generator
//!
//! Everything ginrs knows before run time: the hyperoctahedral group B_d and its subgroups
//! ([`group`]), exact invariant filter banks and ginjax's conventions for them ([`filters`]),
//! their JSON form ([`json`]), SVG/PNG pictures of them ([`picture`]), the `gen-filters` command
//! line tool, and the code generator behind `#[equivariant_layer]`.
//!
//! This crate does not depend on the runtime. Only [`json`] depends on serde.
#![warn(missing_docs)]

pub mod filters;
pub mod group;
pub mod json;
pub mod picture;

pub use filters::{
    invariant_bank, invariant_count, BankOptions, Convention, ExactFilter, FilterBank, FilterError,
    Scale,
};
pub use json::{FilterFile, JsonError};
