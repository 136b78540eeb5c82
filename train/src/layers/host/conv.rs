//! ConvContract's convolution as a [`HostKernel`]: the runtime's basis-first kernels.
//!
//! The forward pass is [`ginrs_runtime::ConvContract::convolve_with_into`] (stencil responses
//! and one GEMM per pair, reading the item's input blocks in place and writing the call's
//! output slices) followed by [`ginrs_runtime::ConvContract::add_bias_into`], which keeps the
//! means of the mean-scaled blocks for the backward pass; the backward pass calls
//! [`ginrs_runtime::ConvContract::bias_backward`], then
//! [`ginrs_runtime::AdjointConv::apply_with_weight_gradient_into`] (made once per geometry)
//! for the input and weight gradients together, writing the input gradient into the call's
//! slices, [`ginrs_runtime::AdjointConv::apply`] for the input
//! gradient alone or [`ginrs_runtime::ConvContract::weight_gradient`] for the weight gradient
//! alone (the network's first layer). The parameters are
//! the pairs' weight arrays, flat, in pair order (`[Σ_pairs out_c · in_c · n_f]`), then the
//! biases of the biased output blocks ([`ginrs_runtime::ConvContract::biased_outputs`]), in
//! output order.

use std::sync::Arc;

use ginrs_runtime::{AdjointConv, ConvContract as RuntimeConvContract, Geometry, ImageView};

use super::{block_values, image, write_blocks, HostKernel};
use crate::error::FusedUnsupported;

/// The convolution of a runtime layer (its pairs' kernels; its own weights are not used) on one
/// input geometry.
#[derive(Debug)]
pub struct FusedConv {
    layer: Arc<RuntimeConvContract>,
    /// The input gradient's route on `input_geometry`, made once.
    adjoint: AdjointConv,
    input_geometry: Geometry,
    output_geometry: Geometry,
}

impl FusedConv {
    /// The kernel of `layer` on inputs of `input_geometry` (whose convolution output has
    /// `output_geometry`), where the fused route serves it.
    pub(crate) fn new(
        layer: Arc<RuntimeConvContract>,
        input_geometry: Geometry,
        output_geometry: Geometry,
    ) -> Result<Self, FusedUnsupported> {
        if layer.weight_len() == 0 {
            return Err(FusedUnsupported::NoPairs);
        }
        let adjoint = layer
            .adjoint_for(&input_geometry)
            .map_err(|e| FusedUnsupported::Runtime(Box::new(e)))?;
        Ok(Self {
            layer,
            adjoint,
            input_geometry,
            output_geometry,
        })
    }
}

impl HostKernel for FusedConv {
    fn input_blocks(&self) -> Vec<usize> {
        block_values(&self.input_geometry, self.layer.input_signature())
    }

    fn output_blocks(&self) -> Vec<usize> {
        block_values(&self.output_geometry, &self.layer.output_signature())
    }

    fn saved_len(&self) -> usize {
        self.layer.bias_means_len()
    }

    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]], saved: &mut [f32]) {
        let x = ImageView::of(self.layer.input_signature(), &self.input_geometry, input)
            .expect("the operand was assembled from blocks of the layer's input signature");
        let (weights, bias) = params.split_at(self.layer.weight_len());
        self.layer
            .convolve_with_into(&x, weights, out)
            .expect("FusedConv::new validated the layer, geometry and weight count");
        let means = self
            .layer
            .add_bias_into(self.output_geometry.pixels(), out, bias)
            .expect("the layer passes one bias per biased output block");
        saved.copy_from_slice(&means);
    }

    fn backward(
        &self,
        input: &[&[f32]],
        params: &[f32],
        saved: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        want_params: bool,
    ) -> Vec<f32> {
        let (weights, bias) = params.split_at(self.layer.weight_len());
        let mut g = image(&self.output_geometry, &self.layer.output_signature(), grad);
        let bias_grad = self
            .layer
            .bias_backward(&mut g, bias, saved)
            .expect("the forward pass saved the means of this layer's bias");
        const VALIDATED: &str = "FusedConv::new validated the adjoint for this geometry";
        if !want_params {
            if let Some(out) = input_grad {
                let dx = self
                    .adjoint
                    .apply(&self.layer, &g, weights)
                    .expect(VALIDATED);
                write_blocks(&dx, out);
            }
            return Vec::new();
        }
        let mut grad = match input_grad {
            Some(out) => self
                .adjoint
                .apply_with_weight_gradient_into(&self.layer, &g, input, weights, out)
                .expect(VALIDATED),
            None => {
                let x = image(&self.input_geometry, self.layer.input_signature(), input);
                self.layer.weight_gradient(&x, &g).expect(VALIDATED)
            }
        };
        grad.extend(bias_grad);
        grad
    }
}
