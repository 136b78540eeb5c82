//! GroupNorm and VectorNeuronNonlinear as [`HostKernel`]s: the runtime layers' forward and
//! backward passes on one item, with the parameters of the call.
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
use ginrs_runtime::{
    Error as RuntimeError, Geometry, GroupNorm as RuntimeGroupNorm, Layer, MultiImage, Signature,
    TensorKey, VectorNeuronNonlinear as RuntimeVectorNeuron,
};

use super::{block_values, image, write_blocks, FusedLayer, HostKernel};
use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::route::Route;

/// A runtime layer whose output has its input's signature, with flat parameters and a
/// backward pass.
pub(crate) trait SameShapeLayer: Layer + Clone + Debug + Send + Sync + 'static {
    /// A copy of the layer with the flat parameters `params`.
    fn with_params(&self, params: &[f32]) -> Result<Self, RuntimeError>;
    /// The input gradient and the flat parameter gradient for the output gradient `grad`.
    fn gradients(
        &self,
        input: &MultiImage,
        grad: &MultiImage,
    ) -> Result<(MultiImage, Vec<f32>), RuntimeError>;
}

impl SameShapeLayer for RuntimeGroupNorm {
    fn with_params(&self, params: &[f32]) -> Result<Self, RuntimeError> {
        let mut layer = self.clone();
        layer.set_flat_params(params)?;
        Ok(layer)
    }

    fn gradients(
        &self,
        input: &MultiImage,
        grad: &MultiImage,
    ) -> Result<(MultiImage, Vec<f32>), RuntimeError> {
        self.backward(input, grad)
    }
}

impl SameShapeLayer for RuntimeVectorNeuron {
    fn with_params(&self, params: &[f32]) -> Result<Self, RuntimeError> {
        let mut layer = self.clone();
        layer.set_flat_weights(params)?;
        Ok(layer)
    }

    fn gradients(
        &self,
        input: &MultiImage,
        grad: &MultiImage,
    ) -> Result<(MultiImage, Vec<f32>), RuntimeError> {
        self.backward(input, grad)
    }
}

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
        let x = image(&self.geometry, &self.signature, input);
        let y = self
            .bound(params)
            .forward(&x)
            .expect("the layer checked the input's keys and channels");
        write_blocks(&y, out);
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
        let x = image(&self.geometry, &self.signature, input);
        let g = image(&self.geometry, &self.signature, grad);
        let (dx, dp) = self
            .bound(params)
            .gradients(&x, &g)
            .expect("the layer checked the input's keys and channels");
        if let Some(out) = input_grad {
            write_blocks(&dx, out);
        }
        if want_params {
            dp
        } else {
            Vec::new()
        }
    }
}
