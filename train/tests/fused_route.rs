//! The fused route against the dense route on burn's flex backend (f32).
//!
//! `ConvContract`: for every configuration (d = 1, 2, 3; filter orders up to 3 and both
//! parities; torus, SAME, VALID and explicit padding; mixed torus axes; stride, lhs and rhs
//! dilation; every bias mode; several keys; batches of 2 and 3) the output, the input gradient
//! and the gradient of every weight and bias of `Σ output·cotangent` must agree to 1e-5
//! relative to each array's largest magnitude. `GroupNorm` and `VectorNeuronNonlinear` (random
//! parameters; scalars, pseudoscalars, vectors, pseudovectors, a k = 2 block for the
//! nonlinearity; relu, gelu and tanh; d = 2 and 3): the same, to 1e-4, the project's gradient
//! tolerance (the norm's dense route whitens with burn's f32 eigen-decomposition where the
//! runtime accumulates in f64; the two routes of the nonlinearity round differently, e.g. the
//! runtime's gelu uses a rational tanh within 5e-7 of tanh). `MaxNormPool` (no parameters):
//! the same outputs and input gradients, exactly, since both routes select the same values.
//! The two layers share their parameters; the dense route is burn's own autodiff of ginjax's
//! formulation, the fused route the runtime's kernels with their own backward pass.

mod common;

use burn::tensor::{DType, Device};
use common::{dot_loss, random_image, relative_error, signature};
use ginrs_runtime::VectorNeuronNonlinear as RuntimeVectorNeuron;
use ginrs_runtime::{
    BiasMode, ConvContractConfig, ConvContractError, ConvOptions, Geometry, Padding,
};
use ginrs_runtime::{GroupNorm as RuntimeGroupNorm, Signature, TensorKey};
use ginrs_train::image::read_f64;
use ginrs_train::layers::ScalarActivation;
use ginrs_train::{
    ConvContract, FusedUnsupported, GinjaxParams, GroupNorm, ImageModule, MaxNormPool, Route,
    TensorImage, TrainError, VectorNeuronNonlinear,
};

const TOLERANCE: f64 = 1e-5;

fn device() -> Device {
    Device::flex().autodiff()
}

/// Everything one route computes: the output blocks, the input gradient blocks and the
/// parameter gradients by ginjax path.
struct Run {
    output: Vec<Vec<f64>>,
    input_grad: Vec<Vec<f64>>,
    param_grads: Vec<(String, Vec<f64>)>,
}

fn run<M: ImageModule + GinjaxParams>(layer: &M, input: &TensorImage) -> Run {
    let tracked = input.clone().require_grad();
    let output = layer.forward_image(&tracked).expect("forward pass");
    let cotangent = random_image(
        &output.signature(),
        output.geometry(),
        output.batch(),
        23,
        &device(),
        DType::F32,
    );
    let grads = dot_loss(&output, &cotangent).backward();
    Run {
        output: output
            .blocks()
            .iter()
            .map(|(_, t)| read_f64(t).unwrap())
            .collect(),
        input_grad: tracked
            .blocks()
            .iter()
            .map(|(key, t)| {
                let g = t
                    .grad(&grads)
                    .unwrap_or_else(|| panic!("no input gradient for {key:?}"));
                read_f64(&g).unwrap()
            })
            .collect(),
        param_grads: layer
            .grads(&grads)
            .expect("parameter gradients")
            .into_iter()
            .map(|a| (a.path, a.values))
            .collect(),
    }
}

/// Builds the layer twice (dense and fused, same parameters), runs both on one random batch
/// and compares everything; returns the largest relative difference.
fn compare(
    name: &str,
    dim: usize,
    size: usize,
    config: ConvContractConfig,
    geometry: Geometry,
    batch: usize,
) -> f64 {
    let device = device();
    let input = random_image(&config.input, &geometry, batch, 7, &device, DType::F32);
    let layer = ConvContract::invariant(config, dim, size, 5, &device).expect("layer");
    let dense = layer.clone().with_route(Route::Dense);
    compare_runs(
        name,
        TOLERANCE,
        &run(&dense, &input),
        &run(&layer.with_route(Route::Fused), &input),
    )
}

/// Compares everything two runs computed; returns the largest relative difference.
fn compare_runs(name: &str, tolerance: f64, dense: &Run, fused: &Run) -> f64 {
    let mut worst = 0.0f64;
    let mut check = |what: String, a: &[f64], b: &[f64]| {
        let e = relative_error(a, b);
        assert!(
            e <= tolerance,
            "{name} {what}: fused differs from dense by {e:.2e}"
        );
        worst = worst.max(e);
    };
    assert_eq!(
        fused.output.len(),
        dense.output.len(),
        "{name}: output blocks"
    );
    for (b, (f, d)) in fused.output.iter().zip(&dense.output).enumerate() {
        check(format!("output block {b}"), f, d);
    }
    for (b, (f, d)) in fused.input_grad.iter().zip(&dense.input_grad).enumerate() {
        check(format!("input gradient block {b}"), f, d);
    }
    assert_eq!(
        fused.param_grads.len(),
        dense.param_grads.len(),
        "{name}: parameters"
    );
    assert!(!fused.param_grads.is_empty(), "{name}: no parameters");
    for ((path, f), (dense_path, d)) in fused.param_grads.iter().zip(&dense.param_grads) {
        assert_eq!(path, dense_path, "{name}: parameter order");
        check(format!("gradient of {path}"), f, d);
    }
    println!("{name}: largest relative difference {worst:.2e}");
    worst
}

/// `len` values in [−1, 1) from `seed`, as f32.
fn values(len: usize, seed: u64) -> Vec<f32> {
    common::noise(len, seed).iter().map(|&v| v as f32).collect()
}

/// A group norm over `sig` with `groups` groups and random weights and biases.
fn random_norm(sig: &Signature, groups: usize, device: &burn::tensor::Device) -> GroupNorm {
    let mut runtime = RuntimeGroupNorm::new(sig, groups).unwrap();
    for (i, (key, c)) in sig.entries().iter().enumerate() {
        let weight = values(*c, 40 + i as u64)
            .iter()
            .map(|w| 1.0 + 0.5 * w)
            .collect();
        runtime
            .set_affine(key, weight, values(*c, 60 + i as u64))
            .unwrap();
    }
    GroupNorm::from_runtime(&runtime, device)
}

/// The dense and fused routes of a norm over `sig` on a random batch.
fn compare_norm(name: &str, sig: &Signature, groups: usize, geometry: Geometry) -> f64 {
    let device = device();
    let input = random_image(sig, &geometry, 3, 11, &device, DType::F32);
    let layer = random_norm(sig, groups, &device);
    let dense = run(&layer.clone().with_route(Route::Dense), &input);
    let fused = run(&layer.with_route(Route::Fused), &input);
    compare_runs(name, 1e-4, &dense, &fused)
}

#[test]
fn group_norm_fused_matches_dense_d2() {
    let sig = signature(&[(0, 0, 4), (0, 1, 2), (1, 0, 4), (1, 1, 2)]);
    let geometry = Geometry::new(vec![6, 5], vec![true, true]).unwrap();
    compare_norm("group norm d=2 groups 2", &sig, 2, geometry.clone());
    compare_norm("layer norm d=2", &sig, 1, geometry);
}

#[test]
fn group_norm_fused_matches_dense_d3() {
    let sig = signature(&[(0, 0, 2), (1, 0, 3), (1, 1, 1)]);
    let geometry = Geometry::new(vec![4, 3, 5], vec![true, true, true]).unwrap();
    compare_norm("layer norm d=3", &sig, 1, geometry);
}

/// The dense and fused routes of a vector-neuron nonlinearity over `sig` on a random batch.
fn compare_nonlinear(name: &str, sig: &Signature, geometry: Geometry) {
    let device = device();
    let input = random_image(sig, &geometry, 2, 13, &device, DType::F32);
    for activation in [
        ScalarActivation::Relu,
        ScalarActivation::Gelu,
        ScalarActivation::Tanh,
    ] {
        let runtime = RuntimeVectorNeuron::new(sig, 17).with_activation(activation.to_runtime());
        let layer = VectorNeuronNonlinear::from_runtime(&runtime, &device).unwrap();
        let dense = run(&layer.clone().with_route(Route::Dense), &input);
        let fused = run(&layer.with_route(Route::Fused), &input);
        compare_runs(&format!("{name} {activation:?}"), 1e-4, &dense, &fused);
    }
}

#[test]
fn vector_neuron_fused_matches_dense_d2() {
    // Every non-scalar key has at least two channels: with one, `W` is a number, `q` is
    // parallel to `v`, and where `W < 0` relu's output `v − v∥` is rounding noise on both
    // routes.
    let sig = signature(&[(0, 0, 3), (0, 1, 2), (1, 0, 3), (1, 1, 2), (2, 0, 2)]);
    let geometry = Geometry::new(vec![5, 6], vec![true, true]).unwrap();
    compare_nonlinear("vector neuron d=2", &sig, geometry);
}

#[test]
fn vector_neuron_fused_matches_dense_d3() {
    let sig = signature(&[(0, 0, 2), (1, 0, 2), (1, 1, 2)]);
    let geometry = Geometry::new(vec![3, 4, 3], vec![true, true, true]).unwrap();
    compare_nonlinear("vector neuron d=3", &sig, geometry);
}

#[test]
fn fused_norm_reports_an_unknown_key_and_f64() {
    let sig = signature(&[(0, 0, 2), (1, 0, 2)]);
    let device = device();
    let geometry = Geometry::new(vec![4, 4], vec![true, true]).unwrap();
    let layer = random_norm(&sig, 1, &device).with_route(Route::Fused);
    let other = random_image(
        &signature(&[(1, 1, 2)]),
        &geometry,
        1,
        3,
        &device,
        DType::F32,
    );
    assert_eq!(
        layer.forward(&other).unwrap_err(),
        TrainError::UnknownKey {
            layer: "GroupNorm",
            key: TensorKey::new(1, 1),
        }
    );
    let input = random_image(&sig, &geometry, 1, 3, &device, DType::F64);
    assert_eq!(
        layer.forward(&input).unwrap_err(),
        TrainError::Fused(FusedUnsupported::DType(DType::F64))
    );
}

#[test]
fn d2_torus_auto_bias_scalars_and_vectors() {
    let sig = signature(&[(0, 0, 3), (1, 0, 2)]);
    compare(
        "d=2 torus auto",
        2,
        3,
        ConvContractConfig::new(sig.clone(), sig),
        Geometry::new(vec![6, 5], vec![true, true]).unwrap(),
        2,
    );
}

#[test]
fn d2_torus_m5_parity_keys_batch_3() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 2), (1, 1, 1), (0, 1, 1)]),
        signature(&[(1, 0, 2), (0, 1, 1), (2, 0, 1)]),
    )
    .allow_missing(true);
    compare(
        "d=2 torus M=5 parity",
        2,
        5,
        config,
        Geometry::new(vec![7, 6], vec![true, true]).unwrap(),
        3,
    );
}

#[test]
fn d2_same_stride_mean_bias_tensor_target() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (1, 0, 2)]),
        signature(&[(0, 0, 2), (1, 0, 1), (2, 0, 1)]),
    )
    .bias(BiasMode::Mean)
    .options(ConvOptions::with_padding(Padding::Same).stride(vec![2, 3]));
    compare(
        "d=2 same stride (2, 3) mean",
        2,
        3,
        config,
        Geometry::new(vec![7, 8], vec![false, false]).unwrap(),
        2,
    );
}

#[test]
fn d2_explicit_lhs_dilation_scalar_bias_filter_order_3() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (2, 0, 1)]),
        signature(&[(0, 0, 2), (1, 0, 1)]),
    )
    .bias(BiasMode::Scalar)
    .options(ConvOptions::with_padding(Padding::Explicit(vec![(1, 1), (2, 0)])).lhs_dilation(2))
    .allow_missing(true);
    compare(
        "d=2 M=2 explicit lhs 2 scalar",
        2,
        2,
        config,
        Geometry::new(vec![3, 4], vec![true, true]).unwrap(),
        2,
    );
}

#[test]
fn d1_valid_rhs_dilation_stride_no_bias() {
    let sig = signature(&[(0, 0, 2), (1, 0, 1)]);
    let config =
        ConvContractConfig::new(sig.clone(), signature(&[(0, 0, 1), (1, 0, 2), (2, 0, 1)]))
            .bias(BiasMode::None)
            .options(
                ConvOptions::with_padding(Padding::Valid)
                    .rhs_dilation(2)
                    .stride(2),
            );
    compare(
        "d=1 valid rhs 2 stride 2",
        1,
        3,
        config,
        Geometry::new(vec![12], vec![false]).unwrap(),
        2,
    );
}

#[test]
fn d3_torus_mixed_axes_rhs_dilation_parity() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (1, 1, 1)]),
        signature(&[(1, 0, 1), (0, 1, 2)]),
    )
    .options(ConvOptions::with_padding(Padding::Torus).rhs_dilation(vec![1, 2, 1]))
    .allow_missing(true);
    compare(
        "d=3 torus mixed axes rhs (1, 2, 1)",
        3,
        3,
        config,
        Geometry::new(vec![4, 5, 3], vec![true, false, true]).unwrap(),
        2,
    );
}

#[test]
fn fused_route_reports_a_torus_axis_with_stride_and_auto_takes_dense() {
    let sig = signature(&[(0, 0, 1), (1, 0, 1)]);
    let config =
        ConvContractConfig::new(sig.clone(), sig).options(ConvOptions::default().stride(2));
    let device = device();
    let geometry = Geometry::new(vec![6, 6], vec![true, true]).unwrap();
    let input = random_image(&config.input, &geometry, 1, 3, &device, DType::F32);
    let layer = ConvContract::invariant(config, 2, 3, 1, &device).unwrap();
    assert_eq!(layer.route(), Route::Auto);
    let err = layer
        .clone()
        .with_route(Route::Fused)
        .forward(&input)
        .unwrap_err();
    assert_eq!(
        err,
        TrainError::Fused(FusedUnsupported::Runtime(Box::new(
            ConvContractError::AdjointUnsupported {
                axis: 0,
                stride: 2,
                lhs_dilation: 1
            }
            .into()
        )))
    );
    let auto = layer.forward(&input).unwrap();
    let dense = layer.with_route(Route::Dense).forward(&input).unwrap();
    for ((_, a), (_, d)) in auto.blocks().iter().zip(dense.blocks()) {
        assert_eq!(read_f64(a).unwrap(), read_f64(d).unwrap());
    }
}

#[test]
fn fused_route_runs_without_autodiff() {
    let sig = signature(&[(0, 0, 2), (1, 0, 2)]);
    let device = Device::flex();
    let geometry = Geometry::new(vec![5, 6], vec![true, true]).unwrap();
    let input = random_image(&sig, &geometry, 2, 4, &device, DType::F32);
    let layer =
        ConvContract::invariant(ConvContractConfig::new(sig.clone(), sig), 2, 3, 2, &device)
            .unwrap();
    let fused = layer
        .clone()
        .with_route(Route::Fused)
        .forward(&input)
        .unwrap();
    let dense = layer.with_route(Route::Dense).forward(&input).unwrap();
    for ((_, f), (_, d)) in fused.blocks().iter().zip(dense.blocks()) {
        let e = relative_error(&read_f64(f).unwrap(), &read_f64(d).unwrap());
        assert!(
            e <= TOLERANCE,
            "inference output: fused differs from dense by {e:.2e}"
        );
    }
}

/// The dense (gathers) and fused (runtime) pools of one random batch: the same outputs and
/// input gradients, on d = 2 with a remainder the patch drops and on d = 3; a pixel that ties
/// within its patch goes to the first, on both routes.
#[test]
fn max_norm_pool_fused_matches_dense() {
    let device = device();
    let cases = [
        (signature(&[(0, 0, 2), (1, 0, 3), (1, 1, 1)]), vec![7, 6], 2),
        (signature(&[(0, 0, 1), (1, 0, 2)]), vec![4, 6, 5], 2),
        (signature(&[(0, 0, 2), (2, 0, 1)]), vec![9, 9], 3),
    ];
    for (sig, spatial, patch) in cases {
        let geometry = Geometry::new(spatial.clone(), vec![true; spatial.len()]).unwrap();
        let input = random_image(&sig, &geometry, 3, 29, &device, DType::F32);
        let pool = MaxNormPool::new(patch, true).unwrap();
        assert_eq!(pool.route(), Route::Auto);
        let pooled = |route: Route| {
            let tracked = input.clone().require_grad();
            let output = pool.clone().with_route(route).forward(&tracked).unwrap();
            let cotangent = random_image(
                &output.signature(),
                output.geometry(),
                output.batch(),
                31,
                &device,
                DType::F32,
            );
            let grads = dot_loss(&output, &cotangent).backward();
            let values = |image: &TensorImage, grad: bool| -> Vec<Vec<f64>> {
                image
                    .blocks()
                    .iter()
                    .map(|(_, t)| match grad {
                        true => read_f64(&t.grad(&grads).expect("an input gradient")).unwrap(),
                        false => read_f64(t).unwrap(),
                    })
                    .collect()
            };
            (values(&output, false), values(&tracked, true))
        };
        let (dense, fused) = (pooled(Route::Dense), pooled(Route::Fused));
        // A selection: both routes copy the same values, exactly.
        assert_eq!(fused, dense, "{spatial:?}");
        assert!(dense.1.iter().flatten().any(|&g| g != 0.0));
    }
}
