//! Fuzz-style tests of the runtime's loaders of user files: mutated copies of valid documents
//! (see `ginrs_tests::mutate`) must load into a typed error or a working layer, and a loaded
//! layer's forward pass on the document's own input must return (a value or an error) without
//! panicking and without an allocation beyond what the input could need.
//!
//! `cargo test` runs a bounded number of cases per loader; `cargo test -- --ignored` runs
//! [`MANY`] per loader. A failing case prints its seed; replay it with `mutate(text, seed)`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ginrs_runtime::io::ginjax_import::ImportedLayer;
use ginrs_runtime::{
    Activation, ConvContract, GinjaxModel, GroupNorm, Layer, LayerWeights, MultiImage,
    VectorNeuronNonlinear,
};
use ginrs_tests::fuzz::{
    clear_case, panic_message, print_panics_on_this_thread, quiet_panics_on_this_thread, set_case,
    set_subject, Guard,
};
use ginrs_tests::{fixtures, mutate::mutate};

/// Cases per loader in the default test run.
const FEW: u64 = 400;
/// Cases per loader in the ignored long run.
const MANY: u64 = 20_000;
#[global_allocator]
static GLOBAL: Guard = Guard;

/// Runs `load` then, when it succeeds, `run`, on `cases` mutations of `text`. Returns the
/// (loaded, rejected) counts and the seeds of the cases that panicked.
fn fuzz<T>(
    text: &str,
    cases: std::ops::Range<u64>,
    load: impl Fn(&str) -> Option<T>,
    run: impl Fn(&T),
) -> Outcome {
    let mut outcome = Outcome::default();
    for seed in cases {
        set_case(seed);
        let doc = mutate(text, seed);
        let result = catch_unwind(AssertUnwindSafe(|| match load(&doc) {
            Some(value) => {
                run(&value);
                true
            }
            None => false,
        }));
        match result {
            Ok(true) => outcome.loaded += 1,
            Ok(false) => outcome.rejected += 1,
            Err(payload) => outcome
                .panicked
                .push((seed, panic_message(payload.as_ref()))),
        }
    }
    clear_case();
    outcome
}

/// What one loader made of its mutated documents.
#[derive(Debug, Default)]
struct Outcome {
    /// Documents that loaded and ran.
    loaded: usize,
    /// Documents rejected with an error.
    rejected: usize,
    /// Seeds and messages of the documents whose loading or forward pass panicked.
    panicked: Vec<(u64, String)>,
}

fn export_text() -> String {
    std::fs::read_to_string(fixtures::path("ginjax_export.json")).unwrap()
}

fn export_input() -> MultiImage {
    fixtures::multi_image(&fixtures::load("ginjax_export.json")["input"])
}

fn ginjax_export(cases: std::ops::Range<u64>) -> Outcome {
    let input = export_input();
    fuzz(
        &export_text(),
        cases,
        |doc| GinjaxModel::from_json(doc).ok(),
        |model| {
            let _ = model.forward(&input);
        },
    )
}

/// The first ConvContract of the export, freshly built (ConvContract is not `Clone`: its
/// kernels are boxed trait objects).
fn export_conv() -> ConvContract {
    let model = GinjaxModel::from_value(&fixtures::load("ginjax_export.json")).unwrap();
    model
        .into_layers()
        .into_iter()
        .find_map(|(_, layer)| match layer {
            ImportedLayer::ConvContract(conv) => Some(*conv),
            _ => None,
        })
        .expect("the export has a ConvContract")
}

fn layer_weights(cases: std::ops::Range<u64>) -> Outcome {
    let text = export_conv().to_weights().to_json();
    let input = export_input();
    fuzz(
        &text,
        cases,
        |doc| {
            let weights = LayerWeights::from_json(doc).ok()?;
            let mut layer = export_conv();
            layer.load_weights(&weights).ok()?;
            Some(layer)
        },
        |layer| {
            let _ = layer.forward(&input);
        },
    )
}

fn norm_params(cases: std::ops::Range<u64>) -> Outcome {
    let signature = export_input().signature();
    let norm = GroupNorm::new(&signature, 1).unwrap();
    let input = export_input();
    fuzz(
        &norm.to_json(),
        cases,
        |doc| GroupNorm::from_json(doc).ok(),
        |norm| {
            let _ = norm.forward(&input);
        },
    )
}

fn nonlinear_params(cases: std::ops::Range<u64>) -> Outcome {
    let input = export_input();
    let layer = VectorNeuronNonlinear::new(&input.signature(), 3);
    fuzz(
        &layer.to_json(),
        cases,
        |doc| VectorNeuronNonlinear::from_json(doc, Activation::Relu).ok(),
        |layer| {
            let _ = layer.forward(&input);
        },
    )
}

/// A loader run over a range of mutation seeds.
type Loader = fn(std::ops::Range<u64>) -> Outcome;

/// The loaders under test, by name.
const LOADERS: [(&str, Loader); 4] = [
    ("ginjax export", ginjax_export),
    ("layer weights", layer_weights),
    ("group norm", norm_params),
    ("vector neuron", nonlinear_params),
];

/// Every loader, with the counts printed (`--nocapture` shows them).
fn all(cases: std::ops::Range<u64>) {
    quiet_panics_on_this_thread();
    let mut failures = Vec::new();
    for (index, (name, run)) in LOADERS.iter().enumerate() {
        set_subject(index);
        let outcome = run(cases.clone());
        println!(
            "{name}: {} mutated documents loaded and ran, {} rejected, {} panicked",
            outcome.loaded,
            outcome.rejected,
            outcome.panicked.len()
        );
        assert!(outcome.rejected > 0, "{name}: no mutation was rejected");
        if !outcome.panicked.is_empty() {
            failures.push(format!("{name}: {:?}", outcome.panicked));
        }
    }
    print_panics_on_this_thread();
    assert!(failures.is_empty(), "panicking cases: {failures:#?}");
}

#[test]
fn mutated_documents_load_or_fail_cleanly() {
    all(0..FEW);
}

#[test]
#[ignore = "long: run with --ignored"]
fn many_mutated_documents_load_or_fail_cleanly() {
    all(FEW..FEW + MANY);
}

/// The case a new user found by hand: an export whose `rhs_dilation` reads 2^32 + 1 used to
/// load and then abort the process on a 68 GB allocation in its first forward pass.
#[test]
fn huge_dilation_is_an_error_before_any_allocation() {
    let mut file = fixtures::load("ginjax_export.json");
    // (A huge stride is harmless: one output pixel per axis.)
    for field in ["rhs_dilation", "lhs_dilation", "padding"] {
        let mut doc = file.clone();
        doc["layers"][0][field] = 4294967297u64.into();
        let result = GinjaxModel::from_value(&doc).map(|model| model.forward(&export_input()));
        match result {
            Ok(Ok(_)) => panic!("{field} = 2^32 + 1 ran"),
            Ok(Err(e)) => assert!(e.to_string().contains("exceed"), "{field}: {e}"),
            Err(e) => assert!(!e.to_string().is_empty(), "{field}"),
        }
    }
    file["layers"][0]["rhs_dilation"] = 2.into();
    let model = GinjaxModel::from_value(&file).unwrap();
    assert!(
        model.forward(&export_input()).is_ok(),
        "a sane dilation runs"
    );
}

#[test]
fn weights_reject_other_parities_and_dtypes_naming_the_entry() {
    let text = export_conv().to_weights().to_json();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["weights"][1]["in"]["parity"] = 2.into();
    let err = LayerWeights::from_json(&doc.to_string()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("weights[1].in.parity"), "{message}");
    assert!(message.contains("parity 2 is not 0 or 1"), "{message}");

    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["weights"][0]["array"]["dtype"] = "float64".into();
    let message = LayerWeights::from_json(&doc.to_string())
        .unwrap_err()
        .to_string();
    assert!(message.contains("weights[0].array.dtype"), "{message}");
    assert!(message.contains("float64"), "{message}");

    let unchanged = LayerWeights::from_json(&text).unwrap();
    assert_eq!(unchanged.to_json(), text, "a valid document still loads");
}
