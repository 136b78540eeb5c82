//! Recorded invariant filters: ginjax stores each `ConvContract`'s filter bank in the layer,
//! so its exports list `.invariant_filters[<flat index 0>][KEY]` leaves
//! ([`filter_path`]) beside the weights, and the weights are coefficients in that bank.
//!
//! ginrs rebuilds ginjax's banks exactly, order and signs included, where ginjax's order and
//! signs are decided by exact values; for D = 3 some are decided by floating-point noise
//! (`ginrs_generator::filters::ginjax`), so a recorded bank may list the same invariant filters
//! in another order or with other signs, and the weights only fit the recorded one. Loading
//! therefore uses a recorded block instead of the rebuilt one once `recorded_bank` has
//! checked that it is a basis of the same space:
//!
//! - the same shape `(n_filters, (M,)*D, (D,)*k)` as the rebuilt block, so the same number of
//!   filters per (k, parity);
//! - every filter invariant under every element `g` of B_D acting with the block's parity:
//!   `‖g·f − f‖ ≤` [`INVARIANCE_TOLERANCE`] `· ‖f‖` (the values are f32, and f32 rounding keeps
//!   the entries that the group permutes up to sign equal, so an invariant recorded filter
//!   moves by rounding noise only). Invariance within ε is membership within ε in the span of
//!   the exact orbit basis, which spans exactly the invariant filters
//!   ([`ginrs_generator::filters::recorded`]);
//! - their least-squares projections onto the exact basis span its whole dimension (numerical
//!   rank with [`RANK_TOLERANCE`]), so that the recorded filters span the same space as the
//!   rebuilt ones rather than a part of it (a duplicate or a zero filter). ginjax may keep a
//!   dependent filter in a bank (d = 3, M = 5, k = 2: 31 filters of a 30-dimensional space);
//!   the rebuilt bank has it too, and the rank is still the dimension.
//!
//! Anything else is refused with [`ModelError::Filters`], naming the leaf and its key.

use std::sync::Arc;

use ginrs_generator::filters::recorded::InvariantSpace;
use ginrs_generator::group::Group;
use thiserror::Error;

use crate::image::TensorKey;
use crate::models::error::ModelError;
use crate::models::leaves::{filter_path, filter_shape};
use crate::models::param_set::ParamSet;
use crate::ops::bank::{BankError, DenseBank};

/// Largest `‖g·f − f‖ / ‖f‖` over the elements `g` of B_D that a recorded filter may have.
/// The filters of every bank recorded in the committed ginjax exports (D = 2 and 3, M = 2 and
/// 3, k ≤ 2) move by exactly 0 (f32 rounding keeps the entries that the group permutes up to
/// sign equal), so this leaves room for banks rounded otherwise; a filter that is not
/// invariant moves by a sizeable fraction of its norm.
pub const INVARIANCE_TOLERANCE: f64 = 1e-5;

/// A recorded filter adds a dimension to the span of those before it when its part outside
/// their span is more than this fraction of its norm. The banks recorded in the committed
/// ginjax exports are orthogonal (that part is the whole norm, to 1e-8), and the dependent
/// filter ginjax keeps in its d = 3, M = 5, k = 2, parity 0 bank counts as dependent at this
/// tolerance (rank 30 of 31 filters, tested in `ginrs_generator::filters::recorded`).
pub const RANK_TOLERANCE: f64 = 1e-3;

/// Why a recorded block of invariant filters is not a basis of the invariant filters of its
/// (k, parity).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RecordedFilterError {
    /// The block's shape is not the rebuilt block's: another number of filters, or filters of
    /// another side, dimension or order.
    #[error("shape {got:?}, but the bank the configuration names has {expected:?}")]
    Shape {
        /// The recorded shape.
        got: Vec<usize>,
        /// The rebuilt block's shape `(n_filters, (M,)*D, (D,)*k)`.
        expected: Vec<usize>,
    },
    /// A filter is not invariant under an element of B_D.
    #[error(
        "filter {filter} is not invariant: the element {element:?} of B_D moves it by \
         {relative:.3e} of its norm (at most {INVARIANCE_TOLERANCE:e} allowed)"
    )]
    NotInvariant {
        /// The filter's index in the block.
        filter: usize,
        /// The signed permutation matrix that moves it the most.
        element: Vec<Vec<i64>>,
        /// `‖g·f − f‖ / ‖f‖` for that element.
        relative: f64,
    },
    /// The filters span a smaller space than the invariant filters (a duplicate, a zero
    /// filter or a dependent one in place of a missing direction).
    #[error(
        "the filters span a space of dimension {rank}, but the invariant filters span one of \
         dimension {dimension}"
    )]
    Span {
        /// The dimension the recorded filters span.
        rank: usize,
        /// The dimension of the invariant filters.
        dimension: usize,
    },
}

/// The bank a `ConvContract` at `path` multiplies: `exact`, the bank its configuration names,
/// with every block whose filters `params` records ([`filter_path`]) replaced by the recorded
/// ones, each checked to be a basis of the same space (see the module docs). Returns the bank
/// and the keys of the recorded blocks; `exact` itself when none is recorded.
pub(crate) fn recorded_bank(
    path: &str,
    exact: &Arc<DenseBank>,
    params: &mut ParamSet<'_>,
) -> Result<(Arc<DenseBank>, Vec<TensorKey>), ModelError> {
    let mut blocks = Vec::with_capacity(exact.blocks().len());
    let mut recorded = Vec::new();
    for block in exact.blocks() {
        let key = block.key();
        let leaf_path = filter_path(path, &key);
        let data = match params.take_optional(&leaf_path) {
            Some(leaf) => {
                let refuse = |source| ModelError::Filters {
                    path: leaf_path.clone(),
                    key: key.clone(),
                    source,
                };
                let expected = filter_shape(exact, block.k(), block.count());
                if leaf.shape != expected {
                    return Err(refuse(RecordedFilterError::Shape {
                        got: leaf.shape.clone(),
                        expected,
                    }));
                }
                let bank_error = |e: BankError| ModelError::layer(path, e);
                check_basis(exact, block.k(), block.parity(), &leaf.data)
                    .map_err(bank_error)?
                    .map_err(refuse)?;
                recorded.push(key);
                leaf.data.clone()
            }
            None => block.data().to_vec(),
        };
        blocks.push((block.k(), block.parity(), block.count(), data));
    }
    if recorded.is_empty() {
        return Ok((Arc::clone(exact), recorded));
    }
    // Orders without any filter stay among the bank's orders (they tell a missing order from
    // an order with no invariant filter).
    for &k in exact.orders() {
        if !blocks.iter().any(|b| b.0 == k) {
            blocks.push((k, 0, 0, Vec::new()));
        }
    }
    let bank = DenseBank::new(exact.dim(), exact.sides().to_vec(), blocks)
        .map_err(|e| ModelError::layer(path, e))?;
    Ok((Arc::new(bank), recorded))
}

/// Whether `data`, filters of `bank`'s side and dimension with order `k`, is a basis of the
/// invariant filters of (k, `parity`) under B_D (see the module docs). The outer error: the
/// invariant space could not be built.
fn check_basis(
    bank: &DenseBank,
    k: usize,
    parity: u8,
    data: &[f32],
) -> Result<Result<(), RecordedFilterError>, BankError> {
    let group = Group::hyperoctahedral(bank.dim())?;
    let space = InvariantSpace::new(&group, bank.sides()[0], k, parity)?;
    let len = bank.pixels() * bank.dim().pow(k as u32);
    let filters: Vec<Vec<f64>> = data
        .chunks_exact(len)
        .map(|f| f.iter().map(|&v| v as f64).collect())
        .collect();
    for (filter, values) in filters.iter().enumerate() {
        let worst = space.invariance_error(values)?;
        if worst.relative > INVARIANCE_TOLERANCE {
            return Ok(Err(RecordedFilterError::NotInvariant {
                filter,
                element: worst.element.matrix(),
                relative: worst.relative,
            }));
        }
    }
    let (rank, dimension) = (space.rank(&filters, RANK_TOLERANCE)?, space.dimension());
    if rank != dimension {
        return Ok(Err(RecordedFilterError::Span { rank, dimension }));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, MultiImage};
    use crate::io::model_file::NamedParam;
    use crate::layers::conv_contract::ConvContractConfig;
    use crate::layers::layer::Layer;
    use crate::models::build::LayerBuilder;
    use crate::models::config::FilterSpec;
    use crate::models::leaves::{filter_leaves, layer_leaves};
    use crate::models::plan::LayerSpec;
    use crate::models::BuiltLayer;
    use crate::test_support::{random_image, scalars_and_vectors};

    const PATH: &str = ".c";
    const VECTOR_PAIR: &str = ".c.weights[((False,), 0)][((False,), 0)]";

    fn spec() -> LayerSpec {
        LayerSpec::ConvContract {
            config: ConvContractConfig::new(scalars_and_vectors(1), scalars_and_vectors(2)),
            filters: FilterSpec::up_to(3, 2),
        }
    }

    /// A D = 2 layer's leaves, and the rebuilt bank's block of k = 2, parity 0 (five filters
    /// of 3 × 3 × 2 × 2), which its vector → vector weights multiply.
    fn layer_and_block() -> (Vec<NamedParam>, NamedParam) {
        let mut builder = LayerBuilder::new(2);
        let layer = builder.init(&spec(), PATH, 1).unwrap();
        let bank = builder.bank(&FilterSpec::up_to(3, 2)).unwrap();
        let block = bank.get(2, 0).unwrap();
        assert_eq!(block.count(), 5);
        let recorded = NamedParam::new(
            filter_path(PATH, &block.key()),
            vec![5, 3, 3, 2, 2],
            block.data().to_vec(),
        );
        (layer_leaves(&layer, PATH), recorded)
    }

    fn load(leaves: &[NamedParam]) -> Result<BuiltLayer, ModelError> {
        let mut set = ParamSet::new(leaves).unwrap();
        let layer = LayerBuilder::new(2).load(&spec(), PATH, &mut set)?;
        set.finish().unwrap();
        Ok(layer)
    }

    fn output(layer: &BuiltLayer) -> MultiImage {
        let geometry = Geometry::square(2, 6, true).unwrap();
        layer
            .forward(&random_image(&geometry, &scalars_and_vectors(1), 5))
            .unwrap()
    }

    #[test]
    fn a_permuted_sign_flipped_bank_is_used_with_its_weights() {
        let (mut leaves, exact) = layer_and_block();
        let want = output(&load(&leaves).unwrap());
        // Recorded filter j is s_j · E[π(j)]: the exact filters reversed, every other one
        // negated. Weights on the recorded filters w'[.., j] = s_j · w[.., π(j)] give the same
        // layer.
        let size = 3 * 3 * 2 * 2;
        let sign = |j: usize| if j % 2 == 1 { -1.0 } else { 1.0 };
        let permuted = |values: &[f32], stride: usize| -> Vec<f32> {
            let mut out = values.to_vec();
            for (row_in, row_out) in values.chunks(stride * 5).zip(out.chunks_mut(stride * 5)) {
                for j in 0..5 {
                    let from = &row_in[(4 - j) * stride..(5 - j) * stride];
                    let to = &mut row_out[j * stride..(j + 1) * stride];
                    to.iter_mut().zip(from).for_each(|(t, f)| *t = sign(j) * f);
                }
            }
            out
        };
        let recorded = NamedParam::new(
            exact.path.clone(),
            exact.shape.clone(),
            permuted(&exact.data, size),
        );
        assert_ne!(recorded.data, exact.data);
        let pair = leaves.iter_mut().find(|l| l.path == VECTOR_PAIR).unwrap();
        pair.data = permuted(&pair.data, 1);
        leaves.push(recorded.clone());

        let layer = load(&leaves).unwrap();
        let BuiltLayer::ConvContract(conv) = &layer else {
            panic!("a convolution")
        };
        assert_eq!(conv.bank().get(2, 0).unwrap().data(), &recorded.data[..]);
        assert_eq!(conv.recorded_keys(), [TensorKey::new(2, 0)]);
        let got = output(&layer);
        for (g, w) in got.blocks().iter().zip(want.blocks()) {
            let scale = w.data().iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = g
                .data()
                .iter()
                .zip(w.data())
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-6 * scale, "{worst} of {scale}");
        }
        // The layer lists the recorded filters again, so its leaves rebuild it bit for bit.
        assert_eq!(filter_leaves(&layer, PATH), [recorded]);
        let mut again = layer_leaves(&layer, PATH);
        again.extend(filter_leaves(&layer, PATH));
        assert_eq!(output(&load(&again).unwrap()), got);
        // Without recorded filters the layer uses the rebuilt bank and lists none.
        let plain = load(&leaves[..leaves.len() - 1]).unwrap();
        assert!(filter_leaves(&plain, PATH).is_empty());
    }

    /// The error of loading the layer with `recorded` as its k = 2 filters.
    fn refused(recorded: NamedParam) -> (String, TensorKey, RecordedFilterError) {
        let (mut leaves, _) = layer_and_block();
        leaves.push(recorded);
        match load(&leaves).unwrap_err() {
            ModelError::Filters { path, key, source } => (path, key, source),
            other => panic!("not a filter error: {other}"),
        }
    }

    #[test]
    fn a_filter_that_is_not_invariant_is_refused_naming_the_key() {
        let (_, mut recorded) = layer_and_block();
        // Filter 3, pixel (0, 0), entry (0, 1).
        recorded.data[3 * 36 + 1] += 0.25;
        let (path, key, source) = refused(recorded);
        assert_eq!(
            path,
            ".c.invariant_filters[<flat index 0>][((False, False), 0)]"
        );
        assert_eq!(key, TensorKey::new(2, 0));
        assert!(
            matches!(source, RecordedFilterError::NotInvariant { filter: 3, relative, .. }
                if relative > 0.1),
            "{source}"
        );
    }

    #[test]
    fn a_filter_of_the_other_parity_is_refused() {
        // An invariant filter of (k = 2, parity 1) has the shape of the parity-0 ones, but
        // reflections negate it.
        let (_, mut recorded) = layer_and_block();
        let pseudo = DenseBank::invariant(2, 3, &[2], &crate::BankOptions::default()).unwrap();
        let pseudo = pseudo.get(2, 1).unwrap();
        recorded.data[..36].copy_from_slice(&pseudo.data()[..36]);
        let (path, _, source) = refused(recorded.clone());
        assert!(path.ends_with("[((False, False), 0)]"), "{path}");
        let RecordedFilterError::NotInvariant {
            filter,
            element,
            relative,
        } = source
        else {
            panic!("{source}")
        };
        assert_eq!(filter, 0);
        // A reflection: determinant −1; it negates the filter, which moves by twice its norm.
        let det = element[0][0] * element[1][1] - element[0][1] * element[1][0];
        assert_eq!(det, -1);
        assert!((relative - 2.0).abs() < 1e-6, "{relative}");
    }

    #[test]
    fn a_bank_spanning_a_smaller_space_is_refused() {
        let (_, mut recorded) = layer_and_block();
        let first = recorded.data[..36].to_vec();
        recorded.data[2 * 36..3 * 36].copy_from_slice(&first);
        let (_, key, source) = refused(recorded.clone());
        assert_eq!(key, TensorKey::new(2, 0));
        assert_eq!(
            source,
            RecordedFilterError::Span {
                rank: 4,
                dimension: 5
            }
        );
        let message = ModelError::Filters {
            path: filter_path(PATH, &key),
            key,
            source,
        }
        .to_string();
        assert_eq!(
            message,
            "`.c.invariant_filters[<flat index 0>][((False, False), 0)]`: the recorded invariant \
             filters (k = 2, parity = 0) are refused: the filters span a space of dimension 4, \
             but the invariant filters span one of dimension 5"
        );
        // A zero filter spans nothing either.
        recorded.data[2 * 36..3 * 36].fill(0.0);
        assert!(matches!(
            refused(recorded).2,
            RecordedFilterError::Span { rank: 4, .. }
        ));
    }

    #[test]
    fn a_bank_of_another_count_is_refused() {
        let (_, mut recorded) = layer_and_block();
        recorded.shape[0] = 4;
        recorded.data.truncate(4 * 36);
        assert_eq!(
            refused(recorded).2,
            RecordedFilterError::Shape {
                got: vec![4, 3, 3, 2, 2],
                expected: vec![5, 3, 3, 2, 2]
            }
        );
    }
}
