//! Compute kernels on slices and strides: filter stencils, the row walk and tap offsets of
//! generated stencils, channel mixing, component (de)interleaving and SIMD dispatch.

pub mod mix;
pub mod rows;
pub mod stencil;
pub(crate) mod transpose;
