//! Gradient parity of the trainable layers and models (ginrs-train) with ginjax 0.1.8 and
//! `jax.grad`: every case of `tests/fixtures/training.json` is replayed generically (no case
//! names or counts here), so another file of the same layout replays too.
//!
//! - `layer_grads` cases: the layer is rebuilt from the recorded parameters, applied to the
//!   recorded input, and the loss `Σ output·cotangent` is backpropagated on burn's flex
//!   backend. Outputs must match to 1e-5 and the loss, every parameter gradient and the input
//!   gradient to 1e-4, relative to each array's largest magnitude (the fixture's tolerances).
//!   A `layer_grads` case of an unknown layer fails.
//! - `models` cases: the model is rebuilt from its configuration and recorded parameters (as a
//!   runtime model file: the fixture's `{path, array}` leaves are the file's), applied to the
//!   batch (each item on its own, as ginjax's `vmap`), and `Σ output·cotangent` over the batch
//!   is backpropagated. `count_params` must equal ginjax's (every recorded leaf but the
//!   invariant filters). The reference is `tests/fixtures/training_f64.json`, the same cases
//!   recomputed by jax in float64 (`scripts/grads_f64.py`), which must hold every case: outputs
//!   and loss must match it to 1e-4, the gradients (every parameter and the input) to 1e-4 of
//!   the model's largest gradient and each array to [`MODEL_EXACT_ARRAY_GRAD_TOLERANCE`] of its
//!   own largest magnitude. Against the float32 fixture itself (the record of what ginjax
//!   computes) outputs and loss must match to 1e-4 and each gradient array to the fixture's own
//!   accuracy, [`MODEL_ARRAY_GRAD_TOLERANCE`]. An array whose float64 reference vanishes is
//!   zero by construction ([`ZERO_BY_CONSTRUCTION`]): it holds rounding noise only, in
//!   ginjax's float32 and in ours, so it is measured against the model's largest gradient
//!   alone (by the 1e-4 against the float64 reference).
//! - `tests/fixtures/model_export.json` and `model_export_d3.json` (whole ginjax models
//!   exported as model files, the non-equivariant baselines with equinox's convolutions and
//!   group norm among them, and a D = 3 UNet whose recorded invariant filters differ in order
//!   and sign from the rebuilt banks): each model, built in burn from its file, reproduces
//!   ginjax's output on the recorded batch to 1e-4 and `count_params` equals ginjax's; the file
//!   burn writes carries the recorded filters and reproduces ginjax in the runtime.
//! - `adam` cases: the model is rebuilt from `params` and trained with ginrs-train's
//!   [`Trainer`] and Adam with the fixture's hyper-parameters on `input`/`target` with
//!   ginjax's `smse_loss`; the loss before each step must match `losses` and the parameters
//!   after the last step `final_params`, both to 1e-4 relative.
//!
//! The layer, model and Adam cases are replayed on two [`Route`]s: `Dense` (burn's autodiff of
//! burn's ops) and `Auto`, which on the flex device in f32 takes the fused route (the runtime's
//! kernels and their own backward passes) wherever it serves the call.
//!
//! Every case runs on the device `GINRS_TEST_DEVICE` names ([`TestDevice`]; flex when unset).
//! On a GPU device (`wgpu`, `cuda`: build with `--features ginrs-tests/wgpu` or `/cuda`) only
//! the dense route runs, since the fused route serves the flex device only and `Auto` would
//! repeat `Dense`; the tolerances are the same on every device. `GINRS_TEST_SKIP` names
//! `training.json` cases not to replay (comma-separated; each must be a case of the file), for
//! a device that cannot hold a case's tolerance for a reason outside ginrs: `.ci/gpu` says which
//! and why.

use std::collections::HashSet;

use burn::tensor::{Device, Gradients, Tensor};
use ginrs_runtime::io::ginjax_import::{
    bias_mode_from_json, padding_from_json, per_axis_from_json,
};
use ginrs_runtime::io::model_file::{FORMAT, VERSION};
use ginrs_runtime::GroupNorm as RuntimeGroupNorm;
use ginrs_runtime::Layer as _;
use ginrs_runtime::VectorNeuronNonlinear as RuntimeVectorNeuron;
use ginrs_runtime::{
    Activation, BiasMode, ConvContractConfig, ConvOptions, DenseBank, LayerWeights, ModelFile,
    TensorKey,
};
use ginrs_tests::device::TestDevice;
use ginrs_tests::fixtures::{
    array, flags, key as fixture_key, load, multi_image, multi_image_batch, signature,
};
use ginrs_train::image::read_f64;
use ginrs_train::{
    ConvContract, GinjaxParams, GroupNorm, ImageModule, Loss, MaxNormPool, Model, NamedArray,
    Optimizer, Route, TensorImage, Trainer, VectorNeuronNonlinear,
};
use serde_json::{json, Value};

const LAYER_OUTPUT_TOLERANCE: f64 = 1e-5;
const MODEL_OUTPUT_TOLERANCE: f64 = 1e-4;
const GRAD_TOLERANCE: f64 = 1e-4;
/// A gradient array whose float64 reference is at most this fraction of the model's largest
/// gradient is zero in exact arithmetic, and holds only rounding noise in float32 (ginjax's and
/// ours), which is as large as the array itself. Such arrays occur by construction: in the
/// DilResNet, dilations 4 and 8 on an 8×8 torus make the scalar↔vector taps coincide and
/// cancel, and a bias followed by a norm that subtracts the mean the bias shifts (a norm group
/// of one channel) has no gradient. In the fixtures their float64 references are at most 9e-19
/// of the largest gradient (float64 rounding) and the smallest array that is not zero is
/// 2.2e-6 of it. They are measured against the model's largest gradient ([`GRAD_TOLERANCE`]
/// against the float64 reference), every other array against its own largest magnitude.
const ZERO_BY_CONSTRUCTION: f64 = 1e-12;
/// A whole model's gradient arrays against the float64 reference, each relative to its own
/// largest magnitude. Measured, burn's float32 gradients differ from jax's float64 ones by up
/// to 1.5e-5 (UNet), 1.0e-4 (ResNet, through its eigen-whitening norms) and 1.3e-3
/// (DilResNet, whose coinciding dilated taps cancel, leaving arrays small against the terms
/// summed into them), on both routes; this allows 1.5 times that.
const MODEL_EXACT_ARRAY_GRAD_TOLERANCE: f64 = 2e-3;
/// A whole model's gradient arrays against the float32 fixture, each relative to its own
/// largest magnitude. The fixture is not more accurate than this for deep models: its
/// gradients differ from float64 ones by up to 2.2e-4 (ResNet) and 4.8e-4 (DilResNet), so our
/// error against it is bounded by theirs plus ours ([`MODEL_EXACT_ARRAY_GRAD_TOLERANCE`]);
/// measured, at most 1.3e-3.
const MODEL_ARRAY_GRAD_TOLERANCE: f64 = 3e-3;
const ADAM_TOLERANCE: f64 = 1e-4;

/// The device of this run, named by `GINRS_TEST_DEVICE`; a name this build has no device for
/// fails the test.
fn test_device() -> TestDevice {
    TestDevice::from_env().unwrap_or_else(|e| panic!("{e}"))
}

/// The autodiff device every case runs on.
fn device() -> Device {
    test_device()
        .device()
        .unwrap_or_else(|e| panic!("{e}"))
        .autodiff()
}

/// The routes every case is replayed on: `Dense` and `Auto` on flex, `Dense` alone on a GPU
/// device (where `Auto` takes the dense route too).
fn routes() -> &'static [Route] {
    match test_device() {
        TestDevice::Flex => &[Route::Dense, Route::Auto],
        TestDevice::Wgpu | TestDevice::Cuda => &[Route::Dense],
    }
}

/// The names of the `training.json` cases `GINRS_TEST_SKIP` lists; a name that is no case of
/// `file` fails the test.
fn skipped_cases(file: &Value) -> HashSet<String> {
    let list = match std::env::var("GINRS_TEST_SKIP") {
        Ok(list) => list,
        Err(std::env::VarError::NotPresent) => String::new(),
        Err(e) => panic!("GINRS_TEST_SKIP: {e}"),
    };
    let known: HashSet<&str> = ["layer_grads", "models", "adam"]
        .iter()
        .filter_map(|section| file[section].as_array())
        .flatten()
        .filter_map(|case| case["name"].as_str())
        .collect();
    let names: HashSet<String> = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    for name in &names {
        assert!(
            known.contains(name.as_str()),
            "GINRS_TEST_SKIP names {name}, which is no case of the fixture"
        );
    }
    names
}

/// `max |got − want| / max |want|` (absolute when `want` is all zeros).
fn relative_error(got: &[f64], want: &[f64], context: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "{context}: lengths differ");
    let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    let diff = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}

/// A Python key repr `((False, True), 1)` as a [`TensorKey`].
fn parse_key(text: &str) -> TensorKey {
    let inner = text
        .trim()
        .strip_prefix("((")
        .unwrap_or_else(|| panic!("not a key: {text}"));
    let (flags, rest) = inner.split_once(')').expect("key has a flag tuple");
    let covariant: Vec<bool> = flags
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| f == "True")
        .collect();
    let parity: u8 = rest
        .trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("key {text} has no parity"));
    TensorKey::with_covariant(covariant, parity)
}

/// The bracketed keys of a path: `.weights[A][B]` → `[A, B]`.
fn path_keys(path: &str) -> Vec<TensorKey> {
    path.split('[')
        .skip(1)
        .map(|s| parse_key(s.split(']').next().expect("closing bracket")))
        .collect()
}

fn key_json(key: &TensorKey) -> Value {
    json!({"k": key.k(), "parity": key.parity(), "covariant_axes": key.covariant()})
}

/// The fixture's `{path, array}` list.
fn named(list: &Value) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    list.as_array()
        .expect("a list of {path, array}")
        .iter()
        .map(|e| {
            let a = array(&e["array"]);
            (e["path"].as_str().unwrap().to_string(), a.shape, a.data)
        })
        .collect()
}

fn find<'a>(params: &'a [(String, Vec<usize>, Vec<f64>)], path: &str) -> &'a [f64] {
    &params
        .iter()
        .find(|(p, _, _)| p == path)
        .unwrap_or_else(|| panic!("the fixture has no parameter {path}"))
        .2
}

fn f32s(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// The convolution options of a fixture config, read by the runtime's ginjax-import parsers.
fn conv_options(config: &Value) -> ConvOptions {
    ConvOptions::with_padding(padding_from_json(&config["padding"]).unwrap())
        .stride(per_axis_from_json(&config["stride"]).unwrap())
        .lhs_dilation(per_axis_from_json(&config["lhs_dilation"]).unwrap())
        .rhs_dilation(per_axis_from_json(&config["rhs_dilation"]).unwrap())
}

/// ginjax's `use_bias`, absent meaning its default `'auto'`.
fn bias_mode(value: &Value) -> BiasMode {
    match value {
        Value::Null => BiasMode::Auto,
        value => bias_mode_from_json(value).unwrap(),
    }
}

/// A layer rebuilt from a fixture case.
enum Built {
    Conv(Box<ConvContract>),
    Norm(GroupNorm),
    Neuron(VectorNeuronNonlinear),
    Pool(MaxNormPool),
}

impl Built {
    fn with_route(self, route: Route) -> Self {
        match self {
            Self::Conv(l) => Self::Conv(Box::new(l.with_route(route))),
            Self::Norm(l) => Self::Norm(l.with_route(route)),
            Self::Neuron(l) => Self::Neuron(l.with_route(route)),
            Self::Pool(l) => Self::Pool(l),
        }
    }

    fn forward(&self, x: &TensorImage) -> TensorImage {
        match self {
            Self::Conv(l) => l.forward_image(x),
            Self::Norm(l) => l.forward_image(x),
            Self::Neuron(l) => l.forward_image(x),
            Self::Pool(l) => l.forward_image(x),
        }
        .expect("forward pass")
    }

    fn grads(&self, grads: &burn::tensor::Gradients) -> Vec<NamedArray> {
        match self {
            Self::Conv(l) => l.grads(grads),
            Self::Norm(l) => l.grads(grads),
            Self::Neuron(l) => l.grads(grads),
            Self::Pool(_) => Ok(Vec::new()),
        }
        .expect("gradients")
    }
}

fn build(case: &Value, file: &Value, device: &Device) -> Built {
    let config = &case["config"];
    let params = named(&case["params"]);
    match case["layer"].as_str().unwrap() {
        "ConvContract" => {
            let bank_name = config["filter_bank"].as_str().unwrap();
            let bank = DenseBank::from_multi_image(&multi_image(&file["filter_banks"][bank_name]))
                .expect("fixture bank");
            let conv_config = ConvContractConfig::new(
                signature(&config["input_keys"]),
                signature(&config["target_keys"]),
            )
            .bias(bias_mode(&config["use_bias"]))
            .options(conv_options(config));
            let mut weights = Vec::new();
            let mut bias = Vec::new();
            for (path, shape, values) in &params {
                let entry = json!({"shape": shape, "dtype": "float32", "data": values});
                if path.starts_with(".weights") {
                    let keys = path_keys(path);
                    let filter = TensorKey::new(
                        keys[0].k() + keys[1].k(),
                        keys[0].parity() + keys[1].parity(),
                    );
                    weights.push(json!({"in": key_json(&keys[0]), "out": key_json(&keys[1]),
                        "filter_key": key_json(&filter), "array": entry}));
                } else if path.starts_with(".bias") {
                    let keys = path_keys(path);
                    bias.push(json!({"key": key_json(&keys[0]), "array": entry}));
                }
            }
            let weights = LayerWeights::from_value(&json!({"weights": weights, "bias": bias}))
                .expect("fixture weights");
            Built::Conv(Box::new(
                ConvContract::from_weights(conv_config, &bank, &weights, device)
                    .expect("ConvContract from the fixture's parameters"),
            ))
        }
        "GroupNorm" | "LayerNorm" => {
            let keys = signature(&config["input_keys"]);
            let groups = config["groups"].as_u64().unwrap_or(1) as usize;
            let mut runtime = RuntimeGroupNorm::new(&keys, groups).expect("group norm");
            for (key, _) in keys.entries() {
                let k = ginrs_train::params::key_repr(key);
                let (w, b) = if key.k() == 0 {
                    (
                        find(&params, &format!(".vanilla_norm[{k}].weight")),
                        find(&params, &format!(".vanilla_norm[{k}].bias")),
                    )
                } else {
                    (
                        find(&params, &format!(".scale[{k}]")),
                        find(&params, &format!(".bias[{k}]")),
                    )
                };
                runtime.set_affine(key, f32s(w), f32s(b)).unwrap();
            }
            Built::Norm(GroupNorm::from_runtime(&runtime, device))
        }
        "VectorNeuronNonlinear" => {
            let activation = config["activation"].as_str().unwrap_or("relu");
            let activation = Activation::from_name(activation)
                .unwrap_or_else(|| panic!("unknown activation {activation}"));
            let keys = signature(&config["input_keys"]);
            let mut runtime = RuntimeVectorNeuron::new(&keys, 0).with_activation(activation);
            for (path, _, values) in &params {
                runtime
                    .set_weights(&path_keys(path)[0], f32s(values))
                    .unwrap();
            }
            Built::Neuron(VectorNeuronNonlinear::from_runtime(&runtime, device).unwrap())
        }
        "MaxNormPool" => Built::Pool(
            MaxNormPool::new(
                config["patch_len"].as_u64().unwrap() as usize,
                config["use_norm"].as_bool().unwrap_or(true),
            )
            .unwrap(),
        ),
        other => panic!("layer_grads case {}: unknown layer {other}", case["name"]),
    }
}

/// A fixture multi-image with `leading` leading axes (1: one item; 2: a batch) as a batch.
fn batch(value: &Value, leading: usize, device: &Device) -> TensorImage {
    TensorImage::from_multi_images(&multi_image_batch(value, leading), device)
        .expect("fixture image")
}

/// The blocks of a fixture multi-image, in the file's order: key, shape and values (f64, exact
/// for the float32 and the float64 fixtures alike).
fn json_blocks(value: &Value) -> Vec<(TensorKey, Vec<usize>, Vec<f64>)> {
    value["blocks"]
        .as_array()
        .expect("a multi-image has blocks")
        .iter()
        .map(|b| {
            let a = array(&b["array"]);
            (fixture_key(b), a.shape, a.data)
        })
        .collect()
}

/// Pairs `ours` (`(key, values)` per block, in our order) with the fixture multi-image `want`,
/// whose blocks must have the same keys in the same order.
/// Each pair is named `{label} {key:?}`; `context` names the comparison in messages.
fn pair_blocks(
    ours: Vec<(TensorKey, Vec<f64>)>,
    want: &Value,
    label: &str,
    context: &str,
) -> Vec<GradPair> {
    let want = json_blocks(want);
    let our_keys: Vec<&TensorKey> = ours.iter().map(|(k, _)| k).collect();
    let want_keys: Vec<&TensorKey> = want.iter().map(|(k, _, _)| k).collect();
    assert_eq!(our_keys, want_keys, "{context}: block keys");
    ours.into_iter()
        .zip(want)
        .map(|((key, got), (_, _, values))| (format!("{label} {key:?}"), got, values))
        .collect()
}

/// The largest relative error of `got`'s blocks against the fixture multi-image `want`, whose
/// blocks have `leading` axes (batch, channels) before the spatial ones: same keys in the same
/// order, channels, grid and torus flags.
fn image_error(got: &TensorImage, want: &Value, leading: usize, context: &str) -> f64 {
    let geometry = got.geometry();
    let dim = geometry.spatial().len();
    assert_eq!(
        geometry.torus(),
        &flags(&want["is_torus"], dim)[..],
        "{context}: torus flags"
    );
    for ((_, tensor), (key, shape, _)) in got.blocks().iter().zip(json_blocks(want)) {
        assert_eq!(
            &shape[leading..leading + dim],
            geometry.spatial(),
            "{context} {key:?}: grid"
        );
        assert_eq!(
            shape[leading - 1],
            tensor.dims()[1],
            "{context} {key:?}: channels"
        );
    }
    let ours = got
        .blocks()
        .iter()
        .map(|(key, t)| (key.clone(), read_f64(t).expect("readback")))
        .collect();
    pair_blocks(ours, want, context, context)
        .iter()
        .map(|(what, g, w)| relative_error(g, w, what))
        .fold(0.0, f64::max)
}

/// `Σ_blocks Σ output·cotangent` (over the batch too).
fn dot_loss(output: &TensorImage, cotangent: &TensorImage) -> Tensor<1> {
    output
        .blocks()
        .iter()
        .zip(cotangent.blocks())
        .map(|((_, y), (_, c))| (y.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .expect("an output block")
}

/// A gradient array: its name, ours and the fixture's.
type GradPair = (String, Vec<f64>, Vec<f64>);

/// The parameter gradients `ours` paired with the fixture's `{path, array}` list `want`.
/// Every parameter must be in the fixture; a fixture leaf the module lacks must be ginjax's
/// constant invariant filters, whose gradient is zero.
fn param_grads(name: &str, ours: &[NamedArray], want: &Value) -> Vec<GradPair> {
    let want = named(want);
    for a in ours {
        assert!(
            want.iter().any(|(p, _, _)| p == &a.path),
            "{name}: the fixture lacks parameter {}",
            a.path
        );
    }
    let mut pairs = Vec::new();
    for (path, shape, values) in want {
        match ours.iter().find(|a| a.path == path) {
            Some(got) => {
                assert_eq!(got.shape, shape, "{name} {path}: shape");
                pairs.push((path, got.values.clone(), values));
            }
            None => {
                assert!(
                    path.contains(".invariant_filters"),
                    "{name}: no parameter {path} in the burn module"
                );
                assert!(
                    values.iter().all(|&v| v == 0.0),
                    "{name}: ginjax's gradient of the constant {path} is not zero"
                );
            }
        }
    }
    pairs
}

/// The gradient of `input` (a tracked batch) paired with the fixture multi-image `want`, per
/// block.
fn input_grads(name: &str, input: &TensorImage, grads: &Gradients, want: &Value) -> Vec<GradPair> {
    let ours = input
        .blocks()
        .iter()
        .map(|(key, t)| {
            let g = t
                .grad(grads)
                .unwrap_or_else(|| panic!("{name}: no input gradient for {key:?}"));
            (key.clone(), read_f64(&g).unwrap())
        })
        .collect();
    pair_blocks(ours, want, "input", &format!("{name} input"))
}

/// Gradient errors of a case: `per_array`, the largest difference relative to each array's
/// own largest magnitude, over the arrays that are not zero by construction; `overall`, the
/// largest difference relative to the largest magnitude of all the case's gradient arrays,
/// over every array (the only measure of those that are zero by construction).
#[derive(Debug)]
struct GradErrors {
    per_array: f64,
    overall: f64,
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// The largest magnitude of all the arrays' reference values.
fn largest_gradient(pairs: &[GradPair]) -> f64 {
    pairs.iter().fold(0.0f64, |m, (_, _, w)| m.max(max_abs(w)))
}

/// The names of the arrays whose float64 reference (`exact`) is zero by construction (at most
/// [`ZERO_BY_CONSTRUCTION`] of the largest gradient).
fn zero_by_construction(exact: &[GradPair]) -> HashSet<String> {
    let scale = largest_gradient(exact);
    exact
        .iter()
        .filter(|(_, _, want)| max_abs(want) <= ZERO_BY_CONSTRUCTION * scale)
        .map(|(what, _, _)| what.clone())
        .collect()
}

/// The errors of `pairs`, the arrays named in `zero` measured against the largest gradient
/// only.
fn grad_errors(name: &str, pairs: &[GradPair], zero: &HashSet<String>) -> GradErrors {
    let scale = largest_gradient(pairs);
    let mut errors = GradErrors {
        per_array: 0.0,
        overall: 0.0,
    };
    for (what, got, want) in pairs {
        assert_eq!(got.len(), want.len(), "{name} {what}: lengths differ");
        let diff = got
            .iter()
            .zip(want)
            .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
        errors.overall = errors.overall.max(diff / scale);
        if zero.contains(what) {
            println!(
                "  {name} {what}: zero by construction, error {:.2e} of the largest gradient",
                diff / scale
            );
        } else {
            let e = diff / max_abs(want);
            println!("  {name} {what}: relative gradient error {e:.2e}");
            errors.per_array = errors.per_array.max(e);
        }
    }
    errors
}

/// The loss value of a `[1]` tensor.
fn scalar(loss: &Tensor<1>) -> f64 {
    read_f64(loss).unwrap()[0]
}

/// Replays one `layer_grads` case: the output, and the loss and gradients (each array
/// relative to its own largest magnitude).
fn replay_layer(case: &Value, file: &Value, route: Route) -> Vec<Measure> {
    let name = case["name"].as_str().unwrap();
    let device = device();
    let layer = build(case, file, &device).with_route(route);
    let input = batch(&case["input"], 1, &device).require_grad();
    let output = layer.forward(&input);
    let output_error = image_error(&output, &case["output"], 1, name);
    let loss = dot_loss(&output, &batch(&case["cotangent"], 1, &device));
    let want_loss = case["loss"].as_f64().unwrap();
    let loss_error = (scalar(&loss) - want_loss).abs() / want_loss.abs().max(1.0);
    let grads = loss.backward();
    let mut pairs = param_grads(name, &layer.grads(&grads), &case["grad_params"]);
    pairs.extend(input_grads(name, &input, &grads, &case["grad_input"]));
    // No float64 reference here: every array is measured against itself.
    let grad_error = loss_error.max(grad_errors(name, &pairs, &HashSet::new()).per_array);
    vec![
        Measure::new("output", output_error, LAYER_OUTPUT_TOLERANCE),
        Measure::new("gradients", grad_error, GRAD_TOLERANCE),
    ]
}

/// The model-file configuration of a fixture model: the constructor's keyword arguments and
/// the class name, with each named filter bank replaced by its side and orders (read from the
/// recorded bank) and without `is_torus` (the input's geometry, not an option).
fn model_config(case: &Value, file: &Value) -> Value {
    let mut config = case["config"]
        .as_object()
        .expect("a model case has a config object")
        .clone();
    config.remove("is_torus");
    for field in ["conv_filters", "upsample_filters"] {
        if let Some(name) = config.get(field).and_then(Value::as_str) {
            let bank = DenseBank::from_multi_image(&multi_image(&file["filter_banks"][name]))
                .expect("fixture bank");
            let spec = json!({"M": bank.sides()[0], "ks": bank.orders()});
            config.insert(field.to_string(), spec);
        }
    }
    config.insert("model".to_string(), case["model"].clone());
    Value::Object(config)
}

/// The model of a `models` or `adam` case, built from its recorded leaves as a model file.
fn build_model(case: &Value, file: &Value, device: &Device) -> Model {
    let document = json!({
        "format": FORMAT,
        "version": VERSION,
        "config": model_config(case, file),
        "params": case["params"],
    });
    let model_file = ModelFile::from_json(&document.to_string()).expect("a valid model file");
    Model::from_file(&model_file, device).expect("the model from the fixture's parameters")
}

/// ginjax's `count_params`: the sizes of every recorded leaf but the invariant filters.
fn ginjax_count_params(params: &Value) -> usize {
    named(params)
        .iter()
        .filter(|(path, _, _)| !path.contains(".invariant_filters"))
        .map(|(_, shape, _)| shape.iter().product::<usize>())
        .sum()
}

/// The case of the float64 reference `reference` (`training_f64.json`) with the name of the
/// `training.json` case `case`; a case without one fails.
fn reference_case<'a>(reference: &'a Value, case: &Value) -> &'a Value {
    let name = case["name"].as_str().unwrap();
    assert_eq!(
        reference["jax_enable_x64"], true,
        "the reference is float64"
    );
    let found = reference["models"]
        .as_array()
        .expect("the reference has a models list")
        .iter()
        .find(|r| r["name"] == case["name"])
        .unwrap_or_else(|| {
            panic!("training_f64.json has no case {name}: rerun scripts/grads_f64.py")
        });
    assert_eq!(found["model"], case["model"], "{name}: reference model");
    found
}

/// Replays one `models` case: `count_params`, then the output, the loss and the gradients
/// against the float64 reference `exact` (the gradients relative to the model's largest one
/// and to each array's own largest magnitude) and against the float32 fixture `case` (the
/// gradients per array, to the fixture's own accuracy).
fn replay_model(case: &Value, exact: &Value, file: &Value, route: Route) -> Vec<Measure> {
    let name = case["name"].as_str().unwrap();
    let device = device();
    let model = build_model(case, file, &device).with_route(route);
    assert_eq!(
        model.count_params(),
        ginjax_count_params(&case["params"]),
        "{name}: count_params"
    );
    let input = batch(&case["input"], 2, &device).require_grad();
    assert_eq!(input.batch() as u64, case["batch"].as_u64().unwrap());
    let output = model.forward(&input).expect("forward pass");
    let loss = dot_loss(&output, &batch(&case["cotangent"], 2, &device));
    let loss_value = scalar(&loss);
    let loss_error = |want: &Value| {
        let want = want.as_f64().unwrap();
        (loss_value - want).abs() / want.abs().max(1.0)
    };
    let output_error = image_error(&output, &exact["output"], 2, name);
    let fixture_output_error = image_error(&output, &case["output"], 2, name);
    let grads = loss.backward();
    let ours = model.grads(&grads).unwrap();
    let pairs = |reference: &Value, label: &str| {
        let context = format!("{name} vs {label}");
        let mut pairs = param_grads(&context, &ours, &reference["grad_params"]);
        pairs.extend(input_grads(
            &context,
            &input,
            &grads,
            &reference["grad_input"],
        ));
        (context, pairs)
    };
    let (exact_context, exact_pairs) = pairs(exact, "float64");
    let (fixture_context, fixture_pairs) = pairs(case, "float32");
    let zero = zero_by_construction(&exact_pairs);
    let exact_errors = grad_errors(&exact_context, &exact_pairs, &zero);
    let fixture_errors = grad_errors(&fixture_context, &fixture_pairs, &zero);
    vec![
        Measure::new("output", output_error, MODEL_OUTPUT_TOLERANCE),
        Measure::new("loss", loss_error(&exact["loss"]), GRAD_TOLERANCE),
        Measure::new("gradients", exact_errors.overall, GRAD_TOLERANCE),
        Measure::new(
            "gradients per array",
            exact_errors.per_array,
            MODEL_EXACT_ARRAY_GRAD_TOLERANCE,
        ),
        Measure::new(
            "float32 output",
            fixture_output_error,
            MODEL_OUTPUT_TOLERANCE,
        ),
        Measure::new("float32 loss", loss_error(&case["loss"]), GRAD_TOLERANCE),
        Measure::new(
            "float32 gradients per array",
            fixture_errors.per_array,
            MODEL_ARRAY_GRAD_TOLERANCE,
        ),
    ]
}

/// The loss a fixture names (`ginjax.ml.losses.<name>`, then a description).
fn fixture_loss(description: &str) -> Loss {
    let name = description.split_whitespace().next().unwrap_or_default();
    match name {
        "ginjax.ml.losses.smse_loss" => Loss::Smse,
        other => panic!("unknown loss {other}"),
    }
}

/// The optimiser a fixture names, with its hyper-parameters.
fn fixture_optimizer(optimizer: &Value) -> (Optimizer, f64) {
    let number = |field: &str| {
        optimizer[field]
            .as_f64()
            .unwrap_or_else(|| panic!("optimizer {field}"))
    };
    match optimizer["name"].as_str() {
        Some("optax.adam") => (
            Optimizer::Adam {
                beta_1: number("b1") as f32,
                beta_2: number("b2") as f32,
                epsilon: number("eps") as f32,
            },
            number("learning_rate"),
        ),
        other => panic!("unknown optimizer {other:?}"),
    }
}

/// Replays one `adam` case: the losses before each step, and the final parameters (each
/// array relative to its own largest magnitude).
fn replay_adam(case: &Value, file: &Value, route: Route) -> Vec<Measure> {
    let name = case["name"].as_str().unwrap();
    let device = device();
    let model = build_model(case, file, &device).with_route(route);
    let (optimizer, learning_rate) = fixture_optimizer(&case["optimizer"]);
    let loss = fixture_loss(case["loss"].as_str().expect("the loss's name"));
    let input = batch(&case["input"], 2, &device);
    let target = batch(&case["target"], 2, &device);
    let mut trainer = Trainer::new(model, optimizer, learning_rate);
    let mut loss_error = 0.0f64;
    for (step, want) in case["losses"].as_array().unwrap().iter().enumerate() {
        let want = want.as_f64().unwrap();
        let got = trainer.fit_batch(&input, &target, loss).expect("a step");
        let e = (got - want).abs() / want.abs();
        println!("  {name} step {step}: loss {got:.7} (ginjax {want:.7}), relative error {e:.2e}");
        loss_error = loss_error.max(e);
    }
    let ours = trainer.module().params().unwrap();
    let want = named(&case["final_params"]);
    let initial = named(&case["params"]);
    let mut param_error = 0.0f64;
    for (path, shape, values) in &want {
        match ours.iter().find(|a| &a.path == path) {
            Some(got) => {
                assert_eq!(&got.shape, shape, "{name} {path}: shape");
                let e = relative_error(&got.values, values, &format!("{name} {path}"));
                param_error = param_error.max(e);
            }
            None => {
                assert!(
                    path.contains(".invariant_filters"),
                    "{name}: no parameter {path} in the burn module"
                );
                assert_eq!(
                    find(&initial, path),
                    &values[..],
                    "{name}: Adam changed the constant {path}"
                );
            }
        }
    }
    assert_eq!(
        ours.len(),
        want.iter()
            .filter(|(p, _, _)| !p.contains(".invariant_filters"))
            .count(),
        "{name}: parameter count"
    );
    vec![
        Measure::new("losses", loss_error, ADAM_TOLERANCE),
        Measure::new("final parameters", param_error, ADAM_TOLERANCE),
    ]
}

/// One compared quantity of a case: its largest relative error and the tolerance.
struct Measure {
    what: &'static str,
    error: f64,
    tolerance: f64,
}

impl Measure {
    fn new(what: &'static str, error: f64, tolerance: f64) -> Self {
        Self {
            what,
            error,
            tolerance,
        }
    }
}

/// Replays every case of `section` but those [`skipped_cases`] names with `replay` on each of
/// [`routes`]; returns the failures beyond tolerance.
fn replay_section(
    file: &Value,
    section: &str,
    replay: impl Fn(&Value, &Value, Route) -> Vec<Measure>,
) -> Vec<String> {
    let cases = file[section]
        .as_array()
        .unwrap_or_else(|| panic!("{section} list"));
    assert!(!cases.is_empty(), "no {section} cases");
    let skipped = skipped_cases(file);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        if skipped.contains(name) {
            println!("{section} {name}: skipped (GINRS_TEST_SKIP)");
            continue;
        }
        let kind = case.get("layer").or_else(|| case.get("model")).unwrap();
        for &route in routes() {
            let measures = replay(case, file, route);
            let summary: Vec<String> = measures
                .iter()
                .map(|m| format!("{} {:.2e} (tolerance {:.0e})", m.what, m.error, m.tolerance))
                .collect();
            println!(
                "{section} {name} ({kind}, {route:?} on {}): {}",
                test_device().name(),
                summary.join(", ")
            );
            if measures.iter().any(|m| m.error > m.tolerance) {
                failures.push(format!("{name} ({route:?}): {}", summary.join(", ")));
            }
        }
    }
    failures
}

#[test]
fn arrays_zero_by_construction_are_measured_against_the_largest_gradient() {
    let pair = |what: &str, got: &[f64], want: &[f64]| -> GradPair {
        (what.to_string(), got.to_vec(), want.to_vec())
    };
    // A weight, a bias whose gradient vanishes in exact arithmetic (float64 noise), and a
    // small array that does not vanish.
    let exact = [
        pair("w", &[1.0, 2.0 + 1e-5], &[1.0, 2.0]),
        pair("b", &[3e-7], &[2e-19]),
        pair("c", &[1.1e-5], &[1e-5]),
    ];
    let zero = zero_by_construction(&exact);
    assert_eq!(zero, HashSet::from(["b".to_string()]));
    let errors = grad_errors("synthetic", &exact, &zero);
    // The bias's 3e-7 of noise is 1.5e-7 of the largest gradient (2), not 1.5e12 of its own
    // reference; the small array stays measured against itself (10 %).
    assert!((errors.per_array - 0.1).abs() < 1e-9, "{errors:?}");
    assert!((errors.overall - 5e-6).abs() < 1e-12, "{errors:?}");
    let without_c = grad_errors("synthetic", &exact[..2], &zero);
    assert!((without_c.per_array - 5e-6).abs() < 1e-12, "{without_c:?}");
    // With no float64 reference nothing is zero, and the noise is its own error.
    assert!(grad_errors("synthetic", &exact[..2], &HashSet::new()).per_array > 1e12);
}

#[test]
fn layer_gradients_match_jax_grad() {
    let file = load("training.json");
    let failures = replay_section(&file, "layer_grads", replay_layer);
    assert!(failures.is_empty(), "cases beyond tolerance: {failures:?}");
}

#[test]
fn model_outputs_and_gradients_match_jax_grad() {
    let file = load("training.json");
    let reference = load("training_f64.json");
    let replay = |case: &Value, file: &Value, route: Route| {
        replay_model(case, reference_case(&reference, case), file, route)
    };
    let failures = replay_section(&file, "models", replay);
    assert!(failures.is_empty(), "cases beyond tolerance: {failures:?}");
}

#[test]
fn adam_trajectories_match_optax() {
    let file = load("training.json");
    let failures = replay_section(&file, "adam", replay_adam);
    assert!(failures.is_empty(), "cases beyond tolerance: {failures:?}");
}

#[test]
fn exported_ginjax_models_run_in_burn() {
    let mut failures = Vec::new();
    for fixture in ["model_export.json", "model_export_d3.json"] {
        let file = load(fixture);
        let cases = file["cases"].as_array().expect("a cases list");
        assert!(!cases.is_empty(), "{fixture}: no exported models");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let device = device();
            let model_file =
                ModelFile::from_json(&case["model"].to_string()).expect("a model file");
            let model = Model::from_file(&model_file, &device).expect("the exported model");
            assert_eq!(
                model.count_params() as u64,
                case["count_params"].as_u64().unwrap(),
                "{name}: count_params"
            );
            let input = batch(&case["input"], 2, &device);
            let output = model.forward(&input).expect("forward pass");
            let error = image_error(&output, &case["output"], 2, name);
            // The file burn writes carries the invariant filters it was loaded with (ginjax's
            // D = 3 banks differ in order and sign from the rebuilt ones), so the runtime runs it
            // as ginjax does.
            let written = model.to_file().expect("a model file");
            let recorded = |file: &ModelFile| -> Vec<String> {
                let mut paths: Vec<String> = file
                    .params
                    .iter()
                    .filter(|p| p.path.contains(".invariant_filters"))
                    .map(|p| p.path.clone())
                    .collect();
                paths.sort();
                paths
            };
            assert_eq!(recorded(&written), recorded(&model_file), "{name}");
            let runtime = ginrs_runtime::Model::from_file(&written).expect("the written file");
            let inputs = multi_image_batch(&case["input"], 2);
            let runtime_output = TensorImage::from_multi_images(
                &runtime.forward_batch(&inputs).expect("runtime forward"),
                &device,
            )
            .expect("runtime output");
            let runtime_error = image_error(&runtime_output, &case["output"], 2, name);
            println!(
                "{fixture} {name} (D = {}, equivariant: {}): output {error:.2e}, its file in the \
                 runtime {runtime_error:.2e}",
                model.config().dim,
                model.config().equivariant
            );
            if error.max(runtime_error) > MODEL_OUTPUT_TOLERANCE {
                failures.push(format!(
                    "{name}: output {error:.2e}, runtime {runtime_error:.2e}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "models beyond tolerance: {failures:?}");
}
