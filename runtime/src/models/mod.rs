//! ginjax's models — `UNet`, `ResNet`, `DilResNet` (`ginjax/models.py`) — as data:
//! [`ModelConfig`] (the constructors' options) and [`ModelPlan`] (the model as a program of
//! layers and skip connections, with ginjax's parameter paths), which the runtime's
//! inference model and ginrs-train's trainable model both execute.

pub mod config;
pub mod plan;

pub use config::{BaselinePadding, FilterSpec, ModelConfig, ModelConfigError, ModelKind};
pub use plan::{BaselineConv, LayerSpec, ModelPlan, Node, DILATIONS};
