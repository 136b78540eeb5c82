//! Channel mixing with compile-time shapes, for generated layers.
//!
//! A `ConvContract` pair mixes its channels as `C = W · R`: `W` is the pair's weights
//! `out_c × in_c·n_f`, `R` the responses `in_c·n_f × n` (`n` = output components × tile
//! pixels), `C` the tile's accumulator `out_c × n`, all row-major. The dynamic path calls a
//! general GEMM (matrixmultiply), which packs both operands and runs a masked edge kernel when
//! `out_c` is not a multiple of its micro-tile. A generated layer knows `out_c` (`M`) and
//! `in_c·n_f` (`K`) at compile time, so [`mix_fixed`] runs the product directly on the
//! unpacked, cache-resident operands: panels of 4 output rows × 16 contiguous columns kept in
//! registers, loops with constant trip counts, compiled for AVX-512 or AVX2/FMA when the CPU has them.

/// Columns per register panel (two 8-wide vectors).
const QB: usize = 16;

/// `c = w · r` (or `c += w · r` when `accumulate`), with `w` row-major `M × K`, `r` row-major
/// `K × n` and `c` row-major `M × n`.
///
/// Returns `false` (and leaves `c` untouched) when the slices do not have these shapes
/// (`w.len() != M·K`, `r.len() < K·n` or `c.len() != M·n`), so callers can fall back to a
/// general GEMM.
pub fn mix_fixed<const M: usize, const K: usize>(
    w: &[f32],
    r: &[f32],
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) -> bool {
    if w.len() != M * K || r.len() < K * n || c.len() != M * n {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement of
            // calling a function with this target feature.
            unsafe { mix_avx512::<M, K>(w, r, n, c, accumulate) };
            return true;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only
            // requirement of calling a function with these target features.
            unsafe { mix_avx2::<M, K>(w, r, n, c, accumulate) };
            return true;
        }
    }
    mix_impl::<M, K, 4, false>(w, r, n, c, accumulate);
    true
}

/// [`mix_impl`] compiled with AVX-512F (a 16-column panel row is one register).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn mix_avx512<const M: usize, const K: usize>(
    w: &[f32],
    r: &[f32],
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    mix_impl::<M, K, 8, true>(w, r, n, c, accumulate)
}

/// [`mix_impl`] compiled with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn mix_avx2<const M: usize, const K: usize>(
    w: &[f32],
    r: &[f32],
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    mix_impl::<M, K, 4, true>(w, r, n, c, accumulate)
}

/// The product over panels of `MR` rows; `FMA` selects fused multiply-adds (only inside the
/// target-feature functions, where they are hardware instructions).
#[inline(always)]
fn mix_impl<const M: usize, const K: usize, const MR: usize, const FMA: bool>(
    w: &[f32],
    r: &[f32],
    n: usize,
    c: &mut [f32],
    accumulate: bool,
) {
    let full = n / QB * QB;
    let mut q0 = 0;
    // The K × QB panel of `r`, packed: rows of `r` lie a multiple of 4 KiB apart for the
    // usual tile sizes, so reading the panel in place thrashes one L1 set.
    let mut packed = [[0.0f32; QB]; K];
    while q0 < full {
        for (kk, row) in packed.iter_mut().enumerate() {
            *row = r[kk * n + q0..kk * n + q0 + QB]
                .try_into()
                .expect("a panel is QB columns");
        }
        let mut o0 = 0;
        while o0 + MR <= M {
            panel::<MR, K, FMA>(w, &packed, n, c, o0, q0, accumulate);
            o0 += MR;
        }
        while o0 < M {
            panel::<1, K, FMA>(w, &packed, n, c, o0, q0, accumulate);
            o0 += 1;
        }
        q0 += QB;
    }
    // Columns past the last full panel.
    for o in 0..M {
        let w_row = &w[o * K..(o + 1) * K];
        for q in full..n {
            let mut sum = 0.0f32;
            for (kk, &wv) in w_row.iter().enumerate() {
                sum = madd::<FMA>(wv, r[kk * n + q], sum);
            }
            let dst = &mut c[o * n + q];
            *dst = if accumulate { *dst + sum } else { sum };
        }
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, acc: f32) -> f32 {
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

/// Rows `o0..o0 + R`, columns `q0..q0 + QB` of the product, accumulated in registers over
/// the `K` rows of the packed panel of `r`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn panel<const R: usize, const K: usize, const FMA: bool>(
    w: &[f32],
    packed: &[[f32; QB]; K],
    n: usize,
    c: &mut [f32],
    o0: usize,
    q0: usize,
    accumulate: bool,
) {
    let w_rows = &w[o0 * K..(o0 + R) * K];
    let mut acc = [[0.0f32; QB]; R];
    for (kk, src) in packed.iter().enumerate() {
        for (rr, acc_row) in acc.iter_mut().enumerate() {
            let wv = w_rows[rr * K + kk];
            for (a, &s) in acc_row.iter_mut().zip(src) {
                *a = madd::<FMA>(wv, s, *a);
            }
        }
    }
    for (rr, acc_row) in acc.iter().enumerate() {
        let start = (o0 + rr) * n + q0;
        let dst: &mut [f32; QB] = (&mut c[start..start + QB])
            .try_into()
            .expect("a panel is QB columns");
        if accumulate {
            for (d, &a) in dst.iter_mut().zip(acc_row) {
                *d += a;
            }
        } else {
            *dst = *acc_row;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product in f64, the plain triple loop.
    fn reference(m: usize, k: usize, w: &[f32], r: &[f32], n: usize, c0: &[f32]) -> Vec<f64> {
        (0..m * n)
            .map(|idx| {
                let (o, q) = (idx / n, idx % n);
                c0[idx] as f64
                    + (0..k)
                        .map(|kk| w[o * k + kk] as f64 * r[kk * n + q] as f64)
                        .sum::<f64>()
            })
            .collect()
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    fn check<const M: usize, const K: usize>(n: usize) {
        let w = values(M * K, 1);
        let r = values(K * n + 5, 2);
        let c0 = values(M * n, 3);
        for accumulate in [false, true] {
            let mut c = c0.clone();
            assert!(mix_fixed::<M, K>(&w, &r, n, &mut c, accumulate));
            let base = if accumulate {
                c0.clone()
            } else {
                vec![0.0; M * n]
            };
            let want = reference(M, K, &w, &r, n, &base);
            for (got, want) in c.iter().zip(&want) {
                assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn matches_the_triple_loop_on_full_and_partial_panels() {
        check::<8, 24>(64);
        check::<6, 5>(37);
        check::<3, 7>(16);
        check::<1, 1>(3);
        check::<5, 2>(0);
    }

    #[test]
    fn rejects_wrong_shapes() {
        let mut c = vec![1.0; 8];
        assert!(!mix_fixed::<2, 3>(&[0.0; 5], &[0.0; 12], 4, &mut c, false));
        assert!(!mix_fixed::<2, 3>(&[0.0; 6], &[0.0; 11], 4, &mut c, false));
        assert!(!mix_fixed::<2, 3>(
            &[0.0; 6],
            &[0.0; 12],
            4,
            &mut c[..7],
            false
        ));
        assert_eq!(c, vec![1.0; 8]);
    }
}
