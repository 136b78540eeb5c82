//! Random isotropic initial conditions: vorticity with a peaked energy spectrum and random
//! phases, and a smooth random tracer.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use realfft::num_complex::Complex64;

use super::config::SimConfig;
use super::solver::{Solver, State};
use super::spectral::SpectralGrid;

/// Mean of the initial tracer.
pub const TRACER_MEAN: f64 = 1.0;
/// Root-mean-square fluctuation of the initial tracer about its mean.
pub const TRACER_RMS: f64 = 0.5;

/// The initial energy spectrum shape `E(k) = (k/k_p)⁴ e^{−2(k/k_p)²}`; it peaks at `k = k_p`
/// (`d ln E/dk = 4/k − 4k/k_p² = 0`).
pub fn energy_spectrum(k: f64, peak: f64) -> f64 {
    let r = k / peak;
    r.powi(4) * (-2.0 * r * r).exp()
}

/// The random generator of trajectory `trajectory`: ChaCha8 seeded with `seed`, on stream
/// `trajectory`, so each trajectory is reproducible on its own whatever the thread schedule.
pub fn trajectory_rng(seed: u64, trajectory: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(trajectory as u64);
    rng
}

/// The initial state of trajectory `trajectory`: vorticity with spectrum
/// [`energy_spectrum`] (`|ω̂(k)|² ∝ k E(k)`, energy per shell of circumference `2πk`), uniform
/// random phases and kinetic energy `config.initial_energy`; tracer with Gaussian amplitudes
/// `e^{−(k/k_p)²/2}`, random phases, mean [`TRACER_MEAN`] and fluctuation rms [`TRACER_RMS`].
pub fn random_initial_state(solver: &Solver, config: &SimConfig, trajectory: usize) -> State {
    let grid = solver.grid();
    let peak = config.peak_wavenumber;
    let mut rng = trajectory_rng(config.seed, trajectory);
    let mut omega = random_spectrum(grid, &mut rng, |k| (k * energy_spectrum(k, peak)).sqrt());
    let mut tracer = random_spectrum(grid, &mut rng, |k| (-0.5 * (k / peak).powi(2)).exp());

    let energy = 0.5 * mean_square(grid, &omega, |i| inv_k2(grid, i));
    let scale = (config.initial_energy / energy).sqrt();
    omega.iter_mut().for_each(|v| *v *= scale);
    let scale = TRACER_RMS / mean_square(grid, &tracer, |_| 1.0).sqrt();
    tracer.iter_mut().for_each(|v| *v *= scale);
    // Coefficient 0 is the sum over the n² grid values.
    tracer[0] = Complex64::new(TRACER_MEAN * (grid.n() * grid.n()) as f64, 0.0);
    solver.state_from_spectra(omega, tracer)
}

fn inv_k2(grid: &SpectralGrid, i: usize) -> f64 {
    let k2 = grid.k0()[i].powi(2) + grid.k1()[i].powi(2);
    if k2 > 0.0 {
        1.0 / k2
    } else {
        0.0
    }
}

/// A spectrum of a real field with `|f̂(k)| = amplitude(|k|)` on the modes the 2/3 rule keeps,
/// zero mean and uniform random phases. On the `k₁ = 0` line the coefficients of `−k₀` are the
/// conjugates of those of `k₀`, as for every real field.
fn random_spectrum(
    grid: &SpectralGrid,
    rng: &mut ChaCha8Rng,
    amplitude: impl Fn(f64) -> f64,
) -> Vec<Complex64> {
    let n = grid.n();
    let mut spec = vec![Complex64::ZERO; grid.spectral_len()];
    for i in 0..spec.len() {
        let (k0, k1) = (grid.k0()[i], grid.k1()[i]);
        if grid.keep()[i] && (k1 > 0.0 || k0 > 0.0) {
            let phase = rng.random::<f64>() * std::f64::consts::TAU;
            spec[i] = Complex64::from_polar(amplitude(k0.hypot(k1)), phase);
            if k1 == 0.0 {
                // k₁ = 0 coefficients sit at the start of the transposed layout, index j₀.
                spec[n - i] = spec[i].conj();
            }
        }
    }
    spec
}

/// `⟨w·f²⟩` over the grid from the half spectrum (Parseval: `Σₓ f² = Σ_k |f̂|²/n²` over all
/// `k`; coefficients with `0 < k₁ < n/2` stand for themselves and their conjugates).
fn mean_square(grid: &SpectralGrid, spec: &[Complex64], weight: impl Fn(usize) -> f64) -> f64 {
    let n = grid.n();
    let total: f64 = spec
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let k1 = grid.k1()[i];
            let copies = if k1 == 0.0 || 2.0 * k1 == n as f64 {
                1.0
            } else {
                2.0
            };
            copies * weight(i) * v.norm_sqr()
        })
        .sum();
    total / (n as f64).powi(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_peaks_at_the_peak_wavenumber() {
        let e = |k| energy_spectrum(k, 4.0);
        assert!(e(4.0) > e(3.9) && e(4.0) > e(4.1));
    }

    /// The grid fields (computed by inverse FFTs) have the requested energy, tracer mean and
    /// rms; different trajectories differ, the same seed repeats.
    #[test]
    fn initial_state_has_the_requested_moments() {
        let config = SimConfig::default();
        let mut solver = Solver::new(&config).unwrap();
        let state = random_initial_state(&solver, &config, 3);
        let fields = solver.fields(&state);
        assert!((fields.energy() - config.initial_energy).abs() < 1e-12);
        assert!((fields.tracer_mean() - TRACER_MEAN).abs() < 1e-12);
        let var = fields
            .tracer
            .iter()
            .map(|c| (c - TRACER_MEAN).powi(2))
            .sum::<f64>()
            / fields.tracer.len() as f64;
        assert!((var.sqrt() - TRACER_RMS).abs() < 1e-12);
        assert!(fields.omega.iter().sum::<f64>().abs() < 1e-9);
        assert_eq!(state, random_initial_state(&solver, &config, 3));
        assert_ne!(state, random_initial_state(&solver, &config, 4));
    }
}
