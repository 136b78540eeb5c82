//! The filter banks a generated layer is built from (temporary exact orbit-sum bank until the
//! generator's filter module lands).

use crate::group::Group;

use super::spec::ConventionSpec;
use super::stencil::PairFilters;

/// The exact number of invariant filters of order `k`, parity `p`, side `m` in dimension `dim`.
pub fn invariant_count(dim: usize, m: usize, k: usize, parity: u8) -> usize {
    orbit_sums(dim, m, k, parity).len()
}

/// The filters of a block pair `(k_in, p_in) → (k_out, p_out)`, dense, in ginjax layout.
pub fn pair_filters(
    dim: usize,
    m: usize,
    k_in: usize,
    p_in: u8,
    k_out: usize,
    p_out: u8,
    _convention: ConventionSpec,
) -> PairFilters {
    PairFilters {
        dim,
        filter_size: m,
        k_in,
        k_out,
        filters: orbit_sums(dim, m, k_in + k_out, (p_in + p_out) % 2),
    }
}

fn orbit_sums(dim: usize, m: usize, k: usize, parity: u8) -> Vec<Vec<f64>> {
    let group = Group::hyperoctahedral(dim).expect("dimension validated");
    let pixels = m.pow(dim as u32);
    let comps = dim.pow(k as u32);
    let len = pixels * comps;
    let mut covered = vec![false; len];
    let mut out = Vec::new();
    for b in 0..len {
        if covered[b] {
            continue;
        }
        let (pixel, comp) = (b / comps, b % comps);
        let mut offset: Vec<i64> = digits(pixel, m, dim)
            .into_iter()
            .map(|x| 2 * x as i64 - (m as i64 - 1))
            .collect();
        let index = digits(comp, dim, k);
        let mut sum = vec![0i64; len];
        for g in group.elements() {
            let moved = g.apply(&offset);
            let mut sign = if parity == 1 { g.det() as i64 } else { 1 };
            let mut new_index = vec![0; k];
            for (r, &a) in index.iter().enumerate() {
                let row = (0..dim).find(|&row| g.col(row) == a).expect("permutation");
                new_index[r] = row;
                sign *= g.sign(row) as i64;
            }
            let px: Vec<usize> = moved
                .iter()
                .map(|&x| ((x + m as i64 - 1) / 2) as usize)
                .collect();
            let target = undigits(&px, m) * comps + undigits(&new_index, dim);
            covered[target] = true;
            sum[target] += sign;
        }
        offset.clear();
        if let Some(first) = sum.iter().find(|&&v| v != 0) {
            let scale = first.abs() as f64 * first.signum() as f64;
            out.push(sum.iter().map(|&v| v as f64 / scale).collect());
        }
    }
    out
}

fn digits(mut x: usize, base: usize, n: usize) -> Vec<usize> {
    let mut d = vec![0; n];
    for i in (0..n).rev() {
        d[i] = x % base;
        x /= base;
    }
    d
}

fn undigits(d: &[usize], base: usize) -> usize {
    d.iter().fold(0, |acc, &x| acc * base + x)
}
