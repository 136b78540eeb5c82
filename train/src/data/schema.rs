//! [`Schema`]: what a dataset holds — its grid, boundary, frame interval and fields — and the
//! multi-image layout that follows from it.
//!
//! Fields that share a tensor type share one block of the multi-image, one channel per field
//! in schema order. A model's input for `p` past frames holds, per key, the constant fields
//! of that key first, then the `p` frames oldest first (each frame its fields of that key),
//! so the newest frame is the last channels of each key, where residual learning
//! ([`Seam`](ginrs_runtime::models::Seam)) reads it; its output is one frame of the predicted
//! fields. ginjax's `autoregressive_step` likewise feeds constant fields without predicting
//! them.

use std::fmt;

use ginrs_runtime::{Geometry, ImageError, Signature, TensorKey};
use serde::{Deserialize, Serialize};

/// One stored field: its name in the file and its tensor type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// The name the file gives it (`velocity`, `density`, …).
    pub name: String,
    /// Tensor order k.
    pub k: usize,
    /// Parity: 1 if the field changes sign under reflections.
    pub parity: u8,
}

impl FieldSpec {
    /// A field named `name` of order `k` and parity `parity`.
    pub fn new(name: impl Into<String>, k: usize, parity: u8) -> Self {
        Self {
            name: name.into(),
            k,
            parity,
        }
    }

    /// Its tensor key.
    pub fn key(&self) -> TensorKey {
        TensorKey::new(self.k, self.parity)
    }
}

/// A dataset's grid, boundary, frame interval and fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Grid points per spatial axis (its length is the dimension d).
    pub spatial: Vec<usize>,
    /// Whether each spatial axis is periodic (a torus); other axes get ginjax's zero padding.
    pub torus: Vec<bool>,
    /// Time between stored frames (1 where the file does not say).
    pub frame_interval: f64,
    /// The predicted fields, in the order the file lists them.
    pub fields: Vec<FieldSpec>,
    /// Fields fed to the model but never predicted (constant in time).
    pub constants: Vec<FieldSpec>,
}

impl Schema {
    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.spatial.len()
    }

    /// The geometry of every frame.
    pub fn geometry(&self) -> Result<Geometry, ImageError> {
        Geometry::new(self.spatial.clone(), self.torus.clone())
    }

    /// Channels per key of one frame of the predicted fields, keys in order of first
    /// appearance.
    pub fn frame_signature(&self) -> Signature {
        count_by_key(&self.fields, 1)
    }

    /// Channels per key of the constant fields.
    pub fn constant_signature(&self) -> Signature {
        count_by_key(&self.constants, 1)
    }

    /// The model input for `past_steps` frames: per key, the constant fields, then
    /// `past_steps` frames of the predicted fields; keys of predicted fields first.
    pub fn input_signature(&self, past_steps: usize) -> Signature {
        let frame = count_by_key(&self.fields, past_steps);
        let constants = self.constant_signature();
        let mut entries: Vec<(TensorKey, usize)> = frame
            .entries()
            .iter()
            .map(|(key, c)| (key.clone(), c + constants.channels(key).unwrap_or(0)))
            .collect();
        for (key, c) in constants.entries() {
            if frame.channels(key).is_none() {
                entries.push((key.clone(), *c));
            }
        }
        Signature::new(entries).expect("keys are distinct by construction")
    }

    /// The model output: one frame of the predicted fields.
    pub fn output_signature(&self) -> Signature {
        self.frame_signature()
    }

    /// The field named `name`, predicted or constant.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields
            .iter()
            .chain(&self.constants)
            .find(|f| f.name == name)
    }

    /// Whether every axis has the same side (B_d maps the grid onto itself only then).
    pub fn is_cubic(&self) -> bool {
        self.spatial.windows(2).all(|w| w[0] == w[1])
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sides: Vec<String> = self.spatial.iter().map(usize::to_string).collect();
        let torus: Vec<&str> = self
            .torus
            .iter()
            .map(|&t| if t { "periodic" } else { "zero-padded" })
            .collect();
        write!(
            f,
            "{}-D grid {} ({})",
            self.dim(),
            sides.join(" × "),
            torus.join(", ")
        )?;
        let list = |fields: &[FieldSpec]| {
            fields
                .iter()
                .map(|s| format!("{} ({})", s.name, s.key()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "; fields: {}", list(&self.fields))?;
        if !self.constants.is_empty() {
            write!(f, "; constant: {}", list(&self.constants))?;
        }
        Ok(())
    }
}

/// `per_field` channels per field, summed per key in order of first appearance.
fn count_by_key(fields: &[FieldSpec], per_field: usize) -> Signature {
    let mut entries: Vec<(TensorKey, usize)> = Vec::new();
    for field in fields {
        let key = field.key();
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, c)) => *c += per_field,
            None => entries.push((key, per_field)),
        }
    }
    Signature::new(entries).expect("keys are distinct by construction")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_come_first_in_their_key_and_constant_only_keys_last() {
        let schema = Schema {
            spatial: vec![8, 8],
            torus: vec![true, false],
            frame_interval: 0.5,
            fields: vec![
                FieldSpec::new("density", 0, 0),
                FieldSpec::new("velocity", 1, 0),
                FieldSpec::new("pressure", 0, 0),
            ],
            constants: vec![
                FieldSpec::new("obstacle", 0, 0),
                FieldSpec::new("stress", 2, 0),
            ],
        };
        let input = schema.input_signature(3);
        assert_eq!(
            input.entries(),
            [
                (TensorKey::new(0, 0), 1 + 3 * 2),
                (TensorKey::new(1, 0), 3),
                (TensorKey::new(2, 0), 1),
            ]
        );
        assert_eq!(
            schema.output_signature().entries(),
            [(TensorKey::new(0, 0), 2), (TensorKey::new(1, 0), 1)]
        );
        assert!(schema.to_string().contains("zero-padded"));
    }
}
