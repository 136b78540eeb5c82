//! The tile driver of a forward pass: validates the input, cuts the output into tiles of whole
//! rows along axis 0, runs a tile schedule on each (in parallel) and adds the bias.

use rayon::prelude::*;

use super::bias::apply_bias;
use super::chunked::{forward_sparse_chunks, sparse_chunks_apply};
use super::{ConvContract, ConvContractError};
use crate::error::Error;
use crate::image::{ImageBlock, MultiImage};
use crate::kernels::stencil::StencilGeometry;
use crate::ops::padding::ConvPlan;

/// Output pixels per tile (whole rows along axis 0) of the dynamic path, so that a tile's
/// inputs and responses stay in cache between the stencil and the GEMM.
pub(super) const TILE_PIXELS: usize = 512;

/// Per-thread buffers reused across tiles and calls.
#[derive(Default)]
pub(super) struct Scratch {
    /// The padded tile inputs.
    pub(super) inputs: Vec<f32>,
    /// Stencil responses.
    pub(super) responses: Vec<f32>,
    /// Output accumulators.
    pub(super) acc: Vec<f32>,
    /// A tile's per-lane weight-gradient sums, per output block, and its gather buffer (see
    /// `chunked`).
    pub(super) products: (Vec<Vec<f32>>, Vec<f32>),
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Makes `buf` at least `len` long (contents unspecified; every user overwrites).
pub(super) fn grow(buf: &mut Vec<f32>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
}

/// The part of one output block that a tile writes: for each channel, its output rows.
pub(super) struct TileOut<'a> {
    /// The output block (index into the target signature).
    pub(super) target: usize,
    /// The tile's first output pixel in the whole output.
    pub(super) first_pixel: usize,
    /// The tile's rows of every channel of the block.
    pub(super) channels: Vec<&'a mut [f32]>,
}

/// The output cut into tiles of whole rows along axis 0.
pub(super) struct Tiling {
    /// Output rows along axis 0.
    pub(super) rows: usize,
    /// Output pixels of one row (the product of the other output sides).
    pub(super) row_pixels: usize,
    /// Rows per tile (the last tile may have fewer).
    pub(super) tile_rows: usize,
    /// Number of tiles.
    pub(super) n_tiles: usize,
}

impl Tiling {
    /// Tiles of about `tile_pixels` output pixels (at least one row) of `plan`'s output.
    pub(super) fn new(plan: &ConvPlan, tile_pixels: usize) -> Self {
        let out_sp = plan.output_spatial();
        let row_pixels: usize = out_sp[1..].iter().product();
        let rows = out_sp[0];
        let tile_rows = (tile_pixels / row_pixels).clamp(1, rows);
        Self {
            rows,
            row_pixels,
            tile_rows,
            n_tiles: rows.div_ceil(tile_rows),
        }
    }

    /// The first output row of tile `t` and its number of rows.
    pub(super) fn rows_of(&self, t: usize) -> (usize, usize) {
        let r0 = t * self.tile_rows;
        (r0, self.tile_rows.min(self.rows - r0))
    }

    /// Tile `t`'s stencil geometry and the padding source tables of its input region
    /// (`tables`: the plan's [`ConvPlan::source_tables`]).
    pub(super) fn region<'a>(
        &self,
        plan: &ConvPlan,
        tables: &'a [Vec<isize>],
        t: usize,
    ) -> (StencilGeometry, Vec<&'a [isize]>) {
        let axes = plan.axes();
        let (r0, tile_out_rows) = self.rows_of(t);
        let a0 = &axes[0];
        let mut padded = plan.padded_spatial();
        padded[0] = (tile_out_rows - 1) * a0.stride + (a0.filter_len - 1) * a0.rhs_dilation + 1;
        let mut out = plan.output_spatial();
        out[0] = tile_out_rows;
        let geometry = StencilGeometry {
            padded,
            out,
            stride: axes.iter().map(|a| a.stride).collect(),
            rhs_dilation: axes.iter().map(|a| a.rhs_dilation).collect(),
        };
        let u0 = r0 * a0.stride;
        let tile_tables = std::iter::once(&tables[0][u0..u0 + geometry.padded[0]])
            .chain(tables[1..].iter().map(|v| v.as_slice()))
            .collect();
        (geometry, tile_tables)
    }
}

/// Runs `f` with this thread's scratch buffers (or fresh ones when a nested rayon task on
/// this thread already holds them).
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        // A kernel that itself runs rayon work can re-enter on this thread while the thread's
        // buffers are in use: give the nested tile its own.
        Err(_) => f(&mut Scratch::default()),
    })
}

impl ConvContract {
    pub(super) fn forward_impl(
        &self,
        input: &MultiImage,
        bias: bool,
        reuse: Option<&mut MultiImage>,
    ) -> Result<MultiImage, Error> {
        let weights = self.own_weights();
        if let Some(output) = self.forward_single_tap(&weights, input, bias) {
            return output;
        }
        if sparse_chunks_apply(self, input) {
            return forward_sparse_chunks(self, &weights, input, bias, reuse);
        }
        self.forward_tiled(
            input,
            bias,
            reuse,
            TILE_PIXELS,
            |geometry, tables, blocks, outs, scratch| {
                self.tile(geometry, tables, blocks, &weights, outs, scratch)
            },
        )
    }

    /// The layer's convolution without bias, with `weights` (one `(out_c, in_c, n_f)` array
    /// per pair, in pair order) in place of the layer's own.
    pub(super) fn convolve_tiled(
        &self,
        input: &MultiImage,
        weights: &[&[f32]],
    ) -> Result<MultiImage, Error> {
        if let Some(output) = self.forward_single_tap(weights, input, false) {
            return output;
        }
        if sparse_chunks_apply(self, input) {
            return forward_sparse_chunks(self, weights, input, false, None);
        }
        self.forward_tiled(
            input,
            false,
            None,
            TILE_PIXELS,
            |geometry, tables, blocks, outs, scratch| {
                self.tile(geometry, tables, blocks, weights, outs, scratch)
            },
        )
    }

    /// Validates `input`, cuts the output into tiles of whole rows along axis 0 (about
    /// `tile_pixels` output pixels each) and runs `tile` on each (in parallel), then adds the
    /// bias when `bias` is set. Output blocks take over the storage of `reuse`'s blocks of the
    /// same key and length (every value is overwritten). `tile` receives the
    /// tile's stencil geometry, the padding source tables of its region, the input blocks, the
    /// tile's part of every output block and this thread's scratch buffers.
    pub(super) fn forward_tiled<F>(
        &self,
        input: &MultiImage,
        bias: bool,
        reuse: Option<&mut MultiImage>,
        tile_pixels: usize,
        tile: F,
    ) -> Result<MultiImage, Error>
    where
        F: Fn(&StencilGeometry, &[&[isize]], &[ImageBlock], &mut [TileOut<'_>], &mut Scratch)
            + Sync,
    {
        if input.dim() != self.dim {
            return Err(ConvContractError::InputDimension {
                expected: self.dim,
                got: input.dim(),
            }
            .into());
        }
        input.expect_signature(&self.config.input)?;
        let plan = self.config.options.resolve(input.geometry(), &self.sides)?;
        let dim = self.dim;
        let tiling = Tiling::new(&plan, tile_pixels);
        let Tiling {
            rows,
            row_pixels,
            tile_rows,
            n_tiles,
        } = tiling;
        let op = rows * row_pixels;
        // Source index of every padded position per axis (-1: an inserted zero).
        let tables = plan.source_tables();
        let targets = self.config.target.entries();
        let comps_of = |o: usize| targets[o].0.components(dim);
        // Output blocks in ginjax's layout (out_c, pixels, d^k_out), split per tile: tile t
        // owns, for every channel, the contiguous rows of its output pixels.
        let mut recycled: Vec<ImageBlock> = reuse
            .map(|old| std::mem::replace(old, MultiImage::new(input.geometry().clone())))
            .map_or_else(Vec::new, MultiImage::into_blocks);
        let mut data: Vec<Vec<f32>> = targets.iter().map(|_| Vec::new()).collect();
        for &o in &self.outputs {
            let len = targets[o].1 * comps_of(o) * op;
            let old = recycled
                .iter()
                .position(|b| b.key() == &targets[o].0 && b.data().len() == len);
            data[o] = match old {
                Some(i) => recycled.swap_remove(i).into_data(),
                None => crate::image::buffers::take(len),
            };
        }
        let mut per_tile: Vec<Vec<TileOut<'_>>> = (0..n_tiles).map(|_| Vec::new()).collect();
        for (o, buf) in data.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            let comps = comps_of(o);
            for (t, tile) in per_tile.iter_mut().enumerate() {
                tile.push(TileOut {
                    target: o,
                    first_pixel: t * tile_rows * row_pixels,
                    channels: Vec::with_capacity(targets[o].1),
                });
            }
            for channel in buf.chunks_exact_mut(op * comps) {
                let mut rest: &mut [f32] = channel;
                for (t, tile) in per_tile.iter_mut().enumerate() {
                    let n = tile_rows.min(rows - t * tile_rows) * row_pixels * comps;
                    let (head, tail) = rest.split_at_mut(n);
                    tile.last_mut().expect("pushed above").channels.push(head);
                    rest = tail;
                }
            }
        }
        let blocks = input.blocks();
        per_tile
            .into_par_iter()
            .enumerate()
            .for_each(|(t, mut outs)| {
                let (geometry, tile_tables) = tiling.region(&plan, &tables, t);
                with_scratch(|scratch| tile(&geometry, &tile_tables, blocks, &mut outs, scratch));
            });
        let mut output = MultiImage::new(plan.output_geometry());
        for &o in &self.outputs {
            self.push_output(&mut output, o, std::mem::take(&mut data[o]), bias)?;
        }
        Ok(output)
    }

    /// Appends target `target`'s block with values `data` (ginjax's layout over `output`'s
    /// geometry) to `output`, adding the layer's bias first when `bias` is set.
    pub(super) fn push_output(
        &self,
        output: &mut MultiImage,
        target: usize,
        mut data: Vec<f32>,
        bias: bool,
    ) -> Result<(), Error> {
        let (key, out_c) = &self.config.target.entries()[target];
        let geometry = output.geometry().clone();
        if let Some(b) = self.biases[target].as_ref().filter(|_| bias) {
            let comps = key.components(self.dim);
            apply_bias(
                self.config.bias,
                key,
                b,
                comps,
                geometry.pixels(),
                &mut data,
            );
        }
        output.insert(ImageBlock::new(geometry, key.clone(), *out_c, data)?)?;
        Ok(())
    }

    /// Every pair's weights `(out_c, in_c, n_f)`, in pair order.
    pub(super) fn own_weights(&self) -> Vec<&[f32]> {
        self.pairs.iter().map(|p| p.weights.as_slice()).collect()
    }

    /// Whether some pair reads input block `block` (blocks no pair reads are never padded).
    pub(super) fn reads_input(&self, block: usize) -> bool {
        self.pairs.iter().any(|p| p.input == block)
    }
}
