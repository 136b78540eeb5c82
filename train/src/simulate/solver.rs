//! The pseudo-spectral vorticity solver for 2-D incompressible flow with a passive tracer.
//!
//! Equations on `[0, 2π)²` (axes 0 and 1 of the image array are `x₀`, `x₁`):
//!
//! ```text
//! ∂ω/∂t + ∇·(u ω) = ν ∇²ω,     ∂c/∂t + ∇·(u c) = κ ∇²c,
//! ∇²ψ = −ω,   u = (∂ψ/∂x₁, −∂ψ/∂x₀),   so ∇·u = 0 and ω = ∂u₁/∂x₀ − ∂u₀/∂x₁.
//! ```
//!
//! The fluxes `u ω`, `u c` are formed on the grid and transformed back, their divergence taken
//! spectrally and truncated by the 2/3 rule; the flux (conservative) form keeps the `k = 0`
//! coefficients, the means of `ω` and `c`, exactly constant. For divergence-free `u` it equals the
//! advective form `u·∇`. Viscosity and diffusivity are integrated exactly by an integrating
//! factor, the remaining terms by classical RK4 ("IFRK4": Kassam & Trefethen, *Fourth-order
//! time-stepping for stiff PDEs*, SIAM J. Sci. Comput. 26, 2005, §2; Trefethen, *Spectral
//! Methods in MATLAB*, 2000, ch. 10). A single Fourier shell `|k|² = K` has zero nonlinear term
//! (`u·∇ω = −J(ψ, Kψ) = 0`), so it decays exactly as `e^{−νKt}`.
//!
//! Every operation is a pointwise product, a Fourier multiplier even or odd in each wavenumber,
//! or a mask symmetric under `k₀ ↔ k₁` and sign flips, so a step commutes with the eight grid
//! symmetries of B₂ (with `ω` changing sign under reflections).

use realfft::num_complex::Complex64;

use super::config::SimConfig;
use super::error::ConfigError;
use super::spectral::{FftScratch, SpectralGrid};

/// The solver state: spectra of vorticity and tracer (layout of [`SpectralGrid`]), zero on
/// the coefficients the 2/3 rule discards.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// `[ω̂, ĉ]`.
    spectra: [Vec<Complex64>; 2],
}

impl State {
    fn zeros(len: usize) -> Self {
        Self {
            spectra: [vec![Complex64::ZERO; len], vec![Complex64::ZERO; len]],
        }
    }

    /// The vorticity spectrum `ω̂`.
    pub fn omega(&self) -> &[Complex64] {
        &self.spectra[0]
    }

    /// The tracer spectrum `ĉ`.
    pub fn tracer(&self) -> &[Complex64] {
        &self.spectra[1]
    }
}

/// Physical (grid) values of one state, each row-major `n × n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    /// Grid points per side.
    pub n: usize,
    /// Velocity component along axis 0, `u₀ = ∂ψ/∂x₁`.
    pub u0: Vec<f64>,
    /// Velocity component along axis 1, `u₁ = −∂ψ/∂x₀`.
    pub u1: Vec<f64>,
    /// Vorticity `ω = ∂u₁/∂x₀ − ∂u₀/∂x₁`.
    pub omega: Vec<f64>,
    /// Tracer concentration `c`.
    pub tracer: Vec<f64>,
}

impl Fields {
    /// Kinetic energy `E = ½⟨|u|²⟩`, the mean over grid points.
    pub fn energy(&self) -> f64 {
        let sum: f64 = self
            .u0
            .iter()
            .zip(&self.u1)
            .map(|(a, b)| a * a + b * b)
            .sum();
        0.5 * sum / self.u0.len() as f64
    }

    /// Enstrophy `Z = ½⟨ω²⟩`.
    pub fn enstrophy(&self) -> f64 {
        0.5 * self.omega.iter().map(|w| w * w).sum::<f64>() / self.omega.len() as f64
    }

    /// Mean tracer concentration `⟨c⟩`.
    pub fn tracer_mean(&self) -> f64 {
        self.tracer.iter().sum::<f64>() / self.tracer.len() as f64
    }

    /// Largest `|u₀| + |u₁|` on the grid.
    pub fn max_speed_l1(&self) -> f64 {
        self.u0
            .iter()
            .zip(&self.u1)
            .map(|(a, b)| a.abs() + b.abs())
            .fold(0.0, f64::max)
    }

    /// Whether every value is finite.
    pub fn is_finite(&self) -> bool {
        [&self.u0, &self.u1, &self.omega, &self.tracer]
            .iter()
            .all(|f| f.iter().all(|x| x.is_finite()))
    }
}

/// Grid buffers for evaluating the nonlinear terms.
#[derive(Debug)]
struct Workspace {
    fft: FftScratch,
    u_hat: [Vec<Complex64>; 2],
    flux_hat: [Vec<Complex64>; 2],
    u: [Vec<f64>; 2],
    q: Vec<f64>,
    product: Vec<f64>,
}

/// The time stepper of one trajectory (owns its buffers; make one per thread).
#[derive(Debug)]
pub struct Solver {
    grid: SpectralGrid,
    dt: f64,
    /// `1/|k|²`, zero at `k = 0` (the mean of `ψ` is irrelevant).
    inv_k2: Vec<f64>,
    /// Integrating factors `[e^{−ν|k|² dt/2}, e^{−ν|k|² dt}]` of the vorticity, then the same
    /// with κ for the tracer.
    decay: [[Vec<f64>; 2]; 2],
    work: Workspace,
    stage: State,
    rhs: State,
    acc: State,
}

impl Solver {
    /// A solver for the grid, viscosity, diffusivity and time step of `config`.
    pub fn new(config: &SimConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let grid = SpectralGrid::new(config.n);
        let len = grid.spectral_len();
        let n2 = config.n * config.n;
        let k2: Vec<f64> = grid
            .k0()
            .iter()
            .zip(grid.k1())
            .map(|(a, b)| a * a + b * b)
            .collect();
        let inv_k2 = k2
            .iter()
            .map(|&k| if k > 0.0 { 1.0 / k } else { 0.0 })
            .collect();
        let factors = |coefficient: f64| {
            [0.5, 1.0].map(|fraction| {
                k2.iter()
                    .map(|k| (-coefficient * k * fraction * config.dt).exp())
                    .collect::<Vec<f64>>()
            })
        };
        let work = Workspace {
            fft: grid.scratch(),
            u_hat: [vec![Complex64::ZERO; len], vec![Complex64::ZERO; len]],
            flux_hat: [vec![Complex64::ZERO; len], vec![Complex64::ZERO; len]],
            u: [vec![0.0; n2], vec![0.0; n2]],
            q: vec![0.0; n2],
            product: vec![0.0; n2],
        };
        Ok(Self {
            dt: config.dt,
            inv_k2,
            decay: [factors(config.viscosity), factors(config.diffusivity)],
            work,
            stage: State::zeros(len),
            rhs: State::zeros(len),
            acc: State::zeros(len),
            grid,
        })
    }

    /// The Fourier grid.
    pub fn grid(&self) -> &SpectralGrid {
        &self.grid
    }

    /// The state whose grid values are `omega` and `tracer` (row-major `n × n`), projected onto
    /// the modes the 2/3 rule keeps. Panics if a length is not `n²`.
    pub fn state_from_grid(&mut self, omega: &[f64], tracer: &[f64]) -> State {
        let mut state = State::zeros(self.grid.spectral_len());
        for (values, spec) in [omega, tracer].into_iter().zip(&mut state.spectra) {
            self.grid.forward(values, spec, &mut self.work.fft);
            self.grid.dealias(spec);
        }
        state
    }

    /// The state with the given spectra (layout of [`SpectralGrid`]), projected onto the modes the
    /// 2/3 rule keeps. Panics if a length differs from [`SpectralGrid::spectral_len`].
    pub fn state_from_spectra(
        &self,
        mut omega: Vec<Complex64>,
        mut tracer: Vec<Complex64>,
    ) -> State {
        let len = self.grid.spectral_len();
        assert!(
            omega.len() == len && tracer.len() == len,
            "spectra must have {len} values"
        );
        self.grid.dealias(&mut omega);
        self.grid.dealias(&mut tracer);
        State {
            spectra: [omega, tracer],
        }
    }

    /// Grid values of velocity, vorticity and tracer.
    pub fn fields(&mut self, state: &State) -> Fields {
        let n = self.grid.n();
        let mut fields = Fields {
            n,
            u0: vec![0.0; n * n],
            u1: vec![0.0; n * n],
            omega: vec![0.0; n * n],
            tracer: vec![0.0; n * n],
        };
        self.work.velocity(&self.grid, &self.inv_k2, state.omega());
        fields.u0.copy_from_slice(&self.work.u[0]);
        fields.u1.copy_from_slice(&self.work.u[1]);
        let fft = &mut self.work.fft;
        self.grid.inverse(state.omega(), &mut fields.omega, fft);
        self.grid.inverse(state.tracer(), &mut fields.tracer, fft);
        fields
    }

    /// Advances `state` by one time step `dt` (IFRK4).
    pub fn step(&mut self, state: &mut State) {
        let dt = self.dt;
        let Self {
            grid,
            inv_k2,
            decay,
            work,
            stage,
            rhs,
            acc,
            ..
        } = self;
        // With E = e^{L dt/2}:  a = dt N(u),  b = dt N(E(u + a/2)),  c = dt N(Eu + b/2),
        // d = dt N(E²u + Ec),  u ← E²u + (E²a + 2E(b + c) + d)/6.
        work.rhs(grid, inv_k2, state, rhs);
        for (f, [e, e2]) in decay.iter().enumerate() {
            let (u, r) = (&state.spectra[f], &rhs.spectra[f]);
            let (st, ac) = (&mut stage.spectra[f], &mut acc.spectra[f]);
            for i in 0..u.len() {
                let a = dt * r[i];
                st[i] = e[i] * (u[i] + 0.5 * a);
                ac[i] = e2[i] * a;
            }
        }
        work.rhs(grid, inv_k2, stage, rhs);
        for (f, [e, _]) in decay.iter().enumerate() {
            let (u, r) = (&state.spectra[f], &rhs.spectra[f]);
            let (st, ac) = (&mut stage.spectra[f], &mut acc.spectra[f]);
            for i in 0..u.len() {
                let b = dt * r[i];
                ac[i] += 2.0 * e[i] * b;
                st[i] = e[i] * u[i] + 0.5 * b;
            }
        }
        work.rhs(grid, inv_k2, stage, rhs);
        for (f, [e, e2]) in decay.iter().enumerate() {
            let (u, r) = (&state.spectra[f], &rhs.spectra[f]);
            let (st, ac) = (&mut stage.spectra[f], &mut acc.spectra[f]);
            for i in 0..u.len() {
                let c = dt * r[i];
                ac[i] += 2.0 * e[i] * c;
                st[i] = e2[i] * u[i] + e[i] * c;
            }
        }
        work.rhs(grid, inv_k2, stage, rhs);
        for (f, [_, e2]) in decay.iter().enumerate() {
            let (r, ac) = (&rhs.spectra[f], &acc.spectra[f]);
            let u = &mut state.spectra[f];
            for i in 0..u.len() {
                u[i] = e2[i] * u[i] + (ac[i] + dt * r[i]) / 6.0;
            }
        }
    }
}

impl Workspace {
    /// Grid velocity `u = (∂ψ/∂x₁, −∂ψ/∂x₀)`, `ψ̂ = ω̂/|k|²`, into `self.u`.
    fn velocity(&mut self, grid: &SpectralGrid, inv_k2: &[f64], omega: &[Complex64]) {
        let [h0, h1] = &mut self.u_hat;
        for i in 0..omega.len() {
            let psi = omega[i] * inv_k2[i];
            h0[i] = Complex64::I * grid.k1()[i] * psi;
            h1[i] = -Complex64::I * grid.k0()[i] * psi;
        }
        for (h, u) in self.u_hat.iter().zip(&mut self.u) {
            grid.inverse(h, u, &mut self.fft);
        }
    }

    /// The nonlinear terms `−∇·(u ω)`, `−∇·(u c)`, dealiased, into `out`.
    fn rhs(&mut self, grid: &SpectralGrid, inv_k2: &[f64], state: &State, out: &mut State) {
        self.velocity(grid, inv_k2, state.omega());
        for (spec, dst) in state.spectra.iter().zip(&mut out.spectra) {
            grid.inverse(spec, &mut self.q, &mut self.fft);
            for (u, flux) in self.u.iter().zip(&mut self.flux_hat) {
                for ((p, a), b) in self.product.iter_mut().zip(u).zip(&self.q) {
                    *p = a * b;
                }
                grid.forward(&self.product, flux, &mut self.fft);
            }
            let [f0, f1] = &self.flux_hat;
            for i in 0..dst.len() {
                dst[i] = if grid.keep()[i] {
                    -Complex64::I * (grid.k0()[i] * f0[i] + grid.k1()[i] * f1[i])
                } else {
                    Complex64::ZERO
                };
            }
        }
    }
}
