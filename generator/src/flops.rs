//! [`FlopCount`]: the work of one equivariant convolution per output pixel, counted the same
//! way for generated layers (`codegen`) and the runtime's `ConvContract`.
//!
//! Units are in the field names: the stencil counts flops (every add, subtract and multiply,
//! so one multiply-add is 2), GEMM and dense count multiply-adds (2 flops each).

/// One realisable block pair: channel counts, tensor orders, filter count and filter shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairWork {
    /// Spatial dimension d.
    pub dim: usize,
    /// Filter pixels M^d.
    pub filter_pixels: usize,
    /// Input channels in_c.
    pub in_channels: usize,
    /// Output channels out_c.
    pub out_channels: usize,
    /// Input tensor order k_in.
    pub k_in: usize,
    /// Output tensor order k_out.
    pub k_out: usize,
    /// Invariant filters n_f of order k_in + k_out.
    pub filters: usize,
}

impl PairWork {
    /// GEMM multiply-adds per output pixel: `out_c · in_c · n_f · d^k_out`.
    pub fn gemm_muladds(&self) -> usize {
        self.out_channels * self.in_channels * self.filters * self.dim.pow(self.k_out as u32)
    }

    /// Dense-equivalent multiply-adds per output pixel (ginjax's convolve-then-contract):
    /// `out_c · in_c · M^d · d^(k_in + k_out)`.
    pub fn dense_muladds(&self) -> usize {
        self.out_channels
            * self.in_channels
            * self.filter_pixels
            * self.dim.pow((self.k_in + self.k_out) as u32)
    }
}

/// Work per output pixel of one forward pass, summed over its pairs and channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlopCount {
    /// Stencil flops: `Σ_pairs in_c · (flops of the pair's kernel per input channel)`; `None`
    /// when a kernel does not report its flops.
    pub stencil_flops: Option<usize>,
    /// GEMM multiply-adds: `Σ_pairs out_c · in_c · n_f · d^k_out`.
    pub gemm_muladds: usize,
    /// Dense-equivalent multiply-adds (ginjax's route):
    /// `Σ_pairs out_c · in_c · M^d · d^(k_in + k_out)`.
    pub dense_muladds: usize,
}

impl Default for FlopCount {
    /// The count of a layer without pairs (every stencil count known: 0).
    fn default() -> Self {
        Self {
            stencil_flops: Some(0),
            gemm_muladds: 0,
            dense_muladds: 0,
        }
    }
}

impl FlopCount {
    /// Adds one pair whose kernel does `kernel_flops` flops per output pixel and input channel
    /// (`None`: unknown, which makes the stencil count unknown).
    pub fn add_pair(&mut self, pair: &PairWork, kernel_flops: Option<usize>) {
        self.stencil_flops = self
            .stencil_flops
            .zip(kernel_flops)
            .map(|(sum, f)| sum + pair.in_channels * f);
        self.gemm_muladds += pair.gemm_muladds();
        self.dense_muladds += pair.dense_muladds();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_pairs_and_forgets_unknown_stencils() {
        let vector_to_vector = PairWork {
            dim: 2,
            filter_pixels: 9,
            in_channels: 3,
            out_channels: 4,
            k_in: 1,
            k_out: 1,
            filters: 5,
        };
        let mut count = FlopCount::default();
        count.add_pair(&vector_to_vector, Some(10));
        assert_eq!(
            count,
            FlopCount {
                stencil_flops: Some(30),
                gemm_muladds: 4 * 3 * 5 * 2,
                dense_muladds: 4 * 3 * 9 * 4,
            }
        );
        count.add_pair(&vector_to_vector, None);
        assert_eq!(count.stencil_flops, None);
        assert_eq!(count.gemm_muladds, 2 * 120);
    }
}
