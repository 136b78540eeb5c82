//! The machine's multiply-add peak, the ceiling for the `gflops=` of the other benches.
//!
//! Run with `cargo bench -p ginrs-runtime --bench peak`. Prints
//! `peak threads=<t> gflops=<r> runs=<n>`: the median over `n` one-second measurements of
//! [`fma_peak`] on `t` threads, for one thread and for as many threads as the machine has
//! cores (`std::thread::available_parallelism`, what rayon's pool uses in the other benches).

use std::time::Duration;

use ginrs_runtime::roofline::fma_peak;

/// One-second measurements per thread count.
const RUNS: usize = 5;

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for threads in counts {
        let mut rates: Vec<f64> = (0..RUNS)
            .map(|_| fma_peak(threads, Duration::from_secs(1)))
            .collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "peak threads={threads} gflops={:.1} runs={RUNS}",
            rates[RUNS / 2]
        );
    }
}
