//! ginjax's models — `UNet`, `ResNet`, `DilResNet` (`ginjax/models.py`) — as burn modules:
//! [`Model`] executes the runtime's [`ginrs_runtime::ModelPlan`] with one [`ModelLayer`] per
//! layer, reads and writes the runtime's [`ginrs_runtime::ModelFile`], and names its
//! parameters by ginjax's tree paths; [`seam`] applies the runtime's field normalisation and
//! residual learning around the network.

pub mod layer;
pub mod model;
pub mod seam;

pub use layer::ModelLayer;
pub use model::Model;
