//! The runtime's [`Seam`] (field normalisation and residual learning, see
//! [`ginrs_runtime::models::seam`]) on burn tensors: the same arithmetic as the runtime's
//! `Seam::network_input` and `Seam::prediction`, differentiable.

use burn::tensor::Tensor;
use ginrs_runtime::models::{KeyScaling, Seam};

use crate::error::TrainError;
use crate::image::{tensor_from, TensorImage};

/// A `[1, channels, 1, 1]` tensor of `values` on the device and dtype of `like`.
fn per_channel(values: &[f32], like: &Tensor<4>) -> Tensor<4> {
    tensor_from(
        values.iter().map(|&v| f64::from(v)).collect(),
        [1, values.len(), 1, 1],
        &like.device(),
        like.dtype(),
    )
}

/// Applies `f(block, scaling)` to every block of `x` with its scaling.
fn map_blocks(
    x: &TensorImage,
    scalings: &[KeyScaling],
    f: impl Fn(Tensor<4>, &KeyScaling) -> Tensor<4>,
) -> Result<TensorImage, TrainError> {
    let mut out = TensorImage::new(x.geometry().clone(), x.batch());
    for ((key, block), scaling) in x.blocks().iter().zip(scalings) {
        out.push(key.clone(), f(block.clone(), scaling))?;
    }
    Ok(out)
}

/// The network's input: `x` normalised, or `x` itself without normalisation.
pub fn network_input(seam: &Seam, x: &TensorImage) -> Result<TensorImage, TrainError> {
    let Some(n) = &seam.normalization else {
        return Ok(x.clone());
    };
    map_blocks(x, &n.input, |block, s| {
        let inverse: Vec<f32> = s.scale.iter().map(|v| 1.0 / v).collect();
        let shifted = if s.shift.iter().any(|&v| v != 0.0) {
            block.clone() - per_channel(&s.shift, &block)
        } else {
            block.clone()
        };
        shifted * per_channel(&inverse, &block)
    })
}

/// The prediction from the network's output `y` for the raw input `x`: de-normalised, plus
/// the newest input frame (the last channels of each key) with residual learning.
pub fn prediction(seam: &Seam, x: &TensorImage, y: TensorImage) -> Result<TensorImage, TrainError> {
    let y = match &seam.normalization {
        None => y,
        Some(n) => map_blocks(&y, &n.output, |block, s| {
            let scaled = block.clone() * per_channel(&s.scale, &block);
            if s.shift.iter().any(|&v| v != 0.0) {
                scaled + per_channel(&s.shift, &block)
            } else {
                scaled
            }
        })?,
    };
    if !seam.residual {
        return Ok(y);
    }
    let mut out = TensorImage::new(y.geometry().clone(), y.batch());
    for (key, block) in y.blocks() {
        let channels = block.dims()[1];
        let newest = x
            .get(key)
            .filter(|input| input.dims()[1] >= channels)
            .ok_or_else(|| {
                TrainError::Unsupported(format!(
                    "residual learning: the input has fewer than {channels} channel(s) of {key}"
                ))
            })?;
        let have = newest.dims()[1];
        out.push(
            key.clone(),
            block.clone() + newest.clone().narrow(1, have - channels, channels),
        )?;
    }
    Ok(out)
}

/// `image` (a prediction or a target) in the network's output units: every output key's
/// channels divided by their output scale, so that a loss weighs every field by its own
/// typical size (or typical change, with residual learning) rather than by its units.
/// Without normalisation, `image` itself. Differences are what losses measure, so the shift
/// is left out.
pub fn in_output_units(seam: &Seam, image: &TensorImage) -> Result<TensorImage, TrainError> {
    let Some(n) = &seam.normalization else {
        return Ok(image.clone());
    };
    map_blocks(image, &n.output, |block, s| {
        let inverse: Vec<f32> = s.scale.iter().map(|v| 1.0 / v).collect();
        block.clone() * per_channel(&inverse, &block)
    })
}
