//! The committed banks in `filters/` are what the generator produces today. When this fails,
//! run the command in the message from the workspace root and commit the result.

use ginrs_generator::filters::invariant_banks;
use ginrs_generator::group::Group;
use ginrs_generator::{BankOptions, FilterFile};

fn check(dim: usize) {
    let name = format!("filters/d{dim}.json");
    let command = format!(
        "cargo run --release -p ginrs-generator --bin gen-filters -- \
         --dim {dim} --size 3,5 --max-k 3 -o {name}"
    );
    let path = format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {name} ({e}); create it with:\n  {command}"));
    let committed = FilterFile::from_json(&text)
        .unwrap_or_else(|e| panic!("{name} is invalid ({e}); regenerate it with:\n  {command}"));

    let group = Group::hyperoctahedral(dim).unwrap();
    let options = BankOptions::default();
    let banks = invariant_banks(&group, &[3, 5], 3, &[0, 1], &options).unwrap();
    let fresh = FilterFile::new(&group, &options, banks);

    // Everything but the generator's version must match (the content hash covers the banks).
    let same = committed.dimension == fresh.dimension
        && committed.group == fresh.group
        && committed.group_order == fresh.group_order
        && committed.convention == fresh.convention
        && committed.scale == fresh.scale
        && committed.k2_irreps_basis == fresh.k2_irreps_basis
        && committed.content_hash() == fresh.content_hash()
        && committed.banks == fresh.banks;
    assert!(same, "{name} is stale; regenerate it with:\n  {command}");
}

#[test]
fn d1_is_fresh() {
    check(1);
}

#[test]
fn d2_is_fresh() {
    check(2);
}

#[test]
fn d3_is_fresh() {
    check(3);
}
