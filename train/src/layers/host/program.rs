//! A whole network as one [`HostKernel`]: the layers' kernels run in the plan's order on one
//! item's host buffers, with the plan's saved images ([`Node::Save`]), residual sums
//! ([`Node::AddSaved`]) and skip concatenations ([`Node::ConcatSaved`]) done on those
//! buffers too, and the backward pass walks the same steps in reverse.
//!
//! burn then records one graph node for the network instead of one per layer, plus the
//! copies, concatenations, slices and sums that assemble each layer's operands (and their
//! backward passes, which pad every sliced block's gradient back to the whole operand).
//!
//! Memory is planned when the program is built, as compilers of ML graphs do: every image of
//! the forward pass (the network's input, each layer's output and kept values, each sum and
//! concatenation) has its own place in the item's saved values, written once and read by
//! the layers that take it and by the backward pass; saving an image for a skip connection
//! records its place, with no copy. The backward pass's gradients have their places in one
//! scratch buffer per item, planned the same way: the gradient of a residual sum is shared by
//! its two branches and a concatenation's gradient is cut into its parts in place, so only
//! the layers' input gradients and the sums of two branches' gradients are written. Both
//! buffers are recycled between calls by exact length ([`recycle`]), so a training loop
//! touches the same memory every step instead of fresh pages.
//!
//! [`Node::Save`]: ginrs_runtime::models::Node::Save
//! [`Node::AddSaved`]: ginrs_runtime::models::Node::AddSaved
//! [`Node::ConcatSaved`]: ginrs_runtime::models::Node::ConcatSaved

use std::ops::Range;
use std::sync::Arc;

use burn::tensor::Tensor;
use ginrs_runtime::{Geometry, Signature, TensorKey};

use super::{block_values, recycle, FusedLayer, HostKernel};
use crate::error::TrainError;

/// Where an image lives in a buffer (the saved values, or the gradient scratch): one range
/// per block, in the image's order.
type Place = Vec<Range<usize>>;

/// One step of a [`FusedProgram`]'s forward pass; every step writes after everything it
/// reads, so a buffer split at the step's first written value serves both.
#[derive(Debug)]
enum Step {
    /// A layer's kernel.
    Layer(LayerStep),
    /// `out[b] = a[b] + b[b]` for every block, the sums one after the other from `out`.
    Add { a: Place, b: Place, out: usize },
    /// The ranges `sources` copied one after the other from `out`.
    Gather { sources: Place, out: usize },
}

/// A layer's kernel and the places of its operands in the saved values.
#[derive(Debug)]
struct LayerStep {
    kernel: Arc<dyn HostKernel>,
    /// The kernel's parameters in the program's flat parameters.
    params: Range<usize>,
    /// The kernel's input blocks.
    input: Place,
    /// The kernel's own saved values; its output blocks follow, in the kernel's order.
    kept: Range<usize>,
    /// The values of each block of the kernel's output.
    output: Vec<usize>,
}

/// One step of the backward pass, on the gradient scratch.
#[derive(Debug)]
enum BackStep {
    /// The backward pass of forward step `step` (a layer) for the output gradient `grad`
    /// (the kernel's blocks, in its order), writing the input gradient from `input_grad`.
    Layer {
        step: usize,
        grad: Place,
        input_grad: usize,
    },
    /// The sum of two gradients, as [`Step::Add`].
    Add { a: Place, b: Place, out: usize },
}

/// A network's layers and skip connections as one kernel (see the module docs).
#[derive(Debug)]
pub struct FusedProgram {
    steps: Vec<Step>,
    back: Vec<BackStep>,
    /// The values of each block of the network's input, which the forward pass copies to
    /// the start of its saved values.
    input: Vec<usize>,
    /// The network's output in the saved values.
    output: Place,
    saved_len: usize,
    /// The network's input gradient in the gradient scratch.
    input_grad: Place,
    scratch_len: usize,
}

/// One step of the network as the builder met it, for planning the backward pass.
#[derive(Debug)]
enum Node {
    /// Forward step `step`, a layer; `order[i]` is the kernel output block that is block `i`
    /// of the image after it.
    Layer {
        step: usize,
        order: Vec<usize>,
    },
    Save,
    AddSaved,
    ConcatSaved {
        parts: Vec<Part>,
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

/// Hands out consecutive places in a buffer.
#[derive(Debug, Default)]
struct Bump(usize);

impl Bump {
    /// A place for blocks of `sizes` values, one after the other.
    fn place(&mut self, sizes: &[usize]) -> Place {
        sizes
            .iter()
            .map(|&n| {
                self.0 += n;
                self.0 - n..self.0
            })
            .collect()
    }
}

/// The image a step works on: its signature, geometry and place in the saved values.
#[derive(Debug, Clone)]
struct Image {
    signature: Signature,
    geometry: Geometry,
    place: Place,
}

/// Builds a [`FusedProgram`] step by step, following the image's signature and geometry.
#[derive(Debug)]
pub(crate) struct ProgramBuilder {
    steps: Vec<Step>,
    nodes: Vec<Node>,
    params: Vec<Tensor<1>>,
    param_len: usize,
    input: Vec<usize>,
    saved: Bump,
    current: Image,
    stack: Vec<Image>,
}

impl ProgramBuilder {
    /// A program on images of `signature` on `geometry`.
    pub(crate) fn new(signature: Signature, geometry: Geometry) -> Self {
        let input = block_values(&geometry, &signature);
        let mut saved = Bump::default();
        let place = saved.place(&input);
        Self {
            steps: Vec::new(),
            nodes: Vec::new(),
            params: Vec::new(),
            param_len: 0,
            input,
            saved,
            current: Image {
                signature,
                geometry,
                place,
            },
            stack: Vec::new(),
        }
    }

    /// The current image's signature (the next layer's input).
    pub(crate) fn signature(&self) -> &Signature {
        &self.current.signature
    }

    /// The current image's geometry (the next layer's input).
    pub(crate) fn geometry(&self) -> &Geometry {
        &self.current.geometry
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
        if input != block_values(&self.current.geometry, &self.current.signature) {
            return Err(TrainError::Unsupported(format!(
                "a fused layer made for blocks of {input:?} values was given {:?}",
                self.current.signature
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
        let kept = self.saved.place(&[kernel.saved_len()]).remove(0);
        let output_blocks = kernel.output_blocks();
        let out = self.saved.place(&output_blocks);
        let place = order.iter().map(|&i| out[i].clone()).collect();
        self.nodes.push(Node::Layer {
            step: self.steps.len(),
            order,
        });
        self.steps.push(Step::Layer(LayerStep {
            kernel,
            params: self.param_len..self.param_len + len,
            input: std::mem::take(&mut self.current.place),
            kept,
            output: output_blocks,
        }));
        self.params.extend(params);
        self.param_len += len;
        self.current = Image {
            signature,
            geometry,
            place,
        };
        Ok(())
    }

    /// Saves the current image for a later residual sum or concatenation (no copy: its
    /// place is recorded).
    pub(crate) fn save(&mut self) {
        self.stack.push(self.current.clone());
        self.nodes.push(Node::Save);
    }

    /// Pops an image and adds it to the current one (same signature and geometry).
    pub(crate) fn add_saved(&mut self) -> Result<(), TrainError> {
        let popped = self.pop()?;
        if popped.signature != self.current.signature || popped.geometry != self.current.geometry {
            return Err(TrainError::Unsupported(format!(
                "a residual sum of {:?} and {:?}",
                popped.signature, self.current.signature
            )));
        }
        let sizes: Vec<usize> = popped.place.iter().map(Range::len).collect();
        let place = self.saved.place(&sizes);
        self.steps.push(Step::Add {
            a: std::mem::take(&mut self.current.place),
            b: popped.place,
            out: place[0].start,
        });
        self.current.place = place;
        self.nodes.push(Node::AddSaved);
        Ok(())
    }

    /// Pops an image and appends its channels after the current image's, key by key, its
    /// new keys last (ginjax's `MultiImage.concat`).
    pub(crate) fn concat_saved(&mut self) -> Result<(), TrainError> {
        let popped = self.pop()?;
        if popped.geometry != self.current.geometry {
            return Err(TrainError::Unsupported(
                "a skip concatenation of images on different grids".into(),
            ));
        }
        let (current, theirs) = (self.current.signature.entries(), popped.signature.entries());
        let find = |key: &TensorKey| theirs.iter().position(|(k, _)| k == key);
        let (mut parts, mut entries, mut sources) = (Vec::new(), Vec::new(), Vec::new());
        let mut sizes = Vec::new();
        for (i, (key, channels)) in current.iter().enumerate() {
            let x = self.current.place[i].clone();
            match find(key) {
                Some(j) => {
                    let y = popped.place[j].clone();
                    parts.push(Part::Both {
                        x: i,
                        saved: j,
                        x_len: x.len(),
                    });
                    entries.push((key.clone(), channels + theirs[j].1));
                    sizes.push(x.len() + y.len());
                    sources.extend([x, y]);
                }
                None => {
                    parts.push(Part::Current(i));
                    entries.push((key.clone(), *channels));
                    sizes.push(x.len());
                    sources.push(x);
                }
            }
        }
        for (j, (key, channels)) in theirs.iter().enumerate() {
            if !current.iter().any(|(k, _)| k == key) {
                parts.push(Part::Popped(j));
                entries.push((key.clone(), *channels));
                sizes.push(popped.place[j].len());
                sources.push(popped.place[j].clone());
            }
        }
        let place = self.saved.place(&sizes);
        self.steps.push(Step::Gather {
            sources,
            out: place[0].start,
        });
        self.nodes.push(Node::ConcatSaved {
            parts,
            blocks: (current.len(), theirs.len()),
        });
        self.current = Image {
            signature: Signature::new(entries).map_err(ginrs_runtime::Error::from)?,
            geometry: popped.geometry,
            place,
        };
        Ok(())
    }

    fn pop(&mut self) -> Result<Image, TrainError> {
        self.stack.pop().ok_or_else(|| {
            TrainError::Unsupported("the program pops an image it did not save".into())
        })
    }

    /// The program as one layer: its kernel, every layer's parameters in order, and the
    /// final image's signature and geometry.
    pub(crate) fn finish(self) -> FusedLayer {
        let output: Vec<usize> = self.current.place.iter().map(Range::len).collect();
        let (back, input_grad, scratch_len) = plan_backward(&self.nodes, &self.steps, &output);
        let program = FusedProgram {
            steps: self.steps,
            back,
            input: self.input,
            output: self.current.place,
            saved_len: self.saved.0,
            input_grad,
            scratch_len,
        };
        FusedLayer {
            kernel: Arc::new(program),
            params: self.params,
            output: self.current.signature,
            geometry: self.current.geometry,
        }
    }
}

/// The backward pass of the network `nodes` (whose layers are among `steps`) with an output
/// of blocks of `output` values: its steps, the place of the input gradient and the length
/// of the gradient scratch. The output gradient is copied to the scratch's start.
fn plan_backward(
    nodes: &[Node],
    steps: &[Step],
    output: &[usize],
) -> (Vec<BackStep>, Place, usize) {
    let mut scratch = Bump::default();
    let mut g = scratch.place(output);
    let mut stack: Vec<Place> = Vec::new();
    let mut back = Vec::new();
    for node in nodes.iter().rev() {
        match node {
            Node::Layer { step, order } => {
                let Step::Layer(layer) = &steps[*step] else {
                    unreachable!("a layer node names a layer step")
                };
                let mut grad: Place = vec![0..0; order.len()];
                for (block, &i) in g.into_iter().zip(order) {
                    grad[i] = block;
                }
                let sizes: Vec<usize> = layer.input.iter().map(Range::len).collect();
                g = scratch.place(&sizes);
                back.push(BackStep::Layer {
                    step: *step,
                    grad,
                    input_grad: g[0].start,
                });
            }
            Node::Save => {
                let popped = stack.pop().expect("the builder checked the stack");
                let sizes: Vec<usize> = g.iter().map(Range::len).collect();
                let out = scratch.place(&sizes);
                back.push(BackStep::Add {
                    a: std::mem::replace(&mut g, out.clone()),
                    b: popped,
                    out: out[0].start,
                });
            }
            Node::AddSaved => stack.push(g.clone()),
            Node::ConcatSaved { parts, blocks } => {
                let mut gx = vec![0..0; blocks.0];
                let mut gs = vec![0..0; blocks.1];
                for (part, block) in parts.iter().zip(g) {
                    match *part {
                        Part::Both { x, saved, x_len } => {
                            gx[x] = block.start..block.start + x_len;
                            gs[saved] = block.start + x_len..block.end;
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
    (back, g, scratch.0)
}

/// The slices of `place` in `buffer`.
fn slices<'a>(buffer: &'a [f32], place: &[Range<usize>]) -> Vec<&'a [f32]> {
    place.iter().map(|r| &buffer[r.clone()]).collect()
}

/// The start of `fresh` (a buffer's tail) cut into consecutive blocks of `sizes` values.
fn split_mut(fresh: &mut [f32], sizes: impl IntoIterator<Item = usize>) -> Vec<&mut [f32]> {
    let mut rest = fresh;
    sizes
        .into_iter()
        .map(|n| {
            let (block, tail) = std::mem::take(&mut rest).split_at_mut(n);
            rest = tail;
            block
        })
        .collect()
}

/// `buffer[out..]` = the blocks of `a` plus those of `b`, one after the other.
fn add(buffer: &mut [f32], a: &[Range<usize>], b: &[Range<usize>], out: usize) {
    let (done, fresh) = buffer.split_at_mut(out);
    let outs = split_mut(fresh, a.iter().map(Range::len));
    for ((a, b), out) in a.iter().zip(b).zip(outs) {
        for ((o, x), y) in out.iter_mut().zip(&done[a.clone()]).zip(&done[b.clone()]) {
            *o = x + y;
        }
    }
}

/// `buffer[out..]` = the ranges `sources`, one after the other.
fn gather(buffer: &mut [f32], sources: &[Range<usize>], out: usize) {
    let (done, fresh) = buffer.split_at_mut(out);
    let outs = split_mut(fresh, sources.iter().map(Range::len));
    for (source, out) in sources.iter().zip(outs) {
        out.copy_from_slice(&done[source.clone()]);
    }
}

impl HostKernel for FusedProgram {
    fn input_blocks(&self) -> Vec<usize> {
        self.input.clone()
    }

    fn output_blocks(&self) -> Vec<usize> {
        self.output.iter().map(Range::len).collect()
    }

    fn saved_len(&self) -> usize {
        self.saved_len
    }

    fn forward(&self, input: &[&[f32]], params: &[f32], out: &mut [&mut [f32]], saved: &mut [f32]) {
        let mut at = 0;
        for block in input {
            saved[at..at + block.len()].copy_from_slice(block);
            at += block.len();
        }
        for step in &self.steps {
            let layer = match step {
                Step::Layer(layer) => layer,
                Step::Add { a, b, out } => {
                    add(saved, a, b, *out);
                    continue;
                }
                Step::Gather { sources, out } => {
                    gather(saved, sources, *out);
                    continue;
                }
            };
            let (done, fresh) = saved.split_at_mut(layer.kept.start);
            let (kept, fresh) = fresh.split_at_mut(layer.kept.len());
            let mut outs = split_mut(fresh, layer.output.iter().copied());
            layer.kernel.forward(
                &slices(done, &layer.input),
                &params[layer.params.clone()],
                &mut outs,
                kept,
            );
        }
        for (out, block) in out.iter_mut().zip(&self.output) {
            out.copy_from_slice(&saved[block.clone()]);
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
        // Every value of the scratch is written before it is read: the output gradient, then
        // each step's outputs.
        let mut scratch = recycle::take(self.scratch_len);
        let mut at = 0;
        for block in grad {
            scratch[at..at + block.len()].copy_from_slice(block);
            at += block.len();
        }
        let mut dp = if want_params {
            vec![0.0; params.len()]
        } else {
            Vec::new()
        };
        let wants_input = input_grad.is_some();
        for back in &self.back {
            match back {
                BackStep::Layer {
                    step,
                    grad,
                    input_grad,
                } => {
                    let Step::Layer(layer) = &self.steps[*step] else {
                        unreachable!("a layer's backward step names a layer step")
                    };
                    let (done, fresh) = scratch.split_at_mut(*input_grad);
                    // The network's input needs no gradient unless the caller wants it.
                    let mut dx = (*step > 0 || wants_input)
                        .then(|| split_mut(fresh, layer.input.iter().map(Range::len)));
                    let p = layer.kernel.backward(
                        &slices(saved, &layer.input),
                        &params[layer.params.clone()],
                        &saved[layer.kept.clone()],
                        &slices(done, grad),
                        dx.as_deref_mut(),
                        want_params,
                    );
                    if want_params && !layer.params.is_empty() {
                        dp[layer.params.clone()].copy_from_slice(&p);
                    }
                }
                BackStep::Add { a, b, out } => add(&mut scratch, a, b, *out),
            }
        }
        if let Some(out) = input_grad {
            for (out, block) in out.iter_mut().zip(&self.input_grad) {
                out.copy_from_slice(&scratch[block.clone()]);
            }
        }
        recycle::give(scratch);
        dp
    }
}
