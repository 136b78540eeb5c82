//! The all-reduce of a data-parallel step: the gradients of every parameter, and a few
//! values riding along (the loss), summed over the ranks in one collective.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use super::Ranks;
use crate::error::TrainError;
use crate::image::read_f32;

/// The number of f32 values [`all_reduce`] sums per step for `module`: one per trainable
/// value, plus `extra`.
pub fn reduced_len<M: Module>(module: &M, extra: usize) -> usize {
    module.num_params() + extra
}

/// Sums `grads` (the gradients of `module`'s parameters on this rank) and `extra` over the
/// ranks, in one all-reduce of f32 values in the module's parameter order. Every rank must
/// call it with the same module structure and `extra.len()`. With one rank it returns
/// `grads` as it is.
pub fn all_reduce<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    extra: &mut [f32],
    ranks: &Ranks,
) -> Result<GradientsParams, TrainError> {
    if ranks.size() == 1 {
        return Ok(grads);
    }
    let mut gather = Gather {
        grads: &grads,
        flat: Vec::with_capacity(reduced_len(module, extra.len())),
        error: None,
    };
    module.visit(&mut gather);
    if let Some(e) = gather.error {
        return Err(e);
    }
    let mut flat = gather.flat;
    let values = flat.len();
    flat.extend_from_slice(extra);
    ranks.all_reduce_sum(&mut flat);
    extra.copy_from_slice(&flat[values..]);
    module.visit(&mut Scatter {
        grads: &mut grads,
        flat: &flat[..values],
    });
    Ok(grads)
}

/// Appends each parameter's gradient (where it has one) to `flat`.
struct Gather<'a> {
    grads: &'a GradientsParams,
    flat: Vec<f32>,
    error: Option<TrainError>,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            match read_f32(&grad) {
                Ok(values) => self.flat.extend_from_slice(&values),
                Err(e) => self.error = self.error.take().or(Some(e)),
            }
        }
    }
}

/// Replaces each parameter's gradient by the next values of `flat`, in [`Gather`]'s order.
struct Scatter<'a, 'b> {
    grads: &'a mut GradientsParams,
    flat: &'b [f32],
}

impl ModuleVisitor for Scatter<'_, '_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let shape = grad.shape();
            let (values, rest) = self.flat.split_at(shape.num_elements());
            self.flat = rest;
            let summed: Tensor<D> =
                Tensor::from_data(TensorData::new(values.to_vec(), shape), &grad.device());
            self.grads.register(param.id, summed);
        }
    }
}
