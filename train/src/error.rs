//! The typed errors of ginrs-train: bad input is reported, never a panic.

use burn::tensor::DType;
use ginrs_runtime::{Geometry, ImageError, Signature, TensorKey};
use thiserror::Error;

/// Any error of ginrs-train.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    /// The runtime rejected a configuration, image or weights file (e.g. weights written for
    /// another signature).
    #[error(transparent)]
    Runtime(#[from] ginrs_runtime::Error),
    /// Building a geometric image failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A batch of multi-images was empty.
    #[error("a batch needs at least one multi-image")]
    EmptyBatch,
    /// The multi-images of a batch do not share one signature.
    #[error("batch item {index} has signature {got}, item 0 has {expected}")]
    BatchSignature {
        /// The first item that differs.
        index: usize,
        /// The signature of item 0.
        expected: Signature,
        /// The signature of item `index`.
        got: Signature,
    },
    /// The multi-images of a batch do not share one geometry.
    #[error("batch item {index} has spatial sides {got:?} and torus flags {got_torus:?}, item 0 has {expected:?} and {expected_torus:?}")]
    BatchGeometry {
        /// The first item that differs.
        index: usize,
        /// Spatial sides of item 0.
        expected: Vec<usize>,
        /// Torus flags of item 0.
        expected_torus: Vec<bool>,
        /// Spatial sides of item `index`.
        got: Vec<usize>,
        /// Torus flags of item `index`.
        got_torus: Vec<bool>,
    },
    /// A block tensor does not have the shape `[batch, channels, pixels, d^k]` its image needs.
    #[error("block {key:?}: tensor shape {got:?}, expected [{batch}, _, {pixels}, {components}]")]
    BlockShape {
        /// The block's key.
        key: TensorKey,
        /// The tensor's shape.
        got: Vec<usize>,
        /// The image's batch size.
        batch: usize,
        /// The image's pixel count.
        pixels: usize,
        /// `d^k`.
        components: usize,
    },
    /// Two blocks of one image have the same key.
    #[error("the image already has a block of key {key:?}")]
    DuplicateKey {
        /// The repeated key.
        key: TensorKey,
    },
    /// Two images that must match (input and target, prediction and target) do not.
    #[error("{what}: signature {got}, expected {expected}")]
    SignatureMismatch {
        /// What was compared.
        what: &'static str,
        /// The expected signature.
        expected: Signature,
        /// The signature found.
        got: Signature,
    },
    /// Two images combined blockwise (a residual sum, a skip concatenation) differ in geometry
    /// or batch size.
    #[error("{what}: geometry {got:?} with batch {got_batch}, expected {expected:?} with batch {expected_batch}")]
    GridMismatch {
        /// What combined them.
        what: &'static str,
        /// The first image's geometry.
        expected: Box<Geometry>,
        /// The first image's batch size.
        expected_batch: usize,
        /// The second image's geometry.
        got: Box<Geometry>,
        /// The second image's batch size.
        got_batch: usize,
    },
    /// A parameter array holds the wrong number of values (or is missing: 0 values).
    #[error("parameter {path}: {got} values, expected {expected}")]
    ParamLength {
        /// The parameter's ginjax path.
        path: String,
        /// The number of values the layer needs.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// A layer received an image of another spatial dimension.
    #[error("the layer is {expected}-dimensional, the input image is {got}-dimensional")]
    Dimension {
        /// The layer's dimension.
        expected: usize,
        /// The image's dimension.
        got: usize,
    },
    /// A block whose key the layer does not know.
    #[error("{layer}: no parameters for key {key:?}")]
    UnknownKey {
        /// The layer.
        layer: &'static str,
        /// The key.
        key: TensorKey,
    },
    /// The loss of a training step is NaN or infinite; training stops.
    #[error("training step {step}: the loss is {loss} (not finite)")]
    NonFiniteLoss {
        /// The step (0-based) whose loss is not finite.
        step: usize,
        /// The loss value.
        loss: f64,
    },
    /// The fused route was asked for a call it cannot serve.
    #[error("the fused route cannot serve this call: {0}")]
    Fused(#[from] FusedUnsupported),
    /// Data-parallel training cannot start or go on.
    #[error(transparent)]
    Distributed(#[from] crate::distributed::DistributedError),
    /// An option outside what the layer supports.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// Reading a tensor back to the host failed.
    #[error("reading a tensor back: {0}")]
    TensorRead(String),
}

/// Why the fused [`Route`](crate::Route) cannot serve a call ([`TrainError::Fused`]; the
/// default route then takes the dense one).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FusedUnsupported {
    /// The fused route runs on burn's flex (CPU) device only.
    #[error("it runs on burn's flex (CPU) device only; the input is on {0}")]
    Device(String),
    /// The fused route computes in f32 (the runtime's precision).
    #[error("it computes in f32; the input is {0:?}")]
    DType(DType),
    /// ginrs-train was built without its `flex` feature (burn's CPU backend).
    #[error("ginrs-train was built without its `flex` feature")]
    WithoutFlex,
    /// The input has no blocks (no device or dtype to run on).
    #[error("the input has no blocks")]
    Empty,
    /// A layer without pairs has no convolution to fuse.
    #[error("the layer has no (input key, target key) pair")]
    NoPairs,
    /// The image has too many pixels for the pool's pixel indices to be exact in `f32`.
    #[error(
        "the pool keeps pixel indices as f32, exact below 2^24 pixels; the image has {pixels}"
    )]
    PixelIndex {
        /// Pixels of the image.
        pixels: usize,
    },
    /// The runtime's adjoint convolution does not serve the configuration (a torus axis
    /// with stride or lhs dilation; boxed to keep [`TrainError`] small).
    #[error(transparent)]
    Runtime(Box<ginrs_runtime::Error>),
}
