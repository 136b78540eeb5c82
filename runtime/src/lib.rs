//! # ginrs-runtime
//!
//! What ginrs programs link at run time: geometric images and multi-images, the group action on
//! them, convolutions, equivariant layers and weights I/O.
#![warn(missing_docs)]

pub mod action;
pub mod bank;
pub mod buffers;
pub mod conv;
pub mod conv_contract;
pub mod equivariance;
pub mod error;
pub mod ginjax_import;
pub mod group_norm;
pub mod image;
pub mod kernel;
pub mod layer;
pub mod metric;
pub mod mix;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
pub mod nonlinear;
pub mod ops;
pub mod padding;
pub mod params;
pub mod pool;
pub mod rows;
mod sym_eigen;
mod transpose;
pub mod typed;
pub mod weights;
pub mod wrapper;

pub use bank::DenseBank;
pub use conv::FilterArray;
pub use conv_contract::{BiasMode, ConvContract, ConvContractConfig};
pub use error::{Error, ImageError};
pub use ginjax_import::GinjaxModel;
pub use ginrs_generator::group;
pub use ginrs_macros::equivariant_layer;
pub use image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
pub use layer::Layer;
pub use padding::{ConvOptions, Padding};
pub use typed::{Chain, TypedLayer};
pub use weights::LayerWeights;

/// What generated layers (the `codegen` helper's output) refer to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::conv_contract::chunked::{
        forward_chunked, forward_chunked_into, Chunk, ChunkKernel,
    };
    pub use crate::conv_contract::{
        BiasMode, ConvContract, ConvContractConfig, ConvContractError, DroppedPair, FlopCount,
        PairKernel,
    };
    pub use crate::error::Error;
    pub use crate::image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
    pub use crate::kernel::{ResponseKernel, StencilGeometry};
    pub use crate::layer::Layer;
    pub use crate::mix::mix_chunk;
    pub use crate::padding::{ConvOptions, Padding, PerAxis};
    pub use crate::rows::{for_each_row, tap_offsets, try_simd};
    pub use crate::typed::{Block as SignatureBlock, SignatureType, TypedLayer};
    pub use crate::weights::LayerWeights;
}

/// The README's code, compiled and run as a doctest.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
