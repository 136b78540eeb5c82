//! ConvContract's convolution as a [`HostKernel`]: the runtime's basis-first kernels.
//!
//! The forward pass is [`ginrs_runtime::ConvContract::convolve_with`] (stencil responses and
//! one GEMM per pair); the backward pass calls
//! [`ginrs_runtime::ConvContract::convolve_adjoint`] for the input gradient and
//! [`ginrs_runtime::ConvContract::weight_gradient`] for the weight gradient. The parameters are
//! the pairs' weight arrays, flat, in pair order (`[Σ_pairs out_c · in_c · n_f]`); the bias is
//! added by the layer with burn ops.

use std::sync::Arc;

use burn::tensor::{DType, Device};
use ginrs_runtime::{ConvContract as RuntimeConvContract, Geometry};

use super::{block_values, image, write_blocks, HostKernel, HostOp};
use crate::error::FusedUnsupported;

/// The convolution of a runtime layer (its pairs' kernels; its own weights are not used) on one
/// input geometry.
#[derive(Debug)]
pub struct FusedConv {
    layer: Arc<RuntimeConvContract>,
    input_geometry: Geometry,
    output_geometry: Geometry,
}

impl FusedConv {
    /// The host call of `layer` on `batch` items of `input_geometry` (whose convolution output
    /// has `output_geometry`), after checking that the fused route serves it on `device` in
    /// `dtype`.
    pub(crate) fn call(
        layer: Arc<RuntimeConvContract>,
        batch: usize,
        input_geometry: Geometry,
        output_geometry: Geometry,
        device: &Device,
        dtype: DType,
    ) -> Result<HostOp, FusedUnsupported> {
        if layer.weight_len() == 0 {
            return Err(FusedUnsupported::NoPairs);
        }
        layer
            .adjoint_support(&input_geometry)
            .map_err(|e| FusedUnsupported::Runtime(Box::new(e)))?;
        let kernel = Self {
            layer,
            input_geometry,
            output_geometry,
        };
        HostOp::check(Arc::new(kernel), batch, device, dtype)
    }
}

impl HostKernel for FusedConv {
    fn input_blocks(&self) -> Vec<usize> {
        block_values(&self.input_geometry, self.layer.input_signature())
    }

    fn output_blocks(&self) -> Vec<usize> {
        block_values(&self.output_geometry, &self.layer.output_signature())
    }

    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]]) {
        let x = image(&self.input_geometry, self.layer.input_signature(), input);
        let y = self
            .layer
            .convolve_with(&x, params)
            .expect("FusedConv::call validated the layer, geometry and weight count");
        write_blocks(&y, out);
    }

    fn backward(
        &self,
        input: &[&[f32]],
        params: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        want_params: bool,
    ) -> Vec<f32> {
        let g = image(&self.output_geometry, &self.layer.output_signature(), grad);
        if let Some(out) = input_grad {
            let dx = self
                .layer
                .convolve_adjoint(&g, &self.input_geometry, params)
                .expect("FusedConv::call validated the adjoint for this geometry");
            write_blocks(&dx, out);
        }
        if !want_params {
            return Vec::new();
        }
        let x = image(&self.input_geometry, self.layer.input_signature(), input);
        self.layer
            .weight_gradient(&x, &g)
            .expect("FusedConv::call validated the layer and geometry")
    }
}
