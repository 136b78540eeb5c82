//! The machine's measured multiply-add peak: the ceiling that the benches' useful GFLOP/s
//! (`gflops=`, counted as [`crate::FlopCount`]) are read against.
//!
//! [`fma_peak`] runs independent chains of fused multiply-adds on every requested thread, at
//! the widest vector instructions the kernels use on this CPU (AVX-512F, else AVX2 and FMA,
//! else the build's baseline, following `GINRS_SIMD`), and counts each multiply-add as 2
//! flops, the unit of [`crate::FlopCount`]. With enough chains to cover the FMA latency this is
//! the rate no kernel can beat: cores × clock × FMA units × lanes × 2.

use std::time::{Duration, Instant};

use crate::kernels::peak::fma_burst;

/// Multiply-add rounds per burst: under a millisecond with vector FMA units.
const ROUNDS: u64 = 1 << 18;

/// The multiply-add rate of `threads` threads running at once for about `duration`, in GFLOP/s
/// (2 flops per multiply-add): the sum of each thread's rate over its own run. `threads` below 1
/// counts as 1.
pub fn fma_peak(threads: usize, duration: Duration) -> f64 {
    let threads = threads.max(1);
    // x·a + b with a ≈ 1 and a tiny b keeps every lane at 1.0, far from overflow and
    // subnormals (whose slow paths would not measure the FMA units); black_box keeps the
    // compiler from seeing that.
    let a = std::hint::black_box(1.0 - f32::EPSILON / 8.0);
    let b = std::hint::black_box(f32::EPSILON / 8.0);
    let rates: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let (mut flops, mut sink) = (0.0, 0.0f32);
                    let begin = Instant::now();
                    while begin.elapsed() < duration {
                        let (sum, done) = fma_burst(ROUNDS, a, b);
                        sink += sum;
                        flops += done;
                    }
                    std::hint::black_box(sink);
                    flops / begin.elapsed().as_secs_f64()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(0.0))
            .collect()
    });
    rates.iter().sum::<f64>() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_a_positive_rate() {
        // Vector FMA does tens of flops per nanosecond per thread; even a portable build's
        // libm `fmaf` calls do more than 0.1.
        let peak = fma_peak(1, Duration::from_millis(50));
        assert!(peak.is_finite() && peak > 0.1, "peak {peak} GFLOP/s");
    }
}
