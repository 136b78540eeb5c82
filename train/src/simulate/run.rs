//! Running a whole configuration: every trajectory in parallel (rayon), one solver per
//! trajectory.

use rayon::prelude::*;

use super::config::{SimConfig, MAX_COURANT};
use super::dataset::Dataset;
use super::error::SimError;
use super::frame::Frame;
use super::initial::random_initial_state;
use super::solver::Solver;

/// The frames of trajectory `trajectory`: frame 0 is the random initial condition, each next
/// one `config.steps_per_frame` solver steps later. Before advancing from a frame the Courant
/// number `dt · max(|u₀| + |u₁|) / h` is checked against [`MAX_COURANT`].
pub fn simulate_trajectory(config: &SimConfig, trajectory: usize) -> Result<Vec<Frame>, SimError> {
    let mut solver = Solver::new(config)?;
    let mut state = random_initial_state(&solver, config, trajectory);
    let mut frames = Vec::with_capacity(config.frames);
    for frame in 0..config.frames {
        if frame > 0 {
            for _ in 0..config.steps_per_frame {
                solver.step(&mut state);
            }
        }
        let fields = solver.fields(&state);
        if !fields.is_finite() {
            return Err(SimError::NonFinite { trajectory, frame });
        }
        let courant = config.dt * fields.max_speed_l1() / config.spacing();
        if frame + 1 < config.frames && courant > MAX_COURANT {
            return Err(SimError::Courant {
                trajectory,
                frame: frame + 1,
                courant,
                limit: MAX_COURANT,
            });
        }
        frames.push(Frame::from_fields(&fields));
    }
    Ok(frames)
}

/// Simulates every trajectory of `config` (validated first) into a dataset.
pub fn simulate(config: &SimConfig) -> Result<Dataset, SimError> {
    config.validate()?;
    let trajectories = (0..config.trajectories)
        .into_par_iter()
        .map(|t| simulate_trajectory(config, t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dataset::from_frames(
        config.clone(),
        trajectories.iter().flatten(),
    ))
}
