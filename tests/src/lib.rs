//! Shared helpers for the cross-crate tests of ginrs: loading the ginjax reference fixtures in
//! `tests/fixtures/` (format described in `tests/fixtures/README.md`) and comparing results.
//!
//! These helpers panic with a descriptive message on malformed fixtures: they serve tests only.
//! `unsafe` code lives only in [`alloc_guard`] (the fuzz tests' allocator).
#![warn(missing_docs)]

pub mod alloc_guard;
pub mod data;
pub mod fixtures;
pub mod mutate;
