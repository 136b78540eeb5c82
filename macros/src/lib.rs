//! # ginrs-macros
//!
//! The proc-macro entry point of ginrs. It will hold `#[equivariant_layer]`, a thin adapter over
//! `ginrs_generator::codegen`; use it through `ginrs-runtime`, which re-exports it.
