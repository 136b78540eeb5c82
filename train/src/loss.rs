//! ginjax's losses (`ginjax/ml/losses.py`, version 0.1.8) on batches of geometric images.
//!
//! Prediction and target must have the same signature and geometry. Each loss is computed per
//! batch item and then reduced by [`Reduce`]; the result is a tensor of shape `[1]` (mean) or
//! `[batch]` (per item) that backpropagates. Below, `x` is the prediction and `y` the target,
//! a block's values are `(channels, pixels, components)` per item, `P` is the number of pixels
//! and a pixel's norm is the Frobenius norm over its `d^k` tensor components.
//!
//! | ginrs | ginjax | per item |
//! |---|---|---|
//! | [`smse`] | `smse_loss` | `Σ_blocks Σ_channels Σ_pixels Σ_components (x − y)² / P` |
//! | [`normalized_smse`] | `normalized_smse_loss` | as [`smse`], each pixel's squared error divided by `‖y_pixel‖² + eps` |
//! | [`nrmse`] | `nrmse_loss` | the mean over every channel of every block of `‖x_c − y_c‖₂ / (‖y_c‖₂ + eps)`, the norms over all the channel's pixels and components (the whole image) |
//! | [`l2_rel_error`] | `l2_rel_error` | [`nrmse`] · 100 (percent) |
//! | [`nrmse_per_pixel`] | `nrmse_per_pixel_loss` | the mean over every channel of every block and every pixel of `‖x_p − y_p‖ / (‖y_p‖ + eps)` |
//! | [`l2_per_pixel_rel_error`] | `l2_per_pixel_rel_error` | [`nrmse_per_pixel`] · 100 (percent) |
//!
//! [`l2_rel_error_per_key`] splits [`l2_rel_error`] by block (per-field errors).
//!
//! Like ginjax, none of the relative errors masks a zero target: with `eps = 0` (ginjax's
//! default for them) a zero target channel (whole-image forms) or pixel (per-pixel forms)
//! divides by zero, giving `+inf` where the prediction differs there and NaN (`0/0`) where it
//! is zero as well; the item's mean and the batch mean then are `+inf` or NaN too. Pass
//! `eps > 0` to keep them finite. The gradient of a norm at 0 (`x = y` on a whole channel, or on
//! a pixel in the per-pixel forms) is NaN, as in jax.

use burn::tensor::Tensor;
use ginrs_runtime::TensorKey;

use crate::error::TrainError;
use crate::image::TensorImage;

/// How a loss is reduced over the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduce {
    /// The mean over the batch (ginjax's `reduce="mean"`): shape `[1]`.
    #[default]
    Mean,
    /// One loss per batch item (ginjax's `reduce=None`): shape `[batch]`.
    PerItem,
}

/// The losses of ginjax, as a value to pass around (e.g. to a training step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// [`smse`].
    Smse,
    /// [`normalized_smse`] with this eps (ginjax's default 1e-5).
    NormalizedSmse(f64),
    /// [`nrmse`] (ginjax's whole-image `nrmse_loss`) with this eps (ginjax's default 0).
    Nrmse(f64),
    /// [`l2_rel_error`] (ginjax's whole-image `l2_rel_error`, percent) with this eps
    /// (ginjax's default 0).
    L2RelError(f64),
    /// [`nrmse_per_pixel`] (ginjax's `nrmse_per_pixel_loss`) with this eps (ginjax's
    /// default 0).
    NrmsePerPixel(f64),
    /// [`l2_per_pixel_rel_error`] (ginjax's `l2_per_pixel_rel_error`, percent) with this eps
    /// (ginjax's default 0).
    L2PerPixelRelError(f64),
}

impl Loss {
    /// Evaluates the loss of `prediction` against `target`.
    pub fn compute(
        self,
        prediction: &TensorImage,
        target: &TensorImage,
        reduce: Reduce,
    ) -> Result<Tensor<1>, TrainError> {
        match self {
            Self::Smse => smse(prediction, target, reduce),
            Self::NormalizedSmse(eps) => normalized_smse(prediction, target, reduce, eps),
            Self::Nrmse(eps) => nrmse(prediction, target, reduce, eps),
            Self::L2RelError(eps) => l2_rel_error(prediction, target, reduce, eps),
            Self::NrmsePerPixel(eps) => nrmse_per_pixel(prediction, target, reduce, eps),
            Self::L2PerPixelRelError(eps) => {
                l2_per_pixel_rel_error(prediction, target, reduce, eps)
            }
        }
    }
}

fn check(prediction: &TensorImage, target: &TensorImage) -> Result<(), TrainError> {
    target.expect_signature("loss target", &prediction.signature())?;
    if target.geometry() != prediction.geometry() || target.batch() != prediction.batch() {
        return Err(TrainError::BatchGeometry {
            index: 0,
            expected: prediction.geometry().spatial().to_vec(),
            expected_torus: prediction.geometry().torus().to_vec(),
            got: target.geometry().spatial().to_vec(),
            got_torus: target.geometry().torus().to_vec(),
        });
    }
    if prediction.blocks().is_empty() {
        return Err(TrainError::Unsupported(
            "a loss of images without blocks".into(),
        ));
    }
    Ok(())
}

fn reduce_items(per_item: Tensor<1>, reduce: Reduce) -> Tensor<1> {
    match reduce {
        Reduce::Mean => per_item.mean(),
        Reduce::PerItem => per_item,
    }
}

/// Sums `per_block(x, y)` (each `[batch]`) over the blocks.
fn sum_blocks(
    prediction: &TensorImage,
    target: &TensorImage,
    per_block: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<1>,
) -> Tensor<1> {
    prediction
        .blocks()
        .iter()
        .zip(target.blocks())
        .map(|((_, x), (_, y))| per_block(x.clone(), y.clone()))
        .reduce(|a, b| a + b)
        .expect("checked: at least one block")
}

/// ginjax's `smse_loss` (see the module docs).
pub fn smse(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
) -> Result<Tensor<1>, TrainError> {
    weighted_squared_error(prediction, target, reduce, |_, squared| squared)
}

/// ginjax's `normalized_smse_loss` (see the module docs).
pub fn normalized_smse(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    weighted_squared_error(prediction, target, reduce, |y, squared| {
        squared / (y.powi_scalar(2).sum_dim(3) + eps)
    })
}

/// Per item, the sum over blocks, channels and components of the squared errors, each
/// weighted by `weight(target, squared)`, divided by the number of pixels: smse and its
/// normalised form differ only in the weight.
fn weighted_squared_error(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    weight: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
) -> Result<Tensor<1>, TrainError> {
    check(prediction, target)?;
    let pixels = prediction.geometry().pixels() as f64;
    let per_item = sum_blocks(prediction, target, |x, y| {
        let n = x.dims()[0];
        let squared = (x - y.clone()).powi_scalar(2);
        weight(y, squared)
            .flatten::<2>(1, 3)
            .sum_dim(1)
            .reshape([n])
            / pixels
    });
    Ok(reduce_items(per_item, reduce))
}

/// Per block, `[batch, channels]`: each channel's whole-image relative error
/// `‖x_c − y_c‖₂ / (‖y_c‖₂ + eps)`, the norms over all its pixels and components (the inner
/// loop of ginjax's `nrmse_loss`).
fn whole_image_ratios(
    prediction: &TensorImage,
    target: &TensorImage,
    eps: f64,
) -> Vec<(TensorKey, Tensor<2>)> {
    prediction
        .blocks()
        .iter()
        .zip(target.blocks())
        .map(|((key, x), (_, y))| {
            let [n, c, _, _] = x.dims();
            let norm = |t: Tensor<4>| t.flatten::<3>(2, 3).powi_scalar(2).sum_dim(2).sqrt();
            let ratio = norm(x.clone() - y.clone()) / (norm(y.clone()) + eps);
            (key.clone(), ratio.reshape([n, c]))
        })
        .collect()
}

/// The mean over the second axis of the concatenation of `parts` (each `[batch, _]`).
fn mean_of_concat(parts: Vec<Tensor<2>>, batch: usize) -> Tensor<1> {
    Tensor::cat(parts, 1).mean_dim(1).reshape([batch])
}

/// ginjax's `nrmse_loss`: per item, the mean over every channel of every block of
/// `‖x_c − y_c‖₂ / (‖y_c‖₂ + eps)`, the norms taken over the channel's whole image (all pixels
/// and tensor components). No masking: with `eps = 0` a zero target channel gives `+inf`
/// (NaN where the prediction's channel is zero too); see the module docs.
pub fn nrmse(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    check(prediction, target)?;
    let ratios = whole_image_ratios(prediction, target, eps)
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(reduce_items(
        mean_of_concat(ratios, prediction.batch()),
        reduce,
    ))
}

/// ginjax's `l2_rel_error`: [`nrmse`] · 100 (the whole-image relative error in percent).
pub fn l2_rel_error(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    Ok(nrmse(prediction, target, reduce, eps)? * 100.0)
}

/// ginjax's `nrmse_per_pixel_loss`: per item, the mean over every channel of every block and
/// every pixel of `‖x_p − y_p‖ / (‖y_p‖ + eps)`, the norms over the pixel's tensor components.
/// No masking, as in ginjax: with `eps = 0` a zero target pixel gives `+inf` (NaN where the
/// prediction's pixel is zero too); see the module docs.
pub fn nrmse_per_pixel(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    check(prediction, target)?;
    let per_block: Vec<Tensor<2>> = prediction
        .blocks()
        .iter()
        .zip(target.blocks())
        .map(|((_, x), (_, y))| {
            let diff = (x.clone() - y.clone()).powi_scalar(2).sum_dim(3).sqrt();
            let norm = y.clone().powi_scalar(2).sum_dim(3).sqrt();
            (diff / (norm + eps)).flatten::<2>(1, 3)
        })
        .collect();
    Ok(reduce_items(
        mean_of_concat(per_block, prediction.batch()),
        reduce,
    ))
}

/// ginjax's `l2_per_pixel_rel_error`: [`nrmse_per_pixel`] · 100 (percent).
pub fn l2_per_pixel_rel_error(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    Ok(nrmse_per_pixel(prediction, target, reduce, eps)? * 100.0)
}

/// [`l2_rel_error`] split by block, for per-field errors: per key (in the images' block order),
/// shape `[batch]`, each item's mean over that block's channels of the whole-image relative
/// error `100 · ‖x_c − y_c‖₂ / (‖y_c‖₂ + eps)` (percent). For an image with one channel per
/// key (e.g. velocity = the vector key, vorticity = the pseudoscalar key, tracer = the scalar
/// key) this is each field's own `l2_rel_error` with `reduce=None`; [`l2_rel_error`] per item
/// is the channel-weighted mean of these. Same NaN/inf behaviour as [`nrmse`].
pub fn l2_rel_error_per_key(
    prediction: &TensorImage,
    target: &TensorImage,
    eps: f64,
) -> Result<Vec<(TensorKey, Tensor<1>)>, TrainError> {
    check(prediction, target)?;
    let batch = prediction.batch();
    Ok(whole_image_ratios(prediction, target, eps)
        .into_iter()
        .map(|(key, r)| (key, r.mean_dim(1).reshape([batch]) * 100.0))
        .collect())
}
