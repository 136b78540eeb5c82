//! Finite-difference gradient checks in f64 on burn's flex backend: for every layer (and the
//! options of ConvContract: d = 1, 2, 3, torus/same/valid/explicit padding, mixed torus axes,
//! stride, lhs and rhs dilation, every bias mode, parity, k up to 3 in the filter; the
//! activations relu, gelu, tanh; the baseline's equinox convolutions and group norm), the
//! gradients of `Σ output·cotangent` from burn's autodiff are compared with central
//! differences `(L(θ + h) − L(θ − h)) / 2h` of sampled parameter and input entries.
//!
//! This binary configures the flex device to f64 before creating any tensor (burn 0.22 fixes
//! a device's default dtype at its first tensor), so it holds only f64 tests.

mod common;

use std::sync::Once;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Device, FloatDType, Gradients, Tensor, TensorData};
use common::{dot_loss, noise, random_image, signature};
use ginrs_runtime::models::{BaselineConv as BaselineConvSpec, BaselinePadding};
use ginrs_runtime::GroupNorm as RuntimeGroupNorm;
use ginrs_runtime::VectorNeuronNonlinear as RuntimeVectorNeuron;
use ginrs_runtime::{BiasMode, ConvContractConfig, ConvOptions, Geometry, Padding, TensorKey};
use ginrs_train::image::{read_f64, tensor_from};
use ginrs_train::layers::{BaselineConv, BaselineNorm, Elementwise, ScalarActivation};
use ginrs_train::{
    ConvContract, GroupNorm, ImageModule, LayerWrapper, MaxNormPool, TensorImage,
    VectorNeuronNonlinear,
};

const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

fn device() -> Device {
    static CONFIGURE: Once = Once::new();
    CONFIGURE.call_once(|| {
        let mut device = Device::flex();
        device
            .configure(FloatDType::F64)
            .expect("flex supports f64 as its default float type");
    });
    Device::flex().autodiff()
}

/// The gradient of every float parameter, in visiting order.
struct GradReader<'a> {
    grads: &'a Gradients,
    out: Vec<Vec<f64>>,
}

impl ModuleVisitor for GradReader<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let len = value.shape().num_elements();
        let grad = value
            .grad(self.grads)
            .map(|g| read_f64(&g).unwrap())
            .unwrap_or_else(|| vec![0.0; len]);
        self.out.push(grad);
    }
}

/// Adds `delta` to entry `index` of the `target`-th float parameter.
struct Perturb {
    target: usize,
    index: usize,
    delta: f64,
    seen: usize,
}

impl ModuleMapper for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let me = self.seen;
        self.seen += 1;
        if me != self.target {
            return param;
        }
        let (index, delta) = (self.index, self.delta);
        param.map(|t| {
            let n = t.shape().num_elements();
            let mut bump = vec![0.0f64; n];
            bump[index] = delta;
            let bump: Tensor<1> =
                Tensor::from_data(TensorData::new(bump, [n]), (&t.device(), t.dtype()));
            let dims = t.dims();
            t + bump.reshape(dims)
        })
    }
}

fn loss_value<M: ImageModule>(module: &M, input: &TensorImage, cotangent: &TensorImage) -> f64 {
    let loss = dot_loss(&module.forward_image(input).unwrap(), cotangent);
    read_f64(&loss).unwrap()[0]
}

/// An input whose block `block` has `delta` added at `index`.
fn bumped(input: &TensorImage, block: usize, index: usize, delta: f64) -> TensorImage {
    let mut out = TensorImage::new(input.geometry().clone(), input.batch());
    for (b, (key, t)) in input.blocks().iter().enumerate() {
        let mut values = read_f64(t).unwrap();
        if b == block {
            values[index] += delta;
        }
        out.push(
            key.clone(),
            tensor_from(values, t.dims(), &t.device(), t.dtype()),
        )
        .unwrap();
    }
    out
}

/// Up to five entries spread over `0..len`.
fn samples(len: usize) -> Vec<usize> {
    let mut s: Vec<usize> = (0..5).map(|i| i * (len - 1) / 4).collect();
    s.dedup();
    s
}

/// Checks every parameter and the input; returns the largest relative error.
fn check<M: ImageModule>(name: &str, module: &M, input: &TensorImage) -> f64 {
    let tracked = input.clone().require_grad();
    let output = module.forward_image(&tracked).unwrap();
    assert_eq!(output.dtype(), Some(DType::F64), "{name}: computed in f64");
    let cotangent = random_image(
        &output.signature(),
        output.geometry(),
        output.batch(),
        97,
        &device(),
        DType::F64,
    );
    let grads = dot_loss(&output, &cotangent).backward();
    let mut reader = GradReader {
        grads: &grads,
        out: Vec::new(),
    };
    module.visit(&mut reader);
    let input_grads: Vec<Vec<f64>> = tracked
        .blocks()
        .iter()
        .map(|(_, t)| {
            read_f64(&t.grad(&grads).expect("the loss reaches every input block")).unwrap()
        })
        .collect();
    let mut worst = 0.0f64;
    let mut compare = |what: String, analytic: f64, fd: f64, scale: f64| {
        let e = (analytic - fd).abs() / scale.max(1.0);
        assert!(
            e <= TOLERANCE,
            "{name} {what}: autodiff {analytic}, finite difference {fd}"
        );
        worst = worst.max(e);
    };
    let input = tracked.detach();
    for (p, grad) in reader.out.iter().enumerate() {
        let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for index in samples(grad.len()) {
            let at = |delta: f64| {
                let mut perturb = Perturb {
                    target: p,
                    index,
                    delta,
                    seen: 0,
                };
                loss_value(&module.clone().map(&mut perturb), &input, &cotangent)
            };
            let fd = (at(STEP) - at(-STEP)) / (2.0 * STEP);
            compare(format!("param {p}[{index}]"), grad[index], fd, scale);
        }
    }
    for (b, ((key, _), analytic)) in input.blocks().iter().zip(&input_grads).enumerate() {
        let scale = analytic.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for index in samples(analytic.len()) {
            let fd = (loss_value(module, &bumped(&input, b, index, STEP), &cotangent)
                - loss_value(module, &bumped(&input, b, index, -STEP), &cotangent))
                / (2.0 * STEP);
            compare(
                format!("input {key:?}[{index}]"),
                analytic[index],
                fd,
                scale,
            );
        }
    }
    println!("{name}: largest relative gradient error {worst:.2e}");
    worst
}

fn conv(
    name: &str,
    dim: usize,
    size: usize,
    config: ConvContractConfig,
    spatial: Vec<usize>,
    torus: Vec<bool>,
) {
    let device = device();
    let geometry = Geometry::new(spatial, torus).unwrap();
    let input_sig = config.input.clone();
    let layer = ConvContract::invariant(config, dim, size, 5, &device).unwrap();
    let input = random_image(&input_sig, &geometry, 2, 11, &device, DType::F64);
    check(name, &layer, &input);
}

#[test]
fn conv_contract_2d_torus_auto_bias() {
    let sig = signature(&[(0, 0, 2), (1, 0, 2)]);
    conv(
        "conv d=2 torus auto",
        2,
        3,
        ConvContractConfig::new(sig.clone(), sig),
        vec![5, 5],
        vec![true, true],
    );
}

#[test]
fn conv_contract_2d_same_stride_mean_bias_tensor_target() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (1, 0, 1)]),
        signature(&[(0, 0, 1), (1, 0, 1), (2, 0, 1)]),
    )
    .bias(BiasMode::Mean)
    .options(ConvOptions::with_padding(Padding::Same).stride(2));
    conv(
        "conv d=2 same stride 2 mean",
        2,
        3,
        config,
        vec![6, 5],
        vec![false, false],
    );
}

#[test]
fn conv_contract_2d_upsample_scalar_bias_filter_order_3() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (2, 0, 1)]),
        signature(&[(0, 0, 1), (1, 0, 1)]),
    )
    .bias(BiasMode::Scalar)
    .options(ConvOptions::with_padding(Padding::Explicit(vec![(1, 1), (1, 1)])).lhs_dilation(2))
    .allow_missing(true);
    conv(
        "conv d=2 M=2 upsample scalar bias",
        2,
        2,
        config,
        vec![3, 4],
        vec![true, true],
    );
}

#[test]
fn conv_contract_1d_valid_rhs_dilation_no_bias() {
    let sig = signature(&[(0, 0, 2), (1, 0, 1)]);
    let config = ConvContractConfig::new(sig.clone(), sig)
        .bias(BiasMode::None)
        .options(ConvOptions::with_padding(Padding::Valid).rhs_dilation(2));
    conv("conv d=1 valid rhs 2", 1, 3, config, vec![9], vec![false]);
}

#[test]
fn conv_contract_3d_mixed_torus_parity() {
    let config = ConvContractConfig::new(
        signature(&[(0, 0, 1), (1, 1, 1)]),
        signature(&[(1, 0, 1), (0, 1, 1)]),
    )
    .options(ConvOptions::with_padding(Padding::Torus).rhs_dilation(vec![1, 2, 1]))
    .allow_missing(true);
    conv(
        "conv d=3 torus mixed axes parity",
        3,
        3,
        config,
        vec![4, 5, 3],
        vec![true, false, true],
    );
}

#[test]
fn group_norm_and_layer_norm() {
    let device = device();
    let geometry = Geometry::new(vec![4, 3], vec![true, true]).unwrap();
    let sig = signature(&[(0, 0, 4), (1, 0, 4), (0, 1, 2)]);
    let input = random_image(&sig, &geometry, 2, 3, &device, DType::F64);
    let mut runtime = ginrs_runtime::GroupNorm::new(&sig, 2).unwrap();
    for (i, (key, c)) in sig.entries().iter().enumerate() {
        let w = common::noise(*c, 40 + i as u64)
            .iter()
            .map(|v| 1.0 + *v as f32 / 2.0)
            .collect();
        let b = common::noise(*c, 50 + i as u64)
            .iter()
            .map(|v| *v as f32)
            .collect();
        runtime.set_affine(key, w, b).unwrap();
    }
    check(
        "group norm d=2 groups 2",
        &GroupNorm::from_runtime(&runtime, &device),
        &input,
    );
    let geometry = Geometry::new(vec![3, 2, 3], vec![true; 3]).unwrap();
    let sig = signature(&[(1, 0, 2), (0, 0, 1)]);
    let input = random_image(&sig, &geometry, 1, 4, &device, DType::F64);
    check(
        "layer norm d=3",
        &GroupNorm::layer_norm(&sig, &device).unwrap(),
        &input,
    );
}

#[test]
fn vector_neuron_nonlinear() {
    let device = device();
    let geometry = Geometry::new(vec![3, 3], vec![true, true]).unwrap();
    let sig = signature(&[(0, 0, 2), (1, 0, 2), (2, 0, 1), (0, 1, 1)]);
    let input = random_image(&sig, &geometry, 2, 6, &device, DType::F64);
    check(
        "vector neuron d=2",
        &VectorNeuronNonlinear::new(&sig, 8, &device).unwrap(),
        &input,
    );
}

#[test]
fn max_norm_pool_and_wrapper() {
    let device = device();
    let geometry = Geometry::new(vec![4, 5, 4], vec![true; 3]).unwrap();
    let sig = signature(&[(0, 0, 1), (1, 0, 2)]);
    let input = random_image(&sig, &geometry, 1, 7, &device, DType::F64);
    check(
        "max norm pool d=3",
        &MaxNormPool::new(2, true).unwrap(),
        &input,
    );
    let geometry = Geometry::new(vec![4, 4], vec![true; 2]).unwrap();
    let scalars = signature(&[(0, 0, 2), (0, 1, 1)]);
    let input = random_image(&scalars, &geometry, 2, 9, &device, DType::F64);
    check(
        "max pool by value d=2",
        &MaxNormPool::new(2, false).unwrap(),
        &input,
    );
    let wrapper = LayerWrapper::new(MaxNormPool::new(2, true).unwrap(), &sig);
    let input = random_image(&sig, &geometry, 2, 10, &device, DType::F64);
    check("layer wrapper of max norm pool d=2", &wrapper, &input);
}

#[test]
fn vector_neurons_and_elementwise_with_gelu_and_tanh() {
    let device = device();
    let geometry = Geometry::new(vec![3, 4], vec![true, true]).unwrap();
    let sig = signature(&[(0, 0, 2), (1, 0, 2), (2, 0, 1)]);
    let input = random_image(&sig, &geometry, 2, 12, &device, DType::F64);
    for activation in [ScalarActivation::Gelu, ScalarActivation::Tanh] {
        let runtime = RuntimeVectorNeuron::new(&sig, 13).with_activation(activation.to_runtime());
        check(
            &format!("vector neuron {activation:?}"),
            &VectorNeuronNonlinear::from_runtime(&runtime, &device).unwrap(),
            &input,
        );
        check(
            &format!("elementwise {activation:?}"),
            &Elementwise::new(activation),
            &input,
        );
    }
}

#[test]
fn baseline_convolutions_and_group_norm() {
    let device = device();
    let scalars = signature(&[(0, 0, 2)]);
    for (dim, spec) in [
        (
            2,
            BaselineConvSpec {
                in_channels: 2,
                out_channels: 3,
                kernel_size: 3,
                rhs_dilation: 2,
                bias: true,
                padding: BaselinePadding::Circular,
                transpose: false,
            },
        ),
        (
            3,
            BaselineConvSpec {
                in_channels: 2,
                out_channels: 2,
                kernel_size: 2,
                rhs_dilation: 1,
                bias: false,
                padding: BaselinePadding::Zeros,
                transpose: false,
            },
        ),
        (
            2,
            BaselineConvSpec {
                in_channels: 2,
                out_channels: 3,
                kernel_size: 2,
                rhs_dilation: 1,
                bias: true,
                padding: BaselinePadding::Zeros,
                transpose: true,
            },
        ),
    ] {
        let taps = spec.kernel_size.pow(dim as u32);
        let weight = noise(spec.out_channels * spec.in_channels * taps, 14);
        let bias = spec.bias.then(|| noise(spec.out_channels, 15));
        let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let layer = BaselineConv::new(&spec, dim, f32s(weight), bias.map(f32s), &device).unwrap();
        let geometry = Geometry::square(dim, 4, true).unwrap();
        let input = random_image(&scalars, &geometry, 2, 16, &device, DType::F64);
        check(&format!("baseline conv d={dim} {spec:?}"), &layer, &input);
    }
    let mut runtime = RuntimeGroupNorm::layer_norm(&scalars).unwrap();
    let affine = |seed| noise(2, seed).into_iter().map(|x| x as f32).collect();
    runtime
        .set_affine(&TensorKey::scalar(), affine(17), affine(18))
        .unwrap();
    let geometry = Geometry::square(2, 4, true).unwrap();
    let input = random_image(&scalars, &geometry, 2, 19, &device, DType::F64);
    check(
        "equinox group norm",
        &BaselineNorm::from_runtime(&runtime, &device).unwrap(),
        &input,
    );
}
