//! Floating-point filters measured against the exact invariant space, for banks that come from
//! elsewhere (a ginjax model's recorded `invariant_filters`, stored in f32).
//!
//! ginjax's D = 3 banks cannot be reproduced filter for filter: their order and signs rest on
//! floating-point noise (see [`super::ginjax`]), so a recorded bank may be another basis of the
//! same space. [`InvariantSpace`] says whether it is: how far each filter moves under the
//! worst group element ([`InvariantSpace::invariance_error`]), its coordinates in the exact
//! basis ([`InvariantSpace::coefficients`]) and the dimension a list of filters spans
//! ([`InvariantSpace::rank`]).
//!
//! The exact basis is the signed orbit sums of [`Orbits`]: their supports are disjoint, so
//! `O / √|O|` is an orthonormal basis and the least-squares projection of a filter onto their
//! span is the dot product with each, in f64 without any linear solve. That span is exactly
//! the space of invariant filters: the group average `P = (1/|G|) Σ_g g` is the orthogonal
//! projection onto it (the action is by signed permutations, which are orthogonal), so a filter
//! with `‖g·f − f‖ ≤ ε‖f‖` for every `g` has `‖f − Pf‖ ≤ ε‖f‖`: invariance within ε is
//! membership in the span within ε.

use crate::group::{Group, SignedPermutation};

use super::coords::{CoordAction, CoordSpace};
use super::orbits::Orbits;
use super::FilterError;

/// The filters of one shape `(M,)*d + (d,)*k` and parity that a group leaves invariant, with
/// the group's action on them (every element, not only generators).
#[derive(Debug, Clone)]
pub struct InvariantSpace {
    space: CoordSpace,
    elements: Vec<SignedPermutation>,
    actions: Vec<CoordAction>,
    orbits: Orbits,
}

/// The element of the group that moves a filter the most, and how far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvarianceError {
    /// The element.
    pub element: SignedPermutation,
    /// `‖g·f − f‖₂ / ‖f‖₂` (0 for the zero filter).
    pub relative: f64,
}

impl InvariantSpace {
    /// The space of filters of side `size`, order `k` and parity `parity` invariant under
    /// `group`.
    pub fn new(group: &Group, size: usize, k: usize, parity: u8) -> Result<Self, FilterError> {
        if parity > 1 {
            return Err(FilterError::InvalidParity(parity));
        }
        let space = CoordSpace::new(group.dim(), size, k)?;
        let actions = group
            .elements()
            .iter()
            .map(|g| CoordAction::new(&space, g, parity))
            .collect();
        Ok(Self {
            space,
            elements: group.elements().to_vec(),
            actions,
            orbits: Orbits::new(&space, group, parity),
        })
    }

    /// The shape of one filter, `(M,)*d + (d,)*k`.
    pub fn shape(&self) -> Vec<usize> {
        self.space.shape()
    }

    /// The dimension of the space (the number of filters of any basis of it).
    pub fn dimension(&self) -> usize {
        self.orbits.alive_count()
    }

    fn check_len(&self, index: usize, filter: &[f64]) -> Result<(), FilterError> {
        if filter.len() == self.space.len() {
            Ok(())
        } else {
            Err(FilterError::WrongFilterLength {
                index,
                got: filter.len(),
                want: self.space.len(),
                shape: self.space.shape(),
            })
        }
    }

    /// The group element that moves `filter` (row-major over the shape) the most, and
    /// `‖g·f − f‖₂ / ‖f‖₂` for it.
    pub fn invariance_error(&self, filter: &[f64]) -> Result<InvarianceError, FilterError> {
        self.check_len(0, filter)?;
        let norm = norm(filter);
        let mut worst = InvarianceError {
            element: self.elements[0],
            relative: 0.0,
        };
        if norm == 0.0 {
            return Ok(worst);
        }
        for (element, action) in self.elements.iter().zip(&self.actions) {
            // g·f = Σ_c f[c] g·e_c = Σ_c sign_c f[c] e_{target_c}: a signed permutation.
            let moved_sq: f64 = filter
                .iter()
                .enumerate()
                .map(|(c, &v)| {
                    let (target, sign) = action.apply(c);
                    let d = sign as f64 * v - filter[target];
                    d * d
                })
                .sum();
            let relative = moved_sq.sqrt() / norm;
            if relative > worst.relative {
                worst = InvarianceError {
                    element: *element,
                    relative,
                };
            }
        }
        Ok(worst)
    }

    /// The coordinates of the least-squares projection of `filter` onto the exact basis, in
    /// the orthonormal basis `O / √|O|` of the alive signed orbit sums (in increasing order of
    /// their smallest coordinate).
    pub fn coefficients(&self, filter: &[f64]) -> Result<Vec<f64>, FilterError> {
        self.check_len(0, filter)?;
        Ok(self
            .orbits
            .alive_orbits()
            .map(|o| {
                let members = self.orbits.members(o);
                let dot: f64 = members
                    .iter()
                    .map(|&c| self.orbits.sign(c as usize) as f64 * filter[c as usize])
                    .sum();
                dot / (members.len() as f64).sqrt()
            })
            .collect())
    }

    /// The dimension that the projections of `filters` onto the space span: modified
    /// Gram–Schmidt (twice, for accuracy) over their [coefficients](Self::coefficients), a
    /// filter adding a dimension when the part of it outside the span of those before it is
    /// more than `tolerance` of its norm. Zero filters add none.
    pub fn rank(&self, filters: &[Vec<f64>], tolerance: f64) -> Result<usize, FilterError> {
        let mut basis: Vec<Vec<f64>> = Vec::new();
        for (index, filter) in filters.iter().enumerate() {
            self.check_len(index, filter)?;
            let mut c = self.coefficients(filter)?;
            let length = norm(&c);
            if length == 0.0 {
                continue;
            }
            for _ in 0..2 {
                for q in &basis {
                    let dot: f64 = c.iter().zip(q).map(|(a, b)| a * b).sum();
                    c.iter_mut().zip(q).for_each(|(a, b)| *a -= dot * b);
                }
            }
            let rest = norm(&c);
            if rest > tolerance * length {
                c.iter_mut().for_each(|a| *a /= rest);
                basis.push(c);
            }
        }
        Ok(basis.len())
    }
}

fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{invariant_bank, BankOptions};
    use crate::group::GroupKind;

    fn f32_rounded(filters: &[Vec<f64>]) -> Vec<Vec<f64>> {
        filters
            .iter()
            .map(|f| f.iter().map(|&v| v as f32 as f64).collect())
            .collect()
    }

    #[test]
    fn ginjax_banks_in_f32_are_invariant_bases() {
        for dim in [2, 3] {
            let group = Group::new(GroupKind::Hyperoctahedral, dim).unwrap();
            for size in [2, 3] {
                for k in 0..=2 {
                    for parity in 0..2 {
                        let bank = invariant_bank(&group, size, k, parity, &BankOptions::default())
                            .unwrap();
                        let space = InvariantSpace::new(&group, size, k, parity).unwrap();
                        let filters = f32_rounded(bank.filters());
                        for f in &filters {
                            let error = space.invariance_error(f).unwrap().relative;
                            // f32 rounding of ±equal entries keeps them ±equal.
                            assert!(error < 1e-7, "d={dim} M={size} k={k} p={parity}: {error}");
                        }
                        assert_eq!(space.dimension(), bank.len());
                        assert_eq!(space.rank(&filters, 1e-3).unwrap(), bank.len());
                    }
                }
            }
        }
    }

    #[test]
    fn a_moved_filter_names_an_element_that_moves_it() {
        let group = Group::new(GroupKind::Hyperoctahedral, 2).unwrap();
        let space = InvariantSpace::new(&group, 3, 0, 0).unwrap();
        // The centre pixel is invariant; adding 1 at the corner (0, 0) is not.
        let mut f = vec![0.0; 9];
        f[4] = 1.0;
        assert_eq!(space.invariance_error(&f).unwrap().relative, 0.0);
        f[0] = 1.0;
        let worst = space.invariance_error(&f).unwrap();
        // Any element that moves the corner gives ‖g·f − f‖ = √2 against ‖f‖ = √2.
        assert_eq!(worst.relative, 1.0);
        assert!(!worst.element.is_identity());
        // Its projection: the centre orbit and the corner orbit (four corners, norm 2).
        let c = space.coefficients(&f).unwrap();
        assert_eq!(space.dimension(), 3);
        assert_eq!(c, vec![0.5, 0.0, 1.0]);
    }

    #[test]
    fn pseudoscalar_filters_are_not_invariant_as_scalars() {
        // d = 3, M = 3, k = 2: a parity-1 invariant filter read as parity 0 is negated by
        // every reflection, and its projection onto the parity-0 space vanishes.
        let group = Group::new(GroupKind::Hyperoctahedral, 3).unwrap();
        let pseudo = invariant_bank(&group, 3, 2, 1, &BankOptions::default()).unwrap();
        let space = InvariantSpace::new(&group, 3, 2, 0).unwrap();
        for f in pseudo.filters() {
            let worst = space.invariance_error(f).unwrap();
            assert!((worst.relative - 2.0).abs() < 1e-12, "{}", worst.relative);
            assert_eq!(worst.element.det(), -1);
            let c = space.coefficients(f).unwrap();
            assert!(c.iter().all(|c| c.abs() < 1e-12), "{c:?}");
        }
    }

    #[test]
    fn rank_sees_duplicates_permutations_and_signs() {
        let group = Group::new(GroupKind::Hyperoctahedral, 3).unwrap();
        let bank = invariant_bank(&group, 3, 2, 0, &BankOptions::default()).unwrap();
        let space = InvariantSpace::new(&group, 3, 2, 0).unwrap();
        let n = bank.len();
        let mut filters = f32_rounded(bank.filters());
        filters.reverse();
        filters[1].iter_mut().for_each(|v| *v = -*v);
        assert_eq!(space.rank(&filters, 1e-3).unwrap(), n);
        filters[2] = filters[0].clone();
        assert_eq!(space.rank(&filters, 1e-3).unwrap(), n - 1);
        filters[2] = vec![0.0; filters[0].len()];
        assert_eq!(space.rank(&filters, 1e-3).unwrap(), n - 1);
        // ginjax keeps a dependent filter in this bank (31 filters, dimension 30).
        let bank = invariant_bank(&group, 5, 2, 0, &BankOptions::default()).unwrap();
        let space = InvariantSpace::new(&group, 5, 2, 0).unwrap();
        assert_eq!((bank.len(), space.dimension()), (31, 30));
        assert_eq!(space.rank(&f32_rounded(bank.filters()), 1e-3).unwrap(), 30);
    }

    #[test]
    fn wrong_lengths_and_parities_are_errors() {
        let group = Group::new(GroupKind::Hyperoctahedral, 2).unwrap();
        assert_eq!(
            InvariantSpace::new(&group, 3, 0, 2).unwrap_err(),
            FilterError::InvalidParity(2)
        );
        let space = InvariantSpace::new(&group, 3, 1, 0).unwrap();
        assert_eq!(space.shape(), [3, 3, 2]);
        assert!(matches!(
            space.rank(&[vec![0.0; 18], vec![0.0; 9]], 1e-3),
            Err(FilterError::WrongFilterLength {
                index: 1,
                got: 9,
                want: 18,
                ..
            })
        ));
        assert!(space.invariance_error(&[1.0]).is_err());
    }
}
