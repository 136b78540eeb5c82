//! ginjax parity of the non-convolution layers and pooling: every case of
//! `tests/fixtures/norms_and_nonlinear.json` (GroupNorm, LayerNorm, VectorNeuronNonlinear,
//! MaxNormPool, norm, max_pool, average_pool).
//!
//! Pooling by selection is compared exactly; computed values with the fixtures' tolerance
//! `|got − want| ≤ 1e-5·|want| + 1e-5·max(1, max|want|)`.

use ginrs_runtime::layers::group_norm::GroupNorm;
use ginrs_runtime::layers::max_norm_pool::MaxNormPool;
use ginrs_runtime::layers::nonlinear::{Activation, VectorNeuronNonlinear};
use ginrs_runtime::ops::norm::pixel_norm;
use ginrs_runtime::ops::pool::{average_pool, max_pool, Comparator};
use ginrs_runtime::{Geometry, ImageBlock, Layer, MultiImage, TensorKey};
use ginrs_tests::fixtures::{
    array, assert_close, assert_multi_image_close, cases, load, multi_image, signature,
};
use serde_json::{json, Value};

fn fixture() -> Value {
    load("norms_and_nonlinear.json")
}

fn name(case: &Value) -> String {
    format!("{} {}", case["op"], case["name"])
}

/// A single image `(spatial…, (D,)*k)` of a pooling case as a one-channel block.
fn single_image(value: &Value, dim: usize) -> ImageBlock {
    let a = array(value);
    let k = a.shape.len() - dim;
    let spatial = a.shape[..dim].to_vec();
    let geometry = Geometry::new(spatial, vec![true; dim]).unwrap();
    ImageBlock::new(geometry, TensorKey::new(k, 0), 1, a.f32s()).unwrap()
}

/// Exact equality of two multi-images (pooling selects values, so no tolerance).
fn assert_multi_image_eq(got: &MultiImage, want: &MultiImage, context: &str) {
    assert_eq!(got.signature(), want.signature(), "{context}: signatures");
    assert_eq!(got.geometry(), want.geometry(), "{context}: geometries");
    for (g, w) in got.blocks().iter().zip(want.blocks()) {
        assert_eq!(g.data(), w.data(), "{context}: block {:?}", w.key());
    }
}

/// The fixture's GroupNorm parameters rewritten as `GroupNormParams` JSON (the fixture's
/// `vanilla_norm` entries also carry groups/channels/eps, which the parameter type does not).
fn group_norm_params(case: &Value) -> String {
    let vanilla: Vec<Value> = case["vanilla_norm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["groups"], case["groups"]);
            json!({"key": e["key"], "weight": e["weight"], "bias": e["bias"]})
        })
        .collect();
    json!({
        "groups": case["groups"],
        "eps": case["eps"],
        "input_keys": case["input_keys"],
        "vanilla_norm": vanilla,
        "vector_scale": case["vector_scale"],
        "vector_bias": case["vector_bias"],
    })
    .to_string()
}

fn check_group_norm(case: &Value) {
    let context = name(case);
    let keys = signature(&case["input_keys"]);
    let groups = case["groups"].as_u64().unwrap() as usize;
    let initial = if case["op"] == "LayerNorm" {
        assert_eq!(groups, 1);
        GroupNorm::layer_norm(&keys).unwrap()
    } else {
        GroupNorm::new(&keys, groups).unwrap()
    };
    let loaded = GroupNorm::from_json(&group_norm_params(case)).unwrap();
    // The recorded parameters are ginjax's initial ones, so both layers agree.
    assert_eq!(loaded, initial, "{context}");
    assert_eq!(loaded.eps(), case["eps"].as_f64().unwrap() as f32);
    let input = multi_image(&case["input"]);
    let want = multi_image(&case["output"]);
    assert_multi_image_close(&loaded.forward(&input).unwrap(), &want, &context);
}

fn check_vector_neuron(case: &Value) {
    let context = name(case);
    assert_eq!(case["scalar_activation"], "relu");
    let params = json!({
        "eps": case["eps"],
        "input_keys": case["input_keys"],
        "weights": case["weights"],
    })
    .to_string();
    let layer = VectorNeuronNonlinear::from_json(&params, Activation::Relu).unwrap();
    let input = multi_image(&case["input"]);
    let want = multi_image(&case["output"]);
    assert_multi_image_close(&layer.forward(&input).unwrap(), &want, &context);
}

fn check_max_norm_pool(case: &Value) {
    let context = name(case);
    let patch_len = case["patch_len"].as_u64().unwrap() as usize;
    let layer = MaxNormPool::new(patch_len, case["use_norm"].as_bool().unwrap()).unwrap();
    let input = multi_image(&case["input"]);
    assert_eq!(input.signature(), signature(&case["input_keys"]));
    let want = multi_image(&case["output"]);
    assert_multi_image_eq(&layer.forward(&input).unwrap(), &want, &context);
}

fn check_norm(case: &Value) {
    let input = array(&case["input"]);
    let want = array(&case["output"]);
    let shift = case["idx_shift"].as_u64().unwrap() as usize;
    let per_pixel: usize = input.shape[shift..].iter().product();
    let got: Vec<f32> = input
        .f32s()
        .chunks_exact(per_pixel)
        .map(pixel_norm)
        .collect();
    let mut shape = input.shape[..shift].to_vec();
    if case["keepdims"].as_bool().unwrap() && input.shape.len() > shift {
        shape.extend(std::iter::repeat_n(1, input.shape.len() - shift));
    }
    assert_eq!(shape, want.shape, "{}", name(case));
    assert_close(&got, &want.f32s(), &name(case));
}

fn check_max_pool(case: &Value) {
    let dim = case["D"].as_u64().unwrap() as usize;
    let block = single_image(&case["input"], dim);
    let patch_len = case["patch_len"].as_u64().unwrap() as usize;
    let comparator_values =
        (!case["comparator_image"].is_null()).then(|| array(&case["comparator_image"]).f32s());
    let comparator = match (&comparator_values, case["use_norm"].as_bool().unwrap()) {
        (Some(values), _) => Comparator::Image(values),
        (None, true) => Comparator::Norm,
        (None, false) => Comparator::Value,
    };
    let got = max_pool(&block, patch_len, comparator).unwrap();
    let want = array(&case["output"]);
    assert_eq!(&got.shape()[1..], want.shape.as_slice(), "{}", name(case));
    assert_eq!(got.data(), want.f32s().as_slice(), "{}", name(case));
}

fn check_average_pool(case: &Value) {
    let dim = case["D"].as_u64().unwrap() as usize;
    let block = single_image(&case["input"], dim);
    let patch_len = case["patch_len"].as_u64().unwrap() as usize;
    let got = average_pool(&block, patch_len).unwrap();
    let want = array(&case["output"]);
    assert_eq!(&got.shape()[1..], want.shape.as_slice(), "{}", name(case));
    assert_close(got.data(), &want.f32s(), &name(case));
}

#[test]
fn every_case_matches_ginjax() {
    let file = fixture();
    let mut counts = std::collections::BTreeMap::new();
    for case in cases(&file) {
        let op = case["op"].as_str().unwrap();
        match op {
            "GroupNorm" | "LayerNorm" => check_group_norm(case),
            "VectorNeuronNonlinear" => check_vector_neuron(case),
            "MaxNormPool" => check_max_norm_pool(case),
            "norm" => check_norm(case),
            "max_pool" => check_max_pool(case),
            "average_pool" => check_average_pool(case),
            other => panic!("unhandled op {other} in norms_and_nonlinear.json"),
        }
        *counts.entry(op.to_owned()).or_insert(0usize) += 1;
    }
    // Every op of the README is present (the public set has 18 cases).
    for op in [
        "GroupNorm",
        "LayerNorm",
        "VectorNeuronNonlinear",
        "MaxNormPool",
        "norm",
        "max_pool",
        "average_pool",
    ] {
        assert!(counts.contains_key(op), "no {op} case checked");
    }
    assert_eq!(counts.values().sum::<usize>(), cases(&file).len());
}

/// Non-trivial GroupNorm parameters: the fixture inputs with weight/scale and bias set to
/// fixed values, against an independent f64 recomputation of ginjax's formula.
#[test]
fn group_norm_affine_parameters_match_formula() {
    let file = fixture();
    for case in cases(&file).iter().filter(|c| c["op"] == "GroupNorm") {
        let keys = signature(&case["input_keys"]);
        let groups = case["groups"].as_u64().unwrap() as usize;
        let mut layer = GroupNorm::new(&keys, groups).unwrap();
        let plain = GroupNorm::new(&keys, groups).unwrap();
        for (key, channels) in keys.entries() {
            let w: Vec<f32> = (0..*channels).map(|c| 0.5 + c as f32 * 0.25).collect();
            let b: Vec<f32> = (0..*channels).map(|c| c as f32 * 0.3 - 0.2).collect();
            layer.set_affine(key, w, b).unwrap();
        }
        let input = multi_image(&case["input"]);
        let normed = plain.forward(&input).unwrap();
        let got = layer.forward(&input).unwrap();
        for ((block, base), x) in got.blocks().iter().zip(normed.blocks()).zip(input.blocks()) {
            let key = block.key();
            let (w, b) = (layer.weight(key).unwrap(), layer.bias(key).unwrap());
            let len = block.channel_len();
            let comps = block.components();
            let mut want = Vec::with_capacity(block.data().len());
            for c in 0..block.channels() {
                // k = 0: w·normed + b; k = 1: s·whitened + b·(channel mean vector).
                let mut mean = vec![0f64; comps];
                for px in x.channel(c).chunks(comps) {
                    for (m, v) in mean.iter_mut().zip(px) {
                        *m += f64::from(*v) / (len / comps) as f64;
                    }
                }
                for (i, &v) in base.channel(c).iter().enumerate() {
                    let add = if key.k() == 0 {
                        f64::from(b[c])
                    } else {
                        f64::from(b[c]) * mean[i % comps]
                    };
                    want.push((f64::from(w[c]) * f64::from(v) + add) as f32);
                }
            }
            assert_close(block.data(), &want, &format!("{} {key:?}", name(case)));
        }
    }
}

/// The GroupNorm (random non-trivial affine parameters) and VectorNeuronNonlinear layers of
/// the exported four-layer ginjax model: their JSON objects, minus the export envelope
/// (`name`, `type`, `D`, `scalar_activation`), are this crate's parameter types; applied to
/// ginjax's recorded output of the previous layer they reproduce ginjax's next output.
#[test]
fn exported_ginjax_model_norm_and_nonlinear_layers() {
    let file = load("ginjax_export.json");
    let layers = file["layers"].as_array().unwrap();
    let outputs = file["outputs"].as_array().unwrap();
    let mut checked = 0;
    for (i, layer) in layers.iter().enumerate() {
        let mut params = layer.clone();
        let object = params.as_object_mut().unwrap();
        for envelope in ["name", "type", "D", "scalar_activation"] {
            object.remove(envelope);
        }
        let built: Box<dyn Layer> = match layer["type"].as_str().unwrap() {
            "GroupNorm" => Box::new(GroupNorm::from_json(&params.to_string()).unwrap()),
            "VectorNeuronNonlinear" => {
                assert_eq!(layer["scalar_activation"], "relu");
                Box::new(
                    VectorNeuronNonlinear::from_json(&params.to_string(), Activation::Relu)
                        .unwrap(),
                )
            }
            _ => continue,
        };
        assert!(i > 0, "the model starts with a convolution");
        let input = multi_image(&outputs[i - 1]);
        let want = multi_image(&outputs[i]);
        let context = format!("exported layer {}", layer["name"]);
        assert_multi_image_close(&built.forward(&input).unwrap(), &want, &context);
        checked += 1;
    }
    assert_eq!(
        checked, 2,
        "the export holds one GroupNorm and one VectorNeuronNonlinear"
    );
}
