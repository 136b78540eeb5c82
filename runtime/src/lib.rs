//! # ginrs-runtime
//!
//! What ginrs programs link at run time: geometric images and multi-images, the group action on
//! them, convolutions, equivariant layers and weights I/O.
#![warn(missing_docs)]

pub mod action;
pub mod conv;
pub mod equivariance;
pub mod error;
pub mod group_norm;
pub mod image;
pub mod layer;
pub mod metric;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
pub mod nonlinear;
pub mod ops;
pub mod padding;
pub mod params;
pub mod pool;
mod sym_eigen;
pub mod wrapper;

pub use conv::FilterArray;
pub use error::{Error, ImageError};
pub use ginrs_generator::group;
pub use image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
pub use layer::Layer;
pub use padding::{ConvOptions, Padding};
