//! MaxNormPool as a [`HostKernel`]: the runtime's pool, which records which pixel each pooled
//! pixel was taken from ([`ginrs_runtime::MaxNormPool::forward_with_choices`]); the backward
//! pass sends each pooled pixel's gradient back to that pixel
//! ([`ginrs_runtime::MaxNormPool::backward`]). The choices are the values the forward pass
//! keeps, one per channel and pooled pixel, as `f32` (exact: [`FusedPool::new`] accepts
//! images of fewer than 2^24 pixels). The pool has no parameters.

use ginrs_runtime::{Geometry, MaxNormPool as RuntimeMaxNormPool, Signature};

use super::{block_values, image, write_blocks, HostKernel};
use crate::error::FusedUnsupported;

/// Images with at least this many pixels are pooled with burn's ops: a pixel index must be
/// exact in `f32`.
const MAX_PIXELS: usize = 1 << 24;

/// The runtime's pool on inputs of one signature and geometry.
#[derive(Debug)]
pub struct FusedPool {
    layer: RuntimeMaxNormPool,
    signature: Signature,
    input_geometry: Geometry,
    output_geometry: Geometry,
}

impl FusedPool {
    /// The kernel of `layer` on inputs of `signature` on `input_geometry` (pooled to
    /// `output_geometry`), where the fused route serves it.
    pub(crate) fn new(
        layer: RuntimeMaxNormPool,
        signature: Signature,
        input_geometry: Geometry,
        output_geometry: Geometry,
    ) -> Result<Self, FusedUnsupported> {
        if input_geometry.pixels() >= MAX_PIXELS {
            return Err(FusedUnsupported::PixelIndex {
                pixels: input_geometry.pixels(),
            });
        }
        Ok(Self {
            layer,
            signature,
            input_geometry,
            output_geometry,
        })
    }
}

impl HostKernel for FusedPool {
    fn input_blocks(&self) -> Vec<usize> {
        block_values(&self.input_geometry, &self.signature)
    }

    fn output_blocks(&self) -> Vec<usize> {
        block_values(&self.output_geometry, &self.signature)
    }

    fn saved_len(&self) -> usize {
        let pooled = self.output_geometry.pixels();
        self.signature
            .entries()
            .iter()
            .map(|(_, c)| c * pooled)
            .sum()
    }

    fn forward(&self, input: &[&[f32]], _: &[f32], out: &mut [&mut [f32]], saved: &mut [f32]) {
        let x = image(&self.input_geometry, &self.signature, input);
        let (y, choices) = self
            .layer
            .forward_with_choices(&x)
            .expect("the layer checked the blocks against its comparator");
        write_blocks(&y, out);
        for (slot, &choice) in saved.iter_mut().zip(choices.iter().flatten()) {
            *slot = choice as f32;
        }
    }

    fn backward(
        &self,
        _: &[&[f32]],
        _: &[f32],
        saved: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        _: bool,
    ) -> Vec<f32> {
        let Some(out) = input_grad else {
            return Vec::new();
        };
        let pooled = self.output_geometry.pixels();
        let mut rest = saved;
        let choices: Vec<Vec<usize>> = self
            .signature
            .entries()
            .iter()
            .map(|(_, c)| {
                let (block, tail) = rest.split_at(c * pooled);
                rest = tail;
                block.iter().map(|&v| v as usize).collect()
            })
            .collect();
        let g = image(&self.output_geometry, &self.signature, grad);
        let dx = self
            .layer
            .backward(&g, &choices, &self.input_geometry)
            .expect("the choices are the forward pass's");
        write_blocks(&dx, out);
        Vec::new()
    }
}
