//! ginjax's `MaxNormPool` for any d (1, 2, 3) as a burn module without parameters.
//!
//! Non-overlapping patches of side `patch_len` (trailing pixels that fill no patch are
//! dropped, as ginjax's `max_pool` does); in each patch the pixel with the largest norm (or
//! value, for scalar blocks with `use_norm = false`) is copied whole. The choice is made on
//! detached values, so the gradient reaches only the chosen pixel, as with `jnp.argmax` in
//! ginjax. The patches are gathered with one index table built on the host (patch-major,
//! row-major within a patch), which handles every d alike.
//!
//! On the fused route ([`Route`]) the runtime's pool runs instead, as one operation with its
//! own backward pass (`host::pool`): the same choices, without the gathers and scatters.

#[cfg(feature = "flex")]
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use ginrs_runtime::MaxNormPool as RuntimeMaxNormPool;
use ginrs_runtime::{Geometry, Signature};

use crate::error::{FusedUnsupported, TrainError};
use crate::image::TensorImage;
#[cfg(feature = "flex")]
use crate::layers::host::{pool::FusedPool, FusedLayer};
use crate::layers::route::Route;

/// ginjax's `MaxNormPool(patch_len, use_norm)` (see the module docs).
#[derive(Module, Debug)]
pub struct MaxNormPool {
    patch_len: usize,
    use_norm: bool,
    #[module(skip)]
    route: Route,
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
            route: Route::default(),
        }
    }

    /// Selects the [`Route`]: burn's gathers (`Dense`) or the runtime's pool and its backward
    /// pass as one operation (`Fused`).
    pub fn with_route(mut self, route: Route) -> Self {
        self.route = route;
        self
    }

    /// The route.
    pub fn route(&self) -> Route {
        self.route
    }

    /// The equivalent runtime layer.
    pub fn to_runtime(&self) -> Result<RuntimeMaxNormPool, TrainError> {
        RuntimeMaxNormPool::new(self.patch_len, self.use_norm)
            .map_err(|e| ginrs_runtime::Error::from(e).into())
    }

    /// The equivalent runtime layer (`patch_len` is at least 1: `new` checked it).
    #[cfg(feature = "flex")]
    fn to_runtime_layer(&self) -> RuntimeMaxNormPool {
        RuntimeMaxNormPool::new(self.patch_len, self.use_norm)
            .expect("MaxNormPool::new checked the patch side")
    }

    /// The pooled geometry of `geometry`, after checking that the pool serves blocks of
    /// `signature` (with `use_norm = false`, scalars only).
    fn pooled(&self, signature: &Signature, geometry: &Geometry) -> Result<Geometry, TrainError> {
        if let Some((key, _)) = signature
            .entries()
            .iter()
            .find(|(key, _)| !self.use_norm && key.k() > 0)
        {
            return Err(TrainError::Unsupported(format!(
                "MaxNormPool with use_norm = false on block {key:?}: only k = 0 blocks \
                 can be compared by value"
            )));
        }
        let p = self.patch_len;
        let sides: Vec<usize> = geometry.spatial().iter().map(|n| n / p).collect();
        Ok(Geometry::new(sides, geometry.torus().to_vec())?)
    }

    /// The fused route's kernel for inputs of `signature` on `geometry` (checked as
    /// [`MaxNormPool::forward`] checks them); it has no parameters.
    #[cfg(feature = "flex")]
    pub(crate) fn fused_layer(
        &self,
        signature: &Signature,
        geometry: &Geometry,
    ) -> Result<FusedLayer, TrainError> {
        let out_geometry = self.pooled(signature, geometry)?;
        Ok(self.fused_kernel(signature, geometry, &out_geometry)?)
    }

    /// The fused route's kernel for inputs of `signature` on `geometry`, pooled to
    /// `out_geometry`, where it serves them.
    #[cfg(feature = "flex")]
    fn fused_kernel(
        &self,
        signature: &Signature,
        geometry: &Geometry,
        out_geometry: &Geometry,
    ) -> Result<FusedLayer, FusedUnsupported> {
        let kernel = FusedPool::new(
            self.to_runtime_layer(),
            signature.clone(),
            geometry.clone(),
            out_geometry.clone(),
        )?;
        Ok(FusedLayer {
            kernel: Arc::new(kernel),
            params: Vec::new(),
            output: signature.clone(),
            geometry: out_geometry.clone(),
        })
    }

    /// Pools every block of `input`.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let p = self.patch_len;
        let geometry = input.geometry();
        let signature = input.signature();
        let out_geometry = self.pooled(&signature, geometry)?;
        let sides = out_geometry.spatial().to_vec();
        let table = patch_table(geometry.spatial(), &sides, p);
        let patch = p.pow(geometry.dim() as u32);
        #[cfg(feature = "flex")]
        if let Some((layer, call)) = self.route.pick(|| {
            let layer = self.fused_kernel(&signature, geometry, &out_geometry)?;
            let call = layer.call(input)?;
            Ok((layer, call))
        })? {
            return layer.apply(call, input);
        }
        #[cfg(not(feature = "flex"))]
        self.route
            .pick(|| Err::<(), _>(FusedUnsupported::WithoutFlex))?;
        let out_pixels = out_geometry.pixels();
        let mut out = TensorImage::new(out_geometry, input.batch());
        for (key, x) in input.blocks() {
            let [n, c, _, q] = x.dims();
            let device = x.device();
            let index =
                Tensor::<1, Int>::from_data(TensorData::new(table.clone(), [table.len()]), &device);
            let patches: Tensor<5> = x
                .clone()
                .select(2, index)
                .reshape([n, c, out_pixels, patch, q]);
            let score: Tensor<4> = if self.use_norm {
                patches
                    .clone()
                    .detach()
                    .powi_scalar(2)
                    .sum_dim(4)
                    .squeeze_dim(4)
            } else {
                patches.clone().detach().squeeze_dim(4)
            };
            let choice: Tensor<5, Int> = score
                .argmax(3)
                .unsqueeze_dim::<5>(4)
                .expand([n, c, out_pixels, 1, q]);
            let pooled = patches.gather(3, choice).reshape([n, c, out_pixels, q]);
            out.push(key.clone(), pooled)?;
        }
        Ok(out)
    }
}

/// The input pixel of every (output pixel, patch offset), output pixels row-major and offsets
/// row-major within the patch.
fn patch_table(spatial: &[usize], out_sides: &[usize], p: usize) -> Vec<i64> {
    let dim = spatial.len();
    let out_pixels: usize = out_sides.iter().product();
    let patch = p.pow(dim as u32);
    let mut table = Vec::with_capacity(out_pixels * patch);
    for out in 0..out_pixels {
        for offset in 0..patch {
            let (mut o, mut f, mut index) = (out, offset, 0usize);
            let mut coords = vec![0usize; dim];
            for axis in (0..dim).rev() {
                coords[axis] = (o % out_sides[axis]) * p + f % p;
                o /= out_sides[axis];
                f /= p;
            }
            for (axis, &c) in coords.iter().enumerate() {
                index = index * spatial[axis] + c;
            }
            table.push(index as i64);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_table_drops_the_remainder() {
        // 3×5 image, patch 2: output 1×2, patches {0,1,5,6} and {2,3,7,8}.
        assert_eq!(
            patch_table(&[3, 5], &[1, 2], 2),
            vec![0, 1, 5, 6, 2, 3, 7, 8]
        );
    }
}
