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
        /// The product of the shape.
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

/// A tensor key as JSON: `{"k": 1, "parity": 0, "covariant_axes": [false]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyJson {
    /// Tensor order.
    pub k: usize,
    /// Parity, 0 or 1 (reduced mod 2).
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
    /// Parity, 0 or 1.
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

/// A row-major array as JSON: `{"shape": [..], "data": [..]}` (a `"dtype"` field is accepted
/// and ignored, so ginjax fixture arrays parse unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayJson {
    /// The shape.
    pub shape: Vec<usize>,
    /// Element type name, informational (`"float32"` when written by ginrs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
        let len: usize = self.shape.iter().product();
        if len != self.data.len() {
            return Err(ParamsError::ArrayLength {
                shape: self.shape.clone(),
                expected: len,
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
