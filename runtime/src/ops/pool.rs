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
use crate::kernels::transpose::deinterleave;
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
    let in_len = *block.geometry().spatial().last().expect("d ≥ 1");
    let out_len = *patches.geometry.spatial().last().expect("d ≥ 1");
    let in_rows = pixels / in_len;
    // Each member of a patch: (its input row offset, its position `dx` along the last axis).
    let members: Vec<(usize, usize)> = patches
        .members
        .iter()
        .map(|&m| (m / in_len, m % in_len))
        .collect();
    // Every value is written below.
    let mut out = buffers::take(block.channels() * out_pixels * comps);
    let mut phased = vec![0f32; in_rows * patch_len * out_len];
    let mut member = vec![0u32; out_len];
    let mut score = vec![0f32; out_len];
    let mut best = Vec::with_capacity(out_pixels);
    let mut row_scores = vec![0f32; in_len];
    for c in 0..block.channels() {
        let channel = block.channel(c);
        // The scores with every input row split into `patch_len` phases along the last axis
        // (`phased[(r · patch_len + dx) · out_len + x]` is pixel `x · patch_len + dx` of row
        // `r`), so that a member's scores over an output row are contiguous.
        let values = comparator_values(comparator, channel, pixels, c);
        for (r, rows) in phased.chunks_exact_mut(patch_len * out_len).enumerate() {
            let scores: &[f32] = match values {
                Some(values) => &values[r * in_len..(r + 1) * in_len],
                None => {
                    let row = &channel[r * in_len * comps..(r + 1) * in_len * comps];
                    for (s, px) in row_scores.iter_mut().zip(row.chunks_exact(comps)) {
                        *s = pixel_norm(px);
                    }
                    &row_scores
                }
            };
            deinterleave(&scores[..out_len * patch_len], patch_len, rows, out_len);
        }
        best.clear();
        for &origin in patches.origins.iter().step_by(out_len) {
            let r0 = origin / in_len;
            let phase = |&(dr, dx): &(usize, usize)| {
                let start = ((r0 + dr) * patch_len + dx) * out_len;
                &phased[start..start + out_len]
            };
            score.copy_from_slice(phase(&members[0]));
            member.fill(0);
            for (m, offsets) in members.iter().enumerate().skip(1) {
                choose(phase(offsets), m as u32, &mut score, &mut member);
            }
            let row_start = r0 * in_len;
            best.extend(
                member
                    .iter()
                    .enumerate()
                    .map(|(x, &m)| row_start + x * patch_len + patches.members[m as usize]),
            );
        }
        let out_channel = &mut out[c * out_pixels * comps..(c + 1) * out_pixels * comps];
        for (dst, &b) in out_channel.chunks_exact_mut(comps).zip(&best) {
            dst.copy_from_slice(&channel[b * comps..(b + 1) * comps]);
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

/// Channel `c`'s comparator values when they are not the pixels' norms: the channel's own
/// values ([`Comparator::Value`], scalars only) or the given image's channel.
fn comparator_values<'a>(
    comparator: Comparator<'a>,
    channel: &'a [f32],
    pixels: usize,
    c: usize,
) -> Option<&'a [f32]> {
    match comparator {
        Comparator::Norm => None,
        Comparator::Value => Some(channel),
        Comparator::Image(values) => Some(&values[c * pixels..(c + 1) * pixels]),
    }
}

/// One member's turn over an output row of [`max_pool_of`]: where its `scores` win, the best
/// `score` and the winning `member` number become its own. A member wins when it is larger
/// or NaN, unless the best so far is NaN; ties keep the earlier member (ginjax's `argmax`).
/// Selects rather than branches (which member wins is data, and unpredictable), on 32-bit
/// lanes, so that the loop vectorises.
#[inline(always)]
fn choose(scores: &[f32], m: u32, score: &mut [f32], member: &mut [u32]) {
    for ((&s, bs), bm) in scores.iter().zip(score.iter_mut()).zip(member.iter_mut()) {
        let wins = (s > *bs) | s.is_nan() & !bs.is_nan();
        *bm = if wins { m } else { *bm };
        *bs = if wins { s } else { *bs };
    }
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

    /// The pool patch by patch, member by member: the first member with the largest score
    /// (a NaN score wins unless the best so far is NaN); scores are the pixel norms, or the
    /// given comparator.
    fn reference(
        block: &ImageBlock,
        patch_len: usize,
        comparator: Option<&[f32]>,
    ) -> (Vec<f32>, Vec<usize>) {
        let sides = block.geometry().spatial().to_vec();
        let out: Vec<usize> = sides.iter().map(|n| n / patch_len).collect();
        let comps = block.components();
        let (pixels, out_pixels) = (block.geometry().pixels(), out.iter().product::<usize>());
        let index = |coords: &[usize], sides: &[usize]| {
            coords.iter().zip(sides).fold(0, |acc, (c, n)| acc * n + c)
        };
        let (mut values, mut choices) = (Vec::new(), Vec::new());
        for c in 0..block.channels() {
            let channel = block.channel(c);
            let score = |p: usize| match comparator {
                Some(values) => values[c * pixels + p],
                None => pixel_norm(&channel[p * comps..(p + 1) * comps]),
            };
            for q in 0..out_pixels {
                let mut rest = q;
                let mut origin = vec![0; sides.len()];
                for a in (0..sides.len()).rev() {
                    origin[a] = rest % out[a] * patch_len;
                    rest /= out[a];
                }
                let mut best: Option<(usize, f32)> = None;
                for m in 0..patch_len.pow(sides.len() as u32) {
                    let mut rest = m;
                    let mut coords = origin.clone();
                    for a in (0..sides.len()).rev() {
                        coords[a] += rest % patch_len;
                        rest /= patch_len;
                    }
                    let p = index(&coords, &sides);
                    let s = score(p);
                    best = match best {
                        Some((_, b)) if b.is_nan() || !(s > b || s.is_nan()) => best,
                        _ => Some((p, s)),
                    };
                }
                let (p, _) = best.expect("a patch has members");
                choices.push(p);
                values.extend_from_slice(&channel[p * comps..(p + 1) * comps]);
            }
        }
        (values, choices)
    }

    #[test]
    fn max_pool_matches_a_patch_by_patch_reference() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // Few distinct values, so that ties are common.
            ((seed >> 24) % 9) as f32 - 4.0
        };
        for (sides, patch_len, key) in [
            (vec![8, 6], 2, TensorKey::vector()),
            (vec![7, 9], 2, TensorKey::scalar()),
            (vec![9, 10], 3, TensorKey::vector()),
            (vec![4, 5, 6], 2, TensorKey::vector()),
            (vec![6, 7, 3], 3, TensorKey::scalar()),
            (vec![11], 2, TensorKey::new(2, 0)),
        ] {
            let geometry = Geometry::new(sides.clone(), vec![true; sides.len()]).unwrap();
            let comps = key.components(sides.len());
            let len = 3 * geometry.pixels() * comps;
            let mut data: Vec<f32> = (0..len).map(|_| next()).collect();
            data[comps] = f32::NAN;
            let block = ImageBlock::new(geometry.clone(), key.clone(), 3, data).unwrap();
            let (pooled, choices) =
                max_pool_with_choices(&block, patch_len, Comparator::Norm).unwrap();
            let (values, want) = reference(&block, patch_len, None);
            assert_eq!(choices, want, "{sides:?}, patch {patch_len}");
            let same = |a: &f32, b: &f32| a == b || a.is_nan() && b.is_nan();
            assert!(pooled.data().iter().zip(&values).all(|(a, b)| same(a, b)));
            let comparator: Vec<f32> = (0..3 * geometry.pixels()).map(|_| next()).collect();
            let (_, choices) =
                max_pool_with_choices(&block, patch_len, Comparator::Image(&comparator)).unwrap();
            assert_eq!(choices, reference(&block, patch_len, Some(&comparator)).1);
            if key.is_scalar() {
                let (_, choices) =
                    max_pool_with_choices(&block, patch_len, Comparator::Value).unwrap();
                assert_eq!(choices, reference(&block, patch_len, Some(block.data())).1);
            }
        }
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
