//! Operations on geometric images, as ginjax's functional API has them: the group action, metric
//! tensors, convolutions with their padding and filters (dense filter arrays and invariant
//! filter banks), pixel norms and pooling.

pub mod action;
pub mod bank;
pub mod conv;
pub mod metric;
pub mod norm;
pub mod padding;
pub mod pool;
pub mod sym_eigen;

/// ginjax's default `eps` (1e-5): added to the eigenvalues by `get_metric_inverse`, and to the
/// variances and norms by `group_norm`, `layer_norm` and `VectorNeuronNonlinear`.
pub const GINJAX_EPS: f32 = 1e-5;
