//! [`Seam`]: what stands between a model's data and its network — field normalisation and
//! residual learning — applied identically by the runtime's [`crate::models::Model`] and by
//! ginrs-train's trainable model, and stored in the model file.
//!
//! A prediction of a model with a seam is
//!
//! ```text
//! x̂   = (x − shift_in) / scale_in                       per input key and channel
//! ŷ   = network(x̂)
//! y   = shift_out + scale_out · ŷ  (+ x_newest if residual)  per output key and channel
//! ```
//!
//! where `x_newest` is, per output key with `c` channels, the last `c` channels of that key
//! in the input (the newest frame: inputs stack the past frames oldest first). With
//! `residual` the network learns the change of the field (ginjax's
//! `Mapper(residual=True)`: `img_in[:, -1:] + img_resid`), and `shift_out`/`scale_out` are
//! the statistics of that change.
//!
//! **Why only scalars may be shifted.** A group element g acts on a pixel of key (k, parity)
//! by `det(g)^parity · g^{⊗k}`. Scaling commutes with every such action, so dividing a
//! channel by a positive constant keeps an equivariant network equivariant. Subtracting a
//! constant `s` does not, unless `g·s = s` for every g: true for scalars of parity 0 only.
//! For a pseudoscalar (`g·s = −s` under reflections) or any k ≥ 1 key (`g·s ≠ s` for a
//! non-zero vector s) a shift breaks equivariance, so [`Seam::validate`] refuses it and
//! [`NormalizationFit`] scales those keys by the RMS of the per-pixel norm instead.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::image::{MultiImage, Signature, TensorKey};
use crate::models::config::ModelConfig;

/// The scaling of one key: per channel, `x ↦ (x − shift[c]) / scale[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyScaling {
    /// The key.
    pub key: TensorKey,
    /// Per channel: the value subtracted (0 for every key but parity-0 scalars).
    pub shift: Vec<f32>,
    /// Per channel: the positive divisor.
    pub scale: Vec<f32>,
}

/// Per-key, per-channel statistics of a model's input and output fields. Its serde form is
/// the model file's `normalization` (keys as `{"k", "parity", "covariant_axes"}` with
/// per-channel `shift` and `scale`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "crate::io::model_file::NormalizationJson",
    into = "crate::io::model_file::NormalizationJson"
)]
pub struct Normalization {
    /// One entry per input key, in the input signature's order.
    pub input: Vec<KeyScaling>,
    /// One entry per output key, in the output signature's order; with residual learning,
    /// the statistics of the change `target − newest input frame`.
    pub output: Vec<KeyScaling>,
}

/// Field normalisation and residual learning around a network (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Seam {
    /// The network predicts the change from the newest input frame.
    pub residual: bool,
    /// Per-key statistics; `None`: the network sees and predicts raw values.
    pub normalization: Option<Normalization>,
}

/// A seam that does not fit its model.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SeamError {
    /// Residual learning needs every output key in the input, with at least as many channels.
    #[error(
        "residual learning adds the newest input frame to each output key, but the input \
         {input} has no {channels} channel(s) of output key {key}"
    )]
    Residual {
        /// The output key.
        key: String,
        /// Its channels in the output.
        channels: usize,
        /// The input signature.
        input: String,
    },
    /// The normalisation's keys or channel counts differ from the model's signature.
    #[error("normalization.{side}: keys and channels {got}, the model's signature is {expected}")]
    Keys {
        /// `input` or `output`.
        side: &'static str,
        /// The model's signature.
        expected: String,
        /// What the normalisation lists.
        got: String,
    },
    /// A scale that is not finite and positive, or a shift that is not finite.
    #[error("normalization.{side}: key {key}, channel {channel}: {what} = {value} must be {requirement}")]
    Value {
        /// `input` or `output`.
        side: &'static str,
        /// The key.
        key: String,
        /// The channel.
        channel: usize,
        /// `shift` or `scale`.
        what: &'static str,
        /// The value.
        value: f32,
        /// What it must be.
        requirement: &'static str,
    },
    /// A shift on a key that is not a parity-0 scalar (it would break equivariance).
    #[error(
        "normalization.{side}: key {key} may only be scaled: a shift is invariant under B_d only \
         for scalars of parity 0"
    )]
    Shift {
        /// `input` or `output`.
        side: &'static str,
        /// The key.
        key: String,
    },
    /// The data a normalisation is fitted to is inconsistent.
    #[error("normalization: {0}")]
    Fit(String),
}

impl KeyScaling {
    /// The identity scaling of `channels` channels of `key`.
    pub fn identity(key: TensorKey, channels: usize) -> Self {
        Self {
            key,
            shift: vec![0.0; channels],
            scale: vec![1.0; channels],
        }
    }

    fn check(&self, side: &'static str) -> Result<(), SeamError> {
        let value_error = |channel, what, value, requirement| SeamError::Value {
            side,
            key: self.key.to_string(),
            channel,
            what,
            value,
            requirement,
        };
        for (c, (&shift, &scale)) in self.shift.iter().zip(&self.scale).enumerate() {
            if !(scale.is_finite() && scale > 0.0) {
                return Err(value_error(c, "scale", scale, "finite and > 0"));
            }
            if !shift.is_finite() {
                return Err(value_error(c, "shift", shift, "finite"));
            }
            if shift != 0.0 && !shiftable(&self.key) {
                return Err(SeamError::Shift {
                    side,
                    key: self.key.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Whether a constant may be subtracted from `key` without breaking equivariance.
pub fn shiftable(key: &TensorKey) -> bool {
    key.k() == 0 && key.parity() == 0
}

fn listed(scalings: &[KeyScaling]) -> String {
    let entries: Vec<String> = scalings
        .iter()
        .map(|s| format!("{}: {}", s.key, s.scale.len()))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

fn check_side(
    side: &'static str,
    scalings: &[KeyScaling],
    signature: &Signature,
) -> Result<(), SeamError> {
    let same = scalings.len() == signature.entries().len()
        && scalings
            .iter()
            .zip(signature.entries())
            .all(|(s, (key, channels))| {
                &s.key == key && s.shift.len() == *channels && s.scale.len() == *channels
            });
    if !same {
        return Err(SeamError::Keys {
            side,
            expected: signature.to_string(),
            got: listed(scalings),
        });
    }
    scalings.iter().try_for_each(|s| s.check(side))
}

impl Seam {
    /// Whether the seam changes nothing (no residual, no normalisation).
    pub fn is_identity(&self) -> bool {
        !self.residual && self.normalization.is_none()
    }

    /// Checks the seam against the model's signatures (see [`SeamError`]).
    pub fn validate(&self, config: &ModelConfig) -> Result<(), SeamError> {
        if self.residual {
            for (key, channels) in config.output_keys.entries() {
                if config.input_keys.channels(key).unwrap_or(0) < *channels {
                    return Err(SeamError::Residual {
                        key: key.to_string(),
                        channels: *channels,
                        input: config.input_keys.to_string(),
                    });
                }
            }
        }
        if let Some(n) = &self.normalization {
            check_side("input", &n.input, &config.input_keys)?;
            check_side("output", &n.output, &config.output_keys)?;
        }
        Ok(())
    }

    /// The network's input: `x` normalised (a copy), or `None` when there is no
    /// normalisation (the network takes `x` as it is). `x` must have the model's input
    /// signature (checked by the caller).
    pub fn network_input(&self, x: &MultiImage) -> Option<MultiImage> {
        let n = self.normalization.as_ref()?;
        let mut out = x.clone();
        for (block, scaling) in out.blocks_mut().zip(&n.input) {
            let len = block.channel_len();
            for c in 0..block.channels() {
                let (shift, inv) = (scaling.shift[c], 1.0 / scaling.scale[c]);
                block.channel_mut(c)[..len]
                    .iter_mut()
                    .for_each(|v| *v = (*v - shift) * inv);
            }
        }
        Some(out)
    }

    /// The prediction from the network's output `y` for the input `x` (raw, not normalised):
    /// de-normalised, plus the newest input frame with residual learning.
    pub fn prediction(&self, x: &MultiImage, mut y: MultiImage) -> MultiImage {
        if let Some(n) = &self.normalization {
            for (block, scaling) in y.blocks_mut().zip(&n.output) {
                for c in 0..block.channels() {
                    let (shift, scale) = (scaling.shift[c], scaling.scale[c]);
                    block
                        .channel_mut(c)
                        .iter_mut()
                        .for_each(|v| *v = *v * scale + shift);
                }
            }
        }
        if self.residual {
            for block in y.blocks_mut() {
                let newest = newest_channels(x, block.key(), block.channels())
                    .expect("validated: every output key is in the input");
                block
                    .data_mut()
                    .iter_mut()
                    .zip(newest)
                    .for_each(|(v, x)| *v += x);
            }
        }
        y
    }
}

/// The last `channels` channels of `key` in `x` (the newest frame), as one slice.
pub fn newest_channels<'a>(
    x: &'a MultiImage,
    key: &TensorKey,
    channels: usize,
) -> Option<&'a [f32]> {
    let block = x.get(key)?;
    let skip = block.channels().checked_sub(channels)?;
    Some(&block.data()[skip * block.channel_len()..])
}

/// Running sums of one key's channels: Σx and Σ‖x‖² per channel, and the pixel count.
#[derive(Debug, Clone)]
struct Moments {
    key: TensorKey,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    pixels: f64,
}

impl Moments {
    fn new(key: TensorKey, channels: usize) -> Self {
        Self {
            key,
            sum: vec![0.0; channels],
            sum_sq: vec![0.0; channels],
            pixels: 0.0,
        }
    }

    /// Adds one image's channels (`data`, channel-major, `comps` components per pixel).
    fn add(&mut self, data: &[f32], comps: usize) {
        let channels = self.sum.len();
        let len = data.len() / channels;
        for c in 0..channels {
            let channel = &data[c * len..][..len];
            self.sum[c] += channel.iter().map(|&v| f64::from(v)).sum::<f64>();
            self.sum_sq[c] += channel
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>();
        }
        self.pixels += (len / comps) as f64;
    }

    /// Parity-0 scalars: mean and standard deviation; every other key: no shift and the
    /// RMS of the per-pixel norm. A vanishing scale (a constant field) becomes 1.
    fn scaling(&self) -> KeyScaling {
        let n = self.pixels.max(1.0);
        let (mut shift, mut scale) = (Vec::new(), Vec::new());
        for (&s, &sq) in self.sum.iter().zip(&self.sum_sq) {
            let (mean, mean_sq) = (s / n, sq / n);
            let (m, spread) = if shiftable(&self.key) {
                (mean, (mean_sq - mean * mean).max(0.0).sqrt())
            } else {
                (0.0, mean_sq.sqrt())
            };
            shift.push(m as f32);
            scale.push(if spread > 1e-12 && spread.is_finite() {
                spread as f32
            } else {
                1.0
            });
        }
        KeyScaling {
            key: self.key.clone(),
            shift,
            scale,
        }
    }
}

/// Accumulates the statistics of a [`Normalization`] over (input, target) pairs.
#[derive(Debug, Clone)]
pub struct NormalizationFit {
    residual: bool,
    input: Vec<Moments>,
    output: Vec<Moments>,
    output_signature: Signature,
}

impl NormalizationFit {
    /// An empty fit for a model mapping `input` to `output`; with `residual`, the output
    /// statistics are those of `target − newest input frame`.
    pub fn new(input: &Signature, output: &Signature, residual: bool) -> Self {
        let moments = |s: &Signature| {
            s.entries()
                .iter()
                .map(|(k, c)| Moments::new(k.clone(), *c))
                .collect()
        };
        Self {
            residual,
            input: moments(input),
            output: moments(output),
            output_signature: output.clone(),
        }
    }

    /// Adds one training pair.
    pub fn add(&mut self, input: &MultiImage, target: &MultiImage) -> Result<(), SeamError> {
        let signature = Signature::new(
            self.input
                .iter()
                .map(|m| (m.key.clone(), m.sum.len()))
                .collect(),
        )
        .expect("built from a signature");
        if input.signature() != signature || target.signature() != self.output_signature {
            return Err(SeamError::Fit(format!(
                "a pair {} → {} does not have the model's signatures {signature} → {}",
                input.signature(),
                target.signature(),
                self.output_signature
            )));
        }
        let dim = input.dim();
        for (m, block) in self.input.iter_mut().zip(input.blocks()) {
            m.add(block.data(), block.key().components(dim));
        }
        for (m, block) in self.output.iter_mut().zip(target.blocks()) {
            let comps = block.key().components(dim);
            if self.residual {
                let newest =
                    newest_channels(input, block.key(), block.channels()).ok_or_else(|| {
                        SeamError::Fit(format!(
                            "residual learning: the input has too few channels of {}",
                            block.key()
                        ))
                    })?;
                let change: Vec<f32> = block
                    .data()
                    .iter()
                    .zip(newest)
                    .map(|(y, x)| y - x)
                    .collect();
                m.add(&change, comps);
            } else {
                m.add(block.data(), comps);
            }
        }
        Ok(())
    }

    /// The running sums (per key: Σx per channel, Σ‖x‖² per channel, the pixel count; inputs
    /// then outputs) as one vector: fits of disjoint parts of the data, e.g. one per
    /// data-parallel rank, add up element-wise to the fit of the whole.
    pub fn sums(&self) -> Vec<f64> {
        self.input
            .iter()
            .chain(&self.output)
            .flat_map(|m| m.sum.iter().chain(&m.sum_sq).copied().chain([m.pixels]))
            .collect()
    }

    /// Replaces the running sums by `sums`, laid out as [`NormalizationFit::sums`] gives them.
    pub fn set_sums(&mut self, sums: &[f64]) -> Result<(), SeamError> {
        let expected = self.sums().len();
        if sums.len() != expected {
            return Err(SeamError::Fit(format!(
                "{} running sums given, the fit has {expected}",
                sums.len()
            )));
        }
        let mut rest = sums;
        for m in self.input.iter_mut().chain(&mut self.output) {
            let c = m.sum.len();
            m.sum.copy_from_slice(&rest[..c]);
            m.sum_sq.copy_from_slice(&rest[c..2 * c]);
            m.pixels = rest[2 * c];
            rest = &rest[2 * c + 1..];
        }
        Ok(())
    }

    /// The fitted normalisation.
    pub fn finish(&self) -> Result<Normalization, SeamError> {
        if self.input.iter().any(|m| m.pixels == 0.0) {
            return Err(SeamError::Fit("no training pairs were added".into()));
        }
        Ok(Normalization {
            input: self.input.iter().map(Moments::scaling).collect(),
            output: self.output.iter().map(Moments::scaling).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock};

    fn geometry() -> Geometry {
        Geometry::square(2, 3, true).unwrap()
    }

    fn signature(entries: &[(TensorKey, usize)]) -> Signature {
        Signature::new(entries.to_vec()).unwrap()
    }

    fn image(entries: &[(TensorKey, usize)], f: impl Fn(usize) -> f32) -> MultiImage {
        let g = geometry();
        let blocks = entries
            .iter()
            .map(|(key, c)| {
                let len = c * g.pixels() * key.components(2);
                ImageBlock::new(g.clone(), key.clone(), *c, (0..len).map(&f).collect()).unwrap()
            })
            .collect();
        MultiImage::from_blocks(g, blocks).unwrap()
    }

    #[test]
    fn fits_of_disjoint_parts_add_up_to_the_fit_of_the_whole() {
        let (s, v) = (TensorKey::scalar(), TensorKey::vector());
        let sig = signature(&[(s.clone(), 2), (v.clone(), 1)]);
        let entries = [(s, 2), (v, 1)];
        let pairs: Vec<_> = (0..4)
            .map(|k| {
                (
                    image(&entries, |i| (i * (k + 1)) as f32 * 0.25 - 1.0),
                    image(&entries, |i| ((i + k) % 5) as f32),
                )
            })
            .collect();
        let mut whole = NormalizationFit::new(&sig, &sig, true);
        let (mut first, mut second) = (whole.clone(), whole.clone());
        for (k, (x, y)) in pairs.iter().enumerate() {
            whole.add(x, y).unwrap();
            if k < 1 { &mut first } else { &mut second }
                .add(x, y)
                .unwrap();
        }
        let summed: Vec<f64> = first
            .sums()
            .iter()
            .zip(second.sums())
            .map(|(a, b)| a + b)
            .collect();
        let mut merged = NormalizationFit::new(&sig, &sig, true);
        merged.set_sums(&summed).unwrap();
        assert_eq!(merged.sums(), summed);
        let (a, b) = (merged.finish().unwrap(), whole.finish().unwrap());
        for (x, y) in a
            .input
            .iter()
            .chain(&a.output)
            .zip(b.input.iter().chain(&b.output))
        {
            for (p, q) in x
                .shift
                .iter()
                .zip(&y.shift)
                .chain(x.scale.iter().zip(&y.scale))
            {
                assert!((p - q).abs() <= 1e-6 * q.abs().max(1.0), "{p} vs {q}");
            }
        }
        assert!(merged.set_sums(&summed[1..]).is_err());
    }

    #[test]
    fn fit_gives_mean_and_std_of_scalars_and_the_rms_norm_of_vectors() {
        let (s, v) = (TensorKey::scalar(), TensorKey::vector());
        let input = signature(&[(s.clone(), 1), (v.clone(), 1)]);
        let mut fit = NormalizationFit::new(&input, &input, false);
        // Scalars 0..9 (mean 4, population variance 60/9); vectors (3, 4) everywhere (norm 5).
        let x = image(&[(s.clone(), 1)], |i| i as f32);
        let vec = ImageBlock::new(geometry(), v, 1, [3.0, 4.0].repeat(9)).unwrap();
        let mut x = x;
        x.insert(vec).unwrap();
        fit.add(&x, &x).unwrap();
        let n = fit.finish().unwrap();
        assert_eq!(n.input[0].shift, [4.0]);
        assert!((n.input[0].scale[0] - (60.0f32 / 9.0).sqrt()).abs() < 1e-6);
        assert_eq!(n.input[1].shift, [0.0]);
        assert!((n.input[1].scale[0] - 5.0).abs() < 1e-6);
        assert_eq!(n.input, n.output);
    }

    #[test]
    fn residual_prediction_adds_the_newest_frame() {
        let s = TensorKey::scalar();
        let input = signature(&[(s.clone(), 2)]);
        let output = signature(&[(s.clone(), 1)]);
        let mut config = ModelConfig::new(
            crate::models::config::ModelKind::ResNet,
            2,
            input.clone(),
            output.clone(),
            2,
        );
        config.num_blocks = Some(1);
        let seam = Seam {
            residual: true,
            normalization: Some(Normalization {
                input: vec![KeyScaling {
                    key: s.clone(),
                    shift: vec![1.0, 1.0],
                    scale: vec![2.0, 2.0],
                }],
                output: vec![KeyScaling {
                    key: s.clone(),
                    shift: vec![0.5],
                    scale: vec![10.0],
                }],
            }),
        };
        seam.validate(&config).unwrap();
        // Channel 0 (oldest) holds i, channel 1 (newest) holds 100 + i.
        let x = image(&[(s.clone(), 2)], |i| {
            if i < 9 {
                i as f32
            } else {
                91.0 + i as f32
            }
        });
        let normalised = seam.network_input(&x).unwrap();
        assert_eq!(normalised.blocks()[0].data()[1], 0.0); // (1 − 1) / 2
        assert_eq!(normalised.blocks()[0].data()[9], 49.5); // (100 − 1) / 2
        let y = image(&[(s, 1)], |_| 1.0);
        let p = seam.prediction(&x, y);
        // 0.5 + 10 · 1 + (100 + i).
        assert_eq!(p.blocks()[0].data()[0], 110.5);
        assert_eq!(p.blocks()[0].data()[8], 118.5);
    }

    #[test]
    fn shifts_of_pseudoscalars_and_vectors_and_bad_keys_are_refused() {
        let (p, v) = (TensorKey::new(0, 1), TensorKey::vector());
        let sig = signature(&[(p.clone(), 1), (v.clone(), 1)]);
        let mut config = ModelConfig::new(
            crate::models::config::ModelKind::ResNet,
            2,
            sig.clone(),
            sig.clone(),
            2,
        );
        config.num_blocks = Some(1);
        let ok = Normalization {
            input: vec![
                KeyScaling::identity(p.clone(), 1),
                KeyScaling::identity(v.clone(), 1),
            ],
            output: vec![
                KeyScaling::identity(p.clone(), 1),
                KeyScaling::identity(v.clone(), 1),
            ],
        };
        let seam = |n: Normalization| Seam {
            residual: false,
            normalization: Some(n),
        };
        seam(ok.clone()).validate(&config).unwrap();
        for i in 0..2 {
            let mut bad = ok.clone();
            bad.input[i].shift[0] = 0.1;
            let err = seam(bad).validate(&config).unwrap_err();
            assert!(matches!(err, SeamError::Shift { .. }), "{err}");
        }
        let mut bad = ok.clone();
        bad.output[1].scale[0] = 0.0;
        assert!(matches!(
            seam(bad).validate(&config),
            Err(SeamError::Value { what: "scale", .. })
        ));
        let mut bad = ok.clone();
        bad.output.pop();
        assert!(matches!(
            seam(bad).validate(&config),
            Err(SeamError::Keys { side: "output", .. })
        ));
        let residual = Seam {
            residual: true,
            normalization: None,
        };
        let mut config2 = config.clone();
        config2.output_keys = signature(&[(TensorKey::scalar(), 1)]);
        assert!(matches!(
            residual.validate(&config2),
            Err(SeamError::Residual { .. })
        ));
    }
}
