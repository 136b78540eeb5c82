//! Gradient parity of the trainable layers (ginrs-train) with ginjax 0.1.8 and `jax.grad`:
//! every case of `tests/fixtures/training.json` is replayed generically (no case names or
//! counts here), so another file of the same layout replays too.
//!
//! `layer_grads` cases: the layer is rebuilt from the recorded parameters, applied to the
//! recorded input, and the loss `Σ output·cotangent` is backpropagated on burn's flex
//! backend. `ConvContract` cases are replayed on both routes (dense, and fused where the
//! fused route serves the configuration; the others are listed). Outputs must match to 1e-5 and the loss, every parameter gradient and the input
//! gradient to 1e-4, relative to each array's largest magnitude (the fixture's tolerances).
//! A `layer_grads` case of an unknown layer fails. `models` and `adam` cases (whole models)
//! are not built by ginrs-train yet: they are skipped with a printed note.

use burn::tensor::{Device, Tensor};
use ginrs_runtime::io::ginjax_import::{
    bias_mode_from_json, padding_from_json, per_axis_from_json,
};
use ginrs_runtime::GroupNorm as RuntimeGroupNorm;
use ginrs_runtime::VectorNeuronNonlinear as RuntimeVectorNeuron;
use ginrs_runtime::{
    BiasMode, ConvContractConfig, ConvOptions, DenseBank, LayerWeights, MultiImage, TensorKey,
};
use ginrs_tests::fixtures::{array, load, multi_image, signature};
use ginrs_train::{
    ConvContract, ConvRoute, GinjaxParams, GroupNorm, ImageModule, MaxNormPool, NamedArray,
    TensorImage, TrainError, VectorNeuronNonlinear,
};
use serde_json::{json, Value};

const OUTPUT_TOLERANCE: f64 = 1e-5;
const GRAD_TOLERANCE: f64 = 1e-4;

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
    fn forward(&self, x: &TensorImage) -> Result<TensorImage, TrainError> {
        match self {
            Self::Conv(l) => l.forward_image(x),
            Self::Norm(l) => l.forward_image(x),
            Self::Neuron(l) => l.forward_image(x),
            Self::Pool(l) => l.forward_image(x),
        }
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

/// Rebuilds the layer of `case`; a `ConvContract` takes `route`.
fn build(case: &Value, file: &Value, device: &Device, route: ConvRoute) -> Built {
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
                    .expect("ConvContract from the fixture's parameters")
                    .with_route(route),
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
            assert_eq!(config["activation"], "relu", "only relu is trainable");
            let keys = signature(&config["input_keys"]);
            let mut runtime = RuntimeVectorNeuron::new(&keys, 0);
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

fn image(value: &Value, device: &Device) -> TensorImage {
    TensorImage::from_multi_images(&[multi_image(value)], device).expect("fixture image")
}

fn flat(image: &MultiImage) -> Vec<Vec<f64>> {
    image
        .blocks()
        .iter()
        .map(|b| b.data().iter().map(|&v| f64::from(v)).collect())
        .collect()
}

/// Replays one `layer_grads` case on `route`; returns the largest relative error of the
/// output and of the gradients, or `None` when the fused route does not serve the case.
fn replay(case: &Value, file: &Value, route: ConvRoute) -> Option<(f64, f64)> {
    let name = case["name"].as_str().unwrap();
    let device = Device::flex().autodiff();
    let layer = build(case, file, &device, route);
    let input = image(&case["input"], &device).require_grad();
    let output = match layer.forward(&input) {
        Ok(output) => output,
        Err(TrainError::Fused(why)) => {
            println!("note: {name}: the fused route does not serve this case: {why}");
            return None;
        }
        Err(e) => panic!("{name}: forward pass: {e}"),
    };
    let want_output = multi_image(&case["output"]);
    let got_output = &output.to_multi_images().unwrap()[0];
    assert_eq!(
        got_output.signature(),
        want_output.signature(),
        "{name}: output signature"
    );
    let mut output_error = 0.0f64;
    for (g, w) in flat(got_output).iter().zip(flat(&want_output).iter()) {
        output_error = output_error.max(relative_error(g, w, name));
    }
    let cotangent = image(&case["cotangent"], &device);
    let loss: Tensor<1> = output
        .blocks()
        .iter()
        .zip(cotangent.blocks())
        .map(|((_, y), (_, c))| (y.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .expect("an output block");
    let loss_value = loss.to_data().try_to_vec::<f32>().unwrap()[0] as f64;
    let want_loss = case["loss"].as_f64().unwrap();
    let mut grad_error = (loss_value - want_loss).abs() / want_loss.abs().max(1.0);
    let grads = loss.backward();
    let ours = layer.grads(&grads);
    let want = named(&case["grad_params"]);
    for (path, shape, values) in &want {
        match ours.iter().find(|a| &a.path == path) {
            Some(got) => {
                assert_eq!(&got.shape, shape, "{name} {path}: shape");
                let e = relative_error(&got.values, values, &format!("{name} {path}"));
                println!("  {name} {path}: relative gradient error {e:.2e}");
                grad_error = grad_error.max(e);
            }
            None => {
                assert!(
                    path.starts_with(".invariant_filters"),
                    "{name}: no parameter {path} in the burn module"
                );
                assert!(
                    values.iter().all(|&v| v == 0.0),
                    "{name}: ginjax's gradient of the constant {path} is not zero"
                );
            }
        }
    }
    for a in &ours {
        assert!(
            want.iter().any(|(p, _, _)| p == &a.path),
            "{name}: the fixture lacks parameter {}",
            a.path
        );
    }
    let want_input = flat(&multi_image(&case["grad_input"]));
    for ((key, t), w) in input.blocks().iter().zip(&want_input) {
        let g: Vec<f64> = t
            .grad(&grads)
            .unwrap_or_else(|| panic!("{name}: no input gradient for {key:?}"))
            .to_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        let e = relative_error(&g, w, &format!("{name} input {key:?}"));
        println!("  {name} input {key:?}: relative gradient error {e:.2e}");
        grad_error = grad_error.max(e);
    }
    Some((output_error, grad_error))
}

#[test]
fn layer_gradients_match_jax_grad() {
    let file = load("training.json");
    let cases = file["layer_grads"].as_array().expect("layer_grads list");
    assert!(!cases.is_empty(), "no layer_grads cases");
    let mut failures = Vec::new();
    let mut fused_cases = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let routes: &[ConvRoute] = if case["layer"] == "ConvContract" {
            &[ConvRoute::Dense, ConvRoute::Fused]
        } else {
            &[ConvRoute::Dense]
        };
        for &route in routes {
            let Some((output_error, grad_error)) = replay(case, &file, route) else {
                continue;
            };
            fused_cases += usize::from(route == ConvRoute::Fused);
            println!(
                "{name} ({}, {route:?}): output {output_error:.2e}, gradients {grad_error:.2e}",
                case["layer"]
            );
            if output_error > OUTPUT_TOLERANCE || grad_error > GRAD_TOLERANCE {
                failures.push(format!(
                    "{name} ({route:?}): output {output_error:.2e}, gradients {grad_error:.2e}"
                ));
            }
        }
    }
    assert!(
        fused_cases > 0,
        "no ConvContract case ran on the fused route"
    );
    for section in ["models", "adam"] {
        for case in file[section].as_array().map_or(&[][..], Vec::as_slice) {
            println!(
                "note: skipping {section} case {} ({}): whole models are not built by ginrs-train yet",
                case["name"], case["model"]
            );
        }
    }
    assert!(failures.is_empty(), "cases beyond tolerance: {failures:?}");
}
