//! The number of invariant filters from the character formula, independent of any orbit walk:
//! `(1/|G|) Σ_g fix_pixels(g) · tr(g)^k · det(g)^p`.

use crate::group::{Group, SignedPermutation};

/// The number of pixel offsets of an `M^d` filter fixed by `g` (offsets centred at (M−1)/2).
///
/// Along each cycle of the permutation an offset is fixed iff its entries follow the signs of
/// the cycle: a cycle whose signs multiply to +1 leaves one free entry (M choices); one whose
/// signs multiply to −1 forces the entries to 0, which is an offset only when M is odd.
pub fn fixed_pixels(g: &SignedPermutation, size: usize) -> u128 {
    let d = g.dim();
    let mut seen = vec![false; d];
    let mut count: u128 = 1;
    for start in 0..d {
        if seen[start] {
            continue;
        }
        let mut sign = 1i8;
        let mut i = start;
        while !seen[i] {
            seen[i] = true;
            sign *= g.sign(i);
            i = g.col(i);
        }
        let choices = if sign == 1 {
            size as u128
        } else {
            (size % 2) as u128
        };
        count = count.saturating_mul(choices);
    }
    count
}

/// The character formula for the number of invariant filters of side `size`, tensor order `k`
/// and parity `parity` (taken mod 2). Saturates at `u64::MAX` if intermediate values overflow
/// (far beyond anything that can be allocated).
pub fn character_count(group: &Group, size: usize, k: usize, parity: u8) -> u64 {
    let mut total: i128 = 0;
    for g in group.elements() {
        let fix = fixed_pixels(g, size);
        if fix == 0 {
            continue;
        }
        let mut term = i128::try_from(fix).unwrap_or(i128::MAX);
        let trace = g.trace() as i128;
        for _ in 0..k {
            term = term.saturating_mul(trace);
        }
        if parity % 2 == 1 && g.det() == -1 {
            term = -term;
        }
        total = total.saturating_add(term);
    }
    let order = group.order() as i128;
    u64::try_from(total / order).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_count_table() {
        // The filter counts ginjax's `get_invariant_filters` (ginjax/geometric.py) returns,
        // including even sizes. The one
        // exception is d=3, M=5, k=2, p=0, where ginjax returns 31 filters for a 30-dimensional
        // space (one of its k=2 sym filters is a linear combination of others: numpy.unique
        // removes only exact duplicates); the formula and the orbit count give 30.
        // (d, M, counts for (k, p) = (0, 0), (0, 1), (1, 0), (1, 1), ...).
        let table: &[(usize, usize, &[u64])] = &[
            (1, 3, &[2, 1, 1, 2, 2, 1, 1, 2]),
            (1, 5, &[3, 2, 2, 3, 3, 2, 2, 3]),
            (1, 7, &[4, 3, 3, 4, 4, 3, 3, 4]),
            (2, 2, &[1, 0, 1, 1, 2, 2, 4, 4]),
            (2, 3, &[3, 0, 2, 2, 5, 5, 8, 8]),
            (2, 4, &[3, 1, 4, 4, 8, 8, 16, 16]),
            (2, 5, &[6, 1, 6, 6, 13, 13, 24, 24]),
            (2, 7, &[10, 3, 12, 12, 25, 25, 48, 48]),
            (3, 3, &[4, 0, 3, 0, 8, 4]),
            (3, 5, &[10, 0, 12, 3, 30, 20]),
        ];
        for &(d, m, counts) in table {
            let group = Group::hyperoctahedral(d).unwrap();
            for (i, &want) in counts.iter().enumerate() {
                let (k, p) = (i / 2, (i % 2) as u8);
                assert_eq!(
                    character_count(&group, m, k, p),
                    want,
                    "d={d} M={m} k={k} p={p}"
                );
            }
        }
    }
}
