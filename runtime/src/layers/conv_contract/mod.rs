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
//! On CPUs with AVX-512 and contiguous output rows, layers whose kernels are the sparse tap
//! tables of a bank run steps 2–3 per chunk of at most 64 output pixels instead (the
//! schedule of generated layers, `chunked`), so that responses stay in L1 and the channel mix
//! is a register-blocked product rather than a general GEMM.
//!
//! Layers in which every output pixel meets at most one filter tap that is not an inserted
//! zero (ginjax UNet's upsampling: lhs dilation 2, side-2 filters) skip the padding and the
//! stencils altogether: per filter pixel, the weights and filter values fold into one dense
//! matrix applied to the input pixels under it (`single_tap`).
//!
//! [`ConvContract::convolve_with`], [`ConvContract::convolve_adjoint`] and
//! [`ConvContract::weight_gradient`] give the convolution's gradients for training, with
//! caller-given weights (the `grad` module); [`AdjointConv`] runs the input gradient as the
//! forward pass of the transposed layer and reads the weight gradient off its response panels
//! (the `transpose` module); [`ConvContract::add_bias_with`] and
//! [`ConvContract::bias_backward`] those of the bias (the `bias` module).
//!
//! [`ConvContract::flops_per_output_pixel`] counts the work: stencil flops, GEMM
//! multiply-adds, and the dense-equivalent multiply-adds of ginjax's route.
//!
//! Output blocks appear in the order in which pairs first reach them (ginjax's order).
//! Weights have ginjax's shapes `(out_c, in_c, n_filters)` and serialise through
//! [`crate::io::weights::LayerWeights`].
//!
//! # Divergences from ginjax 0.1.8 (deliberate)
//!
//! Where this layer differs from `ConvContract` in ginjax/ml/layers.py
//! (<https://github.com/WilsonGregory/ginjax/blob/main/ginjax/ml/layers.py>):
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

mod bias;
pub(crate) mod build;
pub(crate) mod chunked;
mod config;
mod flops;
mod grad;
mod metric;
mod single_tap;
mod sparse_chunks;
mod tile;
mod tiles;
mod transpose;
mod weights;

use ginrs_generator::pairs as pair_rules;
use thiserror::Error;

pub use config::{BiasMode, ConvContractConfig};
pub use transpose::AdjointConv;

use crate::error::Error;
use crate::image::{MultiImage, Signature, TensorKey};
use crate::kernels::stencil::{KernelError, ResponseKernel};
use crate::layers::layer::Layer;

/// Errors from building a [`ConvContract`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConvContractError {
    /// No invariant filter realises a requested mapping.
    #[error("{}", missing_filter_text(*.dim, *.side, .input, .output, .filter_key, *.cause))]
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
        /// Why the bank has no filter of that key.
        cause: MissingFilterCause,
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
    /// Flat weights given to [`ConvContract::convolve_with`] or
    /// [`ConvContract::convolve_adjoint`] do not have [`ConvContract::weight_len`] values.
    #[error("expected {expected} weight values (Σ out_c · in_c · n_f over the pairs), got {got}")]
    WeightLength {
        /// The layer's weight count.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// Biases (or bias means) given to [`ConvContract::add_bias_with`] or
    /// [`ConvContract::bias_backward`] do not have the layer's count.
    #[error("expected {expected} {what}, got {got}")]
    BiasLength {
        /// What was counted.
        what: &'static str,
        /// The layer's count ([`ConvContract::bias_len`] or [`ConvContract::bias_means_len`]).
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// An output gradient whose spatial sides are not the convolution's output sides.
    #[error(
        "the output gradient has spatial sides {got:?}, the convolution's output has {expected:?}"
    )]
    GradientGeometry {
        /// The convolution's output sides.
        expected: Vec<usize>,
        /// The gradient's sides.
        got: Vec<usize>,
    },
    /// Input blocks given as values to [`AdjointConv::apply_with_weight_gradient`] (or the
    /// input gradient's slices given to its `_into` form) do not have the input signature's
    /// lengths on the input geometry.
    #[error("the input blocks have {got:?} values, the layer's input needs {expected:?}")]
    InputBlocks {
        /// The values of each block of the layer's input.
        expected: Vec<usize>,
        /// The values given per block.
        got: Vec<usize>,
    },
    /// The adjoint convolution (the input gradient) does not support a wrap-padded axis with a
    /// stride or lhs dilation.
    #[error(
        "axis {axis} is wrap-padded (torus) with stride {stride} and lhs dilation          {lhs_dilation}: the adjoint convolution supports wrap padding only with stride 1 and          no lhs dilation"
    )]
    AdjointUnsupported {
        /// The axis.
        axis: usize,
        /// Its stride.
        stride: usize,
        /// Its lhs dilation.
        lhs_dilation: usize,
    },
    /// A pair's kernel cannot build its adjoint stencil (only kernels built from a dense bank
    /// can; generated kernels cannot).
    #[error("the kernel of {input:?} -> {output:?} has no adjoint stencil")]
    NoAdjointKernel {
        /// Input key.
        input: TensorKey,
        /// Target key.
        output: TensorKey,
    },
}

/// Why a pair has no filters ([`ConvContractError::MissingFilter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MissingFilterCause {
    /// The bank was built without the filter order k_in + k_out (its blocks of that order,
    /// even empty ones, were never computed).
    OrderNotInBank,
    /// There are no invariant filters of that order and parity for this d and M (or a
    /// supplied kernel set has none for the pair).
    NoInvariantFilter,
}

fn missing_filter_text(
    dim: usize,
    side: usize,
    input: &TensorKey,
    output: &TensorKey,
    filter_key: &TensorKey,
    cause: MissingFilterCause,
) -> String {
    const REMEDY: &str = "set allow_missing to drop this mapping (as ginjax does silently)";
    let (input, output) = ((input.k(), input.parity()), (output.k(), output.parity()));
    match cause {
        MissingFilterCause::OrderNotInBank => format!(
            "no invariant filter maps `{}` to `{}`: the bank was built without filter order \
             k = {k}; build it with k = {k} among its orders, or {REMEDY}",
            pair_rules::type_name(input),
            pair_rules::type_name(output),
            k = filter_key.k(),
        ),
        MissingFilterCause::NoInvariantFilter => format!(
            "{}; {REMEDY}",
            pair_rules::missing_filter_message(input, output, dim, side)
        ),
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

impl ConvContract {
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
}

impl Layer for ConvContract {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.forward_impl(&input.as_view(), true, None)
    }

    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        *output = self.forward_impl(&input.as_view(), true, Some(output))?;
        Ok(())
    }
}
