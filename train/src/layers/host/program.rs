//! A whole network as one [`HostKernel`]: the layers' kernels run in the plan's order on one
//! item's host buffers, with the plan's saved images ([`Node::Save`]), residual sums
//! ([`Node::AddSaved`]) and skip concatenations ([`Node::ConcatSaved`]) done on those
//! buffers too, and the backward pass walks the same steps in reverse.
//!
//! burn then records one graph node for the network instead of one per layer, plus the
//! copies, concatenations, slices and sums that assemble each layer's operands (and their
//! backward passes, which pad every sliced block's gradient back to the whole operand). The
//! forward pass keeps, per item, every layer's input and the kernel's own saved values, one
//! after the other in the program's saved values; a layer followed by a layer writes its
//! output straight into the next layer's input there (no buffer of its own, no copy).
//!
//! [`Node::Save`]: ginrs_runtime::models::Node::Save
//! [`Node::AddSaved`]: ginrs_runtime::models::Node::AddSaved
//! [`Node::ConcatSaved`]: ginrs_runtime::models::Node::ConcatSaved

use std::ops::Range;
use std::sync::Arc;

use burn::tensor::Tensor;
use ginrs_runtime::{Geometry, Signature, TensorKey};

use super::{block_values, FusedLayer, HostKernel};
use crate::error::TrainError;

/// One step of a [`FusedProgram`].
#[derive(Debug)]
enum Step {
    /// A layer's kernel on the current image.
    Layer {
        kernel: Arc<dyn HostKernel>,
        /// The kernel's parameters in the program's flat parameters.
        params: Range<usize>,
        /// The values of each block of the kernel's input.
        input: Vec<usize>,
        /// The values of each block of the kernel's output.
        output: Vec<usize>,
        /// Per block of the current image after the step: the kernel's output block it is.
        order: Vec<usize>,
        /// Where the layer's input (its blocks one after the other) starts in the saved
        /// values.
        input_at: usize,
        /// Where the kernel's own saved values start (right after the input).
        kept_at: usize,
    },
    /// Push a copy of the current image.
    Save,
    /// Pop an image and add it to the current one.
    AddSaved,
    /// Pop an image and append its channels, key by key.
    ConcatSaved {
        /// Where each block of the result comes from.
        parts: Vec<Part>,
        /// The number of blocks of the current image and of the popped one.
        blocks: (usize, usize),
    },
}

/// Where one block of a concatenation comes from.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// The current image's block `x` (of `x_len` values), then the popped image's `saved`.
    Both {
        x: usize,
        saved: usize,
        x_len: usize,
    },
    /// The current image's block alone.
    Current(usize),
    /// The popped image's block alone (a key the current image lacks).
    Popped(usize),
}

/// A network's layers and skip connections as one kernel (see the module docs).
#[derive(Debug)]
pub struct FusedProgram {
    steps: Vec<Step>,
    input: Vec<usize>,
    output: Vec<usize>,
    saved_len: usize,
}

/// Builds a [`FusedProgram`] step by step, following the image's signature and geometry.
#[derive(Debug)]
pub(crate) struct ProgramBuilder {
    steps: Vec<Step>,
    params: Vec<Tensor<1>>,
    param_len: usize,
    input: Vec<usize>,
    saved_len: usize,
    signature: Signature,
    geometry: Geometry,
    stack: Vec<(Signature, Geometry)>,
}

impl ProgramBuilder {
    /// A program on images of `signature` on `geometry`.
    pub(crate) fn new(signature: Signature, geometry: Geometry) -> Self {
        Self {
            steps: Vec::new(),
            params: Vec::new(),
            param_len: 0,
            input: block_values(&geometry, &signature),
            saved_len: 0,
            signature,
            geometry,
            stack: Vec::new(),
        }
    }

    /// The current image's signature (the next layer's input).
    pub(crate) fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The current image's geometry (the next layer's input).
    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Appends a layer made for the current image. With `target`, the layer's output blocks
    /// are put in the order of their keys in `target` (a model convolution's output order).
    pub(crate) fn layer(
        &mut self,
        layer: FusedLayer,
        target: Option<&Signature>,
    ) -> Result<(), TrainError> {
        let FusedLayer {
            kernel,
            params,
            output,
            geometry,
        } = layer;
        let input = kernel.input_blocks();
        if input != block_values(&self.geometry, &self.signature) {
            return Err(TrainError::Unsupported(format!(
                "a fused layer made for blocks of {input:?} values was given {:?}",
                self.signature
            )));
        }
        let mut order: Vec<usize> = (0..output.entries().len()).collect();
        if let Some(target) = target {
            let rank = |key: &TensorKey| target.entries().iter().position(|(k, _)| k == key);
            order.sort_by_key(|&i| rank(&output.entries()[i].0));
        }
        let entries = order.iter().map(|&i| output.entries()[i].clone()).collect();
        let signature = Signature::new(entries).map_err(ginrs_runtime::Error::from)?;
        let len: usize = params.iter().map(|p| p.shape().num_elements()).sum();
        let input_at = self.saved_len;
        let kept_at = input_at + input.iter().sum::<usize>();
        self.saved_len = kept_at + kernel.saved_len();
        self.steps.push(Step::Layer {
            output: kernel.output_blocks(),
            kernel,
            params: self.param_len..self.param_len + len,
            input,
            order,
            input_at,
            kept_at,
        });
        self.params.extend(params);
        self.param_len += len;
        self.signature = signature;
        self.geometry = geometry;
        Ok(())
    }

    /// Pushes a copy of the current image.
    pub(crate) fn save(&mut self) {
        self.stack
            .push((self.signature.clone(), self.geometry.clone()));
        self.steps.push(Step::Save);
    }

    /// Pops an image and adds it to the current one (same signature and geometry).
    pub(crate) fn add_saved(&mut self) -> Result<(), TrainError> {
        let (signature, geometry) = self.pop()?;
        if signature != self.signature || geometry != self.geometry {
            return Err(TrainError::Unsupported(format!(
                "a residual sum of {signature:?} and {:?}",
                self.signature
            )));
        }
        self.steps.push(Step::AddSaved);
        Ok(())
    }

    /// Pops an image and appends its channels after the current image's, key by key, its
    /// new keys last (ginjax's `MultiImage.concat`).
    pub(crate) fn concat_saved(&mut self) -> Result<(), TrainError> {
        let (popped, geometry) = self.pop()?;
        if geometry != self.geometry {
            return Err(TrainError::Unsupported(
                "a skip concatenation of images on different grids".into(),
            ));
        }
        let x_values = block_values(&self.geometry, &self.signature);
        let (current, theirs) = (self.signature.entries(), popped.entries());
        let find = |key: &TensorKey| theirs.iter().position(|(k, _)| k == key);
        let mut parts = Vec::new();
        let mut entries = Vec::new();
        for (i, (key, channels)) in current.iter().enumerate() {
            match find(key) {
                Some(j) => {
                    parts.push(Part::Both {
                        x: i,
                        saved: j,
                        x_len: x_values[i],
                    });
                    entries.push((key.clone(), channels + theirs[j].1));
                }
                None => {
                    parts.push(Part::Current(i));
                    entries.push((key.clone(), *channels));
                }
            }
        }
        for (j, (key, channels)) in theirs.iter().enumerate() {
            if !current.iter().any(|(k, _)| k == key) {
                parts.push(Part::Popped(j));
                entries.push((key.clone(), *channels));
            }
        }
        self.steps.push(Step::ConcatSaved {
            parts,
            blocks: (current.len(), theirs.len()),
        });
        self.signature = Signature::new(entries).map_err(ginrs_runtime::Error::from)?;
        Ok(())
    }

    fn pop(&mut self) -> Result<(Signature, Geometry), TrainError> {
        self.stack.pop().ok_or_else(|| {
            TrainError::Unsupported("the program pops an image it did not save".into())
        })
    }

    /// The program as one layer: its kernel, every layer's parameters in order, and the
    /// final image's signature and geometry.
    pub(crate) fn finish(self) -> FusedLayer {
        let program = FusedProgram {
            steps: self.steps,
            output: block_values(&self.geometry, &self.signature),
            input: self.input,
            saved_len: self.saved_len,
        };
        FusedLayer {
            kernel: Arc::new(program),
            params: self.params,
            output: self.signature,
            geometry: self.geometry,
        }
    }
}

/// The message of a step that needs the current image as its own blocks: only a layer
/// followed by a layer leaves it in `saved`.
const OWNED: &str = "only a layer followed by a layer leaves the image in the saved values";

/// The current image's own blocks (see [`OWNED`]).
fn owned(x: &Option<Vec<Vec<f32>>>) -> &Vec<Vec<f32>> {
    x.as_ref().expect(OWNED)
}

/// `values` cut into consecutive blocks of `sizes` values.
fn split<'a, T>(values: &'a [T], sizes: &[usize]) -> Vec<&'a [T]> {
    let mut rest = values;
    sizes
        .iter()
        .map(|&n| {
            let (block, tail) = rest.split_at(n);
            rest = tail;
            block
        })
        .collect()
}

/// Zero-filled blocks of `sizes` values.
fn zeros(sizes: &[usize]) -> Vec<Vec<f32>> {
    sizes.iter().map(|&n| vec![0.0; n]).collect()
}

/// Borrows every block.
fn slices(blocks: &[Vec<f32>]) -> Vec<&[f32]> {
    blocks.iter().map(Vec::as_slice).collect()
}

/// Borrows every block mutably.
fn slices_mut(blocks: &mut [Vec<f32>]) -> Vec<&mut [f32]> {
    blocks.iter_mut().map(Vec::as_mut_slice).collect()
}

/// Adds `b` into `a`, block by block.
fn add_into(a: &mut [Vec<f32>], b: &[Vec<f32>]) {
    for (a, b) in a.iter_mut().zip(b) {
        for (a, b) in a.iter_mut().zip(b) {
            *a += b;
        }
    }
}

impl HostKernel for FusedProgram {
    fn input_blocks(&self) -> Vec<usize> {
        self.input.clone()
    }

    fn output_blocks(&self) -> Vec<usize> {
        self.output.clone()
    }

    fn saved_len(&self) -> usize {
        self.saved_len
    }

    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]], saved: &mut [f32]) {
        // The current image: its own blocks, or `None` where the last layer wrote it into the
        // next layer's input in `saved`.
        let mut x: Option<Vec<Vec<f32>>> = Some(input.iter().map(|b| b.to_vec()).collect());
        let mut stack: Vec<Vec<Vec<f32>>> = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            match step {
                Step::Layer {
                    kernel,
                    params: range,
                    input,
                    output,
                    order,
                    input_at,
                    kept_at,
                } => {
                    let (head, tail) = saved.split_at_mut(*kept_at);
                    let inputs = &mut head[*input_at..];
                    if let Some(blocks) = x.take() {
                        let mut rest = &mut *inputs;
                        for block in &blocks {
                            let (slot, tail) = rest.split_at_mut(block.len());
                            slot.copy_from_slice(block);
                            rest = tail;
                        }
                    }
                    let inputs = split(inputs, input);
                    let (kept, rest) = tail.split_at_mut(kernel.saved_len());
                    let params = &params[range.clone()];
                    if let Some(Step::Layer { .. }) = self.steps.get(index + 1) {
                        // The next layer's input starts right after this kernel's saved
                        // values: the output goes there, its blocks in the image's order.
                        let mut slots: Vec<Option<&mut [f32]>> =
                            (0..output.len()).map(|_| None).collect();
                        let mut rest = rest;
                        for &i in order {
                            let (block, tail) = rest.split_at_mut(output[i]);
                            slots[i] = Some(block);
                            rest = tail;
                        }
                        let mut outs: Vec<&mut [f32]> = slots
                            .into_iter()
                            .map(|slot| slot.expect("the order is a permutation"))
                            .collect();
                        kernel.forward(&inputs, params, &mut outs, kept);
                    } else {
                        let mut y = zeros(output);
                        kernel.forward(&inputs, params, &mut slices_mut(&mut y), kept);
                        x = Some(order.iter().map(|&i| std::mem::take(&mut y[i])).collect());
                    }
                }
                Step::Save => stack.push(owned(&x).clone()),
                Step::AddSaved => {
                    let popped = stack.pop().expect("the builder checked the stack");
                    add_into(x.as_mut().expect(OWNED), &popped);
                }
                Step::ConcatSaved { parts, .. } => {
                    let mut popped = stack.pop().expect("the builder checked the stack");
                    let current = x.as_mut().expect(OWNED);
                    let joined = parts
                        .iter()
                        .map(|part| match *part {
                            Part::Both { x: i, saved: j, .. } => {
                                let (a, b) = (&current[i], &popped[j]);
                                let mut block = Vec::with_capacity(a.len() + b.len());
                                block.extend_from_slice(a);
                                block.extend_from_slice(b);
                                block
                            }
                            Part::Current(i) => std::mem::take(&mut current[i]),
                            Part::Popped(j) => std::mem::take(&mut popped[j]),
                        })
                        .collect();
                    x = Some(joined);
                }
            }
        }
        for (out, block) in out.iter_mut().zip(owned(&x)) {
            out.copy_from_slice(block);
        }
    }

    fn backward(
        &self,
        _: &[&[f32]],
        params: &[f32],
        saved: &[f32],
        grad: &[&[f32]],
        input_grad: Option<&mut [&mut [f32]]>,
        want_params: bool,
    ) -> Vec<f32> {
        let mut g: Vec<Vec<f32>> = grad.iter().map(|b| b.to_vec()).collect();
        let mut stack: Vec<Vec<Vec<f32>>> = Vec::new();
        let mut dp = if want_params {
            vec![0.0; params.len()]
        } else {
            Vec::new()
        };
        let wants_input = input_grad.is_some();
        for (index, step) in self.steps.iter().enumerate().rev() {
            match step {
                Step::Layer {
                    kernel,
                    params: range,
                    input,
                    output,
                    order,
                    input_at,
                    kept_at,
                } => {
                    let x = split(&saved[*input_at..*kept_at], input);
                    let kept = &saved[*kept_at..*kept_at + kernel.saved_len()];
                    let mut gk: Vec<Vec<f32>> = vec![Vec::new(); output.len()];
                    for (block, &i) in g.into_iter().zip(order) {
                        gk[i] = block;
                    }
                    // The network's input needs no gradient unless the caller wants it.
                    let mut dx = (index > 0 || wants_input).then(|| zeros(input));
                    let mut dx_slices = dx.as_mut().map(|dx| slices_mut(dx));
                    let p = kernel.backward(
                        &x,
                        &params[range.clone()],
                        kept,
                        &slices(&gk),
                        dx_slices.as_deref_mut(),
                        want_params,
                    );
                    if want_params && !range.is_empty() {
                        dp[range.clone()].copy_from_slice(&p);
                    }
                    g = dx.unwrap_or_default();
                }
                Step::Save => {
                    let popped = stack.pop().expect("the builder checked the stack");
                    add_into(&mut g, &popped);
                }
                Step::AddSaved => stack.push(g.iter().map(|b| b.to_vec()).collect()),
                Step::ConcatSaved { parts, blocks } => {
                    let mut gx = vec![Vec::new(); blocks.0];
                    let mut gs = vec![Vec::new(); blocks.1];
                    for (part, mut block) in parts.iter().zip(g) {
                        match *part {
                            Part::Both { x, saved, x_len } => {
                                gs[saved] = block[x_len..].to_vec();
                                block.truncate(x_len);
                                gx[x] = block;
                            }
                            Part::Current(i) => gx[i] = block,
                            Part::Popped(j) => gs[j] = block,
                        }
                    }
                    stack.push(gs);
                    g = gx;
                }
            }
        }
        if let Some(out) = input_grad {
            for (out, block) in out.iter_mut().zip(&g) {
                out.copy_from_slice(block);
            }
        }
        dp
    }
}
