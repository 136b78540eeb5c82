//! The equivariant convolution layer `ConvContract` (ginjax 0.1.8 `layers.ConvContract`),
//! computed basis-first.
//!
//! For every (input key, target key) pair, in signature order, ginjax builds the filter
//! `F[o, i] = Σ_f w[o, i, f] · C_f` from the `n_f` invariant filters `C_f` of key
//! `((False,)*(k_in + k_out), (p_in + p_out) mod 2)` and adds `convolve_contract(x, F)` into
//! the output block of the target key. This layer computes the same sum in the other order:
//!
//! 1. pad every input block once (through [`crate::padding::ConvPlan`]: torus wrap, lhs
//!    dilation, zero padding) into a component-major buffer;
//! 2. per pair and input channel `i`, a [`ResponseKernel`] computes the responses
//!    `R[i, f, j, q]` of the channel to every invariant filter (a sparse stencil);
//! 3. one GEMM per pair mixes the channels:
//!    `out[o, j, q] += Σ_{i,f} w[o, i, f] · R[i, f, j, q]`
//!    (`W` is `out_c × in_c·n_f`, `R` is `in_c·n_f × d^k_out·out_pixels`);
//! 4. the accumulated blocks get their bias and are converted to ginjax's layout
//!    `(channels, spatial…, (d,)*k)`.
//!
//! Output blocks appear in the order in which pairs first reach them (ginjax's order).
//! Weights have ginjax's shapes `(out_c, in_c, n_filters)` and serialise through
//! [`crate::weights::LayerWeights`].
//!
//! # Divergences from ginjax 0.1.8 (deliberate; see the spec's bug list)
//!
//! - **`use_bias=True`** makes ginjax return an *empty* output (it stores `True`, which no
//!   bias branch matches). Here a boolean `true` means [`BiasMode::Auto`], as ginjax's
//!   documentation says ([`BiasMode::from_bool`]).
//! - **`use_bias='scalar'`** makes ginjax *drop every non-scalar output block*. Its
//!   documentation says "scalar uses a regular bias for scalars only", so here
//!   [`BiasMode::Scalar`] adds the bias to the `((), 0)` block and keeps every other block
//!   unchanged (no bias). Biases are still stored for every output key, as in ginjax, so
//!   ginjax weights load unchanged.
//! - **Missing filters**: a pair whose filter key has no invariant filter is silently skipped by
//!   ginjax. Here it is an error ([`ConvContractError::MissingFilter`]) unless
//!   [`ConvContractConfig::allow_missing`] is set; dropped pairs are listed by
//!   [`ConvContract::dropped_pairs`].
//! - **Input key order**: ginjax iterates the input's own dict order; here the input must have
//!   exactly the layer's input signature (same keys, order and channels).
//! - **Initialisation** draws from a seeded ChaCha8 generator with ginjax's bounds
//!   (`±1/√(in_c · M^d · d^k_in)`, the bias of an output key redrawn by every later pair that
//!   reaches it, so the last pair's bound wins); the values are not JAX's threefry stream —
//!   import ginjax weights through [`ConvContract::load_weights`] to reproduce a ginjax layer.
//! - **Metric tensors** are not supported by this layer (ginjax lowers the input repeatedly,
//!   once more for each later output key — a bug — and raises the result); covariant flags are
//!   carried through and change no numbers, as in ginjax without a metric.

use rayon::prelude::*;
use thiserror::Error;

use crate::bank::DenseBank;
use crate::error::Error;
use crate::image::{ImageBlock, MultiImage, Signature, TensorKey};
use crate::kernel::{KernelError, ResponseKernel, SparseKernel, StencilGeometry};
use crate::layer::Layer;
use crate::padding::ConvOptions;
use crate::weights::{ArrayJson, BiasWeights, KeyJson, LayerWeights, PairWeights, WeightsError};

/// Errors from building a [`ConvContract`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConvContractError {
    /// No invariant filter realises a requested mapping.
    #[error(
        "no invariant filter maps {input:?} to {output:?} for d = {dim}, M = {side}: the bank has \
         {count} filters of type {filter_key:?}; set allow_missing to drop this mapping \
         (as ginjax does silently)"
    )]
    MissingFilter {
        /// Spatial dimension.
        dim: usize,
        /// Filter side M (of axis 0).
        side: usize,
        /// Input key.
        input: TensorKey,
        /// Target key.
        output: TensorKey,
        /// The filter key the pair needs.
        filter_key: TensorKey,
        /// Number of filters found (0).
        count: usize,
    },
    /// A caller-supplied kernel names a pair that is not in the signatures, or repeats one.
    #[error("kernel for {input:?} -> {output:?}: no such pair in the layer's signatures, or given twice")]
    UnknownPair {
        /// Input key.
        input: TensorKey,
        /// Target key.
        output: TensorKey,
    },
    /// Filter sides do not match the dimension.
    #[error("filter sides {sides:?} do not give one positive side per axis for d = {dim}")]
    Sides {
        /// Spatial dimension.
        dim: usize,
        /// The sides given.
        sides: Vec<usize>,
    },
    /// The input image's dimension differs from the layer's.
    #[error("the layer is {expected}-dimensional, the input image is {got}-dimensional")]
    InputDimension {
        /// Layer dimension.
        expected: usize,
        /// Image dimension.
        got: usize,
    },
    /// Building a sparse kernel from the bank failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// How the layer adds its bias (ginjax's `use_bias`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BiasMode {
    /// No bias (`False`).
    None,
    /// `'auto'` (the default): `((), 0)` gets `y + b[c]`, every other key
    /// `y + mean(y)·b[c]` (mean over the spatial axes per channel and component).
    #[default]
    Auto,
    /// `'mean'`: every key, scalars included, gets `y + mean(y)·b[c]`.
    Mean,
    /// `'scalar'`: `((), 0)` gets `y + b[c]`; other keys get no bias (ginjax drops them; see
    /// the module docs).
    Scalar,
}

impl BiasMode {
    /// ginjax's boolean `use_bias`: `true` is `'auto'` (as documented; ginjax itself then
    /// returns an empty output), `false` is no bias.
    pub fn from_bool(use_bias: bool) -> Self {
        if use_bias {
            Self::Auto
        } else {
            Self::None
        }
    }

    /// True unless [`BiasMode::None`].
    pub fn is_enabled(self) -> bool {
        self != Self::None
    }
}

/// What a [`ConvContract`] maps: signatures, bias mode, convolution options, and whether
/// mappings without an invariant filter may be dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvContractConfig {
    /// Input keys and channels, in order.
    pub input: Signature,
    /// Target keys and channels, in order.
    pub target: Signature,
    /// Bias mode.
    pub bias: BiasMode,
    /// Padding, stride and dilations.
    pub options: ConvOptions,
    /// Drop (instead of rejecting) pairs that no invariant filter realises.
    pub allow_missing: bool,
}

impl ConvContractConfig {
    /// A config with ginjax's defaults: `'auto'` bias, inferred padding, stride 1, no
    /// dilation, missing filters rejected.
    pub fn new(input: Signature, target: Signature) -> Self {
        Self {
            input,
            target,
            bias: BiasMode::Auto,
            options: ConvOptions::default(),
            allow_missing: false,
        }
    }

    /// Replaces the bias mode.
    pub fn bias(mut self, bias: BiasMode) -> Self {
        self.bias = bias;
        self
    }

    /// Replaces the convolution options.
    pub fn options(mut self, options: ConvOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets whether missing mappings are dropped.
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.allow_missing = allow;
        self
    }
}

/// A mapping dropped because no invariant filter realises it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DroppedPair {
    /// Input key.
    pub input: TensorKey,
    /// Target key.
    pub output: TensorKey,
    /// The (absent) filter key it needs.
    pub filter_key: TensorKey,
}

/// Multiply-adds per output pixel of one forward pass (all pairs, all channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlopCount {
    /// Stencil multiply-adds: `Σ_pairs in_c · taps` (taps summed over filters and output
    /// components); `None` when a kernel does not report its taps.
    pub stencil: Option<usize>,
    /// GEMM multiply-adds: `Σ_pairs out_c · in_c · n_f · d^k_out`.
    pub gemm: usize,
    /// Dense-equivalent multiply-adds (ginjax's route):
    /// `Σ_pairs out_c · in_c · M^d · d^(k_in + k_out)`.
    pub dense: usize,
}

/// The boxed kernel type a caller supplies per block pair.
pub type PairKernel = ((TensorKey, TensorKey), Box<dyn ResponseKernel>);

struct Pair {
    input: usize,
    target: usize,
    filter_key: TensorKey,
    n_f: usize,
    kernel: Box<dyn ResponseKernel>,
    /// `(out_c, in_c, n_f)` row-major.
    weights: Vec<f32>,
}

/// ginjax's `ConvContract`: an equivariant convolution from one multi-image signature to
/// another (see the module docs).
pub struct ConvContract {
    config: ConvContractConfig,
    dim: usize,
    sides: Vec<usize>,
    pairs: Vec<Pair>,
    /// Target indices in order of first reach (the output order).
    outputs: Vec<usize>,
    /// Bias per target index (`Some` for reached targets when bias is enabled).
    biases: Vec<Option<Vec<f32>>>,
    dropped: Vec<DroppedPair>,
}

impl std::fmt::Debug for ConvContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvContract")
            .field("config", &self.config)
            .field("dim", &self.dim)
            .field("sides", &self.sides)
            .field("output", &self.output_signature())
            .field("dropped", &self.dropped)
            .finish()
    }
}

fn filter_key(input: &TensorKey, output: &TensorKey) -> TensorKey {
    TensorKey::new(input.k() + output.k(), input.parity() + output.parity())
}

impl ConvContract {
    /// Builds the layer from a dense invariant bank (one [`SparseKernel`] per pair) and
    /// initialises weights and biases from `seed`.
    pub fn from_bank(
        config: ConvContractConfig,
        bank: &DenseBank,
        seed: u64,
    ) -> Result<Self, ConvContractError> {
        let dim = bank.dim();
        let mut kernels: Vec<PairKernel> = Vec::new();
        for (input, _) in config.input.entries() {
            for (output, _) in config.target.entries() {
                let fk = filter_key(input, output);
                if let Some(block) = bank.get(fk.k(), fk.parity()) {
                    let kernel = SparseKernel::new(
                        dim,
                        bank.sides(),
                        input.k(),
                        output.k(),
                        block.count(),
                        block.data(),
                    )?;
                    kernels.push(((input.clone(), output.clone()), Box::new(kernel)));
                }
            }
        }
        Self::with_kernels(config, dim, bank.sides().to_vec(), kernels, seed)
    }

    /// Builds the layer from a bank and loads `weights` (e.g. a ginjax layer's parameters).
    pub fn from_weights(
        config: ConvContractConfig,
        bank: &DenseBank,
        weights: &LayerWeights,
    ) -> Result<Self, Error> {
        let mut layer = Self::from_bank(config, bank, 0)?;
        layer.load_weights(weights)?;
        Ok(layer)
    }

    /// Builds the layer from caller-supplied kernels, one per realisable (input key, target
    /// key) pair (generated layers use this). `dim` and `sides` describe the filters (`M` per
    /// axis). A pair of the signatures without a kernel (or whose kernel has no filter) is a
    /// missing mapping: an error unless `config.allow_missing`. Weights and biases are
    /// initialised from `seed`.
    pub fn with_kernels(
        config: ConvContractConfig,
        dim: usize,
        sides: Vec<usize>,
        kernels: Vec<PairKernel>,
        seed: u64,
    ) -> Result<Self, ConvContractError> {
        if dim == 0 || dim > crate::image::MAX_DIM || sides.len() != dim || sides.contains(&0) {
            return Err(ConvContractError::Sides { dim, sides });
        }
        let mut slots: Vec<Option<Box<dyn ResponseKernel>>> = (0..config.input.entries().len()
            * config.target.entries().len())
            .map(|_| None)
            .collect();
        let n_targets = config.target.entries().len();
        for ((input, output), kernel) in kernels {
            let i = config.input.entries().iter().position(|(k, _)| *k == input);
            let o = config
                .target
                .entries()
                .iter()
                .position(|(k, _)| *k == output);
            match (i, o) {
                (Some(i), Some(o)) if slots[i * n_targets + o].is_none() => {
                    slots[i * n_targets + o] = Some(kernel);
                }
                _ => return Err(ConvContractError::UnknownPair { input, output }),
            }
        }
        let mut pairs = Vec::new();
        let mut outputs = Vec::new();
        let mut dropped = Vec::new();
        for (i, (input, _)) in config.input.entries().iter().enumerate() {
            for (o, (output, _)) in config.target.entries().iter().enumerate() {
                let fk = filter_key(input, output);
                match slots[i * n_targets + o].take() {
                    Some(kernel) if kernel.filter_count() > 0 => {
                        if !outputs.contains(&o) {
                            outputs.push(o);
                        }
                        pairs.push(Pair {
                            input: i,
                            target: o,
                            filter_key: fk,
                            n_f: kernel.filter_count(),
                            kernel,
                            weights: Vec::new(),
                        });
                    }
                    _ if config.allow_missing => dropped.push(DroppedPair {
                        input: input.clone(),
                        output: output.clone(),
                        filter_key: fk,
                    }),
                    _ => {
                        return Err(ConvContractError::MissingFilter {
                            dim,
                            side: sides[0],
                            input: input.clone(),
                            output: output.clone(),
                            filter_key: fk,
                            count: 0,
                        })
                    }
                }
            }
        }
        let mut layer = Self {
            biases: vec![None; n_targets],
            config,
            dim,
            sides,
            pairs,
            outputs,
            dropped,
        };
        layer.initialise(seed);
        Ok(layer)
    }

    /// Redraws every weight and bias from `seed` with ginjax's bounds: uniform in `±β`,
    /// `β = 1/√(in_c · M^d · d^k_in)`, pairs in ginjax's order, the bias of a target drawn
    /// again by every pair that reaches it (the last one is kept).
    pub fn initialise(&mut self, seed: u64) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let pixels: usize = self.sides.iter().product();
        let bias_on = self.config.bias.is_enabled();
        for pair in &mut self.pairs {
            let (in_key, in_c) = &self.config.input.entries()[pair.input];
            let out_c = self.config.target.entries()[pair.target].1;
            let beta = 1.0 / ((in_c * pixels * in_key.components(self.dim)) as f64).sqrt();
            let beta = beta as f32;
            pair.weights = (0..out_c * in_c * pair.n_f)
                .map(|_| rng.random_range(-beta..=beta))
                .collect();
            if bias_on {
                self.biases[pair.target] =
                    Some((0..out_c).map(|_| rng.random_range(-beta..=beta)).collect());
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ConvContractConfig {
        &self.config
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Filter side per axis.
    pub fn filter_sides(&self) -> &[usize] {
        &self.sides
    }

    /// The input signature.
    pub fn input_signature(&self) -> &Signature {
        &self.config.input
    }

    /// The output signature: reached target keys in order of first reach.
    pub fn output_signature(&self) -> Signature {
        Signature::new(
            self.outputs
                .iter()
                .map(|&o| self.config.target.entries()[o].clone())
                .collect(),
        )
        .expect("a subset of the target signature is a valid signature")
    }

    /// The mappings dropped for lack of an invariant filter (only with `allow_missing`).
    pub fn dropped_pairs(&self) -> &[DroppedPair] {
        &self.dropped
    }

    /// ginjax's `missing_filter`: whether any mapping was dropped.
    pub fn missing_filter(&self) -> bool {
        !self.dropped.is_empty()
    }

    /// The present pairs in ginjax's order: `(input key, target key, filter key, n_filters)`.
    pub fn pairs(&self) -> Vec<(TensorKey, TensorKey, TensorKey, usize)> {
        self.pairs
            .iter()
            .map(|p| {
                (
                    self.config.input.entries()[p.input].0.clone(),
                    self.config.target.entries()[p.target].0.clone(),
                    p.filter_key.clone(),
                    p.n_f,
                )
            })
            .collect()
    }

    /// Multiply-adds per output pixel (see [`FlopCount`]).
    pub fn flops_per_output_pixel(&self) -> FlopCount {
        let mut count = FlopCount {
            stencil: Some(0),
            ..FlopCount::default()
        };
        let pixels: usize = self.sides.iter().product();
        for p in &self.pairs {
            let (in_key, in_c) = &self.config.input.entries()[p.input];
            let (out_key, out_c) = &self.config.target.entries()[p.target];
            let comps_out = out_key.components(self.dim);
            count.stencil = match (count.stencil, p.kernel.tap_count()) {
                (Some(s), Some(t)) => Some(s + in_c * t),
                _ => None,
            };
            count.gemm += out_c * in_c * p.n_f * comps_out;
            count.dense += out_c * in_c * pixels * in_key.components(self.dim) * comps_out;
        }
        count
    }

    /// The parameters in ginjax's layout and order.
    pub fn to_weights(&self) -> LayerWeights {
        let weights = self
            .pairs
            .iter()
            .map(|p| {
                let (in_key, in_c) = &self.config.input.entries()[p.input];
                let (out_key, out_c) = &self.config.target.entries()[p.target];
                PairWeights {
                    input: KeyJson::from(in_key),
                    output: KeyJson::from(out_key),
                    filter_key: KeyJson::from(&p.filter_key),
                    array: ArrayJson::new(vec![*out_c, *in_c, p.n_f], p.weights.clone()),
                }
            })
            .collect();
        let bias = self
            .outputs
            .iter()
            .filter_map(|&o| {
                let (key, out_c) = &self.config.target.entries()[o];
                self.biases[o].as_ref().map(|b| BiasWeights {
                    key: KeyJson::from(key),
                    array: ArrayJson::new(vec![*out_c], b.clone()),
                })
            })
            .collect();
        LayerWeights { weights, bias }
    }

    /// Replaces every weight and bias by `weights` (matched by keys, in any order). Nothing
    /// changes on error: missing, extra or repeated entries and wrong shapes are reported.
    pub fn load_weights(&mut self, weights: &LayerWeights) -> Result<(), WeightsError> {
        let mut new_w: Vec<Option<Vec<f32>>> = vec![None; self.pairs.len()];
        for entry in &weights.weights {
            let (input, output) = (entry.input.to_key(), entry.output.to_key());
            entry
                .array
                .check(|| format!("weights {input:?} -> {output:?}"))?;
            let found = self.pairs.iter().position(|p| {
                self.config.input.entries()[p.input].0 == input
                    && self.config.target.entries()[p.target].0 == output
            });
            let Some(idx) = found.filter(|&i| new_w[i].is_none()) else {
                return Err(WeightsError::ExtraWeight { input, output });
            };
            let p = &self.pairs[idx];
            let got_fk = entry.filter_key.to_key();
            if got_fk != p.filter_key {
                return Err(WeightsError::FilterKey {
                    pair: format!("{input:?} -> {output:?}"),
                    expected: p.filter_key.clone(),
                    got: got_fk,
                });
            }
            let expected = vec![
                self.config.target.entries()[p.target].1,
                self.config.input.entries()[p.input].1,
                p.n_f,
            ];
            if entry.array.shape != expected {
                return Err(WeightsError::WeightShape {
                    input,
                    output,
                    expected,
                    got: entry.array.shape.clone(),
                });
            }
            new_w[idx] = Some(entry.array.data.clone());
        }
        if let Some(idx) = new_w.iter().position(Option::is_none) {
            let p = &self.pairs[idx];
            return Err(WeightsError::MissingWeight {
                input: self.config.input.entries()[p.input].0.clone(),
                output: self.config.target.entries()[p.target].0.clone(),
            });
        }
        let mut new_b: Vec<Option<Vec<f32>>> = vec![None; self.biases.len()];
        for entry in &weights.bias {
            let key = entry.key.to_key();
            entry.array.check(|| format!("bias {key:?}"))?;
            let found = self
                .outputs
                .iter()
                .copied()
                .find(|&o| self.config.target.entries()[o].0 == key);
            let Some(o) = found.filter(|&o| self.config.bias.is_enabled() && new_b[o].is_none())
            else {
                return Err(WeightsError::ExtraBias { key });
            };
            let expected = vec![self.config.target.entries()[o].1];
            if entry.array.shape != expected {
                return Err(WeightsError::BiasShape {
                    key,
                    expected,
                    got: entry.array.shape.clone(),
                });
            }
            new_b[o] = Some(entry.array.data.clone());
        }
        if self.config.bias.is_enabled() {
            if let Some(&o) = self.outputs.iter().find(|&&o| new_b[o].is_none()) {
                return Err(WeightsError::MissingBias {
                    key: self.config.target.entries()[o].0.clone(),
                });
            }
        }
        for (pair, w) in self.pairs.iter_mut().zip(new_w) {
            pair.weights = w.expect("every pair was checked above");
        }
        self.biases = new_b;
        Ok(())
    }

    fn forward_impl(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        if input.dim() != self.dim {
            return Err(ConvContractError::InputDimension {
                expected: self.dim,
                got: input.dim(),
            }
            .into());
        }
        input.expect_signature(&self.config.input)?;
        let plan = self.config.options.resolve(input.geometry(), &self.sides)?;
        let geometry = StencilGeometry {
            padded: plan.padded_spatial(),
            out: plan.output_spatial(),
            stride: plan.axes().iter().map(|a| a.stride).collect(),
            rhs_dilation: plan.axes().iter().map(|a| a.rhs_dilation).collect(),
        };
        let pp = geometry.padded_pixels();
        let op = geometry.out_pixels();
        let targets = self.config.target.entries();
        // Accumulators per target index, component-major (out_c, d^k_out, out_pixels).
        let mut acc: Vec<Vec<f32>> = targets.iter().map(|_| Vec::new()).collect();
        for &o in &self.outputs {
            acc[o] = vec![0.0; targets[o].1 * targets[o].0.components(self.dim) * op];
        }
        let mut padded = Vec::new();
        let mut scratch = Vec::new();
        let mut responses = Vec::new();
        for (bi, block) in input.blocks().iter().enumerate() {
            if !self.pairs.iter().any(|p| p.input == bi) {
                continue;
            }
            let comps_in = block.components();
            let in_c = block.channels();
            let chan_len = comps_in * pp;
            padded.clear();
            padded.resize(in_c * chan_len, 0.0);
            scratch.resize(chan_len, 0.0);
            for (c, dst) in padded.chunks_exact_mut(chan_len).enumerate() {
                if comps_in == 1 {
                    plan.pad_channel(block.channel(c), 1, dst)?;
                } else {
                    plan.pad_channel(block.channel(c), comps_in, &mut scratch)?;
                    for (p, pixel) in scratch.chunks_exact(comps_in).enumerate() {
                        for (a, &v) in pixel.iter().enumerate() {
                            dst[a * pp + p] = v;
                        }
                    }
                }
            }
            for pair in self.pairs.iter().filter(|p| p.input == bi) {
                let (out_key, out_c) = &targets[pair.target];
                let comps_out = out_key.components(self.dim);
                let per_channel = pair.n_f * comps_out * op;
                responses.resize(in_c * per_channel, 0.0);
                let padded = &padded;
                responses
                    .par_chunks_mut(per_channel)
                    .enumerate()
                    .for_each(|(c, out)| {
                        pair.kernel.responses(
                            &geometry,
                            &padded[c * chan_len..(c + 1) * chan_len],
                            out,
                        )
                    });
                let c = &mut acc[pair.target];
                let (m, k, n) = (*out_c, in_c * pair.n_f, comps_out * op);
                debug_assert_eq!(pair.weights.len(), m * k);
                debug_assert_eq!(c.len(), m * n);
                // SAFETY: `weights` is m×k, `responses` k×n, `c` m×n, all row-major and
                // contiguous (lengths checked by construction above).
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        pair.weights.as_ptr(),
                        k as isize,
                        1,
                        responses.as_ptr(),
                        n as isize,
                        1,
                        1.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            }
        }
        let out_geometry = plan.output_geometry();
        let mut output = MultiImage::new(out_geometry.clone());
        for &o in &self.outputs {
            let (key, out_c) = &targets[o];
            let comps = key.components(self.dim);
            let mut data = std::mem::take(&mut acc[o]);
            if let Some(bias) = &self.biases[o] {
                apply_bias(self.config.bias, key, bias, comps, op, &mut data);
            }
            let data = if comps == 1 {
                data
            } else {
                let mut out = vec![0.0; data.len()];
                for c in 0..*out_c {
                    let src = &data[c * comps * op..(c + 1) * comps * op];
                    let dst = &mut out[c * comps * op..(c + 1) * comps * op];
                    for j in 0..comps {
                        for (q, &v) in src[j * op..(j + 1) * op].iter().enumerate() {
                            dst[q * comps + j] = v;
                        }
                    }
                }
                out
            };
            output.insert(ImageBlock::new(
                out_geometry.clone(),
                key.clone(),
                *out_c,
                data,
            )?)?;
        }
        Ok(output)
    }
}

/// Adds the bias of one output block held component-major `(out_c, comps, pixels)`.
fn apply_bias(
    mode: BiasMode,
    key: &TensorKey,
    bias: &[f32],
    comps: usize,
    pixels: usize,
    data: &mut [f32],
) {
    let additive = key.is_scalar() && matches!(mode, BiasMode::Auto | BiasMode::Scalar);
    let mean_scaled = mode == BiasMode::Mean || (mode == BiasMode::Auto && !key.is_scalar());
    for (c, &b) in bias.iter().enumerate() {
        for row in data[c * comps * pixels..(c + 1) * comps * pixels].chunks_exact_mut(pixels) {
            if additive {
                row.iter_mut().for_each(|v| *v += b);
            } else if mean_scaled {
                let mean = row.iter().map(|&v| v as f64).sum::<f64>() / pixels as f64;
                let shift = mean as f32 * b;
                row.iter_mut().for_each(|v| *v += shift);
            }
        }
    }
}

impl Layer for ConvContract {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.forward_impl(input)
    }
}
