//! [`ImageError`]: what can go wrong building or combining geometric images.

use thiserror::Error;

/// Errors from building or combining geometric images.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageError {
    /// The spatial dimension is outside `1..=MAX_DIM`.
    #[error(
        "spatial dimension d = {dim} is not supported: use d in 1..={}",
        super::MAX_DIM
    )]
    Dimension {
        /// The dimension given.
        dim: usize,
    },
    /// The torus flags do not give one flag per spatial axis.
    #[error("expected {dim} torus flags (one per spatial axis), got {got}")]
    TorusFlags {
        /// The spatial dimension.
        dim: usize,
        /// The number of flags given.
        got: usize,
    },
    /// A spatial axis has side 0.
    #[error("spatial axis {axis} has side 0: every axis needs at least one pixel")]
    EmptyAxis {
        /// The empty axis.
        axis: usize,
    },
    /// A block's data has the wrong number of values.
    #[error("{key} block: expected {expected} values (channels · pixels · d^k), got {got}")]
    DataLength {
        /// The block's key.
        key: String,
        /// The number of values its shape needs.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A channel count of zero in a signature.
    #[error("{key} has 0 channels: every entry of a signature needs at least one channel")]
    ZeroChannels {
        /// The key.
        key: String,
    },
    /// A key appears twice.
    #[error("key {key} appears twice")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A block's geometry differs from the multi-image's.
    #[error("{key} block has geometry {got}, but the multi-image has {expected}")]
    GeometryMismatch {
        /// The block's key.
        key: String,
        /// The multi-image's geometry.
        expected: String,
        /// The block's geometry.
        got: String,
    },
    /// An array has too few axes for a block of its key.
    #[error("{key} block needs an array of rank at least {min} (channels, spatial…, d…), got rank {rank}")]
    ArrayRank {
        /// The key.
        key: String,
        /// The array's rank.
        rank: usize,
        /// The smallest rank possible.
        min: usize,
    },
    /// A tensor axis of an array does not have length d.
    #[error("{key} block: tensor axis {axis} has length {side}, but d = {dim}")]
    TensorAxis {
        /// The key.
        key: String,
        /// The axis of the array.
        axis: usize,
        /// Its length.
        side: usize,
        /// The spatial dimension inferred from the rank.
        dim: usize,
    },
    /// A list of blocks (views or output slices) of the wrong length.
    #[error("expected {expected} blocks, got {got}")]
    BlockCount {
        /// The number of blocks needed.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// A multi-image does not have the signature a layer expects.
    #[error("expected an image with signature {expected}, got {got}")]
    SignatureMismatch {
        /// The expected signature.
        expected: String,
        /// The image's signature.
        got: String,
    },
}
