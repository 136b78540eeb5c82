//! `ginrs export`: a run's model in the runtime's format (see [`super::model`]).

use std::path::Path;

use burn::tensor::Device;
use ginrs_runtime::Origin;

use super::checkpoint::{self, Which};
use super::error::CliError;
use super::model::{self, RuntimeModel};

/// Writes checkpoint `which` of the run in `run_dir` to `out` as an exported model file,
/// checks that the runtime reads it back, and returns the epoch of the checkpoint.
pub fn export(run_dir: &Path, which: Which, out: &Path) -> Result<usize, CliError> {
    let (dir, state) = checkpoint::load_state(run_dir, which)?;
    let model = checkpoint::load_model(&dir, &state, &Device::default())?;
    let origin = Origin {
        run: state.run_id.clone(),
        checkpoint: which.name().into(),
        epoch: state.epochs_done,
    };
    let json = model::export_json(&model, Some(origin))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(CliError::io(parent))?;
    }
    std::fs::write(out, json).map_err(CliError::io(out))?;
    RuntimeModel::read(out)?;
    Ok(state.epochs_done)
}
