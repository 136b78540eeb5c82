//! The model file: one versioned JSON document holding a model's configuration and every
//! parameter by ginjax's tree path, read and written by the runtime and by ginrs-train, and
//! written for ginjax models by `scripts/export_ginjax.py`.
//!
//! ```json
//! {
//!   "format": "ginrs-model",
//!   "version": 1,
//!   "config": {"model": "ResNet", "D": 2,
//!              "input_keys": [{"k": 0, "parity": 0, "covariant_axes": [], "channels": 1}],
//!              "output_keys": [...], "depth": 8, "num_blocks": 2,
//!              "use_bias": "auto", "activation": "gelu", "equivariant": true,
//!              "conv_filters": {"M": 3, "ks": [0, 1, 2]}, "padding_mode": "ZEROS"},
//!   "params": [{"path": ".encoder[0].conv.weights[((), 0)][((), 0)]",
//!               "array": {"shape": [8, 1, 3], "dtype": "float32", "data": [...]}}, ...]
//! }
//! ```
//!
//! `config` uses the names of the constructors' arguments in `ginjax/models.py` (`D`,
//! `input_keys`, `output_keys`, `depth`, `mid_keys`, `num_downsamples`, `num_conv`,
//! `num_blocks`, `use_bias` (`false`, `true`, `"auto"`, `"mean"`, `"scalar"`), `activation`
//! (`"relu"`, `"gelu"`, `"tanh"` or `null` for none), `equivariant`, `conv_filters` and
//! `upsample_filters` (the bank `get_invariant_filters([M], ks, [0, 1], D, …)` as
//! `{"M", "ks"}`), `kernel_size`, `use_group_norm`, `preactivation_order`, `padding_mode`)
//! plus `model` (`"UNet"`, `"ResNet"`, `"DilResNet"`); signatures are lists of
//! `{"k", "parity", "covariant_axes", "channels"}`. One key is not ginjax's: `norm_parity`
//! (`"ginjax"` or `"parity_correct"`, [`crate::layers::group_norm::NormParity`]), written only
//! when it is `"parity_correct"` (no learned bias on pseudoscalar keys of the norms); absent,
//! it is ginjax's mode, so ginjax exports and older files load unchanged. Options left out
//! take ginjax's default for the architecture; unknown fields and unknown values are errors.
//! `params` lists every array leaf of ginjax's model as `(jax.tree_util.keystr path, array)`, the layout of ginjax's tree (and of the
//! training fixtures), so a ginjax export and a model trained by ginrs-train are the same kind
//! of file. ginjax's `invariant_filters` leaves are constants, not parameters: a file may list
//! them (ginjax's tree has them); loading checks that they are a basis of the invariant filters
//! of the bank the configuration names (ginjax's D = 3 banks list them in another order and
//! with other signs than ginrs rebuilds) and uses them, and a file written from such a model
//! lists them again ([`crate::models::filters`]).
//!
//! The file does not record what the input channels mean. A model trained by `ginrs train`
//! takes the past `p` frames stacked along each key's channels, oldest first; the newest
//! frame is the last channel of each key (`input_keys` has `p` channels per key, `output_keys`
//! one: the next frame). Frames fed newest first fit the signature but give wrong predictions.
//!
//! Why JSON rather than safetensors plus a JSON header: the models are small (ginjax's example
//! models have 10³–10⁵ parameters, a few MB of text), the configuration is JSON either way,
//! a whole file can be read and diffed with ordinary tools, and f32 values are written in
//! their shortest round-tripping form, so writing and reading gives back the same bits. The
//! format and version fields let a binary variant be added later without ambiguity.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::io::ginjax_import::bias_mode_from_json;
use crate::io::params::{
    element_count, from_json_text, path_message, signature_from_json, signature_to_json, ArrayJson,
    KeyJson, ParamsError, SignatureEntryJson,
};
use crate::layers::conv_contract::BiasMode;
use crate::layers::group_norm::NormParity;
use crate::layers::nonlinear::Activation;
use crate::models::config::{
    BaselinePadding, FilterSpec, ModelConfig, ModelConfigError, ModelKind,
};
use crate::models::seam::{KeyScaling, Normalization, Seam, SeamError};

/// The `format` field of a model file.
pub const FORMAT: &str = "ginrs-model";

/// The `version` this build reads and writes.
pub const VERSION: u64 = 1;

/// Errors from reading or writing a model file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelFileError {
    /// The text is not JSON of the model file's form (malformed, truncated, a field of the
    /// wrong type, an unknown field).
    #[error("model file: {location}{}: {message}", param.as_ref().map(|p| format!(" (parameter `{p}`)")).unwrap_or_default())]
    Json {
        /// Where in the document (`params[12].array.data`, `config.depth`).
        location: String,
        /// The path of the parameter entry the error is in, when it is in one whose path was
        /// read.
        param: Option<String>,
        /// serde_json's message.
        message: String,
    },
    /// The document is not a model file.
    #[error("not a ginrs model file: format is {found}, expected \"{FORMAT}\"")]
    Format {
        /// The `format` value found.
        found: String,
    },
    /// The file has a version this build does not read.
    #[error("model file version {found} is not supported (this build reads version {VERSION})")]
    Version {
        /// The `version` value found.
        found: String,
    },
    /// A configuration field has a value ginjax's constructors do not accept.
    #[error("model file: config.{field}: {message}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The configuration's options do not form a model.
    #[error("model file: {0}")]
    Invalid(#[from] ModelConfigError),
    /// A parameter's data length differs from the product of its shape.
    #[error("parameter `{path}`: shape {shape:?} needs {expected} values, the data has {got}")]
    Length {
        /// The parameter's path.
        path: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The product of the shape (`usize::MAX` where it overflows).
        expected: usize,
        /// The data length.
        got: usize,
    },
    /// Two parameters have the same path.
    #[error("parameter `{path}` is listed twice")]
    Duplicate {
        /// The repeated path.
        path: String,
    },
    /// The seam (`residual`, `normalization`) does not fit the configuration.
    #[error("model file: {0}")]
    Seam(Box<SeamError>),
    /// A key of `normalization` is malformed.
    #[error("model file: normalization: {0}")]
    NormalizationKey(String),
    /// A parameter holds NaN or an infinity, which JSON cannot represent.
    #[error("parameter `{path}` holds a non-finite value, which JSON cannot store")]
    NonFinite {
        /// The parameter's path.
        path: String,
    },
}

impl From<SeamError> for ModelFileError {
    fn from(error: SeamError) -> Self {
        Self::Seam(Box::new(error))
    }
}

/// One array leaf of a model: its ginjax tree path (`jax.tree_util.keystr`), shape and
/// row-major f32 data.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedParam {
    /// The tree path, e.g. `.blocks[0][1].conv.weights[((), 0)][((False,), 0)]`.
    pub path: String,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl NamedParam {
    /// A leaf (the caller keeps `data.len()` equal to the product of `shape`; files and
    /// [`crate::models::ParamSet`] check it).
    pub fn new(path: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            path: path.into(),
            shape,
            data,
        }
    }

    /// Checks that the data length is the product of the shape.
    pub fn check_length(&self) -> Result<(), ModelFileError> {
        let expected = element_count(&self.shape);
        if expected != Some(self.data.len()) {
            return Err(ModelFileError::Length {
                path: self.path.clone(),
                shape: self.shape.clone(),
                expected: expected.unwrap_or(usize::MAX),
                got: self.data.len(),
            });
        }
        Ok(())
    }
}

/// A model file: the configuration, the parameters, the seam and where the model came from
/// (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The model's constructor options.
    pub config: ModelConfig,
    /// Every array leaf by tree path, in any order (ginjax's exports list them in tree order,
    /// [`crate::models::Model::to_file`] layer by layer in program order).
    pub params: Vec<NamedParam>,
    /// Field normalisation and residual learning around the network (the file's
    /// `residual` and `normalization`; absent: none, as in ginjax's exports).
    pub seam: Seam,
    /// The training run and checkpoint the model was exported from (`origin`), when known.
    pub origin: Option<Origin>,
}

/// Where a trained model came from: the file's `origin`, which `ginrs eval --runtime`
/// compares with the run it evaluates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The training run's identity (written once, when the run starts).
    pub run: String,
    /// The checkpoint (`best` or `last`).
    pub checkpoint: String,
    /// The epoch of that checkpoint.
    pub epoch: usize,
}

impl ModelFile {
    /// Reads a model file, checking its format, version, configuration (as
    /// [`ModelConfig::validate`]) and every array's length; parameter paths are matched
    /// against the model when it is built.
    pub fn from_json(text: &str) -> Result<Self, ModelFileError> {
        let file: FileJson = match from_json_text(text) {
            Ok(file) => file,
            Err(error) => {
                return Err(header_error(text).unwrap_or_else(|| json_error(text, &error)))
            }
        };
        check_header(&file.format, &file.version)?;
        let config = file.config.to_config()?;
        let seam = Seam {
            residual: file.residual,
            normalization: file
                .normalization
                .as_ref()
                .map(NormalizationJson::to_normalization)
                .transpose()?,
        };
        seam.validate(&config)?;
        let mut params = Vec::with_capacity(file.params.len());
        let mut seen = std::collections::HashSet::with_capacity(file.params.len());
        for entry in file.params {
            let param = NamedParam::new(entry.path, entry.array.shape, entry.array.data);
            param.check_length()?;
            if !seen.insert(param.path.clone()) {
                return Err(ModelFileError::Duplicate { path: param.path });
            }
            params.push(param);
        }
        Ok(Self {
            config,
            params,
            seam,
            origin: file.origin,
        })
    }

    /// The JSON text of the file. Values are written in their shortest form that reads back
    /// to the same f32.
    pub fn to_json(&self) -> Result<String, ModelFileError> {
        self.config.validate()?;
        self.seam.validate(&self.config)?;
        let params = self
            .params
            .iter()
            .map(|p| {
                p.check_length()?;
                if p.data.iter().any(|v| !v.is_finite()) {
                    return Err(ModelFileError::NonFinite {
                        path: p.path.clone(),
                    });
                }
                Ok(ParamJson {
                    path: p.path.clone(),
                    array: ArrayJson::new(p.shape.clone(), p.data.clone()),
                })
            })
            .collect::<Result<_, _>>()?;
        let file = FileJson {
            format: Value::from(FORMAT),
            version: Value::from(VERSION),
            config: ConfigJson::from_config(&self.config),
            residual: self.seam.residual,
            normalization: self
                .seam
                .normalization
                .as_ref()
                .map(NormalizationJson::from_normalization),
            origin: self.origin.clone(),
            params,
        };
        Ok(serde_json::to_string(&file).expect("a model file serialises (plain data, finite)"))
    }
}

/// The document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: Value,
    version: Value,
    config: ConfigJson,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    residual: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    normalization: Option<NormalizationJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<Origin>,
    params: Vec<ParamJson>,
}

/// `normalization`: per side, one entry per key (also the serde form of [`Normalization`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NormalizationJson {
    input: Vec<ScalingJson>,
    output: Vec<ScalingJson>,
}

/// One key's scaling: the key's fields and per-channel `shift` and `scale`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalingJson {
    k: usize,
    parity: u8,
    covariant_axes: Vec<bool>,
    shift: Vec<f32>,
    scale: Vec<f32>,
}

impl From<Normalization> for NormalizationJson {
    fn from(n: Normalization) -> Self {
        Self::from_normalization(&n)
    }
}

impl TryFrom<NormalizationJson> for Normalization {
    type Error = ModelFileError;

    fn try_from(json: NormalizationJson) -> Result<Self, ModelFileError> {
        json.to_normalization()
    }
}

impl NormalizationJson {
    fn from_normalization(n: &Normalization) -> Self {
        let side = |scalings: &[KeyScaling]| {
            scalings
                .iter()
                .map(|s| {
                    let key = KeyJson::from(&s.key);
                    ScalingJson {
                        k: key.k,
                        parity: key.parity,
                        covariant_axes: key.covariant_axes,
                        shift: s.shift.clone(),
                        scale: s.scale.clone(),
                    }
                })
                .collect()
        };
        Self {
            input: side(&n.input),
            output: side(&n.output),
        }
    }

    fn to_normalization(&self) -> Result<Normalization, ModelFileError> {
        let side = |entries: &[ScalingJson]| {
            entries
                .iter()
                .map(|e| {
                    if e.parity > 1 {
                        return Err(ModelFileError::NormalizationKey(format!(
                            "parity {} is not 0 or 1",
                            e.parity
                        )));
                    }
                    let key = KeyJson {
                        k: e.k,
                        parity: e.parity,
                        covariant_axes: e.covariant_axes.clone(),
                    }
                    .to_key()
                    .map_err(|err| ModelFileError::NormalizationKey(err.to_string()))?;
                    if e.shift.len() != e.scale.len() {
                        return Err(ModelFileError::NormalizationKey(format!(
                            "key {key}: {} shifts and {} scales",
                            e.shift.len(),
                            e.scale.len()
                        )));
                    }
                    Ok(KeyScaling {
                        key,
                        shift: e.shift.clone(),
                        scale: e.scale.clone(),
                    })
                })
                .collect::<Result<Vec<_>, ModelFileError>>()
        };
        Ok(Normalization {
            input: side(&self.input)?,
            output: side(&self.output)?,
        })
    }
}

/// Just the header, read when the whole document does not parse, to tell "another format or
/// version" from "a broken file".
#[derive(Deserialize)]
struct HeaderJson {
    format: Value,
    version: Value,
}

/// One parameter entry.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamJson {
    path: String,
    array: ArrayJson,
}

/// A filter bank: `{"M": side, "ks": [orders]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterJson {
    #[serde(rename = "M")]
    size: usize,
    ks: Vec<usize>,
}

/// `config`, with ginjax's argument names.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigJson {
    model: String,
    #[serde(rename = "D")]
    dim: usize,
    input_keys: Vec<SignatureEntryJson>,
    output_keys: Vec<SignatureEntryJson>,
    depth: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mid_keys: Option<Vec<SignatureEntryJson>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    num_downsamples: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    num_conv: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    num_blocks: Option<usize>,
    #[serde(default = "auto_bias")]
    use_bias: Value,
    /// Absent: the architecture's default; `null`: no activation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    activation: Option<Option<String>>,
    #[serde(default = "yes")]
    equivariant: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conv_filters: Option<FilterJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upsample_filters: Option<FilterJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    use_group_norm: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preactivation_order: Option<bool>,
    #[serde(default = "zeros_padding")]
    padding_mode: String,
    /// Absent: ginjax's norms ([`NormParity::Ginjax`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    norm_parity: Option<String>,
}

fn auto_bias() -> Value {
    Value::from("auto")
}

fn yes() -> bool {
    true
}

fn zeros_padding() -> String {
    BaselinePadding::Zeros.name().to_string()
}

/// Reads a field that may be `null` as `Some(None)`, so that absent (`None`) and `null`
/// differ.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn bias_to_json(bias: BiasMode) -> Value {
    match bias {
        BiasMode::None => Value::Bool(false),
        BiasMode::Auto => Value::from("auto"),
        BiasMode::Mean => Value::from("mean"),
        BiasMode::Scalar => Value::from("scalar"),
    }
}

impl FilterJson {
    fn from_spec(spec: &FilterSpec) -> Self {
        Self {
            size: spec.size,
            ks: spec.ks.clone(),
        }
    }

    fn to_spec(&self) -> FilterSpec {
        FilterSpec {
            size: self.size,
            ks: self.ks.clone(),
        }
    }
}

impl ConfigJson {
    fn from_config(c: &ModelConfig) -> Self {
        Self {
            model: c.kind.name().to_string(),
            dim: c.dim,
            input_keys: signature_to_json(&c.input_keys),
            output_keys: signature_to_json(&c.output_keys),
            depth: c.depth,
            mid_keys: c.mid_keys.as_ref().map(signature_to_json),
            num_downsamples: c.num_downsamples,
            num_conv: c.num_conv,
            num_blocks: c.num_blocks,
            use_bias: bias_to_json(c.use_bias),
            activation: c
                .activation
                .as_ref()
                .map(|a| a.as_ref().and_then(|a| a.name()).map(str::to_string)),
            equivariant: c.equivariant,
            conv_filters: c.conv_filters.as_ref().map(FilterJson::from_spec),
            upsample_filters: c.upsample_filters.as_ref().map(FilterJson::from_spec),
            kernel_size: c.kernel_size,
            use_group_norm: c.use_group_norm,
            preactivation_order: c.preactivation_order,
            padding_mode: c.padding_mode.name().to_string(),
            norm_parity: (c.norm_parity != NormParity::Ginjax)
                .then(|| c.norm_parity.name().to_string()),
        }
    }

    fn to_config(&self) -> Result<ModelConfig, ModelFileError> {
        let config_error =
            |field: &'static str, message: String| ModelFileError::Config { field, message };
        let kind = ModelKind::from_name(&self.model).ok_or_else(|| {
            config_error(
                "model",
                format!(
                    "unknown model `{}`: expected UNet, ResNet or DilResNet",
                    self.model
                ),
            )
        })?;
        let signature = |field: &'static str, entries: &[SignatureEntryJson]| {
            signature_from_json("model", entries)
                .map_err(|e: ParamsError| config_error(field, e.to_string()))
        };
        let activation = match &self.activation {
            None => None,
            Some(None) => Some(None),
            Some(Some(name)) => Some(Some(Activation::from_name(name).ok_or_else(|| {
                config_error(
                    "activation",
                    format!("unknown activation `{name}`: expected relu, gelu, tanh or null"),
                )
            })?)),
        };
        let padding_mode = BaselinePadding::from_name(&self.padding_mode).ok_or_else(|| {
            config_error(
                "padding_mode",
                format!(
                    "`{}` is not supported: expected ZEROS or CIRCULAR",
                    self.padding_mode
                ),
            )
        })?;
        let norm_parity = match &self.norm_parity {
            None => NormParity::Ginjax,
            Some(name) => NormParity::from_name(name).ok_or_else(|| {
                config_error(
                    "norm_parity",
                    format!("unknown norm_parity `{name}`: expected ginjax or parity_correct"),
                )
            })?,
        };
        let config = ModelConfig {
            kind,
            dim: self.dim,
            input_keys: signature("input_keys", &self.input_keys)?,
            output_keys: signature("output_keys", &self.output_keys)?,
            depth: self.depth,
            mid_keys: self
                .mid_keys
                .as_ref()
                .map(|m| signature("mid_keys", m))
                .transpose()?,
            num_downsamples: self.num_downsamples,
            num_conv: self.num_conv,
            num_blocks: self.num_blocks,
            use_bias: bias_mode_from_json(&self.use_bias)
                .map_err(|e| config_error("use_bias", e.to_string()))?,
            activation,
            equivariant: self.equivariant,
            conv_filters: self.conv_filters.as_ref().map(FilterJson::to_spec),
            upsample_filters: self.upsample_filters.as_ref().map(FilterJson::to_spec),
            kernel_size: self.kernel_size,
            use_group_norm: self.use_group_norm,
            preactivation_order: self.preactivation_order,
            padding_mode,
            norm_parity,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Checks the `format` and `version` fields.
fn check_header(format: &Value, version: &Value) -> Result<(), ModelFileError> {
    if format.as_str() != Some(FORMAT) {
        return Err(ModelFileError::Format {
            found: format.to_string(),
        });
    }
    if version.as_u64() != Some(VERSION) {
        return Err(ModelFileError::Version {
            found: version.to_string(),
        });
    }
    Ok(())
}

/// For a document that does not parse as a model file: the format or version error, when the
/// document is JSON with another format or version.
fn header_error(text: &str) -> Option<ModelFileError> {
    let header: HeaderJson = serde_json::from_str(text).ok()?;
    check_header(&header.format, &header.version).err()
}

/// A parse error, naming the parameter entry it falls in when that entry's path precedes the
/// error in the text (as it does in files written by ginrs and by the exporter).
fn json_error(text: &str, error: &serde_path_to_error::Error<serde_json::Error>) -> ModelFileError {
    let location = error.path().to_string();
    let param = location
        .starts_with("params[")
        .then(|| last_param_path(text, error.inner()))
        .flatten();
    ModelFileError::Json {
        location,
        param,
        message: path_message_inner(error),
    }
}

/// serde_json's message without the path (which [`ModelFileError::Json`] holds).
fn path_message_inner(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let full = path_message(error);
    let path = error.path().to_string();
    full.strip_prefix(&format!("{path}: "))
        .map(str::to_string)
        .unwrap_or(full)
}

/// The value of the last `"path": "..."` before the error's position.
fn last_param_path(text: &str, error: &serde_json::Error) -> Option<String> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let end = (line_start + error.column()).min(text.len());
    let before = text.get(..end)?;
    let at = before.rfind("\"path\"")?;
    let rest = before[at + "\"path\"".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    let close = rest.find('"')?;
    Some(rest[..close].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::TensorKey;
    use crate::test_support::scalars_and_vectors;

    fn file() -> ModelFile {
        let mut config = ModelConfig::new(
            ModelKind::ResNet,
            2,
            scalars_and_vectors(1),
            scalars_and_vectors(1),
            4,
        );
        config.num_blocks = Some(1);
        config.activation = Some(None);
        config.use_bias = BiasMode::Mean;
        ModelFile {
            config,
            params: vec![
                NamedParam::new(".decoder[1].conv.bias[((), 0)]", vec![1], vec![0.1]),
                NamedParam::new(
                    ".decoder[1].conv.weights[((), 0)][((), 0)]",
                    vec![1, 2, 1],
                    vec![0.5, -3.25],
                ),
            ],
            seam: Seam::default(),
            origin: None,
        }
    }

    #[test]
    fn round_trips_the_seam_and_the_origin() {
        let mut file = file();
        let scaling = |key: &TensorKey, shift: f32| KeyScaling {
            key: key.clone(),
            shift: vec![shift],
            scale: vec![0.25],
        };
        let (s, v) = (TensorKey::scalar(), TensorKey::vector());
        file.seam = Seam {
            residual: true,
            normalization: Some(Normalization {
                input: vec![scaling(&s, 1.5), scaling(&v, 0.0)],
                output: vec![scaling(&s, -0.5), scaling(&v, 0.0)],
            }),
        };
        file.origin = Some(Origin {
            run: "abc".into(),
            checkpoint: "best".into(),
            epoch: 3,
        });
        let text = file.to_json().unwrap();
        assert!(text.contains(r#""residual":true"#), "{text}");
        assert_eq!(ModelFile::from_json(&text).unwrap(), file);
        // A shifted vector breaks equivariance: refused on reading.
        let bad = text.replacen(r#""shift":[0.0]"#, r#""shift":[0.5]"#, 1);
        assert!(
            matches!(
                ModelFile::from_json(&bad),
                Err(ModelFileError::Seam(e)) if matches!(*e, SeamError::Shift { .. })
            ),
            "{bad}"
        );
        // Files without the fields (ginjax exports, older files) have no seam.
        let plain = ModelFile::from_json(&super::tests::file().to_json().unwrap()).unwrap();
        assert!(plain.seam.is_identity() && plain.origin.is_none());
    }

    #[test]
    fn round_trips_config_and_exact_values() {
        let file = file();
        let text = file.to_json().unwrap();
        assert!(text.starts_with(r#"{"format":"ginrs-model","version":1,"#));
        assert!(text.contains(r#""activation":null"#));
        assert!(text.contains(r#""use_bias":"mean""#));
        let back = ModelFile::from_json(&text).unwrap();
        assert_eq!(back, file);
        // An absent activation is the default, not "none".
        let text = text.replace(r#""activation":null,"#, "");
        let back = ModelFile::from_json(&text).unwrap();
        assert_eq!(back.config.activation, None);
        assert_eq!(back.config.activation(), Some(Activation::Gelu));
    }

    #[test]
    fn malformed_files_are_named_errors() {
        let text = file().to_json().unwrap();
        // Truncated inside the second parameter's data.
        let cut = text.find("-3.25").unwrap();
        let err = ModelFile::from_json(&text[..cut]).unwrap_err();
        let ModelFileError::Json {
            location, param, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert!(location.starts_with("params[1]"), "{location}");
        assert_eq!(
            param.as_deref(),
            Some(".decoder[1].conv.weights[((), 0)][((), 0)]")
        );
        assert!(err.to_string().contains("weights[((), 0)][((), 0)]"));
        // A shape that its data does not fill.
        let short = text.replace("[0.5,-3.25]", "[0.5]");
        assert!(matches!(
            ModelFile::from_json(&short),
            Err(ModelFileError::Length { path, expected: 2, got: 1, .. })
                if path == ".decoder[1].conv.weights[((), 0)][((), 0)]"
        ));
        let twice = text.replace("bias[((), 0)]", "weights[((), 0)][((), 0)]");
        assert!(matches!(
            ModelFile::from_json(&twice),
            Err(ModelFileError::Duplicate { .. })
        ));
        let unknown = text.replace(r#""depth":4"#, r#""depth":4,"width":3"#);
        let err = ModelFile::from_json(&unknown).unwrap_err();
        assert!(
            matches!(&err, ModelFileError::Json { location, param: None, .. } if location == "config.width"),
            "{err:?}"
        );
        let version = text.replace(r#""version":1"#, r#""version":2"#);
        assert!(matches!(
            ModelFile::from_json(&version),
            Err(ModelFileError::Version { .. })
        ));
        let format = text.replace("ginrs-model", "other");
        assert!(matches!(
            ModelFile::from_json(&format),
            Err(ModelFileError::Format { .. })
        ));
        let model = text.replace(r#""model":"ResNet""#, r#""model":"VGG""#);
        assert!(matches!(
            ModelFile::from_json(&model),
            Err(ModelFileError::Config { field: "model", .. })
        ));
        let activation = text.replace(r#""activation":null"#, r#""activation":"swish""#);
        assert!(matches!(
            ModelFile::from_json(&activation),
            Err(ModelFileError::Config {
                field: "activation",
                ..
            })
        ));
        let option = text.replace(r#""depth":4"#, r#""depth":4,"num_downsamples":2"#);
        assert!(matches!(
            ModelFile::from_json(&option),
            Err(ModelFileError::Invalid(
                ModelConfigError::NotAnOption { .. }
            ))
        ));
    }

    #[test]
    fn non_finite_values_are_refused_on_write() {
        let mut file = file();
        file.params[0].data[0] = f32::NAN;
        assert!(matches!(
            file.to_json(),
            Err(ModelFileError::NonFinite { path }) if path.starts_with(".decoder[1].conv.bias")
        ));
    }
}
