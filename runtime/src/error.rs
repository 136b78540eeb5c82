//! Typed errors of the runtime.

use thiserror::Error;

pub use crate::image::ImageError;

/// Any error of the runtime: one variant per module that can fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// Building or combining images failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Pooling failed.
    #[error(transparent)]
    Pool(#[from] crate::ops::pool::PoolError),
    /// Building or applying a group norm failed.
    #[error(transparent)]
    Norm(#[from] crate::layers::group_norm::NormError),
    /// Building or applying the vector-neuron nonlinearity failed.
    #[error(transparent)]
    Nonlinear(#[from] crate::layers::nonlinear::NonlinearError),
    /// Applying a layer wrapper failed.
    #[error(transparent)]
    Wrapper(#[from] crate::layers::wrapper::WrapperError),
    /// Reading or checking layer parameters failed.
    #[error(transparent)]
    Params(#[from] crate::io::params::ParamsError),
    /// An equivariance check could not compare its results.
    #[error(transparent)]
    Equivariance(#[from] crate::check::equivariance::EquivarianceError),
    /// Resolving convolution options or padding an input failed.
    #[error(transparent)]
    Padding(#[from] crate::ops::padding::PaddingError),
    /// Applying a group element failed.
    #[error(transparent)]
    Action(#[from] crate::ops::action::ActionError),
    /// Building a ConvContract layer failed.
    #[error(transparent)]
    ConvContract(#[from] crate::layers::conv_contract::ConvContractError),
    /// Reading or applying layer weights failed.
    #[error(transparent)]
    Weights(#[from] crate::io::weights::WeightsError),
    /// Building a filter bank failed.
    #[error(transparent)]
    Bank(#[from] crate::ops::bank::BankError),
    /// A convolution failed.
    #[error(transparent)]
    Conv(#[from] crate::ops::conv::ConvError),
    /// Raising/lowering indices or inverting a metric failed.
    #[error(transparent)]
    Metric(#[from] crate::ops::metric::MetricError),
    /// Importing a ginjax export failed.
    #[error(transparent)]
    Import(#[from] crate::io::ginjax_import::ImportError),
    /// A model configuration is invalid.
    #[error(transparent)]
    ModelConfig(#[from] crate::models::config::ModelConfigError),
    /// Building or running a model failed.
    #[error(transparent)]
    Model(#[from] crate::models::error::ModelError),
    /// Reading or writing a model file failed.
    #[error(transparent)]
    ModelFile(#[from] crate::io::model_file::ModelFileError),
}
