//! ginjax's losses (`ginjax/ml/losses.py`) on batches of geometric images.
//!
//! Prediction and target must have the same signature and geometry. Each loss is computed per
//! batch item and then reduced by [`Reduce`]; the result is a tensor of shape `[1]` (mean) or
//! `[batch]` (per item) that backpropagates.
//!
//! - [`smse`]: per item `Σ_blocks Σ (x − y)² / pixels` (sum over channels and components, mean
//!   over pixels);
//! - [`normalized_smse`]: the squared error of each pixel divided by `‖y_pixel‖² + eps`, then
//!   as [`smse`];
//! - [`nrmse`]: per item the mean over channels and pixels of `‖x − y‖ / (‖y‖ + eps)` (0 where
//!   `‖y‖ = 0`), pixel norms over the tensor components;
//! - [`l2_rel_error`]: [`nrmse`] · 100 (a percentage).

use burn::tensor::Tensor;

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
    /// [`nrmse`] with this eps (ginjax's default 0).
    Nrmse(f64),
    /// [`l2_rel_error`] with this eps (ginjax's default 0).
    L2RelError(f64),
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

/// ginjax's `nrmse_loss` (see the module docs).
pub fn nrmse(
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
            let zero = norm.clone().equal_elem(0.0);
            let rel = (diff / (norm + eps)).mask_fill(zero, 0.0);
            rel.flatten::<2>(1, 3)
        })
        .collect();
    let n = prediction.batch();
    let per_item = Tensor::cat(per_block, 1).mean_dim(1).reshape([n]);
    Ok(reduce_items(per_item, reduce))
}

/// ginjax's `l2_rel_error`: [`nrmse`] as a percentage.
pub fn l2_rel_error(
    prediction: &TensorImage,
    target: &TensorImage,
    reduce: Reduce,
    eps: f64,
) -> Result<Tensor<1>, TrainError> {
    Ok(nrmse(prediction, target, reduce, eps)? * 100.0)
}
