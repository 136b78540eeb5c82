//! Equivariant layers: the [`Layer`] trait, typed layers, and ginjax's layers (`ConvContract`,
//! group/layer normalisation, the vector-neuron nonlinearity, max-norm pooling, wrappers).

pub mod conv_contract;
pub mod group_norm;
pub mod layer;
pub mod max_norm_pool;
pub mod nonlinear;
pub mod typed;
pub mod wrapper;

pub use layer::Layer;
