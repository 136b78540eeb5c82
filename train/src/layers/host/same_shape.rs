//! GroupNorm and VectorNeuronNonlinear as [`HostKernel`]s: the runtime layers' forward and
//! backward passes on one item, with the parameters of the call, reading the item's blocks
//! as [`BlockView`]s and writing straight into the call's output slices (no copies).
//!
//! Both layers map an image to one of the same signature and geometry, block by block in the
//! input's order. The parameters are flat, in the runtime layer's order:
//! [`RuntimeGroupNorm::set_flat_params`] (per key in signature order: weight, then bias
//! where the key has one; see [`ginrs_runtime::NormParity`]) and
//! [`RuntimeVectorNeuron::set_flat_weights`] (per non-scalar key in signature order: its
//! `c × c` matrix, row-major).

use std::fmt::Debug;
use std::sync::Arc;

use burn::tensor::Tensor;
use ginrs_runtime::image::buffers;
use ginrs_runtime::{
    BlockView, Error as RuntimeError, Geometry, GroupNorm as RuntimeGroupNorm, Signature,
    TensorKey, VectorNeuronNonlinear as RuntimeVectorNeuron,
};

use super::{block_values, FusedLayer, HostKernel};
use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::route::Route;

/// A runtime layer whose output has its input's signature, with flat parameters and a
/// backward pass, both on borrowed blocks.
pub(crate) trait SameShapeLayer: Clone + Debug + Send + Sync + 'static {
    /// A copy of the layer with the flat parameters `params`.
    fn with_params(&self, params: &[f32]) -> Result<Self, RuntimeError>;
    /// Writes the output for `input` into `out` (one slice per block).
    fn forward_into(
        &self,
        input: &[BlockView<'_>],
        out: &mut [&mut [f32]],
    ) -> Result<(), RuntimeError>;
    /// Writes the input gradient for the output gradient `grad` into `grad_input`, and
    /// returns the flat parameter gradient.
    fn backward_into(
        &self,
        input: &[BlockView<'_>],
        grad: &[BlockView<'_>],
        grad_input: &mut [&mut [f32]],
    ) -> Result<Vec<f32>, RuntimeError>;
}

/// Implements [`SameShapeLayer`] for a runtime layer with `$set` (its flat-parameter
/// setter) and its own `forward_into` and `backward_into`.
macro_rules! same_shape_layer {
    ($layer:ty, $set:ident) => {
        impl SameShapeLayer for $layer {
            fn with_params(&self, params: &[f32]) -> Result<Self, RuntimeError> {
                let mut layer = self.clone();
                layer.$set(params)?;
                Ok(layer)
            }

            fn forward_into(
                &self,
                input: &[BlockView<'_>],
                out: &mut [&mut [f32]],
            ) -> Result<(), RuntimeError> {
                <$layer>::forward_into(self, input, out)
            }

            fn backward_into(
                &self,
                input: &[BlockView<'_>],
                grad: &[BlockView<'_>],
                grad_input: &mut [&mut [f32]],
            ) -> Result<Vec<f32>, RuntimeError> {
                <$layer>::backward_into(self, input, grad, grad_input)
            }
        }
    };
}

same_shape_layer!(RuntimeGroupNorm, set_flat_params);
same_shape_layer!(RuntimeVectorNeuron, set_flat_weights);

/// A [`SameShapeLayer`] on images of one signature and geometry.
#[derive(Debug)]
pub struct SameShape<L> {
    layer: L,
    signature: Signature,
    geometry: Geometry,
}

impl<L: SameShapeLayer> SameShape<L> {
    /// `layer` (a runtime layer of the module's configuration) on inputs of `signature` on
    /// `geometry`, with the module's parameters `params` (flat, in the runtime layer's
    /// order).
    pub(crate) fn layer(
        layer: &L,
        signature: &Signature,
        geometry: &Geometry,
        params: Vec<Tensor<1>>,
    ) -> FusedLayer {
        let kernel = Self {
            layer: layer.clone(),
            signature: signature.clone(),
            geometry: geometry.clone(),
        };
        FusedLayer {
            kernel: Arc::new(kernel),
            params,
            output: signature.clone(),
            geometry: geometry.clone(),
        }
    }

    /// [`SameShape::layer`] after checking every key of `signature` and its channel count
    /// with `check` (the module's own check of an input block).
    pub(crate) fn checked<T>(
        layer: &L,
        signature: &Signature,
        geometry: &Geometry,
        check: impl Fn(&TensorKey, usize) -> Result<T, TrainError>,
        params: Vec<Tensor<1>>,
    ) -> Result<FusedLayer, TrainError> {
        for (key, channels) in signature.entries() {
            check(key, *channels)?;
        }
        Ok(Self::layer(layer, signature, geometry, params))
    }

    /// `layer` on `input` with the parameters `params`, where `route` takes the fused route:
    /// `None` where it takes burn's ops.
    pub(crate) fn forward(
        route: Route,
        layer: &L,
        input: &TensorImage,
        params: impl FnOnce() -> Vec<Tensor<1>>,
    ) -> Result<Option<TensorImage>, TrainError> {
        let fused = Self::layer(layer, &input.signature(), input.geometry(), Vec::new());
        let Some(call) = route.pick(|| fused.call(input))? else {
            return Ok(None);
        };
        let fused = FusedLayer {
            params: params(),
            ..fused
        };
        fused.apply(call, input).map(Some)
    }

    /// Views of one item's blocks (the operand was assembled from blocks of the signature).
    fn views<'a>(&'a self, blocks: &[&'a [f32]]) -> Vec<BlockView<'a>> {
        self.signature
            .views(&self.geometry, blocks)
            .expect("the operand was assembled from blocks of this signature")
    }

    fn bound(&self, params: &[f32]) -> L {
        self.layer
            .with_params(params)
            .expect("the layer assembles one parameter vector of the runtime layer's length")
    }
}

impl<L: SameShapeLayer> HostKernel for SameShape<L> {
    fn input_blocks(&self) -> Vec<usize> {
        block_values(&self.geometry, &self.signature)
    }

    fn output_blocks(&self) -> Vec<usize> {
        self.input_blocks()
    }

    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]], _: &mut [f32]) {
        let x = self.views(input);
        self.bound(params)
            .forward_into(&x, out)
            .expect("the layer checked the input's keys and channels");
    }

    fn backward(
        &self,
        input: &[&[f32]],
        params: &[f32],
        _: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        want_params: bool,
    ) -> Vec<f32> {
        let (x, g) = (self.views(input), self.views(grad));
        let layer = self.bound(params);
        const CHECKED: &str = "the layer checked the input's keys and channels";
        let dp = match input_grad {
            Some(out) => layer.backward_into(&x, &g, out).expect(CHECKED),
            None => {
                // The input gradient is computed with the parameters' and dropped.
                let mut scratch: Vec<Vec<f32>> =
                    input.iter().map(|b| buffers::take(b.len())).collect();
                let mut out: Vec<&mut [f32]> = scratch.iter_mut().map(Vec::as_mut_slice).collect();
                let dp = layer.backward_into(&x, &g, &mut out).expect(CHECKED);
                scratch.into_iter().for_each(buffers::keep);
                dp
            }
        };
        if want_params {
            dp
        } else {
            Vec::new()
        }
    }
}
