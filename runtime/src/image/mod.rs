//! Geometric images: tensor keys, image blocks (owned, and borrowed as views), multi-images
//! and signatures, the buffers they recycle, and signatures as types.
//!
//! A block holds `channels` images of one tensor type, laid out row-major as
//! `(channels, spatial_0, …, spatial_{d-1}, d, …, d)` with `k` trailing tensor axes — ginjax's
//! layout. A [`MultiImage`] holds blocks of distinct [`TensorKey`]s in insertion order (the
//! order drives every layer's iteration, as in ginjax), all sharing d, spatial shape and torus
//! flags.

mod block;
pub mod buffers;
mod error;
mod geometry;
mod key;
mod multi;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
mod signature;
pub mod typed;
mod view;

pub use block::ImageBlock;
pub use error::ImageError;
pub use geometry::Geometry;
pub use key::TensorKey;
pub use multi::MultiImage;
pub use signature::Signature;
pub(crate) use view::{check_outputs, check_same_shapes, each_block_into, same_shape_image};
pub use view::{BlockView, ImageView};

/// Largest spatial dimension supported by the runtime (the group is enumerated up to it).
pub use ginrs_generator::group::MAX_DIM;
