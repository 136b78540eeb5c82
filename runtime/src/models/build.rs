//! Runtime layers from a model's [`LayerSpec`]s and named parameters, and back:
//! [`LayerBuilder`] makes a [`BuiltLayer`] from a spec, either initialised by the runtime
//! layers' own rules ([`LayerBuilder::init`]) or from the leaves under its ginjax tree path
//! ([`LayerBuilder::load`]); [`layer_leaves`] lists a built layer's leaves by path.
//!
//! Leaf paths are `jax.tree_util.keystr` of ginjax's tree, the layer's path followed by:
//!
//! | layer | leaves |
//! |---|---|
//! | `ConvContract` | `.weights[IN][OUT]` `(out_c, in_c, n_filters)`, `.bias[OUT]` `(out_c,)` |
//! | baseline `nn.Conv` / `nn.ConvTranspose` | `.weight` `(out, in, K, …, K)`, `.bias` `(out, 1, …, 1)` |
//! | `LayerNorm` | `.scale[KEY]`, `.bias[KEY]` (k = 1), `.vanilla_norm[KEY].weight/.bias` (k = 0; no `.bias` for a pseudoscalar `KEY` in [`NormParity::ParityCorrect`](crate::layers::group_norm::NormParity::ParityCorrect)), `(c,)` |
//! | baseline `nn.GroupNorm(1, c)` | `.weight`, `.bias` `(c,)` |
//! | `VectorNeuronNonlinear` | `.weights[KEY]` `(c, c)` for every key but `((), 0)` |
//!
//! with keys written as Python writes ginjax's dict keys (`((), 0)`, `((False,), 0)`,
//! `((False, False), 1)`), each dict's entries in sorted key order as jax flattens dicts.
//! A `ConvContract`'s `.invariant_filters[<flat index 0>][KEY]` leaves (ginjax stores its filter
//! bank in the layer) are not parameters: they are rebuilt from the configuration and, when
//! given, checked against it.
//!
//! The baseline convolutions run on the ConvContract path: a scalar-to-scalar ConvContract
//! whose bank is the `K^D` one-hot filters computes `Σ_i w[o, i, m] · x_i[y + m·d]`, equinox's
//! cross-correlation, with weights `(out, in, K^D)` = equinox's `(out, in, K, …, K)` row-major.
//! `'SAME'` with `ZEROS` pads `d(K−1)` per axis, `⌊d(K−1)/2⌋` below (XLA's rule for stride 1);
//! `CIRCULAR` wraps (the torus padding, which needs odd `K` and torus axes).
//! equinox's `ConvTranspose(kernel K, stride 2, 'VALID')` is `conv_general_dilated` with lhs
//! dilation 2, padding `d(K−1)` on both sides and the weight unflipped (equinox
//! `ConvTranspose.__call__`), so it is the same layer with those options.

use std::collections::HashMap;

use crate::error::Error;
use crate::image::{buffers, ImageBlock, MultiImage, Signature, TensorKey};
use crate::io::layer_params::{GroupNormParams, NonlinearParams};
use crate::io::model_file::NamedParam;
use crate::io::params::{element_count, ArrayJson, KeyJson};
use crate::io::weights::LayerWeights;
use crate::layers::conv_contract::{BiasMode, ConvContract, ConvContractConfig};
use crate::layers::group_norm::GroupNorm;
use crate::layers::layer::Layer;
use crate::layers::max_norm_pool::MaxNormPool;
use crate::layers::nonlinear::{Activation, VectorNeuronNonlinear};
use crate::models::config::{BaselinePadding, FilterSpec};
use crate::models::error::ModelError;
use crate::models::plan::{BaselineConv, LayerSpec};
use crate::ops::bank::DenseBank;
use crate::ops::padding::{ConvOptions, Padding};
use crate::BankOptions;

/// Largest difference allowed between recorded invariant filters and the rebuilt bank
/// (both are f32 roundings of the same numbers).
const FILTER_TOLERANCE: f32 = 1e-5;

/// A ginjax dict key as Python writes it: `((), 0)`, `((False,), 0)`, `((False, True), 1)`.
pub fn key_path(key: &TensorKey) -> String {
    let flags: Vec<&str> = key
        .covariant()
        .iter()
        .map(|&c| if c { "True" } else { "False" })
        .collect();
    let tuple = match flags.as_slice() {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        many => format!("({})", many.join(", ")),
    };
    format!("({tuple}, {})", key.parity())
}

/// Named parameters looked up by path, each taken at most once; [`ParamSet::finish`] reports
/// those no layer took.
#[derive(Debug)]
pub struct ParamSet<'a> {
    params: &'a [NamedParam],
    index: HashMap<&'a str, usize>,
    taken: Vec<bool>,
}

impl<'a> ParamSet<'a> {
    /// Indexes `params`, checking that paths are distinct and data lengths match shapes.
    pub fn new(params: &'a [NamedParam]) -> Result<Self, ModelError> {
        let mut index = HashMap::with_capacity(params.len());
        for (i, param) in params.iter().enumerate() {
            let expected = element_count(&param.shape);
            if expected != Some(param.data.len()) {
                return Err(ModelError::Length {
                    path: param.path.clone(),
                    shape: param.shape.clone(),
                    expected: expected.unwrap_or(usize::MAX),
                    got: param.data.len(),
                });
            }
            if index.insert(param.path.as_str(), i).is_some() {
                return Err(ModelError::Duplicate {
                    path: param.path.clone(),
                });
            }
        }
        Ok(Self {
            params,
            index,
            taken: vec![false; params.len()],
        })
    }

    /// The data of the parameter at `path`, which must have shape `expected`.
    pub fn take(&mut self, path: &str, expected: &[usize]) -> Result<&'a [f32], ModelError> {
        let param = self
            .take_optional(path)
            .ok_or_else(|| ModelError::Missing {
                path: path.to_string(),
                expected: expected.to_vec(),
            })?;
        if param.shape != expected {
            return Err(ModelError::Shape {
                path: path.to_string(),
                got: param.shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(&param.data)
    }

    /// The parameter at `path`, if given (and not yet taken).
    pub fn take_optional(&mut self, path: &str) -> Option<&'a NamedParam> {
        let &i = self.index.get(path)?;
        if std::mem::replace(&mut self.taken[i], true) {
            return None;
        }
        Some(&self.params[i])
    }

    /// Succeeds when every parameter was taken; otherwise lists the others.
    pub fn finish(self) -> Result<(), ModelError> {
        let paths: Vec<String> = self
            .params
            .iter()
            .zip(&self.taken)
            .filter(|(_, &taken)| !taken)
            .map(|(p, _)| p.path.clone())
            .collect();
        if paths.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Unknown { paths })
        }
    }
}

/// A baseline convolution (equinox `nn.Conv` or UNet's `nn.ConvTranspose`) on the one scalar
/// key, computed by a scalar ConvContract with one-hot filters (see the module docs).
#[derive(Debug)]
pub struct BaselineConvLayer {
    spec: BaselineConv,
    conv: ConvContract,
}

impl BaselineConvLayer {
    /// What the convolution is.
    pub fn spec(&self) -> &BaselineConv {
        &self.spec
    }

    /// The ConvContract that computes it; its one weight block `(out, in, K^D)` is equinox's
    /// `weight` and its scalar bias is equinox's `bias`.
    pub fn conv(&self) -> &ConvContract {
        &self.conv
    }
}

impl Layer for BaselineConvLayer {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.check_torus(input)?;
        self.conv.forward(input)
    }

    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        self.check_torus(input)?;
        self.conv.forward_into(input, output)
    }
}

impl BaselineConvLayer {
    fn check_torus(&self, input: &MultiImage) -> Result<(), Error> {
        let circular = self.spec.padding == BaselinePadding::Circular && !self.spec.transpose;
        if circular && !input.geometry().torus().iter().all(|&t| t) {
            return Err(ModelError::CircularNeedsTorus {
                torus: input.geometry().torus().to_vec(),
            }
            .into());
        }
        Ok(())
    }
}

/// A layer of a model, built from a [`LayerSpec`]: the runtime's layer for it.
#[derive(Debug)]
pub enum BuiltLayer {
    /// An equivariant convolution.
    ConvContract(Box<ConvContract>),
    /// A baseline convolution.
    BaselineConv(Box<BaselineConvLayer>),
    /// ginjax's `LayerNorm` (a one-group [`GroupNorm`]).
    LayerNorm(GroupNorm),
    /// The baseline's equinox `nn.GroupNorm(1, c)`: a one-group [`GroupNorm`] on the scalar key.
    BaselineNorm(GroupNorm),
    /// The equivariant activation.
    VectorNeuronNonlinear(VectorNeuronNonlinear),
    /// The baseline's activation, elementwise on every block.
    Elementwise(Activation),
    /// Max pooling by norm (equivariant) or by value (baseline).
    MaxNormPool(MaxNormPool),
}

impl Layer for BuiltLayer {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        match self {
            Self::ConvContract(layer) => {
                let mut output = layer.forward(input)?;
                in_target_order(layer, &mut output);
                Ok(output)
            }
            Self::BaselineConv(layer) => layer.forward(input),
            Self::LayerNorm(layer) | Self::BaselineNorm(layer) => layer.forward(input),
            Self::VectorNeuronNonlinear(layer) => layer.forward(input),
            Self::Elementwise(activation) => {
                let blocks = input
                    .blocks()
                    .iter()
                    .map(|block| {
                        // Every value is written.
                        let mut data = buffers::take(block.data().len());
                        activation.apply_into(block.data(), &mut data);
                        ImageBlock::new(
                            block.geometry().clone(),
                            block.key().clone(),
                            block.channels(),
                            data,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(MultiImage::from_blocks(input.geometry().clone(), blocks)?)
            }
            Self::MaxNormPool(layer) => layer.forward(input),
        }
    }

    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        match self {
            Self::ConvContract(layer) => {
                layer.forward_into(input, output)?;
                in_target_order(layer, output);
                Ok(())
            }
            Self::BaselineConv(layer) => layer.forward_into(input, output),
            _ => {
                *output = self.forward(input)?;
                Ok(())
            }
        }
    }
}

/// Puts the blocks of a model convolution's output in its target signature's order.
///
/// A convolution that skips pairs without an invariant filter emits its keys in the order the
/// remaining pairs first reach them (ginjax's output dictionary). ginjax's layers look keys up
/// by name, so that order means nothing there; ginrs layers take their keys in signature
/// order, so the model restores the order its plan declares.
pub fn in_target_order(layer: &ConvContract, image: &mut MultiImage) {
    if layer.dropped_pairs().is_empty() {
        return;
    }
    let target = &layer.config().target;
    let rank = |key: &TensorKey| target.entries().iter().position(|(k, _)| k == key);
    let geometry = image.geometry().clone();
    let mut blocks = std::mem::replace(image, MultiImage::new(geometry.clone())).into_blocks();
    blocks.sort_by_key(|block| rank(block.key()));
    *image = MultiImage::from_blocks(geometry, blocks)
        .expect("the same distinct blocks in another order");
}

/// Builds [`BuiltLayer`]s of one spatial dimension, building each filter bank once.
#[derive(Debug)]
pub struct LayerBuilder {
    dim: usize,
    banks: Vec<(FilterSpec, DenseBank)>,
    one_hot: Vec<(usize, DenseBank)>,
}

impl LayerBuilder {
    /// A builder for models of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            banks: Vec::new(),
            one_hot: Vec::new(),
        }
    }

    /// The spatial dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// ginjax's bank `get_invariant_filters([M], ks, [0, 1], D, make_all_operators(D))` for
    /// `spec`, built by the generator on first use.
    pub fn bank(&mut self, spec: &FilterSpec) -> Result<&DenseBank, Error> {
        let at = match self.banks.iter().position(|(s, _)| s == spec) {
            Some(at) => at,
            None => {
                let bank =
                    DenseBank::invariant(self.dim, spec.size, &spec.ks, &BankOptions::default())?;
                self.banks.push((spec.clone(), bank));
                self.banks.len() - 1
            }
        };
        Ok(&self.banks[at].1)
    }

    /// The `K^D` one-hot filters of side `K` (scalar, parity 0), row-major by pixel.
    fn one_hot_bank(&mut self, side: usize) -> Result<&DenseBank, Error> {
        let at = match self.one_hot.iter().position(|(s, _)| *s == side) {
            Some(at) => at,
            None => {
                let n = side.pow(self.dim as u32);
                let mut data = vec![0.0; n * n];
                data.iter_mut().step_by(n + 1).for_each(|v| *v = 1.0);
                let bank = DenseBank::new(self.dim, vec![side; self.dim], vec![(0, 0, n, data)])?;
                self.one_hot.push((side, bank));
                self.one_hot.len() - 1
            }
        };
        Ok(&self.one_hot[at].1)
    }

    /// The layer of `spec` at `path`, initialised by the runtime layers' own rules from
    /// `seed` (ginjax's bounds, not JAX's random stream; norms start at weight 1, bias 0).
    pub fn init(
        &mut self,
        spec: &LayerSpec,
        path: &str,
        seed: u64,
    ) -> Result<BuiltLayer, ModelError> {
        let layer_error = |e: Error| ModelError::layer(path, e);
        Ok(match spec {
            LayerSpec::ConvContract { config, filters } => {
                let bank = self.bank(filters).map_err(layer_error)?;
                let layer = ConvContract::from_bank(config.clone(), bank, seed)
                    .map_err(|e| layer_error(e.into()))?;
                BuiltLayer::ConvContract(Box::new(layer))
            }
            LayerSpec::Conv(conv) => {
                let config = baseline_config(self.dim, path, conv)?;
                let bank = self.one_hot_bank(conv.kernel_size).map_err(layer_error)?;
                let layer = ConvContract::from_bank(config, bank, seed)
                    .map_err(|e| layer_error(e.into()))?;
                BuiltLayer::BaselineConv(Box::new(BaselineConvLayer {
                    spec: conv.clone(),
                    conv: layer,
                }))
            }
            LayerSpec::Norm {
                keys,
                equivariant,
                parity,
            } => {
                let norm = GroupNorm::layer_norm_with_parity(keys, *parity)
                    .map_err(|e| layer_error(e.into()))?;
                if *equivariant {
                    BuiltLayer::LayerNorm(norm)
                } else {
                    BuiltLayer::BaselineNorm(norm)
                }
            }
            LayerSpec::Activation {
                keys,
                activation,
                equivariant,
            } => {
                if *equivariant {
                    BuiltLayer::VectorNeuronNonlinear(
                        VectorNeuronNonlinear::new(keys, seed).with_activation(activation.clone()),
                    )
                } else {
                    BuiltLayer::Elementwise(activation.clone())
                }
            }
            LayerSpec::Pool {
                patch_len,
                use_norm,
            } => BuiltLayer::MaxNormPool(
                MaxNormPool::new(*patch_len, *use_norm).map_err(|e| layer_error(e.into()))?,
            ),
        })
    }

    /// The layer of `spec` at `path` with the leaves under `path` taken from `params`.
    /// Missing leaves and leaves of the wrong shape are errors naming their path; recorded
    /// invariant filters are checked against the bank of the spec.
    pub fn load(
        &mut self,
        spec: &LayerSpec,
        path: &str,
        params: &mut ParamSet<'_>,
    ) -> Result<BuiltLayer, ModelError> {
        let mut layer = self.init(spec, path, 0)?;
        let mut leaves = Leaves::of(&layer);
        for (leaf_path, shape, array) in leaves.slots(path) {
            array.data = params.take(&leaf_path, &shape)?.to_vec();
        }
        if let LayerSpec::ConvContract { filters, .. } = spec {
            let bank = self.bank(filters).map_err(|e| ModelError::layer(path, e))?;
            check_filters(path, bank, params)?;
        }
        leaves.apply(&mut layer, path)?;
        Ok(layer)
    }
}

/// A layer's leaves under `path` (see the module docs), each dict in sorted key order.
pub fn layer_leaves(layer: &BuiltLayer, path: &str) -> Vec<NamedParam> {
    let mut leaves = Leaves::of(layer);
    leaves
        .slots(path)
        .into_iter()
        .map(|(leaf_path, shape, array)| NamedParam::new(leaf_path, shape, array.data.clone()))
        .collect()
}

/// The ConvContract configuration of a baseline convolution.
fn baseline_config(
    dim: usize,
    path: &str,
    conv: &BaselineConv,
) -> Result<ConvContractConfig, ModelError> {
    let scalars = |channels| {
        Signature::new(vec![(TensorKey::scalar(), channels)])
            .map_err(|e| ModelError::layer(path, e))
    };
    let reach = conv.rhs_dilation * (conv.kernel_size - 1);
    let options = if conv.transpose {
        ConvOptions::with_padding(Padding::Explicit(vec![(reach, reach); dim])).lhs_dilation(2)
    } else {
        match conv.padding {
            BaselinePadding::Zeros => {
                ConvOptions::with_padding(Padding::Explicit(vec![
                    (reach / 2, reach - reach / 2);
                    dim
                ]))
            }
            BaselinePadding::Circular => {
                if conv.kernel_size.is_multiple_of(2) {
                    return Err(ModelError::EvenCircularKernel {
                        path: path.to_string(),
                        kernel_size: conv.kernel_size,
                    });
                }
                ConvOptions::with_padding(Padding::Torus)
            }
        }
    }
    .rhs_dilation(conv.rhs_dilation);
    let bias = if conv.bias {
        BiasMode::Auto
    } else {
        BiasMode::None
    };
    Ok(
        ConvContractConfig::new(scalars(conv.in_channels)?, scalars(conv.out_channels)?)
            .bias(bias)
            .options(options),
    )
}

/// Checks the recorded `.invariant_filters[<flat index 0>][KEY]` leaves under `path`, if any,
/// against `bank`.
fn check_filters(
    path: &str,
    bank: &DenseBank,
    params: &mut ParamSet<'_>,
) -> Result<(), ModelError> {
    for block in bank.blocks() {
        let filter_path = format!(
            "{path}.invariant_filters[<flat index 0>][{}]",
            key_path(&block.key())
        );
        let Some(recorded) = params.take_optional(&filter_path) else {
            continue;
        };
        let mut shape = vec![block.count()];
        shape.extend_from_slice(bank.sides());
        shape.extend(std::iter::repeat_n(bank.dim(), block.k()));
        if recorded.shape != shape {
            return Err(ModelError::Filters {
                path: filter_path,
                detail: format!("shape {:?}, the bank's is {shape:?}", recorded.shape),
            });
        }
        let worst = recorded
            .data
            .iter()
            .zip(block.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        if worst > FILTER_TOLERANCE {
            return Err(ModelError::Filters {
                path: filter_path,
                detail: format!("values differ by up to {worst}"),
            });
        }
    }
    Ok(())
}

/// A built layer's parameters in their io form, to list or replace by path.
enum Leaves {
    Conv(LayerWeights),
    /// A baseline convolution's weights, with its kernel side and dimension.
    Baseline(LayerWeights, usize, usize),
    LayerNorm(GroupNormParams),
    BaselineNorm(GroupNormParams),
    Nonlinear(NonlinearParams),
    None,
}

fn sorted_by_key<T>(entries: &mut [T], key: impl Fn(&T) -> &KeyJson) {
    entries.sort_by_key(|e| key(e).to_key().expect("a layer's own keys are valid"));
}

fn key_of(key: &KeyJson) -> String {
    key_path(&key.to_key().expect("a layer's own keys are valid"))
}

/// A leaf: its path, its shape in ginjax's tree, and the array holding its values.
type Slot<'a> = (String, Vec<usize>, &'a mut ArrayJson);

/// The slot of an array whose shape is the same in ginjax's tree.
fn slot(path: String, array: &mut ArrayJson) -> Slot<'_> {
    (path, array.shape.clone(), array)
}

impl Leaves {
    fn of(layer: &BuiltLayer) -> Self {
        match layer {
            BuiltLayer::ConvContract(conv) => Self::Conv(conv.to_weights()),
            BuiltLayer::BaselineConv(conv) => Self::Baseline(
                conv.conv.to_weights(),
                conv.spec.kernel_size,
                conv.conv.dim(),
            ),
            BuiltLayer::LayerNorm(norm) => Self::LayerNorm(norm.params()),
            BuiltLayer::BaselineNorm(norm) => Self::BaselineNorm(norm.params()),
            BuiltLayer::VectorNeuronNonlinear(layer) => Self::Nonlinear(layer.params()),
            BuiltLayer::Elementwise(_) | BuiltLayer::MaxNormPool(_) => Self::None,
        }
    }

    /// Every leaf under `path`, in ginjax's tree order.
    fn slots(&mut self, path: &str) -> Vec<Slot<'_>> {
        match self {
            Self::Conv(weights) => {
                weights.weights.sort_by_key(|w| {
                    let key = |k: &KeyJson| k.to_key().expect("a layer's own keys are valid");
                    (key(&w.input), key(&w.output))
                });
                sorted_by_key(&mut weights.bias, |b| &b.key);
                let pairs = weights.weights.iter_mut().map(|w| {
                    let p = format!(
                        "{path}.weights[{}][{}]",
                        key_of(&w.input),
                        key_of(&w.output)
                    );
                    slot(p, &mut w.array)
                });
                let biases = weights
                    .bias
                    .iter_mut()
                    .map(|b| slot(format!("{path}.bias[{}]", key_of(&b.key)), &mut b.array));
                pairs.chain(biases).collect()
            }
            Self::Baseline(weights, side, dim) => {
                let (side, dim) = (*side, *dim);
                let pairs = weights.weights.iter_mut().map(|w| {
                    // (out, in, K^D) is equinox's (out, in, K, …, K).
                    let mut shape = w.array.shape[..2].to_vec();
                    shape.extend(std::iter::repeat_n(side, dim));
                    (format!("{path}.weight"), shape, &mut w.array)
                });
                let biases = weights.bias.iter_mut().map(|b| {
                    let mut shape = b.array.shape.clone();
                    shape.extend(std::iter::repeat_n(1, dim));
                    (format!("{path}.bias"), shape, &mut b.array)
                });
                pairs.chain(biases).collect()
            }
            Self::BaselineNorm(params) => params
                .vanilla_norm
                .iter_mut()
                .flat_map(|norm| {
                    let weight = slot(format!("{path}.weight"), &mut norm.weight);
                    let bias = norm
                        .bias
                        .as_mut()
                        .map(|bias| slot(format!("{path}.bias"), bias));
                    std::iter::once(weight).chain(bias)
                })
                .collect(),
            Self::LayerNorm(params) => {
                sorted_by_key(&mut params.vector_scale, |e| &e.key);
                sorted_by_key(&mut params.vector_bias, |e| &e.key);
                sorted_by_key(&mut params.vanilla_norm, |e| &e.key);
                let scale = params
                    .vector_scale
                    .iter_mut()
                    .map(|e| slot(format!("{path}.scale[{}]", key_of(&e.key)), &mut e.array));
                let bias = params
                    .vector_bias
                    .iter_mut()
                    .map(|e| slot(format!("{path}.bias[{}]", key_of(&e.key)), &mut e.array));
                let vanilla = params.vanilla_norm.iter_mut().flat_map(|e| {
                    let key = key_of(&e.key);
                    let weight = slot(format!("{path}.vanilla_norm[{key}].weight"), &mut e.weight);
                    // No bias leaf for a pseudoscalar key of a parity-correct norm.
                    let bias = e
                        .bias
                        .as_mut()
                        .map(|b| slot(format!("{path}.vanilla_norm[{key}].bias"), b));
                    std::iter::once(weight).chain(bias)
                });
                scale.chain(bias).chain(vanilla).collect()
            }
            Self::Nonlinear(params) => {
                sorted_by_key(&mut params.weights, |e| &e.key);
                params
                    .weights
                    .iter_mut()
                    .map(|e| slot(format!("{path}.weights[{}]", key_of(&e.key)), &mut e.array))
                    .collect()
            }
            Self::None => Vec::new(),
        }
    }

    /// Replaces `layer`'s parameters by these.
    fn apply(&self, layer: &mut BuiltLayer, path: &str) -> Result<(), ModelError> {
        let layer_error = |e: Error| ModelError::layer(path, e);
        match (self, layer) {
            (Self::Conv(weights), BuiltLayer::ConvContract(conv)) => conv
                .load_weights(weights)
                .map_err(|e| layer_error(e.into())),
            (Self::Baseline(weights, ..), BuiltLayer::BaselineConv(conv)) => conv
                .conv
                .load_weights(weights)
                .map_err(|e| layer_error(e.into())),
            (
                Self::LayerNorm(params) | Self::BaselineNorm(params),
                BuiltLayer::LayerNorm(norm) | BuiltLayer::BaselineNorm(norm),
            ) => {
                *norm = GroupNorm::from_params(params).map_err(layer_error)?;
                Ok(())
            }
            (Self::Nonlinear(params), BuiltLayer::VectorNeuronNonlinear(layer)) => {
                let activation = layer.activation().clone();
                *layer =
                    VectorNeuronNonlinear::from_params(params, activation).map_err(layer_error)?;
                Ok(())
            }
            (Self::None, _) => Ok(()),
            _ => unreachable!("Leaves::of mirrors the layer's variant"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use crate::layers::conv_contract::ConvContractConfig;
    use crate::layers::group_norm::NormParity;
    use crate::test_support::scalars_and_vectors;

    #[test]
    fn keys_are_written_as_python_tuples() {
        assert_eq!(key_path(&TensorKey::scalar()), "((), 0)");
        assert_eq!(key_path(&TensorKey::new(1, 1)), "((False,), 1)");
        assert_eq!(
            key_path(&TensorKey::with_covariant(vec![false, true], 0)),
            "((False, True), 0)"
        );
    }

    fn conv_spec() -> LayerSpec {
        LayerSpec::ConvContract {
            config: ConvContractConfig::new(scalars_and_vectors(1), scalars_and_vectors(2)),
            filters: FilterSpec::up_to(3, 2),
        }
    }

    #[test]
    fn conv_contract_leaves_round_trip_and_name_errors() {
        let mut builder = LayerBuilder::new(2);
        let spec = conv_spec();
        let layer = builder.init(&spec, ".decode", 7).unwrap();
        let leaves = layer_leaves(&layer, ".decode");
        let paths: Vec<&str> = leaves.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".decode.weights[((), 0)][((), 0)]",
                ".decode.weights[((), 0)][((False,), 0)]",
                ".decode.weights[((False,), 0)][((), 0)]",
                ".decode.weights[((False,), 0)][((False,), 0)]",
                ".decode.bias[((), 0)]",
                ".decode.bias[((False,), 0)]",
            ]
        );
        // D = 2, M = 3: 3 scalar filters, 2 vector filters, 5 filters of order 2.
        assert_eq!(leaves[3].shape, [2, 1, 5]);
        let mut set = ParamSet::new(&leaves).unwrap();
        let back = builder.load(&spec, ".decode", &mut set).unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&back, ".decode"), leaves);
        let x = crate::image::MultiImage::zeros(
            Geometry::square(2, 4, true).unwrap(),
            &scalars_and_vectors(1),
        );
        assert_eq!(back.forward(&x).unwrap(), layer.forward(&x).unwrap());

        let mut wrong = leaves.clone();
        wrong[1].shape = vec![2, 1, 3];
        wrong[1].data = vec![0.0; 6];
        let err = builder
            .load(&spec, ".decode", &mut ParamSet::new(&wrong).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter `.decode.weights[((), 0)][((False,), 0)]`: shape [2, 1, 3], expected [2, 1, 2]"
        );
        let missing = &leaves[..5];
        let err = builder
            .load(&spec, ".decode", &mut ParamSet::new(missing).unwrap())
            .unwrap_err();
        assert!(
            matches!(&err, ModelError::Missing { path, .. } if path == ".decode.bias[((False,), 0)]"),
            "{err}"
        );
        let mut extra = leaves.clone();
        extra.push(NamedParam::new(".decode.gain", vec![1], vec![1.0]));
        let mut set = ParamSet::new(&extra).unwrap();
        builder.load(&spec, ".decode", &mut set).unwrap();
        assert_eq!(
            set.finish(),
            Err(ModelError::Unknown {
                paths: vec![".decode.gain".into()]
            })
        );
    }

    #[test]
    fn recorded_filters_are_checked_against_the_bank() {
        let mut builder = LayerBuilder::new(2);
        let spec = conv_spec();
        let layer = builder.init(&spec, ".c", 1).unwrap();
        let mut leaves = layer_leaves(&layer, ".c");
        let bank = builder.bank(&FilterSpec::up_to(3, 2)).unwrap().clone();
        let block = bank.get(1, 0).unwrap();
        let mut recorded = NamedParam::new(
            ".c.invariant_filters[<flat index 0>][((False,), 0)]",
            vec![block.count(), 3, 3, 2],
            block.data().to_vec(),
        );
        leaves.push(recorded.clone());
        let mut set = ParamSet::new(&leaves).unwrap();
        builder.load(&spec, ".c", &mut set).unwrap();
        set.finish().unwrap();
        recorded.data[4] += 0.5;
        *leaves.last_mut().unwrap() = recorded;
        let err = builder
            .load(&spec, ".c", &mut ParamSet::new(&leaves).unwrap())
            .unwrap_err();
        assert!(matches!(err, ModelError::Filters { .. }), "{err}");
    }

    #[test]
    fn baseline_conv_is_equinox_cross_correlation_with_same_padding() {
        // One input and output channel, kernel 2 (even: XLA pads 0 below, 1 above), 1-D.
        let conv = BaselineConv {
            in_channels: 1,
            out_channels: 1,
            kernel_size: 2,
            rhs_dilation: 1,
            bias: true,
            padding: BaselinePadding::Zeros,
            transpose: false,
        };
        let spec = LayerSpec::Conv(conv);
        let mut builder = LayerBuilder::new(1);
        let params = vec![
            NamedParam::new(".c.weight", vec![1, 1, 2], vec![2.0, 3.0]),
            NamedParam::new(".c.bias", vec![1, 1], vec![0.5]),
        ];
        let mut set = ParamSet::new(&params).unwrap();
        let layer = builder.load(&spec, ".c", &mut set).unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&layer, ".c"), params);
        let geometry = Geometry::new(vec![4], vec![false]).unwrap();
        let x = crate::image::MultiImage::from_blocks(
            geometry.clone(),
            vec![crate::image::ImageBlock::new(
                geometry,
                TensorKey::scalar(),
                1,
                vec![1.0, 2.0, 3.0, 4.0],
            )
            .unwrap()],
        )
        .unwrap();
        let y = layer.forward(&x).unwrap();
        // y[i] = 2 x[i] + 3 x[i + 1] + 0.5, x[4] = 0.
        assert_eq!(y.blocks()[0].data(), [8.5, 13.5, 18.5, 8.5]);
    }

    #[test]
    fn baseline_transpose_doubles_the_side() {
        // equinox ConvTranspose(1, 1, kernel 2, stride 2, 'VALID'): y[2i + a] = w[1 - a] x[i]
        // (lhs dilation 2 and padding 1 of the unflipped kernel).
        let spec = LayerSpec::Conv(BaselineConv {
            in_channels: 1,
            out_channels: 1,
            kernel_size: 2,
            rhs_dilation: 1,
            bias: false,
            padding: BaselinePadding::Zeros,
            transpose: true,
        });
        let mut builder = LayerBuilder::new(1);
        let params = vec![NamedParam::new(".u.weight", vec![1, 1, 2], vec![2.0, 3.0])];
        let layer = builder
            .load(&spec, ".u", &mut ParamSet::new(&params).unwrap())
            .unwrap();
        let geometry = Geometry::new(vec![2], vec![true]).unwrap();
        let x = crate::image::MultiImage::from_blocks(
            geometry.clone(),
            vec![
                crate::image::ImageBlock::new(geometry, TensorKey::scalar(), 1, vec![1.0, 10.0])
                    .unwrap(),
            ],
        )
        .unwrap();
        let y = layer.forward(&x).unwrap();
        assert_eq!(y.blocks()[0].data(), [3.0, 2.0, 30.0, 20.0]);
    }

    #[test]
    fn parity_correct_norms_have_no_pseudoscalar_bias_leaf() {
        let keys = Signature::new(vec![
            (TensorKey::scalar(), 2),
            (TensorKey::new(0, 1), 3),
            (TensorKey::vector(), 2),
        ])
        .unwrap();
        let spec = |parity| LayerSpec::Norm {
            keys: keys.clone(),
            equivariant: true,
            parity,
        };
        let mut builder = LayerBuilder::new(2);
        let ginjax = layer_leaves(
            &builder.init(&spec(NormParity::Ginjax), ".g", 0).unwrap(),
            ".g",
        );
        let correct_layer = builder
            .init(&spec(NormParity::ParityCorrect), ".g", 0)
            .unwrap();
        let mut correct = layer_leaves(&correct_layer, ".g");
        let pseudo_bias = ".g.vanilla_norm[((), 1)].bias";
        // The same leaves as ginjax's, less the pseudoscalar's bias.
        let want: Vec<&NamedParam> = ginjax.iter().filter(|l| l.path != pseudo_bias).collect();
        assert_eq!(ginjax.len(), 6);
        assert_eq!(correct.iter().collect::<Vec<_>>(), want);
        // Loading: nonzero values come back; a ginjax leaf set has a leaf too many.
        for (i, leaf) in correct.iter_mut().enumerate() {
            leaf.data
                .iter_mut()
                .for_each(|v| *v = 0.25 * i as f32 + 0.5);
        }
        let mut set = ParamSet::new(&correct).unwrap();
        let back = builder
            .load(&spec(NormParity::ParityCorrect), ".g", &mut set)
            .unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&back, ".g"), correct);
        let BuiltLayer::LayerNorm(norm) = &back else {
            panic!("a layer norm")
        };
        assert_eq!(norm.parity(), NormParity::ParityCorrect);
        assert_eq!(norm.bias(&TensorKey::new(0, 1)), None);
        let mut set = ParamSet::new(&ginjax).unwrap();
        builder
            .load(&spec(NormParity::ParityCorrect), ".g", &mut set)
            .unwrap();
        assert!(set.finish().is_err());
        let mut set = ParamSet::new(&correct).unwrap();
        assert!(matches!(
            builder.load(&spec(NormParity::Ginjax), ".g", &mut set),
            Err(ModelError::Missing { path, .. }) if path == pseudo_bias
        ));
    }

    #[test]
    fn norms_and_nonlinearities_use_ginjax_leaf_names() {
        let mut builder = LayerBuilder::new(2);
        let norm = LayerSpec::Norm {
            keys: scalars_and_vectors(2),
            equivariant: true,
            parity: NormParity::Ginjax,
        };
        let layer = builder.init(&norm, ".g", 0).unwrap();
        let paths: Vec<String> = layer_leaves(&layer, ".g")
            .into_iter()
            .map(|l| l.path)
            .collect();
        assert_eq!(
            paths,
            [
                ".g.scale[((False,), 0)]",
                ".g.bias[((False,), 0)]",
                ".g.vanilla_norm[((), 0)].weight",
                ".g.vanilla_norm[((), 0)].bias",
            ]
        );
        let baseline = LayerSpec::Norm {
            keys: Signature::new(vec![(TensorKey::scalar(), 3)]).unwrap(),
            equivariant: false,
            parity: NormParity::Ginjax,
        };
        let path = ".b.group_norm.modules[((), 0)]";
        let layer = builder.init(&baseline, path, 0).unwrap();
        let leaves = layer_leaves(&layer, path);
        assert_eq!(leaves[0].path, format!("{path}.weight"));
        assert_eq!(leaves[1].data, [0.0; 3]);
        let act = LayerSpec::Activation {
            keys: scalars_and_vectors(2),
            activation: Activation::Gelu,
            equivariant: true,
        };
        let layer = builder.init(&act, ".n", 3).unwrap();
        let leaves = layer_leaves(&layer, ".n");
        assert_eq!(leaves.len(), 1);
        assert_eq!(leaves[0].path, ".n.weights[((False,), 0)]");
        assert_eq!(leaves[0].shape, [2, 2]);
        let back = builder
            .load(&act, ".n", &mut ParamSet::new(&leaves).unwrap())
            .unwrap();
        let BuiltLayer::VectorNeuronNonlinear(back) = back else {
            panic!("vector neurons")
        };
        assert_eq!(back.activation(), &Activation::Gelu);
    }
}
