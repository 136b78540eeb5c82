//! ginjax's `MaxNormPool` for any d (1, 2, 3) as a burn module without parameters.
//!
//! Non-overlapping patches of side `patch_len` (trailing pixels that fill no patch are
//! dropped, as ginjax's `max_pool` does); in each patch the pixel with the largest norm (or
//! value, for scalar blocks with `use_norm = false`) is copied whole. The choice is made on
//! detached values, so the gradient reaches only the chosen pixel, as with `jnp.argmax` in
//! ginjax. The choice is the runtime's ([`max_pool_choices`], the same comparisons, ties and
//! NaN rule as its `max_pool`), made on the host per batch item; the pooled block is then one
//! burn `gather` of the chosen pixels, whose backward pass scatters the gradient back.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use ginrs_runtime::ops::pool::{max_pool_choices, Comparator};
use ginrs_runtime::MaxNormPool as RuntimeMaxNormPool;
use ginrs_runtime::{Geometry, ImageBlock};
use rayon::prelude::*;

use crate::error::TrainError;
use crate::image::{read_f32, TensorImage};

/// ginjax's `MaxNormPool(patch_len, use_norm)` (see the module docs).
#[derive(Module, Debug)]
pub struct MaxNormPool {
    patch_len: usize,
    use_norm: bool,
}

impl MaxNormPool {
    /// A pool with patches of side `patch_len` (at least 1), comparing pixel norms when
    /// `use_norm` (ginjax's default) and raw values otherwise.
    pub fn new(patch_len: usize, use_norm: bool) -> Result<Self, TrainError> {
        let runtime =
            RuntimeMaxNormPool::new(patch_len, use_norm).map_err(ginrs_runtime::Error::from)?;
        Ok(Self::from_runtime(&runtime))
    }

    /// The same pool as a runtime layer's.
    pub fn from_runtime(runtime: &RuntimeMaxNormPool) -> Self {
        Self {
            patch_len: runtime.patch_len(),
            use_norm: runtime.use_norm(),
        }
    }

    /// The equivalent runtime layer.
    pub fn to_runtime(&self) -> Result<RuntimeMaxNormPool, TrainError> {
        RuntimeMaxNormPool::new(self.patch_len, self.use_norm)
            .map_err(|e| ginrs_runtime::Error::from(e).into())
    }

    /// Pools every block of `input`.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let p = self.patch_len;
        let geometry = input.geometry();
        let sides: Vec<usize> = geometry.spatial().iter().map(|n| n / p).collect();
        let out_geometry = Geometry::new(sides, geometry.torus().to_vec())?;
        let out_pixels = out_geometry.pixels();
        let comparator = if self.use_norm {
            Comparator::Norm
        } else {
            Comparator::Value
        };
        let mut out = TensorImage::new(out_geometry, input.batch());
        for (key, x) in input.blocks() {
            if !self.use_norm && key.k() > 0 {
                return Err(TrainError::Unsupported(format!(
                    "MaxNormPool with use_norm = false on block {key:?}: only k = 0 blocks \
                     can be compared by value"
                )));
            }
            let [n, c, pixels, q] = x.dims();
            let values = read_f32(&x.clone().detach())?;
            // Per item, channel, pooled pixel and component: the flat index of the value it
            // copies within the item's channel (`pixel · q + component`).
            let index = values
                .par_chunks(c * pixels * q)
                .map(|item| {
                    let block = ImageBlock::new(geometry.clone(), key.clone(), c, item.to_vec())
                        .expect("the tensor holds channels · pixels · d^k values");
                    let (_, choices) = max_pool_choices(&block, p, comparator)
                        .map_err(ginrs_runtime::Error::from)?;
                    Ok(choices
                        .iter()
                        .flat_map(|&pixel| (0..q).map(move |a| (pixel * q + a) as i64))
                        .collect::<Vec<i64>>())
                })
                .collect::<Result<Vec<_>, TrainError>>()?
                .concat();
            let index = Tensor::<3, Int>::from_data(
                TensorData::new(index, [n, c, out_pixels * q]),
                &x.device(),
            );
            let pooled = x
                .clone()
                .reshape([n, c, pixels * q])
                .gather(2, index)
                .reshape([n, c, out_pixels, q]);
            out.push(key.clone(), pooled)?;
        }
        Ok(out)
    }
}
