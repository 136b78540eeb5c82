//! What a [`ConvContract`](super::ConvContract) maps: [`ConvContractConfig`] and its
//! [`BiasMode`].

use crate::image::Signature;
use crate::ops::padding::ConvOptions;

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

/// What a [`ConvContract`](super::ConvContract) maps: signatures, bias mode, convolution options, and whether
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
