//! Learning-rate schedules, as functions of the global step (so a resumed run continues on
//! the very same curve).

use serde::{Deserialize, Serialize};

use super::error::CliError;

/// The shape of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The base rate throughout.
    Constant,
    /// `optax.cosine_decay_schedule(lr, decay_steps = all steps, alpha = final_fraction)`:
    /// `lr · ((1 − α) · ½(1 + cos(π · step / steps)) + α)`.
    #[default]
    Cosine,
    /// `optax.exponential_decay(lr, transition_steps = every_epochs epochs,
    /// decay_rate = factor, staircase = True)`: `lr · factor^⌊epoch / every_epochs⌋`.
    Step,
}

/// The `schedule` section of a run configuration. Fields a kind does not use are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// The shape.
    pub kind: ScheduleKind,
    /// Cosine: the rate after the last step, as a fraction of the base rate, in `[0, 1]`.
    pub final_fraction: f64,
    /// Step: epochs between two decays, ≥ 1.
    pub every_epochs: usize,
    /// Step: the factor of each decay, in `(0, 1]`.
    pub factor: f64,
    /// Every kind: epochs (may be fractional) over which the rate rises linearly from
    /// `base / warmup steps` to the schedule's rate, ≥ 0.
    pub warmup_epochs: f64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            kind: ScheduleKind::default(),
            final_fraction: 0.01,
            every_epochs: 10,
            factor: 0.5,
            warmup_epochs: 0.0,
        }
    }
}

impl Schedule {
    /// Checks the fields of the chosen kind.
    pub fn validate(&self) -> Result<(), CliError> {
        let bad = |field, value: String, requirement: &str| CliError::Invalid {
            field,
            value,
            requirement: requirement.into(),
        };
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0) {
            return Err(bad(
                "schedule.warmup_epochs",
                self.warmup_epochs.to_string(),
                "must be finite and ≥ 0",
            ));
        }
        match self.kind {
            ScheduleKind::Constant => {}
            ScheduleKind::Cosine => {
                if !(0.0..=1.0).contains(&self.final_fraction) {
                    return Err(bad(
                        "schedule.final_fraction",
                        self.final_fraction.to_string(),
                        "must lie in [0, 1]",
                    ));
                }
            }
            ScheduleKind::Step => {
                if self.every_epochs == 0 {
                    return Err(bad(
                        "schedule.every_epochs",
                        "0".into(),
                        "must be at least 1",
                    ));
                }
                if !(self.factor > 0.0 && self.factor <= 1.0) {
                    return Err(bad(
                        "schedule.factor",
                        self.factor.to_string(),
                        "must lie in (0, 1]",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The rate of global step `step` (0-based) for a base rate `base`, with
    /// `steps_per_epoch` steps in each of `epochs` epochs.
    pub fn rate(&self, base: f64, step: usize, steps_per_epoch: usize, epochs: usize) -> f64 {
        let warmup = (self.warmup_epochs * steps_per_epoch as f64).round();
        let factor = if (step as f64) < warmup {
            (step + 1) as f64 / warmup
        } else {
            1.0
        };
        factor * self.decayed(base, step, steps_per_epoch, epochs)
    }

    /// The rate of the schedule's kind, before warmup.
    fn decayed(&self, base: f64, step: usize, steps_per_epoch: usize, epochs: usize) -> f64 {
        match self.kind {
            ScheduleKind::Constant => base,
            ScheduleKind::Cosine => {
                let total = (steps_per_epoch * epochs).max(1) as f64;
                let t = (step as f64).min(total) / total;
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
                base * ((1.0 - self.final_fraction) * cosine + self.final_fraction)
            }
            ScheduleKind::Step => {
                let epoch = step / steps_per_epoch.max(1);
                let decays = (epoch / self.every_epochs.max(1)) as i32;
                base * self.factor.powi(decays)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_runs_from_the_base_to_the_final_fraction() {
        let s = Schedule::default();
        assert_eq!(s.rate(1e-3, 0, 10, 5), 1e-3);
        // Halfway the cosine factor is ½: lr · (0.99 · 0.5 + 0.01).
        assert!((s.rate(1e-3, 25, 10, 5) - 1e-3 * 0.505).abs() < 1e-15);
        assert!((s.rate(1e-3, 50, 10, 5) - 1e-5).abs() < 1e-15);
        assert!((s.rate(1e-3, 70, 10, 5) - 1e-5).abs() < 1e-15);
    }

    #[test]
    fn warmup_rises_linearly_then_follows_the_schedule() {
        let s = Schedule {
            kind: ScheduleKind::Constant,
            warmup_epochs: 0.5,
            ..Schedule::default()
        };
        // 10 steps per epoch: 5 warmup steps at 1/5, 2/5, … of the base.
        let rates: Vec<f64> = (0..7).map(|step| s.rate(2.0, step, 10, 3)).collect();
        assert_eq!(rates, [0.4, 0.8, 1.2, 1.6, 2.0, 2.0, 2.0]);
        let bad = Schedule {
            warmup_epochs: -1.0,
            ..Schedule::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("warmup"));
    }

    #[test]
    fn step_decays_every_few_epochs() {
        let s = Schedule {
            kind: ScheduleKind::Step,
            every_epochs: 2,
            factor: 0.5,
            ..Schedule::default()
        };
        let rates: Vec<f64> = (0..6).map(|e| s.rate(1.0, e * 3 + 1, 3, 6)).collect();
        assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
        let constant = Schedule {
            kind: ScheduleKind::Constant,
            ..s
        };
        assert_eq!(constant.rate(0.3, 17, 3, 6), 0.3);
    }

    #[test]
    fn invalid_fields_are_named() {
        let s = Schedule {
            kind: ScheduleKind::Step,
            factor: 1.5,
            ..Schedule::default()
        };
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("schedule.factor"));
        let s = Schedule {
            final_fraction: -0.1,
            ..Schedule::default()
        };
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("schedule.final_fraction"));
    }
}
