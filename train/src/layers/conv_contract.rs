//! ginjax's `ConvContract` as a trainable burn module.
//!
//! The layer is configured exactly like the runtime's [`ginrs_runtime::ConvContract`]
//! (a [`ConvContractConfig`]: signatures, [`BiasMode`], padding/stride/dilations,
//! `allow_missing`), and is built *through* it: the runtime layer decides which (input key,
//! target key) pairs exist, their filter keys, the output order and ginjax's initial weight
//! bounds, and validates weight files. The burn module keeps one trainable weight
//! `(out_c, in_c, n_filters)` per pair, one bias `(out_c,)` per reached output key (when the
//! bias is enabled) and, per pair, the invariant basis as a *constant* tensor (not a
//! parameter: ginjax stops gradients through its filters).
//!
//! # Routes
//!
//! [`Route`] selects how the convolution is computed, forward and backward; every route
//! gives the same numbers (up to f32 rounding).
//!
//! [`Route::Dense`] follows ginjax: per pair the dense filter `F = Σ_f w[o,i,f]·C_f`
//! (one matmul of the weights with the basis), all pairs assembled into one filter of
//! `Σ out_c·d^k_out` output and `Σ in_c·d^k_in` input channels (zeros for absent pairs), the
//! input padded per axis (torus wrap by slices and concatenation, since burn has no circular
//! padding; lhs dilation by interleaving zeros; zero padding by concatenation) and one burn
//! `conv{1,2,3}d` with the stride and rhs dilation. The image's tensor axes travel as extra
//! channels, so `convolve_contract`'s contraction over the first `k_in` filter axes is the
//! convolution's sum over input channels. burn differentiates all of it, and adds the bias with
//! its own ops.
//!
//! [`Route::Fused`] runs the runtime's basis-first kernels on the CPU as one burn
//! operation with its own backward pass (the `host::conv` module): the forward pass is the
//! runtime layer's stencil responses and one GEMM per pair, per batch item, and its bias; the
//! bias's backward pass comes first, then the input gradient: the
//! adjoint convolution (the output gradient mixed with the transposed weights, then the
//! flipped, transposed basis stencils; wrap padding stays wrap padding, zero padding becomes
//! the complementary zero padding, stride and lhs dilation exchange roles); the weight
//! gradient is the responses (recomputed tile by tile) times the output gradient, one GEMM
//! per pair. It serves f32 tensors on burn's flex device when no torus-padded axis has a
//! stride or lhs dilation (and only when ginrs-train is built with its `flex` feature, the
//! default); otherwise it returns [`TrainError::Fused`].
//!
//! [`Route::Auto`] (the default) decides per call: the fused route where it serves the
//! call, the dense route otherwise (other devices, f64, a strided or lhs-dilated torus axis).

#[cfg(feature = "flex")]
use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::module::{conv1d, conv2d, conv3d};
use burn::tensor::ops::ConvOptions as BurnConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use ginrs_generator::BankOptions;
use ginrs_runtime::{
    BiasMode, ConvContract as RuntimeConvContract, ConvContractConfig, DenseBank, Geometry,
    LayerWeights, Signature, TensorKey,
};

use crate::error::{FusedUnsupported, TrainError};
use crate::image::{read_f32, TensorImage};
#[cfg(feature = "flex")]
use crate::layers::host::{conv::FusedConv, FusedLayer};
use crate::layers::padding::{pad_axis, AxisPadding};
use crate::layers::route::Route;
use crate::params::{key_repr, GinjaxParams, NamedTensor};

/// One present (input key, target key) pair.
#[derive(Debug, Clone, PartialEq)]
struct PairSpec {
    /// Index into the input signature.
    input: usize,
    /// Index into the target signature.
    target: usize,
    /// Number of invariant filters.
    n_f: usize,
}

/// Everything about the layer that is not a tensor.
#[derive(Debug, Clone)]
struct Spec {
    config: ConvContractConfig,
    bank: DenseBank,
    dim: usize,
    pairs: Vec<PairSpec>,
    /// Target indices in order of first reach (the output order).
    outputs: Vec<usize>,
    route: Route,
    /// The runtime layer of the same configuration and bank: its pair kernels serve the
    /// fused route (its own weights are never used).
    #[cfg(feature = "flex")]
    kernels: Arc<RuntimeConvContract>,
}

/// ginjax's `ConvContract` as a burn module (see the module docs).
#[derive(Module, Debug)]
pub struct ConvContract {
    /// Per pair, in ginjax's order: `(out_c, in_c, n_filters)`.
    weights: Vec<Param<Tensor<3>>>,
    /// Per reached output key, in output order: `(out_c,)`; empty without bias.
    bias: Vec<Param<Tensor<1>>>,
    /// Per pair: the basis `(n_filters, M^d · d^k_in · d^k_out)` (constant).
    basis: Vec<Tensor<2>>,
    #[module(skip)]
    spec: Spec,
}

impl ConvContract {
    /// Builds the layer with ginjax's initial bounds, drawn from `seed` exactly as the runtime
    /// layer [`RuntimeConvContract::from_bank`] draws them.
    pub fn new(
        config: ConvContractConfig,
        bank: &DenseBank,
        seed: u64,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let runtime = RuntimeConvContract::from_bank(config, bank, seed)
            .map_err(ginrs_runtime::Error::from)?;
        Self::from_runtime(&runtime, bank, device)
    }

    /// Builds the layer on the exact invariant basis of `ginrs-generator` (ginjax's
    /// convention): the B_d-invariant filters of side `size` of every tensor order the
    /// configured pairs need, both parities; weights drawn from `seed` as in
    /// [`ConvContract::new`].
    pub fn invariant(
        config: ConvContractConfig,
        dim: usize,
        size: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let mut ks: Vec<usize> = config
            .input
            .entries()
            .iter()
            .flat_map(|(i, _)| {
                config
                    .target
                    .entries()
                    .iter()
                    .map(move |(o, _)| i.k() + o.k())
            })
            .collect();
        ks.sort_unstable();
        ks.dedup();
        let bank = DenseBank::invariant(dim, size, &ks, &BankOptions::default())
            .map_err(ginrs_runtime::Error::from)?;
        Self::new(config, &bank, seed, device)
    }

    /// Builds the layer and loads `weights` (e.g. a ginjax layer's parameters or a file
    /// written by [`ConvContract::to_weights`]); weights for another signature are an error.
    pub fn from_weights(
        config: ConvContractConfig,
        bank: &DenseBank,
        weights: &LayerWeights,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let runtime = RuntimeConvContract::from_weights(config, bank, weights)?;
        Self::from_runtime(&runtime, bank, device)
    }

    /// A trainable copy of a runtime layer built from `bank` (its configuration and current
    /// weights).
    pub fn from_runtime(
        runtime: &RuntimeConvContract,
        bank: &DenseBank,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let config = runtime.config().clone();
        let weights = runtime.to_weights();
        let position = |sig: &Signature, key: &TensorKey| {
            sig.entries()
                .iter()
                .position(|(k, _)| k == key)
                .expect("the runtime layer's keys come from its signatures")
        };
        let mut pairs = Vec::new();
        let mut params = Vec::new();
        let mut basis = Vec::new();
        let mut outputs = Vec::new();
        for ((input, target, filter_key, n_f), entry) in
            runtime.pairs().into_iter().zip(&weights.weights)
        {
            let pair = PairSpec {
                input: position(&config.input, &input),
                target: position(&config.target, &target),
                n_f,
            };
            if !outputs.contains(&pair.target) {
                outputs.push(pair.target);
            }
            let block = bank
                .get(filter_key.k(), filter_key.parity())
                .expect("the runtime layer only keeps pairs whose filter key is in the bank");
            let per_filter = block.data().len() / n_f;
            basis.push(Tensor::from_data(
                TensorData::new(block.data().to_vec(), [n_f, per_filter]),
                device,
            ));
            params.push(Param::from_data(
                TensorData::new(entry.array.data.clone(), entry.array.shape.clone()),
                device,
            ));
            pairs.push(pair);
        }
        let bias = outputs
            .iter()
            .filter_map(|&o| {
                let key = &config.target.entries()[o].0;
                weights
                    .bias
                    .iter()
                    .find(|b| b.key.to_key().ok().as_ref() == Some(key))
                    .map(|b| {
                        Param::from_data(
                            TensorData::new(b.array.data.clone(), b.array.shape.clone()),
                            device,
                        )
                    })
            })
            .collect();
        #[cfg(feature = "flex")]
        let kernels = Arc::new(
            RuntimeConvContract::from_bank(config.clone(), bank, 0)
                .map_err(ginrs_runtime::Error::from)?,
        );
        Ok(Self {
            weights: params,
            bias,
            basis,
            spec: Spec {
                config,
                bank: bank.clone(),
                dim: runtime.dim(),
                pairs,
                outputs,
                route: Route::default(),
                #[cfg(feature = "flex")]
                kernels,
            },
        })
    }

    /// Selects the route.
    pub fn with_route(mut self, route: Route) -> Self {
        self.spec.route = route;
        self
    }

    /// The route.
    pub fn route(&self) -> Route {
        self.spec.route
    }

    /// The configuration.
    pub fn config(&self) -> &ConvContractConfig {
        &self.spec.config
    }

    /// The invariant filter bank.
    pub fn bank(&self) -> &DenseBank {
        &self.spec.bank
    }

    /// The output signature: reached target keys in order of first reach.
    pub fn output_signature(&self) -> Signature {
        Signature::new(
            self.spec
                .outputs
                .iter()
                .map(|&o| self.spec.config.target.entries()[o].clone())
                .collect(),
        )
        .expect("a subset of the target signature is a valid signature")
    }

    /// The current parameters in the runtime's [`LayerWeights`] layout (ginjax's order).
    pub fn to_weights(&self) -> Result<LayerWeights, TrainError> {
        Ok(self.to_runtime()?.to_weights())
    }

    /// A runtime layer with the current parameters; its forward pass reproduces this module's.
    pub fn to_runtime(&self) -> Result<RuntimeConvContract, TrainError> {
        let mut runtime =
            RuntimeConvContract::from_bank(self.spec.config.clone(), &self.spec.bank, 0)
                .map_err(ginrs_runtime::Error::from)?;
        let mut weights = runtime.to_weights();
        for (entry, param) in weights.weights.iter_mut().zip(&self.weights) {
            entry.array.data = read_f32(&param.val())?;
        }
        for (entry, param) in weights.bias.iter_mut().zip(&self.bias) {
            entry.array.data = read_f32(&param.val())?;
        }
        runtime
            .load_weights(&weights)
            .map_err(ginrs_runtime::Error::from)?;
        Ok(runtime)
    }

    /// Replaces every weight and bias by `weights` (validated by the runtime: missing, extra
    /// or misshapen entries, e.g. a file for another signature, are errors and change nothing).
    pub fn load_weights(&mut self, weights: &LayerWeights) -> Result<(), TrainError> {
        let device = self.basis.first().map(Tensor::device).ok_or_else(|| {
            TrainError::Unsupported("a layer without pairs has no weights".into())
        })?;
        let runtime =
            RuntimeConvContract::from_weights(self.spec.config.clone(), &self.spec.bank, weights)?;
        let loaded = Self::from_runtime(&runtime, &self.spec.bank, &device)?;
        self.weights = loaded.weights;
        self.bias = loaded.bias;
        Ok(())
    }

    /// Applies the layer to a batch: the input must have exactly the configured input
    /// signature; the output has [`ConvContract::output_signature`].
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        if input.dim() != self.spec.dim {
            return Err(TrainError::Dimension {
                expected: self.spec.dim,
                got: input.dim(),
            });
        }
        input.expect_signature("ConvContract input", &self.spec.config.input)?;
        let plan = self
            .spec
            .config
            .options
            .resolve(input.geometry(), self.spec.bank.sides())
            .map_err(ginrs_runtime::Error::from)?;
        let out_geometry = plan.output_geometry();
        #[cfg(feature = "flex")]
        if let Some((layer, call)) = self.spec.route.pick(|| {
            let layer = self.fused_kernel(input.geometry(), &out_geometry)?;
            let call = layer.call(input)?;
            Ok((layer, call))
        })? {
            return layer.apply(call, input);
        }
        #[cfg(not(feature = "flex"))]
        self.spec
            .route
            .pick(|| Err::<(), _>(FusedUnsupported::WithoutFlex))?;
        let outputs = self.forward_dense(input, plan.axes(), &out_geometry)?;
        let mut out = TensorImage::new(out_geometry, input.batch());
        for (&o, y) in self.spec.outputs.iter().zip(outputs) {
            let key = self.spec.config.target.entries()[o].0.clone();
            let y = match self.bias_of(o) {
                Some(b) => add_bias(self.spec.config.bias, &key, y, b),
                None => y,
            };
            out.push(key, y)?;
        }
        Ok(out)
    }

    fn bias_of(&self, target: usize) -> Option<Tensor<1>> {
        let slot = self.spec.outputs.iter().position(|&o| o == target)?;
        self.bias.get(slot).map(Param::val)
    }

    /// The fused route's kernel for inputs of `signature` on `geometry` (checked as
    /// [`ConvContract::forward`] checks them), with its parameters.
    #[cfg(feature = "flex")]
    pub(crate) fn fused_layer(
        &self,
        signature: &Signature,
        geometry: &Geometry,
    ) -> Result<FusedLayer, TrainError> {
        if geometry.dim() != self.spec.dim {
            return Err(TrainError::Dimension {
                expected: self.spec.dim,
                got: geometry.dim(),
            });
        }
        if signature != &self.spec.config.input {
            return Err(TrainError::SignatureMismatch {
                what: "ConvContract input",
                expected: self.spec.config.input.clone(),
                got: signature.clone(),
            });
        }
        let plan = self
            .spec
            .config
            .options
            .resolve(geometry, self.spec.bank.sides())
            .map_err(ginrs_runtime::Error::from)?;
        Ok(self.fused_kernel(geometry, &plan.output_geometry())?)
    }

    /// The fused route's kernel for inputs on `geometry` (output on `out_geometry`), where it
    /// serves them. The host parameters are the weights, flat, then the bias of every biased
    /// output block; the output order is the runtime layer's output signature.
    #[cfg(feature = "flex")]
    fn fused_kernel(
        &self,
        geometry: &Geometry,
        out_geometry: &Geometry,
    ) -> Result<FusedLayer, FusedUnsupported> {
        let kernel = FusedConv::new(
            self.spec.kernels.clone(),
            geometry.clone(),
            out_geometry.clone(),
        )?;
        let weights = self.weights.iter().map(|w| {
            let value = w.val();
            let len = value.shape().num_elements();
            value.reshape([len])
        });
        let biased = self.spec.kernels.biased_outputs();
        let bias = self
            .bias
            .iter()
            .zip(biased)
            .filter(|(_, biased)| *biased)
            .map(|(b, _)| b.val());
        Ok(FusedLayer {
            kernel: Arc::new(kernel),
            params: weights.chain(bias).collect(),
            output: self.spec.kernels.output_signature(),
            geometry: out_geometry.clone(),
        })
    }

    /// The dense route, without bias: one block `[batch, out_c, pixels', d^k_out]` per output,
    /// in order.
    fn forward_dense(
        &self,
        input: &TensorImage,
        axes: &[ginrs_runtime::ops::padding::AxisPlan],
        out_geometry: &Geometry,
    ) -> Result<Vec<Tensor<4>>, TrainError> {
        let dim = self.spec.dim;
        let batch = input.batch();
        let spatial = input.geometry().spatial();
        let inputs = self.spec.config.input.entries();
        let targets = self.spec.config.target.entries();
        let comps = |key: &TensorKey| key.components(dim);
        // Input: [batch, Σ in_c·A, s0, s1, s2] (trailing sides 1 below d = 3).
        let mut sides5 = [1usize; 3];
        sides5[..dim].copy_from_slice(spatial);
        let channels: Vec<Tensor<5>> = input
            .blocks()
            .iter()
            .map(|(key, t)| {
                let [n, c, _, _] = t.dims();
                t.clone().swap_dims(2, 3).reshape([
                    n,
                    c * comps(key),
                    sides5[0],
                    sides5[1],
                    sides5[2],
                ])
            })
            .collect();
        let mut x = Tensor::cat(channels, 1);
        for (axis, plan) in axes.iter().enumerate() {
            x = pad_axis(x, 2 + axis, &AxisPadding::from(plan));
        }
        // Filter: [Σ out_c·B, Σ in_c·A, M0, M1, M2].
        let sides = self.spec.bank.sides();
        let taps: usize = sides.iter().product();
        let mut msides = [1usize; 3];
        msides[..dim].copy_from_slice(sides);
        let device = x.device();
        let dtype = x.dtype();
        let mut rows = Vec::with_capacity(self.spec.outputs.len());
        for &o in &self.spec.outputs {
            let (out_key, out_c) = &targets[o];
            let b = comps(out_key);
            let row: Vec<Tensor<3>> = inputs
                .iter()
                .enumerate()
                .map(|(i, (in_key, in_c))| {
                    let a = comps(in_key);
                    let pair = self
                        .spec
                        .pairs
                        .iter()
                        .position(|p| p.input == i && p.target == o);
                    match pair {
                        Some(p) => {
                            let n_f = self.spec.pairs[p].n_f;
                            let w = self.weights[p].val().reshape([out_c * in_c, n_f]);
                            w.matmul(self.basis[p].clone())
                                .reshape([*out_c, *in_c, taps, a, b])
                                .permute([0, 4, 1, 3, 2])
                                .reshape([out_c * b, in_c * a, taps])
                        }
                        None => Tensor::zeros([out_c * b, in_c * a, taps], (&device, dtype)),
                    }
                })
                .collect();
            rows.push(Tensor::cat(row, 1));
        }
        let filter = Tensor::cat(rows, 0);
        let [fo, fi, _] = filter.dims();
        let filter: Tensor<5> = filter.reshape([fo, fi, msides[0], msides[1], msides[2]]);
        let stride: Vec<usize> = axes.iter().map(|a| a.stride).collect();
        let dilation: Vec<usize> = axes.iter().map(|a| a.rhs_dilation).collect();
        let [_, ci, p0, p1, p2] = x.dims();
        let y: Tensor<3> = match dim {
            1 => conv1d(
                x.reshape([batch, ci, p0]),
                filter.reshape([fo, fi, msides[0]]),
                None,
                BurnConvOptions::new([stride[0]], [0], [dilation[0]], 1),
            ),
            2 => conv2d(
                x.reshape([batch, ci, p0, p1]),
                filter.reshape([fo, fi, msides[0], msides[1]]),
                None,
                BurnConvOptions::new(
                    [stride[0], stride[1]],
                    [0, 0],
                    [dilation[0], dilation[1]],
                    1,
                ),
            )
            .flatten(2, 3),
            3 => conv3d(
                x.reshape([batch, ci, p0, p1, p2]),
                filter,
                None,
                BurnConvOptions::new(
                    [stride[0], stride[1], stride[2]],
                    [0, 0, 0],
                    [dilation[0], dilation[1], dilation[2]],
                    1,
                ),
            )
            .flatten(2, 4),
            _ => return Err(TrainError::Unsupported(format!("d = {dim}"))),
        };
        let pixels = out_geometry.pixels();
        let mut out = Vec::with_capacity(self.spec.outputs.len());
        let mut offset = 0;
        for &o in &self.spec.outputs {
            let (out_key, out_c) = &targets[o];
            let b = comps(out_key);
            let block = y
                .clone()
                .narrow(1, offset, out_c * b)
                .reshape([batch, *out_c, b, pixels])
                .swap_dims(2, 3);
            offset += out_c * b;
            out.push(block);
        }
        Ok(out)
    }
}

impl GinjaxParams for ConvContract {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        let (inputs, targets) = (
            self.spec.config.input.entries(),
            self.spec.config.target.entries(),
        );
        let weights = self.spec.pairs.iter().zip(&self.weights).map(|(p, w)| {
            let path = format!(
                ".weights[{}][{}]",
                key_repr(&inputs[p.input].0),
                key_repr(&targets[p.target].0)
            );
            (path, NamedTensor::from(w))
        });
        let bias = self.spec.outputs.iter().zip(&self.bias).map(|(&o, b)| {
            (
                format!(".bias[{}]", key_repr(&targets[o].0)),
                NamedTensor::from(b),
            )
        });
        weights.chain(bias).collect()
    }
}

/// Adds the bias of one output block `[batch, out_c, pixels, comps]` (ginjax's modes; `Scalar`
/// leaves non-scalar keys unbiased, as the runtime does).
fn add_bias(mode: BiasMode, key: &TensorKey, y: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    let [_, c, _, _] = y.dims();
    let b: Tensor<4> = bias.reshape([1, c, 1, 1]);
    let additive = key.is_scalar() && matches!(mode, BiasMode::Auto | BiasMode::Scalar);
    let mean_scaled = mode == BiasMode::Mean || (mode == BiasMode::Auto && !key.is_scalar());
    if additive {
        y + b
    } else if mean_scaled {
        let mean = y.clone().mean_dim(2);
        y + mean * b
    } else {
        y
    }
}
