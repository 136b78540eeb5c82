//! The exact canonical basis: one signed orbit sum per alive orbit.
//!
//! Order: by the orbit's smallest coordinate (row-major), ascending. Sign: the smallest
//! coordinate has coefficient +1. Every coefficient is ±1 and the supports are disjoint.

use super::coords::{CoordAction, CoordSpace};
use super::orbits::Orbits;
use super::Scale;

/// An invariant filter with exact integer coefficients: `Σ sign · e_coord` over `terms`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExactFilter {
    /// `(coordinate, ±1)` pairs, by increasing coordinate; coordinates index the row-major
    /// flattening of `(M,)*d + (d,)*k`.
    pub terms: Vec<(usize, i8)>,
}

impl ExactFilter {
    /// The dense filter of `len` coordinates with every coefficient multiplied by `factor`.
    pub fn to_dense(&self, len: usize, factor: f64) -> Vec<f64> {
        let mut dense = vec![0.0; len];
        for &(coord, sign) in &self.terms {
            dense[coord] = sign as f64 * factor;
        }
        dense
    }

    /// True when `action` maps this filter to itself, checked exactly.
    pub fn is_invariant_under(&self, action: &CoordAction) -> bool {
        let mut moved: Vec<(usize, i8)> = self
            .terms
            .iter()
            .map(|&(c, s)| {
                let (t, sign) = action.apply(c);
                (t, s * sign)
            })
            .collect();
        moved.sort_unstable();
        moved == self.terms
    }

    /// The largest number of terms that fall on one pixel (the squared largest pixel norm).
    pub fn max_terms_per_pixel(&self, space: &CoordSpace) -> usize {
        let mut best = 0;
        let mut current = (usize::MAX, 0usize);
        for &(coord, _) in &self.terms {
            let pixel = space.pixel_of(coord);
            if pixel == current.0 {
                current.1 += 1;
            } else {
                current = (pixel, 1);
            }
            best = best.max(current.1);
        }
        best
    }

    /// The factor that scales this filter as requested: `NORMALIZE` makes the largest pixel
    /// (Frobenius) norm 1, `ONE` makes the largest absolute entry 1.
    pub fn scale_factor(&self, space: &CoordSpace, scale: Scale) -> f64 {
        match scale {
            Scale::One => 1.0,
            Scale::Normalize => 1.0 / (self.max_terms_per_pixel(space) as f64).sqrt(),
        }
    }
}

/// The canonical exact basis of the invariant subspace.
pub fn canonical_basis(orbits: &Orbits) -> Vec<ExactFilter> {
    orbits
        .alive_orbits()
        .map(|o| ExactFilter {
            terms: orbits
                .members(o)
                .iter()
                .map(|&c| (c as usize, orbits.sign(c as usize)))
                .collect(),
        })
        .collect()
}
