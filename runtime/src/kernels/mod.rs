//! Compute kernels on slices and strides: filter stencils, the row walk and tap offsets of
//! generated stencils, channel mixing, the GEMM of the dynamic schedule, component
//! (de)interleaving, and CPU feature dispatch with the SIMD entry points.

pub mod cpu;
pub mod gemm;
pub mod layout;
pub mod mix;
pub mod rows;
pub mod simd;
pub mod stencil;
pub(crate) mod transpose;
