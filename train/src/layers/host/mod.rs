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
//! input (every input block `[batch, c, pixels, d^k]`, flat, one after the other: block-major,
//! so that each block is one contiguous range) and the parameters (the layer's parameters,
//! flat, in the kernel's order). Its output holds the output blocks the same way. The layers
//! assemble and cut these with burn's own (differentiable) `reshape`, `cat` and `narrow`
//! ([`HostOp::apply_image`]); an output block is then a contiguous view, not a copy.
//!
//! Calling the operation on a device other than flex panics inside burn's dispatch (an
//! extension runs only on the backends it names); [`HostOp::check`] checks the device first.
//!
//! The kernels: [`conv`] (ConvContract's convolution and bias), [`pool`] (MaxNormPool) and
//! [`same_shape`] (GroupNorm and VectorNeuronNonlinear, whose output has the input's
//! signature), each made by its layer as a [`FusedLayer`]; and [`program`], a whole network
//! of such kernels with its skip connections as one kernel, which a model whose every layer
//! takes the fused route runs instead of one operation per layer. A kernel may keep values of
//! its forward pass for its backward pass ([`HostKernel::saved_len`]: the convolution's bias
//! means, the pool's choices); the call holds them between the two, in a buffer the next call
//! reuses ([`recycle`]).

pub mod conv;
pub mod pool;
pub mod program;
mod recycle;
pub mod same_shape;

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

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

/// One layer's computation on one batch item, on host buffers (see the module docs). An
/// item's input, output and gradients are given block by block.
pub trait HostKernel: Debug + Send + Sync {
    /// The values of each block of one item's input.
    fn input_blocks(&self) -> Vec<usize>;
    /// The values of each block of one item's output.
    fn output_blocks(&self) -> Vec<usize>;
    /// The number of values one item's forward pass keeps for its backward pass (none by
    /// default).
    fn saved_len(&self) -> usize {
        0
    }
    /// Writes one item's output for `input` and the flat `params` into `out`, and the values
    /// its backward pass needs into `saved` ([`HostKernel::saved_len`] values).
    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]], saved: &mut [f32]);
    /// One item's backward pass for the output gradient `grad`, with the values its forward
    /// pass `saved`: writes the input gradient into `input_grad` when it is given, and returns
    /// the parameter gradient (`params.len()` values) when `want_params`, an empty vector
    /// otherwise.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        input: &[&[f32]],
        params: &[f32],
        saved: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        want_params: bool,
    ) -> Vec<f32>;
}

/// The items of a block-major operand: per item, its slice of every block (`blocks` values
/// each).
fn items<'a>(values: &'a [f32], blocks: &[usize], batch: usize) -> Vec<Vec<&'a [f32]>> {
    let mut items = vec![Vec::with_capacity(blocks.len()); batch];
    let mut rest = values;
    for &len in blocks {
        let (block, tail) = rest.split_at(batch * len);
        rest = tail;
        for (item, slice) in items.iter_mut().zip(block.chunks_exact(len.max(1))) {
            item.push(slice);
        }
    }
    items
}

/// [`items`] of a mutable operand.
fn items_mut<'a>(values: &'a mut [f32], blocks: &[usize], batch: usize) -> Vec<Vec<&'a mut [f32]>> {
    let mut items: Vec<Vec<&mut [f32]>> = (0..batch)
        .map(|_| Vec::with_capacity(blocks.len()))
        .collect();
    let mut rest = values;
    for &len in blocks {
        let (block, tail) = rest.split_at_mut(batch * len);
        rest = tail;
        for (item, slice) in items.iter_mut().zip(block.chunks_exact_mut(len.max(1))) {
            item.push(slice);
        }
    }
    items
}

/// The host operation as a burn backend extension (see the module docs).
#[backend_extension(Flex, Autodiff)]
pub trait HostOpBackend: Backend {
    /// The kernel of `op` on the block-major input `x` with the flat parameters `p`: the
    /// block-major output.
    fn host_op(x: FloatTensor<Self>, p: FloatTensor<Self>, op: HostOp) -> FloatTensor<Self>;
}

/// One host call: the kernel, the batch size and the values the call's forward pass keeps for
/// its backward pass (shared by the clones of the call, one of which the autodiff node holds).
#[derive(Debug, Clone)]
pub struct HostOp {
    kernel: Arc<dyn HostKernel>,
    batch: usize,
    saved: Arc<Saved>,
}

/// The values a host call's forward pass keeps for its backward pass. The buffer goes back to
/// the [`recycle`] pool after the backward pass, or, when the call is never differentiated
/// (a forward pass without autodiff, or a graph dropped before its backward pass), when the
/// last clone of the call is dropped: so that the next call's forward pass writes warm memory
/// instead of faulting in a fresh buffer.
#[derive(Debug, Default)]
struct Saved(Mutex<Vec<f32>>);

impl Saved {
    /// The buffer, locked.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<f32>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Saved {
    fn drop(&mut self) {
        let buffer = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        recycle::give(std::mem::take(buffer));
    }
}

/// One layer's host kernel for one input signature and geometry: the burn parameters it
/// takes (flattened and concatenated in order) and the output it makes.
#[derive(Debug)]
pub(crate) struct FusedLayer {
    /// The kernel.
    pub kernel: Arc<dyn HostKernel>,
    /// The layer's parameters, flat, in the kernel's order.
    pub params: Vec<Tensor<1>>,
    /// The output's signature, in the kernel's block order.
    pub output: Signature,
    /// The output's geometry.
    pub geometry: Geometry,
}

impl FusedLayer {
    /// The layer's call on `input` (a batch of the signature and geometry it was made for),
    /// after checking that the fused route serves it on the input's device and dtype.
    pub(crate) fn call(&self, input: &TensorImage) -> Result<HostOp, FusedUnsupported> {
        let (device, dtype) = input
            .device()
            .zip(input.dtype())
            .ok_or(FusedUnsupported::Empty)?;
        HostOp::check(self.kernel.clone(), input.batch(), &device, dtype)
    }

    /// Applies `call` (this layer's [`FusedLayer::call`]) to `input`: the output image.
    pub(crate) fn apply(
        self,
        call: HostOp,
        input: &TensorImage,
    ) -> Result<TensorImage, TrainError> {
        call.apply_image(input, self.params, &self.output, &self.geometry)
    }
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
        Ok(Self {
            kernel,
            batch,
            saved: Arc::default(),
        })
    }

    /// Applies the operation: `x` is the block-major input, `p` the flat parameters.
    pub(crate) fn apply(self, x: Tensor<1>, p: Tensor<1>) -> Tensor<1> {
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
        let params = match input.device() {
            Some(device) if params.is_empty() => Tensor::zeros([0], &device),
            _ => Tensor::cat(params, 0),
        };
        let y = self.apply(input.flat(), params);
        TensorImage::from_packed(geometry.clone(), input.batch(), outputs, y)
    }

    /// The forward pass on host buffers: writes the block-major output into `out` and keeps
    /// the kernel's saved values.
    fn forward(&self, x: &[f32], p: &[f32], out: &mut [f32]) {
        let inputs = items(x, &self.kernel.input_blocks(), self.batch);
        let outputs = items_mut(out, &self.kernel.output_blocks(), self.batch);
        // One chunk per item, of at least one value, so that the zip runs for every item.
        let saved_len = self.kernel.saved_len();
        // Every kernel writes all its saved values (the one value of an empty chunk is
        // never read); the buffer returns to the pool after the backward pass.
        let mut saved = recycle::take(self.batch * saved_len.max(1));
        inputs
            .into_par_iter()
            .zip(outputs)
            .zip(saved.par_chunks_mut(saved_len.max(1)))
            .for_each(|((x, mut out), saved)| {
                self.kernel
                    .forward(&x, p, &mut out, &mut saved[..saved_len])
            });
        *self.saved.lock() = saved;
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
        let (in_blocks, out_blocks) = (self.kernel.input_blocks(), self.kernel.output_blocks());
        let saved_len = self.kernel.saved_len();
        let mut saved = self.saved.lock();
        assert_eq!(
            saved.len(),
            self.batch * saved_len.max(1),
            "the forward pass of a host operation runs before its backward pass"
        );
        let pairs = items(x, &in_blocks, self.batch)
            .into_par_iter()
            .zip(saved.par_chunks(saved_len.max(1)).map(|s| &s[..saved_len]))
            .zip(items(g, &out_blocks, self.batch));
        let sum = |a: Vec<f32>, b: Vec<f32>| match (a.is_empty(), b.is_empty()) {
            (true, _) => b,
            (_, true) => a,
            _ => a.iter().zip(&b).map(|(a, b)| a + b).collect(),
        };
        let dp = match input_grad {
            Some(dx) => pairs
                .zip(items_mut(dx, &in_blocks, self.batch))
                .map(|(((x, s), g), mut dx)| {
                    self.kernel
                        .backward(&x, p, s, &g, Some(&mut dx), want_params)
                })
                .reduce(Vec::new, sum),
            None => pairs
                .map(|((x, s), g)| self.kernel.backward(&x, p, s, &g, None, want_params))
                .reduce(Vec::new, sum),
        };
        // burn runs a node's backward pass once.
        recycle::give(std::mem::take(&mut *saved));
        want_params.then_some(dp)
    }

    /// The values of one item's input.
    fn input_len(&self) -> usize {
        self.kernel.input_blocks().iter().sum()
    }

    /// The values of one item's output.
    fn output_len(&self) -> usize {
        self.kernel.output_blocks().iter().sum()
    }
}

/// One item's multi-image of `signature` on `geometry` from its blocks' values (the runtime's
/// layout). The blocks' storage comes from the runtime's buffer pool, where a dropped block
/// returns it, so the calls of a batch reuse buffers.
pub(crate) fn image(geometry: &Geometry, signature: &Signature, blocks: &[&[f32]]) -> MultiImage {
    let mut image = MultiImage::new(geometry.clone());
    for ((key, channels), values) in signature.entries().iter().zip(blocks) {
        let mut data = buffers::take(values.len());
        data.copy_from_slice(values);
        let block = ImageBlock::new(geometry.clone(), key.clone(), *channels, data)
            .expect("the operand was assembled from blocks of this signature");
        image
            .insert(block)
            .expect("a signature's keys are distinct");
    }
    image
}

/// Writes the blocks of `image` into `out`, one slice per block.
pub(crate) fn write_blocks(image: &MultiImage, out: &mut [&mut [f32]]) {
    for (block, out) in image.blocks().iter().zip(out) {
        out.copy_from_slice(block.data());
    }
}

/// The values of each block of a multi-image of `signature` on `geometry`.
pub(crate) fn block_values(geometry: &Geometry, signature: &Signature) -> Vec<usize> {
    signature
        .entries()
        .iter()
        .map(|(key, channels)| channels * geometry.pixels() * key.components(geometry.dim()))
        .collect()
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
        let shape = vec![op.batch * op.output_len()];
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
            flex_with(vec![op.batch * op.input_len()], |dx| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_buffer_returns_to_the_pool_when_its_call_is_dropped() {
        // A length no other test uses.
        let len = 4096 * 3 + 29;
        let mut buffer = recycle::take(len);
        buffer[0] = 7.0;
        let ptr = buffer.as_ptr();
        let saved = Saved(Mutex::new(buffer));
        drop(saved);
        let again = recycle::take(len);
        assert_eq!((again.as_ptr(), again[0]), (ptr, 7.0));
        // An emptied one (the backward pass gave its buffer back already) gives nothing back.
        drop(Saved::default());
    }
}
