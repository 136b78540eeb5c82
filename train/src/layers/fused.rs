//! The fused CPU route of [`ConvContract`](super::ConvContract): its convolution, forward and
//! backward, through the runtime's basis-first kernels, as a burn backend extension with its
//! own backward pass.
//!
//! # How it plugs into burn 0.22
//!
//! burn 0.22's tensors carry no backend generic; a custom operation is a trait marked
//! `#[backend_extension(…)]` (burn's `extension` feature), implemented on every backend it
//! names, and called through burn's `Dispatch` on the tensors' dispatch form
//! (`Tensor::into_dispatch` / `Tensor::from_dispatch`). [`FusedConvBackend`] names `Flex`
//! (burn's pure-Rust CPU backend) and `Autodiff`:
//!
//! - on `Flex`, the operation reads its two operands back as host `f32` buffers (a flex tensor
//!   *is* a host buffer), runs [`ginrs_runtime::ConvContract::convolve_with`] per batch item
//!   and wraps the result as a flex tensor;
//! - on `Autodiff<Flex, C>`, it registers a node of burn-autodiff's graph (`Backward::prepare`,
//!   `OpsKind`, compute-bound, both operands checkpointed) whose backward pass calls
//!   [`ginrs_runtime::ConvContract::convolve_adjoint`] for the input gradient and
//!   [`ginrs_runtime::ConvContract::weight_gradient`] for the weight gradient.
//!
//! The operation has exactly two tensor operands, so its graph node has a fixed arity: the
//! input `[batch, Σ_blocks channels · pixels · d^k]` (every input block of an item, in the
//! runtime's layout, side by side) and the weights `[Σ_pairs out_c · in_c · n_f]` (every pair's
//! array, in pair order). Its output is `[batch, Σ_outputs out_c · pixels' · d^k]`. The layer
//! assembles and cuts these with burn's own (differentiable) `reshape`, `cat` and `narrow`, and
//! adds the bias with burn ops as the dense route does, so burn differentiates those parts.
//!
//! Calling the operation on a device other than flex panics inside burn's dispatch (an
//! extension runs only on the backends it names); the layer checks the device first
//! ([`FusedConv::check`]).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Dispatch, Flex};
use burn::tensor::{DType, Device, Tensor, TensorData};
use ginrs_runtime::image::buffers;
use ginrs_runtime::{
    ConvContract as RuntimeConvContract, Geometry, ImageBlock, MultiImage, Signature,
};

use crate::error::FusedUnsupported;

/// The fused convolution as a burn backend extension (see the module docs).
#[backend_extension(Flex, Autodiff)]
pub trait FusedConvBackend: Backend {
    /// The convolution of `x` (`[batch, input values]`) with the flat weights `w` for the
    /// layer and geometry of `op`: `[batch, output values]`.
    fn fused_conv_contract(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        op: FusedConv,
    ) -> FloatTensor<Self>;
}

/// One fused call: the runtime layer (its pairs' kernels; its own weights are not used), the
/// batch size and the input geometry.
#[derive(Debug, Clone)]
pub struct FusedConv {
    layer: Arc<RuntimeConvContract>,
    batch: usize,
    input_geometry: Geometry,
    output_geometry: Geometry,
}

impl FusedConv {
    /// A call of `layer` on `batch` items of `input_geometry` (whose convolution output has
    /// `output_geometry`), after checking that the fused route serves it on `device` in
    /// `dtype`.
    pub(crate) fn check(
        layer: Arc<RuntimeConvContract>,
        batch: usize,
        input_geometry: Geometry,
        output_geometry: Geometry,
        device: &Device,
        dtype: DType,
    ) -> Result<Self, FusedUnsupported> {
        if device.clone().inner() != Device::flex() {
            return Err(FusedUnsupported::Device(format!("{device:?}")));
        }
        if dtype != DType::F32 {
            return Err(FusedUnsupported::DType(dtype));
        }
        if layer.weight_len() == 0 {
            return Err(FusedUnsupported::NoPairs);
        }
        layer
            .adjoint_support(&input_geometry)
            .map_err(|e| FusedUnsupported::Runtime(Box::new(e)))?;
        Ok(Self {
            layer,
            batch,
            input_geometry,
            output_geometry,
        })
    }

    /// Applies the operation: `x` is `[batch, input values]`, `w` the flat weights.
    pub(crate) fn apply(self, x: Tensor<2>, w: Tensor<1>) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as FusedConvBackend>::fused_conv_contract(
            x.into_dispatch(),
            w.into_dispatch(),
            self,
        ))
    }

    /// The values of one item's input.
    fn input_len(&self) -> usize {
        values(&self.input_geometry, self.layer.input_signature())
    }

    /// The values of one item's output.
    fn output_len(&self) -> usize {
        values(&self.output_geometry, &self.layer.output_signature())
    }

    /// The forward pass on host buffers: every item's convolution, side by side.
    fn forward(&self, x: &[f32], w: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.batch * self.output_len());
        for item in x.chunks_exact(x.len() / self.batch) {
            let image = image(&self.input_geometry, self.layer.input_signature(), item);
            let y = self
                .layer
                .convolve_with(&image, w)
                .expect("FusedConv::check validated the layer, geometry and weight count");
            y.blocks()
                .iter()
                .for_each(|b| out.extend_from_slice(b.data()));
        }
        out
    }

    /// The input gradient on host buffers, from the weights and the output gradient `g`.
    fn input_grad(&self, w: &[f32], g: &[f32]) -> Vec<f32> {
        let signature = self.layer.output_signature();
        let mut out = Vec::with_capacity(self.batch * self.input_len());
        for item in g.chunks_exact(g.len() / self.batch) {
            let grad = image(&self.output_geometry, &signature, item);
            let dx = self
                .layer
                .convolve_adjoint(&grad, &self.input_geometry, w)
                .expect("FusedConv::check validated the adjoint for this geometry");
            dx.blocks()
                .iter()
                .for_each(|b| out.extend_from_slice(b.data()));
        }
        out
    }

    /// The weight gradient on host buffers, summed over the batch.
    fn weight_grad(&self, x: &[f32], g: &[f32]) -> Vec<f32> {
        let signature = self.layer.output_signature();
        let mut total = vec![0.0f32; self.layer.weight_len()];
        let items = x
            .chunks_exact(x.len() / self.batch)
            .zip(g.chunks_exact(g.len() / self.batch));
        for (xi, gi) in items {
            let input = image(&self.input_geometry, self.layer.input_signature(), xi);
            let grad = image(&self.output_geometry, &signature, gi);
            let dw = self
                .layer
                .weight_gradient(&input, &grad)
                .expect("FusedConv::check validated the layer and geometry");
            total.iter_mut().zip(&dw).for_each(|(t, d)| *t += d);
        }
        total
    }
}

/// The number of values of a multi-image of `signature` on `geometry`.
fn values(geometry: &Geometry, signature: &Signature) -> usize {
    signature
        .entries()
        .iter()
        .map(|(key, channels)| channels * geometry.pixels() * key.components(geometry.dim()))
        .sum()
}

/// One item's multi-image of `signature` on `geometry` from its values (the blocks side by
/// side in the runtime's layout). The blocks' storage comes from the runtime's buffer pool,
/// where a dropped block returns it, so the items of a batch reuse one set of buffers.
fn image(geometry: &Geometry, signature: &Signature, values: &[f32]) -> MultiImage {
    let mut image = MultiImage::new(geometry.clone());
    let mut rest = values;
    for (key, channels) in signature.entries() {
        let len = channels * geometry.pixels() * key.components(geometry.dim());
        let (head, tail) = rest.split_at(len);
        rest = tail;
        let mut data = buffers::take(len);
        data.copy_from_slice(head);
        let block = ImageBlock::new(geometry.clone(), key.clone(), *channels, data)
            .expect("the operand was assembled from blocks of this signature");
        image
            .insert(block)
            .expect("a signature's keys are distinct");
    }
    image
}

/// A flex tensor's values as host `f32` (the layer checked the dtype).
fn host(tensor: FlexTensor) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .expect("FusedConv::check accepts f32 tensors only")
}

/// A flex tensor of `shape` holding `values`.
fn flex(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl FusedConvBackend for Flex {
    fn fused_conv_contract(x: FlexTensor, w: FlexTensor, op: FusedConv) -> FlexTensor {
        let y = op.forward(&host(x), &host(w));
        let per_item = y.len() / op.batch;
        flex(y, vec![op.batch, per_item])
    }
}

/// The backward step of the fused convolution (see the module docs).
#[derive(Debug)]
struct FusedBackward;

impl Backward<Flex, 2> for FusedBackward {
    /// The checkpointed input and weights, and the call.
    type State = (NodeId, NodeId, FusedConv);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w] = ops.parents;
        let grad = host(grads.consume::<Flex>(&ops.node));
        let (x_state, w_state, op) = ops.state;
        let x = host(checkpointer.retrieve_node_output::<FlexTensor>(x_state));
        let w = host(checkpointer.retrieve_node_output::<FlexTensor>(w_state));
        if let Some(node) = node_w {
            let dw = op.weight_grad(&x, &grad);
            grads.register::<Flex>(node.id, flex(dw, vec![w.len()]));
        }
        if let Some(node) = node_x {
            let dx = op.input_grad(&w, &grad);
            grads.register::<Flex>(node.id, flex(dx, vec![op.batch, x.len() / op.batch]));
        }
    }
}

impl<C: CheckpointStrategy> FusedConvBackend for Autodiff<Flex, C> {
    fn fused_conv_contract(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        op: FusedConv,
    ) -> FloatTensor<Self> {
        match FusedBackward
            .prepare::<C>([x.node(), w.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let w_state = prep.checkpoint(&w);
                let y =
                    Flex::fused_conv_contract(x.into_primitive(), w.into_primitive(), op.clone());
                prep.finish((x_state, w_state, op), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::fused_conv_contract(
                x.into_primitive(),
                w.into_primitive(),
                op,
            )),
        }
    }
}
