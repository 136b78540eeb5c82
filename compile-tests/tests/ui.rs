//! Compile tests of `#[equivariant_layer]`: `ui/ok/*.rs` must compile and run, `ui/err/*.rs` must
//! fail with the committed `.stderr` (regenerate with `TRYBUILD=overwrite` after reviewing).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/ok/*.rs");
    t.compile_fail("ui/err/*.rs");
}
