//! JSON building blocks for layer parameters, in the layout of the ginjax fixtures: a tensor
//! key is `{"k", "parity", "covariant_axes"}`, a signature entry adds `"channels"`, and an
//! array is `{"shape", "data"}` (row-major, with an optional `"dtype"` that is ignored).
//!
//! Each layer's own parameter type (e.g. [`crate::io::layer_params::GroupNormParams`]) is made of
//! these and is checked against the layer's signature when the layer is built from it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::image::{Signature, TensorKey};

/// Errors from reading or checking layer parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamsError {
    /// The text is not valid JSON of the expected form.
    #[error("invalid parameter JSON: {message}")]
    Json {
        /// serde_json's message (with line and column).
        message: String,
    },
    /// A key's covariant flags do not give one flag per tensor axis.
    #[error("key with k = {k} has {flags} covariant flags (expected one per tensor axis)")]
    KeyFlags {
        /// The key's order.
        k: usize,
        /// The number of flags given.
        flags: usize,
    },
    /// An array's data length is not the product of its shape.
    #[error("array of shape {shape:?} needs {expected} values, got {got}")]
    ArrayLength {
        /// The declared shape.
        shape: Vec<usize>,
        /// The product of the shape (`usize::MAX` where it overflows).
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// The signature is not valid (zero channels or a repeated key).
    #[error("{layer}: invalid input_keys: {message}")]
    Signature {
        /// The layer.
        layer: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A parameter the layer's signature needs is absent.
    #[error("{layer}: missing {what} for key {key}")]
    MissingKey {
        /// The layer.
        layer: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// A parameter is given for a key that does not need one.
    #[error(
        "{layer}: {what} given for key {key}, which the signature has not or which needs none"
    )]
    ExtraKey {
        /// The layer.
        layer: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// A parameter is given twice for one key.
    #[error("{layer}: {what} for key {key} is given twice")]
    DuplicateKey {
        /// The layer.
        layer: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// A parameter array has the wrong shape.
    #[error("{layer}: {what} for key {key} has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The layer.
        layer: &'static str,
        /// Which parameter.
        what: &'static str,
        /// The key.
        key: String,
        /// The shape the signature implies.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
}

impl From<serde_json::Error> for ParamsError {
    fn from(error: serde_json::Error) -> Self {
        Self::Json {
            message: error.to_string(),
        }
    }
}

impl From<serde_path_to_error::Error<serde_json::Error>> for ParamsError {
    fn from(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        Self::Json {
            message: path_message(&error),
        }
    }
}

/// serde_json's message prefixed with the path of the entry it concerns, e.g.
/// `weights[3].in.parity: parity 2 is not 0 or 1 at line 1 column 80`.
pub(crate) fn path_message(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    if path == "." {
        error.inner().to_string()
    } else {
        format!("{path}: {}", error.inner())
    }
}

/// Parses JSON text into `T`; errors name the entry they concern (`weights[3].array.dtype`).
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
}

/// Reads a parsed JSON value into `T`; errors name the entry they concern.
pub(crate) fn from_json_value<'de, T: Deserialize<'de>>(
    value: &'de serde_json::Value,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(value)
}

/// A parity as JSON: 0 (true tensor) or 1 (pseudo-tensor); anything else is an error, not
/// reduced mod 2.
fn parity_0_or_1<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let parity = u8::deserialize(deserializer)?;
    if parity > 1 {
        return Err(serde::de::Error::custom(format!(
            "parity {parity} is not 0 or 1"
        )));
    }
    Ok(parity)
}

/// The element type of arrays: only `"float32"` (ginjax's and ginrs's) is accepted.
fn float32_only<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let dtype = Option::<String>::deserialize(deserializer)?;
    match dtype.as_deref() {
        None | Some("float32") => Ok(dtype),
        Some(other) => Err(serde::de::Error::custom(format!(
            "dtype {other:?} is not supported (only \"float32\")"
        ))),
    }
}

/// The number of elements of `shape`, or `None` when the product overflows `usize` (no
/// array of that shape could exist).
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &side| n.checked_mul(side))
}

/// A tensor key as JSON: `{"k": 1, "parity": 0, "covariant_axes": [false]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyJson {
    /// Tensor order.
    pub k: usize,
    /// Parity, 0 or 1 (other values are rejected).
    #[serde(deserialize_with = "parity_0_or_1")]
    pub parity: u8,
    /// One covariant flag per tensor axis.
    pub covariant_axes: Vec<bool>,
}

impl From<&TensorKey> for KeyJson {
    fn from(key: &TensorKey) -> Self {
        Self {
            k: key.k(),
            parity: key.parity(),
            covariant_axes: key.covariant().to_vec(),
        }
    }
}

impl KeyJson {
    /// The tensor key, checking that there is one flag per axis.
    pub fn to_key(&self) -> Result<TensorKey, ParamsError> {
        if self.covariant_axes.len() != self.k {
            return Err(ParamsError::KeyFlags {
                k: self.k,
                flags: self.covariant_axes.len(),
            });
        }
        Ok(TensorKey::with_covariant(
            self.covariant_axes.clone(),
            self.parity,
        ))
    }
}

/// A signature entry as JSON: a key plus `"channels"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntryJson {
    /// Tensor order.
    pub k: usize,
    /// Parity, 0 or 1 (other values are rejected).
    #[serde(deserialize_with = "parity_0_or_1")]
    pub parity: u8,
    /// One covariant flag per tensor axis.
    pub covariant_axes: Vec<bool>,
    /// Channel count.
    pub channels: usize,
}

/// Converts a signature to its JSON entries.
pub fn signature_to_json(signature: &Signature) -> Vec<SignatureEntryJson> {
    signature
        .entries()
        .iter()
        .map(|(key, channels)| SignatureEntryJson {
            k: key.k(),
            parity: key.parity(),
            covariant_axes: key.covariant().to_vec(),
            channels: *channels,
        })
        .collect()
}

/// Reads a signature from its JSON entries (checked: flags per axis, positive channels,
/// distinct keys).
pub fn signature_from_json(
    layer: &'static str,
    entries: &[SignatureEntryJson],
) -> Result<Signature, ParamsError> {
    let entries = entries
        .iter()
        .map(|e| {
            let key = KeyJson {
                k: e.k,
                parity: e.parity,
                covariant_axes: e.covariant_axes.clone(),
            }
            .to_key()?;
            Ok((key, e.channels))
        })
        .collect::<Result<Vec<_>, ParamsError>>()?;
    Signature::new(entries).map_err(|e| ParamsError::Signature {
        layer,
        message: e.to_string(),
    })
}

/// A row-major array as JSON: `{"shape": [..], "data": [..]}` (an optional `"dtype"` field
/// must say `"float32"`, so ginjax fixture arrays parse unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayJson {
    /// The shape.
    pub shape: Vec<usize>,
    /// Element type name: `"float32"` or absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "float32_only"
    )]
    pub dtype: Option<String>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl ArrayJson {
    /// An f32 array of the given shape (the caller keeps `data.len()` equal to its product).
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            dtype: Some("float32".to_owned()),
            data,
        }
    }

    /// The data, after checking that the shape is `expected` and the length matches it.
    pub fn checked(
        &self,
        layer: &'static str,
        what: &'static str,
        key: &TensorKey,
        expected: &[usize],
    ) -> Result<Vec<f32>, ParamsError> {
        let len = element_count(&self.shape);
        if len != Some(self.data.len()) {
            return Err(ParamsError::ArrayLength {
                shape: self.shape.clone(),
                expected: len.unwrap_or(usize::MAX),
                got: self.data.len(),
            });
        }
        if self.shape != expected {
            return Err(ParamsError::Shape {
                layer,
                what,
                key: format!("{key:?}"),
                expected: expected.to_vec(),
                got: self.shape.clone(),
            });
        }
        Ok(self.data.clone())
    }
}

/// One per-key parameter array: `{"key": {..}, "array": {..}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedArrayJson {
    /// The key.
    pub key: KeyJson,
    /// The array.
    pub array: ArrayJson,
}

/// Matches per-key entries against the keys that need them, in order: every needed key must
/// appear exactly once and no other key may appear. Returns the entries in `needed` order.
pub(crate) fn match_keys<'a, T>(
    layer: &'static str,
    what: &'static str,
    needed: &[TensorKey],
    entries: &'a [T],
    key_of: impl Fn(&T) -> &KeyJson,
) -> Result<Vec<&'a T>, ParamsError> {
    let mut keyed: Vec<(TensorKey, &T)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = key_of(entry).to_key()?;
        if keyed.iter().any(|(k, _)| k == &key) {
            return Err(ParamsError::DuplicateKey {
                layer,
                what,
                key: format!("{key:?}"),
            });
        }
        if !needed.contains(&key) {
            return Err(ParamsError::ExtraKey {
                layer,
                what,
                key: format!("{key:?}"),
            });
        }
        keyed.push((key, entry));
    }
    needed
        .iter()
        .map(|key| {
            keyed
                .iter()
                .find(|(k, _)| k == key)
                .map(|&(_, entry)| entry)
                .ok_or_else(|| ParamsError::MissingKey {
                    layer,
                    what,
                    key: format!("{key:?}"),
                })
        })
        .collect()
}
