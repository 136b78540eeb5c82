//! Compute kernels on slices and strides: filter stencils, the row walk and tap offsets of
//! generated stencils, channel mixing, the GEMM of the dynamic schedule, component
//! (de)interleaving, CPU feature dispatch with the SIMD entry points, and the multiply-add bursts
//! that measure the machine's peak.

pub mod cpu;
pub mod gemm;
pub mod layout;
pub mod mix;
pub mod peak;
pub mod rows;
pub mod simd;
pub mod stencil;
pub(crate) mod transpose;
