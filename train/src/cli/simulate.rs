//! `ginrs simulate`: runs the turbulence simulator ([`crate::simulate`]) with a progress bar
//! and writes the dataset.

use std::path::Path;

use rayon::prelude::*;

use super::error::CliError;
use super::progress;
use crate::simulate::{simulate_trajectory, Dataset, DatasetError, Field, SimConfig};

/// Simulates every trajectory of `config` (in parallel), writes the dataset into `out` and
/// returns it.
pub fn simulate(config: &SimConfig, out: &Path, show_progress: bool) -> Result<Dataset, CliError> {
    config.validate().map_err(crate::simulate::SimError::from)?;
    let bar = progress::bar(config.trajectories, "simulate", show_progress);
    let trajectories = (0..config.trajectories)
        .into_par_iter()
        .map(|t| {
            let frames = simulate_trajectory(config, t);
            bar.inc(1);
            frames
        })
        .collect::<Result<Vec<_>, _>>()?;
    bar.finish_and_clear();
    let arrays = Field::ALL.map(|field| {
        trajectories
            .iter()
            .flatten()
            .flat_map(|frame| frame.field(field).iter().copied())
            .collect()
    });
    let dataset = Dataset::new(config.clone(), arrays)?;
    // A failed write is a plain I/O error: the dataset errors' advice (point --data at
    // another dataset) is for reading one.
    dataset.write(out).map_err(|e| match e {
        DatasetError::Io { path, source } => CliError::Io { path, source },
        other => other.into(),
    })?;
    Ok(dataset)
}
