//! A [`ConvContract`]'s parameters as [`LayerWeights`] (ginjax's layout and order), and
//! loading them back.

use super::ConvContract;
use crate::io::weights::{
    check_length, ArrayJson, BiasWeights, KeyJson, LayerWeights, PairWeights, WeightsError,
};

impl ConvContract {
    /// The parameters in ginjax's layout and order.
    pub fn to_weights(&self) -> LayerWeights {
        let weights = self
            .pairs
            .iter()
            .map(|p| {
                let (in_key, in_c) = &self.config.input.entries()[p.input];
                let (out_key, out_c) = &self.config.target.entries()[p.target];
                PairWeights {
                    input: KeyJson::from(in_key),
                    output: KeyJson::from(out_key),
                    filter_key: KeyJson::from(&p.filter_key),
                    array: ArrayJson::new(vec![*out_c, *in_c, p.n_f], p.weights.clone()),
                }
            })
            .collect();
        let bias = self
            .outputs
            .iter()
            .filter_map(|&o| {
                let (key, out_c) = &self.config.target.entries()[o];
                self.biases[o].as_ref().map(|b| BiasWeights {
                    key: KeyJson::from(key),
                    array: ArrayJson::new(vec![*out_c], b.clone()),
                })
            })
            .collect();
        LayerWeights { weights, bias }
    }

    /// Replaces every weight and bias by `weights` (matched by keys, in any order). Nothing
    /// changes on error: missing, extra or repeated entries and wrong shapes are reported.
    pub fn load_weights(&mut self, weights: &LayerWeights) -> Result<(), WeightsError> {
        let mut new_w: Vec<Option<Vec<f32>>> = vec![None; self.pairs.len()];
        for entry in &weights.weights {
            let (input, output) = (entry.input.to_key()?, entry.output.to_key()?);
            check_length(&entry.array, || format!("weights {input:?} -> {output:?}"))?;
            let found = self.pairs.iter().position(|p| {
                self.config.input.entries()[p.input].0 == input
                    && self.config.target.entries()[p.target].0 == output
            });
            let Some(idx) = found.filter(|&i| new_w[i].is_none()) else {
                return Err(WeightsError::ExtraWeight { input, output });
            };
            let p = &self.pairs[idx];
            let got_fk = entry.filter_key.to_key()?;
            if got_fk != p.filter_key {
                return Err(WeightsError::FilterKey {
                    pair: format!("{input:?} -> {output:?}"),
                    expected: p.filter_key.clone(),
                    got: got_fk,
                });
            }
            let expected = vec![
                self.config.target.entries()[p.target].1,
                self.config.input.entries()[p.input].1,
                p.n_f,
            ];
            if entry.array.shape != expected {
                return Err(WeightsError::WeightShape {
                    input,
                    output,
                    expected,
                    got: entry.array.shape.clone(),
                });
            }
            new_w[idx] = Some(entry.array.data.clone());
        }
        if let Some(idx) = new_w.iter().position(Option::is_none) {
            let p = &self.pairs[idx];
            return Err(WeightsError::MissingWeight {
                input: self.config.input.entries()[p.input].0.clone(),
                output: self.config.target.entries()[p.target].0.clone(),
            });
        }
        let mut new_b: Vec<Option<Vec<f32>>> = vec![None; self.biases.len()];
        for entry in &weights.bias {
            let key = entry.key.to_key()?;
            check_length(&entry.array, || format!("bias {key:?}"))?;
            let found = self
                .outputs
                .iter()
                .copied()
                .find(|&o| self.config.target.entries()[o].0 == key);
            let Some(o) = found.filter(|&o| self.config.bias.is_enabled() && new_b[o].is_none())
            else {
                return Err(WeightsError::ExtraBias { key });
            };
            let expected = vec![self.config.target.entries()[o].1];
            if entry.array.shape != expected {
                return Err(WeightsError::BiasShape {
                    key,
                    expected,
                    got: entry.array.shape.clone(),
                });
            }
            new_b[o] = Some(entry.array.data.clone());
        }
        if self.config.bias.is_enabled() {
            if let Some(&o) = self.outputs.iter().find(|&&o| new_b[o].is_none()) {
                return Err(WeightsError::MissingBias {
                    key: self.config.target.entries()[o].0.clone(),
                });
            }
        }
        for (pair, w) in self.pairs.iter_mut().zip(new_w) {
            pair.weights = w.expect("every pair was checked above");
        }
        self.biases = new_b;
        Ok(())
    }
}
