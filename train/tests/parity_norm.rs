//! The parity-correct mode of ginjax's `LayerNorm` ([`NormParity::ParityCorrect`]: no learned
//! bias on pseudoscalar keys, which reflections negate) in burn against the runtime, on flex
//! in f32:
//! - one layer with nonzero learned weights and biases: the dense and the fused route give the
//!   runtime layer's outputs (1e-5 relative), gradients reach every weight and bias it has, the
//!   two routes' gradients agree (1e-4, the project's gradient tolerance), and the
//!   pseudoscalar key has no bias parameter or leaf;
//! - a ResNet with norms on pseudoscalar data: burn starts as the runtime's model, and after a
//!   few Adam steps (which make every bias nonzero) still computes the runtime's outputs on
//!   both routes, is equivariant under all of B_2 (reflections included), and writes a model
//!   file with `norm_parity` and no pseudoscalar bias leaf; ginjax's mode trained the same way
//!   is not equivariant under reflections.

mod common;

use burn::tensor::{DType, Device};
use common::{dot_loss, max_abs_diff, random_image, relative_error, signature, train_a_little};
use ginrs_runtime::{
    check_fn, Elements, Geometry, GroupNorm as RuntimeGroupNorm, Layer, ModelConfig, ModelFile,
    ModelKind, MultiImage, NormParity, TensorKey,
};
use ginrs_train::image::read_f64;
use ginrs_train::{GinjaxParams, GroupNorm, ImageModule, Model, Route, TensorImage};

fn device() -> Device {
    Device::flex().autodiff()
}

fn outputs(layer: &impl ImageModule, input: &TensorImage) -> Vec<MultiImage> {
    layer
        .forward_image(input)
        .unwrap()
        .to_multi_images()
        .unwrap()
}

#[test]
fn parity_correct_layer_matches_the_runtime_and_trains() {
    // Pseudoscalars, scalars, vectors and pseudovectors on a 5×4 torus.
    let sig = signature(&[(0, 1, 3), (0, 0, 2), (1, 0, 2), (1, 1, 1)]);
    let pseudo = TensorKey::new(0, 1);
    let geometry = Geometry::new(vec![5, 4], vec![true, true]).unwrap();
    let mut runtime = RuntimeGroupNorm::layer_norm(&sig)
        .unwrap()
        .with_parity(NormParity::ParityCorrect);
    assert_eq!(runtime.param_len(), 2 * 8 - 3);
    let params: Vec<f32> = common::noise(runtime.param_len(), 9)
        .iter()
        .map(|v| (v + 0.5 * v.signum()) as f32)
        .collect();
    runtime.set_flat_params(&params).unwrap();

    let device = device();
    let layer = GroupNorm::from_runtime(&runtime, &device);
    assert_eq!(layer.parity(), NormParity::ParityCorrect);
    let paths: Vec<String> = layer.named_tensors().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            ".scale[((False,), 0)]",
            ".scale[((False,), 1)]",
            ".bias[((False,), 0)]",
            ".bias[((False,), 1)]",
            ".vanilla_norm[((), 1)].weight",
            ".vanilla_norm[((), 0)].weight",
            ".vanilla_norm[((), 0)].bias",
        ]
    );
    // The runtime copy of the module is the layer it came from.
    assert_eq!(layer.to_runtime().unwrap(), runtime);

    let input = random_image(&sig, &geometry, 2, 5, &device, DType::F32);
    // An offset on the pseudoscalars: the mean they are centred by is far from 0.
    let input = {
        let mut shifted = TensorImage::new(geometry.clone(), 2);
        for (key, t) in input.blocks() {
            let t = if *key == pseudo {
                t.clone() + 0.75
            } else {
                t.clone()
            };
            shifted.push(key.clone(), t).unwrap();
        }
        shifted
    };
    let items = input.to_multi_images().unwrap();
    let want: Vec<MultiImage> = items.iter().map(|x| runtime.forward(x).unwrap()).collect();

    let mut grads_of = Vec::new();
    for route in [Route::Dense, Route::Fused] {
        let layer = layer.clone().with_route(route);
        let (diff, scale) = max_abs_diff(&outputs(&layer, &input), &want);
        println!("{route:?}: burn and runtime differ by {diff:.2e} (scale {scale:.2e})");
        assert!(diff <= 1e-5 * scale, "{route:?} differs by {diff}");

        // Gradients flow to the input and every parameter the layer has.
        let tracked = input.clone().require_grad();
        let output = layer.forward_image(&tracked).unwrap();
        let cotangent = random_image(&sig, &geometry, 2, 23, &device, DType::F32);
        let grads = dot_loss(&output, &cotangent).backward();
        for (key, t) in tracked.blocks() {
            let g = read_f64(&t.grad(&grads).expect("an input gradient")).unwrap();
            assert!(
                g.iter().any(|v| *v != 0.0),
                "{route:?}: input gradient of {key:?}"
            );
        }
        let named = layer.grads(&grads).unwrap();
        assert_eq!(named.len(), paths.len());
        for a in &named {
            assert!(
                a.values.iter().all(|v| v.is_finite()) && a.values.iter().any(|v| *v != 0.0),
                "{route:?}: gradient of {}",
                a.path
            );
        }
        grads_of.push(named);
    }
    for (dense, fused) in grads_of[0].iter().zip(&grads_of[1]) {
        assert_eq!(dense.path, fused.path);
        let e = relative_error(&fused.values, &dense.values);
        assert!(
            e <= 1e-4,
            "gradient of {}: routes differ by {e:.2e}",
            dense.path
        );
    }
}

/// A ResNet with norms on pseudoscalars, scalars and vectors.
fn resnet(parity: NormParity) -> ModelConfig {
    let keys = signature(&[(0, 1, 1), (0, 0, 1), (1, 0, 1)]);
    let mut config = ModelConfig::new(ModelKind::ResNet, 2, keys.clone(), keys, 2);
    config.num_blocks = Some(1);
    config.use_group_norm = Some(true);
    config.norm_parity = parity;
    config
}

/// The relative equivariance error of `model` over all of B_2 on one image.
fn equivariance_error(model: &Model, x: &MultiImage) -> f32 {
    let device = device();
    let forward = |x: &MultiImage| -> Result<MultiImage, ginrs_runtime::Error> {
        let x = TensorImage::from_multi_images(std::slice::from_ref(x), &device).unwrap();
        Ok(model
            .forward_image(&x)
            .unwrap()
            .to_multi_images()
            .unwrap()
            .remove(0))
    };
    let report = check_fn(forward, x, &Elements::All).unwrap();
    assert_eq!(report.per_element.len(), 8);
    report.relative_error
}

#[test]
fn parity_correct_resnet_trains_equivariantly_and_matches_the_runtime() {
    let device = device();
    let geometry = Geometry::square(2, 8, true).unwrap();
    let mut errors = Vec::new();
    for parity in [NormParity::ParityCorrect, NormParity::Ginjax] {
        let config = resnet(parity);
        let batch = random_image(&config.input_keys, &geometry, 2, 3, &device, DType::F32);
        let model = Model::new(&config, &device, 4).unwrap();
        // A fresh model is the runtime's model of the same seed.
        let runtime = ginrs_runtime::Model::new(&config, 4).unwrap();
        let items = batch.to_multi_images().unwrap();
        let (diff, scale) = max_abs_diff(
            &outputs(&model, &batch),
            &runtime.forward_batch(&items).unwrap(),
        );
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "{parity:?}: fresh model differs by {diff}"
        );

        let model = train_a_little(model, &batch, 3);
        let file = model.to_file().unwrap();
        let pseudo_biases = file
            .params
            .iter()
            .filter(|p| p.path.ends_with(".vanilla_norm[((), 1)].bias"))
            .count();
        let text = file.to_json().unwrap();
        match parity {
            NormParity::ParityCorrect => {
                assert_eq!(pseudo_biases, 0);
                assert!(text.contains(r#""norm_parity":"parity_correct""#));
            }
            NormParity::Ginjax => {
                assert!(pseudo_biases > 0);
                assert!(!text.contains("norm_parity"));
            }
        }
        // The trained model's file runs in the runtime with the same outputs.
        let back = ModelFile::from_json(&text).unwrap();
        assert_eq!(back.config.norm_parity, parity);
        let runtime = ginrs_runtime::Model::from_file(&back).unwrap();
        let (diff, scale) = max_abs_diff(
            &outputs(&model, &batch),
            &runtime.forward_batch(&items).unwrap(),
        );
        println!("{parity:?}: trained burn and runtime differ by {diff:.2e} (scale {scale:.2e})");
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "{parity:?}: trained model differs by {diff}"
        );

        // burn's own ops (the dense route) compute the same.
        let dense = model.clone().with_route(Route::Dense);
        let (diff, scale) = max_abs_diff(
            &outputs(&dense, &batch),
            &runtime.forward_batch(&items).unwrap(),
        );
        println!("{parity:?}: dense route and runtime differ by {diff:.2e}");
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "{parity:?}: dense route differs by {diff}"
        );

        let error = equivariance_error(&model, &items[0]);
        println!("{parity:?}: relative equivariance error over B_2 {error:.2e}");
        errors.push(error);
    }
    assert!(errors[0] <= 5e-5, "parity-correct: {}", errors[0]);
    assert!(
        errors[1] > 1e-3,
        "ginjax's trained pseudoscalar biases: {}",
        errors[1]
    );
}
