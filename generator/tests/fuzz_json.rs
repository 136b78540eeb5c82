//! Fuzz-style property tests of the filters JSON loader, [`FilterFile::from_json`]: valid files
//! mutated (truncated, bytes flipped, fields replaced by wrong types, huge, negative or
//! non-finite numbers, deep nesting, duplicate keys) give a typed error or a correct value,
//! never a panic, and are refused before anything sized by a claimed number is allocated.
//!
//! `cargo test` runs a bounded number of cases; `fuzz_json_many` (ignored) runs
//! [`MANY_CASES`] per property: `cargo test -p ginrs-generator --test fuzz_json -- --ignored`.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use ginrs_generator::group::Group;
use ginrs_generator::{invariant_bank, BankOptions, Convention, FilterFile, JsonError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// Cases per property in the ignored long run.
const MANY_CASES: u32 = 20_000;

/// Cases per property in `cargo test`.
const FEW_CASES: u32 = 2_000;

/// A small canonical file (d = 2, M = 3, k ≤ 1, both parities; with exact `orbits`) as
/// compact JSON, so that mutations often hit a field.
fn valid_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let group = Group::hyperoctahedral(2).unwrap();
        let options = BankOptions {
            convention: Convention::Canonical,
            ..BankOptions::default()
        };
        let banks = [(0, 0), (1, 0), (1, 1)]
            .iter()
            .map(|&(k, p)| invariant_bank(&group, 3, k, p, &options).unwrap())
            .collect();
        let value: Value =
            serde_json::from_str(&FilterFile::new(&group, &options, banks).to_json()).unwrap();
        value.to_string()
    })
}

/// Reads `text`: an error must be typed (it is, by the signature) and a success a correct
/// value. A content-hash mismatch means everything else validated: with the hash replaced by
/// the computed one the file must read.
fn check(text: &str) -> Result<FilterFile, JsonError> {
    let result = FilterFile::from_json(text);
    tally(&result);
    match &result {
        Ok(file) => {
            let again = FilterFile::from_json(&file.to_json()).expect("a read file re-reads");
            assert_eq!(&again, file);
        }
        Err(JsonError::HashMismatch { computed, .. }) => {
            let mut value: Value = serde_json::from_str(text).unwrap();
            value["content_hash"] = Value::String(computed.clone());
            let fixed = FilterFile::from_json(&value.to_string());
            assert!(fixed.is_ok(), "only the hash was wrong: {fixed:?}");
        }
        Err(_) => {}
    }
    result
}

/// How many reads ended in each outcome (printed by the long run).
static OUTCOMES: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

fn tally(result: &Result<FilterFile, JsonError>) {
    let outcome = match result {
        Ok(_) => "read",
        Err(JsonError::Parse(_)) => "error: parse",
        Err(JsonError::Schema(_)) => "error: schema",
        Err(JsonError::Group(_)) => "error: group",
        Err(JsonError::Filter(_)) => "error: filter",
        Err(JsonError::Mismatch { .. }) => "error: mismatch",
        Err(JsonError::HashMismatch { .. }) => "error: content hash",
    };
    *OUTCOMES.lock().unwrap().entry(outcome).or_default() += 1;
}

/// `text` with value number `occurrence` of `"key":` replaced by the raw JSON `raw`.
fn replace_value(text: &str, key: &str, occurrence: usize, raw: &str) -> Option<String> {
    let needle = format!("\"{key}\":");
    let start = text.match_indices(&needle).nth(occurrence)?.0 + needle.len();
    let end = value_end(text, start)?;
    Some(format!("{}{raw}{}", &text[..start], &text[end..]))
}

/// The end of the compact JSON value starting at byte `start`.
fn value_end(text: &str, start: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text[start..].char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' if depth == 0 => return Some(start + i),
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => return Some(start + i),
            _ => {}
        }
        if depth == 0 && matches!(c, ']' | '}') {
            return Some(start + i + 1);
        }
    }
    None
}

/// Keys of the file and of a bank.
const KEYS: &[&str] = &[
    "schema",
    "generator",
    "name",
    "version",
    "dimension",
    "group",
    "group_order",
    "convention",
    "scale",
    "k2_irreps_basis",
    "banks",
    "content_hash",
    "size",
    "k",
    "parity",
    "shape",
    "count",
    "filters",
    "orbits",
];

/// Raw JSON values of the wrong type, out of range, non-finite or absurdly nested.
fn raw_value() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "null",
        "true",
        "\"\"",
        "\"hyperoctahedral\"",
        "-1",
        "0",
        "1",
        "1000",
        "1000000000",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "-0.0",
        "1.5",
        "[]",
        "{}",
        "[1000000000]",
        "[[]]",
        "[[0, 1]]",
        "[[1e308]]",
        "[[-1e308, 5e-324]]",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        4 => fixed,
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| x.to_string()),
        1 => (1usize..600).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        1 => "[a-z0-9 ]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn truncations() -> usize {
    let text = valid_text();
    let mut count = 0;
    for end in (0..text.len()).filter(|&end| text.is_char_boundary(end)) {
        assert!(check(&text[..end]).is_err(), "prefix of {end} bytes read");
        count += 1;
    }
    count
}

fn byte_flips(cases: u32) {
    let len = valid_text().len();
    let flips = prop::collection::vec((0..len, any::<u8>()), 1..8);
    runner(cases)
        .run(&flips, |flips| {
            let mut bytes = valid_text().as_bytes().to_vec();
            for (at, byte) in flips {
                bytes[at] = byte;
            }
            let _ = check(&String::from_utf8_lossy(&bytes));
            Ok(())
        })
        .unwrap();
}

fn replaced_fields(cases: u32) {
    let strategy = (prop::sample::select(KEYS), 0usize..3, raw_value());
    runner(cases)
        .run(&strategy, |(key, occurrence, raw)| {
            if let Some(text) = replace_value(valid_text(), key, occurrence, &raw) {
                let _ = check(&text);
            }
            Ok(())
        })
        .unwrap();
}

fn duplicate_keys(cases: u32) {
    let strategy = (prop::sample::select(KEYS), 0usize..3, raw_value());
    runner(cases)
        .run(&strategy, |(key, occurrence, raw)| {
            let text = valid_text();
            let needle = format!("\"{key}\":");
            if let Some((at, _)) = text.match_indices(&needle).nth(occurrence) {
                let text = format!("{}{needle}{raw},{}", &text[..at], &text[at..]);
                prop_assert!(check(&text).is_err(), "duplicate `{}` accepted", key);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_valid_document_reads() {
    let file = check(valid_text()).unwrap();
    assert_eq!(file.banks.len(), 3);
}

#[test]
fn every_truncation_is_an_error() {
    assert!(truncations() > 1000);
}

#[test]
fn byte_flips_never_panic() {
    byte_flips(FEW_CASES);
}

#[test]
fn replaced_fields_never_panic() {
    replaced_fields(FEW_CASES);
}

#[test]
fn duplicate_keys_are_errors() {
    duplicate_keys(FEW_CASES);
}

/// Numbers that claim huge banks are refused by validation before anything of that size is
/// allocated (or, for d = 1 and a huge k, before a loop of k steps): each must return at once.
#[test]
fn huge_claims_are_refused_before_allocating() {
    let cases: &[(&str, &str, &str)] = &[
        ("dimension", "1000", "d = 1000"),
        (
            "dimension",
            "18446744073709551615",
            "d = 18446744073709551615",
        ),
        ("size", "1000000000", "coordinates"),
        ("size", "18446744073709551615", "coordinates"),
        ("k", "1000000000", "k = 1000000000"),
        ("k", "18446744073709551615", "k = 18446744073709551615"),
        ("count", "1000000000", "count"),
        ("group_order", "18446744073709551615", "group_order"),
        ("parity", "255", "parity 255"),
    ];
    for &(key, raw, needle) in cases {
        let text = replace_value(valid_text(), key, 0, raw).unwrap();
        let error = check(&text).unwrap_err().to_string();
        assert!(error.contains(needle), "{key} = {raw}: {error}");
    }
    // d = 1 with a huge k: one tensor component for every k, so only the order bound stops it.
    let group = Group::hyperoctahedral(1).unwrap();
    let bank = invariant_bank(&group, 3, 0, 0, &BankOptions::default()).unwrap();
    let text = FilterFile::new(&group, &BankOptions::default(), vec![bank]).to_json();
    let value: Value = serde_json::from_str(&text).unwrap();
    let text = replace_value(&value.to_string(), "k", 0, "18446744073709551615").unwrap();
    let error = check(&text).unwrap_err().to_string();
    assert!(error.contains("tensor order"), "{error}");
}

#[test]
fn non_finite_and_deeply_nested_values_are_errors() {
    for raw in ["NaN", "Infinity", "1e999", "-1e999"] {
        let text = replace_value(valid_text(), "filters", 0, &format!("[[{raw}]]")).unwrap();
        assert!(matches!(check(&text), Err(JsonError::Parse(_))), "{raw}");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let text = replace_value(valid_text(), "filters", 0, &deep).unwrap();
    assert!(matches!(check(&text), Err(JsonError::Parse(_))));
}

#[test]
#[ignore = "long fuzz run: cargo test -p ginrs-generator --test fuzz_json -- --ignored"]
fn fuzz_json_many() {
    byte_flips(MANY_CASES);
    replaced_fields(MANY_CASES);
    duplicate_keys(MANY_CASES);
    eprintln!("outcomes: {:?}", OUTCOMES.lock().unwrap());
}
