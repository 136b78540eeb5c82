//! The mathematics of one generated response kernel, independent of Rust tokens: which input
//! values a block pair reads, which partial sums it shares, and how each response is formed.
//!
//! A block pair (k_in, p_in) → (k_out, p_out) uses the invariant filters C_f of order
//! k_in + k_out. Response (f, j) at an output pixel is Σ_{m, a} C_f[m, a, j] · input[a, q + m].
//! Its coefficients are grouped by magnitude, so each group is a sum of ±inputs multiplied once
//! by its scale; zero coefficients are skipped, and sub-sums that occur in several responses are
//! computed once (greedy common-subexpression elimination over pairs of signed terms).

use std::collections::BTreeMap;

/// The filters of one block pair, dense, in ginjax layout.
#[derive(Debug, Clone, PartialEq)]
pub struct PairFilters {
    /// Spatial dimension d.
    pub dim: usize,
    /// Filter side length M.
    pub filter_size: usize,
    /// Order of the input tensor type.
    pub k_in: usize,
    /// Order of the output tensor type.
    pub k_out: usize,
    /// One entry per filter: `M^d · d^k_in · d^k_out` values, row-major over
    /// (filter pixel, input tensor indices, output tensor indices).
    pub filters: Vec<Vec<f64>>,
}

impl PairFilters {
    /// Number of filter pixels M^d.
    pub fn taps(&self) -> usize {
        self.filter_size.pow(self.dim as u32)
    }

    /// Input tensor components d^k_in.
    pub fn in_components(&self) -> usize {
        self.dim.pow(self.k_in as u32)
    }

    /// Output tensor components d^k_out.
    pub fn out_components(&self) -> usize {
        self.dim.pow(self.k_out as u32)
    }
}

/// A value of the kernel's inner loop: a loaded input or a shared partial sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Var {
    /// `loads[i]`: one input component at one filter tap.
    Load(usize),
    /// `temps[i]`: a shared partial sum.
    Temp(usize),
}

/// A term `sign · var` with sign ±1.
pub type Term = (i8, Var);

/// A shared partial sum `a + sign · b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temp {
    /// First operand (positive).
    pub a: Var,
    /// Sign of the second operand.
    pub sign: i8,
    /// Second operand.
    pub b: Var,
}

/// `scale · Σ terms`: one magnitude group of a response.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaledSum {
    /// The common magnitude of the group's coefficients (as the f32 the kernel multiplies by).
    pub scale: f32,
    /// The signed terms.
    pub terms: Vec<Term>,
}

/// One response `out[f, j] = Σ groups`; no group means the response is identically zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// Filter index f.
    pub filter: usize,
    /// Output tensor component j.
    pub component: usize,
    /// The magnitude groups.
    pub groups: Vec<ScaledSum>,
}

/// The complete plan of one response kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Stencil {
    /// The loaded inputs `(tap, input component)`; taps are row-major filter pixels.
    pub loads: Vec<(usize, usize)>,
    /// Shared partial sums, each defined from loads and earlier temps.
    pub temps: Vec<Temp>,
    /// The responses in output order (f major, j minor).
    pub responses: Vec<Response>,
}

/// Term count above which common-subexpression elimination is skipped (compile-time bound).
const CSE_TERM_LIMIT: usize = 4096;

impl Stencil {
    /// Builds the plan of a pair's kernel from its filters, without shared sub-sums.
    pub fn build(pair: &PairFilters) -> Self {
        let (nin, nout) = (pair.in_components(), pair.out_components());
        let mut load_index: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        let mut responses = Vec::new();
        for (f, filter) in pair.filters.iter().enumerate() {
            for j in 0..nout {
                // Coefficients grouped by magnitude (f32 bits), in first-seen order.
                let mut groups: Vec<ScaledSum> = Vec::new();
                for tap in 0..pair.taps() {
                    for a in 0..nin {
                        let value = filter[(tap * nin + a) * nout + j];
                        let scale = value.abs() as f32;
                        if scale == 0.0 {
                            continue;
                        }
                        let next = load_index.len();
                        let load = *load_index.entry((tap, a)).or_insert(next);
                        let term = (if value > 0.0 { 1 } else { -1 }, Var::Load(load));
                        match groups.iter_mut().find(|g| g.scale == scale) {
                            Some(group) => group.terms.push(term),
                            None => groups.push(ScaledSum {
                                scale,
                                terms: vec![term],
                            }),
                        }
                    }
                }
                responses.push(Response {
                    filter: f,
                    component: j,
                    groups,
                });
            }
        }
        // Loads renumbered in (tap, component) order, so the kernel reads memory in order.
        let order: Vec<usize> = load_index.values().copied().collect();
        let mut renumber = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = new;
        }
        for response in &mut responses {
            for group in &mut response.groups {
                for term in &mut group.terms {
                    if let Var::Load(i) = term.1 {
                        term.1 = Var::Load(renumber[i]);
                    }
                }
                group.terms.sort_by_key(|t| t.1);
            }
        }
        Self {
            loads: load_index.into_keys().collect(),
            temps: Vec::new(),
            responses,
        }
    }

    /// Builds the plan and computes sub-sums shared by several responses once.
    pub fn build_shared(pair: &PairFilters) -> Self {
        let mut stencil = Self::build(pair);
        stencil.share_partial_sums();
        stencil
    }

    /// Greedy pairwise common-subexpression elimination: while some pair of terms (with the same
    /// relative sign) occurs in two or more sums, compute it once as a temp.
    pub fn share_partial_sums(&mut self) {
        let total: usize = self.sums().map(|terms| terms.len()).sum();
        if total > CSE_TERM_LIMIT {
            return;
        }
        loop {
            let mut counts: BTreeMap<(Var, Var, i8), usize> = BTreeMap::new();
            for terms in self.sums() {
                for (i, &(sa, a)) in terms.iter().enumerate() {
                    for &(sb, b) in &terms[i + 1..] {
                        *counts.entry((a.min(b), a.max(b), sa * sb)).or_default() += 1;
                    }
                }
            }
            // Most frequent pair; ties go to the smallest key (deterministic output).
            let best = counts
                .into_iter()
                .filter(|&(_, n)| n >= 2)
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)));
            let Some(((a, b, sign), _)) = best else { break };
            let temp = Var::Temp(self.temps.len());
            self.temps.push(Temp { a, sign, b });
            for response in &mut self.responses {
                for group in &mut response.groups {
                    let terms = &mut group.terms;
                    let ia = terms.iter().position(|t| t.1 == a);
                    let ib = terms.iter().position(|t| t.1 == b);
                    if let (Some(ia), Some(ib)) = (ia, ib) {
                        if terms[ia].0 * terms[ib].0 == sign {
                            let outer = terms[ia].0;
                            terms.retain(|t| t.1 != a && t.1 != b);
                            terms.push((outer, temp));
                            terms.sort_by_key(|t| t.1);
                        }
                    }
                }
            }
        }
    }

    fn sums(&self) -> impl Iterator<Item = &Vec<Term>> {
        self.responses
            .iter()
            .flat_map(|r| r.groups.iter().map(|g| &g.terms))
    }

    /// Floating-point operations per output pixel and input channel: adds and subtracts of
    /// temps and sums, plus one multiply per group whose scale is not 1.
    pub fn flops(&self) -> usize {
        let mut flops = self.temps.len();
        for response in &self.responses {
            if response.groups.is_empty() {
                continue;
            }
            flops += response.groups.len() - 1;
            for group in &response.groups {
                flops += group.terms.len() - 1;
                // A lone negative term with scale 1 is a negation; count it like a multiply.
                if group.scale != 1.0 || (group.terms.len() == 1 && group.terms[0].0 < 0) {
                    flops += 1;
                }
            }
        }
        flops
    }

    /// Evaluates the plan at one output pixel, given the loaded values (for tests).
    pub fn evaluate(&self, loads: &[f32]) -> Vec<f32> {
        let mut temps: Vec<f32> = Vec::with_capacity(self.temps.len());
        let value = |v: Var, temps: &[f32]| match v {
            Var::Load(i) => loads[i],
            Var::Temp(i) => temps[i],
        };
        for t in &self.temps {
            let x = value(t.a, &temps) + f32::from(t.sign) * value(t.b, &temps);
            temps.push(x);
        }
        self.responses
            .iter()
            .map(|r| {
                r.groups
                    .iter()
                    .map(|g| {
                        let sum: f32 = g
                            .terms
                            .iter()
                            .map(|&(s, v)| f32::from(s) * value(v, &temps))
                            .sum();
                        sum * g.scale
                    })
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The D=2, M=3 scalar bank: center, ring, corners (ginjax order).
    fn scalar_bank() -> PairFilters {
        let center = [0., 0., 0., 0., 1., 0., 0., 0., 0.];
        let ring = [0., 1., 0., 1., 0., 1., 0., 1., 0.];
        let corners = [1., 0., 1., 0., 0., 0., 1., 0., 1.];
        PairFilters {
            dim: 2,
            filter_size: 3,
            k_in: 0,
            k_out: 0,
            filters: vec![center.to_vec(), ring.to_vec(), corners.to_vec()],
        }
    }

    #[test]
    fn scalar_bank_reads_every_tap_once_and_sums_orbits() {
        let s = Stencil::build(&scalar_bank());
        assert_eq!(s.loads, (0..9).map(|t| (t, 0)).collect::<Vec<_>>());
        assert_eq!(s.responses.len(), 3);
        assert_eq!(s.responses[0].groups[0].terms, vec![(1, Var::Load(4))]);
        // center: 0 flops, ring: 3 adds, corners: 3 adds.
        assert_eq!(s.flops(), 6);
        let loads: Vec<f32> = (1..=9).map(|x| x as f32).collect();
        assert_eq!(
            s.evaluate(&loads),
            vec![5.0, 2.0 + 4.0 + 6.0 + 8.0, 1.0 + 3.0 + 7.0 + 9.0]
        );
    }

    /// D=2, M=3 vector → scalar (k1p0 bank): ring v(o) = o, corners a·o.
    fn divergence_bank() -> PairFilters {
        let a = std::f64::consts::FRAC_1_SQRT_2;
        let mut ring = vec![0.0; 18];
        let mut corners = vec![0.0; 18];
        for r in 0..3 {
            for c in 0..3 {
                let o = [r as f64 - 1.0, c as f64 - 1.0];
                let tap = r * 3 + c;
                let l1 = o[0].abs() + o[1].abs();
                for i in 0..2 {
                    if l1 == 1.0 {
                        ring[tap * 2 + i] = o[i];
                    } else if l1 == 2.0 {
                        corners[tap * 2 + i] = a * o[i];
                    }
                }
            }
        }
        PairFilters {
            dim: 2,
            filter_size: 3,
            k_in: 1,
            k_out: 0,
            filters: vec![ring, corners],
        }
    }

    #[test]
    fn scales_are_factored_out_and_zeros_skipped() {
        let s = Stencil::build(&divergence_bank());
        // Ring reads 4 values, corners 8: 12 loads; the center is never read.
        assert_eq!(s.loads.len(), 12);
        assert!(s.loads.iter().all(|&(tap, _)| tap != 4));
        let corners = &s.responses[1];
        assert_eq!(corners.groups.len(), 1);
        assert_eq!(corners.groups[0].scale, std::f32::consts::FRAC_1_SQRT_2);
        // Evaluate against the dense definition.
        let pair = divergence_bank();
        let loads: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let got = s.evaluate(&loads);
        for (f, filter) in pair.filters.iter().enumerate() {
            let want: f64 = s
                .loads
                .iter()
                .zip(&loads)
                .map(|(&(tap, a), &x)| filter[tap * 2 + a] * x as f64)
                .sum();
            assert!(
                (got[f] as f64 - want).abs() < 1e-6,
                "filter {f}: {} vs {want}",
                got[f]
            );
        }
    }

    #[test]
    fn repeated_pairs_are_computed_once() {
        // Two responses sharing x0 - x1: the pair becomes one temp.
        let pair = PairFilters {
            dim: 1,
            filter_size: 3,
            k_in: 0,
            k_out: 0,
            filters: vec![vec![1.0, -1.0, 1.0], vec![2.0, -2.0, 0.0]],
        };
        let s = Stencil::build_shared(&pair);
        assert_eq!(s.temps.len(), 1);
        assert_eq!(
            s.temps[0],
            Temp {
                a: Var::Load(0),
                sign: -1,
                b: Var::Load(1)
            }
        );
        // temp (1) + add (1) + second response multiply (1).
        assert_eq!(s.flops(), 3);
        assert_eq!(s.evaluate(&[3.0, 5.0, 7.0]), vec![5.0, -4.0]);
    }
}
