//! The equivariant convolution layer `ConvContract` (ginjax 0.1.8 `layers.ConvContract`),
//! computed basis-first.
//!
//! For every (input key, target key) pair, in signature order, ginjax builds the filter
//! `F[o, i] = Σ_f w[o, i, f] · C_f` from the `n_f` invariant filters `C_f` of key
//! `((False,)*(k_in + k_out), (p_in + p_out) mod 2)` and adds `convolve_contract(x, F)` into
//! the output block of the target key. This layer computes the same sum in the other order:
//!
//! 1. the output is cut into tiles of whole rows along spatial axis 0 (about 512 output
//!    pixels each; tiles run in parallel with rayon). Per tile, every input channel's part of
//!    the padded input (torus wrap, lhs dilation, zero padding, with the source tables of
//!    [`crate::ops::padding::ConvPlan`]) is laid out component-major;
//! 2. per pair and input channel `i`, a [`ResponseKernel`] computes the responses
//!    `R[i, f, j, q]` of the channel to every invariant filter (a sparse stencil);
//! 3. one GEMM per pair (and tile) mixes the channels:
//!    `out[o, j, q] += Σ_{i,f} w[o, i, f] · R[i, f, j, q]`
//!    (`W` is `out_c × in_c·n_f`, `R` is `in_c·n_f × d^k_out·tile_pixels`), so `R` stays in
//!    cache between the stencil and the GEMM;
//! 4. the tile is written into the output blocks in ginjax's layout
//!    `(channels, spatial…, (d,)*k)`, and once every tile is done the bias is added.
//!
//! [`ConvContract::flops_per_output_pixel`] counts the work: stencil taps, GEMM
//! multiply-adds, and the dense-equivalent count of ginjax's route.
//!
//! Output blocks appear in the order in which pairs first reach them (ginjax's order).
//! Weights have ginjax's shapes `(out_c, in_c, n_filters)` and serialise through
//! [`crate::io::weights::LayerWeights`].
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
//! - **Metric tensors** ([`ConvContract::forward_with_metric`]): ginjax lowers the input
//!   once more for every later output key of an input (`images_block` is reassigned inside
//!   the loop, so the n-th target sees `G^n x`). Here every target sees the input lowered
//!   once. Without a metric, covariant flags are carried through and change no numbers.

pub mod chunked;

use rayon::prelude::*;
use thiserror::Error;

use crate::error::Error;
use crate::image::{ImageBlock, MultiImage, Signature, TensorKey};
use crate::io::weights::{
    check_length, ArrayJson, BiasWeights, KeyJson, LayerWeights, PairWeights, WeightsError,
};
use crate::kernels::stencil::{KernelError, ResponseKernel, SparseKernel, StencilGeometry};
use crate::kernels::transpose::{deinterleave, interleave};
use crate::layers::layer::Layer;
use crate::ops::bank::DenseBank;
use crate::ops::metric::{metric_inverse, raise_lower};
use crate::ops::padding::ConvOptions;

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
            let (input, output) = (entry.input.to_key()?, entry.output.to_key()?);
            check_length(&entry.array, || format!("weights {input:?} -> {output:?}"))?;
            let found = self.pairs.iter().position(|p| {
                self.config.input.entries()[p.input].0 == input
                    && self.config.target.entries()[p.target].0 == output
            });
            let Some(idx) = found.filter(|&i| new_w[i].is_none()) else {
                return Err(WeightsError::ExtraWeight { input, output });
            };
            let p = &self.pairs[idx];
            let got_fk = entry.filter_key.to_key()?;
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
            let key = entry.key.to_key()?;
            check_length(&entry.array, || format!("bias {key:?}"))?;
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

    fn forward_impl(
        &self,
        input: &MultiImage,
        bias: bool,
        reuse: Option<&mut MultiImage>,
    ) -> Result<MultiImage, Error> {
        self.forward_tiled(
            input,
            bias,
            reuse,
            TILE_PIXELS,
            |geometry, tables, blocks, outs, scratch| {
                self.tile(geometry, tables, blocks, outs, scratch)
            },
        )
    }

    /// Validates `input`, cuts the output into tiles of whole rows along axis 0 (about
    /// `tile_pixels` output pixels each) and runs `tile` on each (in parallel), then adds the
    /// bias when `bias` is set. Output blocks take over the storage of `reuse`'s blocks of the
    /// same key and length (every value is overwritten). `tile` receives the
    /// tile's stencil geometry, the padding source tables of its region, the input blocks, the
    /// tile's part of every output block and this thread's scratch buffers.
    fn forward_tiled<F>(
        &self,
        input: &MultiImage,
        bias: bool,
        reuse: Option<&mut MultiImage>,
        tile_pixels: usize,
        tile: F,
    ) -> Result<MultiImage, Error>
    where
        F: Fn(&StencilGeometry, &[&[isize]], &[ImageBlock], &mut [TileOut<'_>], &mut Scratch)
            + Sync,
    {
        if input.dim() != self.dim {
            return Err(ConvContractError::InputDimension {
                expected: self.dim,
                got: input.dim(),
            }
            .into());
        }
        input.expect_signature(&self.config.input)?;
        let plan = self.config.options.resolve(input.geometry(), &self.sides)?;
        let dim = self.dim;
        let axes = plan.axes();
        let out_sp = plan.output_spatial();
        let row_pixels: usize = out_sp[1..].iter().product();
        let rows = out_sp[0];
        let op = rows * row_pixels;
        let tile_rows = (tile_pixels / row_pixels).clamp(1, rows);
        let n_tiles = rows.div_ceil(tile_rows);
        // Source index of every padded position per axis (-1: an inserted zero).
        let tables: Vec<Vec<isize>> = axes
            .iter()
            .map(|a| {
                (0..a.padded_len)
                    .map(|u| a.source(u).map_or(-1, |j| j as isize))
                    .collect()
            })
            .collect();
        let targets = self.config.target.entries();
        let comps_of = |o: usize| targets[o].0.components(dim);
        // Output blocks in ginjax's layout (out_c, pixels, d^k_out), split per tile: tile t
        // owns, for every channel, the contiguous rows of its output pixels.
        let mut recycled: Vec<ImageBlock> = reuse
            .map(|old| std::mem::replace(old, MultiImage::new(input.geometry().clone())))
            .map_or_else(Vec::new, MultiImage::into_blocks);
        let mut data: Vec<Vec<f32>> = targets.iter().map(|_| Vec::new()).collect();
        for &o in &self.outputs {
            let len = targets[o].1 * comps_of(o) * op;
            let old = recycled
                .iter()
                .position(|b| b.key() == &targets[o].0 && b.data().len() == len);
            data[o] = match old {
                Some(i) => recycled.swap_remove(i).into_data(),
                None => crate::image::buffers::take(len),
            };
        }
        let mut per_tile: Vec<Vec<TileOut<'_>>> = (0..n_tiles).map(|_| Vec::new()).collect();
        for (o, buf) in data.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            let comps = comps_of(o);
            for tile in per_tile.iter_mut() {
                tile.push(TileOut {
                    target: o,
                    channels: Vec::with_capacity(targets[o].1),
                });
            }
            for channel in buf.chunks_exact_mut(op * comps) {
                let mut rest: &mut [f32] = channel;
                for (t, tile) in per_tile.iter_mut().enumerate() {
                    let n = tile_rows.min(rows - t * tile_rows) * row_pixels * comps;
                    let (head, tail) = rest.split_at_mut(n);
                    tile.last_mut().expect("pushed above").channels.push(head);
                    rest = tail;
                }
            }
        }
        let blocks = input.blocks();
        per_tile
            .into_par_iter()
            .enumerate()
            .for_each(|(t, mut outs)| {
                let r0 = t * tile_rows;
                let tile_out_rows = tile_rows.min(rows - r0);
                let a0 = &axes[0];
                let mut padded = plan.padded_spatial();
                padded[0] =
                    (tile_out_rows - 1) * a0.stride + (a0.filter_len - 1) * a0.rhs_dilation + 1;
                let mut out = out_sp.clone();
                out[0] = tile_out_rows;
                let geometry = StencilGeometry {
                    padded,
                    out,
                    stride: axes.iter().map(|a| a.stride).collect(),
                    rhs_dilation: axes.iter().map(|a| a.rhs_dilation).collect(),
                };
                let u0 = r0 * a0.stride;
                let tile_tables: Vec<&[isize]> =
                    std::iter::once(&tables[0][u0..u0 + geometry.padded[0]])
                        .chain(tables[1..].iter().map(|v| v.as_slice()))
                        .collect();
                SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
                    Ok(mut scratch) => {
                        tile(&geometry, &tile_tables, blocks, &mut outs, &mut scratch)
                    }
                    // A kernel that itself runs rayon work can re-enter on this thread while
                    // the thread's buffers are in use: give the nested tile its own.
                    Err(_) => tile(
                        &geometry,
                        &tile_tables,
                        blocks,
                        &mut outs,
                        &mut Scratch::default(),
                    ),
                });
            });
        let out_geometry = plan.output_geometry();
        let mut output = MultiImage::new(out_geometry.clone());
        for &o in &self.outputs {
            let (key, out_c) = &targets[o];
            let comps = comps_of(o);
            let mut data = std::mem::take(&mut data[o]);
            if let Some(b) = self.biases[o].as_ref().filter(|_| bias) {
                apply_bias(self.config.bias, key, b, comps, op, &mut data);
            }
            output.insert(ImageBlock::new(
                out_geometry.clone(),
                key.clone(),
                *out_c,
                data,
            )?)?;
        }
        Ok(output)
    }

    /// Applies the layer to an image carrying a metric tensor `metric` (one channel of
    /// `((True, True), 0)` 2-tensors over the input's pixels), as ginjax does when
    /// `x.metric_tensor` is set: every input block is lowered on all its axes, convolved, and
    /// the result raised from all-covariant to the target key's flags with
    /// `metric_inverse(metric, 1e-5)`; then the bias is added. Needs an output of the input's
    /// spatial size.
    ///
    /// ginjax lowers the input once more for every later output key of an input (a bug:
    /// the n-th target sees `G^n x`); here every target sees the input lowered once.
    pub fn forward_with_metric(
        &self,
        input: &MultiImage,
        metric: &ImageBlock,
    ) -> Result<MultiImage, Error> {
        let inverse = metric_inverse(metric, METRIC_EPS)?;
        let mut lowered = MultiImage::new(input.geometry().clone());
        for block in input.blocks() {
            let k = block.key().k();
            let down = raise_lower(block, metric, &inverse, &vec![true; k])?;
            lowered.insert(ImageBlock::new(
                block.geometry().clone(),
                block.key().clone(),
                block.channels(),
                down.into_data(),
            )?)?;
        }
        let convolved = self.forward_impl(&lowered, false, None)?;
        let geometry = convolved.geometry().clone();
        let mut output = MultiImage::new(geometry.clone());
        for block in convolved.into_blocks() {
            let key = block.key().clone();
            let channels = block.channels();
            let covariant = TensorKey::with_covariant(vec![true; key.k()], key.parity());
            let as_covariant =
                ImageBlock::new(geometry.clone(), covariant, channels, block.into_data())?;
            let raised = raise_lower(&as_covariant, metric, &inverse, key.covariant())?;
            let mut data = raised.into_data();
            let o = self
                .config
                .target
                .entries()
                .iter()
                .position(|(t, _)| *t == key)
                .expect("output keys are target keys");
            if let Some(b) = &self.biases[o] {
                let comps = key.components(self.dim);
                apply_bias(
                    self.config.bias,
                    &key,
                    b,
                    comps,
                    geometry.pixels(),
                    &mut data,
                );
            }
            output.insert(ImageBlock::new(geometry.clone(), key, channels, data)?)?;
        }
        Ok(output)
    }

    /// Whether some pair reads input block `block` (blocks no pair reads are never padded).
    fn reads_input(&self, block: usize) -> bool {
        self.pairs.iter().any(|p| p.input == block)
    }

    /// Computes one tile of output rows: pads each input block's tile, runs the kernels and
    /// mixes channels with one GEMM per pair into the tile's accumulators `outs`.
    fn tile(
        &self,
        geometry: &StencilGeometry,
        tables: &[&[isize]],
        blocks: &[ImageBlock],
        outs: &mut [TileOut<'_>],
        scratch: &mut Scratch,
    ) {
        let Scratch {
            inputs,
            responses,
            acc,
        } = scratch;
        let dim = self.dim;
        let tpp = geometry.padded_pixels();
        let top = geometry.out_pixels();
        // Tile accumulators per target, component-major (out_c, d^k_out, tile pixels).
        let mut starts = Vec::with_capacity(outs.len() + 1);
        starts.push(0);
        for out in outs.iter() {
            let (key, out_c) = &self.config.target.entries()[out.target];
            starts.push(starts.last().expect("non-empty") + out_c * key.components(dim) * top);
        }
        grow(acc, *starts.last().expect("non-empty"));
        let mut written = vec![false; outs.len()];
        for (bi, block) in blocks.iter().enumerate() {
            if !self.reads_input(bi) {
                continue;
            }
            let comps_in = block.components();
            let in_c = block.channels();
            let chan_len = comps_in * tpp;
            grow(inputs, in_c * chan_len);
            pad_block(block, tables, &mut inputs[..in_c * chan_len]);
            for pair in self.pairs.iter().filter(|p| p.input == bi) {
                let slot = outs
                    .iter()
                    .position(|out| out.target == pair.target)
                    .expect("every reached target has an accumulator");
                let (out_key, out_c) = &self.config.target.entries()[pair.target];
                let comps_out = out_key.components(dim);
                let per_channel = pair.n_f * comps_out * top;
                grow(responses, in_c * per_channel);
                for c in 0..in_c {
                    pair.kernel.responses(
                        geometry,
                        &inputs[c * chan_len..(c + 1) * chan_len],
                        &mut responses[c * per_channel..(c + 1) * per_channel],
                    );
                }
                let (m, k, n) = (*out_c, in_c * pair.n_f, comps_out * top);
                let c = &mut acc[starts[slot]..starts[slot + 1]];
                assert!(
                    pair.weights.len() == m * k && responses.len() >= k * n && c.len() == m * n
                );
                let accumulate = written[slot];
                written[slot] = true;
                let beta = if accumulate { 1.0 } else { 0.0 };
                // Column chunks small enough that matrixmultiply stays on this thread (its
                // `threading` feature would add threads on top of rayon's tiles and images).
                let chunk = if m * k < GEMM_THREADING_SIZE {
                    ((GEMM_THREADING_SIZE - 1 - m * k) / k / 16 * 16).max(16)
                } else {
                    n
                };
                let mut n0 = 0;
                while n0 < n {
                    let width = chunk.min(n - n0);
                    // SAFETY: `weights` is m×k, `responses` holds k×n, `c` is m×n, all
                    // row-major and contiguous (checked above); columns n0..n0 + width of
                    // `responses` and `c` are in bounds.
                    unsafe {
                        matrixmultiply::sgemm(
                            m,
                            k,
                            width,
                            1.0,
                            pair.weights.as_ptr(),
                            k as isize,
                            1,
                            responses.as_ptr().add(n0),
                            n as isize,
                            1,
                            beta,
                            c.as_mut_ptr().add(n0),
                            n as isize,
                            1,
                        );
                    }
                    n0 += width;
                }
            }
        }
        // Scatter the tile into the output blocks: (c, j, q) -> (c, q, j).
        for (slot, out) in outs.iter_mut().enumerate() {
            let comps = self.config.target.entries()[out.target].0.components(dim);
            let tile_acc = &acc[starts[slot]..starts[slot + 1]];
            for (c, dst) in out.channels.iter_mut().enumerate() {
                let src = &tile_acc[c * comps * top..(c + 1) * comps * top];
                if comps == 1 {
                    dst.copy_from_slice(src);
                } else {
                    interleave(src, top, dst, comps);
                }
            }
        }
    }
}

/// The part of one output block that a tile writes: for each channel, its output rows.
struct TileOut<'a> {
    target: usize,
    channels: Vec<&'a mut [f32]>,
}

/// matrixmultiply (with its `threading` feature) uses more than one thread once
/// `m·k + k·n` reaches this size; the layer's GEMMs stay below it.
const GEMM_THREADING_SIZE: usize = 2 << 14;

/// ginjax's `get_metric_inverse` default eps.
const METRIC_EPS: f32 = 1e-5;

/// Output pixels per tile (whole rows along axis 0) of the dynamic path, so that a tile's
/// inputs and responses stay in cache between the stencil and the GEMM.
const TILE_PIXELS: usize = 512;

/// Per-thread buffers reused across tiles and calls.
#[derive(Default)]
struct Scratch {
    inputs: Vec<f32>,
    responses: Vec<f32>,
    acc: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Makes `buf` at least `len` long (contents unspecified; every user overwrites).
fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

/// Fills `dst` with every channel of `block` over the padded region of `tables` (see
/// [`pad_region`]): channel `c` at `c · comps · region_pixels`, component-major.
#[inline(always)]
fn pad_block(block: &ImageBlock, tables: &[&[isize]], dst: &mut [f32]) {
    let spatial = block.geometry().spatial();
    let mut in_strides = vec![1usize; spatial.len()];
    for ax in (0..spatial.len() - 1).rev() {
        in_strides[ax] = in_strides[ax + 1] * spatial[ax + 1];
    }
    let comps = block.components();
    let chan_len = dst.len() / block.channels().max(1);
    for (c, chan) in dst.chunks_exact_mut(chan_len.max(1)).enumerate() {
        pad_region(block.channel(c), comps, &in_strides, tables, chan);
    }
}

/// Fills `dst` (component-major: `comps` planes of the region's pixels) with a region of the
/// padded input: `tables[axis][u]` is the source index along `axis` of region position `u`
/// (-1 for an inserted zero), as given by the padding plan. `src` is one channel,
/// pixel-major `(spatial…, comps)` with pixel strides `in_strides`.
#[inline(always)]
fn pad_region(
    src: &[f32],
    comps: usize,
    in_strides: &[usize],
    tables: &[&[isize]],
    dst: &mut [f32],
) {
    let dim = tables.len();
    let last = dim - 1;
    let line_len = tables[last].len();
    let region: usize = tables.iter().map(|t| t.len()).product();
    let n_lines = region / line_len;
    // Runs of the last axis: consecutive source pixels, or inserted zeros.
    let mut runs: Vec<Run> = Vec::new();
    for (u, &s) in tables[last].iter().enumerate() {
        let src = (s >= 0).then_some(s as usize);
        match runs.last_mut() {
            Some(run)
                if match (run.src, src) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a + run.len == b,
                    _ => false,
                } =>
            {
                run.len += 1
            }
            _ => runs.push(Run {
                dst: u,
                src,
                len: 1,
            }),
        }
    }
    let mut idx = [0usize; crate::image::MAX_DIM];
    for line in 0..n_lines {
        let mut base = Some(0usize);
        for ax in 0..last {
            let s = tables[ax][idx[ax]];
            if s < 0 {
                base = None;
                break;
            }
            base = base.map(|b| b + s as usize * in_strides[ax]);
        }
        let line_start = line * line_len;
        match base {
            None => {
                for a in 0..comps {
                    dst[a * region + line_start..a * region + line_start + line_len].fill(0.0);
                }
            }
            Some(b) => {
                for run in &runs {
                    let start = line_start + run.dst;
                    match run.src {
                        None => {
                            for a in 0..comps {
                                dst[a * region + start..a * region + start + run.len].fill(0.0);
                            }
                        }
                        Some(s) if comps == 1 => {
                            dst[start..start + run.len]
                                .copy_from_slice(&src[b + s..b + s + run.len]);
                        }
                        Some(s) => deinterleave(
                            &src[(b + s) * comps..(b + s + run.len) * comps],
                            comps,
                            &mut dst[start..],
                            region,
                        ),
                    }
                }
            }
        }
        for ax in (0..last).rev() {
            idx[ax] += 1;
            if idx[ax] < tables[ax].len() {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// A run of padded positions along the last axis: `len` positions from `dst` that read
/// consecutive source pixels from `src` (`None`: zeros).
struct Run {
    dst: usize,
    src: Option<usize>,
    len: usize,
}

/// Adds the bias of one output block in ginjax's layout `(out_c, pixels, comps)`.
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
        let channel = &mut data[c * pixels * comps..(c + 1) * pixels * comps];
        if additive {
            channel.iter_mut().for_each(|v| *v += b);
        } else if mean_scaled {
            let mut means = vec![0.0f64; comps];
            for pixel in channel.chunks_exact(comps) {
                for (m, &v) in means.iter_mut().zip(pixel) {
                    *m += v as f64;
                }
            }
            let shifts: Vec<f32> = means
                .iter()
                .map(|m| (m / pixels as f64) as f32 * b)
                .collect();
            for pixel in channel.chunks_exact_mut(comps) {
                for (v, s) in pixel.iter_mut().zip(&shifts) {
                    *v += s;
                }
            }
        }
    }
}

impl Layer for ConvContract {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.forward_impl(input, true, None)
    }

    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        *output = self.forward_impl(input, true, Some(output))?;
        Ok(())
    }
}
