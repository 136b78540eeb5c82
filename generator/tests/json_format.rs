//! The `ginrs-filters/1` JSON format: round trips, the content hash and refusals.

use ginrs_generator::filters::invariant_banks;
use ginrs_generator::group::{Group, GroupKind};
use ginrs_generator::{BankOptions, Convention, FilterFile, JsonError, Scale};
use serde_json::Value;

fn file(kind: GroupKind, dim: usize, options: BankOptions) -> FilterFile {
    let group = Group::new(kind, dim).unwrap();
    let banks = invariant_banks(&group, &[1, 3], 2, &[0, 1], &options).unwrap();
    FilterFile::new(&group, &options, banks)
}

#[test]
fn ginjax_file_round_trips_exactly() {
    let original = file(GroupKind::Hyperoctahedral, 2, BankOptions::default());
    let text = original.to_json();
    let read = FilterFile::from_json(&text).unwrap();
    assert_eq!(read, original);
    assert_eq!(read.to_json(), text, "writing is deterministic");
    assert!(read.banks.iter().all(|b| b.exact().is_none()));
    // The header as documented.
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], "ginrs-filters/1");
    assert_eq!(value["generator"]["name"], "ginrs-generator");
    assert_eq!(value["group"], "hyperoctahedral");
    assert_eq!(value["group_order"], 8);
    assert_eq!(value["convention"], "ginjax");
    assert_eq!(value["scale"], "normalize");
    let bank = &value["banks"][4]; // order M, k, p: (1, 2, 0)
    assert_eq!(bank["size"], 1);
    assert_eq!(bank["k"], 2);
    assert_eq!(bank["count"], 1);
    assert_eq!(bank["shape"], serde_json::json!([1, 1, 2, 2]));
    let hash = value["content_hash"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn canonical_file_carries_exact_orbits() {
    let options = BankOptions {
        convention: Convention::Canonical,
        scale: Scale::One,
        k2_irreps_basis: true,
    };
    let original = file(GroupKind::Flips, 2, options);
    let text = original.to_json();
    let read = FilterFile::from_json(&text).unwrap();
    assert_eq!(read, original);
    let bank = read.bank(3, 1, 0).unwrap();
    let exact = bank.exact().unwrap();
    assert_eq!(exact.len(), bank.len());
    for (f, e) in bank.filters().iter().zip(exact) {
        assert_eq!(*f, e.to_dense(f.len(), 1.0));
    }
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["group"], "flips");
    assert_eq!(value["scale"], "one");
    assert!(value["banks"][0]["orbits"].is_array());
}

#[test]
fn edited_content_fails_the_hash() {
    let text = file(GroupKind::Hyperoctahedral, 2, BankOptions::default()).to_json();
    // The first filter of the M = 1 scalar bank is [1.0].
    let edited = text.replacen("[1.0]", "[2.0]", 1);
    assert_ne!(edited, text);
    assert!(matches!(
        FilterFile::from_json(&edited),
        Err(JsonError::HashMismatch { .. })
    ));
    // Reformatting does not change the content, so the hash still matches.
    let value: Value = serde_json::from_str(&text).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert!(FilterFile::from_json(&pretty).is_ok());
}

#[test]
fn inconsistent_files_are_refused() {
    let text = file(GroupKind::Hyperoctahedral, 2, BankOptions::default()).to_json();
    let value: Value = serde_json::from_str(&text).unwrap();
    let with = |field: &str, new: Value| {
        let mut v = value.clone();
        v[field] = new;
        FilterFile::from_json(&v.to_string()).unwrap_err()
    };
    assert!(matches!(
        with("schema", "ginrs-filters/2".into()),
        JsonError::Schema(_)
    ));
    assert!(matches!(
        with("group_order", 48.into()),
        JsonError::Mismatch { .. }
    ));
    assert!(matches!(
        with("group", "cyclic".into()),
        JsonError::Group(_)
    ));
    assert!(matches!(with("dimension", 9.into()), JsonError::Group(_)));
    assert!(matches!(
        with("convention", "other".into()),
        JsonError::Filter(_)
    ));
    let mut short = value.clone();
    short["banks"][0]["count"] = 5.into();
    assert!(matches!(
        FilterFile::from_json(&short.to_string()),
        Err(JsonError::HashMismatch { .. } | JsonError::Mismatch { .. })
    ));
    assert!(matches!(
        FilterFile::from_json("{\"schema\": 1}"),
        Err(JsonError::Parse(_))
    ));
}
