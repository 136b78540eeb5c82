//! Moving tensor components between ginjax's pixel-major layout (`d^k` values per pixel,
//! interleaved) and component planes (one contiguous plane per component), as the
//! convolution layers do when they pad inputs and write outputs.
//!
//! Two components (vectors in d = 2, the common case) use AVX-512 or AVX2 shuffles when the
//! CPU has them; other counts take a plain loop.

/// `dst[a * stride + p] = src[p * comps + a]` for the `src.len() / comps` pixels `p`.
#[inline]
pub fn deinterleave(src: &[f32], comps: usize, dst: &mut [f32], stride: usize) {
    let len = src.len() / comps;
    if comps == 2 && len > 0 {
        let (d0, d1) = dst.split_at_mut(stride);
        let (d0, d1, src) = (&mut d0[..len], &mut d1[..len], &src[..2 * len]);
        let done = simd::deinterleave2(src, d0, d1);
        for (p, x) in src.chunks_exact(2).enumerate().skip(done) {
            d0[p] = x[0];
            d1[p] = x[1];
        }
        return;
    }
    if comps == 3 {
        let (d0, rest) = dst.split_at_mut(stride);
        let (d1, d2) = rest.split_at_mut(stride);
        for (((a, b), c), x) in d0[..len]
            .iter_mut()
            .zip(&mut d1[..len])
            .zip(&mut d2[..len])
            .zip(src.chunks_exact(3))
        {
            *a = x[0];
            *b = x[1];
            *c = x[2];
        }
        return;
    }
    for (p, pixel) in src.chunks_exact(comps).enumerate() {
        for (a, &v) in pixel.iter().enumerate() {
            dst[a * stride + p] = v;
        }
    }
}

/// `dst[q * comps + j] = src[j * stride + q]` for the `dst.len() / comps` pixels `q`.
#[inline]
pub fn interleave(src: &[f32], stride: usize, dst: &mut [f32], comps: usize) {
    let len = dst.len() / comps;
    if comps == 2 && len > 0 {
        let (s0, s1) = (&src[..len], &src[stride..stride + len]);
        let dst = &mut dst[..2 * len];
        let done = simd::interleave2(s0, s1, dst);
        for (q, x) in dst.chunks_exact_mut(2).enumerate().skip(done) {
            x[0] = s0[q];
            x[1] = s1[q];
        }
        return;
    }
    if comps == 3 {
        for (((x, &a), &b), &c) in dst
            .chunks_exact_mut(3)
            .zip(&src[..len])
            .zip(&src[stride..stride + len])
            .zip(&src[2 * stride..2 * stride + len])
        {
            x[0] = a;
            x[1] = b;
            x[2] = c;
        }
        return;
    }
    for (q, pixel) in dst.chunks_exact_mut(comps).enumerate() {
        for (j, v) in pixel.iter_mut().enumerate() {
            *v = src[j * stride + q];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use crate::kernels::cpu::{level, SimdLevel};

    /// Deinterleaves the leading whole vectors of pixels of `src` (`2 · n` values) into `d0`
    /// and `d1` (`n` each); returns how many pixels it did.
    #[inline]
    pub fn deinterleave2(src: &[f32], d0: &mut [f32], d1: &mut [f32]) -> usize {
        let n = d0.len().min(d1.len()).min(src.len() / 2);
        match level() {
            SimdLevel::Avx512 => {
                // SAFETY: the CPU has AVX-512F (`level()` never exceeds what it detects);
                // lengths are checked inside.
                unsafe { deinterleave2_avx512(src, d0, d1, n) }
            }
            SimdLevel::Avx2 => {
                // SAFETY: the CPU has AVX2 (`level()` never exceeds what it detects); lengths
                // are checked inside.
                unsafe { deinterleave2_avx2(src, d0, d1, n) }
            }
            SimdLevel::Portable => 0,
        }
    }

    /// Interleaves the leading whole vectors of `s0` and `s1` (`n` each) into `dst`
    /// (`2 · n`); returns how many pixels it did.
    #[inline]
    pub fn interleave2(s0: &[f32], s1: &[f32], dst: &mut [f32]) -> usize {
        let n = s0.len().min(s1.len()).min(dst.len() / 2);
        match level() {
            SimdLevel::Avx512 => {
                // SAFETY: the CPU has AVX-512F (`level()` never exceeds what it detects);
                // lengths are checked inside.
                unsafe { interleave2_avx512(s0, s1, dst, n) }
            }
            SimdLevel::Avx2 => {
                // SAFETY: the CPU has AVX2 (`level()` never exceeds what it detects); lengths
                // are checked inside.
                unsafe { interleave2_avx2(s0, s1, dst, n) }
            }
            SimdLevel::Portable => 0,
        }
    }

    #[target_feature(enable = "avx512f")]
    fn deinterleave2_avx512(src: &[f32], d0: &mut [f32], d1: &mut [f32], n: usize) -> usize {
        let full = n / 16 * 16;
        assert!(src.len() >= 2 * full && d0.len() >= full && d1.len() >= full);
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        for p in (0..full).step_by(16) {
            // SAFETY: `2p + 32 ≤ 2 · full ≤ src.len()` and `p + 16 ≤ full` ≤ the planes'
            // lengths (asserted above); unaligned loads and stores.
            unsafe {
                let a = _mm512_loadu_ps(src.as_ptr().add(2 * p));
                let b = _mm512_loadu_ps(src.as_ptr().add(2 * p + 16));
                _mm512_storeu_ps(d0.as_mut_ptr().add(p), _mm512_permutex2var_ps(a, even, b));
                _mm512_storeu_ps(d1.as_mut_ptr().add(p), _mm512_permutex2var_ps(a, odd, b));
            }
        }
        full
    }

    #[target_feature(enable = "avx512f")]
    fn interleave2_avx512(s0: &[f32], s1: &[f32], dst: &mut [f32], n: usize) -> usize {
        let full = n / 16 * 16;
        assert!(s0.len() >= full && s1.len() >= full && dst.len() >= 2 * full);
        let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        for q in (0..full).step_by(16) {
            // SAFETY: `q + 16 ≤ full` ≤ the planes' lengths and `2q + 32 ≤ dst.len()`
            // (asserted above); unaligned loads and stores.
            unsafe {
                let a = _mm512_loadu_ps(s0.as_ptr().add(q));
                let b = _mm512_loadu_ps(s1.as_ptr().add(q));
                _mm512_storeu_ps(
                    dst.as_mut_ptr().add(2 * q),
                    _mm512_permutex2var_ps(a, lo, b),
                );
                _mm512_storeu_ps(
                    dst.as_mut_ptr().add(2 * q + 16),
                    _mm512_permutex2var_ps(a, hi, b),
                );
            }
        }
        full
    }

    #[target_feature(enable = "avx2")]
    fn deinterleave2_avx2(src: &[f32], d0: &mut [f32], d1: &mut [f32], n: usize) -> usize {
        let full = n / 8 * 8;
        assert!(src.len() >= 2 * full && d0.len() >= full && d1.len() >= full);
        for p in (0..full).step_by(8) {
            // SAFETY: `2p + 16 ≤ src.len()`, `p + 8 ≤` the planes' lengths (asserted above).
            unsafe {
                let a = _mm256_loadu_ps(src.as_ptr().add(2 * p));
                let b = _mm256_loadu_ps(src.as_ptr().add(2 * p + 8));
                // Per 128-bit lane: [x0 x1 x4 x5 | x2 x3 x6 x7], then restore the order.
                let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
                let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
                let fix = |v: __m256| {
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
                };
                _mm256_storeu_ps(d0.as_mut_ptr().add(p), fix(even));
                _mm256_storeu_ps(d1.as_mut_ptr().add(p), fix(odd));
            }
        }
        full
    }

    #[target_feature(enable = "avx2")]
    fn interleave2_avx2(s0: &[f32], s1: &[f32], dst: &mut [f32], n: usize) -> usize {
        let full = n / 8 * 8;
        assert!(s0.len() >= full && s1.len() >= full && dst.len() >= 2 * full);
        for q in (0..full).step_by(8) {
            // SAFETY: `q + 8 ≤` the planes' lengths, `2q + 16 ≤ dst.len()` (asserted above).
            unsafe {
                let a = _mm256_loadu_ps(s0.as_ptr().add(q));
                let b = _mm256_loadu_ps(s1.as_ptr().add(q));
                let lo = _mm256_unpacklo_ps(a, b);
                let hi = _mm256_unpackhi_ps(a, b);
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(2 * q),
                    _mm256_permute2f128_ps::<0x20>(lo, hi),
                );
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(2 * q + 8),
                    _mm256_permute2f128_ps::<0x31>(lo, hi),
                );
            }
        }
        full
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    /// No vector path on this architecture: nothing done.
    #[inline]
    pub fn deinterleave2(_: &[f32], _: &mut [f32], _: &mut [f32]) -> usize {
        0
    }

    /// No vector path on this architecture: nothing done.
    #[inline]
    pub fn interleave2(_: &[f32], _: &[f32], _: &mut [f32]) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_for_every_component_count_and_length() {
        for comps in 1..=4 {
            for len in [0, 1, 7, 8, 15, 16, 17, 33, 64] {
                let stride = len + 3;
                let src: Vec<f32> = (0..len * comps).map(|i| i as f32).collect();
                let mut planes = vec![-1.0; comps * stride];
                deinterleave(&src, comps, &mut planes, stride);
                for p in 0..len {
                    for a in 0..comps {
                        assert_eq!(planes[a * stride + p], (p * comps + a) as f32);
                    }
                }
                let mut back = vec![-1.0; len * comps];
                interleave(&planes, stride, &mut back, comps);
                assert_eq!(back, src, "comps {comps}, len {len}");
            }
        }
    }
}
