//! Convolution options and the shared front half of every convolution: resolving the padding
//! per axis (`options.rs` → `plan.rs`) and building the padded, lhs-dilated input (`fill.rs`).
//!
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

pub(crate) mod fill;
mod options;
mod plan;

use thiserror::Error;

pub use options::{ConvOptions, Padding, PaddingMode, PerAxis};
pub use plan::{AxisPlan, ConvPlan};

/// The most pixels the padded input of one convolution may have: 2^28 (1 GiB of f32 per
/// channel and tensor component). Options that need more (e.g. a dilation of 2^32 read from a
/// corrupted file) are refused when the plan is resolved, before anything is allocated.
pub const MAX_PADDED_PIXELS: usize = 1 << 28;

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
    /// The padded input would exceed [`MAX_PADDED_PIXELS`] pixels (huge padding, stride or
    /// dilation), along one axis or in all; refused before anything is allocated.
    #[error(
        "the padded input {}would exceed {MAX_PADDED_PIXELS} pixels; check the padding and the \
         lhs/rhs dilations",
        match axis { Some(a) => format!("along axis {a} "), None => String::new() }
    )]
    TooLarge {
        /// The axis whose length alone is too large, if one is.
        axis: Option<usize>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock, TensorKey};

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
