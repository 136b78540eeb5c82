//! The row-chunk schedule for the dynamic layer: a [`ChunkKernel`] whose stencils are the
//! [`SparseKernel`] tap tables of the layer's pairs.
//!
//! Per chunk of at most 64 output pixels and output block, every pair reaching the block runs,
//! for each input channel, each of its responses `(f, j)` as a sum over the response's taps
//! of `coefficient · input row` (the partial sums stay in registers), into a `K × d^k × width`
//! panel of responses that stays in L1; [`mix_rows`] then mixes the panel with the block's
//! weights. This is the schedule of generated layers ([`super::chunked`]) with table-driven
//! stencils in place of unrolled ones; it replaces the tile-wide responses and the general
//! GEMM of the dynamic schedule (whose responses leave L1 and whose GEMM packs them again).

use super::chunked::{Chunk, ChunkKernel};
use super::ConvContract;
use crate::kernels::layout::tap_offsets;
use crate::kernels::mix::mix_rows;
use crate::kernels::stencil::StencilGeometry;

/// One pair's stencil on one tile.
struct PairTaps {
    /// The input block the pair reads.
    input: usize,
    /// Input channels.
    in_c: usize,
    /// Values of one padded input channel (`d^k_in` planes).
    channel_len: usize,
    /// Every tap as (offset in a padded channel, coefficient), grouped by response.
    taps: Vec<(usize, f32)>,
    /// `taps[starts[g]..starts[g + 1]]` are response `g`'s (`g = f · d^k_out + j`).
    starts: Vec<usize>,
}

/// The pairs reaching one output block.
#[derive(Default)]
struct TargetTaps {
    /// Output channels.
    out_c: usize,
    /// Output tensor components `d^k_out`.
    comps: usize,
    /// The pairs in pair order (the order of the block's weight columns).
    pairs: Vec<PairTaps>,
}

/// The sparse stencils of a layer on one tile (tap offsets depend on the tile's padded
/// sides), as a [`ChunkKernel`].
pub(super) struct SparseChunks {
    /// Indexed by target; blocks no pair reaches have no pairs.
    targets: Vec<TargetTaps>,
}

impl SparseChunks {
    /// Whether every pair of `layer` has a [`SparseKernel`](crate::kernels::stencil::SparseKernel)
    /// (layers built from a bank do; caller-supplied kernels may not).
    pub(super) fn applies(layer: &ConvContract) -> bool {
        layer.pairs.iter().all(|p| p.kernel.as_sparse().is_some())
    }

    /// The stencils of `layer` (every pair sparse, see [`Self::applies`]) on a tile of
    /// `geometry`.
    pub(super) fn new(layer: &ConvContract, geometry: &StencilGeometry) -> Self {
        let pixels = tap_offsets(&geometry.padded, &geometry.rhs_dilation, &layer.sides);
        let pp = geometry.padded_pixels();
        let inputs = layer.config.input.entries();
        let outputs = layer.config.target.entries();
        let mut targets: Vec<TargetTaps> = outputs.iter().map(|_| TargetTaps::default()).collect();
        for pair in &layer.pairs {
            let kernel = pair
                .kernel
                .as_sparse()
                .expect("the layer's kernels are sparse (checked by `applies`)");
            let mut taps = Vec::new();
            let mut starts = vec![0];
            for group in kernel.groups() {
                taps.extend(
                    group
                        .iter()
                        .map(|t| (pixels[t.pixel] + t.comp_in * pp, t.coeff)),
                );
                starts.push(taps.len());
            }
            let target = &mut targets[pair.target];
            target.out_c = outputs[pair.target].1;
            target.comps = kernel.comps_out();
            target.pairs.push(PairTaps {
                input: pair.input,
                in_c: inputs[pair.input].1,
                channel_len: kernel.comps_in() * pp,
                taps,
                starts,
            });
        }
        Self { targets }
    }
}

impl TargetTaps {
    /// Calls `row(channel, taps, dst)` for every response of the block's panel, in panel
    /// order: the padded tile values of the input channel the response reads, its taps and
    /// its row of `responses` (`chunk.width` values).
    #[inline(always)]
    fn for_each_response(
        &self,
        chunk: &Chunk<'_>,
        responses: &mut [f32],
        mut row: impl FnMut(&[f32], &[(usize, f32)], &mut [f32]),
    ) {
        let mut rows = responses.chunks_exact_mut(chunk.width);
        for pair in &self.pairs {
            let x = chunk.inputs[pair.input];
            for c in 0..pair.in_c {
                // The channel and the values after it (see `Chunk::inputs`).
                let channel = &x[c * pair.channel_len..];
                for g in pair.starts.windows(2) {
                    let dst = rows.next().expect("the panel holds K · d^k rows");
                    row(channel, &pair.taps[g[0]..g[1]], dst);
                }
            }
        }
    }
}

impl ChunkKernel for SparseChunks {
    #[inline(always)]
    fn output_chunk(
        &self,
        target: usize,
        chunk: &Chunk<'_>,
        weights: &[f32],
        responses: &mut [f32],
        out: &mut [f32],
    ) {
        let block = &self.targets[target];
        let base = chunk.base;
        // Every response row is computed over the whole chunk width: positions past `chunk.n`
        // read the values after the channel (see `Chunk::inputs`) and are dropped, as the
        // positions in the rows' padding are. Rows of constant width unroll into whole vectors.
        match chunk.width {
            64 => block.for_each_response(chunk, responses, |x, taps, dst| {
                full_row::<64>(x, base, taps, dst)
            }),
            48 => block.for_each_response(chunk, responses, |x, taps, dst| {
                full_row::<48>(x, base, taps, dst)
            }),
            32 => block.for_each_response(chunk, responses, |x, taps, dst| {
                full_row::<32>(x, base, taps, dst)
            }),
            16 => block.for_each_response(chunk, responses, |x, taps, dst| {
                full_row::<16>(x, base, taps, dst)
            }),
            width => unreachable!("chunk widths are multiples of 16 up to 64, not {width}"),
        }
        let depth = weights.len() / block.out_c.max(1);
        mix_rows(
            block.out_c,
            weights,
            responses,
            depth,
            block.comps * chunk.width,
            out,
        );
    }
}

/// `dst[i] = Σ_taps coeff · channel[base + offset + i]` for the `W` positions of a full chunk.
/// The tap counts of the banks' small responses (orbit sizes 1 to 8) are constants here
/// ([`fixed_row`]), so that their loops unroll and the loop exit, whose count changes from
/// response to response, is not a mispredicted branch (3–5% on the d = 2 ResNet and DilResNet;
/// larger counts unrolled made the d = 3 UNet 8% slower).
#[inline(always)]
fn full_row<const W: usize>(channel: &[f32], base: usize, taps: &[(usize, f32)], dst: &mut [f32]) {
    match taps.len() {
        1 => fixed_row::<W, 1>(channel, base, taps, dst),
        2 => fixed_row::<W, 2>(channel, base, taps, dst),
        4 => fixed_row::<W, 4>(channel, base, taps, dst),
        6 => fixed_row::<W, 6>(channel, base, taps, dst),
        8 => fixed_row::<W, 8>(channel, base, taps, dst),
        _ => looped_row::<W>(channel, base, taps, dst),
    }
}

/// [`full_row`] for any number of taps: a loop over the tap table, summed in registers in tap
/// order (the first tap a product, the others fused multiply-adds, as
/// [`SparseKernel`](crate::kernels::stencil::SparseKernel)'s own stencil).
#[inline(always)]
fn looped_row<const W: usize>(
    channel: &[f32],
    base: usize,
    taps: &[(usize, f32)],
    dst: &mut [f32],
) {
    let mut acc = [0f32; W];
    if let Some((&(off, c), rest)) = taps.split_first() {
        let src: &[f32; W] = channel[base + off..base + off + W]
            .try_into()
            .expect("a chunk is W positions");
        for (a, &x) in acc.iter_mut().zip(src) {
            *a = c * x;
        }
        for &(off, c) in rest {
            let src: &[f32; W] = channel[base + off..base + off + W]
                .try_into()
                .expect("a chunk is W positions");
            for (a, &x) in acc.iter_mut().zip(src) {
                *a = c.mul_add(x, *a);
            }
        }
    }
    dst[..W].copy_from_slice(&acc);
}

/// [`looped_row`] with its tap count known to be `N`: the loop unrolls.
#[inline(always)]
fn fixed_row<const W: usize, const N: usize>(
    channel: &[f32],
    base: usize,
    taps: &[(usize, f32)],
    dst: &mut [f32],
) {
    let taps: &[(usize, f32); N] = taps.try_into().expect("N taps");
    looped_row::<W>(channel, base, taps, dst)
}
