//! [`ModelLayer`]: the burn module of one layer of a model, made from the runtime layer that
//! the runtime's [`LayerBuilder`](ginrs_runtime::models::LayerBuilder) builds for the layer's
//! [`LayerSpec`](ginrs_runtime::models::LayerSpec).

use burn::module::Module;
use burn::tensor::Device;
use ginrs_runtime::models::{layer_leaves, BuiltLayer};
use ginrs_runtime::TensorKey;

use crate::error::TrainError;
use crate::image::TensorImage;
#[cfg(feature = "flex")]
use crate::layers::host::program::ProgramBuilder;
use crate::layers::{
    BaselineConv, BaselineNorm, ConvContract, Elementwise, GroupNorm, ImageModule, MaxNormPool,
    Route, ScalarActivation, VectorNeuronNonlinear,
};
use crate::params::{GinjaxParams, NamedTensor};

/// One layer of a model as a burn module.
#[derive(Module, Debug)]
pub enum ModelLayer {
    /// ginjax's `ConvContract`.
    ConvContract(ConvContract),
    /// equinox's `Conv` / `ConvTranspose` of the baseline.
    BaselineConv(BaselineConv),
    /// ginjax's `LayerNorm`.
    LayerNorm(GroupNorm),
    /// equinox's `GroupNorm(1, c)` of the baseline.
    BaselineNorm(BaselineNorm),
    /// ginjax's `VectorNeuronNonlinear`.
    VectorNeuron(VectorNeuronNonlinear),
    /// The baseline's elementwise activation.
    Elementwise(Elementwise),
    /// ginjax's `MaxNormPool`.
    Pool(MaxNormPool),
}

impl ModelLayer {
    /// A trainable copy of `built`, a runtime layer of a model of dimension `dim` (a
    /// `ConvContract` multiplies the filter bank the runtime layer was built from: the
    /// configuration's, or the one its model file recorded).
    pub fn from_built(built: &BuiltLayer, dim: usize, device: &Device) -> Result<Self, TrainError> {
        Ok(match built {
            BuiltLayer::ConvContract(conv) => Self::ConvContract(ConvContract::from_runtime(
                conv.conv(),
                conv.bank(),
                device,
            )?),
            BuiltLayer::BaselineConv(conv) => {
                let leaves = layer_leaves(built, "");
                let take = |name: &str| {
                    leaves
                        .iter()
                        .find(|l| l.path == name)
                        .map(|l| l.data.clone())
                };
                let weight = take(".weight").expect("a baseline convolution has a .weight leaf");
                Self::BaselineConv(BaselineConv::new(
                    conv.spec(),
                    dim,
                    weight,
                    take(".bias"),
                    device,
                )?)
            }
            BuiltLayer::LayerNorm(norm) => Self::LayerNorm(GroupNorm::from_runtime(norm, device)),
            BuiltLayer::BaselineNorm(norm) => {
                Self::BaselineNorm(BaselineNorm::from_runtime(norm, device)?)
            }
            BuiltLayer::VectorNeuronNonlinear(layer) => {
                Self::VectorNeuron(VectorNeuronNonlinear::from_runtime(layer, device)?)
            }
            BuiltLayer::Elementwise(activation) => Self::Elementwise(Elementwise::new(
                ScalarActivation::from_runtime(activation)?,
            )),
            BuiltLayer::MaxNormPool(pool) => Self::Pool(MaxNormPool::from_runtime(pool)),
        })
    }
}

impl ModelLayer {
    /// The layer's [`Route`]: `None` for the baseline's layers, which have none.
    pub fn route(&self) -> Option<Route> {
        match self {
            Self::ConvContract(l) => Some(l.route()),
            Self::LayerNorm(l) => Some(l.route()),
            Self::VectorNeuron(l) => Some(l.route()),
            Self::Pool(l) => Some(l.route()),
            Self::BaselineConv(_) | Self::BaselineNorm(_) | Self::Elementwise(_) => None,
        }
    }

    /// Appends the layer's fused kernel, for the program's current image, to `program` (a
    /// convolution's output blocks in the target signature's order, as
    /// [`ImageModule::forward_image`] gives them). The baseline's layers have none.
    #[cfg(feature = "flex")]
    pub(crate) fn push_fused(&self, program: &mut ProgramBuilder) -> Result<(), TrainError> {
        let (signature, geometry) = (program.signature(), program.geometry());
        match self {
            Self::ConvContract(l) => {
                let layer = l.fused_layer(signature, geometry)?;
                program.layer(layer, Some(&l.config().target))
            }
            Self::LayerNorm(l) => {
                let layer = l.fused_layer(signature, geometry)?;
                program.layer(layer, None)
            }
            Self::VectorNeuron(l) => {
                let layer = l.fused_layer(signature, geometry)?;
                program.layer(layer, None)
            }
            Self::Pool(l) => {
                let layer = l.fused_layer(signature, geometry)?;
                program.layer(layer, None)
            }
            Self::BaselineConv(_) | Self::BaselineNorm(_) | Self::Elementwise(_) => Err(
                TrainError::Unsupported("the baseline's layers have no fused kernel".into()),
            ),
        }
    }
}

impl ImageModule for ModelLayer {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        match self {
            Self::ConvContract(l) => {
                in_target_order(l.forward(input)?, l.config().target.entries())
            }
            Self::BaselineConv(l) => l.forward(input),
            Self::LayerNorm(l) => l.forward(input),
            Self::BaselineNorm(l) => l.forward(input),
            Self::VectorNeuron(l) => l.forward(input),
            Self::Elementwise(l) => l.forward(input),
            Self::Pool(l) => l.forward(input),
        }
    }
}

impl GinjaxParams for ModelLayer {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        match self {
            Self::ConvContract(l) => l.named_tensors(),
            Self::BaselineConv(l) => l.named_tensors(),
            Self::LayerNorm(l) => l.named_tensors(),
            Self::BaselineNorm(l) => l.named_tensors(),
            Self::VectorNeuron(l) => l.named_tensors(),
            Self::Elementwise(_) | Self::Pool(_) => Vec::new(),
        }
    }
}

/// A model convolution's output with its blocks in the target signature's order (the
/// runtime's [`ginrs_runtime::models::built::in_target_order`]: a convolution that skips pairs
/// without an invariant filter emits keys in first-reach order).
fn in_target_order(
    image: TensorImage,
    target: &[(TensorKey, usize)],
) -> Result<TensorImage, TrainError> {
    let rank = |key: &TensorKey| target.iter().position(|(k, _)| k == key);
    if image.blocks().is_sorted_by_key(|(key, _)| rank(key)) {
        return Ok(image);
    }
    let (geometry, batch) = (image.geometry().clone(), image.batch());
    let mut blocks = image.into_blocks();
    blocks.sort_by_key(|(key, _)| rank(key));
    let mut out = TensorImage::new(geometry, batch);
    for (key, tensor) in blocks {
        out.push(key, tensor)?;
    }
    Ok(out)
}
