//! # ginrs-runtime
//!
//! What ginrs programs link at run time: geometric images and multi-images, the group action on
//! them, convolutions, equivariant layers and weights I/O.
//!
//! ## Architecture
//!
//! Each folder uses only the folders listed before it, with the one exception stated under
//! `io/`:
//!
//! - `image/` depends on nothing else in the crate: keys, geometry, blocks, multi-images,
//!   signatures (also as types) and the buffers blocks recycle.
//! - `kernels/` depends on nothing else in the crate and is the only place with `unsafe`, but
//!   for one call: the chunk schedule's AVX-512 entry (`layers/conv_contract/chunked.rs`) must
//!   call its tile loop straight from a target-feature function, since behind a closure handed
//!   to `kernels/` the inlined intrinsics stay out-of-line calls. `kernels/` knows slices and
//!   strides, not images. It is private: generated code reaches it through `__private` only.
//! - `ops/` is functions of images (group action, metric, convolution, padding, norms, pools)
//!   and the filters they use; it uses `image/` and `kernels/` only.
//! - `layers/` is the [`Layer`] trait and the layers; they compute with `ops/` and `kernels/`.
//! - `models/` is ginjax's UNet, ResNet and DilResNet: their configuration and a program of
//!   layer specs with ginjax's parameter paths (data only), the runtime layers built from those
//!   specs and named parameters, and the inference [`Model`] that runs them. It uses
//!   `layers/` and `ops/`.
//! - `io/` is the only folder that names serde: the JSON forms of keys, arrays, weights, layer
//!   parameters, ginjax exports and model files (whose configuration is `models/`'s). Layers
//!   and models convert their parameters to and from these plain structs (`layers/`,
//!   `models/` → `io/`), and `io/` builds layers from them (`io/` → `layers/`).
//! - `roofline.rs` measures the machine's multiply-add peak with `kernels/` (benches read
//!   their GFLOP/s against it).
//! - `check/` tests layers (numerical equivariance); nothing in the crate depends on it.
//! - `error.rs` holds the crate-wide [`Error`], which wraps every folder's error type.
#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod check;
pub mod error;
pub mod image;
pub mod io;
pub(crate) mod kernels;
pub mod layers;
pub mod models;
pub mod ops;
pub mod roofline;
#[cfg(test)]
mod test_support;

pub use check::equivariance::{
    check_fn, check_layer, Elements, EquivarianceError, EquivarianceReport,
};
pub use error::{Error, ImageError};
pub use ginrs_generator::flops::FlopCount;
pub use ginrs_generator::group;
pub use ginrs_generator::BankOptions;
pub use ginrs_macros::equivariant_layer;
pub use image::typed::SignatureType;
pub use image::{BlockView, Geometry, ImageBlock, ImageView, MultiImage, Signature, TensorKey};
pub use io::ginjax_import::{GinjaxModel, ImportError};
pub use io::model_file::{ModelFile, ModelFileError, NamedParam, Origin};
pub use io::params::ParamsError;
pub use io::weights::{LayerWeights, WeightsError};
pub use kernels::stencil::KernelError;
pub use layers::conv_contract::{
    AdjointConv, BiasMode, ConvContract, ConvContractConfig, ConvContractError, DroppedPair,
    MissingFilterCause,
};
pub use layers::group_norm::{GroupNorm, NormError, NormParity};
pub use layers::max_norm_pool::MaxNormPool;
pub use layers::nonlinear::{Activation, NonlinearError, VectorNeuronNonlinear};
pub use layers::typed::{Chain, TypedLayer};
pub use layers::wrapper::{
    AuxBlockModule, BlockLayer, BlockModule, Elementwise, LayerWrapper, LayerWrapperAux,
    WrapperError,
};
pub use layers::Layer;
pub use models::{Model, ModelConfig, ModelError, ModelKind, ModelPlan};
pub use ops::bank::{BankError, DenseBank};
pub use ops::conv::FilterArray;
pub use ops::padding::{ConvOptions, Padding, PerAxis};
pub use ops::pool::PoolError;

/// What generated layers (the `codegen` helper's output) refer to, and the only public path to
/// the compute kernels they call; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::Error;
    pub use crate::image::typed::{Block as SignatureBlock, SignatureType};
    pub use crate::image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
    pub use crate::io::weights::LayerWeights;
    pub use crate::kernels::mix::mix_chunk;
    pub use crate::kernels::rows::{for_each_row, tap_offsets};
    pub use crate::kernels::simd::try_simd;
    pub use crate::kernels::stencil::{ResponseKernel, SparseKernel, StencilGeometry};
    pub use crate::layers::conv_contract::build::PairKernel;
    pub use crate::layers::conv_contract::chunked::{
        forward_chunked, forward_chunked_into, Chunk, ChunkKernel,
    };
    pub use crate::layers::conv_contract::{
        BiasMode, ConvContract, ConvContractConfig, ConvContractError, DroppedPair,
    };
    pub use crate::layers::typed::TypedLayer;
    pub use crate::layers::Layer;
    pub use crate::ops::padding::{ConvOptions, Padding, PerAxis};
}

/// The README's code, compiled and run as a doctest.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
