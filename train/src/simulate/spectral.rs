//! The Fourier grid: real 2-D FFTs of `n × n` fields on `[0, 2π)²`, wavenumbers and the
//! 2/3-rule dealiasing mask.
//!
//! Physical fields are row-major `n × n` arrays `f[i₀·n + i₁]` sampled at
//! `(x₀, x₁) = (i₀ h, i₁ h)`, `h = 2π/n`. Their spectra keep the non-negative half of axis-1
//! wavenumbers (real input), stored *transposed*: `f̂[j₁·n + j₀]` for `j₁ ∈ 0..=n/2`,
//! `j₀ ∈ 0..n`, so that the complex FFTs along axis 0 run over contiguous rows. Wavenumbers are
//! integers: `k₁ = j₁`, `k₀ = j₀` for `j₀ ≤ n/2`, else `j₀ − n`. The forward transform is
//! unnormalized, `f̂(k) = Σₓ f(x) e^{−i k·x}`, and the inverse divides by `n²`.

use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

/// FFT plans, wavenumbers and dealiasing mask of an `n × n` periodic grid (`n` even).
pub struct SpectralGrid {
    n: usize,
    row_forward: Arc<dyn RealToComplex<f64>>,
    row_inverse: Arc<dyn ComplexToReal<f64>>,
    col_forward: Arc<dyn Fft<f64>>,
    col_inverse: Arc<dyn Fft<f64>>,
    k0: Vec<f64>,
    k1: Vec<f64>,
    keep: Vec<bool>,
}

impl std::fmt::Debug for SpectralGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpectralGrid").field("n", &self.n).finish()
    }
}

/// Scratch buffers for the transforms of one thread.
#[derive(Debug, Clone)]
pub struct FftScratch {
    row_real: Vec<f64>,
    row_complex: Vec<Complex64>,
    half: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl SpectralGrid {
    /// Plans the transforms of an `n × n` grid. `n` must be even and positive (checked by
    /// [`SimConfig::validate`](super::SimConfig::validate)).
    pub fn new(n: usize) -> Self {
        assert!(
            n > 0 && n.is_multiple_of(2),
            "the grid side must be even, got {n}"
        );
        let mut real = RealFftPlanner::<f64>::new();
        let mut complex = FftPlanner::<f64>::new();
        let m = n / 2 + 1;
        let signed = |j: usize| {
            if j <= n / 2 {
                j as f64
            } else {
                j as f64 - n as f64
            }
        };
        let mut k0 = Vec::with_capacity(m * n);
        let mut k1 = Vec::with_capacity(m * n);
        let mut keep = Vec::with_capacity(m * n);
        for j1 in 0..m {
            for j0 in 0..n {
                let (a, b) = (signed(j0), j1 as f64);
                k0.push(a);
                k1.push(b);
                // Orszag's 2/3 rule: a quadratic product of modes |k| < n/3 aliases only onto
                // modes |k| ≥ n/3, which are then discarded (Orszag, J. Atmos. Sci. 28, 1971).
                keep.push(3.0 * a.abs() < n as f64 && 3.0 * b < n as f64);
            }
        }
        Self {
            n,
            row_forward: real.plan_fft_forward(n),
            row_inverse: real.plan_fft_inverse(n),
            col_forward: complex.plan_fft_forward(n),
            col_inverse: complex.plan_fft_inverse(n),
            k0,
            k1,
            keep,
        }
    }

    /// Grid points per side.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of stored spectral coefficients, `(n/2 + 1) · n`.
    pub fn spectral_len(&self) -> usize {
        (self.n / 2 + 1) * self.n
    }

    /// Axis-0 wavenumber of every spectral coefficient.
    pub fn k0(&self) -> &[f64] {
        &self.k0
    }

    /// Axis-1 wavenumber of every spectral coefficient.
    pub fn k1(&self) -> &[f64] {
        &self.k1
    }

    /// Whether the 2/3 rule keeps each spectral coefficient (`3|k₀| < n` and `3|k₁| < n`).
    pub fn keep(&self) -> &[bool] {
        &self.keep
    }

    /// Fresh scratch buffers for [`forward`](Self::forward) and [`inverse`](Self::inverse).
    pub fn scratch(&self) -> FftScratch {
        let len = [
            self.row_forward.get_scratch_len(),
            self.row_inverse.get_scratch_len(),
            self.col_forward.get_inplace_scratch_len(),
            self.col_inverse.get_inplace_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        FftScratch {
            row_real: vec![0.0; self.n],
            row_complex: vec![Complex64::ZERO; self.n / 2 + 1],
            half: vec![Complex64::ZERO; self.spectral_len()],
            scratch: vec![Complex64::ZERO; len],
        }
    }

    /// The spectrum of the physical field `f` (length `n²`) into `out` (length
    /// [`spectral_len`](Self::spectral_len)).
    pub fn forward(&self, f: &[f64], out: &mut [Complex64], s: &mut FftScratch) {
        let (n, m) = (self.n, self.n / 2 + 1);
        assert_eq!(f.len(), n * n);
        assert_eq!(out.len(), m * n);
        for (i0, row) in f.chunks_exact(n).enumerate() {
            s.row_real.copy_from_slice(row);
            self.row_forward
                .process_with_scratch(&mut s.row_real, &mut s.row_complex, &mut s.scratch)
                .expect("buffer lengths come from the plan");
            for (j1, &v) in s.row_complex.iter().enumerate() {
                out[j1 * n + i0] = v;
            }
        }
        self.col_forward.process_with_scratch(out, &mut s.scratch);
    }

    /// The physical field (length `n²`) of the spectrum `spec`, into `f`. Imaginary parts that a
    /// real field cannot have (of the `k₁ = 0` and `k₁ = n/2` coefficients after the axis-0
    /// transform) are dropped.
    pub fn inverse(&self, spec: &[Complex64], f: &mut [f64], s: &mut FftScratch) {
        let (n, m) = (self.n, self.n / 2 + 1);
        assert_eq!(f.len(), n * n);
        assert_eq!(spec.len(), m * n);
        s.half.copy_from_slice(spec);
        self.col_inverse
            .process_with_scratch(&mut s.half, &mut s.scratch);
        let norm = 1.0 / (n * n) as f64;
        for (i0, row) in f.chunks_exact_mut(n).enumerate() {
            for (j1, v) in s.row_complex.iter_mut().enumerate() {
                *v = s.half[j1 * n + i0];
            }
            s.row_complex[0].im = 0.0;
            s.row_complex[m - 1].im = 0.0;
            self.row_inverse
                .process_with_scratch(&mut s.row_complex, row, &mut s.scratch)
                .expect("buffer lengths come from the plan; the edge imaginary parts are zero");
            row.iter_mut().for_each(|x| *x *= norm);
        }
    }

    /// Zeroes the coefficients the 2/3 rule discards.
    pub fn dealias(&self, spec: &mut [Complex64]) {
        for (v, &keep) in spec.iter_mut().zip(&self.keep) {
            if !keep {
                *v = Complex64::ZERO;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transform of `cos(a x₀ + b x₁)` is `n²/2` at `±(a, b)`, computed here independently of
    /// the FFT; the inverse recovers the samples.
    #[test]
    fn single_mode_transform_and_round_trip() {
        let n = 12;
        let grid = SpectralGrid::new(n);
        let mut s = grid.scratch();
        let h = std::f64::consts::TAU / n as f64;
        let (a, b) = (-3.0, 2.0);
        let f: Vec<f64> = (0..n * n)
            .map(|i| (a * (i / n) as f64 * h + b * (i % n) as f64 * h).cos())
            .collect();
        let mut spec = vec![Complex64::ZERO; grid.spectral_len()];
        grid.forward(&f, &mut spec, &mut s);
        for (i, v) in spec.iter().enumerate() {
            let hit = (grid.k0()[i] == a && grid.k1()[i] == b)
                || (grid.k0()[i] == -a && grid.k1()[i] == -b);
            let expected = if hit { (n * n) as f64 / 2.0 } else { 0.0 };
            assert!(
                (v - Complex64::new(expected, 0.0)).norm() < 1e-10,
                "{i}: {v}"
            );
        }
        let mut back = vec![0.0; n * n];
        grid.inverse(&spec, &mut back, &mut s);
        for (x, y) in f.iter().zip(&back) {
            assert!((x - y).abs() < 1e-13);
        }
    }

    #[test]
    fn mask_keeps_wavenumbers_below_a_third() {
        let grid = SpectralGrid::new(48);
        let kept: Vec<(f64, f64)> = (0..grid.spectral_len())
            .filter(|&i| grid.keep()[i])
            .map(|i| (grid.k0()[i], grid.k1()[i]))
            .collect();
        // |k₀| ≤ 15 (31 values) × k₁ ∈ 0..=15 (16 values).
        assert_eq!(kept.len(), 31 * 16);
        assert!(kept.iter().all(|&(a, b)| a.abs() <= 15.0 && b <= 15.0));
    }
}
