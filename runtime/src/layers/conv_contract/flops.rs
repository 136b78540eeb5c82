//! [`FlopCount`]: the work of one forward pass per output pixel.

use super::ConvContract;

/// Multiply-adds per output pixel of one forward pass (all pairs, all channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlopCount {
    /// Stencil multiply-adds: `Σ_pairs in_c · taps` (taps summed over filters and output
    /// components); `None` when a kernel does not report its taps.
    pub stencil: Option<usize>,
    /// GEMM multiply-adds: `Σ_pairs out_c · in_c · n_f · d^k_out`.
    pub gemm: usize,
    /// Dense-equivalent multiply-adds (ginjax's route):
    /// `Σ_pairs out_c · in_c · M^d · d^(k_in + k_out)`.
    pub dense: usize,
}

impl ConvContract {
    /// Multiply-adds per output pixel (see [`FlopCount`]).
    pub fn flops_per_output_pixel(&self) -> FlopCount {
        let mut count = FlopCount {
            stencil: Some(0),
            ..FlopCount::default()
        };
        let pixels: usize = self.sides.iter().product();
        for p in &self.pairs {
            let (in_key, in_c) = &self.config.input.entries()[p.input];
            let (out_key, out_c) = &self.config.target.entries()[p.target];
            let comps_out = out_key.components(self.dim);
            count.stencil = match (count.stencil, p.kernel.tap_count()) {
                (Some(s), Some(t)) => Some(s + in_c * t),
                _ => None,
            };
            count.gemm += out_c * in_c * p.n_f * comps_out;
            count.dense += out_c * in_c * pixels * in_key.components(self.dim) * comps_out;
        }
        count
    }
}
