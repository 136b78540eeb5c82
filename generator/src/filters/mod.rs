//! Invariant filter banks: exact orbit bases and ginjax's convention on top of them.
//!
//! A bank holds every filter of shape `(M,)*d + (d,)*k` that is invariant under a group of
//! signed permutations acting with parity `p` (see [`coords`] for the action). Two conventions:
//! - [`Convention::Canonical`]: the exact orbit-sum basis ([`exact`]), ordered by each orbit's
//!   smallest coordinate, with the representative's sign +1 and integer coefficients available
//!   through [`FilterBank::exact`];
//! - [`Convention::Ginjax`]: exactly the list `ginjax.geometric.get_unique_invariant_filters`
//!   returns (order, signs, values including its 5-decimal rounding; see [`ginjax`]).
//!
//! The count of either equals the character formula [`invariant_count`]. Filters from elsewhere
//! (a bank ginjax recorded) are measured against the exact space by [`recorded`].

pub mod character;
pub mod coords;
pub mod exact;
pub mod ginjax;
pub mod orbits;
pub mod pysort;
pub mod recorded;

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::group::Group;

use self::coords::CoordSpace;
use self::exact::canonical_basis;
use self::orbits::Orbits;

pub use self::exact::ExactFilter;

/// Largest amount of memory a bank may need before [`invariant_bank`] refuses it (1 GiB).
pub const MAX_BANK_BYTES: u64 = 1 << 30;

/// Errors from building a filter bank. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FilterError {
    /// The spatial dimension is 0.
    #[error("dimension d = 0 is not allowed: choose d ≥ 1")]
    ZeroDimension,
    /// The filter side length is 0.
    #[error("filter size M = 0 is not allowed: choose M ≥ 1 (e.g. 3 or 5)")]
    ZeroSize,
    /// The tensor order exceeds [`MAX_TENSOR_ORDER`](crate::filters::coords::MAX_TENSOR_ORDER).
    #[error(
        "tensor order k = {0} is not supported: use k ≤ {max}",
        max = coords::MAX_TENSOR_ORDER
    )]
    TensorOrderTooLarge(usize),
    /// The parity is not 0 or 1.
    #[error("parity {0} is not allowed: use 0 (tensor) or 1 (pseudo-tensor)")]
    InvalidParity(u8),
    /// The coordinate count M^d · d^k does not fit in 32 bits.
    #[error(
        "a bank with d = {dim}, M = {size}, k = {k} has more than 2^32 coordinates \
         (M^d · d^k): lower k or M"
    )]
    TooManyCoordinates {
        /// Spatial dimension.
        dim: usize,
        /// Filter side length.
        size: usize,
        /// Tensor order.
        k: usize,
    },
    /// The bank would need more memory than [`MAX_BANK_BYTES`].
    #[error(
        "a bank with d = {dim}, M = {size}, k = {k} ({coords} coordinates, {count} filters) \
         would need about {mib} MiB, more than the 1024 MiB limit: lower k or M",
        mib = .bytes / (1 << 20)
    )]
    TooLarge {
        /// Spatial dimension.
        dim: usize,
        /// Filter side length.
        size: usize,
        /// Tensor order.
        k: usize,
        /// Number of coordinates M^d · d^k.
        coords: u64,
        /// Number of filters (character formula).
        count: u64,
        /// Estimated bytes.
        bytes: u64,
    },
    /// A convention name that is not `ginjax` or `canonical`.
    #[error("unknown convention `{0}`: expected `ginjax` or `canonical`")]
    UnknownConvention(String),
    /// A scale name that is not `normalize` or `one`.
    #[error("unknown scale `{0}`: expected `normalize` or `one`")]
    UnknownScale(String),
    /// Filters handed to [`FilterBank::from_parts`] do not match the bank's shape.
    #[error("filter {index} has {got} values, but the shape {shape:?} needs {want}")]
    WrongFilterLength {
        /// Index of the offending filter.
        index: usize,
        /// Its length.
        got: usize,
        /// The expected length.
        want: usize,
        /// The bank's shape.
        shape: Vec<usize>,
    },
    /// Exact coefficients handed to [`FilterBank::from_parts`] are inconsistent.
    #[error("exact filter {index} is invalid: {reason}")]
    InvalidExact {
        /// Index of the offending filter.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Which basis, order, signs and values a bank uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Convention {
    /// ginjax's `get_unique_invariant_filters` list, reproduced.
    #[default]
    Ginjax,
    /// The exact orbit-sum basis, ordered by smallest coordinate.
    Canonical,
}

impl Convention {
    /// Every convention.
    pub const ALL: [Convention; 2] = [Self::Ginjax, Self::Canonical];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ginjax => "ginjax",
            Self::Canonical => "canonical",
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Convention {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| FilterError::UnknownConvention(s.to_string()))
    }
}

/// How each filter is scaled at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scale {
    /// Largest pixel (Frobenius) norm 1 (ginjax's default `NORMALIZE`).
    #[default]
    Normalize,
    /// Largest absolute entry 1 (ginjax's `ONE`).
    One,
}

impl Scale {
    /// Every scale.
    pub const ALL: [Scale; 2] = [Self::Normalize, Self::One];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normalize => "normalize",
            Self::One => "one",
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scale {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| FilterError::UnknownScale(s.to_string()))
    }
}

/// Options of [`invariant_bank`]. The default is ginjax's: ginjax convention, `NORMALIZE`,
/// irreps basis for k = 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BankOptions {
    /// Basis, order and signs.
    pub convention: Convention,
    /// Final scaling of each filter.
    pub scale: Scale,
    /// ginjax's `k2_irreps_basis` (only changes k = 2 banks of the ginjax convention).
    pub k2_irreps_basis: bool,
}

impl Default for BankOptions {
    fn default() -> Self {
        Self {
            convention: Convention::Ginjax,
            scale: Scale::Normalize,
            k2_irreps_basis: true,
        }
    }
}

/// A list of invariant filters of one shape `(M,)*d + (d,)*k` and parity.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterBank {
    space: CoordSpace,
    parity: u8,
    filters: Vec<Vec<f64>>,
    exact: Option<Vec<ExactFilter>>,
}

impl FilterBank {
    /// Assembles a bank from its parts (e.g. read from JSON), checking every filter's length
    /// and, when given, that the exact coefficients are ±1 on distinct in-range coordinates and
    /// as many as the filters.
    pub fn from_parts(
        dim: usize,
        size: usize,
        k: usize,
        parity: u8,
        filters: Vec<Vec<f64>>,
        exact: Option<Vec<ExactFilter>>,
    ) -> Result<Self, FilterError> {
        if parity > 1 {
            return Err(FilterError::InvalidParity(parity));
        }
        let space = CoordSpace::new(dim, size, k)?;
        for (index, f) in filters.iter().enumerate() {
            if f.len() != space.len() {
                return Err(FilterError::WrongFilterLength {
                    index,
                    got: f.len(),
                    want: space.len(),
                    shape: space.shape(),
                });
            }
        }
        if let Some(exact) = &exact {
            if exact.len() != filters.len() {
                return Err(FilterError::InvalidExact {
                    index: exact.len().min(filters.len()),
                    reason: format!(
                        "{} exact filters for {} filters",
                        exact.len(),
                        filters.len()
                    ),
                });
            }
            for (index, e) in exact.iter().enumerate() {
                let increasing = e.terms.windows(2).all(|w| w[0].0 < w[1].0);
                let in_range = e.terms.iter().all(|&(c, _)| c < space.len());
                let unit = e.terms.iter().all(|&(_, s)| s == 1 || s == -1);
                if !(increasing && in_range && unit && !e.terms.is_empty()) {
                    return Err(FilterError::InvalidExact {
                        index,
                        reason: "terms must be non-empty, ±1, with increasing coordinates \
                                 inside the filter"
                            .to_string(),
                    });
                }
            }
        }
        Ok(Self {
            space,
            parity,
            filters,
            exact,
        })
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.space.dim()
    }

    /// The filter side length M.
    pub fn size(&self) -> usize {
        self.space.size()
    }

    /// The tensor order k.
    pub fn k(&self) -> usize {
        self.space.k()
    }

    /// The parity p (0 tensor, 1 pseudo-tensor).
    pub fn parity(&self) -> u8 {
        self.parity
    }

    /// The shape of one filter, `(M,)*d + (d,)*k`.
    pub fn shape(&self) -> Vec<usize> {
        self.space.shape()
    }

    /// The number of filters.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// True when no filter is invariant (e.g. d = 2, M = 3 pseudoscalars).
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The filters, each flattened row-major over `(M,)*d + (d,)*k`.
    pub fn filters(&self) -> &[Vec<f64>] {
        &self.filters
    }

    /// The non-zero entries `(flat coordinate, value)` of filter `index`, by increasing
    /// coordinate (`None` if there is no such filter).
    pub fn sparse(&self, index: usize) -> Option<Vec<(usize, f64)>> {
        self.filters.get(index).map(|f| {
            f.iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(c, &v)| (c, v))
                .collect()
        })
    }

    /// The exact integer orbit coefficients of each filter (canonical convention only; the
    /// `f64` filters are these times a positive per-filter scale).
    pub fn exact(&self) -> Option<&[ExactFilter]> {
        self.exact.as_deref()
    }
}

/// Builds the bank of filters of side `size`, tensor order `k` and parity `parity` invariant
/// under `group` (of dimension `group.dim()`).
///
/// Even `size` is supported (the centre is then between pixels, as in ginjax's M = 2 banks;
/// such a filter needs explicit padding when used). Refuses banks that would need
/// more than [`MAX_BANK_BYTES`] before allocating them. An empty bank is not an error.
pub fn invariant_bank(
    group: &Group,
    size: usize,
    k: usize,
    parity: u8,
    options: &BankOptions,
) -> Result<FilterBank, FilterError> {
    if parity > 1 {
        return Err(FilterError::InvalidParity(parity));
    }
    let space = CoordSpace::new(group.dim(), size, k)?;
    bank_bytes(group, size, k, parity)?;
    let orbits = Orbits::new(&space, group, parity);
    let (filters, exact) = match options.convention {
        Convention::Canonical => {
            let exact: Vec<ExactFilter> = canonical_basis(&orbits);
            let filters = exact
                .iter()
                .map(|e| e.to_dense(space.len(), e.scale_factor(&space, options.scale)))
                .collect();
            (filters, Some(exact))
        }
        Convention::Ginjax => {
            let filters = ginjax::ginjax_filters(
                &space,
                &orbits,
                parity,
                options.scale,
                options.k2_irreps_basis,
            );
            (filters, None)
        }
    };
    Ok(FilterBank {
        space,
        parity,
        filters,
        exact,
    })
}

/// The number of invariant filters from the character formula
/// `(1/|G|) Σ_g fix_pixels(g) · tr(g)^k · det(g)^p` (parity taken mod 2), without building
/// the bank. This is the dimension of the invariant space and the length of every canonical
/// bank; a ginjax bank with k = 2 and the irreps basis can be longer, because ginjax keeps
/// linearly dependent filters that are not exact duplicates (d = 3, M = 5, k = 2, p = 0: 31
/// filters for dimension 30).
pub fn invariant_count(group: &Group, size: usize, k: usize, parity: u8) -> u64 {
    character::character_count(group, size, k, parity)
}

/// An upper estimate of the bytes [`invariant_bank`] needs: per coordinate the orbit tables
/// (13 bytes) and exact terms (16 bytes), per generator the action tables, and the dense
/// filters (8 bytes per coordinate per filter; for k = 2 twice the invariant count, since
/// ginjax's irreps basis can return a few more filters than the dimension). `None` on overflow.
fn estimated_bytes(group: &Group, size: usize, k: usize, parity: u8) -> Option<u64> {
    let space = CoordSpace::new(group.dim(), size, k).ok()?;
    let coords = space.len() as u64;
    let count = invariant_count(group, size, k, parity);
    let count = if k == 2 {
        count.saturating_mul(2)
    } else {
        count
    };
    let tables = (2 * group.dim() as u64)
        .checked_mul(space.pixels() as u64 * 4 + space.tensor_len() as u64 * 5)?;
    coords
        .checked_mul(29)?
        .checked_add(tables)?
        .checked_add(count.checked_mul(coords)?.checked_mul(8)?)
}

/// An upper estimate of the bytes [`invariant_bank`] needs for a bank (orbit tables, action
/// tables and the dense filters), or the error it refuses the bank with for its size
/// ([`FilterError::ZeroSize`], [`FilterError::TooManyCoordinates`] or [`FilterError::TooLarge`]
/// above [`MAX_BANK_BYTES`]), without building it.
pub fn bank_bytes(group: &Group, size: usize, k: usize, parity: u8) -> Result<u64, FilterError> {
    let space = CoordSpace::new(group.dim(), size, k)?;
    let bytes = estimated_bytes(group, size, k, parity).unwrap_or(u64::MAX);
    if bytes > MAX_BANK_BYTES {
        return Err(FilterError::TooLarge {
            dim: group.dim(),
            size,
            k,
            coords: space.len() as u64,
            count: invariant_count(group, size, k, parity),
            bytes,
        });
    }
    Ok(bytes)
}

/// The `(M, k, parity)` of each bank of a multi-bank request, in ginjax's
/// `get_invariant_filters` order: sizes outermost (as given), then `k = 0..=max_k`, then the
/// parities (as given). `gen-filters` writes banks in this order.
pub fn bank_order(sizes: &[usize], max_k: usize, parities: &[u8]) -> Vec<(usize, usize, u8)> {
    sizes
        .iter()
        .flat_map(|&m| (0..=max_k).flat_map(move |k| parities.iter().map(move |&p| (m, k, p))))
        .collect()
}

/// Builds every bank of [`bank_order`]`(sizes, max_k, parities)`.
pub fn invariant_banks(
    group: &Group,
    sizes: &[usize],
    max_k: usize,
    parities: &[u8],
    options: &BankOptions,
) -> Result<Vec<FilterBank>, FilterError> {
    bank_order(sizes, max_k, parities)
        .into_iter()
        .map(|(m, k, p)| invariant_bank(group, m, k, p, options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::GroupKind;

    fn b2() -> Group {
        Group::hyperoctahedral(2).unwrap()
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for c in Convention::ALL {
            assert_eq!(c.to_string().parse::<Convention>(), Ok(c));
        }
        for s in Scale::ALL {
            assert_eq!(s.to_string().parse::<Scale>(), Ok(s));
        }
        assert_eq!("ginjax".parse(), Ok(Convention::Ginjax));
        assert_eq!("canonical".parse(), Ok(Convention::Canonical));
        assert_eq!("normalize".parse(), Ok(Scale::Normalize));
        assert_eq!("one".parse(), Ok(Scale::One));
        assert_eq!(
            "e3nn".parse::<Convention>(),
            Err(FilterError::UnknownConvention("e3nn".into()))
        );
        assert!("zero_sum".parse::<Scale>().is_err());
        let default = BankOptions::default();
        assert_eq!(default.convention, Convention::Ginjax);
        assert_eq!(default.scale, Scale::Normalize);
        assert!(default.k2_irreps_basis);
    }

    #[test]
    fn invalid_requests_are_errors_that_say_what_to_change() {
        let options = BankOptions::default();
        assert_eq!(
            invariant_bank(&b2(), 3, 1, 2, &options),
            Err(FilterError::InvalidParity(2))
        );
        assert_eq!(
            invariant_bank(&b2(), 0, 1, 0, &options),
            Err(FilterError::ZeroSize)
        );
        let too_large = invariant_bank(&b2(), 3, 13, 0, &options).unwrap_err();
        assert!(matches!(too_large, FilterError::TooLarge { k: 13, .. }));
        assert!(too_large.to_string().contains("lower k or M"));
        let too_many = invariant_bank(&b2(), 3, 31, 0, &options).unwrap_err();
        assert!(matches!(too_many, FilterError::TooManyCoordinates { .. }));
    }

    #[test]
    fn empty_banks_are_not_errors() {
        for convention in Convention::ALL {
            let options = BankOptions {
                convention,
                ..BankOptions::default()
            };
            let bank = invariant_bank(&b2(), 3, 0, 1, &options).unwrap();
            assert!(bank.is_empty());
            assert_eq!(bank.len(), 0);
            assert_eq!(bank.shape(), vec![3, 3]);
            assert_eq!(invariant_count(&b2(), 3, 0, 1), 0);
        }
    }

    #[test]
    fn even_sizes_give_the_spec_counts() {
        // ginjax's filter counts for d = 2, M = 2 and M = 4 (ginjax builds M = 2 banks for
        // upsampling), as `get_invariant_filters` in ginjax/geometric.py returns them.
        let want: [(usize, [usize; 8]); 2] = [
            (2, [1, 0, 1, 1, 2, 2, 4, 4]),
            (4, [3, 1, 4, 4, 8, 8, 16, 16]),
        ];
        for (m, counts) in want {
            for (i, &count) in counts.iter().enumerate() {
                let (k, p) = (i / 2, (i % 2) as u8);
                for convention in Convention::ALL {
                    let options = BankOptions {
                        convention,
                        ..BankOptions::default()
                    };
                    let bank = invariant_bank(&b2(), m, k, p, &options).unwrap();
                    assert_eq!(bank.len(), count, "{convention} M={m} k={k} p={p}");
                }
            }
        }
    }

    #[test]
    fn accessors_describe_the_bank() {
        let group = Group::new(GroupKind::Rotations, 3).unwrap();
        let options = BankOptions {
            convention: Convention::Canonical,
            ..BankOptions::default()
        };
        let bank = invariant_bank(&group, 3, 2, 1, &options).unwrap();
        assert_eq!(
            (bank.dim(), bank.size(), bank.k(), bank.parity()),
            (3, 3, 2, 1)
        );
        assert_eq!(bank.shape(), vec![3, 3, 3, 3, 3]);
        assert_eq!(bank.len(), invariant_count(&group, 3, 2, 1) as usize);
        assert!(bank.filters().iter().all(|f| f.len() == 243));
        assert_eq!(bank.exact().map(<[_]>::len), Some(bank.len()));
        for (i, e) in bank.exact().unwrap().iter().enumerate() {
            let sparse = bank.sparse(i).unwrap();
            let coords: Vec<usize> = sparse.iter().map(|&(c, _)| c).collect();
            let exact_coords: Vec<usize> = e.terms.iter().map(|&(c, _)| c).collect();
            assert_eq!(coords, exact_coords);
        }
        assert_eq!(bank.sparse(bank.len()), None);
        let ginjax = invariant_bank(&group, 3, 2, 1, &BankOptions::default()).unwrap();
        assert!(ginjax.exact().is_none());
    }

    #[test]
    fn from_parts_checks_lengths_and_exact_terms() {
        let ok = FilterBank::from_parts(1, 3, 0, 0, vec![vec![0.0, 1.0, 0.0]], None);
        assert!(ok.is_ok());
        assert!(matches!(
            FilterBank::from_parts(1, 3, 0, 0, vec![vec![1.0]], None),
            Err(FilterError::WrongFilterLength { want: 3, .. })
        ));
        let bad_sign = ExactFilter {
            terms: vec![(1, 2)],
        };
        assert!(matches!(
            FilterBank::from_parts(1, 3, 0, 0, vec![vec![0.0, 1.0, 0.0]], Some(vec![bad_sign])),
            Err(FilterError::InvalidExact { .. })
        ));
        assert!(matches!(
            FilterBank::from_parts(1, 3, 0, 3, vec![], None),
            Err(FilterError::InvalidParity(3))
        ));
        let wrong = FilterBank::from_parts(2, 3, 0, 0, vec![vec![0.0; 9], vec![0.0; 8]], None);
        assert_eq!(
            wrong.unwrap_err().to_string(),
            "filter 1 has 8 values, but the shape [3, 3] needs 9"
        );
        assert_eq!(
            FilterBank::from_parts(0, 3, 0, 0, vec![], None),
            Err(FilterError::ZeroDimension)
        );
        assert_eq!(
            FilterBank::from_parts(2, 0, 0, 0, vec![], None),
            Err(FilterError::ZeroSize)
        );
        assert!(matches!(
            FilterBank::from_parts(2, usize::MAX, 0, 0, vec![], None),
            Err(FilterError::TooManyCoordinates { .. })
        ));
    }
}
