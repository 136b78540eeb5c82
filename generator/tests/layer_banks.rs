//! The float32 banks recorded with ginjax's layers (`conv_contract_layer.json`,
//! `get_invariant_filters`) match the ginjax convention to float32 precision, block by block,
//! with the same keys, order and signs (flips allowed only where `sign_rule` is `float_noise`).

mod common;

use common::{f64_array, fixture, max_diff};
use ginrs_generator::group::Group;
use ginrs_generator::{invariant_bank, BankOptions};

#[test]
fn recorded_layer_banks_match() {
    let file = fixture("conv_contract_layer.json");
    let mut blocks_checked = 0;
    for (name, bank) in file["filter_banks"].as_object().unwrap() {
        let d = bank["D"].as_u64().unwrap() as usize;
        let group = Group::hyperoctahedral(d).unwrap();
        let m = bank["Ms"][0].as_u64().unwrap() as usize;
        let blocks = bank["filters"]["blocks"].as_array().unwrap();
        // Every (k, parity) with a non-empty bank appears as a block, in get_invariant_filters
        // order; empty banks have no block.
        let mut expected_keys = Vec::new();
        for k in bank["ks"].as_array().unwrap() {
            for p in bank["parities"].as_array().unwrap() {
                let (k, p) = (k.as_u64().unwrap() as usize, p.as_u64().unwrap() as u8);
                let ours = invariant_bank(&group, m, k, p, &BankOptions::default()).unwrap();
                if !ours.is_empty() {
                    expected_keys.push((k, p, ours));
                }
            }
        }
        assert_eq!(blocks.len(), expected_keys.len(), "{name}: blocks");
        for (block, (k, p, ours)) in blocks.iter().zip(&expected_keys) {
            assert_eq!(block["k"].as_u64().unwrap() as usize, *k, "{name}");
            assert_eq!(block["parity"].as_u64().unwrap() as u8, *p, "{name}");
            let data = f64_array(&block["array"]["data"]);
            let rules = bank["sign_rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| {
                    r["k"].as_u64() == Some(*k as u64) && r["parity"].as_u64() == Some(*p as u64)
                })
                .map(|r| r["sign_rule"].clone())
                .unwrap();
            let len = data.len() / ours.len();
            assert_eq!(data.len(), ours.len() * len, "{name} k={k} p={p}: count");
            for (i, f) in ours.filters().iter().enumerate() {
                let want = &data[i * len..(i + 1) * len];
                let diff = |sign| max_diff(f, want, sign);
                assert!(
                    diff(1.0) < 1e-6 || (rules[i] == "float_noise" && diff(-1.0) < 1e-6),
                    "{name} k={k} p={p} filter {i}: differs by {}",
                    diff(1.0)
                );
            }
            blocks_checked += 1;
        }
    }
    assert!(blocks_checked >= 15, "{blocks_checked} blocks");
}
