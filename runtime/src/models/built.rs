//! [`BuiltLayer`]: the runtime layer of one [`LayerSpec`](crate::models::LayerSpec) of a
//! model, as [`LayerBuilder`](crate::models::LayerBuilder) makes it; an equivariant
//! convolution is a [`ModelConv`], which keeps the filter bank it multiplies.

use std::sync::Arc;

use crate::error::Error;
use crate::image::{buffers, ImageBlock, MultiImage, TensorKey};
use crate::layers::conv_contract::ConvContract;
use crate::layers::group_norm::GroupNorm;
use crate::layers::layer::Layer;
use crate::layers::max_norm_pool::MaxNormPool;
use crate::layers::nonlinear::{Activation, VectorNeuronNonlinear};
use crate::models::baseline::BaselineConvLayer;
use crate::ops::bank::DenseBank;

/// An equivariant convolution of a model with the filter bank it was built from: the bank the
/// configuration names, or, where the model file records ginjax's `invariant_filters`, those
/// (checked to be a basis of the same invariant space by
/// [`crate::models::filters`]).
#[derive(Debug)]
pub struct ModelConv {
    conv: ConvContract,
    bank: Arc<DenseBank>,
    recorded: Vec<TensorKey>,
}

impl ModelConv {
    /// The convolution `conv`, built from `bank`, whose blocks of the keys `recorded` came
    /// from the model file.
    pub(crate) fn new(conv: ConvContract, bank: Arc<DenseBank>, recorded: Vec<TensorKey>) -> Self {
        Self {
            conv,
            bank,
            recorded,
        }
    }

    /// The convolution.
    pub fn conv(&self) -> &ConvContract {
        &self.conv
    }

    /// The convolution, to load weights into.
    pub(crate) fn conv_mut(&mut self) -> &mut ConvContract {
        &mut self.conv
    }

    /// The filter bank the convolution multiplies its weights with.
    pub fn bank(&self) -> &DenseBank {
        &self.bank
    }

    /// The keys `((False,)*k, p)` whose filter blocks were recorded in the model file (in the
    /// bank's block order); a model file written from the model records them again.
    pub fn recorded_keys(&self) -> &[TensorKey] {
        &self.recorded
    }
}

/// A layer of a model, built from a [`LayerSpec`](crate::models::LayerSpec): the runtime's
/// layer for it.
#[derive(Debug)]
pub enum BuiltLayer {
    /// An equivariant convolution.
    ConvContract(Box<ModelConv>),
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
                let mut output = layer.conv.forward(input)?;
                in_target_order(&layer.conv, &mut output);
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
                layer.conv.forward_into(input, output)?;
                in_target_order(&layer.conv, output);
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
