//! [`ModelConfig`]: the constructor options of ginjax's `UNet`, `ResNet` and `DilResNet`
//! (`ginjax/models.py`), with ginjax's defaults per architecture.

use thiserror::Error;

use crate::image::Signature;
use crate::layers::conv_contract::BiasMode;
use crate::layers::group_norm::NormParity;
use crate::layers::nonlinear::Activation;

/// Which of ginjax's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// `UNet` (arXiv:1505.04597): embedding blocks, max-norm-pooled downsampling levels,
    /// lhs-dilated upsampling with skip concatenations, a decoding convolution.
    UNet,
    /// `ResNet`: two encoder blocks, residual blocks, two decoder blocks.
    ResNet,
    /// `DilResNet` (arXiv:2112.15275): like `ResNet` with blocks of dilations 1, 2, 4, 8, 4, 2, 1.
    DilResNet,
}

impl ModelKind {
    /// ginjax's class name (`"UNet"`, `"ResNet"`, `"DilResNet"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::UNet => "UNet",
            Self::ResNet => "ResNet",
            Self::DilResNet => "DilResNet",
        }
    }

    /// The kind of ginjax's class `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "UNet" => Some(Self::UNet),
            "ResNet" => Some(Self::ResNet),
            "DilResNet" => Some(Self::DilResNet),
            _ => None,
        }
    }
}

/// The invariant filter bank a model's equivariant convolutions use: ginjax's
/// `get_invariant_filters([size], ks, [0, 1], D, make_all_operators(D))`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FilterSpec {
    /// Filter side M (3 for the convolutions, 2 for UNet's upsampling in ginjax's examples).
    pub size: usize,
    /// The filter orders k in the bank.
    pub ks: Vec<usize>,
}

impl FilterSpec {
    /// A bank of side `size` with orders `0..=max_k`.
    pub fn up_to(size: usize, max_k: usize) -> Self {
        Self {
            size,
            ks: (0..=max_k).collect(),
        }
    }
}

/// How a non-equivariant (baseline) convolution pads with `'SAME'` padding: equinox's
/// `padding_mode`. The equivariant convolutions pad by the input's geometry instead (torus
/// axes wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BaselinePadding {
    /// `"ZEROS"` (ginjax's default).
    #[default]
    Zeros,
    /// `"CIRCULAR"`: periodic, what a torus needs.
    Circular,
}

impl BaselinePadding {
    /// equinox's name (`"ZEROS"`, `"CIRCULAR"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Zeros => "ZEROS",
            Self::Circular => "CIRCULAR",
        }
    }

    /// The mode equinox calls `name`; `None` for modes ginrs does not implement
    /// (`"REFLECT"`, `"REPLICATE"`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ZEROS" => Some(Self::Zeros),
            "CIRCULAR" => Some(Self::Circular),
            _ => None,
        }
    }
}

/// A model configuration that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelConfigError {
    /// The spatial dimension is not 1, 2 or 3.
    #[error("model: dimension D = {0} is not 1, 2 or 3")]
    Dimension(usize),
    /// A count that must be positive is zero.
    #[error("model: {what} must be at least 1")]
    Zero {
        /// The option's ginjax name.
        what: &'static str,
    },
    /// An option the architecture does not have was set.
    #[error("model: {kind} has no option {what}")]
    NotAnOption {
        /// The architecture.
        kind: &'static str,
        /// The option's ginjax name.
        what: &'static str,
    },
    /// A non-equivariant model needs `kernel_size`.
    #[error("model: a non-equivariant {0} needs kernel_size")]
    KernelSize(&'static str),
    /// An equivariant UNet needs `upsample_filters`.
    #[error("model: an equivariant UNet needs upsample_filters")]
    UpsampleFilters,
    /// A custom activation has no name a model file could store.
    #[error("model: the activation must be relu, gelu or tanh, not a custom function")]
    CustomActivation,
    /// A signature with no keys.
    #[error("model: {0} is empty")]
    EmptySignature(&'static str),
    /// Group norm with a signature whose channels cannot all be normalised.
    #[error("model: {what} is out of range ({detail})")]
    Range {
        /// The option.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

/// The constructor options of ginjax's `UNet`, `ResNet` and `DilResNet`.
///
/// Options that only some architectures have are `Option`s: `None` means ginjax's default for
/// the architecture ([`ModelConfig::num_blocks`] and friends give the effective values), and
/// setting one the architecture lacks is an error of [`ModelConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The architecture.
    pub kind: ModelKind,
    /// Spatial dimension D.
    pub dim: usize,
    /// Input signature.
    pub input_keys: Signature,
    /// Output signature.
    pub output_keys: Signature,
    /// Channels per key of the middle layers (ignored when `mid_keys` is given).
    pub depth: usize,
    /// Middle signature; default: every key of the input and output with `depth` channels
    /// (ginjax's `signature_union`), or `depth` scalars for a non-equivariant model.
    pub mid_keys: Option<Signature>,
    /// UNet: number of pooled levels (default 4).
    pub num_downsamples: Option<usize>,
    /// UNet and ResNet: convolution blocks per level or residual block (default 2).
    pub num_conv: Option<usize>,
    /// ResNet (default 8) and DilResNet (default 4): residual blocks.
    pub num_blocks: Option<usize>,
    /// Bias of every convolution (default `'auto'`).
    pub use_bias: BiasMode,
    /// The activation: `Some(activation)` or `None` for none; default `gelu` (UNet, ResNet)
    /// or `relu` (DilResNet).
    pub activation: Option<Option<Activation>>,
    /// Equivariant (ConvContract, LayerNorm, vector neurons) or the ordinary-CNN baseline.
    pub equivariant: bool,
    /// The equivariant convolutions' filters.
    pub conv_filters: Option<FilterSpec>,
    /// UNet's equivariant upsampling filters.
    pub upsample_filters: Option<FilterSpec>,
    /// Kernel side of the baseline's convolutions.
    pub kernel_size: Option<usize>,
    /// Normalise after (or, preactivated, before) each convolution; default true for ResNet,
    /// false otherwise.
    pub use_group_norm: Option<bool>,
    /// ResNet: norm → activation → convolution inside the residual blocks (default true).
    pub preactivation_order: Option<bool>,
    /// Padding mode of the baseline's convolutions.
    pub padding_mode: BaselinePadding,
    /// Whether the equivariant norms (ginjax's `LayerNorm`) give pseudoscalar keys a learned
    /// bias: [`NormParity::Ginjax`] (the default, ginjax's layer) or
    /// [`NormParity::ParityCorrect`] (no bias on parity-1 scalar keys, so that the model is
    /// equivariant under reflections when its data has pseudoscalars; see
    /// [`crate::layers::group_norm`]). Every norm the model builds follows it; the baseline's
    /// norm sees only parity-0 scalars, on which both modes agree. Not a ginjax option: a
    /// model file stores it as `norm_parity` only when it is not ginjax's.
    pub norm_parity: NormParity,
}

impl ModelConfig {
    /// An equivariant model of `kind` with ginjax's defaults and the usual banks: side-3
    /// filters of orders 0..=2 and, for UNet, side-2 upsampling filters of orders 0..=2.
    pub fn new(
        kind: ModelKind,
        dim: usize,
        input_keys: Signature,
        output_keys: Signature,
        depth: usize,
    ) -> Self {
        Self {
            kind,
            dim,
            input_keys,
            output_keys,
            depth,
            mid_keys: None,
            num_downsamples: None,
            num_conv: None,
            num_blocks: None,
            use_bias: BiasMode::Auto,
            activation: None,
            equivariant: true,
            conv_filters: Some(FilterSpec::up_to(3, 2)),
            upsample_filters: (kind == ModelKind::UNet).then(|| FilterSpec::up_to(2, 2)),
            kernel_size: None,
            use_group_norm: None,
            preactivation_order: None,
            padding_mode: BaselinePadding::Zeros,
            norm_parity: NormParity::Ginjax,
        }
    }

    /// UNet's number of pooled levels.
    pub fn num_downsamples(&self) -> usize {
        self.num_downsamples.unwrap_or(4)
    }

    /// Convolution blocks per UNet level or per ResNet block.
    pub fn num_conv(&self) -> usize {
        self.num_conv.unwrap_or(2)
    }

    /// Residual blocks of a ResNet or DilResNet.
    pub fn num_blocks(&self) -> usize {
        self.num_blocks.unwrap_or(match self.kind {
            ModelKind::ResNet => 8,
            _ => 4,
        })
    }

    /// The activation of the blocks (`None`: identity).
    pub fn activation(&self) -> Option<Activation> {
        match &self.activation {
            Some(activation) => activation.clone(),
            None => Some(match self.kind {
                ModelKind::DilResNet => Activation::Relu,
                _ => Activation::Gelu,
            }),
        }
    }

    /// Whether the blocks normalise.
    pub fn use_group_norm(&self) -> bool {
        self.use_group_norm
            .unwrap_or(self.kind == ModelKind::ResNet)
    }

    /// Whether ResNet's residual blocks use the preactivation order.
    pub fn preactivation_order(&self) -> bool {
        self.preactivation_order.unwrap_or(true)
    }

    /// Checks the options against the architecture, as ginjax's constructors assert them.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        let kind = self.kind.name();
        if !(1..=3).contains(&self.dim) {
            return Err(ModelConfigError::Dimension(self.dim));
        }
        if self.input_keys.is_empty() {
            return Err(ModelConfigError::EmptySignature("input_keys"));
        }
        if self.output_keys.is_empty() {
            return Err(ModelConfigError::EmptySignature("output_keys"));
        }
        let not_an_option = |what| Err(ModelConfigError::NotAnOption { kind, what });
        match self.kind {
            ModelKind::UNet => {
                if self.num_blocks.is_some() {
                    return not_an_option("num_blocks");
                }
                if self.preactivation_order.is_some() {
                    return not_an_option("preactivation_order");
                }
            }
            ModelKind::ResNet => {
                if self.num_downsamples.is_some() {
                    return not_an_option("num_downsamples");
                }
            }
            ModelKind::DilResNet => {
                if self.num_downsamples.is_some() {
                    return not_an_option("num_downsamples");
                }
                if self.num_conv.is_some() {
                    return not_an_option("num_conv");
                }
                if self.preactivation_order.is_some() {
                    return not_an_option("preactivation_order");
                }
            }
        }
        if self.kind != ModelKind::UNet && self.upsample_filters.is_some() && self.equivariant {
            return not_an_option("upsample_filters");
        }
        if matches!(self.kind, ModelKind::UNet | ModelKind::ResNet) && self.num_conv() == 0 {
            return Err(ModelConfigError::Zero { what: "num_conv" });
        }
        let mid_channels = match &self.mid_keys {
            Some(mid) => mid.entries().iter().all(|(_, c)| *c > 0) && !mid.is_empty(),
            None => self.depth > 0,
        };
        if !mid_channels {
            return Err(ModelConfigError::Zero { what: "depth" });
        }
        if matches!(self.activation, Some(Some(Activation::Custom(_)))) {
            return Err(ModelConfigError::CustomActivation);
        }
        if self.equivariant {
            let filters = self.conv_filters.as_ref().ok_or(ModelConfigError::Range {
                what: "conv_filters",
                detail: "an equivariant model needs conv_filters".into(),
            })?;
            if filters.size == 0 {
                return Err(ModelConfigError::Zero {
                    what: "conv_filters size",
                });
            }
            if self.kind == ModelKind::UNet && self.upsample_filters.is_none() {
                return Err(ModelConfigError::UpsampleFilters);
            }
        } else {
            match self.kernel_size {
                None => return Err(ModelConfigError::KernelSize(kind)),
                Some(0) => {
                    return Err(ModelConfigError::Zero {
                        what: "kernel_size",
                    })
                }
                Some(_) => {}
            }
        }
        if self.kind == ModelKind::UNet {
            let levels = self.num_downsamples();
            if levels > 16 {
                return Err(ModelConfigError::Range {
                    what: "num_downsamples",
                    detail: format!("{levels} levels multiply the channels by 2^{levels}"),
                });
            }
        }
        Ok(())
    }
}
