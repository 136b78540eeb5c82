//! Every case of the ginjax filter fixtures (`tests/fixtures/filters_*.json`) reproduced by the
//! ginjax convention: same count, same order, same signs (a flip is allowed only where the
//! fixture's `sign_rule` is `float_noise`) and values within 1e-9.

mod common;

use common::{f64_array, fixture, max_diff};
use ginrs_generator::group::{Group, GroupKind};
use ginrs_generator::{invariant_bank, BankOptions, Convention, Scale};

const TOLERANCE: f64 = 1e-9;

fn check_file(name: &str) -> usize {
    let file = fixture(name);
    let cases = file["cases"].as_array().unwrap();
    let mut checked = 0;
    for case in cases {
        if case["status"] != "ok" {
            continue;
        }
        let d = case["D"].as_u64().unwrap() as usize;
        let m = case["M"].as_u64().unwrap() as usize;
        let k = case["k"].as_u64().unwrap() as usize;
        let p = case["parity"].as_u64().unwrap() as u8;
        let kind = match case["group"].as_str().unwrap() {
            "make_all_operators" => GroupKind::Hyperoctahedral,
            "make_C2_group" => GroupKind::Flips,
            other => panic!("unexpected group {other}"),
        };
        let scale = match case["scale"].as_str().unwrap() {
            "NORMALIZE" => Scale::Normalize,
            "ONE" => Scale::One,
            other => panic!("unexpected scale {other}"),
        };
        let options = BankOptions {
            convention: Convention::Ginjax,
            scale,
            k2_irreps_basis: case["k2_irreps_basis"].as_bool().unwrap(),
        };
        let label = format!("{name}: D={d} M={m} k={k} p={p} {kind} {scale} {options:?}");
        let group = Group::new(kind, d).unwrap();
        let bank = invariant_bank(&group, m, k, p, &options).unwrap();
        let count = case["count"].as_u64().unwrap() as usize;
        assert_eq!(bank.len(), count, "{label}: count");
        if count == 0 {
            checked += 1;
            continue;
        }
        let data = f64_array(&case["filters"]["data"]);
        let shape: Vec<usize> = case["filters"]["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(shape[1..], bank.shape()[..], "{label}: shape");
        let len = data.len() / count;
        let rules = case["sign_rule"].as_array().unwrap();
        for (i, got) in bank.filters().iter().enumerate() {
            let want = &data[i * len..(i + 1) * len];
            let diff = max_diff(got, want, 1.0);
            if diff > TOLERANCE {
                let flipped = max_diff(got, want, -1.0);
                assert!(
                    rules[i] == "float_noise" && flipped <= TOLERANCE,
                    "{label}: filter {i} (sign rule {}) differs by {diff}\n got {got:?}\nwant {want:?}",
                    rules[i]
                );
            }
        }
        checked += 1;
    }
    checked
}

#[test]
fn filters_d1() {
    assert_eq!(check_file("filters_D1.json"), 16);
}

#[test]
fn filters_d2() {
    assert_eq!(check_file("filters_D2.json"), 24);
}

#[test]
fn filters_d3() {
    assert_eq!(check_file("filters_D3.json"), 4);
}

#[test]
fn filters_options() {
    assert_eq!(check_file("filters_options.json"), 12);
}
