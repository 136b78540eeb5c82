//! Autoregressive rollouts: predict, feed the prediction back, collect.
//!
//! ginjax's time-series models take the last `past_steps` frames stacked along the channel
//! axis and predict the next frame; the next input drops the oldest frame and appends the
//! prediction. [`shift_window`] builds that next input; [`rollout`] repeats predict → feed
//! for any feeding rule.

use burn::tensor::Tensor;

use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::ImageModule;

/// Applies `module` `steps` times, starting from `initial`; after each prediction the next
/// input is `feed(previous input, prediction)`. Returns the predictions in order.
pub fn rollout<M: ImageModule>(
    module: &M,
    initial: &TensorImage,
    steps: usize,
    mut feed: impl FnMut(&TensorImage, &TensorImage) -> Result<TensorImage, TrainError>,
) -> Result<Vec<TensorImage>, TrainError> {
    let mut input = initial.clone();
    let mut predictions = Vec::with_capacity(steps);
    for step in 0..steps {
        let prediction = module.forward_image(&input)?;
        if step + 1 < steps {
            input = feed(&input, &prediction)?;
        }
        predictions.push(prediction);
    }
    Ok(predictions)
}

/// The next input of a sliding window of frames: per key of `input`, drop the first
/// `c_pred` channels (the oldest frame) and append the prediction's channels. The prediction
/// must have the input's keys (in order), geometry and batch, with at most as many channels.
pub fn shift_window(
    input: &TensorImage,
    prediction: &TensorImage,
) -> Result<TensorImage, TrainError> {
    let keys_match = input.blocks().len() == prediction.blocks().len()
        && input
            .blocks()
            .iter()
            .zip(prediction.blocks())
            .all(|((a, x), (b, y))| a == b && y.dims()[1] <= x.dims()[1]);
    if !keys_match || input.geometry() != prediction.geometry() {
        return Err(TrainError::SignatureMismatch {
            what: "rollout prediction (must have the input's keys and geometry)",
            expected: input.signature(),
            got: prediction.signature(),
        });
    }
    let mut next = TensorImage::new(input.geometry().clone(), input.batch());
    for ((key, x), (_, y)) in input.blocks().iter().zip(prediction.blocks()) {
        let (c_in, c_pred) = (x.dims()[1], y.dims()[1]);
        let kept = x.clone().narrow(1, c_pred, c_in - c_pred);
        next.push(key.clone(), Tensor::cat(vec![kept, y.clone()], 1))?;
    }
    Ok(next)
}
