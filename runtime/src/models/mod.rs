//! ginjax's models — `UNet`, `ResNet`, `DilResNet` (`ginjax/models.py`): [`ModelConfig`] (the
//! constructors' options), [`ModelPlan`] (the model as a program of layers and skip
//! connections, with ginjax's parameter paths), which the runtime's inference model and
//! ginrs-train's trainable model both execute, [`build`] (the runtime layer of each
//! layer spec, from or to the named leaves of a model file), [`seam`] (field normalisation and
//! residual learning around the network) and [`Model`] (the inference model).

pub mod build;
pub mod config;
pub mod error;
pub mod model;
pub mod plan;
pub mod seam;

pub use build::{key_path, layer_leaves, BaselineConvLayer, BuiltLayer, LayerBuilder, ParamSet};
pub use config::{BaselinePadding, FilterSpec, ModelConfig, ModelConfigError, ModelKind};
pub use error::ModelError;
pub use model::Model;
pub use plan::{BaselineConv, LayerSpec, ModelPlan, Node, DILATIONS};
pub use seam::{KeyScaling, Normalization, NormalizationFit, Seam, SeamError};
