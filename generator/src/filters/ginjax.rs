//! ginjax's convention for invariant filter banks (`get_unique_invariant_filters`).
//!
//! The steps are those of `tests/fixtures/README.md` ("How ginjax builds the list"), numbered
//! the same way. Steps 1–3 are exact: the group average of a unit filter `e_c` is
//! `|Stab| · σ_c · O` for the signed orbit sum `O` of `c` (zero on orbits whose stabilizer acts
//! by −1), so the group average of any basis element is an integer combination of orbit sums,
//! computed here from the [`Orbits`] without touching the group again. Rows are kept sparse.
//!
//! Step 4 (L1 normalisation, then rounding to 5 decimals, half to even) is done in f64 exactly
//! as ginjax does it with float64 enabled: `round_half_even(fl(fl(a / L1) · 1e5)) / 1e5`, where
//! `a` and `L1` are integers. The rounded numerators are kept as integers, so the signs of
//! steps 5, 7 and 10 are decided exactly on the rounded values. Where that exact value is zero
//! ginjax's sign comes from floating-point noise (`sign_rule` `float_noise`); this
//! implementation then keeps the sign of step 5 (first non-zero entry positive), which is what
//! ginjax does when the noise happens to be exactly 0.0. Steps 8–12 are done in f64 like ginjax.
//!
//! Like ginjax, only exact duplicate rows are removed (step 6), so with the k = 2 irreps bases
//! a bank can hold a few linearly dependent filters (d = 3, M = 5, k = 2, p = 0: 31 filters
//! spanning a 30-dimensional space); they are kept, since ginjax's weights index them.
//!
//! Not supported (not needed by ginrs): `max_pixel_l1`, `combine_equal_l1` and the scalings
//! other than `NORMALIZE` and `ONE`. For `k == 2` with the irreps basis and `d ≥ 4`, where
//! ginjax raises, the bases are generalised in the evident way (trace; `E_ab − E_ba` for
//! `a < b`; `E_aa − E_{d−1,d−1}` for `a < d−1`, then `E_ab + E_ba` for `a < b`).

use std::cmp::Ordering;

use super::coords::CoordSpace;
use super::orbits::Orbits;
use super::pysort::python_sorted;
use super::Scale;

/// ginjax's tolerance `TINY`.
const TINY: f64 = 1e-5;

/// One filter during the pipeline: sparse, sorted by coordinate.
#[derive(Debug, Clone)]
struct Filter {
    coords: Vec<u32>,
    /// The step-4 rounded entries times 1e5 (exact integers), with the signs of steps 5–10.
    numerators: Vec<i64>,
    values: Vec<f64>,
}

/// The quantities ginjax's `GeometricFilter.__lt__` compares.
#[derive(Debug, Clone, Copy)]
struct Features {
    content: u32,
    l1: f64,
    l2: f64,
    sym: f64,
    anti: f64,
    trace: f64,
    norm_sum: f64,
}

/// The ginjax bank for the orbits of one coordinate space, as dense row-major filters (use
/// [`crate::invariant_bank`] unless the orbits are already at hand).
pub fn ginjax_filters(
    space: &CoordSpace,
    orbits: &Orbits,
    parity: u8,
    scale: Scale,
    k2_irreps_basis: bool,
) -> Vec<Vec<f64>> {
    let k = space.k();
    let filters = if k == 2 && k2_irreps_basis && space.dim() > 1 {
        let mut all = Vec::new();
        for templates in k2_irrep_templates(space.dim()) {
            let rows = template_rows(space, orbits, &templates);
            all.extend(pipeline(space, orbits, rows, parity, scale));
        }
        sort_filters(space, all)
    } else {
        let rows = orbits
            .alive_orbits()
            .map(|o| vec![(o, orbits.stabilizer_order(o) as i64)])
            .collect();
        pipeline(space, orbits, rows, parity, scale)
    };
    filters
        .into_iter()
        .map(|f| {
            let mut dense = vec![0.0; space.len()];
            for (&c, &v) in f.coords.iter().zip(&f.values) {
                dense[c as usize] = v;
            }
            dense
        })
        .collect()
}

/// The three k=2 sub-bases (trace, antisymmetric, symmetric traceless) as per-pixel templates:
/// lists of `(tensor entry a·d + b, coefficient)`.
fn k2_irrep_templates(d: usize) -> [Vec<Vec<(usize, i64)>>; 3] {
    let at = |a: usize, b: usize| a * d + b;
    let trace = vec![(0..d).map(|a| (at(a, a), 1)).collect()];
    let mut anti = Vec::new();
    let mut off_diagonal = Vec::new();
    for a in 0..d {
        for b in a + 1..d {
            anti.push(vec![(at(a, b), 1), (at(b, a), -1)]);
            off_diagonal.push(vec![(at(a, b), 1), (at(b, a), 1)]);
        }
    }
    let mut sym: Vec<Vec<(usize, i64)>> = (0..d - 1)
        .map(|a| vec![(at(a, a), 1), (at(d - 1, d - 1), -1)])
        .collect();
    sym.extend(off_diagonal);
    [trace, anti, sym]
}

/// Steps 1–2 for a per-pixel template basis: the group average of each basis element as
/// integer coefficients on alive orbits (the entry of the average at the orbit's
/// representative), sorted by orbit.
fn template_rows(
    space: &CoordSpace,
    orbits: &Orbits,
    templates: &[Vec<(usize, i64)>],
) -> Vec<Vec<(usize, i64)>> {
    let mut rows = Vec::with_capacity(space.pixels() * templates.len());
    for pixel in 0..space.pixels() {
        for template in templates {
            let mut row: Vec<(usize, i64)> = Vec::with_capacity(template.len());
            for &(t, coefficient) in template {
                let coord = pixel * space.tensor_len() + t;
                let o = orbits.orbit_of(coord);
                if !orbits.is_alive(o) {
                    continue;
                }
                let a = coefficient * orbits.sign(coord) as i64 * orbits.stabilizer_order(o) as i64;
                match row.iter_mut().find(|(orbit, _)| *orbit == o) {
                    Some(entry) => entry.1 += a,
                    None => row.push((o, a)),
                }
            }
            row.retain(|&(_, a)| a != 0);
            row.sort_unstable();
            rows.push(row);
        }
    }
    rows
}

/// Steps 3–12 for one basis, from the group averages given on orbits.
fn pipeline(
    space: &CoordSpace,
    orbits: &Orbits,
    rows: Vec<Vec<(usize, i64)>>,
    parity: u8,
    scale: Scale,
) -> Vec<Filter> {
    // Steps 3–5 on orbit coefficients: drop zero rows, L1-normalise, round, leading sign.
    let mut rounded: Vec<Vec<(usize, i64)>> = Vec::with_capacity(rows.len());
    for row in rows {
        let l1: f64 = row
            .iter()
            .map(|&(o, a)| a.unsigned_abs() as f64 * orbits.members(o).len() as f64)
            .sum();
        if l1 <= TINY {
            continue;
        }
        let mut r: Vec<(usize, i64)> = row
            .iter()
            .map(|&(o, a)| (o, round5(a as f64 / l1)))
            .filter(|&(_, n)| n != 0)
            .collect();
        // Orbits are numbered by representative, the smallest coordinate, and the
        // representative has sign +1: the first entry of the row is the first non-zero one.
        // (A row rounded entirely to zero is dropped; ginjax would divide 0 by 0 in step 8.)
        let Some(&(_, lead)) = r.first() else {
            continue;
        };
        if lead < 0 {
            r.iter_mut().for_each(|e| e.1 = -e.1);
        }
        rounded.push(r);
    }
    // Step 6: numpy.unique(axis=0): remove duplicates, sort lexicographically by dense value.
    rounded.sort_unstable();
    rounded.dedup();
    let mut sparse: Vec<Vec<(u32, i64)>> = rounded
        .iter()
        .map(|row| {
            let mut entries: Vec<(u32, i64)> = row
                .iter()
                .flat_map(|&(o, n)| {
                    orbits
                        .members(o)
                        .iter()
                        .map(move |&c| (c, n * orbits.sign(c as usize) as i64))
                })
                .collect();
            entries.sort_unstable_by_key(|e| e.0);
            entries
        })
        .collect();
    sparse.sort_by(|a, b| dense_lex_cmp(a, b));
    let filters: Vec<Filter> = sparse
        .into_iter()
        .map(|entries| {
            let (coords, mut numerators): (Vec<u32>, Vec<i64>) = entries.into_iter().unzip();
            // Step 7: sign of the row sum (exact on the rounded values; 0 leaves the sign).
            if numerators.iter().map(|&n| n as i128).sum::<i128>() < 0 {
                numerators.iter_mut().for_each(|n| *n = -*n);
            }
            // Step 8: divide by the largest absolute entry.
            let values: Vec<f64> = numerators.iter().map(|&n| n as f64 / 1e5).collect();
            let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let values = values.into_iter().map(|v| v / max).collect();
            Filter {
                coords,
                numerators,
                values,
            }
        })
        .collect();
    // Step 9: sort; step 10: rectify; step 12: scale.
    sort_filters(space, filters)
        .into_iter()
        .map(|mut f| {
            if rectify_flips(space, parity, &f) {
                f.numerators.iter_mut().for_each(|n| *n = -*n);
                f.values.iter_mut().for_each(|v| *v = -*v);
            }
            scale_filter(space, scale, &mut f);
            f
        })
        .collect()
}

/// Step 4 for one entry: `round(x, 5)` as jax computes it in float64, times 1e5.
fn round5(x: f64) -> i64 {
    (x * 1e5).round_ties_even() as i64
}

/// numpy's lexicographic order of the dense rows given by sparse non-zero entries.
fn dense_lex_cmp(a: &[(u32, i64)], b: &[(u32, i64)]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (None, None) => return Ordering::Equal,
            (Some(&(_, va)), None) => return va.cmp(&0),
            (None, Some(&(_, vb))) => return 0.cmp(&vb),
            (Some(&(ca, va)), Some(&(cb, vb))) => match ca.cmp(&cb) {
                Ordering::Less => return va.cmp(&0),
                Ordering::Greater => return 0.cmp(&vb),
                Ordering::Equal if va != vb => return va.cmp(&vb),
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
            },
        }
    }
}

/// Step 10: whether `GeometricFilter.rectify` negates the filter, decided exactly on the
/// integer numerators (a positive multiple of the values) with uncentred pixel indices.
fn rectify_flips(space: &CoordSpace, parity: u8, f: &Filter) -> bool {
    // Σ weight(pixel index, tensor entry) · numerator over the filter's non-zero entries.
    let weighted = |weight: fn(&[usize], usize) -> i128| -> i128 {
        f.coords
            .iter()
            .zip(&f.numerators)
            .map(|(&c, &n)| {
                let c = c as usize;
                let idx = space.pixel_index(space.pixel_of(c));
                weight(&idx, space.tensor_of(c)) * n as i128
            })
            .sum()
    };
    let test: i128 = match (space.k(), parity % 2, space.dim()) {
        (0, _, _) => f.numerators.iter().map(|&n| n as i128).sum(),
        // dot(idx, v)
        (1, 0, _) => weighted(|idx, t| idx[t] as i128),
        // cross(idx, v) = idx0·v1 − idx1·v0
        (1, 1, 2) => weighted(|idx, t| {
            if t == 1 {
                idx[0] as i128
            } else {
                -(idx[1] as i128)
            }
        }),
        _ => 0,
    };
    test < 0
}

/// Step 12 (`scale_filters`): `NORMALIZE` multiplies by `1 / (largest pixel norm)` when that
/// norm exceeds `TINY`; `ONE` multiplies by `1 / (largest absolute entry)`.
fn scale_filter(space: &CoordSpace, scale: Scale, f: &mut Filter) {
    let factor = match scale {
        Scale::Normalize => {
            let max_norm = pixel_groups(space, f)
                .map(|range| f.values[range].iter().map(|v| v * v).sum::<f64>().sqrt())
                .fold(0.0f64, f64::max);
            if max_norm > TINY {
                1.0 / max_norm
            } else {
                1.0
            }
        }
        Scale::One => 1.0 / f.values.iter().fold(0.0f64, |m, v| m.max(v.abs())),
    };
    f.values.iter_mut().for_each(|v| *v *= factor);
}

/// The ranges of `f.coords` (and `f.values`) that fall on one pixel each, in pixel order.
fn pixel_groups<'a>(
    space: &'a CoordSpace,
    f: &'a Filter,
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= f.coords.len() {
            return None;
        }
        let pixel = space.pixel_of(f.coords[start] as usize);
        let mut end = start + 1;
        while end < f.coords.len() && space.pixel_of(f.coords[end] as usize) == pixel {
            end += 1;
        }
        let range = start..end;
        start = end;
        Some(range)
    })
}

/// Steps 9 and 12: Python's stable `sorted` with `GeometricFilter.__lt__`.
fn sort_filters(space: &CoordSpace, filters: Vec<Filter>) -> Vec<Filter> {
    let k = space.k();
    let keyed: Vec<(Features, Filter)> = filters
        .into_iter()
        .map(|f| (features(space, &f), f))
        .collect();
    python_sorted(keyed, |a, b| less_than(k, &a.0, &b.0))
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// `GeometricFilter.__lt__` for two filters of the same shape, k and parity.
fn less_than(k: usize, a: &Features, b: &Features) -> bool {
    if k == 2 && a.content != b.content {
        return a.content < b.content;
    }
    if (a.l1 - b.l1).abs() > TINY {
        return a.l1 < b.l1;
    }
    if (a.l2 - b.l2).abs() > TINY {
        return a.l2 < b.l2;
    }
    if k == 2 {
        for (x, y) in [(a.sym, b.sym), (a.anti, b.anti), (a.trace, b.trace)] {
            if (x - y).abs() > TINY {
                return x < y;
            }
        }
    }
    a.norm_sum < b.norm_sum
}

/// The comparator's quantities, computed in f64 the way ginjax computes them.
fn features(space: &CoordSpace, f: &Filter) -> Features {
    let d = space.dim();
    let k = space.k();
    let centre = (space.size() as f64 - 1.0) / 2.0;
    let mut out = Features {
        content: 0,
        l1: f64::NEG_INFINITY,
        l2: f64::NEG_INFINITY,
        sym: 0.0,
        anti: 0.0,
        trace: 0.0,
        norm_sum: 0.0,
    };
    let mut pixel_values = vec![0.0f64; space.tensor_len()];
    for range in pixel_groups(space, f) {
        let pixel = space.pixel_of(f.coords[range.start] as usize);
        pixel_values.iter_mut().for_each(|v| *v = 0.0);
        for i in range.clone() {
            pixel_values[space.tensor_of(f.coords[i] as usize)] = f.values[i];
        }
        out.norm_sum += pixel_values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if pixel_values.iter().any(|v| v.abs() > TINY) {
            let offsets: Vec<f64> = space
                .pixel_index(pixel)
                .into_iter()
                .map(|i| i as f64 - centre)
                .collect();
            out.l1 = out.l1.max(offsets.iter().map(|o| o.abs()).sum());
            out.l2 = out
                .l2
                .max(offsets.iter().map(|o| o * o).sum::<f64>().sqrt());
        }
        if k == 2 {
            let p = |a: usize, b: usize| pixel_values[a * d + b];
            let t = (0..d).map(|a| p(a, a)).sum::<f64>() / d as f64;
            let sym = |a: usize, b: usize| {
                let s = (p(a, b) + p(b, a)) / 2.0;
                if a == b {
                    s - t
                } else {
                    s
                }
            };
            let mut sym_sq = 0.0;
            let mut anti_sq = 0.0;
            let mut upper = Vec::with_capacity(d * (d + 1) / 2);
            for a in 0..d {
                for b in a..d {
                    upper.push((a, b));
                }
            }
            for &(a, b) in &upper[..upper.len() - 1] {
                sym_sq += sym(a, b) * sym(a, b);
            }
            for &(a, b) in upper.iter().filter(|(a, b)| a < b) {
                let anti = (p(a, b) - p(b, a)) / 2.0;
                anti_sq += anti * anti;
            }
            out.sym += sym_sq.sqrt();
            out.anti += anti_sq.sqrt();
            out.trace += t.abs();
        }
    }
    if k == 2 {
        out.content = u32::from(out.trace != 0.0)
            + 10 * u32::from(out.anti != 0.0)
            + 100 * u32::from(out.sym != 0.0);
    }
    out
}
