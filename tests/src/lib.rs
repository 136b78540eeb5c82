//! Shared helpers for the cross-crate tests of ginrs: loading the ginjax reference fixtures in
//! `tests/fixtures/` (format described in `tests/fixtures/README.md`) and comparing results.
//!
//! [`device`] reads the burn device the burn tests run on from `GINRS_TEST_DEVICE`.
//!
//! These helpers panic with a descriptive message on malformed fixtures: they serve tests only.
//! `unsafe` code lives only in [`fuzz`] (the fuzz tests' allocator).
#![warn(missing_docs)]

pub mod data;
pub mod device;
pub mod fixtures;
pub mod fuzz;
pub mod mutate;
