//! The fused CPU route: layers computed on the host by the runtime's kernels, forward and
//! backward, as one burn operation each (a backend extension with its own backward pass).
//!
//! # How it plugs into burn 0.22
//!
//! burn 0.22's tensors carry no backend generic; a custom operation is a trait marked
//! `#[backend_extension(…)]` (burn's `extension` feature), implemented on every backend it
//! names, and called through burn's `Dispatch` on the tensors' dispatch form
//! (`Tensor::into_dispatch` / `Tensor::from_dispatch`). [`HostOpBackend`] names `Flex`
//! (burn's pure-Rust CPU backend) and `Autodiff`:
//!
//! - on `Flex`, the operation reads its two operands back as host `f32` buffers (a flex tensor
//!   *is* a host buffer), runs the layer's [`HostKernel`] on every batch item (the items in
//!   parallel, on rayon's pool) and wraps the result as a flex tensor;
//! - on `Autodiff<Flex, C>`, it registers a node of burn-autodiff's graph (`Backward::prepare`,
//!   `OpsKind`, compute-bound, both operands checkpointed) whose backward pass calls the
//!   kernel's backward per item and sums the parameter gradients over the batch.
//!
//! The operation has exactly two tensor operands, so its graph node has a fixed arity: the
//! input `[batch, input values]` (every input block of an item, in the runtime's layout, side
//! by side) and the parameters `[parameter values]` (the layer's parameters, flat, in the
//! kernel's order). Its output is `[batch, output values]`. The layers assemble and cut these
//! with burn's own (differentiable) `reshape`, `cat` and `narrow` ([`HostOp::apply_image`]).
//!
//! Calling the operation on a device other than flex panics inside burn's dispatch (an
//! extension runs only on the backends it names); [`HostOp::check`] checks the device first.
//!
//! The kernels: [`conv`] (ConvContract's convolution) and [`same_shape`] (GroupNorm and
//! VectorNeuronNonlinear, whose output has the input's signature).

pub mod conv;
pub mod same_shape;

use std::fmt::Debug;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Dispatch, Flex};
use burn::tensor::{Bytes, DType, Device, Tensor};
use ginrs_runtime::image::buffers;
use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Signature};
use rayon::prelude::*;

use crate::error::{FusedUnsupported, TrainError};
use crate::image::TensorImage;

/// One layer's computation on one batch item, on host buffers (see the module docs).
pub trait HostKernel: Debug + Send + Sync {
    /// The values of one item's input.
    fn input_len(&self) -> usize;
    /// The values of one item's output.
    fn output_len(&self) -> usize;
    /// Writes one item's output for `input` and the flat `params` into `out`.
    fn forward(&self, input: &[f32], params: &[f32], out: &mut [f32]);
    /// One item's backward pass for the output gradient `grad`: writes the input gradient into
    /// `input_grad` when it is given, and returns the parameter gradient (`params.len()`
    /// values) when `want_params`, an empty vector otherwise.
    fn backward(
        &self,
        input: &[f32],
        params: &[f32],
        grad: &[f32],
        input_grad: Option<&mut [f32]>,
        want_params: bool,
    ) -> Vec<f32>;
}

/// The host operation as a burn backend extension (see the module docs).
#[backend_extension(Flex, Autodiff)]
pub trait HostOpBackend: Backend {
    /// The kernel of `op` on `x` (`[batch, input values]`) with the flat parameters `p`:
    /// `[batch, output values]`.
    fn host_op(x: FloatTensor<Self>, p: FloatTensor<Self>, op: HostOp) -> FloatTensor<Self>;
}

/// One host call: the kernel and the batch size.
#[derive(Debug, Clone)]
pub struct HostOp {
    kernel: Arc<dyn HostKernel>,
    batch: usize,
}

impl HostOp {
    /// A call of `kernel` on `batch` items, after checking that the fused route serves it on
    /// `device` in `dtype`.
    pub(crate) fn check(
        kernel: Arc<dyn HostKernel>,
        batch: usize,
        device: &Device,
        dtype: DType,
    ) -> Result<Self, FusedUnsupported> {
        if device.clone().inner() != Device::flex() {
            return Err(FusedUnsupported::Device(format!("{device:?}")));
        }
        if dtype != DType::F32 {
            return Err(FusedUnsupported::DType(dtype));
        }
        Ok(Self { kernel, batch })
    }

    /// Applies the operation: `x` is `[batch, input values]`, `p` the flat parameters.
    pub(crate) fn apply(self, x: Tensor<2>, p: Tensor<1>) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as HostOpBackend>::host_op(
            x.into_dispatch(),
            p.into_dispatch(),
            self,
        ))
    }

    /// Applies the operation to an image whose blocks are the kernel's input, in order, with
    /// the parameters `params` (flattened and concatenated in order): the output blocks
    /// `[batch, c, pixels, d^k]` of `outputs` (keys and channels, in order) on `geometry`.
    pub(crate) fn apply_image(
        self,
        input: &TensorImage,
        params: Vec<Tensor<1>>,
        outputs: &Signature,
        geometry: &Geometry,
    ) -> Result<TensorImage, TrainError> {
        let batch = input.batch();
        let x = Tensor::cat(
            input
                .blocks()
                .iter()
                .map(|(_, t)| {
                    let [n, c, p, a] = t.dims();
                    t.clone().reshape([n, c * p * a])
                })
                .collect(),
            1,
        );
        let y = self.apply(x, Tensor::cat(params, 0));
        let mut out = TensorImage::new(geometry.clone(), batch);
        let mut offset = 0;
        for (key, channels) in outputs.entries() {
            let comps = key.components(geometry.dim());
            let len = channels * geometry.pixels() * comps;
            let block = y.clone().narrow(1, offset, len).reshape([
                batch,
                *channels,
                geometry.pixels(),
                comps,
            ]);
            offset += len;
            out.push(key.clone(), block)?;
        }
        Ok(out)
    }

    /// The forward pass on host buffers: writes every item's output, side by side, into
    /// `out`.
    fn forward(&self, x: &[f32], p: &[f32], out: &mut [f32]) {
        let (in_len, out_len) = (self.kernel.input_len(), self.kernel.output_len());
        out.par_chunks_mut(out_len)
            .zip(x.par_chunks(in_len))
            .for_each(|(out, x)| self.kernel.forward(x, p, out));
    }

    /// The backward pass on host buffers: writes the input gradient into `input_grad` when
    /// it is given, and returns the parameter gradient summed over the batch when
    /// `want_params`.
    fn backward(
        &self,
        x: &[f32],
        p: &[f32],
        g: &[f32],
        input_grad: Option<&mut [f32]>,
        want_params: bool,
    ) -> Option<Vec<f32>> {
        let (in_len, out_len) = (self.kernel.input_len(), self.kernel.output_len());
        let items = x.par_chunks(in_len).zip(g.par_chunks(out_len));
        let sum = |a: Vec<f32>, b: Vec<f32>| match (a.is_empty(), b.is_empty()) {
            (true, _) => b,
            (_, true) => a,
            _ => a.iter().zip(&b).map(|(a, b)| a + b).collect(),
        };
        let dp = match input_grad {
            Some(dx) => items
                .zip(dx.par_chunks_mut(in_len))
                .map(|((x, g), dx)| self.kernel.backward(x, p, g, Some(dx), want_params))
                .reduce(Vec::new, sum),
            None => items
                .map(|(x, g)| self.kernel.backward(x, p, g, None, want_params))
                .reduce(Vec::new, sum),
        };
        want_params.then_some(dp)
    }
}

/// One item's multi-image of `signature` on `geometry` from its values (the blocks side by
/// side in the runtime's layout). The blocks' storage comes from the runtime's buffer pool,
/// where a dropped block returns it, so the calls of a batch reuse buffers.
pub(crate) fn image(geometry: &Geometry, signature: &Signature, values: &[f32]) -> MultiImage {
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

/// Writes the blocks of `image`, side by side, into `out`.
pub(crate) fn write_blocks(image: &MultiImage, out: &mut [f32]) {
    let mut rest = out;
    for block in image.blocks() {
        let (head, tail) = rest.split_at_mut(block.data().len());
        head.copy_from_slice(block.data());
        rest = tail;
    }
}

/// The number of values of a multi-image of `signature` on `geometry`.
pub(crate) fn values(geometry: &Geometry, signature: &Signature) -> usize {
    signature
        .entries()
        .iter()
        .map(|(key, channels)| channels * geometry.pixels() * key.components(geometry.dim()))
        .sum()
}

/// A contiguous flex tensor: its values are one `f32` slice, borrowed without a copy
/// ([`HostOp::check`] accepts f32 only).
struct Host(FlexTensor);

impl Host {
    fn new(tensor: FlexTensor) -> Self {
        match tensor.as_slice::<f32>() {
            Some(_) => Self(tensor),
            None => Self(tensor.to_contiguous()),
        }
    }

    fn values(&self) -> &[f32] {
        self.0
            .as_slice::<f32>()
            .expect("Host::new made the tensor contiguous, and HostOp::check accepts f32 only")
    }
}

/// A new flex tensor of `shape` whose values `fill` writes. Its storage is the `Vec<f32>`
/// itself: flex's own `FlexTensor::empty` allocates bytes and copies them once more to align
/// them to 16 bytes, which flex's f32 kernels do not need.
fn flex_with(shape: Vec<usize>, fill: impl FnOnce(&mut [f32])) -> FlexTensor {
    let mut values = vec![0.0f32; shape.iter().product()];
    fill(&mut values);
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(shape.into()),
        DType::F32,
    )
}

impl HostOpBackend for Flex {
    fn host_op(x: FlexTensor, p: FlexTensor, op: HostOp) -> FlexTensor {
        let (x, p) = (Host::new(x), Host::new(p));
        let shape = vec![op.batch, op.kernel.output_len()];
        flex_with(shape, |out| op.forward(x.values(), p.values(), out))
    }
}

/// The backward step of a host operation (see the module docs).
#[derive(Debug)]
struct HostBackward;

impl Backward<Flex, 2> for HostBackward {
    /// The checkpointed input and parameters, and the call.
    type State = (NodeId, NodeId, HostOp);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_p] = ops.parents;
        let grad = Host::new(grads.consume::<Flex>(&ops.node));
        let (x_state, p_state, op) = ops.state;
        let x = Host::new(checkpointer.retrieve_node_output::<FlexTensor>(x_state));
        let p = Host::new(checkpointer.retrieve_node_output::<FlexTensor>(p_state));
        let (x, p, grad) = (x.values(), p.values(), grad.values());
        let want_params = node_p.is_some();
        let mut dp = None;
        let dx = node_x.as_ref().map(|_| {
            flex_with(vec![op.batch, op.kernel.input_len()], |dx| {
                dp = op.backward(x, p, grad, Some(dx), want_params);
            })
        });
        if dx.is_none() {
            dp = op.backward(x, p, grad, None, want_params);
        }
        if let (Some(node), Some(dp)) = (node_p, dp) {
            grads.register::<Flex>(
                node.id,
                flex_with(vec![p.len()], |out| out.copy_from_slice(&dp)),
            );
        }
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, dx);
        }
    }
}

impl<C: CheckpointStrategy> HostOpBackend for Autodiff<Flex, C> {
    fn host_op(x: FloatTensor<Self>, p: FloatTensor<Self>, op: HostOp) -> FloatTensor<Self> {
        match HostBackward
            .prepare::<C>([x.node(), p.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let p_state = prep.checkpoint(&p);
                let y = Flex::host_op(x.into_primitive(), p.into_primitive(), op.clone());
                prep.finish((x_state, p_state, op), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::host_op(x.into_primitive(), p.into_primitive(), op))
            }
        }
    }
}
