//! A [`ConvContract`]'s bias, per [`BiasMode`]: adding the layer's own bias to an output block
//! ([`apply_bias`]), and, for training, adding caller-given biases and taking the gradient
//! of that step ([`ConvContract::add_bias_with`], [`ConvContract::bias_backward`]).
//!
//! A bias enters an output block `y` of `(out_c, pixels, comps)` in one of two ways (ginjax's
//! `ConvContract`): *additive* on the scalar key, `y[c, p] + b[c]`, or *mean-scaled*,
//! `y[c, p, a] + m[c, a] · b[c]` with `m[c, a]` the mean of `y[c, ·, a]` over the pixels.
//! The mean-scaled step's gradient is
//! `∂L/∂y[c, p, a] = g[c, p, a] + b[c]/P · Σ_p' g[c, p', a]` and
//! `∂L/∂b[c] = Σ_{p,a} g[c, p, a] · m[c, a]`; the additive step's is `g` and `Σ_p g[c, p]`.

use std::ops::Range;

use super::{BiasMode, ConvContract, ConvContractError};
use crate::error::Error;
use crate::image::{MultiImage, TensorKey};

/// How a bias enters an output block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BiasKind {
    /// No bias.
    None,
    /// `y + b`.
    Additive,
    /// `y + mean(y) · b`.
    MeanScaled,
}

impl BiasKind {
    /// ginjax's rule: 'auto' is additive on the scalar key and mean-scaled elsewhere;
    /// 'scalar' is additive on the scalar key only; 'mean' is mean-scaled everywhere.
    fn of(mode: BiasMode, key: &TensorKey) -> Self {
        match mode {
            BiasMode::Auto | BiasMode::Scalar if key.is_scalar() => Self::Additive,
            BiasMode::Auto | BiasMode::Mean => Self::MeanScaled,
            BiasMode::Scalar | BiasMode::None => Self::None,
        }
    }
}

/// Scratch for the per-component work on the channels `(pixels, comps)` of one block: 8
/// pixels' worth of f32 lanes (lane `l` holds component `l % comps`), which vectorise, and the
/// f64 sums; allocated once per block.
struct ComponentLanes {
    comps: usize,
    lanes: Vec<f32>,
    sums: Vec<f64>,
}

impl ComponentLanes {
    fn new(comps: usize) -> Self {
        Self {
            comps,
            lanes: vec![0.0; comps * 8],
            sums: vec![0.0; comps],
        }
    }

    /// The per-component sums over the pixels of `channel`, in f64: summed in the f32 lanes,
    /// flushed into f64 every `FLUSH` rows of lanes.
    fn sums(&mut self, channel: &[f32]) -> &[f64] {
        const FLUSH: usize = 64;
        let (comps, lanes_len) = (self.comps, self.lanes.len());
        self.sums.fill(0.0);
        for block in channel.chunks(FLUSH * lanes_len) {
            self.lanes.fill(0.0);
            let mut rows = block.chunks_exact(lanes_len);
            for row in &mut rows {
                for (l, &v) in self.lanes.iter_mut().zip(row) {
                    *l += v;
                }
            }
            for (l, &v) in self.lanes.iter_mut().zip(rows.remainder()) {
                *l += v;
            }
            for (i, &l) in self.lanes.iter().enumerate() {
                self.sums[i % comps] += f64::from(l);
            }
        }
        &self.sums
    }

    /// Adds `shift[a]` to component `a` of every pixel of `channel`.
    fn add(&mut self, channel: &mut [f32], shift: &[f32]) {
        let comps = self.comps;
        for (i, l) in self.lanes.iter_mut().enumerate() {
            *l = shift[i % comps];
        }
        let mut rows = channel.chunks_exact_mut(self.lanes.len());
        for row in &mut rows {
            for (v, &s) in row.iter_mut().zip(&self.lanes) {
                *v += s;
            }
        }
        for (v, &s) in rows.into_remainder().iter_mut().zip(&self.lanes) {
            *v += s;
        }
    }
}

/// Adds the bias `bias` (`out_c` values) to one output block `data` in ginjax's layout
/// `(out_c, pixels, comps)`; writes the means `m[c, a]` of a mean-scaled block into `means`
/// (`out_c · comps` values) when it is given.
fn add_block_bias(
    kind: BiasKind,
    bias: &[f32],
    comps: usize,
    pixels: usize,
    data: &mut [f32],
    mut means: Option<&mut [f32]>,
) {
    let mut lanes = ComponentLanes::new(comps);
    let mut shift = vec![0.0f32; comps];
    for (c, &b) in bias.iter().enumerate() {
        let channel = &mut data[c * pixels * comps..(c + 1) * pixels * comps];
        match kind {
            BiasKind::None => {}
            BiasKind::Additive => channel.iter_mut().for_each(|v| *v += b),
            BiasKind::MeanScaled => {
                let sums = lanes.sums(channel);
                for (a, shift) in shift.iter_mut().enumerate() {
                    let mean = (sums[a] / pixels as f64) as f32;
                    if let Some(means) = means.as_deref_mut() {
                        means[c * comps + a] = mean;
                    }
                    *shift = mean * b;
                }
                lanes.add(channel, &shift);
            }
        }
    }
}

/// Adds the bias of one output block in ginjax's layout `(out_c, pixels, comps)`.
pub(super) fn apply_bias(
    mode: BiasMode,
    key: &TensorKey,
    bias: &[f32],
    comps: usize,
    pixels: usize,
    data: &mut [f32],
) {
    add_block_bias(BiasKind::of(mode, key), bias, comps, pixels, data, None);
}

impl ConvContract {
    /// The bias kind of every output block, in output order, with its key's channels and
    /// components.
    fn bias_blocks(&self) -> Vec<(BiasKind, usize, usize)> {
        let targets = self.config.target.entries();
        self.outputs
            .iter()
            .map(|&o| {
                let (key, out_c) = &targets[o];
                let kind = match self.biases[o] {
                    Some(_) => BiasKind::of(self.config.bias, key),
                    None => BiasKind::None,
                };
                (kind, *out_c, key.components(self.dim))
            })
            .collect()
    }

    /// Per output block, in output order: whether a bias enters it (the bias is enabled and
    /// its mode biases the block's key). [`ConvContract::add_bias_with`] takes one bias
    /// `(out_c,)` for each of these blocks.
    pub fn biased_outputs(&self) -> Vec<bool> {
        self.bias_blocks()
            .iter()
            .map(|&(kind, _, _)| kind != BiasKind::None)
            .collect()
    }

    /// The number of bias values [`ConvContract::add_bias_with`] takes: `out_c` per biased
    /// output block.
    pub fn bias_len(&self) -> usize {
        self.bias_blocks()
            .iter()
            .filter(|(kind, _, _)| *kind != BiasKind::None)
            .map(|&(_, out_c, _)| out_c)
            .sum()
    }

    /// The number of means [`ConvContract::add_bias_with`] returns: `out_c · d^k` per
    /// mean-scaled output block.
    pub fn bias_means_len(&self) -> usize {
        self.bias_blocks()
            .iter()
            .filter(|(kind, _, _)| *kind == BiasKind::MeanScaled)
            .map(|&(_, out_c, comps)| out_c * comps)
            .sum()
    }

    /// Adds `bias` ([`ConvContract::bias_len`] values: one `(out_c,)` per biased output block,
    /// in output order) to `output`, the result of [`ConvContract::convolve_with`], as the
    /// layer adds its own bias; returns the means `m[c, a]` of the mean-scaled blocks
    /// ([`ConvContract::bias_means_len`] values), which [`ConvContract::bias_backward`] needs.
    pub fn add_bias_with(&self, output: &mut MultiImage, bias: &[f32]) -> Result<Vec<f32>, Error> {
        output.expect_signature(&self.output_signature())?;
        let pixels = output.geometry().pixels();
        let mut blocks: Vec<&mut [f32]> = output.blocks_mut().map(|b| b.data_mut()).collect();
        self.add_bias_into(pixels, &mut blocks, bias)
    }

    /// [`ConvContract::add_bias_with`] on output blocks given as slices (one per output
    /// block, in output order, on `pixels` output pixels; the output of
    /// [`ConvContract::convolve_with_into`]).
    pub fn add_bias_into(
        &self,
        pixels: usize,
        output: &mut [&mut [f32]],
        bias: &[f32],
    ) -> Result<Vec<f32>, Error> {
        self.check_outs(pixels, output)?;
        check_len("bias values", self.bias_len(), bias.len())?;
        let mut means = vec![0.0f32; self.bias_means_len()];
        for ((kind, comps, b, m), block) in self.bias_slices(bias).into_iter().zip(output) {
            let m = (kind == BiasKind::MeanScaled).then(|| &mut means[m]);
            add_block_bias(kind, b, comps, pixels, block, m);
        }
        Ok(means)
    }

    /// The backward pass of [`ConvContract::add_bias_with`]: turns `grad`, the gradient with
    /// respect to the biased output, into the gradient with respect to the convolution's
    /// output (in place), and returns the bias gradient ([`ConvContract::bias_len`] values).
    /// `means` are the values [`ConvContract::add_bias_with`] returned for this output.
    pub fn bias_backward(
        &self,
        grad: &mut MultiImage,
        bias: &[f32],
        means: &[f32],
    ) -> Result<Vec<f32>, Error> {
        self.check_bias(grad, bias)?;
        check_len("means", self.bias_means_len(), means.len())?;
        let mut bias_grad = Vec::with_capacity(bias.len());
        for ((kind, comps, b, m), block) in
            self.bias_slices(bias).into_iter().zip(grad.blocks_mut())
        {
            let (m, pixels) = (&means[m], block.geometry().pixels());
            let mut lanes = ComponentLanes::new(comps);
            let mut shift = vec![0.0f32; comps];
            for (c, &b) in b.iter().enumerate() {
                let channel = &mut block.data_mut()[c * pixels * comps..(c + 1) * pixels * comps];
                let sums = lanes.sums(channel);
                match kind {
                    BiasKind::Additive => bias_grad.push(sums.iter().sum::<f64>() as f32),
                    _ => {
                        let m = &m[c * comps..(c + 1) * comps];
                        let db: f64 = sums.iter().zip(m).map(|(s, &m)| s * f64::from(m)).sum();
                        bias_grad.push(db as f32);
                        for (shift, s) in shift.iter_mut().zip(sums) {
                            *shift = (s * f64::from(b) / pixels as f64) as f32;
                        }
                        lanes.add(channel, &shift);
                    }
                }
            }
        }
        Ok(bias_grad)
    }

    /// Per output block, in output order: its bias kind, its components, its part of `bias`
    /// (`out_c` values; none when it has no bias) and the range of its means in the means of
    /// [`ConvContract::add_bias_with`] (empty unless it is mean-scaled). `bias` has
    /// [`ConvContract::bias_len`] values.
    fn bias_slices<'a>(&self, bias: &'a [f32]) -> Vec<(BiasKind, usize, &'a [f32], Range<usize>)> {
        let (mut b_start, mut m_start) = (0, 0);
        self.bias_blocks()
            .into_iter()
            .map(|(kind, out_c, comps)| {
                let b_len = if kind == BiasKind::None { 0 } else { out_c };
                let m_len = if kind == BiasKind::MeanScaled {
                    out_c * comps
                } else {
                    0
                };
                let slices = (
                    kind,
                    comps,
                    &bias[b_start..b_start + b_len],
                    m_start..m_start + m_len,
                );
                (b_start, m_start) = (b_start + b_len, m_start + m_len);
                slices
            })
            .collect()
    }

    /// Checks that `image` has the output signature and `bias` [`ConvContract::bias_len`]
    /// values.
    fn check_bias(&self, image: &MultiImage, bias: &[f32]) -> Result<(), Error> {
        image.expect_signature(&self.output_signature())?;
        check_len("bias values", self.bias_len(), bias.len())
    }
}

/// A [`ConvContractError::BiasLength`] error unless `got == expected`.
fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), Error> {
    if got != expected {
        return Err(ConvContractError::BiasLength {
            what,
            expected,
            got,
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ginrs_generator::BankOptions;

    use super::*;
    use crate::image::Geometry;
    use crate::layers::conv_contract::ConvContractConfig;
    use crate::ops::bank::DenseBank;
    use crate::test_support::{image_dot, noise, random_image, sig};

    /// `L(y, b) = ⟨g, y + bias(y, b)⟩` is linear in `y` (for fixed `b`) and in `b` (for fixed
    /// `y`), so a finite difference of any step is its exact derivative up to rounding:
    /// `bias_backward` must give both, for every mode, on scalars, pseudoscalars and vectors.
    #[test]
    fn bias_backward_is_the_gradient_of_add_bias_with() {
        let input = sig(&[(0, 0, 1), (1, 0, 1)]);
        let target = sig(&[(0, 0, 2), (1, 0, 2), (0, 1, 1)]);
        let bank = DenseBank::invariant(2, 3, &[0, 1, 2], &BankOptions::default()).unwrap();
        let geometry = Geometry::new(vec![5, 4], vec![true, false]).unwrap();
        for mode in [
            BiasMode::Auto,
            BiasMode::Scalar,
            BiasMode::Mean,
            BiasMode::None,
        ] {
            let config = ConvContractConfig::new(input.clone(), target.clone())
                .bias(mode)
                .allow_missing(true);
            let layer = ConvContract::from_bank(config, &bank, 3).unwrap();
            let signature = layer.output_signature();
            let y = random_image(&geometry, &signature, 1);
            let g = random_image(&geometry, &signature, 2);
            let b = noise(layer.bias_len(), 3);
            let loss = |y: &MultiImage, b: &[f32]| {
                let mut out = y.clone();
                layer.add_bias_with(&mut out, b).unwrap();
                image_dot(&out, &g)
            };
            let mut biased = y.clone();
            let means = layer.add_bias_with(&mut biased, &b).unwrap();
            assert_eq!(means.len(), layer.bias_means_len());
            let mut dy = g.clone();
            let db = layer.bias_backward(&mut dy, &b, &means).unwrap();
            let base = loss(&y, &b);
            for (i, &want) in db.iter().enumerate() {
                let mut b1 = b.clone();
                b1[i] += 1.0;
                let fd = loss(&y, &b1) - base;
                assert!(
                    (fd - f64::from(want)).abs() < 1e-4,
                    "{mode:?} db[{i}]: {fd} vs {want}"
                );
            }
            for (block, grad) in y.blocks().iter().zip(dy.blocks()) {
                for (i, &want) in grad.data().iter().enumerate() {
                    let mut y1 = y.clone();
                    y1.get_mut(block.key()).unwrap().data_mut()[i] += 1.0;
                    let fd = loss(&y1, &b) - base;
                    assert!(
                        (fd - f64::from(want)).abs() < 1e-4,
                        "{mode:?} {:?}[{i}]: {fd} vs {want}",
                        block.key()
                    );
                }
            }
            let scalar_biased = mode == BiasMode::Scalar;
            assert_eq!(
                layer.biased_outputs(),
                match mode {
                    BiasMode::None => vec![false; 3],
                    _ if scalar_biased => vec![true, false, false],
                    _ => vec![true; 3],
                }
            );
        }
    }

    #[test]
    fn bias_lengths_are_checked() {
        let layer = ConvContract::from_bank(
            ConvContractConfig::new(sig(&[(0, 0, 1)]), sig(&[(0, 0, 2), (1, 0, 1)])),
            &DenseBank::invariant(2, 3, &[0, 1], &BankOptions::default()).unwrap(),
            1,
        )
        .unwrap();
        let geometry = Geometry::new(vec![3, 3], vec![true, true]).unwrap();
        let mut y = random_image(&geometry, &layer.output_signature(), 1);
        let err = layer.add_bias_with(&mut y, &[0.0; 2]).unwrap_err();
        assert!(
            err.to_string().contains("expected 3 bias values, got 2"),
            "{err}"
        );
        let err = layer.bias_backward(&mut y, &[0.0; 3], &[]).unwrap_err();
        assert!(err.to_string().contains("expected 2 means, got 0"), "{err}");
    }

    #[test]
    fn mean_bias_adds_the_channel_mean_times_b() {
        // 2 channels of 37 pixels × 2 components (a remainder after the lanes), 'auto' on a
        // vector key: y + mean(y)·b per channel and component.
        let (pixels, comps) = (37, 2);
        let mut data: Vec<f32> = (0..2 * pixels * comps)
            .map(|i| (i % 7) as f32 - 2.5)
            .collect();
        let before = data.clone();
        apply_bias(
            BiasMode::Auto,
            &TensorKey::vector(),
            &[0.5, -2.0],
            comps,
            pixels,
            &mut data,
        );
        for c in 0..2 {
            let channel = &before[c * pixels * comps..(c + 1) * pixels * comps];
            for q in 0..comps {
                let mean: f64 = channel
                    .iter()
                    .skip(q)
                    .step_by(comps)
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
                    / pixels as f64;
                let b = [0.5f64, -2.0][c];
                for p in 0..pixels {
                    let i = c * pixels * comps + p * comps + q;
                    let want = f64::from(before[i]) + mean * b;
                    assert!((f64::from(data[i]) - want).abs() < 1e-6, "{i}");
                }
            }
        }
        let mut scalars = vec![1.0f32; 4];
        apply_bias(
            BiasMode::Auto,
            &TensorKey::scalar(),
            &[0.25],
            1,
            4,
            &mut scalars,
        );
        assert_eq!(scalars, [1.25; 4]);
    }
}
