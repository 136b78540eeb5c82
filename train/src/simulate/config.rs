//! The simulation's parameters and their validation.

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// The largest Courant number `dt · max(|u₀| + |u₁|) / h` the simulator accepts.
///
/// Classical RK4 is stable for imaginary eigenvalues `|λ dt| ≤ 2√2 ≈ 2.83`; the largest
/// wavenumber kept by the 2/3 rule is `n/3 = 2.09/h` per axis, so advection with speed
/// `|u₀| + |u₁|` stays stable for a Courant number up to about 1.35. The limit keeps a margin.
pub const MAX_COURANT: f64 = 1.0;

/// Parameters of a dataset of 2-D decaying-turbulence trajectories on the periodic square
/// `[0, 2π)²` sampled on an `n × n` grid (so wavenumbers are integers).
///
/// Serialized into `dataset.json`; unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Grid points per side; even and at least 8.
    pub n: usize,
    /// Kinematic viscosity ν ≥ 0 (ν = 0: inviscid, energy conserved up to time stepping).
    pub viscosity: f64,
    /// Tracer diffusivity κ ≥ 0.
    pub diffusivity: f64,
    /// Solver time step, > 0; the Courant number is checked at every stored frame.
    pub dt: f64,
    /// Solver steps between two stored frames, ≥ 1.
    pub steps_per_frame: usize,
    /// Stored frames per trajectory (the initial condition is frame 0), ≥ 1.
    pub frames: usize,
    /// Number of trajectories, ≥ 1.
    pub trajectories: usize,
    /// Seed of the random initial conditions; trajectory `t` draws from ChaCha8 stream `t`.
    pub seed: u64,
    /// Wavenumber at which the initial energy spectrum peaks; in `(0, n/3)`.
    pub peak_wavenumber: f64,
    /// Initial kinetic energy `E = ½⟨|u|²⟩` (mean over the grid), > 0.
    pub initial_energy: f64,
}

impl Default for SimConfig {
    /// A small CPU experiment: 48 × 48 grid, 16 trajectories of 40 frames, 0.1 time units
    /// apart, Reynolds number `u_rms · 2π / ν ≈ 630`; with ν = 10⁻² the enstrophy spectrum still
    /// falls by two decades from its peak to the dealiasing cutoff `|k| = 15` at frame 39.
    fn default() -> Self {
        Self {
            n: 48,
            viscosity: 1e-2,
            diffusivity: 1e-2,
            dt: 0.02,
            steps_per_frame: 5,
            frames: 40,
            trajectories: 16,
            seed: 0,
            peak_wavenumber: 4.0,
            initial_energy: 0.5,
        }
    }
}

impl SimConfig {
    /// Time between two stored frames, `dt · steps_per_frame`.
    pub fn frame_interval(&self) -> f64 {
        self.dt * self.steps_per_frame as f64
    }

    /// Grid spacing `h = 2π / n`.
    pub fn spacing(&self) -> f64 {
        std::f64::consts::TAU / self.n as f64
    }

    /// Checks every field; the first violation is returned, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, value: String, requirement| ConfigError {
            field,
            value,
            requirement,
        };
        if self.n < 8 || !self.n.is_multiple_of(2) {
            return Err(bad("n", self.n.to_string(), "must be even and at least 8"));
        }
        for (field, value) in [
            ("viscosity", self.viscosity),
            ("diffusivity", self.diffusivity),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(bad(field, value.to_string(), "must be finite and ≥ 0"));
            }
        }
        for (field, value) in [("dt", self.dt), ("initial_energy", self.initial_energy)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(bad(field, value.to_string(), "must be finite and > 0"));
            }
        }
        for (field, value) in [
            ("steps_per_frame", self.steps_per_frame),
            ("frames", self.frames),
            ("trajectories", self.trajectories),
        ] {
            if value == 0 {
                return Err(bad(field, value.to_string(), "must be at least 1"));
            }
        }
        let k = self.peak_wavenumber;
        if !(k > 0.0 && 3.0 * k < self.n as f64) {
            return Err(bad(
                "peak_wavenumber",
                k.to_string(),
                "must lie in (0, n/3), the band the 2/3 dealiasing rule keeps",
            ));
        }
        // The velocity array is the largest: trajectories · frames · n² · 2 values (f32).
        let values = [self.frames, self.n, self.n, 2]
            .iter()
            .try_fold(self.trajectories, |acc, &f| acc.checked_mul(f))
            .and_then(|v| v.checked_mul(4));
        if values.is_none_or(|bytes| bytes > isize::MAX as usize) {
            return Err(bad(
                "trajectories",
                self.trajectories.to_string(),
                "trajectories · frames · n² · 2 · 4 bytes must fit in memory",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        SimConfig::default().validate().unwrap();
    }

    #[test]
    fn each_invalid_field_is_named() {
        type Mutation = fn(&mut SimConfig);
        let cases: Vec<(&str, Mutation)> = vec![
            ("n", |c| c.n = 47),
            ("n", |c| c.n = 6),
            ("viscosity", |c| c.viscosity = -1e-3),
            ("viscosity", |c| c.viscosity = f64::NAN),
            ("diffusivity", |c| c.diffusivity = f64::INFINITY),
            ("dt", |c| c.dt = 0.0),
            ("initial_energy", |c| c.initial_energy = -1.0),
            ("steps_per_frame", |c| c.steps_per_frame = 0),
            ("frames", |c| c.frames = 0),
            ("trajectories", |c| c.trajectories = 0),
            ("trajectories", |c| c.trajectories = usize::MAX / 2),
            ("peak_wavenumber", |c| c.peak_wavenumber = 16.0),
            ("peak_wavenumber", |c| c.peak_wavenumber = 0.0),
        ];
        for (field, mutate) in cases {
            let mut config = SimConfig::default();
            mutate(&mut config);
            let err = config.validate().unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn json_rejects_unknown_keys() {
        let mut json = serde_json::to_value(SimConfig::default()).unwrap();
        json["reynolds"] = serde_json::json!(1000);
        let err = serde_json::from_value::<SimConfig>(json).unwrap_err();
        assert!(err.to_string().contains("reynolds"), "{err}");
    }
}
