//! The action of a group element on geometric images (ginjax `times_group_element`).
//!
//! For a signed permutation `g` acting on an image with spatial sides `N` (d axes), tensor
//! order k and parity p:
//! - the output has sides `N' = |g·N|` (a non-square image changes shape);
//! - the pixel at centred position `x − c` moves to `g·(x − c)`, i.e.
//!   `out[y] = in[x]` with `x − c = gᵀ·(y − c')`, `c = (N−1)/2`, `c' = (N'−1)/2`;
//! - every tensor index is multiplied by `g`:
//!   `out[n₁…n_k] = Σ g[n₁,a₁]⋯g[n_k,a_k] · in[a₁…a_k]` — covariant axes get the very same
//!   transform in ginjax (identical to `g⁻ᵀ` for orthogonal `g`), so the flags change no number;
//! - the result is multiplied by `det(g)^p`;
//! - torus flags are permuted: `new[i] = old[σ(i)]` where row `i` of `g` is non-zero in
//!   column `σ(i)` ([`rotate_torus`]).
//!
//! For signed permutations every output value is ± one input value, so the action is exact.
//! [`Action`] precomputes the pixel index map for one element and one input geometry and can
//! then be applied to many blocks without per-pixel allocation.

use thiserror::Error;

use crate::group::SignedPermutation;
use crate::image::{Geometry, ImageBlock, MultiImage};
use crate::kernels::layout::row_major_strides;

/// Errors from applying a group element.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActionError {
    /// The element's dimension differs from the image's spatial dimension.
    #[error(
        "a {element_dim}×{element_dim} group element cannot act on a {image_dim}-dimensional image"
    )]
    Dimension {
        /// The element's dimension.
        element_dim: usize,
        /// The image's spatial dimension.
        image_dim: usize,
    },
    /// The block's geometry differs from the one the action was prepared for.
    #[error("the action was prepared for geometry {expected}, the block has {got}")]
    Geometry {
        /// The prepared geometry.
        expected: String,
        /// The block's geometry.
        got: String,
    },
    /// Raw values whose length does not match `channels · pixels · d^k`.
    #[error("expected {expected} values (channels · pixels · d^k), got {got}")]
    DataLength {
        /// The length the shape needs.
        expected: usize,
        /// The length given.
        got: usize,
    },
}

/// The permuted torus flags of ginjax `rotate_is_torus`: `new[i] = old[σ(i)]`, `σ(i)` the
/// column of the non-zero entry in row `i` of `g`.
pub fn rotate_torus(g: &SignedPermutation, torus: &[bool]) -> Result<Vec<bool>, ActionError> {
    check_dim(g, torus.len())?;
    Ok((0..g.dim()).map(|i| torus[g.col(i)]).collect())
}

/// The spatial sides after the action, `N' = |g·N|` (`N'_i = N_{σ(i)}`).
pub fn rotate_spatial(g: &SignedPermutation, spatial: &[usize]) -> Result<Vec<usize>, ActionError> {
    check_dim(g, spatial.len())?;
    Ok((0..g.dim()).map(|i| spatial[g.col(i)]).collect())
}

/// The transformed geometry: sides `|g·N|` and permuted torus flags.
pub fn rotate_geometry(
    g: &SignedPermutation,
    geometry: &Geometry,
) -> Result<Geometry, ActionError> {
    let spatial = rotate_spatial(g, geometry.spatial())?;
    let torus = rotate_torus(g, geometry.torus())?;
    Ok(Geometry::new(spatial, torus).expect("a permutation of a valid geometry is valid"))
}

/// How `g` acts on one pixel's k-tensor ([`SignedPermutation::tensor_action`]): for every
/// output component (row-major over `(d,)*k`), the input component it copies and the sign it
/// is multiplied by (det(g)^p is *not* included).
pub fn tensor_map(g: &SignedPermutation, k: usize) -> Vec<(usize, f32)> {
    g.tensor_action(k)
        .into_iter()
        .map(|(src, sign)| (src, f32::from(sign)))
        .collect()
}

fn check_dim(g: &SignedPermutation, image_dim: usize) -> Result<(), ActionError> {
    if g.dim() != image_dim {
        return Err(ActionError::Dimension {
            element_dim: g.dim(),
            image_dim,
        });
    }
    Ok(())
}

/// The action of one group element on images of one geometry, with its pixel map precomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    element: SignedPermutation,
    input: Geometry,
    output: Geometry,
    pixel_source: Vec<usize>,
}

impl Action {
    /// Prepares the action of `g` on images of geometry `input`.
    pub fn new(g: &SignedPermutation, input: &Geometry) -> Result<Self, ActionError> {
        let output = rotate_geometry(g, input)?;
        let in_strides: Vec<isize> = row_major_strides(input.spatial())
            .into_iter()
            .map(|s| s as isize)
            .collect();
        // Along output axis j, input axis σ(j) runs forwards (sign +) or backwards (sign −):
        // x_σ(j) = y_j or N'_j − 1 − y_j.
        let mut offsets = vec![0isize];
        for (j, &len) in output.spatial().iter().enumerate() {
            let stride = in_strides[g.col(j)];
            let (start, step) = if g.sign(j) > 0 {
                (0, stride)
            } else {
                ((len as isize - 1) * stride, -stride)
            };
            let mut next = Vec::with_capacity(offsets.len() * len);
            for &base in &offsets {
                for y in 0..len as isize {
                    next.push(base + start + y * step);
                }
            }
            offsets = next;
        }
        let pixel_source = offsets
            .into_iter()
            .map(|o| usize::try_from(o).expect("source pixels lie inside the image"))
            .collect();
        Ok(Self {
            element: *g,
            input: input.clone(),
            output,
            pixel_source,
        })
    }

    /// The group element.
    pub fn element(&self) -> &SignedPermutation {
        &self.element
    }

    /// The geometry the action was prepared for.
    pub fn input_geometry(&self) -> &Geometry {
        &self.input
    }

    /// The geometry of the transformed images.
    pub fn output_geometry(&self) -> &Geometry {
        &self.output
    }

    /// For every output pixel (row-major), the input pixel whose value it receives.
    pub fn pixel_sources(&self) -> &[usize] {
        &self.pixel_source
    }

    /// The factor `det(g)^parity`.
    pub fn parity_factor(&self, parity: u8) -> f32 {
        if parity % 2 == 1 {
            f32::from(self.element.det())
        } else {
            1.0
        }
    }

    /// Applies the action to raw values laid out `(channels, input spatial…, (d,)*k)`, writing
    /// `(channels, output spatial…, (d,)*k)` into `dst` (same length, fully overwritten).
    pub fn apply_values(
        &self,
        src: &[f32],
        k: usize,
        parity: u8,
        dst: &mut [f32],
    ) -> Result<(), ActionError> {
        let comps = self.input.dim().pow(k as u32);
        let channel_len = self.pixel_source.len() * comps;
        if !src.len().is_multiple_of(channel_len) {
            return Err(ActionError::DataLength {
                expected: (src.len() / channel_len + 1) * channel_len,
                got: src.len(),
            });
        }
        if dst.len() != src.len() {
            return Err(ActionError::DataLength {
                expected: src.len(),
                got: dst.len(),
            });
        }
        let factor = self.parity_factor(parity);
        let map: Vec<(usize, f32)> = tensor_map(&self.element, k)
            .into_iter()
            .map(|(s, sign)| (s, sign * factor))
            .collect();
        for (inp, out) in src
            .chunks_exact(channel_len)
            .zip(dst.chunks_exact_mut(channel_len))
        {
            for (out_px, &p) in out.chunks_exact_mut(comps).zip(&self.pixel_source) {
                let in_px = &inp[p * comps..(p + 1) * comps];
                for (o, &(s, sign)) in out_px.iter_mut().zip(&map) {
                    *o = sign * in_px[s];
                }
            }
        }
        Ok(())
    }

    /// Applies the action to a block (of the prepared geometry), keeping its key.
    pub fn apply_block(&self, block: &ImageBlock) -> Result<ImageBlock, ActionError> {
        if block.geometry() != &self.input {
            return Err(ActionError::Geometry {
                expected: format!("{:?}", self.input),
                got: format!("{:?}", block.geometry()),
            });
        }
        let key = block.key();
        let mut data = vec![0.0; block.data().len()];
        self.apply_values(block.data(), key.k(), key.parity(), &mut data)?;
        Ok(
            ImageBlock::new(self.output.clone(), key.clone(), block.channels(), data)
                .expect("the action keeps the number of values"),
        )
    }

    /// Applies the action to every block of a multi-image (of the prepared geometry), keeping
    /// the block order; the torus flags are permuted.
    pub fn apply(&self, image: &MultiImage) -> Result<MultiImage, ActionError> {
        if image.geometry() != &self.input {
            return Err(ActionError::Geometry {
                expected: format!("{:?}", self.input),
                got: format!("{:?}", image.geometry()),
            });
        }
        let mut out = MultiImage::new(self.output.clone());
        for block in image.blocks() {
            out.insert(self.apply_block(block)?)
                .expect("keys are distinct and share the output geometry");
        }
        Ok(out)
    }
}

/// ginjax `times_group_element` on a block: `g` acting on every channel.
pub fn times_group_element_block(
    block: &ImageBlock,
    g: &SignedPermutation,
) -> Result<ImageBlock, ActionError> {
    Action::new(g, block.geometry())?.apply_block(block)
}

/// ginjax `MultiImage.times_group_element`: `g` acting on every block (with its own k and
/// parity) and on the torus flags.
pub fn times_group_element(
    image: &MultiImage,
    g: &SignedPermutation,
) -> Result<MultiImage, ActionError> {
    Action::new(g, image.geometry())?.apply(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{Group, GroupKind};
    use crate::image::TensorKey;
    use proptest::prelude::*;

    fn d2(index: usize) -> SignedPermutation {
        Group::new(GroupKind::Hyperoctahedral, 2)
            .unwrap()
            .elements()[index]
    }

    fn block(spatial: Vec<usize>, torus: Vec<bool>, k: usize, p: u8, data: Vec<f32>) -> ImageBlock {
        let g = Geometry::new(spatial, torus).unwrap();
        ImageBlock::new(g, TensorKey::new(k, p), 1, data).unwrap()
    }

    #[test]
    fn spec_examples_scalar_2x3() {
        let x = block(
            vec![2, 3],
            vec![true, true],
            0,
            0,
            (0..6).map(|v| v as f32).collect(),
        );
        let cases: [(usize, Vec<usize>, Vec<f32>); 5] = [
            (1, vec![2, 3], vec![2., 1., 0., 5., 4., 3.]),
            (2, vec![2, 3], vec![3., 4., 5., 0., 1., 2.]),
            (4, vec![3, 2], vec![0., 3., 1., 4., 2., 5.]),
            (5, vec![3, 2], vec![2., 5., 1., 4., 0., 3.]),
            (6, vec![3, 2], vec![3., 0., 4., 1., 5., 2.]),
        ];
        for (i, spatial, want) in cases {
            let y = times_group_element_block(&x, &d2(i)).unwrap();
            assert_eq!(y.geometry().spatial(), spatial.as_slice(), "element {i}");
            assert_eq!(y.data(), want.as_slice(), "element {i}");
        }
        let pseudo = block(
            vec![2, 3],
            vec![true, true],
            0,
            1,
            (0..6).map(|v| v as f32).collect(),
        );
        let y = times_group_element_block(&pseudo, &d2(1)).unwrap();
        assert_eq!(y.data(), &[-2., -1., -0., -5., -4., -3.]);
    }

    #[test]
    fn spec_examples_tensors_and_torus() {
        let v = block(vec![1, 1], vec![true, false], 1, 0, vec![1., 2.]);
        assert_eq!(
            times_group_element_block(&v, &d2(1)).unwrap().data(),
            &[1., -2.]
        );
        assert_eq!(
            times_group_element_block(&v, &d2(5)).unwrap().data(),
            &[-2., 1.]
        );
        let pv = block(vec![1, 1], vec![true, false], 1, 1, vec![1., 2.]);
        assert_eq!(
            times_group_element_block(&pv, &d2(1)).unwrap().data(),
            &[-1., 2.]
        );
        let t = block(vec![1, 1], vec![true, false], 2, 0, vec![1., 2., 3., 4.]);
        assert_eq!(
            times_group_element_block(&t, &d2(5)).unwrap().data(),
            &[4., -3., -2., 1.]
        );
        let y = times_group_element_block(&v, &d2(5)).unwrap();
        assert_eq!(y.geometry().torus(), &[false, true]);
        // 3×3 vector image with only pixel (0,1) = (1,0): g5 moves it to (1,0) with value (0,1)
        let mut data = vec![0.0; 18];
        data[2] = 1.0;
        let y = times_group_element_block(&block(vec![3, 3], vec![true; 2], 1, 0, data), &d2(5))
            .unwrap();
        let mut want = vec![0.0; 18];
        want[7] = 1.0;
        assert_eq!(y.data(), want.as_slice());
    }

    #[test]
    fn dimension_mismatch_is_an_error() {
        let x = block(vec![2, 3], vec![true, true], 0, 0, vec![0.0; 6]);
        let g3 = Group::new(GroupKind::Hyperoctahedral, 3)
            .unwrap()
            .elements()[1];
        assert_eq!(
            times_group_element_block(&x, &g3).unwrap_err(),
            ActionError::Dimension {
                element_dim: 3,
                image_dim: 2
            }
        );
    }

    fn arb_case() -> impl Strategy<Value = (ImageBlock, SignedPermutation, SignedPermutation)> {
        (1usize..=3)
            .prop_flat_map(|d| {
                (
                    prop::collection::vec(1usize..=4, d),
                    prop::collection::vec(any::<bool>(), d),
                    0usize..=2,
                    0u8..=1,
                    1usize..=2,
                    0..Group::new(GroupKind::Hyperoctahedral, d).unwrap().order(),
                    0..Group::new(GroupKind::Hyperoctahedral, d).unwrap().order(),
                )
            })
            .prop_flat_map(|(spatial, torus, k, p, channels, gi, hi)| {
                let d = spatial.len();
                let len = channels * spatial.iter().product::<usize>() * d.pow(k as u32);
                (
                    Just((spatial, torus, k, p, channels, gi, hi)),
                    prop::collection::vec(-8i32..8, len),
                )
            })
            .prop_map(|((spatial, torus, k, p, channels, gi, hi), values)| {
                let d = spatial.len();
                let group = Group::new(GroupKind::Hyperoctahedral, d).unwrap();
                let geometry = Geometry::new(spatial, torus).unwrap();
                let data = values.into_iter().map(|v| v as f32).collect();
                let block =
                    ImageBlock::new(geometry, TensorKey::new(k, p), channels, data).unwrap();
                (block, group.elements()[gi], group.elements()[hi])
            })
    }

    proptest! {
        #[test]
        fn action_is_a_group_action((x, g, h) in arb_case()) {
            let hx = times_group_element_block(&x, &h).unwrap();
            let ghx = times_group_element_block(&hx, &g).unwrap();
            let gh_x = times_group_element_block(&x, &g.compose(&h)).unwrap();
            prop_assert_eq!(&ghx, &gh_x);
            let back = times_group_element_block(&hx, &h.inverse()).unwrap();
            prop_assert_eq!(&back, &x);
            let identity = SignedPermutation::identity(x.geometry().dim()).unwrap();
            prop_assert_eq!(&times_group_element_block(&x, &identity).unwrap(), &x);
        }
    }
}
