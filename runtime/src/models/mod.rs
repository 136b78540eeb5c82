//! ginjax's models — `UNet`, `ResNet`, `DilResNet` (`ginjax/models.py`): [`ModelConfig`] (the
//! constructors' options), [`ModelPlan`] (the model as a program of layers and skip
//! connections, with ginjax's parameter paths), which the runtime's inference model and
//! ginrs-train's trainable model both execute, [`build`] (the runtime layer of each layer
//! spec, from or to the named leaves of a model file: [`built`] the layers, [`baseline`] the
//! non-equivariant convolutions, [`leaves`] the leaves by path, [`param_set`] the file's
//! parameters by path, [`filters`] the invariant filters a file records), [`seam`] (field
//! normalisation and residual learning around the network) and [`Model`] (the inference
//! model).

pub mod baseline;
pub mod build;
pub mod built;
pub mod config;
pub mod error;
pub mod filters;
pub mod leaves;
pub mod model;
pub mod param_set;
pub mod plan;
pub mod seam;

pub use baseline::BaselineConvLayer;
pub use build::LayerBuilder;
pub use built::{BuiltLayer, ModelConv};
pub use config::{BaselinePadding, FilterSpec, ModelConfig, ModelConfigError, ModelKind};
pub use error::ModelError;
pub use filters::RecordedFilterError;
pub use leaves::{filter_leaves, filter_path, key_path, layer_leaves};
pub use model::Model;
pub use param_set::ParamSet;
pub use plan::{BaselineConv, LayerSpec, ModelPlan, Node, DILATIONS};
pub use seam::{KeyScaling, Normalization, NormalizationFit, Seam, SeamError};
