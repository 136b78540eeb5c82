//! Pooling: ginjax's `max_pool` and `average_pool` on image blocks.
//!
//! Both pools use non-overlapping patches of side `patch_len` starting at pixel 0 of every
//! spatial axis. `max_pool` drops a remainder at the end of an axis (ginjax floors), while
//! `average_pool` requires every side to be divisible (ginjax asserts; here a typed error).
//! Each channel of a block is pooled separately, as ginjax's `vmap` over channels does.

use thiserror::Error;

use crate::image::{buffers, Geometry, ImageBlock};
use crate::kernels::layout::tap_offsets;
use crate::kernels::simd::widest;
use crate::ops::norm::pixel_norm;

/// Errors from pooling.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolError {
    /// A patch side of 0.
    #[error("patch_len must be at least 1, got 0")]
    ZeroPatch,
    /// `average_pool` needs every side divisible by the patch side.
    #[error(
        "average_pool: spatial axis {axis} has side {side}, which patch_len {patch_len} does not divide"
    )]
    NotDivisible {
        /// The offending axis.
        axis: usize,
        /// Its side.
        side: usize,
        /// The patch side.
        patch_len: usize,
    },
    /// The patch is larger than a side, so the pooled image would have no pixel along it.
    #[error(
        "spatial axis {axis} has side {side}, smaller than patch_len {patch_len}: the pooled image would be empty"
    )]
    PatchTooLarge {
        /// The offending axis.
        axis: usize,
        /// Its side.
        side: usize,
        /// The patch side.
        patch_len: usize,
    },
    /// Comparing by value needs scalar pixels (ginjax asserts k = 0).
    #[error("max_pool by value needs a k = 0 block, got {key} (use the pixel norm instead)")]
    ValueOfTensor {
        /// The block's key.
        key: String,
    },
    /// The comparator image does not have one value per channel and pixel.
    #[error("comparator image: expected {expected} values (channels · pixels), got {got}")]
    ComparatorLength {
        /// channels · pixels of the pooled block.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Pool choices that do not fit the pooled gradient and the input geometry.
    #[error(
        "expected {expected} pool choices (channels · pooled pixels), each below {pixels}; got {got}"
    )]
    Choices {
        /// Channels times pooled pixels.
        expected: usize,
        /// The number given.
        got: usize,
        /// Pixels of the input geometry.
        pixels: usize,
    },
}

/// What `max_pool` maximises within each patch.
#[derive(Debug, Clone, Copy)]
pub enum Comparator<'a> {
    /// The pixel's Frobenius norm over its tensor axes (`|x|` for scalars): ginjax
    /// `use_norm = True`.
    Norm,
    /// The pixel's value; only for k = 0 blocks (ginjax `use_norm = False`).
    Value,
    /// Explicit values, one per channel and pixel, laid out `(channels, spatial…)` (ginjax's
    /// `comparator_image`, per channel).
    Image(&'a [f32]),
}

/// Patch geometry shared by both pools: output sides, the pixel offset of each output pixel's
/// patch origin, and the pixel offsets of the patch members in row-major order.
struct Patches {
    geometry: Geometry,
    origins: Vec<usize>,
    members: Vec<usize>,
}

impl Patches {
    fn new(geometry: &Geometry, patch_len: usize) -> Result<Self, PoolError> {
        if patch_len == 0 {
            return Err(PoolError::ZeroPatch);
        }
        let sides = geometry.spatial();
        for (axis, &side) in sides.iter().enumerate() {
            if side < patch_len {
                return Err(PoolError::PatchTooLarge {
                    axis,
                    side,
                    patch_len,
                });
            }
        }
        let out_sides: Vec<usize> = sides.iter().map(|&n| n / patch_len).collect();
        // Patch origins: the pooled grid, `patch_len` pixels apart; members: one patch.
        let d = sides.len();
        let origins = tap_offsets(sides, &vec![patch_len; d], &out_sides);
        let members = tap_offsets(sides, &vec![1; d], &vec![patch_len; d]);
        let geometry = Geometry::new(out_sides, geometry.torus().to_vec())
            .expect("pooled sides are positive and the dimension is unchanged");
        Ok(Self {
            geometry,
            origins,
            members,
        })
    }
}

/// ginjax's `max_pool`, per channel: in each `patch_len^d` patch keep the whole tensor of the
/// pixel whose comparator is largest, ties going to the first pixel in row-major order within
/// the patch (as `argmax`; a NaN comparator counts as largest). A remainder at the end of an
/// axis is dropped.
///
/// With [`Comparator::Norm`] a scalar is chosen by `|x|` and keeps its sign.
pub fn max_pool(
    block: &ImageBlock,
    patch_len: usize,
    comparator: Comparator<'_>,
) -> Result<ImageBlock, PoolError> {
    max_pool_choosing(block, patch_len, comparator, None)
}

/// [`max_pool`], and the choice it made: per channel and pooled pixel (channel-major), the
/// index of the chosen pixel within its channel (row-major over the block's pixels). The
/// choices give the pool's backward pass ([`max_pool_backward`]).
pub fn max_pool_with_choices(
    block: &ImageBlock,
    patch_len: usize,
    comparator: Comparator<'_>,
) -> Result<(ImageBlock, Vec<usize>), PoolError> {
    let mut choices = Vec::new();
    let pooled = max_pool_choosing(block, patch_len, comparator, Some(&mut choices))?;
    Ok((pooled, choices))
}

/// The gradient of a loss with respect to the input block of [`max_pool`], given its gradient
/// `grad` with respect to the pooled block and the pool's `choices`
/// ([`max_pool_with_choices`]): each pooled pixel's gradient goes to the pixel it was taken
/// from, every other pixel's gradient is zero. `input` is the input block's geometry.
pub fn max_pool_backward(
    grad: &ImageBlock,
    choices: &[usize],
    input: &Geometry,
) -> Result<ImageBlock, PoolError> {
    let comps = grad.components();
    let (pixels, pooled) = (input.pixels(), grad.geometry().pixels());
    if choices.len() != grad.channels() * pooled || choices.iter().any(|&c| c >= pixels) {
        return Err(PoolError::Choices {
            expected: grad.channels() * pooled,
            got: choices.len(),
            pixels,
        });
    }
    let mut data = buffers::take(grad.channels() * pixels * comps);
    data.fill(0.0);
    for (c, (channel_choices, g)) in choices
        .chunks_exact(pooled.max(1))
        .zip(grad.data().chunks_exact((pooled * comps).max(1)))
        .enumerate()
    {
        let channel = &mut data[c * pixels * comps..(c + 1) * pixels * comps];
        for (&chosen, g) in channel_choices.iter().zip(g.chunks_exact(comps)) {
            channel[chosen * comps..(chosen + 1) * comps].copy_from_slice(g);
        }
    }
    Ok(
        ImageBlock::new(input.clone(), grad.key().clone(), grad.channels(), data)
            .expect("the gradient has channels · input pixels · d^k values"),
    )
}

/// [`max_pool`], recording its choices into `choices` when it is given.
fn max_pool_choosing(
    block: &ImageBlock,
    patch_len: usize,
    comparator: Comparator<'_>,
    choices: Option<&mut Vec<usize>>,
) -> Result<ImageBlock, PoolError> {
    // Compiled for the CPU's widest vectors (the pixel norms vectorise), with the component
    // count a constant for scalars and the vectors of d = 2 and 3.
    widest(
        #[inline(always)]
        || match block.components() {
            1 => max_pool_of(1, block, patch_len, comparator, choices),
            2 => max_pool_of(2, block, patch_len, comparator, choices),
            3 => max_pool_of(3, block, patch_len, comparator, choices),
            comps => max_pool_of(comps, block, patch_len, comparator, choices),
        },
    )
}

/// [`max_pool_choosing`] of a block whose pixels have `comps` components.
#[inline(always)]
fn max_pool_of(
    comps: usize,
    block: &ImageBlock,
    patch_len: usize,
    comparator: Comparator<'_>,
    mut choices: Option<&mut Vec<usize>>,
) -> Result<ImageBlock, PoolError> {
    let patches = Patches::new(block.geometry(), patch_len)?;
    let pixels = block.geometry().pixels();
    match comparator {
        Comparator::Value if block.key().k() != 0 => {
            return Err(PoolError::ValueOfTensor {
                key: format!("{:?}", block.key()),
            })
        }
        Comparator::Image(values) if values.len() != block.channels() * pixels => {
            return Err(PoolError::ComparatorLength {
                expected: block.channels() * pixels,
                got: values.len(),
            })
        }
        _ => {}
    }
    let out_pixels = patches.origins.len();
    let mut out = buffers::with_capacity(block.channels() * out_pixels * comps);
    let (mut norms, mut best, mut best_score) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..block.channels() {
        let channel = block.channel(c);
        let scores: &[f32] = match comparator {
            Comparator::Norm => {
                norms.clear();
                norms.extend(channel.chunks_exact(comps).map(pixel_norm));
                &norms
            }
            Comparator::Value => channel,
            Comparator::Image(values) => &values[c * pixels..(c + 1) * pixels],
        };
        // Member by member over all patches at once, with selects rather than branches
        // (which member wins is data, and unpredictable): a member wins when it is larger or
        // NaN, unless the best so far is NaN.
        best.clear();
        best.extend_from_slice(&patches.origins);
        best_score.clear();
        best_score.extend(patches.origins.iter().map(|&o| scores[o]));
        for &member in &patches.members[1..] {
            for ((b, bs), &origin) in best.iter_mut().zip(&mut best_score).zip(&patches.origins) {
                let s = scores[origin + member];
                let wins = (s > *bs) | s.is_nan() & !bs.is_nan();
                *b = if wins { origin + member } else { *b };
                *bs = if wins { s } else { *bs };
            }
        }
        for &b in &best {
            out.extend_from_slice(&channel[b * comps..(b + 1) * comps]);
        }
        if let Some(choices) = choices.as_deref_mut() {
            choices.extend_from_slice(&best);
        }
    }
    Ok(
        ImageBlock::new(patches.geometry, block.key().clone(), block.channels(), out)
            .expect("the pooled data has channels · pooled pixels · d^k values"),
    )
}

/// ginjax's `average_pool`, per channel: the mean of each non-overlapping `patch_len^d` patch,
/// per tensor component. Every spatial side must be divisible by `patch_len`.
pub fn average_pool(block: &ImageBlock, patch_len: usize) -> Result<ImageBlock, PoolError> {
    if patch_len == 0 {
        return Err(PoolError::ZeroPatch);
    }
    for (axis, &side) in block.geometry().spatial().iter().enumerate() {
        if side % patch_len != 0 {
            return Err(PoolError::NotDivisible {
                axis,
                side,
                patch_len,
            });
        }
    }
    let patches = Patches::new(block.geometry(), patch_len)?;
    let comps = block.components();
    let inv = 1.0 / patches.members.len() as f64;
    let mut out = buffers::with_capacity(block.channels() * patches.origins.len() * comps);
    let mut acc = vec![0f64; comps];
    for c in 0..block.channels() {
        let channel = block.channel(c);
        for &origin in &patches.origins {
            acc.iter_mut().for_each(|a| *a = 0.0);
            for &member in &patches.members {
                let pixel = origin + member;
                for (a, &v) in acc
                    .iter_mut()
                    .zip(&channel[pixel * comps..(pixel + 1) * comps])
                {
                    *a += f64::from(v);
                }
            }
            out.extend(acc.iter().map(|&a| (a * inv) as f32));
        }
    }
    Ok(
        ImageBlock::new(patches.geometry, block.key().clone(), block.channels(), out)
            .expect("the pooled data has channels · pooled pixels · d^k values"),
    )
}

/// The geometry `max_pool` gives an image of geometry `geometry`: every side divided by
/// `patch_len` (the remainder dropped), the torus flags kept.
pub fn pooled_geometry(geometry: &Geometry, patch_len: usize) -> Result<Geometry, PoolError> {
    Ok(Patches::new(geometry, patch_len)?.geometry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::TensorKey;

    fn scalar_block(side: usize, data: Vec<f32>) -> ImageBlock {
        let geometry = Geometry::square(2, side, true).unwrap();
        ImageBlock::new(geometry, TensorKey::scalar(), 1, data).unwrap()
    }

    #[test]
    fn scalar_patch_by_norm_and_by_value() {
        // Patch [[-3, 1], [2, 0]]: the largest norm is |-3| (kept with its sign), the largest
        // value is 2.
        let block = scalar_block(2, vec![-3.0, 1.0, 2.0, 0.0]);
        assert_eq!(
            max_pool(&block, 2, Comparator::Norm).unwrap().data(),
            &[-3.0]
        );
        assert_eq!(
            max_pool(&block, 2, Comparator::Value).unwrap().data(),
            &[2.0]
        );
    }

    #[test]
    fn ties_go_to_first_pixel_and_remainder_is_dropped() {
        // Norms 0, 1, 1, 1 in row-major order → pixel (0, 1); a 3×3 image keeps one patch.
        let geometry = Geometry::square(2, 3, false).unwrap();
        let mut data = vec![0.0; 9 * 2];
        let set = |data: &mut Vec<f32>, pixel: usize, v: [f32; 2]| {
            data[pixel * 2..pixel * 2 + 2].copy_from_slice(&v)
        };
        set(&mut data, 1, [0.0, 1.0]);
        set(&mut data, 3, [1.0, 0.0]);
        set(&mut data, 4, [0.0, -1.0]);
        set(&mut data, 8, [9.0, 9.0]); // outside the only full patch
        let block = ImageBlock::new(geometry, TensorKey::vector(), 1, data).unwrap();
        let pooled = max_pool(&block, 2, Comparator::Norm).unwrap();
        assert_eq!(pooled.geometry().spatial(), &[1, 1]);
        assert_eq!(pooled.data(), &[0.0, 1.0]);
    }

    #[test]
    fn nan_comparator_wins_like_argmax() {
        // jnp.argmax returns the first NaN; the patch's second pixel (a NaN) is kept.
        let block = scalar_block(2, vec![1.0, f32::NAN, 5.0, -f32::NAN]);
        let pooled = max_pool(&block, 2, Comparator::Value).unwrap();
        assert!(pooled.data()[0].is_nan() && pooled.data()[0].is_sign_positive());
        let block = scalar_block(2, vec![1.0, 2.0, 5.0, 3.0]);
        let comparator = [0.0, f32::NAN, 9.0, f32::NAN];
        let pooled = max_pool(&block, 2, Comparator::Image(&comparator)).unwrap();
        assert_eq!(pooled.data(), &[2.0]);
    }

    #[test]
    fn average_pool_means_and_rejects_remainders() {
        let block = scalar_block(2, vec![1.0, 2.0, 3.0, 6.0]);
        assert_eq!(average_pool(&block, 2).unwrap().data(), &[3.0]);
        let block = scalar_block(3, vec![0.0; 9]);
        assert_eq!(
            average_pool(&block, 2),
            Err(PoolError::NotDivisible {
                axis: 0,
                side: 3,
                patch_len: 2
            })
        );
    }

    #[test]
    fn typed_errors() {
        let block = scalar_block(2, vec![0.0; 4]);
        assert_eq!(
            max_pool(&block, 0, Comparator::Norm),
            Err(PoolError::ZeroPatch)
        );
        assert!(matches!(
            max_pool(&block, 3, Comparator::Norm),
            Err(PoolError::PatchTooLarge { .. })
        ));
        assert_eq!(
            max_pool(&block, 2, Comparator::Image(&[1.0])),
            Err(PoolError::ComparatorLength {
                expected: 4,
                got: 1
            })
        );
        let geometry = Geometry::square(2, 2, true).unwrap();
        let vectors = ImageBlock::zeros(geometry, TensorKey::vector(), 1);
        assert!(matches!(
            max_pool(&vectors, 2, Comparator::Value),
            Err(PoolError::ValueOfTensor { .. })
        ));
    }
}
