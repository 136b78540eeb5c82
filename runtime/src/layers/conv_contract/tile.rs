//! One tile of the dynamic schedule: pad the tile's inputs, run every pair's response kernel,
//! mix the channels with one GEMM per pair, and scatter the tile into ginjax's layout.

use super::tiles::{grow, Scratch, TileOut};
use super::ConvContract;
use crate::image::BlockView;
use crate::kernels::gemm::gemm;
use crate::kernels::stencil::StencilGeometry;
use crate::kernels::transpose::interleave;
use crate::ops::padding::fill::pad_block;

impl ConvContract {
    /// Computes one tile of output rows: pads each input block's tile, runs the kernels and
    /// mixes channels with one GEMM per pair (with `weights[pair]`, `(out_c, in_c, n_f)`) into
    /// the tile's accumulators `outs`.
    pub(super) fn tile(
        &self,
        geometry: &StencilGeometry,
        tables: &[&[isize]],
        blocks: &[BlockView<'_>],
        weights: &[&[f32]],
        outs: &mut [TileOut<'_>],
        scratch: &mut Scratch,
    ) {
        let Scratch {
            inputs,
            responses,
            acc,
            ..
        } = scratch;
        let dim = self.dim;
        let tpp = geometry.padded_pixels();
        let top = geometry.out_pixels();
        // Tile accumulators per target, component-major (out_c, d^k_out, tile pixels).
        let mut starts = Vec::with_capacity(outs.len() + 1);
        starts.push(0);
        for out in outs.iter() {
            let (key, out_c) = &self.config.target.entries()[out.target];
            starts.push(starts.last().expect("non-empty") + out_c * key.components(dim) * top);
        }
        grow(acc, *starts.last().expect("non-empty"));
        let mut written = vec![false; outs.len()];
        for (bi, block) in blocks.iter().enumerate() {
            if !self.reads_input(bi) {
                continue;
            }
            let comps_in = block.components();
            let in_c = block.channels();
            let chan_len = comps_in * tpp;
            grow(inputs, in_c * chan_len);
            pad_block(*block, tables, &mut inputs[..in_c * chan_len]);
            for (pair, w) in self
                .pairs
                .iter()
                .zip(weights)
                .filter(|(p, _)| p.input == bi)
            {
                let slot = outs
                    .iter()
                    .position(|out| out.target == pair.target)
                    .expect("every reached target has an accumulator");
                let (out_key, out_c) = &self.config.target.entries()[pair.target];
                let comps_out = out_key.components(dim);
                let per_channel = pair.n_f * comps_out * top;
                grow(responses, in_c * per_channel);
                for c in 0..in_c {
                    pair.kernel.responses(
                        geometry,
                        &inputs[c * chan_len..(c + 1) * chan_len],
                        &mut responses[c * per_channel..(c + 1) * per_channel],
                    );
                }
                let (m, k, n) = (*out_c, in_c * pair.n_f, comps_out * top);
                let c = &mut acc[starts[slot]..starts[slot + 1]];
                let beta = if written[slot] { 1.0 } else { 0.0 };
                written[slot] = true;
                gemm(m, k, n, w, responses, beta, c);
            }
        }
        // Scatter the tile into the output blocks: (c, j, q) -> (c, q, j).
        for (slot, out) in outs.iter_mut().enumerate() {
            let comps = self.config.target.entries()[out.target].0.components(dim);
            let tile_acc = &acc[starts[slot]..starts[slot + 1]];
            for (c, dst) in out.channels.iter_mut().enumerate() {
                let src = &tile_acc[c * comps * top..(c + 1) * comps * top];
                if comps == 1 {
                    dst.copy_from_slice(src);
                } else {
                    interleave(src, top, dst, comps);
                }
            }
        }
    }
}
