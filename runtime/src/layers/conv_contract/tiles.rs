//! The tile driver of a forward pass: validates the input, cuts the output into tiles of whole
//! rows along axis 0, runs a tile schedule on each (in parallel) and adds the bias.

use rayon::prelude::*;

use super::bias::apply_bias;
use super::chunked::{forward_sparse_chunks, sparse_chunks_apply};
use super::{ConvContract, ConvContractError};
use crate::error::Error;
use crate::image::{BlockView, ImageBlock, ImageError, ImageView, MultiImage};
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
    /// The layer's convolution with its own weights, plus its bias when `bias` is set; the
    /// output blocks take over the storage of `reuse`'s blocks of the same key and length.
    pub(super) fn forward_impl(
        &self,
        input: &ImageView<'_>,
        bias: bool,
        reuse: Option<&mut MultiImage>,
    ) -> Result<MultiImage, Error> {
        let weights = self.own_weights();
        self.output_image(input, bias, reuse, |outs| {
            self.convolve_into(input, &weights, outs)
        })
    }

    /// The layer's convolution without bias, with `weights` (one `(out_c, in_c, n_f)` array
    /// per pair, in pair order) in place of the layer's own.
    pub(super) fn convolve_tiled(
        &self,
        input: &ImageView<'_>,
        weights: &[&[f32]],
    ) -> Result<MultiImage, Error> {
        self.output_image(input, false, None, |outs| {
            self.convolve_into(input, weights, outs)
        })
    }

    /// [`ConvContract::convolve_tiled`] into `outs`, one slice per output block in
    /// [`ConvContract::output_signature`]'s order, each of the block's length: the fastest
    /// schedule that applies.
    pub(super) fn convolve_into(
        &self,
        input: &ImageView<'_>,
        weights: &[&[f32]],
        outs: &mut [&mut [f32]],
    ) -> Result<(), Error> {
        if let Some(done) = self.forward_single_tap(weights, input, outs) {
            return done;
        }
        if sparse_chunks_apply(self, input.dim()) {
            return forward_sparse_chunks(self, weights, input, outs);
        }
        self.forward_tiled(
            input,
            outs,
            TILE_PIXELS,
            |geometry, tables, blocks, outs, scratch| {
                self.tile(geometry, tables, blocks, weights, outs, scratch)
            },
        )
    }

    /// Checks `input` against the layer: its dimension and signature, and the options on its
    /// geometry; returns the resolved plan.
    pub(super) fn checked_plan(&self, input: &ImageView<'_>) -> Result<ConvPlan, Error> {
        if input.dim() != self.dim {
            return Err(ConvContractError::InputDimension {
                expected: self.dim,
                got: input.dim(),
            }
            .into());
        }
        input.expect_signature(&self.config.input)?;
        Ok(self.config.options.resolve(input.geometry(), &self.sides)?)
    }

    /// The output image of `input` whose blocks `fill` writes (one slice per output block,
    /// in the layer's output order, every value overwritten), with the layer's bias added
    /// when `bias` is set. The blocks take over the storage of `reuse`'s blocks of the same
    /// key and length, or come from the buffer pool.
    pub(super) fn output_image(
        &self,
        input: &ImageView<'_>,
        bias: bool,
        reuse: Option<&mut MultiImage>,
        fill: impl FnOnce(&mut [&mut [f32]]) -> Result<(), Error>,
    ) -> Result<MultiImage, Error> {
        let plan = self.checked_plan(input)?;
        let output_geometry = plan.output_geometry();
        let targets = self.config.target.entries();
        let mut recycled: Vec<ImageBlock> = reuse
            .map(|old| std::mem::replace(old, MultiImage::new(input.geometry().clone())))
            .map_or_else(Vec::new, MultiImage::into_blocks);
        let mut data: Vec<Vec<f32>> = self
            .outputs
            .iter()
            .map(|&o| {
                let (key, channels) = &targets[o];
                let len = channels * key.components(self.dim) * output_geometry.pixels();
                let old = recycled
                    .iter()
                    .position(|b| b.key() == key && b.data().len() == len);
                match old {
                    Some(i) => recycled.swap_remove(i).into_data(),
                    None => crate::image::buffers::take(len),
                }
            })
            .collect();
        let mut outs: Vec<&mut [f32]> = data.iter_mut().map(Vec::as_mut_slice).collect();
        fill(&mut outs)?;
        let mut output = MultiImage::new(output_geometry);
        for (&o, data) in self.outputs.iter().zip(data) {
            self.push_output(&mut output, o, data, bias)?;
        }
        Ok(output)
    }

    /// The values of each output block (in the layer's output order) on `pixels` output
    /// pixels.
    pub(super) fn output_lengths(&self, pixels: usize) -> Vec<usize> {
        let targets = self.config.target.entries();
        self.outputs
            .iter()
            .map(|&o| targets[o].1 * targets[o].0.components(self.dim) * pixels)
            .collect()
    }

    /// Checks that `outs` has one slice per output block on `pixels` output pixels, of its
    /// length.
    pub(super) fn check_outs(&self, pixels: usize, outs: &[&mut [f32]]) -> Result<(), Error> {
        let expected = self.output_lengths(pixels);
        if outs.len() != expected.len() {
            return Err(ImageError::BlockCount {
                expected: expected.len(),
                got: outs.len(),
            }
            .into());
        }
        let targets = self.config.target.entries();
        for ((&o, out), len) in self.outputs.iter().zip(outs).zip(expected) {
            if out.len() != len {
                return Err(ImageError::DataLength {
                    key: targets[o].0.to_string(),
                    expected: len,
                    got: out.len(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Validates `input` and `outs` (one slice per output block, in the layer's output
    /// order), cuts the output into tiles of whole rows along axis 0 (about `tile_pixels`
    /// output pixels each) and runs `tile` on each (in parallel); every output value is
    /// overwritten. `tile` receives the tile's stencil geometry, the padding source tables
    /// of its region, the input blocks, the tile's part of every output block and this
    /// thread's scratch buffers.
    pub(super) fn forward_tiled<F>(
        &self,
        input: &ImageView<'_>,
        outs: &mut [&mut [f32]],
        tile_pixels: usize,
        tile: F,
    ) -> Result<(), Error>
    where
        F: Fn(&StencilGeometry, &[&[isize]], &[BlockView<'_>], &mut [TileOut<'_>], &mut Scratch)
            + Sync,
    {
        let plan = self.checked_plan(input)?;
        self.check_outs(plan.output_pixels(), outs)?;
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
        // Output blocks in ginjax's layout (out_c, pixels, d^k_out), split per tile: tile t
        // owns, for every channel, the contiguous rows of its output pixels.
        let mut per_tile: Vec<Vec<TileOut<'_>>> = (0..n_tiles).map(|_| Vec::new()).collect();
        for (&o, buf) in self.outputs.iter().zip(outs.iter_mut()) {
            let comps = targets[o].0.components(dim);
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
        Ok(())
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
