//! Equivariance of the non-convolution layers under B_d, with the runtime's self-check
//! (`equivariance::check_layer`): every element of B_2 and B_3 on torus images, then proptest
//! over random dimensions, shapes, signatures and sampled elements.
//!
//! What holds, and why:
//! - `VectorNeuronNonlinear`: for any weights and any key — `W` mixes channels only, and the
//!   direction, inner product and norms transform covariantly (pseudo-tensors flip `x` and `q`
//!   together, so `⟨x, q̂⟩` is invariant).
//! - `GroupNorm`/`LayerNorm`: statistics are over all pixels (invariant); the whitening matrix
//!   of `g·C·gᵀ` is `g·W·gᵀ`; the vector bias multiplies the (covariant) channel mean. Scalar
//!   biases are additive, so pseudoscalars stay equivariant only while that bias is 0 (ginjax
//!   keeps them additive, shown below).
//! - `MaxNormPool`: exactly (values are selected) when every side is divisible by the patch,
//!   so that patches map onto patches, and pixel norms do not tie within a patch; by value only
//!   for plain scalars (a pseudoscalar's max becomes a min under reflections, shown below).
//! - `average_pool`: on divisible sides, up to rounding.
//! - `LayerWrapper(Aux)`: whenever the wrapped per-block module is (e.g. an odd elementwise
//!   function, or ReLU on plain scalars).

use ginrs_runtime::check::equivariance::{check_fn, check_layer, Elements, EquivarianceReport};
use ginrs_runtime::group::Group;
use ginrs_runtime::layers::group_norm::GroupNorm;
use ginrs_runtime::layers::max_norm_pool::MaxNormPool;
use ginrs_runtime::layers::nonlinear::VectorNeuronNonlinear;
use ginrs_runtime::layers::wrapper::{Elementwise, LayerWrapper, LayerWrapperAux};
use ginrs_runtime::ops::pool::average_pool;
use ginrs_runtime::{Error, Geometry, ImageBlock, MultiImage, Signature, TensorKey};
use proptest::prelude::*;

/// Relative tolerance for computed (not selected) outputs.
const TOL: f32 = 1e-5;

/// Deterministic values in [−2, 2) (splitmix64), so inputs need no random crate.
fn values(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

fn image(spatial: Vec<usize>, signature: &Signature, seed: u64) -> MultiImage {
    let torus = vec![true; spatial.len()];
    let geometry = Geometry::new(spatial, torus).unwrap();
    let blocks = signature
        .entries()
        .iter()
        .enumerate()
        .map(|(i, (key, channels))| {
            let len = channels * geometry.pixels() * key.components(geometry.dim());
            ImageBlock::new(
                geometry.clone(),
                key.clone(),
                *channels,
                values(seed + i as u64, len),
            )
            .unwrap()
        })
        .collect();
    MultiImage::from_blocks(geometry, blocks).unwrap()
}

fn sig(entries: &[(usize, u8, usize)]) -> Signature {
    Signature::new(
        entries
            .iter()
            .map(|&(k, p, c)| (TensorKey::new(k, p), c))
            .collect(),
    )
    .unwrap()
}

fn assert_holds(report: &EquivarianceReport, tolerance: f32, context: &str) {
    assert!(
        report.holds(tolerance),
        "{context}: relative error {} (abs {}, scale {}) at g = {:?}",
        report.relative_error,
        report.max_abs_error,
        report.output_scale,
        report.worst
    );
    assert!(report.output_scale > 0.0, "{context}: trivial output");
    if std::env::var_os("GINRS_PRINT").is_some() {
        eprintln!("{context}: relative {:e}", report.relative_error);
    }
}

/// The images of the exhaustive checks: D = 2 on a non-square 4 × 6 torus, D = 3 on 4 × 2 × 4.
fn cases() -> Vec<(Vec<usize>, usize)> {
    vec![(vec![4, 6], 8), (vec![4, 2, 4], 48)]
}

#[test]
fn vector_neuron_all_elements() {
    let keys = sig(&[
        (0, 0, 3),
        (1, 0, 3),
        (1, 1, 2),
        (0, 1, 2),
        (2, 0, 2),
        (2, 1, 1),
    ]);
    for (spatial, order) in cases() {
        let layer = VectorNeuronNonlinear::new(&keys, 11);
        let x = image(spatial.clone(), &keys, 1);
        let report = check_layer(&layer, &x, &Elements::All).unwrap();
        assert_eq!(report.per_element.len(), order);
        assert_holds(&report, TOL, &format!("VNN {spatial:?}"));
    }
}

#[test]
fn group_norm_all_elements() {
    let keys = sig(&[(0, 0, 4), (1, 0, 4), (0, 1, 2), (1, 1, 2)]);
    for (spatial, _) in cases() {
        for groups in [1, 2] {
            let mut layer = GroupNorm::new(&keys, groups).unwrap();
            // Non-trivial vector scale/bias and scalar weight/bias (pseudoscalar bias stays 0).
            let keep: Vec<_> = keys.entries().to_vec();
            for (key, c) in &keep {
                let w = values(40 + key.k() as u64, *c);
                let b = if key.k() == 0 && key.parity() == 1 {
                    vec![0.0; *c]
                } else {
                    values(50 + key.k() as u64, *c)
                };
                layer.set_affine(key, w, b).unwrap();
            }
            let x = image(spatial.clone(), &keys, 2);
            let report = check_layer(&layer, &x, &Elements::All).unwrap();
            assert_holds(&report, TOL, &format!("GroupNorm({groups}) {spatial:?}"));
        }
        let layer_norm = GroupNorm::layer_norm(&keys).unwrap();
        let x = image(spatial.clone(), &keys, 3);
        let report = check_layer(&layer_norm, &x, &Elements::All).unwrap();
        assert_holds(&report, TOL, &format!("LayerNorm {spatial:?}"));
    }
}

#[test]
fn pseudoscalar_bias_breaks_reflections_only() {
    // As in ginjax, an additive bias on a pseudoscalar commutes with rotations (det +1) but
    // not with reflections (det −1), where the error is 2|b|.
    let keys = sig(&[(0, 1, 1)]);
    let mut layer = GroupNorm::layer_norm(&keys).unwrap();
    layer
        .set_affine(&TensorKey::new(0, 1), vec![1.0], vec![0.25])
        .unwrap();
    let x = image(vec![4, 4], &keys, 4);
    let report = check_layer(&layer, &x, &Elements::All).unwrap();
    for e in &report.per_element {
        if e.element.det() > 0 {
            assert!(e.max_abs_error < 1e-6, "{:?}", e.element);
        } else {
            assert!((e.max_abs_error - 0.5).abs() < 1e-5, "{:?}", e.element);
        }
    }
    assert_eq!(report.worst.map(|g| g.det()), Some(-1));
}

#[test]
fn max_norm_pool_all_elements_exact() {
    let keys = sig(&[(0, 0, 2), (1, 0, 2), (0, 1, 1), (1, 1, 1), (2, 0, 1)]);
    for (spatial, _) in cases() {
        let x = image(spatial.clone(), &keys, 5);
        let pool = MaxNormPool::new(2, true).unwrap();
        let report = check_layer(&pool, &x, &Elements::All).unwrap();
        assert_eq!(report.max_abs_error, 0.0, "MaxNormPool {spatial:?}");
        assert!(report.output_scale > 0.0);
        // By value, on plain scalars.
        let scalars = image(spatial.clone(), &sig(&[(0, 0, 3)]), 6);
        let pool = MaxNormPool::new(2, false).unwrap();
        let report = check_layer(&pool, &scalars, &Elements::All).unwrap();
        assert_eq!(
            report.max_abs_error, 0.0,
            "MaxNormPool by value {spatial:?}"
        );
    }
}

#[test]
fn max_pool_by_value_of_pseudoscalars_is_not_equivariant() {
    let x = image(vec![4, 4], &sig(&[(0, 1, 1)]), 7);
    let pool = MaxNormPool::new(2, false).unwrap();
    let report = check_layer(&pool, &x, &Elements::All).unwrap();
    assert!(!report.holds(0.1));
    for e in report.per_element.iter().filter(|e| e.element.det() > 0) {
        assert_eq!(e.max_abs_error, 0.0);
    }
}

#[test]
fn max_pool_on_non_divisible_sides_is_not_equivariant() {
    // 5 × 5 with patch 2: the dropped last row/column is not mapped onto itself by flips.
    let x = image(vec![5, 5], &sig(&[(1, 0, 1)]), 8);
    let pool = MaxNormPool::new(2, true).unwrap();
    let report = check_layer(&pool, &x, &Elements::All).unwrap();
    assert!(report.max_abs_error > 0.0);
}

#[test]
fn average_pool_all_elements() {
    let keys = sig(&[(0, 1, 1), (1, 0, 2), (2, 1, 1)]);
    let pool = |x: &MultiImage| -> Result<MultiImage, Error> {
        let blocks = x
            .blocks()
            .iter()
            .map(|b| average_pool(b, 2))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultiImage::from_blocks(
            blocks[0].geometry().clone(),
            blocks,
        )?)
    };
    for (spatial, _) in cases() {
        let x = image(spatial.clone(), &keys, 9);
        let report = check_fn(pool, &x, &Elements::All).unwrap();
        assert_holds(&report, TOL, &format!("average_pool {spatial:?}"));
    }
}

#[test]
fn wrappers_all_elements() {
    let keys = sig(&[(0, 0, 2), (1, 0, 1), (1, 1, 2), (2, 0, 1)]);
    // tanh is odd, so elementwise it commutes with signed permutations on every key.
    let odd = LayerWrapper::new(Elementwise::new(f32::tanh), &keys);
    // A module that threads state: scales each block by 1 + (blocks seen so far).
    let counting = |block: &ImageBlock, n: u32| -> Result<(ImageBlock, u32), Error> {
        let mut out = block.clone();
        out.data_mut().iter_mut().for_each(|v| *v *= 1.0 + n as f32);
        Ok((out, n + 1))
    };
    let aux = LayerWrapperAux::new(counting, &keys);
    for (spatial, _) in cases() {
        let x = image(spatial.clone(), &keys, 10);
        let report = check_layer(&odd, &x, &Elements::All).unwrap();
        assert_holds(&report, TOL, &format!("LayerWrapper(tanh) {spatial:?}"));
        let report = check_fn(|x| Ok(aux.forward_aux(x, 0)?.0), &x, &Elements::All).unwrap();
        assert_holds(&report, TOL, &format!("LayerWrapperAux {spatial:?}"));
    }
    // ReLU on the vector components is not equivariant (a flip turns max(v, 0) into min).
    let relu = LayerWrapper::new(Elementwise::new(|v: f32| v.max(0.0)), &keys);
    let x = image(vec![4, 6], &keys, 11);
    assert!(!check_layer(&relu, &x, &Elements::All).unwrap().holds(0.1));
}

#[test]
fn b3_has_48_elements_in_ginjax_order() {
    // The exhaustive checks above iterate the same list as ginjax's make_all_operators(3).
    let x = image(vec![2, 2, 2], &sig(&[(1, 0, 1)]), 12);
    let report = check_fn(|x| Ok(x.clone()), &x, &Elements::All).unwrap();
    let group = Group::hyperoctahedral(3).unwrap();
    let listed: Vec<_> = report.per_element.iter().map(|e| e.element).collect();
    assert_eq!(listed, group.elements());
}

/// A random signature: 1–3 keys of order k ≤ `max_k`, any parity, 1–3 channels (the channel
/// count is a multiple of `groups`).
fn signature_strategy(max_k: usize, groups: usize) -> impl Strategy<Value = Signature> {
    prop::collection::vec((0..=max_k, 0u8..2, 1usize..=3), 1..=3).prop_map(move |entries| {
        let mut out: Vec<(TensorKey, usize)> = Vec::new();
        for (k, p, c) in entries {
            let key = TensorKey::new(k, p);
            if !out.iter().any(|(other, _)| other == &key) {
                out.push((key, c * groups));
            }
        }
        Signature::new(out).unwrap()
    })
}

/// Spatial sides: dimension 1–3, each side a multiple of `multiple` (1–3 multiples).
fn spatial_strategy(multiple: usize) -> impl Strategy<Value = Vec<usize>> {
    (1usize..=3).prop_flat_map(move |d| {
        prop::collection::vec((1usize..=3).prop_map(move |m| m * multiple), d)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn vector_neuron_random(
        keys in signature_strategy(2, 1),
        spatial in spatial_strategy(1),
        seed in any::<u64>(),
    ) {
        let layer = VectorNeuronNonlinear::new(&keys, seed);
        let x = image(spatial, &keys, seed);
        let report = check_layer(&layer, &x, &Elements::Sample { count: 6, seed }).unwrap();
        // When W points against x the output is the eps-sized remainder x − s·n, whose f32
        // rounding is relative to |x|.
        prop_assert!(report.holds_for_input_scale(TOL), "{report:?}");
    }

    #[test]
    fn group_norm_random(
        groups in 1usize..=2,
        keys in signature_strategy(1, 2),
        spatial in spatial_strategy(1),
        seed in any::<u64>(),
    ) {
        let layer = GroupNorm::new(&keys, groups).unwrap();
        let x = image(spatial, &keys, seed);
        let report = check_layer(&layer, &x, &Elements::Sample { count: 6, seed }).unwrap();
        prop_assert!(report.holds(TOL), "{report:?}");
    }

    #[test]
    fn max_norm_pool_random(
        patch in 1usize..=3,
        keys in signature_strategy(2, 1),
        multiples in spatial_strategy(1),
        seed in any::<u64>(),
    ) {
        let spatial: Vec<usize> = multiples.iter().map(|m| m * patch).collect();
        let pool = MaxNormPool::new(patch, true).unwrap();
        let x = image(spatial, &keys, seed);
        let report = check_layer(&pool, &x, &Elements::Sample { count: 6, seed }).unwrap();
        prop_assert_eq!(report.max_abs_error, 0.0);
    }
}
