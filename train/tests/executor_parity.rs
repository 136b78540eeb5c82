//! The two executors of a trained model, checked against each other with independent code:
//! burn's dense route (burn's own tensor operations for every convolution, norm,
//! nonlinearity and pool) against the runtime's model ([`Model::to_runtime`], i.e. the model
//! file on the runtime's inference path), and the fused route (the runtime's kernels as burn
//! operations, burn's default on the CPU) against the dense route.
//!
//! The models are the README experiment's: a 48 × 48 periodic grid, the turbulence dataset's
//! signature (velocity, vorticity and tracer; the past 2 frames in, the next frame out, as
//! `ginrs train --past-steps 2` builds them), the equivariant ResNet of depth 8 with 2 blocks
//! and no norms, the same with its norms, a UNet (2 downsamplings), a DilResNet (1 block) and
//! the non-equivariant baseline ResNet (depth 16, circular padding). Each is trained 10 Adam
//! steps (lr 1e-2, SMSE) on windows of a simulated trajectory, so that its weights and biases
//! leave their initial values, exported as a model file, and evaluated one step ahead on two
//! windows (one of them not trained on). Errors are `max |a − b| / max |b|` (b the dense
//! route), the stricter of the two relative measures, unless stated otherwise.
//!
//! - The baseline (no vector neurons): the runtime and the dense route agree to 1e-5 (measured
//!   2.4e-7).
//! - The equivariant models, layer by layer (every layer of the dense run's program, and its
//!   runtime counterpart, given the same input): every convolution, norm and pool agrees to
//!   1e-5 (measured below 7e-7), and so does every nonlinearity beyond the rounding slack of
//!   its direction `q = W·x`.
//! - The equivariant models, whole: the difference is the models' own f32 conditioning, not an
//!   executor's error, so it is bounded by 50 times the L2 spread the dense route shows when
//!   its input moves by one rounding. ginjax's `VectorNeuronNonlinear` normalises `q` by
//!   `‖q‖ + 1e-5`: where `q` is a cancellation of its terms (‖q‖ ≪ Σ|W_ij x_j|) its direction
//!   is fixed only by rounding, and for a pseudoscalar (the vorticity's key) the output jumps
//!   by `|x|` when `q` changes sign, because `gelu(s)/|s|` is not even. A 48 × 48 batch has
//!   such values in every nonlinearity, so two f32 executors that round differently (burn's
//!   matmul against the runtime's ordered sums) differ there by up to ~3e-4 of the layer's
//!   scale, and an f64 evaluation moves as much; deeper layers carry it on. Measured (runtime
//!   vs dense, max relative / L2 relative; dense against itself on an input moved by one
//!   rounding in parentheses): ResNet 3.3e-4 / 4.1e-5 (3.9e-5 / 5.4e-6), ResNet with norms
//!   1.3e-4 / 1.9e-5 (2.4e-4 / 2.1e-5), UNet 9.4e-5 / 9.4e-6 (7.2e-6 / 7.5e-7), DilResNet
//!   2.4e-2 / 2.4e-3 (3.0e-2 / 1.6e-3). The fused route computes what the runtime computes.

use std::path::Path;

use burn::tensor::Device;
use ginrs_runtime::models::Node;
use ginrs_runtime::{
    Layer, Model as RuntimeModel, ModelFile, MultiImage,
    VectorNeuronNonlinear as RuntimeVectorNeuron,
};
use std::sync::Arc;

use ginrs_train::cli::data::{batch, model_io};
use ginrs_train::cli::model::{Architecture, ModelSpec};
use ginrs_train::data::turbulence::TurbulenceDir;
use ginrs_train::data::{Part, Schema, Split, Windows};
use ginrs_train::simulate::{simulate, SimConfig};
use ginrs_train::{
    GinjaxParams, ImageModule, Loss, Model, ModelLayer, Optimizer, Route, TensorImage, Trainer,
};

/// The largest error allowed, relative to the largest magnitude of the dense route's output.
const TOLERANCE: f64 = 1e-5;

fn device() -> Device {
    Device::flex().autodiff()
}

/// The windows of one simulated 48 × 48 trajectory of 5 frames (3 windows of p = 2).
fn data() -> Windows {
    let config = SimConfig {
        trajectories: 1,
        frames: 5,
        ..SimConfig::default()
    };
    assert_eq!(config.n, 48);
    let dataset = simulate(&config).expect("simulation");
    let source = Arc::new(TurbulenceDir::new(Path::new("simulated"), dataset));
    let split = Split {
        parts: vec![Part {
            source,
            trajectories: 0..1,
        }],
    };
    Windows::new(&split, 2).expect("windows")
}

/// The turbulence data's schema (the 48 × 48 grid of [`data`]).
fn schema() -> Schema {
    ginrs_train::data::turbulence::schema(&SimConfig::default())
}

/// How far `a` is from `b` over every value of two batches.
#[derive(Debug, Clone, Copy)]
struct Gap {
    /// `max |a − b| / max |b|`.
    max_rel: f64,
    /// `‖a − b‖ / ‖b‖` (2-norms over all values).
    l2_rel: f64,
    /// The fraction of values with `|a − b| > TOLERANCE · max |b|`.
    outliers: f64,
    /// `max |b|`.
    scale: f64,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "max {:.2e} abs, {:.2e} of the largest value; L2 {:.2e}; {:.3}% of values off by \
             more than {TOLERANCE:e} of the largest",
            self.max_rel * self.scale,
            self.max_rel,
            self.l2_rel,
            100.0 * self.outliers
        )
    }
}

fn gap(a: &[MultiImage], b: &[MultiImage]) -> Gap {
    assert_eq!(a.len(), b.len());
    let pairs = || {
        a.iter().zip(b).flat_map(|(x, y)| {
            assert_eq!(x.signature(), y.signature());
            x.blocks().iter().zip(y.blocks()).flat_map(|(u, v)| {
                assert_eq!(u.data().len(), v.data().len());
                u.data()
                    .iter()
                    .zip(v.data())
                    .map(|(&p, &q)| (p as f64, q as f64))
            })
        })
    };
    let (mut diff, mut scale, mut d2, mut b2, mut n) = (0.0f64, 0.0f64, 0.0, 0.0, 0usize);
    for (p, q) in pairs() {
        diff = diff.max((p - q).abs());
        scale = scale.max(q.abs());
        d2 += (p - q) * (p - q);
        b2 += q * q;
        n += 1;
    }
    let outliers = pairs()
        .filter(|(p, q)| (p - q).abs() > TOLERANCE * scale)
        .count();
    Gap {
        max_rel: diff / scale,
        l2_rel: (d2 / b2).sqrt(),
        outliers: outliers as f64 / n as f64,
        scale,
    }
}

/// The largest change of any parameter between two models of one architecture.
fn largest_change(before: &Model, after: &Model) -> f64 {
    let before = before.params().unwrap();
    let after = after.params().unwrap();
    assert_eq!(before.len(), after.len());
    before
        .iter()
        .zip(&after)
        .flat_map(|(b, a)| b.values.iter().zip(&a.values).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f64::max)
}

fn outputs(model: &Model, input: &TensorImage) -> Vec<MultiImage> {
    model
        .forward(input)
        .expect("forward pass")
        .to_multi_images()
        .expect("readback")
}

/// Trains the model of `spec` for `steps` steps on windows 0 and 1, then compares the
/// executors on windows 1 and 2; returns the runtime's and the fused route's relative errors.
fn check(name: &str, spec: ModelSpec, steps: usize, data: &Windows) -> (Gap, Gap, Gap) {
    let device = device();
    let io = model_io(&schema(), 2);
    let config = spec.config(&io).expect("a valid model");
    let fresh = Model::new(&config, &device, 0).expect("model");
    let (input, target) = batch(data, &[0, 1], &device).unwrap();
    let mut trainer = Trainer::new(fresh.clone(), Optimizer::adam(), 1e-2);
    let losses: Vec<f64> = (0..steps)
        .map(|_| trainer.fit_batch(&input, &target, Loss::Smse).unwrap())
        .collect();
    let model = trainer.into_module();
    let change = largest_change(&fresh, &model);
    assert!(change > 1e-3, "{name}: the weights moved by {change:.1e}");

    let (input, _) = batch(data, &[1, 2], &device).unwrap();
    let images = input.to_multi_images().unwrap();
    let dense_model = model.clone().with_route(Route::Dense);
    let dense = outputs(&dense_model, &input);
    // The model file as `ginrs export` writes it and `ginrs eval --runtime` reads it.
    let text = model.to_file().unwrap().to_json().unwrap();
    let runtime = RuntimeModel::from_file(&ModelFile::from_json(&text).unwrap())
        .expect("runtime model")
        .forward_batch(&images)
        .expect("runtime forward");
    let runtime_gap = gap(&runtime, &dense);
    // The baseline's layers have no route: its burn forward is the dense one.
    let fused_gap = gap(
        &outputs(&model.clone().with_route(Route::Fused), &input),
        &dense,
    );
    // The model's own f32 conditioning: the dense route on the input with every value moved
    // by one rounding (relative 2⁻²⁴, alternating sign).
    let mut nudged = images.clone();
    for image in &mut nudged {
        for block in image.blocks_mut() {
            for (i, v) in block.data_mut().iter_mut().enumerate() {
                let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                *v *= 1.0 + sign * f32::EPSILON / 2.0;
            }
        }
    }
    let nudged = TensorImage::from_multi_images(&nudged, &device).unwrap();
    let floor = gap(&outputs(&dense_model, &nudged), &dense);
    println!(
        "{name}: {} params, loss {:.3e} -> {:.3e}, weights moved up to {change:.2e}; output \
         scale {:.3e}\n  runtime vs dense: {runtime_gap}\n  fused vs dense:   \
         {fused_gap}\n  dense, input moved by one rounding: {floor}",
        model.count_params(),
        losses[0],
        losses[steps - 1],
        runtime_gap.scale,
    );
    if model.config().equivariant {
        let (worst, slacked) = layer_by_layer(name, &dense_model, &input);
        println!(
            "  layer by layer on the same input: worst {worst:.2e} of the layer's largest \
             value; {slacked} vector-neuron values with a rounding slack above {TOLERANCE:e}"
        );
        // The whole model: within the spread its own f32 rounding gives it (a wrong bias,
        // weight or layer order shows as an L2 error of 1e-2 or more).
        let bound = 50.0 * floor.l2_rel.max(1e-6);
        for (what, g) in [("runtime", runtime_gap), ("fused route", fused_gap)] {
            assert!(
                g.l2_rel <= bound,
                "{name}: the {what} differs from the dense route by {g}, beyond 50 times the \
                 model's own rounding spread ({floor})"
            );
        }
    } else {
        for (what, g) in [("runtime", runtime_gap), ("fused route", fused_gap)] {
            assert!(
                g.max_rel <= TOLERANCE,
                "{name}: the {what} differs from the dense route by {g}"
            );
        }
    }
    (runtime_gap, fused_gap, floor)
}

/// The largest error a vector-neuron value may carry from the f32 rounding of its direction
/// `q = W·x`, beyond [`TOLERANCE`] of the output's largest value: the layer's output moves
/// by up to `‖x‖ · δq / ‖q‖` (the direction, and for pseudoscalars the sign of `q` with a
/// transition of width eps), and `δq ≤ c · 2⁻²⁴ · Σ_j |W_ij| ‖x_j‖`.
fn vector_neuron_slack(layer: &RuntimeVectorNeuron, input: &MultiImage) -> Vec<Vec<f32>> {
    input
        .blocks()
        .iter()
        .map(|block| {
            let (c, len, n) = (block.channels(), block.channel_len(), block.components());
            let Some(w) = layer.weights(block.key()) else {
                return vec![0.0; block.data().len()];
            };
            let x = block.data();
            let mut slack = vec![0.0f32; x.len()];
            for i in 0..c {
                for px in (0..len).step_by(n) {
                    let (mut q2, mut terms, mut x2) = (0.0f64, 0.0f64, 0.0f64);
                    for a in 0..n {
                        let (mut q, mut t) = (0.0f64, 0.0f64);
                        for j in 0..c {
                            let term = f64::from(w[i * c + j]) * f64::from(x[j * len + px + a]);
                            q += term;
                            t += term.abs();
                        }
                        q2 += q * q;
                        terms += t;
                        x2 += f64::from(x[i * len + px + a]).powi(2);
                    }
                    let dq = c as f64 * f64::from(f32::EPSILON) / 2.0 * terms;
                    let bound = 2.0 * x2.sqrt() * (dq / q2.sqrt().max(dq)).min(1.0);
                    slack[i * len + px..i * len + px + n].fill(bound as f32);
                }
            }
            slack
        })
        .collect()
}

/// Runs `model`'s dense route layer by layer and gives every layer's runtime counterpart the
/// same input; returns the worst layer's `max |runtime − dense| / max |dense|` (for the
/// vector neurons beyond their rounding slack) and the number of vector-neuron values that
/// needed slack.
fn layer_by_layer(name: &str, model: &Model, input: &TensorImage) -> (f64, usize) {
    assert!(model.seam().is_identity());
    let mut x = input.clone();
    let mut saved: Vec<TensorImage> = Vec::new();
    let mut layers = model.layers();
    let (mut worst, mut slacked) = (0.0f64, 0usize);
    for node in model.plan().nodes() {
        x = match node {
            Node::Layer { .. } => {
                let (path, layer) = layers.next().unwrap();
                let dense = layer.forward_image(&x).unwrap();
                let images = x.to_multi_images().unwrap();
                let (runtime, slack) = match layer {
                    ModelLayer::ConvContract(l) => {
                        (l.to_runtime().unwrap().forward_batch(&images), None)
                    }
                    ModelLayer::LayerNorm(l) => {
                        (l.to_runtime().unwrap().forward_batch(&images), None)
                    }
                    ModelLayer::Pool(l) => (l.to_runtime().unwrap().forward_batch(&images), None),
                    ModelLayer::VectorNeuron(l) => {
                        let runtime = l.to_runtime().unwrap();
                        let slack: Vec<_> = images
                            .iter()
                            .map(|image| vector_neuron_slack(&runtime, image))
                            .collect();
                        (runtime.forward_batch(&images), Some(slack))
                    }
                    other => panic!("{name}: {path} is not an equivariant layer: {other:?}"),
                };
                let runtime = runtime.unwrap();
                let dense_images = dense.to_multi_images().unwrap();
                let scale = dense_images
                    .iter()
                    .flat_map(|d| d.blocks().iter().flat_map(|v| v.data()))
                    .fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
                let mut layer_worst = 0.0f64;
                for (b, (r, d)) in runtime.iter().zip(&dense_images).enumerate() {
                    assert_eq!(r.blocks().len(), d.blocks().len(), "{name}: {path}");
                    for v in d.blocks() {
                        // The runtime's convolution orders its output blocks by the target
                        // signature, burn's by the keys' order: match them by key.
                        let u = r.get(v.key()).expect("the same keys");
                        // The nonlinearity keeps its input's block order.
                        let k = images[b].blocks().iter().position(|x| x.key() == v.key());
                        for (i, (&p, &q)) in u.data().iter().zip(v.data()).enumerate() {
                            let s = slack
                                .as_ref()
                                .map_or(0.0, |s| f64::from(s[b][k.unwrap()][i]));
                            let excess = ((f64::from(p) - f64::from(q)).abs() - s).max(0.0);
                            if s > TOLERANCE * scale {
                                slacked += 1;
                            }
                            layer_worst = layer_worst.max(excess / scale);
                        }
                    }
                }
                assert!(
                    layer_worst <= TOLERANCE,
                    "{name}: {path}: the runtime layer differs from the dense layer by \
                     {layer_worst:.3e} of {scale:.3e} on the same input"
                );
                worst = worst.max(layer_worst);
                dense
            }
            Node::Save => {
                saved.push(x.clone());
                x
            }
            Node::AddSaved => x.add(&saved.pop().unwrap()).unwrap(),
            Node::ConcatSaved => x.concat(&saved.pop().unwrap()).unwrap(),
            Node::ToScalar => x.to_scalar().unwrap(),
            Node::FromScalar(layout) => x.from_scalar(layout).unwrap(),
        };
    }
    (worst, slacked)
}

/// The README experiment's equivariant model: `--kind resnet --num-blocks 2 --depth 8
/// --use-group-norm false`.
fn experiment_resnet() -> ModelSpec {
    ModelSpec {
        kind: Architecture::Resnet,
        depth: 8,
        num_blocks: Some(2),
        use_group_norm: Some(false),
        ..ModelSpec::default()
    }
}

#[test]
fn trained_models_run_the_same_in_burn_dense_and_the_runtime() {
    let data = data();
    check("equivariant ResNet", experiment_resnet(), 10, &data);
    check(
        "equivariant ResNet with norms",
        ModelSpec {
            use_group_norm: Some(true),
            ..experiment_resnet()
        },
        10,
        &data,
    );
    check(
        "equivariant UNet",
        ModelSpec {
            kind: Architecture::Unet,
            depth: 8,
            num_downsamples: Some(2),
            num_conv: Some(1),
            ..ModelSpec::default()
        },
        10,
        &data,
    );
    check(
        "equivariant DilResNet",
        ModelSpec {
            kind: Architecture::Dilresnet,
            depth: 8,
            num_blocks: Some(1),
            ..ModelSpec::default()
        },
        10,
        &data,
    );
    check(
        "baseline ResNet",
        ModelSpec {
            equivariant: false,
            depth: 16,
            ..experiment_resnet()
        },
        10,
        &data,
    );
}
