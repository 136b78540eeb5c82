//! Autoregressive rollouts: predict, feed the prediction back, collect.
//!
//! ginjax's time-series models take the last `past_steps` frames stacked along the channel
//! axis and predict the next frame; the next input drops the oldest frame and appends the
//! prediction. [`shift_window`] builds that next input; [`rollout`] repeats predict → feed
//! for any feeding rule.

use burn::tensor::Tensor;
use ginrs_runtime::{Signature, TensorKey};

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
    shift_window_after(input, prediction, &Signature::new(Vec::new())?)
}

/// [`shift_window`] for inputs that start, per key, with `constants`' channels (fields fed
/// to the model but never predicted, as ginjax's `autoregressive_step` keeps its
/// `constant_fields`): those channels and the keys the prediction lacks are kept as they are,
/// and of the rest the oldest frame is dropped and the prediction appended.
pub fn shift_window_after(
    input: &TensorImage,
    prediction: &TensorImage,
    constants: &Signature,
) -> Result<TensorImage, TrainError> {
    let mismatch = || TrainError::SignatureMismatch {
        what: "rollout prediction (must have the input's keys and geometry)",
        expected: input.signature(),
        got: prediction.signature(),
    };
    if input.geometry() != prediction.geometry() {
        return Err(mismatch());
    }
    let input_keys: Vec<&TensorKey> = input.blocks().iter().map(|(k, _)| k).collect();
    let in_order = prediction
        .blocks()
        .iter()
        .map(|(k, _)| input_keys.iter().position(|i| *i == k))
        .collect::<Option<Vec<_>>>()
        .is_some_and(|p| p.windows(2).all(|w| w[0] < w[1]));
    if !in_order {
        return Err(mismatch());
    }
    let mut next = TensorImage::new(input.geometry().clone(), input.batch());
    for (key, x) in input.blocks() {
        let c_in = x.dims()[1];
        let fixed = constants.channels(key).unwrap_or(0);
        let Some((_, y)) = prediction.blocks().iter().find(|(k, _)| k == key) else {
            next.push(key.clone(), x.clone())?;
            continue;
        };
        let c_pred = y.dims()[1];
        if fixed + c_pred > c_in {
            return Err(mismatch());
        }
        let mut parts = Vec::with_capacity(3);
        if fixed > 0 {
            parts.push(x.clone().narrow(1, 0, fixed));
        }
        if c_in > fixed + c_pred {
            parts.push(x.clone().narrow(1, fixed + c_pred, c_in - fixed - c_pred));
        }
        parts.push(y.clone());
        next.push(key.clone(), Tensor::cat(parts, 1))?;
    }
    Ok(next)
}
