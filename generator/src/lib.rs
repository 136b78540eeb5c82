//! # ginrs-generator
//!
//! Everything ginrs knows before run time: the hyperoctahedral group B_d and its subgroups
//! ([`group`]), the work counts of a layer ([`flops`]), ginjax's block-pair rules ([`pairs`]), exact invariant filter banks and ginjax's conventions for them ([`filters`]),
//! their JSON form ([`json`]), SVG/PNG pictures of them (`picture`, feature `pictures`), the
//! `gen-filters` command line tool (feature `cli`), and the code generator behind
//! `#[equivariant_layer]` (`codegen`, feature `codegen`).
//!
//! # Features
//!
//! - `cli` (default): the `gen-filters` binary (clap, indicatif); implies `pictures`.
//! - `pictures`: the `picture` module (resvg).
//! - `codegen`: the `codegen` module (syn, quote, proc-macro2), used by `ginrs-macros`.
//!
//! `ginrs-macros` and `ginrs-runtime` depend on this crate with `default-features = false`, so
//! a crate using `#[equivariant_layer]` never builds resvg, clap or indicatif.
//!
//! # Rules
//!
//! - This crate depends on no other ginrs crate (the runtime and the macros depend on it).
//! - Only [`json`] depends on serde.
//! - No unsafe code: `#![forbid(unsafe_code)]` here and in the `gen-filters` binary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod filters;
pub mod flops;
pub mod group;
pub mod json;
pub mod pairs;
#[cfg(feature = "pictures")]
pub mod picture;

pub use filters::{
    invariant_bank, invariant_count, BankOptions, Convention, ExactFilter, FilterBank, FilterError,
    Scale,
};
pub use json::{FilterFile, JsonError};

#[cfg(feature = "codegen")]
pub mod codegen;
