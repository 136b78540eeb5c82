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
pub(crate) mod sym_eigen;
