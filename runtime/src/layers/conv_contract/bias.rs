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
    for (c, &b) in bias.iter().enumerate() {
        let channel = &mut data[c * pixels * comps..(c + 1) * pixels * comps];
        if additive {
            channel.iter_mut().for_each(|v| *v += b);
        } else if mean_scaled {
            let mut means = vec![0.0f64; comps];
            for pixel in channel.chunks_exact(comps) {
                for (m, &v) in means.iter_mut().zip(pixel) {
                    *m += v as f64;
                }
            }
            let shifts: Vec<f32> = means
                .iter()
                .map(|m| (m / pixels as f64) as f32 * b)
                .collect();
            for pixel in channel.chunks_exact_mut(comps) {
                for (v, s) in pixel.iter_mut().zip(&shifts) {
                    *v += s;
                }
            }
        }
    }
}
