//! Independent checks of the invariant filter banks: orbit counts against the character
//! formula, null-space dimensions from an SVD, and exact invariance of every filter under every
//! group element.

use ginrs_generator::filters::coords::{CoordAction, CoordSpace};
use ginrs_generator::filters::orbits::Orbits;
use ginrs_generator::group::{Group, GroupKind};
use ginrs_generator::{invariant_bank, invariant_count, BankOptions, Convention, Scale};
use nalgebra::DMatrix;

/// Banks with more coordinates than this are skipped to keep debug-mode tests fast.
const MAX_TEST_COORDS: usize = 200_000;

#[test]
fn orbit_count_equals_character_formula() {
    let mut checked = 0;
    for kind in GroupKind::ALL {
        for d in 1..=4 {
            let group = Group::new(kind, d).unwrap();
            for m in [1, 3, 5, 7] {
                for k in 0..=4 {
                    let Ok(space) = CoordSpace::new(d, m, k) else {
                        continue;
                    };
                    if space.len() > MAX_TEST_COORDS {
                        continue;
                    }
                    for p in 0..=1 {
                        let orbits = Orbits::new(&space, &group, p);
                        assert_eq!(
                            orbits.alive_count() as u64,
                            invariant_count(&group, m, k, p),
                            "{kind} d={d} M={m} k={k} p={p}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} cases checked");
}

/// The dimension of the common fixed space of the generators, from an SVD of the stacked
/// `ρ(g) − I`.
fn null_space_dimension(space: &CoordSpace, group: &Group, parity: u8) -> usize {
    let n = space.len();
    let generators = group.generators();
    if generators.is_empty() {
        return n; // the trivial group fixes everything
    }
    let mut stacked = DMatrix::<f64>::zeros(generators.len() * n, n);
    for (block, g) in generators.iter().enumerate() {
        let action = CoordAction::new(space, g, parity);
        for c in 0..n {
            let (t, s) = action.apply(c);
            stacked[(block * n + t, c)] += s as f64;
            stacked[(block * n + c, c)] -= 1.0;
        }
    }
    let singular = stacked.svd(false, false).singular_values;
    n - singular.iter().filter(|&&s| s > 1e-9).count()
}

#[test]
fn svd_null_space_dimension_equals_bank_size() {
    let cases: &[(usize, usize, usize)] = &[
        (1, 3, 0),
        (1, 3, 3),
        (1, 7, 2),
        (2, 1, 2),
        (2, 3, 0),
        (2, 3, 1),
        (2, 3, 2),
        (2, 5, 1),
        (3, 1, 3),
        (3, 3, 0),
        (3, 3, 1),
    ];
    for kind in GroupKind::ALL {
        for &(d, m, k) in cases {
            let group = Group::new(kind, d).unwrap();
            let space = CoordSpace::new(d, m, k).unwrap();
            for p in 0..=1 {
                let options = BankOptions {
                    convention: Convention::Canonical,
                    ..BankOptions::default()
                };
                let bank = invariant_bank(&group, m, k, p, &options).unwrap();
                assert_eq!(
                    bank.len(),
                    null_space_dimension(&space, &group, p),
                    "{kind} d={d} M={m} k={k} p={p}"
                );
            }
        }
    }
}

/// The (group kind, d, M, k, p) of the small banks whose every filter is checked against every
/// group element: d ≤ 3, M ∈ {1, 3, 5}, k ≤ 3.
fn small_cases() -> impl Iterator<Item = (GroupKind, usize, usize, usize, u8)> {
    GroupKind::ALL.into_iter().flat_map(|kind| {
        (1..=3).flat_map(move |d| {
            [1, 3, 5].into_iter().flat_map(move |m| {
                (0..=3).flat_map(move |k| (0..=1).map(move |p| (kind, d, m, k, p)))
            })
        })
    })
}

#[test]
fn canonical_filters_are_exactly_invariant_under_every_element() {
    for (kind, d, m, k, p) in small_cases() {
        let group = Group::new(kind, d).unwrap();
        let options = BankOptions {
            convention: Convention::Canonical,
            scale: Scale::One,
            k2_irreps_basis: true,
        };
        let bank = invariant_bank(&group, m, k, p, &options).unwrap();
        let space = CoordSpace::new(d, m, k).unwrap();
        let exact = bank.exact().expect("canonical banks carry exact filters");
        assert_eq!(exact.len(), bank.len());
        for g in group.elements() {
            let action = CoordAction::new(&space, g, p);
            for (i, e) in exact.iter().enumerate() {
                assert!(
                    e.is_invariant_under(&action),
                    "{kind} d={d} M={m} k={k} p={p} filter {i} moved by {g:?}"
                );
            }
        }
        // Scale ONE: the dense filter is the exact one.
        for (f, e) in bank.filters().iter().zip(exact) {
            assert_eq!(*f, e.to_dense(space.len(), 1.0));
        }
    }
}

#[test]
fn canonical_basis_is_ordered_by_smallest_coordinate_and_normalized() {
    let group = Group::hyperoctahedral(2).unwrap();
    let bank = invariant_bank(
        &group,
        3,
        1,
        0,
        &BankOptions {
            convention: Convention::Canonical,
            ..BankOptions::default()
        },
    )
    .unwrap();
    let exact = bank.exact().unwrap();
    // Orbits of a 3×3 vector filter: corners (smallest coordinate 0 = pixel (0,0), x-component)
    // and edges (smallest coordinate 2·1 + 1 = pixel (0,1), y-component... of the ring).
    let firsts: Vec<usize> = exact.iter().map(|e| e.terms[0].0).collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]));
    assert!(exact.iter().all(|e| e.terms[0].1 == 1));
    for f in bank.filters() {
        let max_pixel_norm = f
            .chunks(2)
            .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
            .fold(0.0, f64::max);
        assert!((max_pixel_norm - 1.0).abs() < 1e-12);
    }
    // The corner filter: at pixel (0,0) (offset (−1,−1)) the vector is −(1,1)/√2 times the
    // representative's sign convention, i.e. its first entry is +1/√2.
    let a = std::f64::consts::FRAC_1_SQRT_2;
    assert!((bank.filters()[0][0] - a).abs() < 1e-15);
    assert!((bank.filters()[0][1] - a).abs() < 1e-15);
}

/// Applies `g` to a dense filter.
fn act(space: &CoordSpace, action: &CoordAction, f: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; space.len()];
    for (c, &x) in f.iter().enumerate() {
        let (t, s) = action.apply(c);
        out[t] += s as f64 * x;
    }
    out
}

#[test]
fn ginjax_filters_are_invariant_up_to_their_rounding_and_counted_by_the_formula() {
    for (kind, d, m, k, p) in small_cases() {
        let group = Group::new(kind, d).unwrap();
        let bank = invariant_bank(&group, m, k, p, &BankOptions::default()).unwrap();
        let space = CoordSpace::new(d, m, k).unwrap();
        let label = format!("{kind} d={d} M={m} k={k} p={p}");
        let formula = invariant_count(&group, m, k, p) as usize;
        if k == 2 && d == 3 && m == 5 && kind != GroupKind::Flips {
            // ginjax's k=2 irreps bases keep a few linearly dependent filters
            // here (numpy.unique removes exact duplicates only): 31 instead of
            // 30 for B_3 with p = 0, as ginjax itself returns.
            let extra = match kind {
                GroupKind::Hyperoctahedral => usize::from(p == 0),
                _ => 3,
            };
            assert_eq!(bank.len(), formula + extra, "{label}");
        } else {
            assert_eq!(bank.len(), formula, "{label}");
        }
        for g in group.elements() {
            let action = CoordAction::new(&space, g, p);
            for f in bank.filters() {
                let moved = act(&space, &action, f);
                let diff = moved
                    .iter()
                    .zip(f)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(diff < 1e-3, "{label}: moved by {diff}");
            }
        }
    }
}
