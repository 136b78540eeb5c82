//! The hyperoctahedral group B_d (signed permutation matrices) and its named subgroups.
//!
//! An element is stored as a signed permutation: row `i` of its matrix has a single non-zero
//! entry, `sign(i)` (±1), in column `col(i)`. Matrices act on column vectors, so
//! `(g·a)[i] = sign(i) · a[col(i)]`. Enumeration follows ginjax's `make_all_operators(D)`:
//! permutations in lexicographic order, then sign patterns in `itertools.product([1, -1])` order.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Largest spatial dimension supported (|B_6| = 46 080).
pub const MAX_DIM: usize = 6;

/// Errors from building a group.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GroupError {
    /// The dimension is outside `1..=MAX_DIM`.
    #[error("dimension d = {0} is not supported: choose d in 1..={MAX_DIM}")]
    DimensionOutOfRange(usize),
    /// The group name is not one of the known subgroups.
    #[error("unknown group `{0}`: expected one of hyperoctahedral, flips, rotations")]
    UnknownGroup(String),
}

/// A signed permutation matrix of size `dim × dim`, `dim ≤ MAX_DIM`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignedPermutation {
    dim: u8,
    cols: [u8; MAX_DIM],
    signs: [i8; MAX_DIM],
}

impl SignedPermutation {
    /// Builds an element from the column and sign of the non-zero entry of each row.
    ///
    /// Returns `None` unless `cols` is a permutation of `0..cols.len()`, `signs` has the same
    /// length, every sign is ±1 and the length is in `1..=MAX_DIM`.
    pub fn new(cols: &[usize], signs: &[i8]) -> Option<Self> {
        let dim = cols.len();
        if dim == 0 || dim > MAX_DIM || signs.len() != dim {
            return None;
        }
        let mut seen = [false; MAX_DIM];
        let mut element = Self {
            dim: dim as u8,
            cols: [0; MAX_DIM],
            signs: [1; MAX_DIM],
        };
        for (row, (&col, &sign)) in cols.iter().zip(signs).enumerate() {
            if col >= dim || seen[col] || (sign != 1 && sign != -1) {
                return None;
            }
            seen[col] = true;
            element.cols[row] = col as u8;
            element.signs[row] = sign;
        }
        Some(element)
    }

    /// Builds an element from an integer matrix given row by row; `None` if it is not a
    /// signed permutation matrix.
    pub fn from_matrix(rows: &[Vec<i64>]) -> Option<Self> {
        let mut cols = Vec::with_capacity(rows.len());
        let mut signs = Vec::with_capacity(rows.len());
        for row in rows {
            if row.len() != rows.len() {
                return None;
            }
            let mut nonzero = row.iter().enumerate().filter(|(_, &v)| v != 0);
            let (col, &value) = nonzero.next()?;
            if nonzero.next().is_some() || value.abs() != 1 {
                return None;
            }
            cols.push(col);
            signs.push(value as i8);
        }
        Self::new(&cols, &signs)
    }

    /// The identity of dimension `dim` (`dim` in `1..=MAX_DIM`).
    pub fn identity(dim: usize) -> Option<Self> {
        let cols: Vec<usize> = (0..dim).collect();
        Self::new(&cols, &vec![1; dim])
    }

    /// The dimension d of the matrix.
    pub fn dim(&self) -> usize {
        self.dim as usize
    }

    /// Column of the non-zero entry in row `row`.
    pub fn col(&self, row: usize) -> usize {
        self.cols[row] as usize
    }

    /// Sign (±1) of the non-zero entry in row `row`.
    pub fn sign(&self, row: usize) -> i8 {
        self.signs[row]
    }

    /// Matrix entry `[row, col]`.
    pub fn entry(&self, row: usize, col: usize) -> i8 {
        if self.col(row) == col {
            self.sign(row)
        } else {
            0
        }
    }

    /// The matrix, row by row.
    pub fn matrix(&self) -> Vec<Vec<i64>> {
        (0..self.dim())
            .map(|r| (0..self.dim()).map(|c| self.entry(r, c) as i64).collect())
            .collect()
    }

    /// The determinant, ±1.
    pub fn det(&self) -> i8 {
        let d = self.dim();
        let mut inversions = 0;
        for i in 0..d {
            for j in i + 1..d {
                if self.cols[i] > self.cols[j] {
                    inversions += 1;
                }
            }
        }
        let sign_product: i8 = self.signs[..d].iter().product();
        if inversions % 2 == 0 {
            sign_product
        } else {
            -sign_product
        }
    }

    /// The trace of the matrix.
    pub fn trace(&self) -> i64 {
        (0..self.dim())
            .filter(|&r| self.col(r) == r)
            .map(|r| self.sign(r) as i64)
            .sum()
    }

    /// The matrix product `self · other`.
    pub fn compose(&self, other: &Self) -> Self {
        debug_assert_eq!(self.dim, other.dim);
        let mut out = *self;
        for row in 0..self.dim() {
            let mid = self.col(row);
            out.cols[row] = other.cols[mid];
            out.signs[row] = self.signs[row] * other.signs[mid];
        }
        out
    }

    /// The inverse, which is the transpose.
    pub fn inverse(&self) -> Self {
        let mut out = *self;
        for row in 0..self.dim() {
            let col = self.col(row);
            out.cols[col] = row as u8;
            out.signs[col] = self.signs[row];
        }
        out
    }

    /// Applies the matrix to an integer vector: `(g·a)[i] = sign(i) · a[col(i)]`.
    pub fn apply(&self, a: &[i64]) -> Vec<i64> {
        debug_assert_eq!(a.len(), self.dim());
        (0..self.dim())
            .map(|r| self.sign(r) as i64 * a[self.col(r)])
            .collect()
    }

    /// The action on the `d^k` components of a k-tensor (row-major over `(d,)*k`),
    /// `(g·T)[n₁…n_k] = Σ_a g[n₁,a₁]⋯g[n_k,a_k] · T[a₁…a_k]` (the matrix `g ⊗ … ⊗ g`). Each
    /// row of `g` has one non-zero entry, so `(g·T)[n] = s(n) · T[σ(n)]` with
    /// `σ(n)_j = col(n_j)` and `s(n) = Π_j sign(n_j)`; returns `(σ(n), s(n))` for every
    /// output component `n`. Parity factors `det(g)^p` are not included.
    pub fn tensor_action(&self, k: usize) -> Vec<(usize, i8)> {
        let d = self.dim();
        (0..d.pow(k as u32))
            .map(|out| {
                let (mut rest, mut src, mut place, mut sign) = (out, 0, 1, 1i8);
                // digits from the last tensor axis (least significant) to the first
                for _ in 0..k {
                    let n = rest % d;
                    rest /= d;
                    src += self.col(n) * place;
                    place *= d;
                    sign *= self.sign(n);
                }
                (src, sign)
            })
            .collect()
    }

    /// True for the identity matrix.
    pub fn is_identity(&self) -> bool {
        (0..self.dim()).all(|r| self.col(r) == r && self.sign(r) == 1)
    }
}

impl fmt::Debug for SignedPermutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.matrix())
    }
}

/// Which subgroup of B_d a [`Group`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// All of B_d: every signed permutation (ginjax's `make_all_operators`).
    Hyperoctahedral,
    /// The axis flips C2^d: diagonal sign matrices (ginjax's `make_C2_group`).
    Flips,
    /// The rotations: elements of B_d with determinant +1.
    Rotations,
}

impl GroupKind {
    /// Every kind, in documentation order.
    pub const ALL: [GroupKind; 3] = [Self::Hyperoctahedral, Self::Flips, Self::Rotations];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hyperoctahedral => "hyperoctahedral",
            Self::Flips => "flips",
            Self::Rotations => "rotations",
        }
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GroupKind {
    type Err = GroupError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| GroupError::UnknownGroup(s.to_string()))
    }
}

/// A finite group of signed permutation matrices, with its elements in ginjax order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    kind: GroupKind,
    dim: usize,
    elements: Vec<SignedPermutation>,
}

impl Group {
    /// Enumerates the subgroup `kind` of B_dim.
    pub fn new(kind: GroupKind, dim: usize) -> Result<Self, GroupError> {
        if dim == 0 || dim > MAX_DIM {
            return Err(GroupError::DimensionOutOfRange(dim));
        }
        let patterns = sign_patterns(dim);
        let elements = match kind {
            GroupKind::Flips => {
                let identity: Vec<usize> = (0..dim).collect();
                patterns
                    .iter()
                    .map(|s| SignedPermutation::new(&identity, s).expect("valid flip"))
                    .collect()
            }
            GroupKind::Hyperoctahedral | GroupKind::Rotations => {
                let mut all = Vec::with_capacity(patterns.len() * factorial(dim));
                for perm in permutations(dim) {
                    for s in &patterns {
                        // P @ diag(s): row r holds s[perm[r]] in column perm[r].
                        let signs: Vec<i8> = perm.iter().map(|&c| s[c]).collect();
                        all.push(SignedPermutation::new(&perm, &signs).expect("valid element"));
                    }
                }
                if kind == GroupKind::Rotations {
                    all.retain(|g| g.det() == 1);
                }
                all
            }
        };
        Ok(Self {
            kind,
            dim,
            elements,
        })
    }

    /// The full hyperoctahedral group B_dim.
    pub fn hyperoctahedral(dim: usize) -> Result<Self, GroupError> {
        Self::new(GroupKind::Hyperoctahedral, dim)
    }

    /// Which subgroup this is.
    pub fn kind(&self) -> GroupKind {
        self.kind
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of elements.
    pub fn order(&self) -> usize {
        self.elements.len()
    }

    /// The elements, in ginjax's enumeration order.
    pub fn elements(&self) -> &[SignedPermutation] {
        &self.elements
    }

    /// A small generating set: elements taken greedily in enumeration order, each one not
    /// already generated by those before it.
    pub fn generators(&self) -> Vec<SignedPermutation> {
        let mut generators = Vec::new();
        let mut closure: HashSet<SignedPermutation> = HashSet::new();
        closure.insert(SignedPermutation::identity(self.dim).expect("dim checked at construction"));
        for g in &self.elements {
            if closure.contains(g) {
                continue;
            }
            generators.push(*g);
            // Close under right multiplication by the generators.
            let mut frontier: Vec<SignedPermutation> = closure.iter().copied().collect();
            while let Some(h) = frontier.pop() {
                for s in &generators {
                    let product = h.compose(s);
                    if closure.insert(product) {
                        frontier.push(product);
                    }
                }
            }
        }
        generators
    }
}

/// Sign patterns in `itertools.product([1, -1], repeat=dim)` order.
fn sign_patterns(dim: usize) -> Vec<Vec<i8>> {
    (0..1usize << dim)
        .map(|n| {
            (0..dim)
                .map(|j| if n >> (dim - 1 - j) & 1 == 1 { -1 } else { 1 })
                .collect()
        })
        .collect()
}

/// Permutations of `0..n` in lexicographic order (`itertools.permutations` order).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    let mut current: Vec<usize> = (0..n).collect();
    let mut out = vec![current.clone()];
    loop {
        // Standard next-permutation step.
        let Some(i) = (0..n.saturating_sub(1))
            .rev()
            .find(|&i| current[i] < current[i + 1])
        else {
            return out;
        };
        let j = (i + 1..n).rev().find(|&j| current[j] > current[i]).unwrap();
        current.swap(i, j);
        current[i + 1..].reverse();
        out.push(current.clone());
    }
}

fn factorial(n: usize) -> usize {
    (1..=n).product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_action_is_the_kronecker_power() {
        for (d, max_k) in [(1, 3), (2, 3), (3, 2)] {
            for g in Group::hyperoctahedral(d).unwrap().elements() {
                for k in 0..=max_k {
                    let len = d.pow(k as u32);
                    // (g ⊗ … ⊗ g)[n, a] = Π_j g[n_j, a_j], digits most significant first
                    let digits = |mut i: usize| {
                        let mut out = vec![0; k];
                        for slot in out.iter_mut().rev() {
                            *slot = i % d;
                            i /= d;
                        }
                        out
                    };
                    let action = g.tensor_action(k);
                    for (n, &(src, sign)) in action.iter().enumerate() {
                        for a in 0..len {
                            let entry: i8 = digits(n)
                                .iter()
                                .zip(digits(a))
                                .map(|(&nj, aj)| g.entry(nj, aj))
                                .product();
                            let want = if a == src { sign } else { 0 };
                            assert_eq!(entry, want, "{g:?}, k = {k}, n = {n}, a = {a}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn orders_match_two_to_the_d_times_d_factorial() {
        for d in 1..=MAX_DIM {
            let g = Group::hyperoctahedral(d).unwrap();
            assert_eq!(g.order(), (1 << d) * factorial(d), "d = {d}");
            assert_eq!(Group::new(GroupKind::Flips, d).unwrap().order(), 1 << d);
            let rotations = Group::new(GroupKind::Rotations, d).unwrap();
            assert_eq!(rotations.order(), g.order() / 2);
        }
    }

    #[test]
    fn d2_order_is_ginjax_order() {
        let g = Group::hyperoctahedral(2).unwrap();
        let matrices: Vec<Vec<Vec<i64>>> = g.elements().iter().map(|e| e.matrix()).collect();
        let expected = vec![
            vec![vec![1, 0], vec![0, 1]],
            vec![vec![1, 0], vec![0, -1]],
            vec![vec![-1, 0], vec![0, 1]],
            vec![vec![-1, 0], vec![0, -1]],
            vec![vec![0, 1], vec![1, 0]],
            vec![vec![0, -1], vec![1, 0]],
            vec![vec![0, 1], vec![-1, 0]],
            vec![vec![0, -1], vec![-1, 0]],
        ];
        assert_eq!(matrices, expected);
    }

    #[test]
    fn group_laws_hold() {
        for d in 1..=3 {
            let g = Group::hyperoctahedral(d).unwrap();
            let set: HashSet<_> = g.elements().iter().copied().collect();
            assert_eq!(set.len(), g.order());
            for a in g.elements() {
                assert!(a.compose(&a.inverse()).is_identity());
                for b in g.elements() {
                    let ab = a.compose(b);
                    assert!(set.contains(&ab));
                    assert_eq!(ab.det(), a.det() * b.det());
                    let v: Vec<i64> = (1..=d as i64).collect();
                    assert_eq!(ab.apply(&v), a.apply(&b.apply(&v)));
                }
            }
        }
    }

    #[test]
    fn generators_are_few_and_generate() {
        for kind in GroupKind::ALL {
            for d in 1..=4 {
                let group = Group::new(kind, d).unwrap();
                let gens = group.generators();
                assert!(
                    gens.len() <= 2 * d,
                    "{kind} d={d}: {} generators",
                    gens.len()
                );
                let mut closure: HashSet<_> = [SignedPermutation::identity(d).unwrap()]
                    .into_iter()
                    .collect();
                let mut frontier: Vec<_> = closure.iter().copied().collect();
                while let Some(h) = frontier.pop() {
                    for s in &gens {
                        if closure.insert(h.compose(s)) {
                            frontier.push(h.compose(s));
                        }
                    }
                }
                assert_eq!(closure.len(), group.order(), "{kind} d={d}");
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            Group::hyperoctahedral(0),
            Err(GroupError::DimensionOutOfRange(0))
        );
        assert_eq!(
            Group::hyperoctahedral(7),
            Err(GroupError::DimensionOutOfRange(7))
        );
        assert!("cyclic".parse::<GroupKind>().is_err());
        assert_eq!("flips".parse::<GroupKind>(), Ok(GroupKind::Flips));
        assert!(SignedPermutation::new(&[0, 0], &[1, 1]).is_none());
        assert!(SignedPermutation::from_matrix(&[vec![0, 2], vec![1, 0]]).is_none());
    }
}
