//! Serialisable layer parameters in the layout of ginjax's `ConvContract` (and of the
//! `conv_contract_layer.json` fixtures):
//!
//! ```json
//! {
//!   "weights": [{"in": KEY, "out": KEY, "filter_key": KEY,
//!                "array": {"shape": [out_c, in_c, n_filters], "dtype": "float32", "data": [...]}}],
//!   "bias": [{"key": KEY, "array": {"shape": [out_c], "dtype": "float32", "data": [...]}}]
//! }
//! ```
//!
//! with `KEY = {"k": int, "parity": 0|1, "covariant_axes": [bool]*k}`. Entries are listed in
//! ginjax's dict order (input key, then target key, in signature order). Generated layers and
//! the dynamic layer share this type.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::image::TensorKey;
use crate::io::params::{
    element_count, from_json_text, from_json_value, path_message, ParamsError,
};
pub use crate::io::params::{ArrayJson, KeyJson};

/// Errors from reading, writing or applying layer parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WeightsError {
    /// A key or array is malformed.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The JSON text does not parse into [`LayerWeights`].
    #[error("layer weights JSON: {0}")]
    Json(String),
    /// An array's data length differs from the product of its shape.
    #[error("{what}: shape {shape:?} needs {expected} values, the data has {got}")]
    ArrayLength {
        /// Which array.
        what: String,
        /// The declared shape.
        shape: Vec<usize>,
        /// The product of the shape.
        expected: usize,
        /// The data length.
        got: usize,
    },
    /// A weight the layer needs is missing.
    #[error("missing weights for the pair {input:?} -> {output:?}")]
    MissingWeight {
        /// Input key.
        input: TensorKey,
        /// Output key.
        output: TensorKey,
    },
    /// A weight entry matches no pair of the layer (or repeats one).
    #[error("unexpected weights for the pair {input:?} -> {output:?}: the layer has no such pair (or it is listed twice)")]
    ExtraWeight {
        /// Input key.
        input: TensorKey,
        /// Output key.
        output: TensorKey,
    },
    /// A weight's filter key is not the one the pair uses.
    #[error("pair {pair}: filter key {got:?}, the layer uses {expected:?}")]
    FilterKey {
        /// The pair, as `input -> output`.
        pair: String,
        /// The layer's filter key.
        expected: TensorKey,
        /// The key given.
        got: TensorKey,
    },
    /// A weight has the wrong shape.
    #[error("pair {input:?} -> {output:?}: weight shape {got:?}, expected {expected:?} (out_c, in_c, n_filters)")]
    WeightShape {
        /// Input key.
        input: TensorKey,
        /// Output key.
        output: TensorKey,
        /// The layer's shape.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// A bias the layer needs is missing.
    #[error("missing bias for output key {key:?}")]
    MissingBias {
        /// Output key.
        key: TensorKey,
    },
    /// A bias entry matches no biased output of the layer (or repeats one).
    #[error(
        "unexpected bias for key {key:?}: the layer has no bias for it (or it is listed twice)"
    )]
    ExtraBias {
        /// The key given.
        key: TensorKey,
    },
    /// A bias has the wrong shape.
    #[error("bias of {key:?}: shape {got:?}, expected {expected:?} (out_c,)")]
    BiasShape {
        /// Output key.
        key: TensorKey,
        /// The layer's shape.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
}

/// Checks that an array's data length is the product of its shape; `what` names the array.
pub(crate) fn check_length(
    array: &ArrayJson,
    what: impl FnOnce() -> String,
) -> Result<(), WeightsError> {
    let expected = element_count(&array.shape);
    if expected != Some(array.data.len()) {
        return Err(WeightsError::ArrayLength {
            what: what(),
            shape: array.shape.clone(),
            expected: expected.unwrap_or(usize::MAX),
            got: array.data.len(),
        });
    }
    Ok(())
}

/// The weights of one (input key, output key) pair: shape `(out_c, in_c, n_filters)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairWeights {
    /// Input key.
    #[serde(rename = "in")]
    pub input: KeyJson,
    /// Output key.
    #[serde(rename = "out")]
    pub output: KeyJson,
    /// The filter bank key the pair uses, `((False,)*(k_in + k_out), (p_in + p_out) mod 2)`.
    pub filter_key: KeyJson,
    /// The weights `(out_c, in_c, n_filters)`.
    pub array: ArrayJson,
}

/// The bias of one output key: shape `(out_c,)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasWeights {
    /// Output key.
    pub key: KeyJson,
    /// The per-channel bias.
    pub array: ArrayJson,
}

/// All parameters of a ConvContract layer, in ginjax's dict order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerWeights {
    /// One entry per present block pair.
    pub weights: Vec<PairWeights>,
    /// One entry per biased output key (empty without bias).
    #[serde(default)]
    pub bias: Vec<BiasWeights>,
}

impl LayerWeights {
    /// Parses the JSON form (unknown fields, such as the rest of a fixture case, are ignored).
    pub fn from_json(text: &str) -> Result<Self, WeightsError> {
        from_json_text(text).map_err(|e| WeightsError::Json(path_message(&e)))
    }

    /// Reads the `weights`/`bias` fields of a JSON value (e.g. a fixture case).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, WeightsError> {
        from_json_value(value).map_err(|e| WeightsError::Json(path_message(&e)))
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("layer weights serialise (plain data)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixture_layout_and_round_trips() {
        let text = r#"{"name": "x", "weights": [{"in": {"k": 1, "parity": 0, "covariant_axes": [false]},
            "out": {"k": 0, "parity": 0, "covariant_axes": []},
            "filter_key": {"k": 1, "parity": 0, "covariant_axes": [false]},
            "array": {"shape": [1, 1, 2], "dtype": "float32", "data": [0.5, -1]}}],
            "bias": [{"key": {"k": 0, "parity": 0, "covariant_axes": []},
                      "array": {"shape": [1], "dtype": "float32", "data": [0.25]}}]}"#;
        let w = LayerWeights::from_json(text).unwrap();
        assert_eq!(w.weights[0].input.to_key().unwrap(), TensorKey::vector());
        assert_eq!(w.weights[0].array.data, vec![0.5, -1.0]);
        assert_eq!(w.bias[0].array.data, vec![0.25]);
        assert_eq!(LayerWeights::from_json(&w.to_json()).unwrap(), w);
        let bad = ArrayJson::new(vec![2, 2], vec![1.0; 3]);
        assert!(matches!(
            check_length(&bad, || "w".into()),
            Err(WeightsError::ArrayLength {
                expected: 4,
                got: 3,
                ..
            })
        ));
    }
}
