//! [`TensorKey`]: the type of a geometric image.

use std::fmt;

/// The type of a geometric image: tensor order k, parity, and a covariant flag per tensor axis.
///
/// Two keys that differ only in covariant flags are different keys (as in ginjax), although
/// without a metric tensor the flags change no number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorKey {
    covariant: Vec<bool>,
    parity: u8,
}

impl TensorKey {
    /// A key of order `k` with all indices contravariant; `parity` is reduced mod 2.
    pub fn new(k: usize, parity: u8) -> Self {
        Self {
            covariant: vec![false; k],
            parity: parity % 2,
        }
    }

    /// A key with explicit covariant flags (one per tensor axis); `parity` is reduced mod 2.
    pub fn with_covariant(covariant: Vec<bool>, parity: u8) -> Self {
        Self {
            covariant,
            parity: parity % 2,
        }
    }

    /// The scalar key `((), 0)`.
    pub fn scalar() -> Self {
        Self::new(0, 0)
    }

    /// The vector key `((False,), 0)`.
    pub fn vector() -> Self {
        Self::new(1, 0)
    }

    /// The tensor order k.
    pub fn k(&self) -> usize {
        self.covariant.len()
    }

    /// The parity, 0 or 1 (1 marks a pseudo-tensor).
    pub fn parity(&self) -> u8 {
        self.parity
    }

    /// The covariant flag of each tensor axis.
    pub fn covariant(&self) -> &[bool] {
        &self.covariant
    }

    /// True for the plain scalar key `((), 0)`.
    pub fn is_scalar(&self) -> bool {
        self.k() == 0 && self.parity == 0
    }

    /// Number of tensor components per pixel, d^k.
    pub fn components(&self, dim: usize) -> usize {
        dim.pow(self.k() as u32)
    }
}

impl fmt::Display for TensorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match (self.k(), self.parity) {
            (0, 0) => "scalar",
            (0, 1) => "pseudoscalar",
            (1, 0) => "vector",
            (1, 1) => "pseudovector",
            (k, p) => return write!(f, "({k}, {p})"),
        };
        f.write_str(name)
    }
}

impl fmt::Debug for TensorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.covariant.iter().any(|&c| c) {
            write!(f, "{self}{:?}", self.covariant)
        } else {
            write!(f, "{self}")
        }
    }
}
