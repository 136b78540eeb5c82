//! [`ModelError`]: building a model from named parameters, or running it, failed.

use thiserror::Error;

use crate::error::Error;
use crate::image::TensorKey;
use crate::models::config::ModelConfigError;
use crate::models::filters::RecordedFilterError;

/// Errors from building a model's layers from named parameters, or from running the model.
/// Parameter errors name the parameter's ginjax tree path.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// The configuration does not form a model.
    #[error(transparent)]
    Config(#[from] ModelConfigError),
    /// The seam (normalisation, residual learning) does not fit the model (boxed: it is
    /// larger than the other variants).
    #[error(transparent)]
    Seam(Box<crate::models::seam::SeamError>),
    /// A parameter the model needs is not given.
    #[error("missing parameter `{path}` (shape {expected:?})")]
    Missing {
        /// The parameter's path.
        path: String,
        /// The shape the model needs.
        expected: Vec<usize>,
    },
    /// A parameter has another shape than the model needs.
    #[error("parameter `{path}`: shape {got:?}, expected {expected:?}")]
    Shape {
        /// The parameter's path.
        path: String,
        /// The shape given.
        got: Vec<usize>,
        /// The shape the model needs.
        expected: Vec<usize>,
    },
    /// A parameter's data length is not the product of its shape.
    #[error("parameter `{path}`: shape {shape:?} needs {expected} values, the data has {got}")]
    Length {
        /// The parameter's path.
        path: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The product of the shape (`usize::MAX` where it overflows).
        expected: usize,
        /// The data length.
        got: usize,
    },
    /// Two parameters have the same path.
    #[error("parameter `{path}` is given twice")]
    Duplicate {
        /// The repeated path.
        path: String,
    },
    /// Parameters that are not leaves of the model.
    #[error("{} parameter(s) the model does not have: {}", .paths.len(), .paths.join(", "))]
    Unknown {
        /// Their paths, in the order given.
        paths: Vec<String>,
    },
    /// A model file records invariant filters for a convolution that are not a basis of the
    /// invariant filters its configuration names (see [`crate::models::filters`]).
    #[error(
        "`{path}`: the recorded invariant filters (k = {}, parity = {}) are refused: {source}",
        .key.k(),
        .key.parity()
    )]
    Filters {
        /// The filters' leaf path, `….invariant_filters[<flat index 0>][KEY]`.
        path: String,
        /// The key `((False,)*k, parity)` of the refused block.
        key: TensorKey,
        /// Why they are refused.
        source: RecordedFilterError,
    },
    /// Building the layer at `path` from its parameters failed.
    #[error("layer `{path}`: {source}")]
    Layer {
        /// The layer's path.
        path: String,
        /// The layer's error.
        source: Box<Error>,
    },
    /// A baseline convolution with `CIRCULAR` padding and an even kernel side (equinox pads
    /// such kernels unevenly, which the torus padding cannot express).
    #[error("`{path}`: CIRCULAR padding needs an odd kernel_size, got {kernel_size}")]
    EvenCircularKernel {
        /// The layer's path.
        path: String,
        /// The kernel side.
        kernel_size: usize,
    },
    /// A `CIRCULAR` baseline convolution applied to an image with non-torus axes (equinox
    /// wraps every axis; here the wrap comes from the image's torus flags).
    #[error("CIRCULAR padding wraps every axis, but the input's torus flags are {torus:?}")]
    CircularNeedsTorus {
        /// The input's torus flags.
        torus: Vec<bool>,
    },
    /// The input's signature is not the model's.
    #[error("the model takes {expected}, the input has {got}")]
    Input {
        /// The model's input signature.
        expected: String,
        /// The input's signature.
        got: String,
    },
    /// A skip connection's saved image does not fit the current one (a plan the model's
    /// layers do not follow).
    #[error("skip connection: {0}")]
    Skip(String),
}

impl ModelError {
    /// Wraps a layer's error with the layer's path.
    pub(crate) fn layer(path: &str, source: impl Into<Error>) -> Self {
        Self::Layer {
            path: path.to_string(),
            source: Box::new(source.into()),
        }
    }
}

impl From<crate::models::seam::SeamError> for ModelError {
    fn from(error: crate::models::seam::SeamError) -> Self {
        Self::Seam(Box::new(error))
    }
}
