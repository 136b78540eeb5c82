//! Convolution options and the shared front half of every convolution: resolving the padding
//! per axis and building the padded, lhs-dilated input.
//!
//! Semantics are ginjax 0.1.8's (`functional_geometric_image.convolve`, which calls XLA's
//! `conv_general_dilated`). Per spatial axis, with input side `N`, filter side `M`:
//!
//! 1. **wrap-pad** by `W` on both sides: `Ĩ[j] = I[(j − W) mod N]`, `j ∈ [0, N + 2W)`;
//! 2. **lhs-dilate** by `l`: insert `l − 1` zeros between adjacent pixels, length
//!    `(N + 2W − 1)·l + 1` (the wrap happens *before* the dilation, as in ginjax);
//! 3. **zero-pad** by `(lo, hi)`: padded length `L = (N + 2W − 1)·l + 1 + lo + hi`;
//! 4. the output has `⌊(L − ((M − 1)·d + 1)) / s⌋ + 1` pixels along the axis (`d` = rhs
//!    dilation, `s` = stride) and `out[y] = Σ_m P[y·s + m·d] · F[m]` (cross-correlation, the
//!    filter is not flipped).
//!
//! [`ConvOptions::resolve`] turns the user's options into a [`ConvPlan`] holding `W`, `(lo, hi)`,
//! `l`, `d`, `s`, `L` and the output side of every axis; [`ConvPlan::pad_channel`] /
//! [`ConvPlan::pad_block`] perform steps 1–3, after which a convolution only has to run step 4
//! on the padded data (see [`ConvPlan::output_offsets`] and [`ConvPlan::filter_offsets`]).
//!
//! Padding rules ([`Padding`]):
//! - [`Padding::Inferred`] (ginjax `None`): `Torus` if any axis is a torus, else `Same`;
//! - [`Padding::Torus`]: torus axes are wrap-padded by `((M−1)/2)·d` on both sides, the other
//!   axes zero-padded by the same amount; needs odd `M`;
//! - [`Padding::Same`]: zero padding `((M−1)/2)·d` on both sides of every axis, torus flags
//!   ignored; needs odd `M`. Always symmetric (not XLA's SAME): with stride `s` the output
//!   samples input positions `0, s, 2s, …`;
//! - [`Padding::Valid`]: no padding; [`Padding::Uniform`]`(q)`: zero padding `(q, q)` on every
//!   axis; [`Padding::Explicit`]: the given `(lo, hi)` zero padding per axis. These ignore the
//!   torus flags. (ginjax/XLA also accept negative explicit padding, which crops; that is not
//!   supported here.)
//!
//! ginjax prints a warning when lhs dilation is combined with a string padding mode and goes
//! on; here the combination is simply allowed.

use std::fmt;

use thiserror::Error;

use crate::image::{Geometry, ImageBlock};

/// Errors from resolving convolution options or padding an input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaddingError {
    /// A per-axis option has the wrong number of values.
    #[error("{what}: expected {expected} values (one per spatial axis), got {got}")]
    AxisCount {
        /// The option.
        what: &'static str,
        /// The spatial dimension.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A stride, dilation or filter side is 0.
    #[error("{what} of axis {axis} is 0: it must be at least 1")]
    Zero {
        /// The option.
        what: &'static str,
        /// The axis.
        axis: usize,
    },
    /// An even filter side with a padding mode that centres the filter.
    #[error(
        "filter side {side} on axis {axis} is even: {mode} padding{} needs odd filter sides; \
         give explicit padding (Padding::Explicit, Uniform or Valid) for even filters",
        if *inferred { " (inferred from the torus flags)" } else { "" }
    )]
    EvenFilter {
        /// The axis.
        axis: usize,
        /// The filter side.
        side: usize,
        /// The padding mode.
        mode: PaddingMode,
        /// Whether the mode was inferred (`Padding::Inferred`).
        inferred: bool,
    },
    /// The padded input is shorter than the (dilated) filter window: no output pixel.
    #[error(
        "axis {axis}: the padded input has {padded_len} pixels but the dilated filter spans \
         {window}, so the convolution has no output pixel; pad more or use a smaller filter"
    )]
    NoOutput {
        /// The axis.
        axis: usize,
        /// The padded length.
        padded_len: usize,
        /// `(M − 1)·rhs_dilation + 1`.
        window: usize,
    },
    /// A slice passed to the padding routine has the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    DataLength {
        /// Which slice.
        what: &'static str,
        /// The length its shape needs.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The image's spatial sides differ from those the plan was resolved for.
    #[error("the plan was resolved for spatial sides {expected:?}, the image has {got:?}")]
    InputShape {
        /// The plan's input sides.
        expected: Vec<usize>,
        /// The image's sides.
        got: Vec<usize>,
    },
}

/// How a convolution pads its input (ginjax's `padding` argument).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Padding {
    /// ginjax's `None`: [`Padding::Torus`] if any spatial axis is a torus, else [`Padding::Same`].
    #[default]
    Inferred,
    /// `'TORUS'`: wrap torus axes, zero-pad the others, by `((M−1)/2)·rhs_dilation` per side.
    Torus,
    /// `'SAME'`: zero padding `((M−1)/2)·rhs_dilation` on both sides of every axis.
    Same,
    /// `'VALID'`: no padding.
    Valid,
    /// An int `q`: zero padding `(q, q)` on every axis.
    Uniform(usize),
    /// One `(lo, hi)` zero padding per spatial axis (`lo` before the first pixel).
    Explicit(Vec<(usize, usize)>),
}

/// The padding mode after defaulting, as ginjax's fixtures name it (`resolved.padding_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaddingMode {
    /// Wrap torus axes, zero-pad the others.
    Torus,
    /// Symmetric zero padding.
    Same,
    /// No padding.
    Valid,
    /// The same int padding on every axis.
    Int,
    /// Explicit `(lo, hi)` pairs.
    Explicit,
}

impl PaddingMode {
    /// The upper-case name used by ginjax and the fixtures (`"TORUS"`, `"SAME"`, `"VALID"`,
    /// `"INT"`, `"EXPLICIT"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Torus => "TORUS",
            Self::Same => "SAME",
            Self::Valid => "VALID",
            Self::Int => "INT",
            Self::Explicit => "EXPLICIT",
        }
    }
}

impl fmt::Display for PaddingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A per-axis integer option (stride, dilation) given either once for every axis or per axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PerAxis {
    /// The same value on every spatial axis.
    All(usize),
    /// One value per spatial axis.
    Each(Vec<usize>),
}

impl PerAxis {
    /// The value of every axis for a `dim`-dimensional image (broadcasting [`PerAxis::All`]).
    /// `what` names the option in the error.
    pub fn resolve(&self, what: &'static str, dim: usize) -> Result<Vec<usize>, PaddingError> {
        let values = match self {
            Self::All(v) => vec![*v; dim],
            Self::Each(values) => {
                if values.len() != dim {
                    return Err(PaddingError::AxisCount {
                        what,
                        expected: dim,
                        got: values.len(),
                    });
                }
                values.clone()
            }
        };
        if let Some(axis) = values.iter().position(|&v| v == 0) {
            return Err(PaddingError::Zero { what, axis });
        }
        Ok(values)
    }
}

impl Default for PerAxis {
    fn default() -> Self {
        Self::All(1)
    }
}

impl From<usize> for PerAxis {
    fn from(value: usize) -> Self {
        Self::All(value)
    }
}

impl From<Vec<usize>> for PerAxis {
    fn from(values: Vec<usize>) -> Self {
        Self::Each(values)
    }
}

impl From<&[usize]> for PerAxis {
    fn from(values: &[usize]) -> Self {
        Self::Each(values.to_vec())
    }
}

/// The options of a convolution: padding, stride, input (lhs) and filter (rhs) dilation.
///
/// The default is ginjax's: inferred padding, stride 1, no dilation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConvOptions {
    /// How to pad the input.
    pub padding: Padding,
    /// Step between output samples, per axis.
    pub stride: PerAxis,
    /// Input dilation (`l − 1` zeros inserted between pixels; "transposed convolution").
    pub lhs_dilation: PerAxis,
    /// Filter dilation (filter taps `d` pixels apart).
    pub rhs_dilation: PerAxis,
}

impl ConvOptions {
    /// Options with the given padding and everything else at its default.
    pub fn with_padding(padding: Padding) -> Self {
        Self {
            padding,
            ..Self::default()
        }
    }

    /// Replaces the stride.
    pub fn stride(mut self, stride: impl Into<PerAxis>) -> Self {
        self.stride = stride.into();
        self
    }

    /// Replaces the lhs (input) dilation.
    pub fn lhs_dilation(mut self, lhs_dilation: impl Into<PerAxis>) -> Self {
        self.lhs_dilation = lhs_dilation.into();
        self
    }

    /// Replaces the rhs (filter) dilation.
    pub fn rhs_dilation(mut self, rhs_dilation: impl Into<PerAxis>) -> Self {
        self.rhs_dilation = rhs_dilation.into();
        self
    }

    /// Resolves the options for an input of geometry `geometry` and a filter with spatial
    /// sides `filter_sides` (one per axis, any positive length; even lengths need
    /// [`Padding::Valid`], [`Padding::Uniform`] or [`Padding::Explicit`]).
    ///
    /// Errors: wrong number of per-axis values, zero stride or dilation, a zero filter side,
    /// an even filter side with `Inferred`/`Torus`/`Same` padding, or an axis with no output
    /// pixel.
    pub fn resolve(
        &self,
        geometry: &Geometry,
        filter_sides: &[usize],
    ) -> Result<ConvPlan, PaddingError> {
        let dim = geometry.dim();
        if filter_sides.len() != dim {
            return Err(PaddingError::AxisCount {
                what: "filter sides",
                expected: dim,
                got: filter_sides.len(),
            });
        }
        if let Some(axis) = filter_sides.iter().position(|&m| m == 0) {
            return Err(PaddingError::Zero {
                what: "filter side",
                axis,
            });
        }
        let stride = self.stride.resolve("stride", dim)?;
        let lhs = self.lhs_dilation.resolve("lhs_dilation", dim)?;
        let rhs = self.rhs_dilation.resolve("rhs_dilation", dim)?;
        let torus = geometry.torus();
        let mode = match &self.padding {
            Padding::Inferred if torus.iter().any(|&t| t) => PaddingMode::Torus,
            Padding::Inferred | Padding::Same => PaddingMode::Same,
            Padding::Torus => PaddingMode::Torus,
            Padding::Valid => PaddingMode::Valid,
            Padding::Uniform(_) => PaddingMode::Int,
            Padding::Explicit(pairs) => {
                if pairs.len() != dim {
                    return Err(PaddingError::AxisCount {
                        what: "explicit padding pairs",
                        expected: dim,
                        got: pairs.len(),
                    });
                }
                PaddingMode::Explicit
            }
        };
        let mut axes = Vec::with_capacity(dim);
        for axis in 0..dim {
            let m = filter_sides[axis];
            let half = |mode: PaddingMode| -> Result<usize, PaddingError> {
                if m.is_multiple_of(2) {
                    return Err(PaddingError::EvenFilter {
                        axis,
                        side: m,
                        mode,
                        inferred: self.padding == Padding::Inferred,
                    });
                }
                Ok((m - 1) / 2 * rhs[axis])
            };
            let (wrap, zero_lo, zero_hi) = match mode {
                PaddingMode::Torus => {
                    let h = half(mode)?;
                    if torus[axis] {
                        (h, 0, 0)
                    } else {
                        (0, h, h)
                    }
                }
                PaddingMode::Same => {
                    let h = half(mode)?;
                    (0, h, h)
                }
                PaddingMode::Valid => (0, 0, 0),
                PaddingMode::Int => match self.padding {
                    Padding::Uniform(q) => (0, q, q),
                    _ => unreachable!("mode Int comes from Padding::Uniform"),
                },
                PaddingMode::Explicit => match &self.padding {
                    Padding::Explicit(pairs) => (0, pairs[axis].0, pairs[axis].1),
                    _ => unreachable!("mode Explicit comes from Padding::Explicit"),
                },
            };
            let input_len = geometry.spatial()[axis];
            let padded_len = (input_len + 2 * wrap - 1) * lhs[axis] + 1 + zero_lo + zero_hi;
            let window = (m - 1) * rhs[axis] + 1;
            if padded_len < window {
                return Err(PaddingError::NoOutput {
                    axis,
                    padded_len,
                    window,
                });
            }
            let output_len = (padded_len - window) / stride[axis] + 1;
            axes.push(AxisPlan {
                input_len,
                wrap,
                lhs_dilation: lhs[axis],
                zero_lo,
                zero_hi,
                padded_len,
                filter_len: m,
                rhs_dilation: rhs[axis],
                stride: stride[axis],
                output_len,
            });
        }
        Ok(ConvPlan {
            mode,
            torus: torus.to_vec(),
            axes,
        })
    }
}

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
    mode: PaddingMode,
    torus: Vec<bool>,
    axes: Vec<AxisPlan>,
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

    /// Row-major strides (in pixels) of the padded spatial array.
    fn padded_strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.dim()];
        for axis in (0..self.dim().saturating_sub(1)).rev() {
            strides[axis] = strides[axis + 1] * self.axes[axis + 1].padded_len;
        }
        strides
    }

    /// For every output pixel `y` (row-major), the padded pixel index of `y·s` (per axis).
    pub fn output_offsets(&self) -> Vec<usize> {
        self.axis_grid_offsets(|a| (a.output_len, a.stride))
    }

    /// For every filter pixel `m` (row-major), the padded pixel offset of `m·d` (per axis).
    pub fn filter_offsets(&self) -> Vec<usize> {
        self.axis_grid_offsets(|a| (a.filter_len, a.rhs_dilation))
    }

    /// Padded-pixel offsets of a row-major grid whose axis `i` has `len_step(axis i).0` points
    /// spaced `len_step(axis i).1` padded pixels apart.
    fn axis_grid_offsets(&self, len_step: impl Fn(&AxisPlan) -> (usize, usize)) -> Vec<usize> {
        let strides = self.padded_strides();
        let (lens, steps): (Vec<usize>, Vec<usize>) = self
            .axes
            .iter()
            .zip(&strides)
            .map(|(a, s)| {
                let (len, step) = len_step(a);
                (len, step * s)
            })
            .unzip();
        grid_offsets(&lens, &steps)
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
        let sources: Vec<Vec<Option<usize>>> = self
            .axes
            .iter()
            .map(|a| (0..a.padded_len).map(|u| a.source(u)).collect())
            .collect();
        let mut in_strides = vec![comps; self.dim()];
        for axis in (0..self.dim().saturating_sub(1)).rev() {
            in_strides[axis] = in_strides[axis + 1] * self.axes[axis + 1].input_len;
        }
        fill_padded(&sources, &in_strides, comps, src, 0, dst);
        Ok(())
    }

    /// Pads every channel of `block` (whose spatial sides must be the plan's input sides):
    /// returns the row-major `(channels, padded spatial…, d^k)` values.
    pub fn pad_block(&self, block: &ImageBlock) -> Result<Vec<f32>, PaddingError> {
        let spatial = block.geometry().spatial();
        if spatial != self.input_spatial().as_slice() {
            return Err(PaddingError::InputShape {
                expected: self.input_spatial(),
                got: spatial.to_vec(),
            });
        }
        let comps = block.components();
        let padded_len = self.padded_pixels() * comps;
        let mut out = vec![0.0; block.channels() * padded_len];
        for (c, dst) in out.chunks_exact_mut(padded_len).enumerate() {
            self.pad_channel(block.channel(c), comps, dst)?;
        }
        Ok(out)
    }
}

impl ConvPlan {
    /// Pads every channel of `block` into a *planar* layout: returns the row-major
    /// `(channels, d^k, padded spatial…)` values, i.e. one contiguous padded plane per channel
    /// and tensor component (convenient for vectorised inner loops along the last axis).
    pub fn pad_block_planar(&self, block: &ImageBlock) -> Result<Vec<f32>, PaddingError> {
        let spatial = block.geometry().spatial();
        if spatial != self.input_spatial().as_slice() {
            return Err(PaddingError::InputShape {
                expected: self.input_spatial(),
                got: spatial.to_vec(),
            });
        }
        let comps = block.components();
        let pixels = block.geometry().pixels();
        let plane_len = self.padded_pixels();
        let mut out = vec![0.0; block.channels() * comps * plane_len];
        let mut plane = vec![0.0; pixels];
        for (c, dst) in out.chunks_exact_mut(comps * plane_len).enumerate() {
            let channel = block.channel(c);
            for (a, dst_plane) in dst.chunks_exact_mut(plane_len).enumerate() {
                for (p, v) in plane.iter_mut().enumerate() {
                    *v = channel[p * comps + a];
                }
                self.pad_channel(&plane, 1, dst_plane)?;
            }
        }
        Ok(out)
    }
}

/// Row-major enumeration of a grid with sides `lens`: the offset `Σ_axis y_axis · steps_axis`
/// of every point.
fn grid_offsets(lens: &[usize], steps: &[usize]) -> Vec<usize> {
    let mut offsets = vec![0usize];
    for (&len, &step) in lens.iter().zip(steps) {
        let mut next = Vec::with_capacity(offsets.len() * len);
        for &base in &offsets {
            for y in 0..len {
                next.push(base + y * step);
            }
        }
        offsets = next;
    }
    offsets
}

/// Writes the padded array axis by axis: `sources[axis][u]` is the input index along `axis`
/// of padded position `u` (`None` = zero).
fn fill_padded(
    sources: &[Vec<Option<usize>>],
    in_strides: &[usize],
    comps: usize,
    src: &[f32],
    src_base: usize,
    dst: &mut [f32],
) {
    let (axis_sources, rest) = sources.split_first().expect("at least one axis");
    let chunk = dst.len() / axis_sources.len();
    for (out, source) in dst.chunks_exact_mut(chunk).zip(axis_sources) {
        match source {
            None => out.fill(0.0),
            Some(j) => {
                let base = src_base + j * in_strides[0];
                if rest.is_empty() {
                    out.copy_from_slice(&src[base..base + comps]);
                } else {
                    fill_padded(rest, &in_strides[1..], comps, src, base, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::TensorKey;

    fn line(values: &[f32], torus: bool) -> ImageBlock {
        let g = Geometry::new(vec![values.len()], vec![torus]).unwrap();
        ImageBlock::new(g, TensorKey::scalar(), 1, values.to_vec()).unwrap()
    }

    #[test]
    fn inferred_torus_wraps_before_dilating() {
        let block = line(&[1.0, 2.0, 3.0], true);
        let plan = ConvOptions::default()
            .lhs_dilation(2)
            .resolve(block.geometry(), &[3])
            .unwrap();
        assert_eq!(plan.mode(), PaddingMode::Torus);
        let a = plan.axes()[0];
        assert_eq!((a.wrap, a.zero_lo, a.zero_hi), (1, 0, 0));
        // wrap → [3,1,2,3,1], dilate → [3,0,1,0,2,0,3,0,1]
        assert_eq!(
            plan.pad_block(&block).unwrap(),
            vec![3.0, 0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 1.0]
        );
        assert_eq!(plan.output_spatial(), vec![7]);
    }

    #[test]
    fn same_is_symmetric_and_strided() {
        let block = line(&[1.0, 2.0, 3.0, 4.0], true);
        let plan = ConvOptions::with_padding(Padding::Same)
            .stride(2)
            .resolve(block.geometry(), &[3])
            .unwrap();
        assert_eq!(
            plan.pad_block(&block).unwrap(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 0.0]
        );
        assert_eq!(plan.output_spatial(), vec![2]);
        assert_eq!(plan.output_offsets(), vec![0, 2]);
    }

    #[test]
    fn wrap_wider_than_the_image() {
        let block = line(&[1.0, 2.0], true);
        let plan = ConvOptions::with_padding(Padding::Torus)
            .resolve(block.geometry(), &[7])
            .unwrap();
        assert_eq!(
            plan.pad_block(&block).unwrap(),
            vec![2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0]
        );
        assert_eq!(plan.output_spatial(), vec![2]);
    }

    #[test]
    fn two_dimensional_mixed_torus() {
        let g = Geometry::new(vec![2, 2], vec![true, false]).unwrap();
        let block = ImageBlock::new(g, TensorKey::scalar(), 1, vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let plan = ConvOptions::default()
            .resolve(block.geometry(), &[3, 3])
            .unwrap();
        #[rustfmt::skip]
        let want = vec![
            0.0, 3.0, 4.0, 0.0,
            0.0, 1.0, 2.0, 0.0,
            0.0, 3.0, 4.0, 0.0,
            0.0, 1.0, 2.0, 0.0,
        ];
        assert_eq!(plan.pad_block(&block).unwrap(), want);
        assert_eq!(plan.filter_offsets(), vec![0, 1, 2, 4, 5, 6, 8, 9, 10]);
    }

    #[test]
    fn errors_name_the_value() {
        let g = Geometry::new(vec![4, 4], vec![true, true]).unwrap();
        let err = ConvOptions::default().resolve(&g, &[2, 2]).unwrap_err();
        assert!(matches!(
            err,
            PaddingError::EvenFilter {
                axis: 0,
                side: 2,
                inferred: true,
                ..
            }
        ));
        assert!(err.to_string().contains("explicit padding"));
        let err = ConvOptions::default()
            .stride(vec![1, 0])
            .resolve(&g, &[3, 3])
            .unwrap_err();
        assert_eq!(
            err,
            PaddingError::Zero {
                what: "stride",
                axis: 1
            }
        );
        let err = ConvOptions::default()
            .stride(vec![1, 1, 1])
            .resolve(&g, &[3, 3])
            .unwrap_err();
        assert_eq!(
            err,
            PaddingError::AxisCount {
                what: "stride",
                expected: 2,
                got: 3
            }
        );
        let err = ConvOptions::with_padding(Padding::Valid)
            .resolve(&g, &[5, 3])
            .unwrap_err();
        assert_eq!(
            err,
            PaddingError::NoOutput {
                axis: 0,
                padded_len: 4,
                window: 5
            }
        );
        let err = ConvOptions::with_padding(Padding::Explicit(vec![(1, 1)]))
            .resolve(&g, &[2, 2])
            .unwrap_err();
        assert!(matches!(
            err,
            PaddingError::AxisCount {
                expected: 2,
                got: 1,
                ..
            }
        ));
        // even filters are fine with explicit padding
        let plan = ConvOptions::with_padding(Padding::Explicit(vec![(1, 1), (0, 0)]))
            .lhs_dilation(2)
            .resolve(&g, &[2, 2])
            .unwrap();
        assert_eq!(plan.output_spatial(), vec![8, 6]);
    }
}
