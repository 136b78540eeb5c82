//! [`Signature`]: the ordered `(key, channels)` list of a multi-image or a layer.

use std::fmt;

use super::{ImageError, TensorKey};

/// The ordered list of `(key, channels)` of a multi-image, or of a layer's input or output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Signature(pub(super) Vec<(TensorKey, usize)>);

impl Signature {
    /// Builds a signature; keys must be distinct and channel counts positive.
    pub fn new(entries: Vec<(TensorKey, usize)>) -> Result<Self, ImageError> {
        for (i, (key, channels)) in entries.iter().enumerate() {
            if *channels == 0 {
                return Err(ImageError::ZeroChannels {
                    key: key.to_string(),
                });
            }
            if entries[..i].iter().any(|(other, _)| other == key) {
                return Err(ImageError::DuplicateKey {
                    key: format!("{key:?}"),
                });
            }
        }
        Ok(Self(entries))
    }

    /// Checks that this signature (an image's) is `expected`, a
    /// [`ImageError::SignatureMismatch`] otherwise.
    pub(crate) fn expect_equal(&self, expected: &Signature) -> Result<(), ImageError> {
        if self != expected {
            return Err(ImageError::SignatureMismatch {
                expected: expected.to_string(),
                got: self.to_string(),
            });
        }
        Ok(())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(TensorKey, usize)] {
        &self.0
    }

    /// The channel count of `key`, if present.
    pub fn channels(&self, key: &TensorKey) -> Option<usize> {
        self.0.iter().find(|(k, _)| k == key).map(|&(_, c)| c)
    }

    /// True when the signature has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (key, channels)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key:?}: {channels}")?;
        }
        f.write_str("]")
    }
}
