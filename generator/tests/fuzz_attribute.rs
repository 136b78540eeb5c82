//! Fuzz-style property tests of the `#[equivariant_layer(...)]` attribute parser
//! (`codegen::parse::parse_spec`) and of the whole expansion (`codegen::expand`): mutated
//! attributes (truncated, tokens replaced, inserted or dropped, huge numbers) give spanned
//! errors or a spec equal to what the text says, never a panic.
//!
//! `cargo test` runs a bounded number of cases; `fuzz_attribute_many` (ignored) runs
//! [`MANY_CASES`] per property: `cargo test -p ginrs-generator --test fuzz_attribute --
//! --ignored`.

use std::sync::atomic::{AtomicUsize, Ordering};

use ginrs_generator::codegen::errors::Errors;
use ginrs_generator::codegen::parse::parse_spec;
use ginrs_generator::codegen::spec::{ConventionSpec, LayerSpec, PaddingSpec};
use proc_macro2::TokenStream;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per property in the ignored long run.
const MANY_CASES: u32 = 20_000;

/// Cases per property in `cargo test`.
const FEW_CASES: u32 = 2_000;

/// A valid attribute using every option.
const VALID: &str = "dim = 2, filter_size = 3, input = [scalar: 8, vector: 8, (2, 1): 2], \
                     output = [scalar: 8, pseudovector: 4], bias = mean, \
                     padding = [(1, 1), (0, 2)], stride = 2, dilation = 1, \
                     convention = canonical, allow_missing";

/// Tokens a mutation may insert or substitute: option names, values of every kind, numbers at
/// and beyond the limits, and stray punctuation.
const TOKENS: &[&str] = &[
    "dim",
    "filter_size",
    "input",
    "output",
    "bias",
    "padding",
    "stride",
    "dilation",
    "convention",
    "allow_missing",
    "scalar",
    "pseudoscalar",
    "vector",
    "pseudovector",
    "torus",
    "same",
    "valid",
    "auto",
    "none",
    "ginjax",
    "canonical",
    "=",
    ",",
    ":",
    ";",
    "-",
    "[]",
    "()",
    "(1, 0)",
    "(9, 9)",
    "[(0, 0)]",
    "[scalar: 1]",
    "0",
    "1",
    "4",
    "7",
    "65536",
    "65537",
    "1000000000",
    "18446744073709551615",
    "18446744073709551616",
    "1e9",
    "1.5",
    "-1",
    "\"text\"",
    "'c'",
    "x",
];

/// Mutated attributes that did not lex, parsed to a spec, and parsed to errors.
static OUTCOMES: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

/// The attribute text of `spec` (the inverse of `parse_spec` on valid specs).
fn render(spec: &LayerSpec) -> String {
    let blocks = |blocks: &[ginrs_generator::codegen::spec::BlockSpec]| {
        let entries: Vec<String> = blocks
            .iter()
            .map(|b| format!("({}, {}): {}", b.ty.k, b.ty.parity, b.channels))
            .collect();
        format!("[{}]", entries.join(", "))
    };
    let padding = match &spec.padding.value {
        PaddingSpec::Torus => "torus".to_string(),
        PaddingSpec::Same => "same".to_string(),
        PaddingSpec::Valid => "valid".to_string(),
        PaddingSpec::Explicit(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(lo, hi)| format!("({lo}, {hi})"))
                .collect();
            format!("[{}]", pairs.join(", "))
        }
    };
    let convention = match spec.convention {
        ConventionSpec::Ginjax => "ginjax",
        ConventionSpec::Canonical => "canonical",
    };
    format!(
        "dim = {}, filter_size = {}, input = {}, output = {}, bias = {}, padding = {padding}, \
         stride = {}, dilation = {}, convention = {convention}{}",
        spec.dim.value,
        spec.filter_size.value,
        blocks(&spec.input),
        blocks(&spec.output),
        spec.bias.name(),
        spec.stride,
        spec.dilation,
        if spec.allow_missing {
            ", allow_missing"
        } else {
            ""
        }
    )
}

/// Parses `text` (skipped unless it lexes: the compiler hands macros only token trees).
/// Without errors the spec must render to text that parses to the same spec; with errors
/// every message must be non-empty.
fn check(text: &str) -> Option<Result<String, Vec<String>>> {
    let Ok(tokens) = text.parse::<TokenStream>() else {
        OUTCOMES[0].fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let mut errors = Errors::new();
    let spec = parse_spec(tokens, &mut errors);
    OUTCOMES[if errors.is_empty() { 1 } else { 2 }].fetch_add(1, Ordering::Relaxed);
    Some(match errors.finish(()) {
        Ok(()) => {
            let rendered = render(&spec.expect("no error means a spec"));
            let mut again = Errors::new();
            let spec = parse_spec(rendered.parse().unwrap(), &mut again);
            assert!(again.is_empty(), "{rendered}");
            assert_eq!(render(&spec.unwrap()), rendered);
            Ok(rendered)
        }
        Err(error) => {
            let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
            assert!(messages.iter().all(|m| !m.is_empty()));
            Err(messages)
        }
    })
}

/// Runs the whole expansion on `text` and a unit struct; it must not panic.
fn check_expand(text: &str) {
    if let Ok(attr) = text.parse::<TokenStream>() {
        let item: TokenStream = "pub struct Layer;".parse().unwrap();
        let out = ginrs_generator::codegen::expand(attr, item);
        assert!(!out.is_empty());
    }
}

/// `VALID` split into tokens at spaces and punctuation boundaries (enough for mutations).
fn words() -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in VALID.chars() {
        if c.is_alphanumeric() || c == '_' {
            current.push(c);
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if !c.is_whitespace() {
                words.push(c.to_string());
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// One edit of a token list: replace, insert or delete at a position.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, &'static str),
    Insert(usize, &'static str),
    Delete(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let token = prop::sample::select(TOKENS);
    let edit = prop_oneof![
        (any::<usize>(), token.clone()).prop_map(|(i, t)| Edit::Replace(i, t)),
        (any::<usize>(), token).prop_map(|(i, t)| Edit::Insert(i, t)),
        any::<usize>().prop_map(Edit::Delete),
    ];
    prop::collection::vec(edit, 1..5)
}

fn apply(edits: &[Edit]) -> String {
    let mut words = words();
    for edit in edits {
        let len = words.len().max(1);
        match *edit {
            Edit::Replace(i, t) if !words.is_empty() => words[i % len] = t.to_string(),
            Edit::Insert(i, t) => words.insert(i % (words.len() + 1), t.to_string()),
            Edit::Delete(i) if !words.is_empty() => {
                words.remove(i % len);
            }
            _ => {}
        }
    }
    words.join(" ")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn token_edits(cases: u32, expand: bool) {
    runner(cases)
        .run(&edits(), |edits| {
            let text = apply(&edits);
            check(&text);
            if expand {
                check_expand(&text);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_valid_attribute_parses() {
    let rendered = check(VALID).unwrap().unwrap();
    assert!(
        rendered.contains("padding = [(1, 1), (0, 2)]"),
        "{rendered}"
    );
}

#[test]
fn every_truncation_parses_or_errs() {
    let mut lexed = 0;
    for end in 0..=VALID.len() {
        lexed += usize::from(check(&VALID[..end]).is_some());
    }
    assert!(lexed > 20);
}

#[test]
fn token_edits_never_panic() {
    token_edits(FEW_CASES, false);
}

#[test]
fn token_edits_never_panic_in_the_expansion() {
    // Fewer cases: a valid mutated layer is generated in full.
    token_edits(FEW_CASES / 20, true);
}

/// Numbers beyond the limits are refused at their token, before any code is planned.
#[test]
fn huge_numbers_are_refused() {
    let cases: &[(&str, &str)] = &[
        (
            "dim = 1000000000, filter_size = 3, input = [scalar: 1], output = [scalar: 1]",
            "d = 1000000000",
        ),
        (
            "dim = 2, filter_size = 1000000001, input = [scalar: 1], output = [scalar: 1]",
            "entries",
        ),
        (
            "dim = 6, filter_size = 18446744073709551615, input = [scalar: 1], \
             output = [scalar: 1]",
            "too many entries",
        ),
        (
            "dim = 2, filter_size = 3, input = [scalar: 18446744073709551615], \
             output = [scalar: 1]",
            "too many",
        ),
        (
            "dim = 2, filter_size = 3, input = [scalar: 1], output = [scalar: 1], \
             dilation = 18446744073709551615",
            "too large",
        ),
        (
            "dim = 2, filter_size = 3, input = [scalar: 1], output = [scalar: 1], \
             stride = 65537",
            "too large",
        ),
        (
            "dim = 2, filter_size = 3, input = [scalar: 1], output = [scalar: 1], \
             padding = [(18446744073709551615, 0), (0, 0)]",
            "too large",
        ),
        (
            "dim = 2, filter_size = 3, input = [scalar: 18446744073709551616], \
             output = [scalar: 1]",
            "channel count",
        ),
    ];
    for &(text, needle) in cases {
        let out = ginrs_generator::codegen::expand(
            text.parse().unwrap(),
            "pub struct Layer;".parse().unwrap(),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{text}: {out}");
        assert!(out.contains(needle), "{text}: {out}");
    }
}

#[test]
#[ignore = "long fuzz run: cargo test -p ginrs-generator --test fuzz_attribute -- --ignored"]
fn fuzz_attribute_many() {
    token_edits(MANY_CASES, false);
    token_edits(MANY_CASES / 20, true);
    let [unlexed, specs, errors] = OUTCOMES.each_ref().map(|n| n.load(Ordering::Relaxed));
    eprintln!("not lexed: {unlexed}, specs: {specs}, errors: {errors}");
}
