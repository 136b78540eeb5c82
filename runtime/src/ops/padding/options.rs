//! What the user asks of a convolution: [`ConvOptions`] (padding, stride, dilations) and how
//! [`ConvOptions::resolve`] turns them into a [`ConvPlan`] for one input.

use std::fmt;

use super::{AxisPlan, ConvPlan, PaddingError, MAX_PADDED_PIXELS};
use crate::image::Geometry;

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
                ((m - 1) / 2).checked_mul(rhs[axis]).ok_or(too_large(axis))
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
            // (N + 2W − 1)·l + 1 + lo + hi and (M − 1)·d + 1, refusing what overflows.
            let padded_len = wrap
                .checked_mul(2)
                .and_then(|w| w.checked_add(input_len - 1))
                .and_then(|n| n.checked_mul(lhs[axis]))
                .and_then(|n| n.checked_add(1))
                .and_then(|n| n.checked_add(zero_lo))
                .and_then(|n| n.checked_add(zero_hi))
                .filter(|&n| n <= MAX_PADDED_PIXELS)
                .ok_or(too_large(axis))?;
            let window = (m - 1)
                .checked_mul(rhs[axis])
                .and_then(|w| w.checked_add(1))
                .ok_or(too_large(axis))?;
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
        let padded_pixels = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.padded_len))
            .filter(|&n| n <= MAX_PADDED_PIXELS);
        if padded_pixels.is_none() {
            return Err(PaddingError::TooLarge { axis: None });
        }
        Ok(ConvPlan {
            mode,
            torus: torus.to_vec(),
            axes,
        })
    }
}

/// The error for a plan whose padded input along `axis` exceeds [`MAX_PADDED_PIXELS`].
fn too_large(axis: usize) -> PaddingError {
    PaddingError::TooLarge { axis: Some(axis) }
}
