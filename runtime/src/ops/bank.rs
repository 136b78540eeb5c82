//! Dense invariant filter banks as a layer consumes them: one block of `n_f` filters per
//! (tensor order k, parity), each filter row-major `((M,)*d, (d,)*k)` in f32.
//!
//! This is ginjax's `invariant_filters` MultiImage (`get_invariant_filters`): block
//! `(k, p)` has shape `(n_filters, (M,)*d, (d,)*k)`, and keys without any invariant filter are
//! absent. A bank comes from the generator ([`DenseBank::from_generator`]), from a recorded
//! ginjax MultiImage ([`DenseBank::from_multi_image`]) or from raw arrays
//! ([`DenseBank::new`]).

use ginrs_generator::group::{Group, GroupError, GroupKind};
use ginrs_generator::{invariant_bank, BankOptions, FilterBank, FilterError, FilterFile};
use thiserror::Error;

use crate::image::{MultiImage, Signature, TensorKey, MAX_DIM};

/// Errors from building a [`DenseBank`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BankError {
    /// The spatial dimension is outside `1..=MAX_DIM` or the sides do not match it.
    #[error("filter sides {sides:?} do not give one positive side per axis for d = {dim}")]
    Sides {
        /// The spatial dimension.
        dim: usize,
        /// The sides given.
        sides: Vec<usize>,
    },
    /// A block's values do not match its shape.
    #[error("bank block (k = {k}, parity = {parity}): expected {expected} values, got {got}")]
    DataLength {
        /// Tensor order.
        k: usize,
        /// Parity.
        parity: u8,
        /// Values the shape needs.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Generator banks of different dimension or filter side were combined.
    #[error(
        "generator bank (k = {k}, parity = {parity}) is d = {dim}, M = {size}, but the first \
         bank is d = {expected_dim}, M = {expected_size}"
    )]
    Mismatch {
        /// Tensor order of the offending bank.
        k: usize,
        /// Its parity.
        parity: u8,
        /// Its dimension.
        dim: usize,
        /// Its filter side.
        size: usize,
        /// The first bank's dimension.
        expected_dim: usize,
        /// The first bank's filter side.
        expected_size: usize,
    },
    /// No generator bank was given.
    #[error("no generator bank given: a layer needs at least one (k, parity) bank")]
    Empty,
    /// The group could not be built.
    #[error(transparent)]
    Group(#[from] GroupError),
    /// The generator refused to build a bank.
    #[error(transparent)]
    Generator(#[from] FilterError),
    /// Two blocks have the same (k, parity).
    #[error("bank has two blocks for k = {k}, parity = {parity}")]
    DuplicateBlock {
        /// Tensor order.
        k: usize,
        /// Parity.
        parity: u8,
    },
}

/// The `n_f` invariant filters of one (k, parity).
#[derive(Debug, Clone, PartialEq)]
pub struct BankBlock {
    k: usize,
    parity: u8,
    count: usize,
    data: Vec<f32>,
}

impl BankBlock {
    /// Tensor order k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Parity (0 or 1).
    pub fn parity(&self) -> u8 {
        self.parity
    }

    /// Number of filters n_f.
    pub fn count(&self) -> usize {
        self.count
    }

    /// All values, row-major `(n_f, (M,)*d, (d,)*k)`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The all-contravariant key `((False,)*k, parity)` ginjax stores this block under.
    pub fn key(&self) -> TensorKey {
        TensorKey::new(self.k, self.parity)
    }
}

/// A dense filter bank: filters of side `sides` per axis, one [`BankBlock`] per (k, parity).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseBank {
    dim: usize,
    sides: Vec<usize>,
    blocks: Vec<BankBlock>,
    /// The orders k given to [`DenseBank::new`], ascending, with or without filters.
    orders: Vec<usize>,
}

impl DenseBank {
    /// Builds a bank from `(k, parity, n_filters, values)` blocks, the values of each row-major
    /// `(n_filters, sides…, (dim,)*k)`. Blocks with zero filters are dropped (ginjax leaves such
    /// keys out of the bank), but their order k still counts among the bank's
    /// [`orders`](DenseBank::orders).
    pub fn new(
        dim: usize,
        sides: Vec<usize>,
        blocks: Vec<(usize, u8, usize, Vec<f32>)>,
    ) -> Result<Self, BankError> {
        if dim == 0 || dim > MAX_DIM || sides.len() != dim || sides.contains(&0) {
            return Err(BankError::Sides { dim, sides });
        }
        let pixels: usize = sides.iter().product();
        let mut out: Vec<BankBlock> = Vec::with_capacity(blocks.len());
        let mut orders: Vec<usize> = Vec::new();
        for (k, parity, count, data) in blocks {
            let parity = parity % 2;
            let expected = count * pixels * dim.pow(k as u32);
            if data.len() != expected {
                return Err(BankError::DataLength {
                    k,
                    parity,
                    expected,
                    got: data.len(),
                });
            }
            if out.iter().any(|b| b.k == k && b.parity == parity) {
                return Err(BankError::DuplicateBlock { k, parity });
            }
            if !orders.contains(&k) {
                orders.push(k);
            }
            if count > 0 {
                out.push(BankBlock {
                    k,
                    parity,
                    count,
                    data,
                });
            }
        }
        orders.sort_unstable();
        Ok(Self {
            dim,
            sides,
            blocks: out,
            orders,
        })
    }

    /// Reads ginjax's bank layout: a multi-image whose spatial sides are the filter sides and
    /// whose block `(k, p)` has one channel per filter. Covariant flags are ignored (ginjax's
    /// filters are all contravariant). ginjax leaves empty blocks out, so an order without any
    /// filters is not among [`orders`](DenseBank::orders).
    pub fn from_multi_image(image: &MultiImage) -> Result<Self, BankError> {
        let dim = image.dim();
        let blocks = image
            .blocks()
            .iter()
            .map(|b| {
                (
                    b.key().k(),
                    b.key().parity(),
                    b.channels(),
                    b.data().to_vec(),
                )
            })
            .collect();
        Self::new(dim, image.geometry().spatial().to_vec(), blocks)
    }

    /// Converts generator banks (one per (k, parity), all of one d and M) to f32, as ginjax's
    /// layers use them. Empty banks are left out.
    pub fn from_generator(banks: &[FilterBank]) -> Result<Self, BankError> {
        let first = banks.first().ok_or(BankError::Empty)?;
        let (dim, size) = (first.dim(), first.size());
        let mut blocks = Vec::with_capacity(banks.len());
        for bank in banks {
            if bank.dim() != dim || bank.size() != size {
                return Err(BankError::Mismatch {
                    k: bank.k(),
                    parity: bank.parity(),
                    dim: bank.dim(),
                    size: bank.size(),
                    expected_dim: dim,
                    expected_size: size,
                });
            }
            let data = bank
                .filters()
                .iter()
                .flat_map(|f| f.iter().map(|&x| x as f32))
                .collect();
            blocks.push((bank.k(), bank.parity(), bank.len(), data));
        }
        Self::new(dim, vec![size; dim], blocks)
    }

    /// The banks of side `size` of a filters JSON file (see [`FilterFile`]).
    pub fn from_filter_file(file: &FilterFile, size: usize) -> Result<Self, BankError> {
        let banks: Vec<FilterBank> = file
            .banks
            .iter()
            .filter(|b| b.size() == size)
            .cloned()
            .collect();
        Self::from_generator(&banks)
    }

    /// ginjax's `get_invariant_filters(Ms=[size], ks, parities=[0, 1], D=dim,
    /// make_all_operators(dim))`: the B_d-invariant banks of every k in `ks` and both
    /// parities, built by the generator with `options` (the default is ginjax's convention).
    pub fn invariant(
        dim: usize,
        size: usize,
        ks: &[usize],
        options: &BankOptions,
    ) -> Result<Self, BankError> {
        let group = Group::new(GroupKind::Hyperoctahedral, dim)?;
        let mut banks = Vec::with_capacity(2 * ks.len());
        for &k in ks {
            for parity in 0..2 {
                banks.push(invariant_bank(&group, size, k, parity, options)?);
            }
        }
        Self::from_generator(&banks)
    }

    /// The bank a [`ConvContract`](crate::ConvContract) from `input` to `output` needs: the
    /// invariant filters of every order `k_in + k_out` of its block pairs (both parities, as
    /// ginjax builds them), of side `size`, in ginjax's convention.
    ///
    /// ```
    /// use ginrs_runtime::{DenseBank, Signature, TensorKey};
    /// let input = Signature::new(vec![(TensorKey::scalar(), 1), (TensorKey::vector(), 1)])?;
    /// let output = Signature::new(vec![(TensorKey::vector(), 4)])?;
    /// let bank = DenseBank::for_signatures(2, 3, &input, &output)?;
    /// // vector → vector needs filter order 2, scalar → vector order 1
    /// assert!(bank.get(1, 0).is_some() && bank.get(2, 0).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_signatures(
        dim: usize,
        size: usize,
        input: &Signature,
        output: &Signature,
    ) -> Result<Self, BankError> {
        let mut ks: Vec<usize> = input
            .entries()
            .iter()
            .flat_map(|(a, _)| output.entries().iter().map(move |(b, _)| a.k() + b.k()))
            .collect();
        ks.sort_unstable();
        ks.dedup();
        Self::invariant(dim, size, &ks, &BankOptions::default())
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Filter side per spatial axis.
    pub fn sides(&self) -> &[usize] {
        &self.sides
    }

    /// Number of filter pixels.
    pub fn pixels(&self) -> usize {
        self.sides.iter().product()
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[BankBlock] {
        &self.blocks
    }

    /// The tensor orders k the bank was built with, ascending: those of its blocks and those
    /// whose blocks had no filters.
    pub fn orders(&self) -> &[usize] {
        &self.orders
    }

    /// The block of order `k` and parity `parity`, if the bank has filters for it.
    pub fn get(&self, k: usize, parity: u8) -> Option<&BankBlock> {
        self.blocks
            .iter()
            .find(|b| b.k == k && b.parity == parity % 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_shapes_and_drops_empty_blocks() {
        let bank = DenseBank::new(
            2,
            vec![3, 3],
            vec![
                (0, 0, 1, vec![1.0; 9]),
                (0, 1, 0, vec![]),
                (1, 2, 1, vec![0.5; 18]),
            ],
        )
        .unwrap();
        assert_eq!(bank.blocks().len(), 2);
        assert!(bank.get(0, 1).is_none());
        assert_eq!(bank.get(1, 0).unwrap().key(), TensorKey::vector());
        assert_eq!(
            DenseBank::new(2, vec![3, 3], vec![(1, 0, 2, vec![0.0; 35])]),
            Err(BankError::DataLength {
                k: 1,
                parity: 0,
                expected: 36,
                got: 35
            })
        );
        assert_eq!(
            DenseBank::new(
                2,
                vec![3, 3],
                vec![(0, 0, 1, vec![0.0; 9]), (0, 2, 1, vec![0.0; 9])]
            ),
            Err(BankError::DuplicateBlock { k: 0, parity: 0 })
        );
        assert!(matches!(
            DenseBank::new(2, vec![3], vec![]),
            Err(BankError::Sides { dim: 2, .. })
        ));
    }
}
