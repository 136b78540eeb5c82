//! A whole network as one [`HostKernel`]: the layers' kernels run in the plan's order on one
//! item's host buffers, with the plan's saved images ([`Node::Save`]), residual sums
//! ([`Node::AddSaved`]) and skip concatenations ([`Node::ConcatSaved`]) done on those
//! buffers too, and the backward pass walks the same steps in reverse.
//!
//! burn then records one graph node for the network instead of one per layer, plus the
//! copies, concatenations, slices and sums that assemble each layer's operands (and their
//! backward passes, which pad every sliced block's gradient back to the whole operand). The
//! forward pass keeps, per item, every layer's input (where the kernel's backward pass reads
//! it, [`HostKernel::reads_input`]) and the kernel's own saved values, one after the other in
//! the program's saved values.
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
        /// Whether the kernel's backward pass reads its input (kept by the forward pass).
        reads_input: bool,
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
        let reads_input = kernel.reads_input();
        if reads_input {
            self.saved_len += input.iter().sum::<usize>();
        }
        self.saved_len += kernel.saved_len();
        self.steps.push(Step::Layer {
            output: kernel.output_blocks(),
            kernel,
            params: self.param_len..self.param_len + len,
            input,
            order,
            reads_input,
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
        let mut x: Vec<Vec<f32>> = input.iter().map(|b| b.to_vec()).collect();
        let mut stack: Vec<Vec<Vec<f32>>> = Vec::new();
        let mut cursor = 0;
        for step in &self.steps {
            match step {
                Step::Layer {
                    kernel,
                    params: range,
                    output,
                    order,
                    reads_input,
                    ..
                } => {
                    if *reads_input {
                        for block in &x {
                            saved[cursor..cursor + block.len()].copy_from_slice(block);
                            cursor += block.len();
                        }
                    }
                    let len = kernel.saved_len();
                    let mut y = zeros(output);
                    kernel.forward(
                        &slices(&x),
                        &params[range.clone()],
                        &mut slices_mut(&mut y),
                        &mut saved[cursor..cursor + len],
                    );
                    cursor += len;
                    x = order.iter().map(|&i| std::mem::take(&mut y[i])).collect();
                }
                Step::Save => stack.push(x.iter().map(|b| b.to_vec()).collect()),
                Step::AddSaved => {
                    let popped = stack.pop().expect("the builder checked the stack");
                    add_into(&mut x, &popped);
                }
                Step::ConcatSaved { parts, .. } => {
                    let mut popped = stack.pop().expect("the builder checked the stack");
                    let joined = parts
                        .iter()
                        .map(|part| match *part {
                            Part::Both { x: i, saved: j, .. } => {
                                let (a, b) = (&x[i], &popped[j]);
                                let mut block = Vec::with_capacity(a.len() + b.len());
                                block.extend_from_slice(a);
                                block.extend_from_slice(b);
                                block
                            }
                            Part::Current(i) => std::mem::take(&mut x[i]),
                            Part::Popped(j) => std::mem::take(&mut popped[j]),
                        })
                        .collect();
                    x = joined;
                }
            }
        }
        for (out, block) in out.iter_mut().zip(&x) {
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
        let mut cursor = self.saved_len;
        let wants_input = input_grad.is_some();
        for (index, step) in self.steps.iter().enumerate().rev() {
            match step {
                Step::Layer {
                    kernel,
                    params: range,
                    input,
                    output,
                    order,
                    reads_input,
                } => {
                    let len = kernel.saved_len();
                    cursor -= len;
                    let kept = &saved[cursor..cursor + len];
                    let mut x: Vec<&[f32]> = vec![&[]; input.len()];
                    if *reads_input {
                        cursor -= input.iter().sum::<usize>();
                        let mut rest = &saved[cursor..];
                        for (slot, &n) in x.iter_mut().zip(input) {
                            let (block, tail) = rest.split_at(n);
                            *slot = block;
                            rest = tail;
                        }
                    }
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
