//! The resolved convolution: [`AxisPlan`] per spatial axis and the [`ConvPlan`] of all axes,
//! with the index arithmetic a convolution runs on the padded input.

use super::fill::fill_padded;
use super::{PaddingError, PaddingMode};
use crate::image::{Geometry, ImageBlock};
use crate::kernels::layout::{grid_offsets, row_major_strides, tap_offsets};
use crate::kernels::transpose::interleave;

/// The resolved convolution geometry of one spatial axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AxisPlan {
    /// Input side `N`.
    pub input_len: usize,
    /// Wrap padding `W` on each side (torus axes under [`PaddingMode::Torus`], else 0).
    pub wrap: usize,
    /// Input dilation `l` (1 = none).
    pub lhs_dilation: usize,
    /// Zero padding before the first pixel, after wrapping and dilating.
    pub zero_lo: usize,
    /// Zero padding after the last pixel.
    pub zero_hi: usize,
    /// Padded length `L = (N + 2W − 1)·l + 1 + lo + hi`.
    pub padded_len: usize,
    /// Filter side `M`.
    pub filter_len: usize,
    /// Filter dilation `d`.
    pub rhs_dilation: usize,
    /// Stride `s`.
    pub stride: usize,
    /// Output side `⌊(L − ((M − 1)·d + 1)) / s⌋ + 1`.
    pub output_len: usize,
}

impl AxisPlan {
    /// The input pixel that padded position `u` (in `0..padded_len`) holds, or `None` for an
    /// inserted zero (dilation hole or zero padding).
    pub fn source(&self, u: usize) -> Option<usize> {
        let t = u.checked_sub(self.zero_lo)?;
        if t % self.lhs_dilation != 0 {
            return None;
        }
        let j = t / self.lhs_dilation;
        if j >= self.input_len + 2 * self.wrap {
            return None;
        }
        // (j − W) mod N, computed without going negative.
        let n = self.input_len;
        Some((j + n * (self.wrap / n + 1) - self.wrap) % n)
    }
}

/// A resolved convolution: the padding mode and the [`AxisPlan`] of every spatial axis.
///
/// This is the shared front half of every convolution: [`ConvPlan::pad_block`] builds the
/// padded, lhs-dilated input, then output pixel `y` and filter pixel `m` meet at padded pixel
/// `y·s + m·d` per axis, whose row-major linear index is
/// `output_offsets()[y] + filter_offsets()[m]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvPlan {
    pub(super) mode: PaddingMode,
    pub(super) torus: Vec<bool>,
    pub(super) axes: Vec<AxisPlan>,
}

impl ConvPlan {
    /// The padding mode after defaulting.
    pub fn mode(&self) -> PaddingMode {
        self.mode
    }

    /// The per-axis plans.
    pub fn axes(&self) -> &[AxisPlan] {
        &self.axes
    }

    /// The spatial dimension.
    pub fn dim(&self) -> usize {
        self.axes.len()
    }

    /// The input's torus flags (kept by the output).
    pub fn torus(&self) -> &[bool] {
        &self.torus
    }

    /// Input spatial sides.
    pub fn input_spatial(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.input_len).collect()
    }

    /// Padded spatial sides `L`.
    pub fn padded_spatial(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.padded_len).collect()
    }

    /// Output spatial sides.
    pub fn output_spatial(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.output_len).collect()
    }

    /// Filter spatial sides.
    pub fn filter_spatial(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.filter_len).collect()
    }

    /// The output geometry: output sides, the input's torus flags.
    pub fn output_geometry(&self) -> Geometry {
        Geometry::new(self.output_spatial(), self.torus.clone())
            .expect("output sides are positive and one torus flag per axis")
    }

    /// Number of padded pixels.
    pub fn padded_pixels(&self) -> usize {
        self.axes.iter().map(|a| a.padded_len).product()
    }

    /// Number of output pixels.
    pub fn output_pixels(&self) -> usize {
        self.axes.iter().map(|a| a.output_len).product()
    }

    /// Number of filter pixels.
    pub fn filter_pixels(&self) -> usize {
        self.axes.iter().map(|a| a.filter_len).product()
    }

    /// For every output pixel `y` (row-major), the padded pixel index of `y·s` (per axis).
    pub fn output_offsets(&self) -> Vec<usize> {
        let steps: Vec<usize> = row_major_strides(&self.padded_spatial())
            .iter()
            .zip(&self.axes)
            .map(|(stride, a)| stride * a.stride)
            .collect();
        grid_offsets(&self.output_spatial(), &steps)
    }

    /// For every filter pixel `m` (row-major), the padded pixel offset of `m·d` (per axis).
    pub fn filter_offsets(&self) -> Vec<usize> {
        let rhs: Vec<usize> = self.axes.iter().map(|a| a.rhs_dilation).collect();
        tap_offsets(&self.padded_spatial(), &rhs, &self.filter_spatial())
    }

    /// Per axis, the input index of every padded position ([`AxisPlan::source`]; -1 for an
    /// inserted zero): the tables [`fill_padded`] reads.
    pub(crate) fn source_tables(&self) -> Vec<Vec<isize>> {
        self.axes
            .iter()
            .map(|a| {
                (0..a.padded_len)
                    .map(|u| a.source(u).map_or(-1, |j| j as isize))
                    .collect()
            })
            .collect()
    }

    /// Pads one channel: `src` is `(input spatial…, comps)` row-major, `dst` receives
    /// `(padded spatial…, comps)` (its length must be `padded_pixels() · comps`; it is fully
    /// overwritten). `comps` is the number of tensor components per pixel (d^k).
    ///
    /// Errors if a slice has the wrong length.
    pub fn pad_channel(
        &self,
        src: &[f32],
        comps: usize,
        dst: &mut [f32],
    ) -> Result<(), PaddingError> {
        let in_len: usize = self.axes.iter().map(|a| a.input_len).product::<usize>() * comps;
        if src.len() != in_len {
            return Err(PaddingError::DataLength {
                what: "input channel",
                expected: in_len,
                got: src.len(),
            });
        }
        let out_len = self.padded_pixels() * comps;
        if dst.len() != out_len {
            return Err(PaddingError::DataLength {
                what: "padded channel",
                expected: out_len,
                got: dst.len(),
            });
        }
        let tables = self.source_tables();
        let tables: Vec<&[isize]> = tables.iter().map(Vec::as_slice).collect();
        let in_strides = row_major_strides(&self.input_spatial());
        if comps == 1 {
            fill_padded(src, 1, &in_strides, &tables, dst);
        } else {
            let mut planes = vec![0.0; out_len];
            fill_padded(src, comps, &in_strides, &tables, &mut planes);
            interleave(&planes, self.padded_pixels(), dst, comps);
        }
        Ok(())
    }

    /// Pads every channel of `block` (whose spatial sides must be the plan's input sides):
    /// returns the row-major `(channels, padded spatial…, d^k)` values.
    pub fn pad_block(&self, block: &ImageBlock) -> Result<Vec<f32>, PaddingError> {
        self.check_input(block)?;
        let comps = block.components();
        let padded_len = self.padded_pixels() * comps;
        let mut out = vec![0.0; block.channels() * padded_len];
        for (c, dst) in out.chunks_exact_mut(padded_len).enumerate() {
            self.pad_channel(block.channel(c), comps, dst)?;
        }
        Ok(out)
    }

    /// Pads every channel of `block` into a *planar* layout: returns the row-major
    /// `(channels, d^k, padded spatial…)` values, i.e. one contiguous padded plane per channel
    /// and tensor component (convenient for vectorised inner loops along the last axis).
    pub fn pad_block_planar(&self, block: &ImageBlock) -> Result<Vec<f32>, PaddingError> {
        self.check_input(block)?;
        let comps = block.components();
        let plane_len = self.padded_pixels();
        let mut out = vec![0.0; block.channels() * comps * plane_len];
        let tables = self.source_tables();
        let tables: Vec<&[isize]> = tables.iter().map(Vec::as_slice).collect();
        let in_strides = row_major_strides(block.geometry().spatial());
        for (c, dst) in out.chunks_exact_mut(comps * plane_len).enumerate() {
            fill_padded(block.channel(c), comps, &in_strides, &tables, dst);
        }
        Ok(out)
    }

    /// Checks that `block`'s spatial sides are the plan's input sides.
    fn check_input(&self, block: &ImageBlock) -> Result<(), PaddingError> {
        let spatial = block.geometry().spatial();
        if spatial != self.input_spatial().as_slice() {
            return Err(PaddingError::InputShape {
                expected: self.input_spatial(),
                got: spatial.to_vec(),
            });
        }
        Ok(())
    }
}
