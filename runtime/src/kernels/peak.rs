//! Bursts of independent fused multiply-adds at the widest vector level [`level`] allows: the
//! arithmetic ceiling that `roofline` measures. Written with intrinsics because the compiler,
//! given plain loops, may vectorise across the wrong axis (gathers instead of registers).

use super::cpu::{level, SimdLevel};

/// Independent accumulators: enough in flight to cover a 4-cycle FMA latency on two FMA units
/// (8 needed), and they fit in the 16 AVX2 or 32 AVX-512 registers beside `a` and `b`.
const ACCUMULATORS: usize = 12;

/// Runs `rounds` rounds of `x ← x·a + b` on every lane of [`ACCUMULATORS`] vector registers, at
/// the widest level; returns the lanes' sum (for the caller to keep alive) and the flops done
/// (2 per multiply-add).
pub fn fma_burst(rounds: u64, a: f32, b: f32) -> (f32, f64) {
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: the CPU supports AVX-512F (`level()` never exceeds what it detects), the only
        // requirement of calling a function with that target feature.
        SimdLevel::Avx512 => return unsafe { avx512(rounds, a, b) },
        // SAFETY: as above, for AVX2 and FMA.
        SimdLevel::Avx2 => return unsafe { avx2(rounds, a, b) },
        SimdLevel::Portable => {}
    }
    portable(rounds, a, b)
}

/// 16-lane registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn avx512(rounds: u64, a: f32, b: f32) -> (f32, f64) {
    use std::arch::x86_64::*;
    let (va, vb) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
    let mut acc = [_mm512_set1_ps(1.0); ACCUMULATORS];
    for _ in 0..rounds {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, va, vb);
        }
    }
    let total = acc
        .iter()
        .fold(_mm512_setzero_ps(), |t, &x| _mm512_add_ps(t, x));
    let flops = rounds as f64 * (ACCUMULATORS * 16 * 2) as f64;
    (_mm512_reduce_add_ps(total), flops)
}

/// 8-lane registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(rounds: u64, a: f32, b: f32) -> (f32, f64) {
    use std::arch::x86_64::*;
    let (va, vb) = (_mm256_set1_ps(a), _mm256_set1_ps(b));
    let mut acc = [_mm256_set1_ps(1.0); ACCUMULATORS];
    for _ in 0..rounds {
        for x in acc.iter_mut() {
            *x = _mm256_fmadd_ps(*x, va, vb);
        }
    }
    let total = acc
        .iter()
        .fold(_mm256_setzero_ps(), |t, &x| _mm256_add_ps(t, x));
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 floats, the 32 bytes an unaligned 256-bit store writes.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    let flops = rounds as f64 * (ACCUMULATORS * 8 * 2) as f64;
    (lanes.iter().sum(), flops)
}

/// The build's baseline: scalar `mul_add` (a libm call where the baseline has no FMA).
fn portable(rounds: u64, a: f32, b: f32) -> (f32, f64) {
    let mut acc = [1.0f32; ACCUMULATORS];
    for _ in 0..rounds {
        for x in acc.iter_mut() {
            *x = x.mul_add(a, b);
        }
    }
    (acc.iter().sum(), rounds as f64 * (ACCUMULATORS * 2) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_computes_the_same_fixed_point_and_counts_its_flops() {
        // x·a + b with a = 0.5, b = 0.5 from x = 1 stays 1 exactly on every lane.
        let (sum, flops) = fma_burst(10, 0.5, 0.5);
        let lanes = flops / (10.0 * 2.0);
        assert_eq!(sum as f64, lanes);
        let (sum, flops) = portable(10, 0.5, 0.5);
        assert_eq!(
            (sum, flops),
            (ACCUMULATORS as f32, (10 * ACCUMULATORS * 2) as f64)
        );
    }
}
