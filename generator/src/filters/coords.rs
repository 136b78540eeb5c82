//! The coordinates of a filter and how a group element moves them.
//!
//! A filter of side `M`, dimension `d` and tensor order `k` is an array of shape
//! `(M,)*d + (d,)*k`, flattened row-major: coordinate `c = pixel · d^k + t`, where `pixel` is the
//! row-major index of the pixel and `t` the row-major index of the tensor entry `(a_1..a_k)`.
//!
//! A group element `g` maps the unit filter `e_c` to `±e_{c'}` exactly as ginjax's
//! `times_group_element` does (fixtures README, `group_action.json`):
//! `output[y] = det(g)^p ρ(g) input[x]` with `x − centre = g⁻¹ (y − centre)`, so the pixel at
//! centred offset `o` moves to `g·o`, and a tensor index `a` moves to the row `n` with
//! `col(n) = a`, picking up `sign(n)`.

use crate::group::SignedPermutation;

use super::FilterError;

/// Largest number of coordinates a bank may have (coordinate indices are stored as `u32`).
const MAX_COORDS: u64 = u32::MAX as u64;

/// Largest tensor order k of a bank. For d ≥ 2 the coordinate limit is stricter (2^32 exceeds
/// it), so this bounds d = 1, where d^k = 1 for every k: without it a huge k (from a JSON file)
/// would make the coordinate count loop k times and the shape allocate k entries.
pub const MAX_TENSOR_ORDER: usize = 32;

/// The coordinate space `(M,)*d + (d,)*k` of one filter bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordSpace {
    dim: usize,
    size: usize,
    k: usize,
    pixels: usize,
    tensor_len: usize,
}

impl CoordSpace {
    /// The space of filters of dimension `dim`, side `size` and tensor order `k`.
    ///
    /// Fails when `dim` or `size` is 0 or the number of coordinates does not fit in 32 bits.
    pub fn new(dim: usize, size: usize, k: usize) -> Result<Self, FilterError> {
        if dim == 0 {
            return Err(FilterError::ZeroDimension);
        }
        if size == 0 {
            return Err(FilterError::ZeroSize);
        }
        if k > MAX_TENSOR_ORDER {
            return Err(FilterError::TensorOrderTooLarge(k));
        }
        let too_large = || FilterError::TooManyCoordinates { dim, size, k };
        let pixels = checked_pow(size as u64, dim).ok_or_else(too_large)?;
        let tensor_len = checked_pow(dim as u64, k).ok_or_else(too_large)?;
        let len = pixels.checked_mul(tensor_len).ok_or_else(too_large)?;
        if len > MAX_COORDS {
            return Err(too_large());
        }
        Ok(Self {
            dim,
            size,
            k,
            pixels: pixels as usize,
            tensor_len: tensor_len as usize,
        })
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The filter side length M.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The tensor order k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The number of pixels, M^d.
    pub fn pixels(&self) -> usize {
        self.pixels
    }

    /// The number of tensor entries per pixel, d^k.
    pub fn tensor_len(&self) -> usize {
        self.tensor_len
    }

    /// The number of coordinates, M^d · d^k.
    pub fn len(&self) -> usize {
        self.pixels * self.tensor_len
    }

    /// True when there are no coordinates (never: M ≥ 1 and d ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The array shape `(M,)*d + (d,)*k`.
    pub fn shape(&self) -> Vec<usize> {
        let mut shape = vec![self.size; self.dim];
        shape.extend(std::iter::repeat_n(self.dim, self.k));
        shape
    }

    /// The pixel of a coordinate (row-major pixel index).
    pub fn pixel_of(&self, coord: usize) -> usize {
        coord / self.tensor_len
    }

    /// The tensor entry of a coordinate (row-major index into `(d,)*k`).
    pub fn tensor_of(&self, coord: usize) -> usize {
        coord % self.tensor_len
    }

    /// The uncentred per-axis index `0..M` of a pixel, axis 0 first.
    pub fn pixel_index(&self, pixel: usize) -> Vec<usize> {
        digits(pixel, self.size, self.dim)
    }

    /// Twice the centred offset of a pixel: `2·index − (M − 1)` per axis (an integer even when
    /// M is even and the centre falls between pixels).
    pub fn doubled_offset(&self, pixel: usize) -> Vec<i64> {
        self.pixel_index(pixel)
            .into_iter()
            .map(|i| 2 * i as i64 - (self.size as i64 - 1))
            .collect()
    }
}

/// How one group element permutes the coordinates of a [`CoordSpace`], with signs.
#[derive(Debug, Clone)]
pub struct CoordAction {
    tensor_len: usize,
    pixel_map: Vec<u32>,
    tensor_map: Vec<u32>,
    tensor_sign: Vec<i8>,
}

impl CoordAction {
    /// Tabulates the action of `g` (of dimension `space.dim()`) with parity `parity`.
    pub fn new(space: &CoordSpace, g: &SignedPermutation, parity: u8) -> Self {
        debug_assert_eq!(g.dim(), space.dim());
        let m = space.size() as i64;
        let pixel_map = (0..space.pixels())
            .map(|pixel| {
                let moved = g.apply(&space.doubled_offset(pixel));
                moved
                    .iter()
                    .fold(0u32, |acc, &o| acc * m as u32 + ((o + m - 1) / 2) as u32)
            })
            .collect();
        // `tensor_action` gathers (output n reads input σ(n)); a unit filter scatters, so
        // input index σ(n) moves to n.
        let det_factor: i8 = if parity % 2 == 1 { g.det() } else { 1 };
        let mut tensor_map = vec![0u32; space.tensor_len()];
        let mut tensor_sign = vec![0i8; space.tensor_len()];
        for (n, (src, sign)) in g.tensor_action(space.k()).into_iter().enumerate() {
            tensor_map[src] = n as u32;
            tensor_sign[src] = det_factor * sign;
        }
        Self {
            tensor_len: space.tensor_len(),
            pixel_map,
            tensor_map,
            tensor_sign,
        }
    }

    /// Where `g` sends the unit filter `e_coord`: `g·e_coord = sign · e_target`.
    #[inline]
    pub fn apply(&self, coord: usize) -> (usize, i8) {
        let pixel = coord / self.tensor_len;
        let t = coord % self.tensor_len;
        let target = self.pixel_map[pixel] as usize * self.tensor_len + self.tensor_map[t] as usize;
        (target, self.tensor_sign[t])
    }
}

/// `base^exp`, or `None` on overflow of `u64`.
pub(crate) fn checked_pow(base: u64, exp: usize) -> Option<u64> {
    (0..exp).try_fold(1u64, |acc, _| acc.checked_mul(base))
}

/// The `count` base-`base` digits of `n`, most significant first.
fn digits(mut n: usize, base: usize, count: usize) -> Vec<usize> {
    let mut out = vec![0; count];
    for slot in out.iter_mut().rev() {
        *slot = n % base;
        n /= base;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::Group;

    fn element(rows: &[Vec<i64>]) -> SignedPermutation {
        SignedPermutation::from_matrix(rows).unwrap()
    }

    #[test]
    fn quarter_turn_moves_pixel_and_vector_like_ginjax() {
        // ginjax's `times_group_element` on a 3×3 vector image, pixel (0,1) = (1,0); g5 = [[0,-1],[1,0]] gives pixel (1,0)
        // with value (0,1).
        let space = CoordSpace::new(2, 3, 1).unwrap();
        let g5 = element(&[vec![0, -1], vec![1, 0]]);
        let action = CoordAction::new(&space, &g5, 0);
        let source = 2; // pixel (0,1) is pixel 1, component 0
        assert_eq!(action.apply(source), (3 * 2 + 1, 1)); // pixel (1,0) = 3, component 1
    }

    #[test]
    fn single_pixel_vector_and_pseudovector() {
        // ginjax's `times_group_element` on a single-pixel vector (1,2): g1 → (1,−2) for p=0, (−1,2) for p=1; g5 → (−2,1).
        let space = CoordSpace::new(2, 1, 1).unwrap();
        let apply = |g: &SignedPermutation, p: u8, v: [i64; 2]| {
            let action = CoordAction::new(&space, g, p);
            let mut out = [0i64; 2];
            for (c, &x) in v.iter().enumerate() {
                let (t, s) = action.apply(c);
                out[t] += s as i64 * x;
            }
            out
        };
        let g1 = element(&[vec![1, 0], vec![0, -1]]);
        let g5 = element(&[vec![0, -1], vec![1, 0]]);
        assert_eq!(apply(&g1, 0, [1, 2]), [1, -2]);
        assert_eq!(apply(&g1, 1, [1, 2]), [-1, 2]);
        assert_eq!(apply(&g5, 0, [1, 2]), [-2, 1]);
    }

    #[test]
    fn two_tensor_transforms_as_g_t_gt() {
        // ginjax's `times_group_element` on a 2-tensor T = [[1,2],[3,4]], g5 → g T gᵀ = [[4,−3],[−2,1]].
        let space = CoordSpace::new(2, 1, 2).unwrap();
        let g5 = element(&[vec![0, -1], vec![1, 0]]);
        let action = CoordAction::new(&space, &g5, 0);
        let mut out = [0i64; 4];
        for (c, x) in [1i64, 2, 3, 4].into_iter().enumerate() {
            let (t, s) = action.apply(c);
            out[t] += s as i64 * x;
        }
        assert_eq!(out, [4, -3, -2, 1]);
    }

    #[test]
    fn scalar_image_moves_like_the_spec_examples() {
        // On a square 3×3 image ginjax's `times_group_element` rules give: g1 flips
        // left-right, g4 transposes, g5 is numpy.rot90.
        let space = CoordSpace::new(2, 3, 0).unwrap();
        let input: Vec<i64> = (0..9).collect();
        let act = |g: &SignedPermutation| {
            let action = CoordAction::new(&space, g, 0);
            let mut out = vec![0i64; 9];
            for (c, &x) in input.iter().enumerate() {
                let (t, s) = action.apply(c);
                out[t] += s as i64 * x;
            }
            out
        };
        let group = Group::hyperoctahedral(2).unwrap();
        let e = group.elements();
        assert_eq!(act(&e[1]), vec![2, 1, 0, 5, 4, 3, 8, 7, 6]);
        assert_eq!(act(&e[2]), vec![6, 7, 8, 3, 4, 5, 0, 1, 2]);
        assert_eq!(act(&e[4]), vec![0, 3, 6, 1, 4, 7, 2, 5, 8]);
        assert_eq!(act(&e[5]), vec![2, 5, 8, 1, 4, 7, 0, 3, 6]);
    }

    #[test]
    fn even_sizes_map_pixels_about_the_between_pixel_centre() {
        let space = CoordSpace::new(1, 2, 0).unwrap();
        let flip = element(&[vec![-1]]);
        let action = CoordAction::new(&space, &flip, 0);
        assert_eq!(action.apply(0), (1, 1));
        assert_eq!(action.apply(1), (0, 1));
    }

    #[test]
    fn shapes_and_overflow() {
        let space = CoordSpace::new(3, 5, 2).unwrap();
        assert_eq!(space.shape(), vec![5, 5, 5, 3, 3]);
        assert_eq!(space.len(), 125 * 9);
        assert_eq!(CoordSpace::new(2, 0, 0), Err(FilterError::ZeroSize));
        assert!(matches!(
            CoordSpace::new(6, 3, 30),
            Err(FilterError::TooManyCoordinates { .. })
        ));
        // d = 1 has one tensor component for every k: the order itself is bounded.
        assert_eq!(CoordSpace::new(1, 3, 32).unwrap().len(), 3);
        assert_eq!(
            CoordSpace::new(1, 3, usize::MAX),
            Err(FilterError::TensorOrderTooLarge(usize::MAX))
        );
    }
}
