//! Generic convolutions of geometric images (ginjax `convolve` and `convolve_contract`).
//!
//! Both are cross-correlations (the filter is not flipped) of a block of `in_c` images with a
//! [`FilterArray`] of shape `(out_c, in_c, M_0…M_{d−1}, (d,)*k_f)`, after the padding of
//! [`crate::ops::padding`]:
//! - [`convolve`] takes the tensor product, image indices first:
//!   `O[o, y, a…, b…] = Σ_i Σ_m P[i, y·s + m·d, a…] · F[o, i, m, b…]`, order `k_img + k_f`;
//! - [`convolve_contract`] contracts the image's `k_img` indices with the **first** `k_img`
//!   filter indices: `O[o, y, j…] = Σ_i Σ_m Σ_a P[i, y·s + m·d, a…] · F[o, i, m, a…, j…]`,
//!   order `k_f − k_img` (so a vector image and a 2-tensor filter give `vᵀT`).
//!
//! The output parity is `p_img + p_f mod 2`, its geometry the plan's output sides with the
//! input's torus flags. This is the straightforward reference path (f32, contiguous inner
//! loops, output channels in parallel); layers may use faster specialised kernels.

use rayon::prelude::*;
use thiserror::Error;

use crate::group::SignedPermutation;
use crate::image::{Geometry, ImageBlock, TensorKey};
use crate::ops::action::{Action, ActionError};
use crate::ops::padding::{ConvOptions, ConvPlan, PaddingError};

/// Errors from a convolution.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConvError {
    /// Resolving the options or padding the input failed.
    #[error(transparent)]
    Padding(#[from] PaddingError),
    /// Filter values whose number does not match the filter's shape.
    #[error("filter of shape {shape:?}: expected {expected} values, got {got}")]
    FilterData {
        /// The filter shape `(out_c, in_c, sides…, (d,)*k)`.
        shape: Vec<usize>,
        /// The number of values the shape needs.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// A filter with no spatial axis, too many axes, or a zero channel count or side.
    #[error("invalid filter shape {shape:?}: need out_c, in_c ≥ 1 and 1..=6 spatial sides ≥ 1")]
    FilterShape {
        /// The filter shape `(out_c, in_c, sides…)`.
        shape: Vec<usize>,
    },
    /// Image and filter have different spatial dimensions.
    #[error("the image is {image}-dimensional but the filter is {filter}-dimensional")]
    Dimension {
        /// The image's spatial dimension.
        image: usize,
        /// The filter's spatial dimension.
        filter: usize,
    },
    /// The image's channel count differs from the filter's input channels.
    #[error("the image has {image} channels but the filter expects {filter} input channels")]
    InChannels {
        /// The image's channels.
        image: usize,
        /// The filter's input channels.
        filter: usize,
    },
    /// The plan was resolved for other filter sides.
    #[error("the plan was resolved for filter sides {plan:?}, the filter has {filter:?}")]
    PlanFilter {
        /// The plan's filter sides.
        plan: Vec<usize>,
        /// The filter's sides.
        filter: Vec<usize>,
    },
    /// `convolve_contract` needs at least as many filter indices as image indices.
    #[error(
        "cannot contract a k = {k_image} image with a k = {k_filter} filter: the filter needs \
         at least k_image tensor indices"
    )]
    ContractOrder {
        /// The image's tensor order.
        k_image: usize,
        /// The filter's tensor order.
        k_filter: usize,
    },
}

/// A bank of convolution filters: row-major `(out_c, in_c, M_0…M_{d−1}, (d,)*k)` f32 values
/// with a tensor key (order k, parity; covariant flags are carried but change no number).
///
/// Filter sides may differ per axis and may be even (which then needs explicit padding).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterArray {
    out_channels: usize,
    in_channels: usize,
    sides: Vec<usize>,
    key: TensorKey,
    data: Vec<f32>,
}

impl FilterArray {
    /// Wraps `data` after checking its length against the shape.
    pub fn new(
        out_channels: usize,
        in_channels: usize,
        sides: Vec<usize>,
        key: TensorKey,
        data: Vec<f32>,
    ) -> Result<Self, ConvError> {
        let dim = sides.len();
        if out_channels == 0
            || in_channels == 0
            || dim == 0
            || dim > crate::image::MAX_DIM
            || sides.contains(&0)
        {
            let mut shape = vec![out_channels, in_channels];
            shape.extend(&sides);
            return Err(ConvError::FilterShape { shape });
        }
        let expected =
            out_channels * in_channels * sides.iter().product::<usize>() * key.components(dim);
        if data.len() != expected {
            let mut shape = vec![out_channels, in_channels];
            shape.extend(&sides);
            shape.extend(std::iter::repeat_n(dim, key.k()));
            return Err(ConvError::FilterData {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Self {
            out_channels,
            in_channels,
            sides,
            key,
            data,
        })
    }

    /// Number of output channels.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Number of input channels.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// The spatial sides `M_0…M_{d−1}`.
    pub fn sides(&self) -> &[usize] {
        &self.sides
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.sides.len()
    }

    /// The tensor key (order, parity).
    pub fn key(&self) -> &TensorKey {
        &self.key
    }

    /// Number of filter pixels `Π M_i`.
    pub fn pixels(&self) -> usize {
        self.sides.iter().product()
    }

    /// Tensor components per pixel, d^k.
    pub fn components(&self) -> usize {
        self.key.components(self.dim())
    }

    /// The full row-major shape `(out_c, in_c, sides…, (d,)*k)`.
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = vec![self.out_channels, self.in_channels];
        shape.extend(&self.sides);
        shape.extend(std::iter::repeat_n(self.dim(), self.key.k()));
        shape
    }

    /// All values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// All values, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The action of a group element on every filter: each `(o, i)` filter image is
    /// transformed as by [`crate::ops::action`] (pixels moved about the filter centre, tensor
    /// indices multiplied by `g`, times `det(g)^parity`); sides are permuted as `|g·M|`.
    pub fn times_group_element(&self, g: &SignedPermutation) -> Result<FilterArray, ActionError> {
        let geometry =
            Geometry::new(self.sides.clone(), vec![false; self.dim()]).map_err(|_| {
                ActionError::Dimension {
                    element_dim: g.dim(),
                    image_dim: self.dim(),
                }
            })?;
        let action = Action::new(g, &geometry)?;
        let mut data = vec![0.0; self.data.len()];
        action.apply_values(&self.data, self.key.k(), self.key.parity(), &mut data)?;
        Ok(Self {
            out_channels: self.out_channels,
            in_channels: self.in_channels,
            sides: action.output_geometry().spatial().to_vec(),
            key: self.key.clone(),
            data,
        })
    }

    /// The filter `(sides…, (d,)*k)` from input channel `i` to output channel `o`.
    pub fn filter(&self, o: usize, i: usize) -> &[f32] {
        let len = self.pixels() * self.components();
        let start = (o * self.in_channels + i) * len;
        &self.data[start..start + len]
    }
}

/// How the tensor parts of image and filter combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Tensor product, image indices first.
    Product,
    /// Contract the image's indices with the first filter indices.
    Contract,
}

/// ginjax `convolve`: convolution with tensor product (image indices first).
pub fn convolve(
    image: &ImageBlock,
    filter: &FilterArray,
    options: &ConvOptions,
) -> Result<ImageBlock, ConvError> {
    let plan = resolve(image, filter, options)?;
    convolve_with_plan(image, filter, &plan)
}

/// ginjax `convolve_contract`: convolution contracting the image's k indices with the first k
/// filter indices.
pub fn convolve_contract(
    image: &ImageBlock,
    filter: &FilterArray,
    options: &ConvOptions,
) -> Result<ImageBlock, ConvError> {
    let plan = resolve(image, filter, options)?;
    convolve_contract_with_plan(image, filter, &plan)
}

/// Resolves `options` for this image and filter (checking dimensions and channels).
pub fn resolve(
    image: &ImageBlock,
    filter: &FilterArray,
    options: &ConvOptions,
) -> Result<ConvPlan, ConvError> {
    check(image, filter)?;
    Ok(options.resolve(image.geometry(), filter.sides())?)
}

/// [`convolve`] with an already resolved plan (reusable across images of one geometry).
pub fn convolve_with_plan(
    image: &ImageBlock,
    filter: &FilterArray,
    plan: &ConvPlan,
) -> Result<ImageBlock, ConvError> {
    run(image, filter, plan, Combine::Product)
}

/// [`convolve_contract`] with an already resolved plan.
pub fn convolve_contract_with_plan(
    image: &ImageBlock,
    filter: &FilterArray,
    plan: &ConvPlan,
) -> Result<ImageBlock, ConvError> {
    run(image, filter, plan, Combine::Contract)
}

fn check(image: &ImageBlock, filter: &FilterArray) -> Result<(), ConvError> {
    if image.geometry().dim() != filter.dim() {
        return Err(ConvError::Dimension {
            image: image.geometry().dim(),
            filter: filter.dim(),
        });
    }
    if image.channels() != filter.in_channels() {
        return Err(ConvError::InChannels {
            image: image.channels(),
            filter: filter.in_channels(),
        });
    }
    Ok(())
}

fn run(
    image: &ImageBlock,
    filter: &FilterArray,
    plan: &ConvPlan,
    combine: Combine,
) -> Result<ImageBlock, ConvError> {
    check(image, filter)?;
    if plan.filter_spatial() != filter.sides() {
        return Err(ConvError::PlanFilter {
            plan: plan.filter_spatial(),
            filter: filter.sides().to_vec(),
        });
    }
    let d = filter.dim();
    let (k_img, k_f) = (image.key().k(), filter.key().k());
    let parity = (image.key().parity() + filter.key().parity()) % 2;
    let key = match combine {
        Combine::Contract => {
            if k_f < k_img {
                return Err(ConvError::ContractOrder {
                    k_image: k_img,
                    k_filter: k_f,
                });
            }
            TensorKey::new(k_f - k_img, parity)
        }
        Combine::Product => {
            let mut flags = image.key().covariant().to_vec();
            flags.extend(filter.key().covariant());
            TensorKey::with_covariant(flags, parity)
        }
    };
    let ci = image.components();
    let cf = filter.components();
    let co = key.components(d);
    // (image component, output component, filter component) triples of one pixel's product
    let triples: Vec<(usize, usize, usize)> = match combine {
        Combine::Contract => (0..ci)
            .flat_map(|a| (0..co).map(move |j| (a, j, a * co + j)))
            .collect(),
        Combine::Product => (0..ci)
            .flat_map(|a| (0..cf).map(move |b| (a, a * cf + b, b)))
            .collect(),
    };
    // planar layouts: padded (in_c, ci, padded pixels), output (out_c, co, output pixels)
    let padded = plan.pad_block_planar(image)?;
    let in_c = filter.in_channels();
    let out_c = filter.out_channels();
    let plane_len = plan.padded_pixels();
    let out_pixels = plan.output_pixels();
    let row_len = plan.axes()[d - 1].output_len;
    let step = plan.axes()[d - 1].stride;
    let row_offsets: Vec<usize> = plan.output_offsets().into_iter().step_by(row_len).collect();
    let filter_offsets = plan.filter_offsets();
    let mut planar = vec![0.0f32; out_c * co * out_pixels];
    planar
        .par_chunks_mut(co * out_pixels)
        .enumerate()
        .for_each(|(o, out_o)| {
            for i in 0..in_c {
                let padded_i = &padded[i * ci * plane_len..(i + 1) * ci * plane_len];
                let filter_oi = filter.filter(o, i);
                for (m, &m_off) in filter_offsets.iter().enumerate() {
                    let f = &filter_oi[m * cf..(m + 1) * cf];
                    for &(a, j, b) in &triples {
                        let w = f[b];
                        if w == 0.0 {
                            continue;
                        }
                        let src_plane = &padded_i[a * plane_len..(a + 1) * plane_len];
                        let dst_plane = &mut out_o[j * out_pixels..(j + 1) * out_pixels];
                        for (dst_row, &row_off) in
                            dst_plane.chunks_exact_mut(row_len).zip(&row_offsets)
                        {
                            let start = row_off + m_off;
                            axpy(dst_row, w, &src_plane[start..], step);
                        }
                    }
                }
            }
        });
    // back to the interleaved (out_c, output pixels, co) layout
    let out = if co == 1 {
        planar
    } else {
        let mut out = vec![0.0f32; planar.len()];
        for (src, dst) in planar
            .chunks_exact(co * out_pixels)
            .zip(out.chunks_exact_mut(co * out_pixels))
        {
            for (j, plane) in src.chunks_exact(out_pixels).enumerate() {
                for (y, &v) in plane.iter().enumerate() {
                    dst[y * co + j] = v;
                }
            }
        }
        out
    };
    let geometry = plan.output_geometry();
    Ok(ImageBlock::new(geometry, key, out_c, out).expect("output length matches its shape"))
}

/// `dst[x] += w · src[x·step]` for every `x` of `dst`.
#[inline]
fn axpy(dst: &mut [f32], w: f32, src: &[f32], step: usize) {
    if step == 1 {
        let n = dst.len();
        for (o, &v) in dst.iter_mut().zip(&src[..n]) {
            *o += w * v;
        }
    } else {
        for (o, &v) in dst.iter_mut().zip(src.iter().step_by(step)) {
            *o += w * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{Group, GroupKind};
    use crate::ops::action::times_group_element_block;
    use crate::ops::padding::Padding;
    use proptest::prelude::*;

    fn image(spatial: Vec<usize>, torus: Vec<bool>, k: usize, data: Vec<f32>) -> ImageBlock {
        let g = Geometry::new(spatial, torus).unwrap();
        ImageBlock::new(g, TensorKey::new(k, 0), 1, data).unwrap()
    }

    fn arange(n: usize) -> Vec<f32> {
        (0..n).map(|v| v as f32).collect()
    }

    fn one_hot(sides: Vec<usize>, at: usize) -> FilterArray {
        let n = sides.iter().product();
        let mut data = vec![0.0; n];
        data[at] = 1.0;
        FilterArray::new(1, 1, sides, TensorKey::scalar(), data).unwrap()
    }

    #[test]
    fn spec_example_a_shifts() {
        let opts = ConvOptions::default();
        let f = one_hot(vec![3, 3], 1);
        let x = image(vec![3, 3], vec![true, true], 0, arange(9));
        let y = convolve_contract(&x, &f, &opts).unwrap();
        assert_eq!(y.data(), &[6., 7., 8., 0., 1., 2., 3., 4., 5.]);
        let x = image(vec![3, 3], vec![false, false], 0, arange(9));
        let y = convolve_contract(&x, &f, &opts).unwrap();
        assert_eq!(y.data(), &[0., 0., 0., 0., 1., 2., 3., 4., 5.]);
        let x = image(vec![3, 3], vec![true, false], 0, arange(9));
        let y = convolve_contract(&x, &one_hot(vec![3, 3], 0), &opts).unwrap();
        assert_eq!(y.data(), &[0., 6., 7., 0., 0., 1., 0., 3., 4.]);
        assert_eq!(y.geometry().torus(), &[true, false]);
    }

    #[test]
    fn spec_example_b_contract_is_v_transpose_t() {
        let mut v = vec![0.0; 18];
        v[8] = 1.0;
        v[9] = 2.0;
        let x = image(vec![3, 3], vec![true, true], 1, v);
        let mut t = vec![0.0; 36];
        t[16..20].copy_from_slice(&[1., 2., 3., 4.]);
        let f = FilterArray::new(1, 1, vec![3, 3], TensorKey::new(2, 0), t).unwrap();
        let y = convolve_contract(&x, &f, &ConvOptions::default()).unwrap();
        assert_eq!(y.key(), &TensorKey::vector());
        assert_eq!(&y.data()[8..10], &[7., 10.]);
        let y = convolve(&x, &f, &ConvOptions::default()).unwrap();
        assert_eq!(y.key().k(), 3);
        assert_eq!(&y.data()[32..40], &[1., 2., 3., 4., 2., 4., 6., 8.]);
    }

    #[test]
    fn spec_examples_c_d_e_one_dimensional() {
        let line = |v: Vec<f32>, torus| image(vec![v.len()], vec![torus], 0, v);
        let f1 =
            |v: Vec<f32>| FilterArray::new(1, 1, vec![v.len()], TensorKey::scalar(), v).unwrap();
        let x = line(vec![1., 2., 3., 4.], true);
        let same = ConvOptions::with_padding(Padding::Same).stride(2);
        assert_eq!(
            convolve_contract(&x, &f1(vec![0., 1., 0.]), &same)
                .unwrap()
                .data(),
            &[1., 3.]
        );
        let torus = ConvOptions::with_padding(Padding::Torus).stride(2);
        assert_eq!(
            convolve_contract(&x, &f1(vec![1., 0., 0.]), &torus)
                .unwrap()
                .data(),
            &[4., 2.]
        );
        let up = ConvOptions::with_padding(Padding::Explicit(vec![(1, 1)])).lhs_dilation(2);
        let x = line(vec![1., 2.], true);
        assert_eq!(
            convolve_contract(&x, &f1(vec![1., 1.]), &up)
                .unwrap()
                .data(),
            &[1., 1., 2., 2.]
        );
        let x = line(arange(5), true);
        let dil = ConvOptions::default().rhs_dilation(2);
        assert_eq!(
            convolve_contract(&x, &f1(vec![1., 10., 100.]), &dil)
                .unwrap()
                .data(),
            &[203., 314., 420., 31., 142.]
        );
    }

    #[test]
    fn shape_errors() {
        let x = image(vec![3, 3], vec![true, true], 2, vec![0.0; 36]);
        let f = FilterArray::new(1, 1, vec![3, 3], TensorKey::vector(), vec![0.0; 18]).unwrap();
        assert_eq!(
            convolve_contract(&x, &f, &ConvOptions::default()).unwrap_err(),
            ConvError::ContractOrder {
                k_image: 2,
                k_filter: 1
            }
        );
        let f2 = FilterArray::new(1, 2, vec![3, 3], TensorKey::scalar(), vec![0.0; 18]).unwrap();
        assert_eq!(
            convolve(&x, &f2, &ConvOptions::default()).unwrap_err(),
            ConvError::InChannels {
                image: 1,
                filter: 2
            }
        );
        assert!(matches!(
            FilterArray::new(1, 1, vec![3, 3], TensorKey::scalar(), vec![0.0; 8]),
            Err(ConvError::FilterData {
                expected: 9,
                got: 8,
                ..
            })
        ));
    }

    /// The group average `Σ_g g·F` of a filter (invariant under every element).
    fn symmetrize(f: &FilterArray, group: &Group) -> FilterArray {
        let mut sum = f.clone();
        sum.data_mut().fill(0.0);
        for g in group.elements() {
            let gf = f.times_group_element(g).unwrap();
            for (s, v) in sum.data_mut().iter_mut().zip(gf.data()) {
                *s += v;
            }
        }
        sum
    }

    #[allow(clippy::type_complexity)]
    fn arb_equivariance_case() -> impl Strategy<
        Value = (
            usize,
            Vec<usize>,
            Vec<bool>,
            usize,
            usize,
            u8,
            u8,
            usize,
            Vec<i32>,
            Vec<i32>,
        ),
    > {
        (
            2usize..=3,
            1usize..=2,
            0usize..=1,
            0u8..=1,
            0u8..=1,
            0usize..48,
        )
            .prop_flat_map(|(d, k_img, k_extra, p_img, p_f, gi)| {
                let k_f = k_img + k_extra;
                (
                    Just(d),
                    prop::collection::vec(if d == 2 { 3usize..=6 } else { 2usize..=4 }, d),
                    prop::collection::vec(any::<bool>(), d),
                    Just(k_img),
                    Just(k_f),
                    Just(p_img),
                    Just(p_f),
                    Just(gi % if d == 2 { 8 } else { 48 }),
                    prop::collection::vec(-4i32..=4, d.pow(k_img as u32) * 6usize.pow(d as u32)),
                    prop::collection::vec(-4i32..=4, d.pow(k_f as u32) * 27),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// With a group-invariant filter, convolution commutes with the action (torus and
        /// zero padding, square or not): conv(g·x, F) = g·conv(x, F).
        #[test]
        fn invariant_filters_give_equivariant_convolutions(
            (d, spatial, torus, k_img, k_f, p_img, p_f, gi, xs, fs) in arb_equivariance_case()
        ) {
            let group = Group::new(GroupKind::Hyperoctahedral, d).unwrap();
            let g = group.elements()[gi];
            let geometry = Geometry::new(spatial.clone(), torus).unwrap();
            let len = geometry.pixels() * d.pow(k_img as u32);
            let x = ImageBlock::new(
                geometry,
                TensorKey::new(k_img, p_img),
                1,
                xs[..len].iter().map(|&v| v as f32).collect(),
            )
            .unwrap();
            let flen = 3usize.pow(d as u32) * d.pow(k_f as u32);
            let raw = FilterArray::new(
                1,
                1,
                vec![3; d],
                TensorKey::new(k_f, p_f),
                fs[..flen].iter().map(|&v| v as f32).collect(),
            )
            .unwrap();
            let f = symmetrize(&raw, &group);
            for h in group.elements() {
                prop_assert_eq!(&f.times_group_element(h).unwrap(), &f);
            }
            let opts = ConvOptions::default();
            for combine in [Combine::Contract, Combine::Product] {
                let conv = |img: &ImageBlock| match combine {
                    Combine::Contract => convolve_contract(img, &f, &opts).unwrap(),
                    Combine::Product => convolve(img, &f, &opts).unwrap(),
                };
                let lhs = conv(&times_group_element_block(&x, &g).unwrap());
                let rhs = times_group_element_block(&conv(&x), &g).unwrap();
                prop_assert_eq!(lhs.geometry(), rhs.geometry());
                prop_assert_eq!(lhs.key(), rhs.key());
                // integer inputs and filters: sums are exact in f32
                prop_assert_eq!(lhs.data(), rhs.data());
            }
        }
    }
}
