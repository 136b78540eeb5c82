//! # ginrs-runtime
//!
//! What ginrs programs link at run time: geometric images and multi-images, the group action on
//! them, convolutions, equivariant layers and weights I/O.
//!
//! ## Architecture
//!
//! The crate is layered; each folder may use the ones listed above it, never those below:
//!
//! - `image/` depends on nothing else in the crate: keys, geometry, blocks, multi-images,
//!   signatures (also as types) and the buffers blocks recycle.
//! - `kernels/` is the only place with `unsafe`; it knows slices and strides, not images.
//! - `ops/` is functions of images (group action, metric, convolution, padding, norms, pools)
//!   and the filters they use; it builds on `image/` and `kernels/`.
//! - `layers/` is the [`Layer`] trait and the layers; they compute with `ops/` and `kernels/`.
//! - `io/` is the only folder that uses serde: parameters, weights and ginjax models in JSON.
//! - `check/` tests layers (numerical equivariance); nothing depends on it.
//! - `error.rs` holds the crate-wide [`Error`], which wraps every folder's error type.
#![warn(missing_docs)]

pub mod check;
pub mod error;
pub mod image;
pub mod io;
pub mod kernels;
pub mod layers;
pub mod ops;

pub use error::{Error, ImageError};
pub use ginrs_generator::group;
pub use ginrs_macros::equivariant_layer;
pub use image::typed::SignatureType;
pub use image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
pub use io::ginjax_import::GinjaxModel;
pub use io::weights::LayerWeights;
pub use layers::conv_contract::{BiasMode, ConvContract, ConvContractConfig};
pub use layers::typed::{Chain, TypedLayer};
pub use layers::Layer;
pub use ops::bank::DenseBank;
pub use ops::conv::FilterArray;
pub use ops::padding::{ConvOptions, Padding};

/// What generated layers (the `codegen` helper's output) refer to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::Error;
    pub use crate::image::typed::{Block as SignatureBlock, SignatureType};
    pub use crate::image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
    pub use crate::io::weights::LayerWeights;
    pub use crate::kernels::mix::mix_chunk;
    pub use crate::kernels::rows::{for_each_row, tap_offsets};
    pub use crate::kernels::simd::try_simd;
    pub use crate::kernels::stencil::{ResponseKernel, StencilGeometry};
    pub use crate::layers::conv_contract::chunked::{
        forward_chunked, forward_chunked_into, Chunk, ChunkKernel,
    };
    pub use crate::layers::conv_contract::{
        BiasMode, ConvContract, ConvContractConfig, ConvContractError, DroppedPair, FlopCount,
        PairKernel,
    };
    pub use crate::layers::typed::TypedLayer;
    pub use crate::layers::Layer;
    pub use crate::ops::padding::{ConvOptions, Padding, PerAxis};
}

/// The README's code, compiled and run as a doctest.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
