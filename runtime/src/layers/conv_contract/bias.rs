//! Adding a [`ConvContract`](super::ConvContract)'s bias to an output block, per
//! [`BiasMode`].

use super::BiasMode;
use crate::image::TensorKey;

/// Adds the bias of one output block in ginjax's layout `(out_c, pixels, comps)`.
pub(super) fn apply_bias(
    mode: BiasMode,
    key: &TensorKey,
    bias: &[f32],
    comps: usize,
    pixels: usize,
    data: &mut [f32],
) {
    let additive = key.is_scalar() && matches!(mode, BiasMode::Auto | BiasMode::Scalar);
    let mean_scaled = mode == BiasMode::Mean || (mode == BiasMode::Auto && !key.is_scalar());
    // The per-component sums of the mean run in f32 lanes, 8 pixels' worth (lane `l` holds
    // component `l % comps`), which vectorise, flushed into f64 every `FLUSH` rows of lanes;
    // the shifts are added the same way.
    const FLUSH: usize = 64;
    let lanes_len = comps * 8;
    let mut lanes = vec![0.0f32; lanes_len];
    let mut sums = vec![0.0f64; comps];
    let mut shifts = vec![0.0f32; lanes_len];
    for (c, &b) in bias.iter().enumerate() {
        let channel = &mut data[c * pixels * comps..(c + 1) * pixels * comps];
        if additive {
            channel.iter_mut().for_each(|v| *v += b);
        } else if mean_scaled {
            sums.fill(0.0);
            for block in channel.chunks(FLUSH * lanes_len) {
                lanes.fill(0.0);
                let mut rows = block.chunks_exact(lanes_len);
                for row in &mut rows {
                    for (l, &v) in lanes.iter_mut().zip(row) {
                        *l += v;
                    }
                }
                for (i, &v) in rows.remainder().iter().enumerate() {
                    lanes[i] += v;
                }
                for (i, &l) in lanes.iter().enumerate() {
                    sums[i % comps] += f64::from(l);
                }
            }
            for (i, shift) in shifts.iter_mut().enumerate() {
                *shift = (sums[i % comps] / pixels as f64) as f32 * b;
            }
            let mut rows = channel.chunks_exact_mut(lanes_len);
            for row in &mut rows {
                for (v, &s) in row.iter_mut().zip(&shifts) {
                    *v += s;
                }
            }
            for (v, &s) in rows.into_remainder().iter_mut().zip(&shifts) {
                *v += s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
