//! Compile tests of `#[equivariant_layer]` (trybuild), in `tests/ui.rs`: the cases in
//! `ui/ok` must compile and run, those in `ui/err` must fail with the committed
//! `.stderr`. The crate is separate from `ginrs-tests` because trybuild builds the cases with
//! every dev-dependency of the crate under test, and `ginrs-tests` depends on burn.
#![forbid(unsafe_code)]
