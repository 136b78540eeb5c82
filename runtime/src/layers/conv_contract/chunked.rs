//! The row-chunk schedule of generated layers.
//!
//! The dynamic path ([`ConvContract`]'s own forward pass) computes a whole tile's responses,
//! mixes them with one GEMM per pair into a tile accumulator and then scatters the accumulator
//! into ginjax's layout. A generated layer knows every shape at compile time, so it runs a
//! tighter schedule on the same tiles:
//!
//! 1. every input block's part of the padded tile is laid out once (component-major);
//! 2. each output row of the tile is cut into chunks of at most [`GENERATED_CHUNK`] pixels; per
//!    chunk and output block, the layer's [`ChunkKernel`] runs the unrolled stencils of every
//!    pair reaching the block (a `K × d^k × chunk` panel of responses that stays in L1) and
//!    mixes them with the block's weights in one fixed-shape product (`out_c × K`, the pairs'
//!    weights side by side);
//! 3. the chunk's result is written straight into the output block in ginjax's layout.
//!
//! The whole tile runs in one function compiled for AVX-512, with the generated kernels inlined
//! into it. On CPUs without AVX-512 and for strided rows, tiles take the dynamic schedule
//! with the layer's generated stencils instead.
//!
//! The dynamic layer runs the same schedule with its sparse tap tables as the chunk kernel
//! ([`SparseChunks`]) where it applies ([`sparse_chunks_apply`]).

use std::sync::{Mutex, PoisonError};

use super::sparse_chunks::SparseChunks;
use super::tiles::{grow, Scratch, TileOut};
use super::ConvContract;
use crate::error::Error;
use crate::image::{BlockView, ImageView, MultiImage};
use crate::kernels::cpu::{level, SimdLevel};
use crate::kernels::gemm::{add_lane_products, sum_lanes, LANES};
use crate::kernels::layout::tap_offsets;
use crate::kernels::mix::pack_weights;
use crate::kernels::rows::for_each_row;
use crate::kernels::stencil::StencilGeometry;
use crate::kernels::transpose::{deinterleave, interleave};
use crate::ops::padding::fill::pad_block;

/// Largest number of output pixels of a generated layer's chunk (the mixing panels are 32
/// columns wide).
const GENERATED_CHUNK: usize = 32;

/// Largest number of output pixels of a chunk of the sparse tap tables: each tap's sum over
/// the chunk is four AVX-512 vectors, so a tap's table entry and loop step are shared by
/// twice the work of a 32-pixel chunk (5% faster on 64² images of 8 scalar and 8 vector
/// channels; generated layers, whose taps are unrolled, are 8% slower with it).
const SPARSE_CHUNK: usize = 64;

/// Output pixels per tile (whole rows along axis 0): each tile pads its inputs once, so larger
/// tiles re-read fewer halo rows; the chunks' working set does not grow with the tile.
const CHUNK_TILE_PIXELS: usize = 2048;

/// One chunk of an output row, as a [`ChunkKernel`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The padded tile input per input block of the layer's signature: channel `c`, component
    /// `a` at `(c · d^k + a) · padded_pixels` (empty for a block no pair reads), followed by
    /// at least `width` more readable values (unspecified), so that a stencil may read whole
    /// `width`-position rows even where the chunk has fewer positions.
    pub inputs: &'a [&'a [f32]],
    /// Pixels of one padded input plane.
    pub padded_pixels: usize,
    /// Offset of every filter tap (row-major over the filter pixels) in a padded plane.
    pub taps: &'a [usize],
    /// Offset in a padded plane of the first input pixel the chunk's first output reads.
    pub base: usize,
    /// Positions in the chunk (at most `width`): consecutive positions read consecutive
    /// inputs (the chunk schedule runs only with last-axis stride 1). A chunk may span the
    /// end of one output row and the start of the next; positions in between, in the rows'
    /// padding, are computed and dropped.
    pub n: usize,
    /// Plane width: response and output planes are `width` values apart; a multiple of 16,
    /// at least `n`, at most 64.
    pub width: usize,
}

/// The per-chunk work of a generated layer: its unrolled stencils and fixed-shape mixes.
pub trait ChunkKernel: Sync {
    /// Computes output block `target`'s values on `chunk`: `out[(o · d^k + j) · width + i]`
    /// for output channel `o`, tensor component `j` and chunk pixel `i` (columns from
    /// `chunk.n` to `width` are unspecified), overwriting `out`.
    ///
    /// `weights` is the block's mixing matrix `out_c × K` (the weights `(out_c, in_c · n_f)` of
    /// every pair reaching the block, side by side in pair order) in the order the chunk mix
    /// reads it: panels of 8 rows, then 4, then 1, one after another, each column by column
    /// (`kernels::mix::pack_weights`).
    /// `responses` is scratch for `K · d^k · width` values. The call is compiled inside the
    /// runtime's AVX-512 function (fused multiply-adds are hardware instructions there) and
    /// only for contiguous rows (`chunk.step == 1`).
    fn output_chunk(
        &self,
        target: usize,
        chunk: &Chunk<'_>,
        weights: &[f32],
        responses: &mut [f32],
        out: &mut [f32],
    );
}

/// Applies `layer` (whose pairs are `kernel`'s, built with the same signatures) to `input`
/// with the row-chunk schedule, bias included. Results equal [`crate::Layer::forward`] on
/// `layer` up to rounding.
pub fn forward_chunked<K: ChunkKernel>(
    layer: &ConvContract,
    kernel: &K,
    input: &MultiImage,
) -> Result<MultiImage, Error> {
    chunked(layer, kernel, &input.as_view(), None)
}

/// [`forward_chunked`] into `output`, reusing the storage of its blocks (see
/// [`crate::Layer::forward_into`]).
pub fn forward_chunked_into<K: ChunkKernel>(
    layer: &ConvContract,
    kernel: &K,
    input: &MultiImage,
    output: &mut MultiImage,
) -> Result<(), Error> {
    *output = chunked(layer, kernel, &input.as_view(), Some(output))?;
    Ok(())
}

fn chunked<K: ChunkKernel>(
    layer: &ConvContract,
    kernel: &K,
    input: &ImageView<'_>,
    reuse: Option<&mut MultiImage>,
) -> Result<MultiImage, Error> {
    let pair_weights = layer.own_weights();
    layer.output_image(input, true, reuse, |outs| {
        chunk_schedule::<K, _>(
            layer,
            &pair_weights,
            (input, outs),
            None,
            GENERATED_CHUNK,
            |_| kernel,
        )
    })
}

/// Whether the dynamic layer runs the row-chunk schedule with its own sparse stencils
/// ([`SparseChunks`]) on inputs of dimension `dim`: every kernel is a sparse one, the CPU has
/// AVX-512 and output rows are contiguous (last-axis stride 1); otherwise it takes the
/// tile-and-GEMM schedule.
pub(super) fn sparse_chunks_apply(layer: &ConvContract, dim: usize) -> bool {
    level() >= SimdLevel::Avx512
        && layer
            .config
            .options
            .stride
            .resolve("stride", dim)
            .is_ok_and(|s| s.last() == Some(&1))
        && SparseChunks::applies(layer)
}

/// The dynamic layer's convolution in the row-chunk schedule with its sparse stencils, with
/// `weights` (one `(out_c, in_c, n_f)` array per pair), into `outs` (one slice per output
/// block, in the layer's output order; see [`sparse_chunks_apply`] for when it runs).
pub(super) fn forward_sparse_chunks(
    layer: &ConvContract,
    weights: &[&[f32]],
    input: &ImageView<'_>,
    outs: &mut [&mut [f32]],
) -> Result<(), Error> {
    chunk_schedule::<SparseChunks, _>(
        layer,
        weights,
        (input, outs),
        None,
        SPARSE_CHUNK,
        |geometry| SparseChunks::new(layer, geometry),
    )
}

/// [`forward_sparse_chunks`] (into `outs`, without bias) that also returns, per target `t` of
/// `layer`, the products of its response panels with `image` (the values of every block of the layer's
/// target signature on its output geometry, ginjax's layout), summed over the output:
/// `K_t × c_t` values, row-major, with row `(pair, input channel, filter)` (pairs reaching
/// `t` in pair order) and column `image` channel `c`:
/// `Σ_{j,q} R[pair, i, f, j, q] · image[c, q, j]`. Only where [`sparse_chunks_apply`] holds.
pub(super) fn sparse_chunks_with_products(
    layer: &ConvContract,
    weights: &[&[f32]],
    input: &ImageView<'_>,
    image: &[&[f32]],
    outs: &mut [&mut [f32]],
) -> Result<Vec<Vec<f32>>, Error> {
    let inputs = layer.config.input.entries();
    let sums: Vec<Vec<f32>> = layer
        .config
        .target
        .entries()
        .iter()
        .enumerate()
        .map(|(t, (_, channels))| {
            let rows: usize = layer
                .pairs
                .iter()
                .filter(|p| p.target == t)
                .map(|p| inputs[p.input].1 * p.n_f)
                .sum();
            vec![0.0; rows * channels]
        })
        .collect();
    let products = PanelProducts {
        blocks: layer
            .config
            .target
            .entries()
            .iter()
            .zip(image)
            .map(|((_, channels), values)| (*values, *channels))
            .collect(),
        sums: Mutex::new(sums),
    };
    chunk_schedule::<SparseChunks, _>(
        layer,
        weights,
        (input, outs),
        Some(&products),
        SPARSE_CHUNK,
        |geometry| SparseChunks::new(layer, geometry),
    )?;
    Ok(products
        .sums
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner))
}

/// The panel products of [`sparse_chunks_with_products`]: the image they are taken with and
/// their sums over the tiles.
struct PanelProducts<'a> {
    /// The image's values and channels per target index.
    blocks: Vec<(&'a [f32], usize)>,
    /// Per target index, `K × channels`.
    sums: Mutex<Vec<Vec<f32>>>,
}

/// One tile's panel products ([`PanelProducts`]), per lane, and its gather buffer.
struct TileProducts<'a> {
    /// The image's values and channels per target index.
    blocks: &'a [(&'a [f32], usize)],
    /// Per target index, `K × channels × LANES` ([`add_lane_products`]).
    lanes: Vec<Vec<f32>>,
    /// The image's values at one chunk, `channels × d^k × width`.
    gathered: Vec<f32>,
}

impl<'a> TileProducts<'a> {
    /// Zeroed per-lane sums in `lanes`, and `gathered` for the gather buffer (a thread's
    /// buffers from an earlier tile, reused so that a tile touches warm memory: fresh
    /// buffers of this size cost page faults).
    fn new(
        products: &'a PanelProducts<'a>,
        (mut lanes, gathered): (Vec<Vec<f32>>, Vec<f32>),
    ) -> Self {
        let sums = products.sums.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.resize_with(sums.len(), Vec::new);
        for (lane, s) in lanes.iter_mut().zip(sums.iter()) {
            lane.clear();
            lane.resize(s.len() * LANES, 0.0);
        }
        Self {
            blocks: &products.blocks,
            lanes,
            gathered,
        }
    }

    /// Adds the products of one chunk's response `panel` (`K × d^k × width`) for output
    /// `out` with the image's values at the chunk (positions `v0..v0 + len` of `run`).
    #[inline(always)]
    fn add(&mut self, out: &TileOut<'_>, panel: &[f32], at: ChunkAt<'_>) {
        let (values, channels) = self.blocks[out.target];
        let k = at.comps * at.width;
        self.gathered.clear();
        self.gathered.resize(channels * k, 0.0);
        let channel_len = values.len() / channels.max(1);
        at.run.read(
            values.chunks_exact(channel_len.max(1)),
            out.first_pixel,
            &mut self.gathered,
            at,
        );
        let rows = panel.len() / k;
        add_lane_products(
            [rows, k, channels],
            panel,
            &self.gathered,
            &mut self.lanes[out.target],
        );
    }

    /// Adds this tile's sums into `products`; returns the lane and gather buffers for the
    /// next tile.
    fn finish(self, products: &PanelProducts<'_>) -> (Vec<Vec<f32>>, Vec<f32>) {
        let mut sums = products.sums.lock().unwrap_or_else(PoisonError::into_inner);
        for (total, lanes) in sums.iter_mut().zip(&self.lanes) {
            total
                .iter_mut()
                .zip(sum_lanes(lanes))
                .for_each(|(a, b)| *a += b);
        }
        (self.lanes, self.gathered)
    }
}

/// Where a chunk lies: positions `v0..v0 + len` of `run`, with `comps` tensor components in
/// planes `width` apart.
#[derive(Clone, Copy)]
struct ChunkAt<'a> {
    run: &'a RowRun,
    comps: usize,
    width: usize,
    v0: usize,
    len: usize,
}

/// The row-chunk schedule of `layer` with pair weights `pair_weights` on `input`, into
/// `outs` (one slice per output block, in the layer's output order), with chunks of at most
/// `max_chunk` pixels and the chunk kernel of a tile made by `kernel_of` from the tile's
/// geometry; it also adds the panel products into `products` when given
/// ([`sparse_chunks_with_products`]).
fn chunk_schedule<K: ChunkKernel, B: std::borrow::Borrow<K>>(
    layer: &ConvContract,
    pair_weights: &[&[f32]],
    (input, outs): (&ImageView<'_>, &mut [&mut [f32]]),
    products: Option<&PanelProducts<'_>>,
    max_chunk: usize,
    kernel_of: impl Fn(&StencilGeometry) -> B + Sync,
) -> Result<(), Error> {
    let weights = block_weights(layer, pair_weights);
    layer.forward_tiled(
        input,
        outs,
        CHUNK_TILE_PIXELS,
        |geometry, tables, blocks, outs, scratch| {
            let tile = Tile {
                layer,
                weights: &weights,
                pair_weights,
                geometry,
                tables,
                blocks,
                max_chunk,
            };
            let mut local = products.map(|p| {
                let buffers = std::mem::take(&mut scratch.products);
                TileProducts::new(p, buffers)
            });
            run_best_simd(
                &tile,
                kernel_of(geometry).borrow(),
                outs,
                scratch,
                local.as_mut(),
            );
            if let (Some(local), Some(products)) = (local, products) {
                scratch.products = local.finish(products);
            }
        },
    )
}

/// Every output block's mixing matrix `out_c × K` (pairs side by side, from `pair_weights`,
/// one `(out_c, in_c, n_f)` array per pair) in [`pack_weights`]' order, indexed by target.
fn block_weights(layer: &ConvContract, pair_weights: &[&[f32]]) -> Vec<Vec<f32>> {
    let targets = layer.config.target.entries();
    let inputs = layer.config.input.entries();
    (0..targets.len())
        .map(|t| {
            let out_c = targets[t].1;
            let pairs: Vec<_> = layer
                .pairs
                .iter()
                .zip(pair_weights)
                .filter(|(p, _)| p.target == t)
                .collect();
            let k: usize = pairs.iter().map(|(p, _)| inputs[p.input].1 * p.n_f).sum();
            let mut w = Vec::with_capacity(out_c * k);
            for o in 0..out_c {
                for (p, weights) in &pairs {
                    let cols = inputs[p.input].1 * p.n_f;
                    w.extend_from_slice(&weights[o * cols..(o + 1) * cols]);
                }
            }
            pack_weights(out_c, k, &w)
        })
        .collect()
}

/// One tile's fixed inputs.
struct Tile<'a> {
    layer: &'a ConvContract,
    weights: &'a [Vec<f32>],
    /// Every pair's own weights, for the dynamic schedule.
    pair_weights: &'a [&'a [f32]],
    geometry: &'a StencilGeometry,
    tables: &'a [&'a [isize]],
    blocks: &'a [BlockView<'a>],
    /// Largest chunk, in output pixels (a multiple of 16).
    max_chunk: usize,
}

impl Tile<'_> {
    /// Pads the inputs, then runs every chunk of every output row of the tile.
    #[inline(always)]
    fn run<K: ChunkKernel>(
        &self,
        kernel: &K,
        outs: &mut [TileOut<'_>],
        scratch: &mut Scratch,
        mut products: Option<&mut TileProducts<'_>>,
    ) {
        let Scratch {
            inputs,
            responses,
            acc,
            ..
        } = scratch;
        let layer = self.layer;
        let geometry = self.geometry;
        let dim = layer.dim;
        let tpp = geometry.padded_pixels();
        let mut starts = vec![0usize];
        for (bi, block) in self.blocks.iter().enumerate() {
            let len = if layer.reads_input(bi) {
                block.channels() * block.components() * tpp
            } else {
                0
            };
            starts.push(starts[bi] + len);
        }
        let runs = row_runs(geometry, self.max_chunk);
        let longest = runs.iter().map(RowRun::span).max().unwrap_or(0);
        let width = longest.clamp(1, self.max_chunk).next_multiple_of(16);
        // Every block's values are followed by `width` readable ones (see `Chunk::inputs`):
        // the next block's, or these past the last.
        grow(inputs, starts[self.blocks.len()] + width);
        for (bi, block) in self.blocks.iter().enumerate() {
            if starts[bi + 1] > starts[bi] {
                pad_block(*block, self.tables, &mut inputs[starts[bi]..starts[bi + 1]]);
            }
        }
        let views: Vec<&[f32]> = starts
            .windows(2)
            .map(|s| {
                if s[1] > s[0] {
                    &inputs[s[0]..s[1] + width]
                } else {
                    &[]
                }
            })
            .collect();
        let taps = tap_offsets(&geometry.padded, &geometry.rhs_dilation, &layer.sides);
        let targets = layer.config.target.entries();
        let shapes: Vec<(usize, usize, usize)> = outs
            .iter()
            .map(|out| {
                let comps = targets[out.target].0.components(dim);
                let k = self.weights[out.target].len() / targets[out.target].1.max(1);
                (
                    comps,
                    k * comps * width,
                    targets[out.target].1 * comps * width,
                )
            })
            .collect();
        grow(responses, shapes.iter().map(|s| s.1).max().unwrap_or(0));
        grow(acc, shapes.iter().map(|s| s.2).max().unwrap_or(0));
        for run in &runs {
            let mut v0 = 0;
            while v0 < run.span() {
                let len = (run.span() - v0).min(width);
                let chunk = Chunk {
                    inputs: &views,
                    padded_pixels: tpp,
                    taps: &taps,
                    base: run.base + v0,
                    n: len,
                    width,
                };
                for (out, &(comps, r_len, a_len)) in outs.iter_mut().zip(&shapes) {
                    let values = &mut acc[..a_len];
                    kernel.output_chunk(
                        out.target,
                        &chunk,
                        &self.weights[out.target],
                        &mut responses[..r_len],
                        values,
                    );
                    let at = ChunkAt {
                        run,
                        comps,
                        width,
                        v0,
                        len,
                    };
                    if let Some(products) = products.as_deref_mut() {
                        products.add(out, &responses[..r_len], at);
                    }
                    run.write(out, values, at);
                }
                v0 += len;
            }
        }
    }
}

/// Consecutive output rows whose inputs follow each other in the padded layout: `rows` rows
/// of `n` outputs from output pixel `q`, the first reading from padded offset `base`, each
/// next row `pitch` (the padded row length) further on. The chunk schedule walks a run as
/// one range of [`RowRun::span`] positions, computing the positions in the rows' padding too
/// and dropping them, so short rows (d = 3 tiles of 16-pixel rows) still fill whole chunks.
struct RowRun {
    base: usize,
    q: usize,
    n: usize,
    pitch: usize,
    rows: usize,
}

impl RowRun {
    /// Positions from the first row's first output to the last row's last:
    /// `(rows − 1) · pitch + n`.
    fn span(&self) -> usize {
        (self.rows - 1) * self.pitch + self.n
    }

    /// Writes the chunk `at` (positions `v0..v0 + len` of this run) from its `values`
    /// (component planes `width` apart per channel) into `out`, dropping the positions in the
    /// rows' padding.
    #[inline(always)]
    fn write(&self, out: &mut TileOut<'_>, values: &[f32], at: ChunkAt<'_>) {
        let ChunkAt { comps, width, .. } = at;
        self.for_each_segment(
            at,
            #[inline(always)]
            |col, q, count| {
                let (from, to) = (q * comps, (q + count) * comps);
                for (dst, src) in out
                    .channels
                    .iter_mut()
                    .zip(values.chunks_exact(comps * width))
                {
                    if comps == 1 {
                        dst[from..to].copy_from_slice(&src[col..col + count]);
                    } else {
                        interleave(&src[col..], width, &mut dst[from..to], comps);
                    }
                }
            },
        );
    }

    /// Reads the chunk `at` of every channel of a block (`channels`, in ginjax's layout,
    /// whose pixel `first_pixel` is the tile's first) into `values` (component planes `width`
    /// apart per channel), leaving the positions in the rows' padding as they are: the inverse
    /// of [`RowRun::write`].
    #[inline(always)]
    fn read<'c>(
        &self,
        channels: impl Iterator<Item = &'c [f32]> + Clone,
        first_pixel: usize,
        values: &mut [f32],
        at: ChunkAt<'_>,
    ) {
        let ChunkAt { comps, width, .. } = at;
        self.for_each_segment(
            at,
            #[inline(always)]
            |col, q, count| {
                let q = first_pixel + q;
                let (from, to) = (q * comps, (q + count) * comps);
                for (channel, dst) in channels.clone().zip(values.chunks_exact_mut(comps * width)) {
                    let src = &channel[from..to];
                    if comps == 1 {
                        dst[col..col + count].copy_from_slice(src);
                    } else {
                        deinterleave(src, comps, &mut dst[col..], width);
                    }
                }
            },
        );
    }

    /// Calls `f(column, pixel, count)` for every row segment of the chunk `at`: `count`
    /// positions from chunk column `column`, whose first is output pixel `pixel` of the tile.
    #[inline(always)]
    fn for_each_segment(&self, at: ChunkAt<'_>, mut f: impl FnMut(usize, usize, usize)) {
        let ChunkAt { v0, len, .. } = at;
        for y in v0 / self.pitch..=(v0 + len - 1) / self.pitch {
            let row0 = y * self.pitch;
            let x_lo = v0.saturating_sub(row0);
            let x_hi = (v0 + len - row0).min(self.n);
            if x_lo >= x_hi {
                continue;
            }
            f(row0 + x_lo - v0, self.q + y * self.n + x_lo, x_hi - x_lo);
        }
    }
}

/// The tile's output rows merged into [`RowRun`]s: rows shorter than a chunk merge when the
/// second-to-last axis has stride 1 (with last-axis stride 1, consecutive rows of a plane
/// then read consecutive padded rows).
fn row_runs(geometry: &StencilGeometry, max_chunk: usize) -> Vec<RowRun> {
    let dim = geometry.padded.len();
    let pitch = geometry.padded[dim - 1];
    // Rows of at least a chunk fill whole chunks on their own.
    let merge = dim >= 2 && geometry.stride[dim - 2] == 1 && geometry.out[dim - 1] < max_chunk;
    let mut runs: Vec<RowRun> = Vec::new();
    for_each_row(
        &geometry.padded,
        &geometry.out,
        &geometry.stride,
        |base, q, n, _| {
            if let Some(run) = runs.last_mut() {
                if merge && base == run.base + run.rows * pitch && q == run.q + run.rows * n {
                    run.rows += 1;
                    return;
                }
            }
            runs.push(RowRun {
                base,
                q,
                n,
                pitch,
                rows: 1,
            });
        },
    );
    runs
}

/// Runs `tile` with the row-chunk schedule in one function compiled for AVX-512 (the
/// generated kernels inlined into it) when the CPU has AVX-512F, AVX2 and FMA and output rows
/// are contiguous (last-axis stride 1). Otherwise the tile takes the dynamic schedule
/// ([`ConvContract`]'s own, with the layer's generated stencils): one more compiled copy of
/// every kernel would double the layer's compile time for CPUs and strides that gain little.
fn run_best_simd<K: ChunkKernel>(
    tile: &Tile<'_>,
    kernel: &K,
    outs: &mut [TileOut<'_>],
    scratch: &mut Scratch,
    products: Option<&mut TileProducts<'_>>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        // The tile loop is called straight from the target-feature function, not through a
        // closure handed to `kernels::simd`: behind a closure the AVX-512 intrinsics of the
        // inlined channel mix stayed out-of-line calls (measured 17–60× slower).
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<K: ChunkKernel>(
            tile: &Tile<'_>,
            kernel: &K,
            outs: &mut [TileOut<'_>],
            scratch: &mut Scratch,
            products: Option<&mut TileProducts<'_>>,
        ) {
            tile.run::<K>(kernel, outs, scratch, products)
        }
        let unit_step = tile.geometry.stride.last() == Some(&1);
        if unit_step && level() >= SimdLevel::Avx512 {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (`level()` never exceeds what it
            // detects), the only requirement of calling a function with these target features.
            return unsafe { avx512(tile, kernel, outs, scratch, products) };
        }
    }
    assert!(
        products.is_none(),
        "panel products run only where `sparse_chunks_apply` holds (AVX-512, unit last stride)"
    );
    let _ = kernel;
    tile.layer.tile(
        tile.geometry,
        tile.tables,
        tile.blocks,
        tile.pair_weights,
        outs,
        scratch,
    )
}
