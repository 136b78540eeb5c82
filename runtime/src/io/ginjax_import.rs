//! Loading models exported from ginjax by `scripts/export_ginjax.py`.
//!
//! The file (schema `ginrs-ginjax-export/1`) is a JSON object with a `"layers"` list, applied in
//! order. Every layer has `"name"`, `"type"` and `"D"`, then the fields of its type:
//!
//! - `"ConvContract"`: `input_keys`, `target_keys` (signatures), `use_bias` (`false`, `true`,
//!   `"auto"`, `"mean"`, `"scalar"`), `stride`, `padding`, `lhs_dilation`, `rhs_dilation`
//!   (ginjax's encodings: an int or a list per axis, `null` for the default; padding `null`,
//!   `"TORUS"`, `"SAME"`, `"VALID"`, an int or a list of `[lo, hi]`), `filter_bank` (the
//!   multi-image of filters the weights multiply, as ginjax recorded it), the weights and
//!   biases of [`LayerWeights`], and optionally `allow_missing` (`true`: pairs that no filter
//!   of the bank realises are dropped, as ginjax drops them; default `false`: an error);
//! - `"GroupNorm"`: the fields of [`GroupNormParams`] (a LayerNorm is a GroupNorm with one group);
//! - `"VectorNeuronNonlinear"`: `scalar_activation` (only `"relu"`) and the fields of
//!   [`NonlinearParams`].
//!
//! Other fields of the file (the exporter's versions, a reference input and outputs) are
//! ignored. Multi-images are `{"D", "is_torus", "blocks": [{"k", "parity", "covariant_axes",
//! "array"}]}` with one leading (channel) axis per block.

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::error::Error;
use crate::image::{Geometry, ImageBlock, ImageError, MultiImage};
use crate::io::layer_params::{GroupNormParams, NonlinearParams};
use crate::io::params::{signature_from_json, ArrayJson, KeyJson, ParamsError, SignatureEntryJson};
use crate::io::weights::LayerWeights;
use crate::layers::conv_contract::{BiasMode, ConvContract, ConvContractConfig};
use crate::layers::group_norm::GroupNorm;
use crate::layers::layer::Layer;
use crate::layers::nonlinear::{Activation, VectorNeuronNonlinear};
use crate::ops::bank::DenseBank;
use crate::ops::padding::{ConvOptions, Padding, PerAxis};

/// The schema name the exporter writes.
pub const SCHEMA: &str = "ginrs-ginjax-export/1";

/// Fields of a layer object that name it rather than parameterise it.
const ENVELOPE: [&str; 4] = ["name", "type", "D", "scalar_activation"];

/// Errors from reading a ginjax export.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ImportError {
    /// The text is not JSON, or not an object with a `layers` list.
    #[error("not a ginjax export: {0}")]
    Format(String),
    /// The file declares another schema.
    #[error("ginjax export schema `{found}` is not supported: expected `{SCHEMA}`")]
    Schema {
        /// The schema found.
        found: String,
    },
    /// A layer's type is not one the importer knows.
    #[error(
        "layer {index} (`{name}`): unknown layer type `{kind}`; \
         supported: ConvContract, GroupNorm, VectorNeuronNonlinear"
    )]
    UnknownLayer {
        /// Position in the list.
        index: usize,
        /// The layer's name.
        name: String,
        /// The type found.
        kind: String,
    },
    /// A field is missing or malformed.
    #[error("layer {index} (`{name}`): field `{field}`: {message}")]
    Field {
        /// Position in the list.
        index: usize,
        /// The layer's name.
        name: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Building the layer from its parameters failed.
    #[error("layer {index} (`{name}`): {source}")]
    Layer {
        /// Position in the list.
        index: usize,
        /// The layer's name.
        name: String,
        /// The layer's error.
        source: Box<Error>,
    },
}

/// Errors from reading one of ginjax's JSON encodings (padding, stride, bias mode,
/// multi-image).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// An integer option is not a non-negative integer.
    #[error("expected a non-negative integer, got {got}")]
    NotACount {
        /// The value found.
        got: String,
    },
    /// A padding string that is not a mode ginjax knows.
    #[error("unknown padding `{0}`: expected TORUS, SAME or VALID")]
    UnknownPadding(String),
    /// An explicit padding entry that is not a `[lo, hi]` pair.
    #[error("expected a [lo, hi] pair, got {got}")]
    NotAPair {
        /// The value found.
        got: String,
    },
    /// A bias mode string ginjax does not know.
    #[error("unknown bias mode `{0}`: expected auto, mean, scalar, true or false")]
    UnknownBiasMode(String),
    /// A bias mode that is neither a bool nor a string.
    #[error("expected a bool or a string, got {got}")]
    NotABiasMode {
        /// The value found.
        got: String,
    },
    /// A multi-image object of the wrong form.
    #[error("{0}")]
    Format(String),
    /// A multi-image without blocks.
    #[error("a multi-image needs a block")]
    NoBlocks,
    /// A block array with fewer axes than `1 + D`.
    #[error("a block's array has fewer axes than 1 + D")]
    BlockRank,
    /// A block array without axes.
    #[error("a block's array is empty")]
    EmptyBlock,
    /// A key of the wrong form.
    #[error(transparent)]
    Key(#[from] ParamsError),
    /// The blocks do not form a multi-image.
    #[error(transparent)]
    Image(#[from] ImageError),
}

/// One imported layer.
pub enum ImportedLayer {
    /// A convolve-then-contract layer.
    ConvContract(Box<ConvContract>),
    /// A GroupNorm (or LayerNorm).
    GroupNorm(GroupNorm),
    /// A vector-neuron nonlinearity with ReLU.
    VectorNeuronNonlinear(VectorNeuronNonlinear),
}

impl ImportedLayer {
    /// The layer as a [`Layer`].
    pub fn as_layer(&self) -> &dyn Layer {
        match self {
            Self::ConvContract(layer) => layer.as_ref(),
            Self::GroupNorm(layer) => layer,
            Self::VectorNeuronNonlinear(layer) => layer,
        }
    }
}

/// A sequence of layers exported from ginjax, applied in order.
pub struct GinjaxModel {
    layers: Vec<(String, ImportedLayer)>,
}

impl GinjaxModel {
    /// Parses an export file's text.
    pub fn from_json(text: &str) -> Result<Self, ImportError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ImportError::Format(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Reads a parsed export file.
    pub fn from_value(value: &Value) -> Result<Self, ImportError> {
        if let Some(schema) = value.get("schema") {
            let found = schema.as_str().unwrap_or_default();
            if found != SCHEMA {
                return Err(ImportError::Schema {
                    found: schema.to_string(),
                });
            }
        }
        let layers = value
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| ImportError::Format("expected an object with a `layers` list".into()))?;
        let layers = layers
            .iter()
            .enumerate()
            .map(|(index, layer)| import_layer(index, layer))
            .collect::<Result<_, _>>()?;
        Ok(Self { layers })
    }

    /// The layers with their names, in order.
    pub fn layers(&self) -> &[(String, ImportedLayer)] {
        &self.layers
    }

    /// The layers with their names, in order, moved out (to train or re-weight them).
    pub fn into_layers(self) -> Vec<(String, ImportedLayer)> {
        self.layers
    }

    /// Applies every layer in turn and returns each one's output.
    pub fn forward_each(&self, input: &MultiImage) -> Result<Vec<MultiImage>, Error> {
        let mut outputs: Vec<MultiImage> = Vec::with_capacity(self.layers.len());
        for (_, layer) in &self.layers {
            let x = outputs.last().unwrap_or(input);
            let y = layer.as_layer().forward(x)?;
            outputs.push(y);
        }
        Ok(outputs)
    }
}

impl Layer for GinjaxModel {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let mut outputs = self.forward_each(input)?;
        Ok(outputs.pop().unwrap_or_else(|| input.clone()))
    }
}

/// Builds one layer from its object.
fn import_layer(index: usize, value: &Value) -> Result<(String, ImportedLayer), ImportError> {
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let field_error = |field: &'static str, message: String| ImportError::Field {
        index,
        name: name.clone(),
        field,
        message,
    };
    let layer_error = |source: Error| ImportError::Layer {
        index,
        name: name.clone(),
        source: Box::new(source),
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| field_error("type", "expected a string".into()))?;
    // The parameter fields alone, for the layers whose parameter types deny unknown fields.
    let mut params = value.clone();
    if let Some(object) = params.as_object_mut() {
        for field in ENVELOPE {
            object.remove(field);
        }
    }
    let layer = match kind {
        "ConvContract" => {
            let config = conv_contract_config(value).map_err(|(f, m)| field_error(f, m))?;
            let bank_image = multi_image_from_json(&value["filter_bank"])
                .map_err(|e| field_error("filter_bank", e.to_string()))?;
            let bank = DenseBank::from_multi_image(&bank_image)
                .map_err(|e| layer_error(Error::from(e)))?;
            let weights = LayerWeights::from_value(value).map_err(|e| layer_error(e.into()))?;
            let layer =
                ConvContract::from_weights(config, &bank, &weights).map_err(&layer_error)?;
            ImportedLayer::ConvContract(Box::new(layer))
        }
        "GroupNorm" => {
            let params = GroupNormParams::deserialize(&params)
                .map_err(|e| field_error("parameters", e.to_string()))?;
            ImportedLayer::GroupNorm(GroupNorm::from_params(&params).map_err(&layer_error)?)
        }
        "VectorNeuronNonlinear" => {
            match value.get("scalar_activation").and_then(Value::as_str) {
                None | Some("relu") => {}
                Some(other) => {
                    return Err(field_error(
                        "scalar_activation",
                        format!("`{other}` is not supported: only `relu` is"),
                    ))
                }
            }
            let params = NonlinearParams::deserialize(&params)
                .map_err(|e| field_error("parameters", e.to_string()))?;
            let layer = VectorNeuronNonlinear::from_params(&params, Activation::Relu)
                .map_err(&layer_error)?;
            ImportedLayer::VectorNeuronNonlinear(layer)
        }
        other => {
            return Err(ImportError::UnknownLayer {
                index,
                name,
                kind: other.to_string(),
            })
        }
    };
    Ok((name, layer))
}

/// The ConvContract configuration of a layer object; errors name the field.
fn conv_contract_config(value: &Value) -> Result<ConvContractConfig, (&'static str, String)> {
    let signature = |field: &'static str| {
        let entries = Vec::<SignatureEntryJson>::deserialize(&value[field])
            .map_err(|e| (field, e.to_string()))?;
        signature_from_json("ConvContract", &entries).map_err(|e| (field, e.to_string()))
    };
    let options = ConvOptions {
        padding: padding_from_json(&value["padding"]).map_err(|e| ("padding", e.to_string()))?,
        stride: per_axis_from_json(&value["stride"]).map_err(|e| ("stride", e.to_string()))?,
        lhs_dilation: per_axis_from_json(&value["lhs_dilation"])
            .map_err(|e| ("lhs_dilation", e.to_string()))?,
        rhs_dilation: per_axis_from_json(&value["rhs_dilation"])
            .map_err(|e| ("rhs_dilation", e.to_string()))?,
    };
    let allow_missing = match value.get("allow_missing") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(allow)) => *allow,
        Some(other) => return Err(("allow_missing", format!("expected a bool, got {other}"))),
    };
    Ok(
        ConvContractConfig::new(signature("input_keys")?, signature("target_keys")?)
            .bias(bias_mode_from_json(&value["use_bias"]).map_err(|e| ("use_bias", e.to_string()))?)
            .options(options)
            .allow_missing(allow_missing),
    )
}

fn positive(value: &Value) -> Result<usize, ValueError> {
    value
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| ValueError::NotACount {
            got: value.to_string(),
        })
}

/// Reads ginjax's stride/dilation encoding: `null` (1), an int for every axis, or a list.
pub fn per_axis_from_json(value: &Value) -> Result<PerAxis, ValueError> {
    match value {
        Value::Null => Ok(PerAxis::All(1)),
        Value::Array(items) => Ok(PerAxis::Each(
            items.iter().map(positive).collect::<Result<_, _>>()?,
        )),
        other => positive(other).map(PerAxis::All),
    }
}

/// Reads ginjax's padding encoding: `null`, `"TORUS"`, `"SAME"`, `"VALID"`, an int, or a list
/// of `[lo, hi]` pairs.
pub fn padding_from_json(value: &Value) -> Result<Padding, ValueError> {
    match value {
        Value::Null => Ok(Padding::Inferred),
        Value::String(mode) => match mode.as_str() {
            "TORUS" => Ok(Padding::Torus),
            "SAME" => Ok(Padding::Same),
            "VALID" => Ok(Padding::Valid),
            other => Err(ValueError::UnknownPadding(other.to_string())),
        },
        Value::Array(pairs) => pairs
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([lo, hi]) => Ok((positive(lo)?, positive(hi)?)),
                _ => Err(ValueError::NotAPair {
                    got: pair.to_string(),
                }),
            })
            .collect::<Result<_, _>>()
            .map(Padding::Explicit),
        other => positive(other).map(Padding::Uniform),
    }
}

/// Reads ginjax's `use_bias`: `false`, `true` (as `"auto"`, see [`BiasMode::from_bool`]),
/// `"auto"`, `"mean"` or `"scalar"`.
pub fn bias_mode_from_json(value: &Value) -> Result<BiasMode, ValueError> {
    match value {
        Value::Bool(b) => Ok(BiasMode::from_bool(*b)),
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(BiasMode::Auto),
            "mean" => Ok(BiasMode::Mean),
            "scalar" => Ok(BiasMode::Scalar),
            other => Err(ValueError::UnknownBiasMode(other.to_string())),
        },
        other => Err(ValueError::NotABiasMode {
            got: other.to_string(),
        }),
    }
}

/// Reads a multi-image whose blocks have one leading (channel) axis.
pub fn multi_image_from_json(value: &Value) -> Result<MultiImage, ValueError> {
    #[derive(Deserialize)]
    struct BlockJson {
        k: usize,
        parity: u8,
        covariant_axes: Vec<bool>,
        array: ArrayJson,
    }
    #[derive(Deserialize)]
    struct MultiImageJson {
        #[serde(rename = "D")]
        dim: usize,
        is_torus: Vec<bool>,
        blocks: Vec<BlockJson>,
    }
    let image =
        MultiImageJson::deserialize(value).map_err(|e| ValueError::Format(e.to_string()))?;
    let first = image.blocks.first().ok_or(ValueError::NoBlocks)?;
    let spatial = first
        .array
        .shape
        .get(1..1 + image.dim)
        .ok_or(ValueError::BlockRank)?
        .to_vec();
    let geometry = Geometry::new(spatial, image.is_torus)?;
    let mut out = MultiImage::new(geometry.clone());
    for block in image.blocks {
        let key = KeyJson {
            k: block.k,
            parity: block.parity,
            covariant_axes: block.covariant_axes,
        }
        .to_key()?;
        let channels = *block.array.shape.first().ok_or(ValueError::EmptyBlock)?;
        let block = ImageBlock::new(geometry.clone(), key, channels, block.array.data)?;
        out.insert(block)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Signature, TensorKey};
    use serde_json::json;

    /// A scalar → (scalar, pseudoscalar) ConvContract on a bank of one scalar 3 × 3 filter:
    /// nothing realises the scalar → pseudoscalar pair.
    fn layer(allow_missing: Option<Value>) -> Value {
        let key = |parity: u8| json!({"k": 0, "parity": parity, "covariant_axes": []});
        let entry =
            |parity: u8| json!({"k": 0, "parity": parity, "covariant_axes": [], "channels": 1});
        let mut layer = json!({
            "name": "conv", "type": "ConvContract", "D": 2,
            "input_keys": [entry(0)], "target_keys": [entry(0), entry(1)],
            "use_bias": false, "padding": null, "stride": null,
            "lhs_dilation": null, "rhs_dilation": null,
            "filter_bank": {"D": 2, "is_torus": [true, true], "blocks": [{
                "k": 0, "parity": 0, "covariant_axes": [],
                "array": {"shape": [1, 3, 3], "data": [0, 0, 0, 0, 1, 0, 0, 0, 0]}}]},
            "weights": [{"in": key(0), "out": key(0), "filter_key": key(0),
                         "array": {"shape": [1, 1, 1], "data": [2.5]}}],
        });
        if let Some(allow) = allow_missing {
            layer["allow_missing"] = allow;
        }
        json!({"schema": SCHEMA, "layers": [layer]})
    }

    #[test]
    fn allow_missing_drops_pairs_without_filters() {
        let err = GinjaxModel::from_value(&layer(None)).err().unwrap();
        assert!(matches!(err, ImportError::Layer { .. }), "{err}");
        let model = GinjaxModel::from_value(&layer(Some(json!(true)))).unwrap();
        let geometry = Geometry::square(2, 4, true).unwrap();
        let input = MultiImage::from_blocks(
            geometry.clone(),
            vec![ImageBlock::new(
                geometry,
                TensorKey::scalar(),
                1,
                (0..16).map(|v| v as f32).collect(),
            )
            .unwrap()],
        )
        .unwrap();
        let output = model.forward(&input).unwrap();
        // The centre tap times 2.5; only the reachable scalar output remains.
        assert_eq!(
            output.signature(),
            Signature::new(vec![(TensorKey::scalar(), 1)]).unwrap()
        );
        let expected: Vec<f32> = (0..16).map(|v| 2.5 * v as f32).collect();
        assert_eq!(output.blocks()[0].data(), &expected[..]);
        let err = GinjaxModel::from_value(&layer(Some(json!(3))))
            .err()
            .unwrap();
        assert!(err.to_string().contains("allow_missing"), "{err}");
    }
}
