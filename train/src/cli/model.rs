//! The model seam: the one place where the command line tool meets a network.
//!
//! The rest of [`cli`](super) sees a model only through this module:
//!
//! - [`ModelSpec`]: the `model` section of a run configuration (serde, unknown keys
//!   rejected): which of ginjax's models ([`Architecture`]), equivariant or the baseline, and
//!   the constructor options, named as in ginjax's `models.py`;
//! - [`ModelIo`]: the input and output signatures and the dimension the data fixes (the
//!   constant fields and the past `p` frames stacked along the channels → the next frame);
//! - [`build_model`]: the trainable burn [`Model`] of a spec for those signatures
//!   ([`ModelSpec::config`] is its [`ModelConfig`]); checkpoints are burn records of it;
//! - [`export_json`] and [`RuntimeModel`]: a trained model as the runtime's model file
//!   ([`ginrs_runtime::ModelFile`]) and back on the runtime's inference path.
//!
//! On a periodic grid the baseline's convolutions pad circularly (equinox's
//! `padding_mode="CIRCULAR"`), as the equivariant convolutions' torus padding does; on any
//! other they pad with zeros, as ginjax pads the equivariant convolutions off the torus.

use std::path::Path;

use burn::tensor::Device;
use ginrs_runtime::models::{BaselinePadding, FilterSpec, ModelKind};
use ginrs_runtime::{Layer, ModelConfig, ModelFile, MultiImage, NormParity, Origin, Signature};
use serde::{Deserialize, Serialize};

use super::error::CliError;
use crate::models::Model;

/// One of ginjax's models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// ginjax's `UNet`: `num_downsamples` pooled levels of `num_conv` convolutions, skip
    /// concatenations, transposed-convolution upsampling. The grid side must be divisible
    /// by `2^num_downsamples`.
    Unet,
    /// ginjax's `ResNet`: `num_blocks` residual blocks of `num_conv` convolutions.
    #[default]
    Resnet,
    /// ginjax's `DilResNet`: `num_blocks` residual blocks of dilated convolutions (dilations
    /// 1, 2, 4, 8, 4, 2, 1).
    Dilresnet,
}

impl Architecture {
    /// The runtime's model kind.
    pub fn kind(self) -> ModelKind {
        match self {
            Self::Unet => ModelKind::UNet,
            Self::Resnet => ModelKind::ResNet,
            Self::Dilresnet => ModelKind::DilResNet,
        }
    }
}

/// Which bias the norms give pseudoscalar keys (the runtime's [`NormParity`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum NormMode {
    /// ginjax's `LayerNorm`: a learned bias on every scalar-order key, pseudoscalars
    /// included, which is not odd under reflections.
    Ginjax,
    /// No bias on pseudoscalar keys: equivariant under all of B_2 (the default for models
    /// trained by ginrs).
    #[default]
    ParityCorrect,
}

impl NormMode {
    /// The runtime's mode.
    pub fn parity(self) -> NormParity {
        match self {
            Self::Ginjax => NormParity::Ginjax,
            Self::ParityCorrect => NormParity::ParityCorrect,
        }
    }
}

/// The `model` section of a run configuration; the options default to ginjax's, but for the
/// norms' parity mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// The architecture.
    pub kind: Architecture,
    /// Equivariant layers (`true`) or ginjax's non-equivariant baseline (`false`:
    /// `equivariant=False`, ordinary convolutions on the fields' components as scalars).
    pub equivariant: bool,
    /// Channels per key of the middle layers (ginjax's `depth`), ≥ 1.
    pub depth: usize,
    /// ResNet and DilResNet: residual blocks (absent: ginjax's 8 and 4).
    pub num_blocks: Option<usize>,
    /// UNet and ResNet: convolutions per level or block (absent: 2).
    pub num_conv: Option<usize>,
    /// UNet: pooled levels (absent: 4).
    pub num_downsamples: Option<usize>,
    /// Filter side, odd: the equivariant convolutions' invariant filters and the baseline's
    /// kernels.
    pub kernel_size: usize,
    /// The equivariant filters' largest tensor order (orders `0..=max_k`, both parities).
    pub max_k: usize,
    /// Normalise in the blocks (absent: ginjax's default, on for ResNet only). ginjax's
    /// `LayerNorm` gives scalar-order keys equinox's `GroupNorm`, whose learned bias is not
    /// odd under reflections: on pseudoscalar fields (the vorticity) a normalised model is
    /// equivariant to rotations only, unless `norm_parity` is `parity_correct` (the default).
    pub use_group_norm: Option<bool>,
    /// The norms' treatment of pseudoscalar keys (with `use_group_norm`).
    pub norm_parity: NormMode,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            kind: Architecture::default(),
            equivariant: true,
            depth: 8,
            num_blocks: None,
            num_conv: None,
            num_downsamples: None,
            kernel_size: 3,
            max_k: 2,
            use_group_norm: None,
            norm_parity: NormMode::default(),
        }
    }
}

impl ModelSpec {
    /// Checks the fields the configuration owns; the first violation names the field. (The
    /// model's own constraints are checked by [`ModelSpec::config`].)
    pub fn validate(&self) -> Result<(), CliError> {
        let bad = |field, value: usize, requirement: &str| CliError::Invalid {
            field,
            value: value.to_string(),
            requirement: requirement.into(),
        };
        if self.depth == 0 {
            return Err(bad("model.depth", self.depth, "must be at least 1"));
        }
        if self.kernel_size.is_multiple_of(2) {
            return Err(bad("model.kernel_size", self.kernel_size, "must be odd"));
        }
        for (field, value) in [
            ("model.num_blocks", self.num_blocks),
            ("model.num_conv", self.num_conv),
            ("model.num_downsamples", self.num_downsamples),
        ] {
            if value == Some(0) {
                return Err(bad(field, 0, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Checks that the model can run on a `grid × grid` image: a UNet halves the side
    /// `num_downsamples` times.
    pub fn check_grid(&self, spatial: &[usize]) -> Result<(), CliError> {
        if self.kind != Architecture::Unet {
            return Ok(());
        }
        let levels = self.num_downsamples.unwrap_or(4);
        let factor = 1usize.checked_shl(levels as u32).unwrap_or(usize::MAX);
        if let Some(side) = spatial.iter().find(|s| !s.is_multiple_of(factor)) {
            let grid: Vec<String> = spatial.iter().map(usize::to_string).collect();
            return Err(CliError::Invalid {
                field: "model.num_downsamples",
                value: levels.to_string(),
                requirement: format!(
                    "a UNet pools the {} grid {levels} times: every side must be divisible by \
                     2^{levels} = {factor}, and {side} is not",
                    grid.join(" × ")
                ),
            });
        }
        Ok(())
    }

    /// The model configuration of this spec for the signatures and dimension of `io`, validated as
    /// ginjax's constructors validate their arguments.
    pub fn config(&self, io: &ModelIo) -> Result<ModelConfig, CliError> {
        self.validate()?;
        let normalised = self
            .use_group_norm
            .unwrap_or(self.kind == Architecture::Resnet);
        let high_order = io
            .input
            .entries()
            .iter()
            .chain(io.output.entries())
            .map(|(key, _)| key.k())
            .max()
            .filter(|&k| k >= 2);
        if let (true, true, Some(k)) = (normalised, self.equivariant, high_order) {
            return Err(CliError::Invalid {
                field: "model.use_group_norm",
                value: "true".into(),
                requirement: format!(
                    "ginjax's LayerNorm normalises keys of order k ≤ 1, and the data has a \
                     field of order {k}: set use_group_norm = false (--use-group-norm false)"
                ),
            });
        }
        let kind = self.kind.kind();
        let mut config = ModelConfig::new(
            kind,
            io.dim,
            io.input.clone(),
            io.output.clone(),
            self.depth,
        );
        config.num_blocks = self.num_blocks;
        config.num_conv = self.num_conv;
        config.num_downsamples = self.num_downsamples;
        config.use_group_norm = self.use_group_norm;
        config.norm_parity = self.norm_parity.parity();
        if self.equivariant {
            config.conv_filters = Some(FilterSpec::up_to(self.kernel_size, self.max_k));
            config.upsample_filters =
                (kind == ModelKind::UNet).then(|| FilterSpec::up_to(2, self.max_k));
        } else {
            config.equivariant = false;
            config.conv_filters = None;
            config.upsample_filters = None;
            config.kernel_size = Some(self.kernel_size);
            // equinox's convolutions have one padding mode for all axes: circular where every
            // axis is periodic, zeros (ginjax's default) otherwise.
            config.padding_mode = if io.periodic {
                BaselinePadding::Circular
            } else {
                BaselinePadding::Zeros
            };
        }
        config.validate().map_err(ginrs_runtime::Error::from)?;
        Ok(config)
    }
}

/// The signatures a network maps between, and the grid's dimension and boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIo {
    /// The input signature (the constant fields and the past frames stacked along the
    /// channels).
    pub input: Signature,
    /// The output signature (one frame).
    pub output: Signature,
    /// The spatial dimension d.
    pub dim: usize,
    /// Whether every axis is periodic (the baseline then pads circularly).
    pub periodic: bool,
}

/// The trainable model of `spec` mapping `io.input` to `io.output` on `device`, initialised
/// from `seed` (as the runtime's [`ginrs_runtime::Model::new`] initialises it).
pub fn build_model(
    spec: &ModelSpec,
    io: &ModelIo,
    device: &Device,
    seed: u64,
) -> Result<Model, CliError> {
    Ok(Model::new(&spec.config(io)?, device, seed)?)
}

/// A model as the runtime's model file (JSON text), with its seam and its `origin`.
pub fn export_json(model: &Model, origin: Option<Origin>) -> Result<String, CliError> {
    let mut file = model.to_file()?;
    file.origin = origin;
    Ok(file.to_json().map_err(ginrs_runtime::Error::from)?)
}

/// A model file on the runtime's inference path.
pub struct RuntimeModel {
    model: ginrs_runtime::Model,
}

impl RuntimeModel {
    /// Reads a model file (written by `ginrs export`, or a ginjax export of a model of the
    /// same signatures).
    pub fn read(path: &Path) -> Result<Self, CliError> {
        Self::from_file(path, &Self::read_file(path)?)
    }

    /// Reads and checks the model file at `path` without building the model.
    pub fn read_file(path: &Path) -> Result<ModelFile, CliError> {
        let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
        ModelFile::from_json(&text).map_err(|e| CliError::ModelFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The runtime model of `file` (read from `path`, which errors name).
    pub fn from_file(path: &Path, file: &ModelFile) -> Result<Self, CliError> {
        let model = ginrs_runtime::Model::from_file(file).map_err(|e| CliError::ModelFile {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self { model })
    }

    /// Applies the model to each image of a batch (in parallel, on the runtime's layers).
    pub fn forward_batch(&self, inputs: &[MultiImage]) -> Result<Vec<MultiImage>, CliError> {
        Ok(self.model.forward_batch(inputs)?)
    }
}
