//! [`ConvContract::flops_per_output_pixel`]: the generator's [`FlopCount`] of a built layer.

use ginrs_generator::flops::{FlopCount, PairWork};

use super::ConvContract;

impl ConvContract {
    /// Work per output pixel of one forward pass (see [`FlopCount`] for the units); the
    /// stencil count comes from the kernels' `ResponseKernel::stencil_flops`.
    pub fn flops_per_output_pixel(&self) -> FlopCount {
        let mut count = FlopCount::default();
        let filter_pixels: usize = self.sides.iter().product();
        for p in &self.pairs {
            let (in_key, in_c) = &self.config.input.entries()[p.input];
            let (out_key, out_c) = &self.config.target.entries()[p.target];
            let work = PairWork {
                dim: self.dim,
                filter_pixels,
                in_channels: *in_c,
                out_channels: *out_c,
                k_in: in_key.k(),
                k_out: out_key.k(),
                filters: p.n_f,
            };
            count.add_pair(&work, p.kernel.stencil_flops());
        }
        count
    }
}
