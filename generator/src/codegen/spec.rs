//! The parsed form of an `#[equivariant_layer(...)]` attribute, every value with its span.

use proc_macro2::Span;

use crate::pairs;

/// A tensor type: order k and parity p (1 marks a pseudo-tensor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// Tensor order k.
    pub k: usize,
    /// Parity, 0 or 1.
    pub parity: u8,
}

impl TensorType {
    /// The name users write: `scalar`, `pseudoscalar`, `vector`, `pseudovector` or `(k, p)`.
    pub fn name(self) -> String {
        pairs::type_name(self.pair_type())
    }

    /// As the `(k, parity)` of the shared pair rules.
    pub fn pair_type(self) -> pairs::TensorType {
        (self.k, self.parity)
    }

    /// Number of tensor components per pixel, d^k.
    pub fn components(self, dim: usize) -> usize {
        dim.pow(self.k as u32)
    }
}

/// One entry `type: channels` of a declared signature.
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    /// The tensor type.
    pub ty: TensorType,
    /// The channel count (positive).
    pub channels: usize,
    /// Span of the type token(s).
    pub span: Span,
}

/// The bias mode, as ginjax's `use_bias`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiasSpec {
    /// Additive bias on scalars, mean-scaled bias on every other type (ginjax's default).
    Auto,
    /// Mean-scaled bias on every type.
    Mean,
    /// Additive bias on scalars; every other output type is dropped (as ginjax does).
    Scalar,
    /// No bias.
    None,
}

impl BiasSpec {
    /// The name users write.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Mean => "mean",
            Self::Scalar => "scalar",
            Self::None => "none",
        }
    }
}

/// The padding mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaddingSpec {
    /// Wrap around toroidal axes, zero-pad the others by (M−1)/2·dilation (ginjax's default).
    Torus,
    /// Zero padding (M−1)/2·dilation on both sides of every axis.
    Same,
    /// No padding.
    Valid,
    /// Explicit zero padding `(lo, hi)` per spatial axis.
    Explicit(Vec<(usize, usize)>),
}

/// Which filter bank convention the layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConventionSpec {
    /// ginjax's order, signs and scale (weights trained in ginjax load unchanged).
    Ginjax,
    /// The exact canonical bank of the generator.
    Canonical,
}

/// A value with the span of the tokens it was parsed from.
#[derive(Debug, Clone, Copy)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// Everything an `#[equivariant_layer(...)]` attribute declares.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    /// Spatial dimension d.
    pub dim: Spanned<usize>,
    /// Filter side length M.
    pub filter_size: Spanned<usize>,
    /// The input signature, in declared order.
    pub input: Vec<BlockSpec>,
    /// The output signature, in declared order.
    pub output: Vec<BlockSpec>,
    /// The bias mode (default auto).
    pub bias: BiasSpec,
    /// The padding (default torus) with its span.
    pub padding: Spanned<PaddingSpec>,
    /// Stride on every axis (default 1).
    pub stride: usize,
    /// Filter dilation on every axis (default 1).
    pub dilation: usize,
    /// Filter bank convention (default ginjax).
    pub convention: ConventionSpec,
    /// Drop mappings without invariant filters instead of failing.
    pub allow_missing: bool,
}
