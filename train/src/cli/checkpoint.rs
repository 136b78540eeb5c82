//! Checkpoints and the run directory.
//!
//! A run directory holds:
//!
//! - `checkpoint/`: the state after the last finished epoch: `model.bpk` (burn's module
//!   record), `optimizer.bpk` (burn's optimiser record: Adam's moments and step count, keyed by
//!   the parameter ids the module record restores) and `state.json` ([`RunState`]: the
//!   configuration, the epoch, the early-stopping counters and the metrics of every epoch);
//! - `best/`: `model.bpk` and `state.json` of the epoch with the lowest validation loss;
//! - `metrics.jsonl`: one [`EpochMetrics`] line per finished epoch, rewritten from the state
//!   after each checkpoint, so it never holds an epoch the checkpoint does not.
//!
//! A checkpoint is written into a fresh `<name>.tmp/` that then replaces `<name>/` by two
//! renames (the old one becomes `<name>.old/` for a moment); a run interrupted between them
//! leaves `<name>.old/`, which [`checkpoint_dir`] falls back to. So an interruption at any
//! moment leaves the last complete checkpoint readable.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::data::model_io;
use super::error::CliError;
use super::model::build_model;
use crate::data::Schema;
use crate::models::Model;
use ginrs_runtime::models::{Normalization, Seam};

/// The `format` of `state.json`.
pub const STATE_FORMAT: &str = "ginrs-run/2";
/// The last epoch's checkpoint directory.
pub const LAST_DIR: &str = "checkpoint";
/// The best epoch's checkpoint directory.
pub const BEST_DIR: &str = "best";
/// The module record's file name.
pub const MODEL_FILE: &str = "model.bpk";
/// The optimiser record's file name.
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The state's file name.
pub const STATE_FILE: &str = "state.json";
/// The metrics file's name.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// Which checkpoint of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Which {
    /// The epoch with the lowest validation loss.
    #[default]
    Best,
    /// The last finished epoch.
    Last,
}

impl Which {
    /// The checkpoint's name as `--checkpoint` spells it: `best` or `last` (the last one's
    /// directory is `checkpoint/`, see [`Which::dir_name`]).
    pub fn name(self) -> &'static str {
        match self {
            Self::Best => "best",
            Self::Last => "last",
        }
    }

    /// The checkpoint's directory name.
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Best => BEST_DIR,
            Self::Last => LAST_DIR,
        }
    }
}

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's windows (before each step's update).
    pub train_loss: f64,
    /// The mean validation loss after the epoch.
    pub val_loss: f64,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
    /// Training windows per second (over all ranks).
    pub samples_per_second: f64,
    /// The number of data-parallel ranks that trained the epoch (1 before `--mpi` existed).
    #[serde(default = "one_rank")]
    pub ranks: usize,
}

fn one_rank() -> usize {
    1
}

/// The best epoch so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Best {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Its validation loss.
    pub val_loss: f64,
}

/// `state.json`: everything but the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The training data's grid, boundary and fields.
    pub schema: Schema,
    /// The model's trainable values.
    pub params: usize,
    /// Finished epochs.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub steps: usize,
    /// The best epoch so far.
    pub best: Option<Best>,
    /// Epochs since the best one (early stopping).
    pub epochs_since_best: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// The metrics of every finished epoch.
    pub history: Vec<EpochMetrics>,
    /// The run's identity, drawn when it starts; exported model files carry it
    /// ([`ginrs_runtime::Origin`]).
    #[serde(default)]
    pub run_id: String,
    /// The field normalisation fitted on the training split (with `config.normalize`).
    #[serde(default)]
    pub normalization: Option<Normalization>,
}

impl RunState {
    /// The state of a run before its first epoch.
    pub fn new(config: TrainConfig, schema: Schema, params: usize) -> Self {
        Self {
            format: STATE_FORMAT.into(),
            config,
            schema,
            params,
            epochs_done: 0,
            steps: 0,
            best: None,
            epochs_since_best: 0,
            stopped_early: false,
            history: Vec::new(),
            run_id: new_run_id(),
            normalization: None,
        }
    }

    /// The seam of the run's model: residual learning and the fitted normalisation.
    pub fn seam(&self) -> Seam {
        Seam {
            residual: self.config.residual,
            normalization: self.normalization.clone(),
        }
    }

    /// Whether training has nothing left to do.
    pub fn finished(&self) -> bool {
        self.stopped_early || self.epochs_done >= self.config.epochs
    }
}

/// A fresh run identity: 16 hex digits from the clock and the process id.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// The directory of checkpoint `name` in `run_dir`: `name/`, or `name.old/` when an
/// interrupted write left only that; `None` when neither exists.
pub fn checkpoint_dir(run_dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_string(), format!("{name}.old")]
        .into_iter()
        .map(|n| run_dir.join(n))
        .find(|p| p.join(STATE_FILE).is_file())
}

/// Whether `run_dir` holds a checkpoint.
pub fn exists(run_dir: &Path) -> bool {
    checkpoint_dir(run_dir, LAST_DIR).is_some()
}

/// Writes the last checkpoint (and, when `is_best`, the best one) and `metrics.jsonl`.
pub fn save(
    run_dir: &Path,
    state: &RunState,
    model: &Model,
    optimizer: &ModuleOptimizer,
    is_best: bool,
) -> Result<(), CliError> {
    let state_json = serde_json::to_string_pretty(state).expect("the run state is plain data");
    let write = |name: &str, with_optimizer: bool| {
        replace_dir(&run_dir.join(name), |dir| {
            write_error(
                dir.join(MODEL_FILE),
                model.clone().into_record().save(dir.join(MODEL_FILE)),
            )?;
            if with_optimizer {
                let path = dir.join(OPTIMIZER_FILE);
                write_error(path.clone(), optimizer.save(&path))?;
            }
            let path = dir.join(STATE_FILE);
            std::fs::write(&path, &state_json).map_err(CliError::io(path))
        })
    };
    // The best one first: an interruption in between leaves the last checkpoint one epoch
    // behind, whose resumed run recomputes (and rewrites) the same best epoch.
    if is_best {
        write(BEST_DIR, false)?;
    }
    write(LAST_DIR, true)?;
    let lines: String = state
        .history
        .iter()
        .map(|m| serde_json::to_string(m).expect("metrics are plain data") + "\n")
        .collect();
    let path = run_dir.join(METRICS_FILE);
    let tmp = run_dir.join(format!("{METRICS_FILE}.tmp"));
    std::fs::write(&tmp, lines).map_err(CliError::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(CliError::io(path))
}

/// Reads `state.json` of checkpoint `which`.
pub fn load_state(run_dir: &Path, which: Which) -> Result<(PathBuf, RunState), CliError> {
    let dir = checkpoint_dir(run_dir, which.dir_name()).ok_or_else(|| CliError::Checkpoint {
        path: run_dir.join(which.dir_name()),
        message: format!(
            "missing: no {STATE_FILE} here: {}",
            missing_advice(run_dir, which)
        ),
    })?;
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(CliError::io(&path))?;
    let state: RunState = serde_json::from_str(&text).map_err(|e| CliError::Checkpoint {
        path: path.clone(),
        message: format!("not a valid run state ({e}): {}", damaged_advice(&dir)),
    })?;
    if state.format != STATE_FORMAT {
        return Err(CliError::Checkpoint {
            path,
            message: format!(
                "format `{}`, expected `{STATE_FORMAT}`: the run was written by another \
                 version of ginrs; retrain it with this one (or use that version)",
                state.format
            ),
        });
    }
    Ok((dir, state))
}

/// What to do when checkpoint `which` of `run_dir` is missing.
fn missing_advice(run_dir: &Path, which: Which) -> String {
    let other = match which {
        Which::Best => Which::Last,
        Which::Last => Which::Best,
    };
    if !run_dir.is_dir() {
        "no such run directory: point --run-dir at a directory written by `ginrs train`".into()
    } else if checkpoint_dir(run_dir, other.dir_name()).is_none() {
        "the directory holds no checkpoint: point --run-dir at a directory written by \
         `ginrs train` (a run interrupted before its first epoch ended has none: train it \
         again)"
            .into()
    } else {
        match which {
            Which::Best => "the run has no best epoch (every validation loss was NaN?): use \
                            `--checkpoint last`"
                .into(),
            Which::Last => format!(
                "the run cannot be resumed; its best checkpoint ({}/) still works with \
                 `--checkpoint best`, or retrain the run in a new --run-dir",
                run_dir.join(BEST_DIR).display()
            ),
        }
    }
}

/// What to do about a damaged file in checkpoint directory `dir` (`best/`, `checkpoint/` or
/// their `.old/` fallbacks).
fn damaged_advice(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let name = name.strip_suffix(".old").unwrap_or(name);
    let run_dir = dir.parent().unwrap_or(Path::new("."));
    let has = |which: Which| checkpoint_dir(run_dir, which.dir_name()).is_some();
    match name {
        BEST_DIR if has(Which::Last) => {
            "use the last checkpoint instead (`--checkpoint last`), or retrain the run".into()
        }
        LAST_DIR if has(Which::Best) => format!(
            "the run cannot be resumed from it: retrain the run in a new --run-dir; the best \
             checkpoint ({}/) may still be intact for `ginrs eval` and `ginrs export` \
             (`--checkpoint best`)",
            run_dir.join(BEST_DIR).display()
        ),
        _ => "retrain the run in a new --run-dir".into(),
    }
}

/// The model of checkpoint directory `dir` (whose state is `state`) on `device`.
pub fn load_model(dir: &Path, state: &RunState, device: &Device) -> Result<Model, CliError> {
    let config = &state.config;
    let fresh = build_model(
        &config.model,
        &model_io(&state.schema, config.past_steps),
        device,
        config.seed,
    )?;
    let path = dir.join(MODEL_FILE);
    let record = record_error(path.clone(), ModuleRecord::load(&path))?;
    let model = fresh
        .try_load_record(record)
        .map_err(|e| CliError::Checkpoint {
            path: path.clone(),
            message: format!(
                "does not fit the model of the saved configuration ({e}): {}",
                damaged_advice(dir)
            ),
        })?;
    if model.count_params() != state.params {
        return Err(CliError::Checkpoint {
            path,
            message: format!(
                "the model has {} parameters, the state says {}: {}",
                model.count_params(),
                state.params,
                damaged_advice(dir)
            ),
        });
    }
    Ok(model.with_seam(state.seam())?)
}

/// The optimiser state of checkpoint directory `dir`, loaded into `optimizer`.
pub fn load_optimizer(dir: &Path, optimizer: ModuleOptimizer) -> Result<ModuleOptimizer, CliError> {
    let path = dir.join(OPTIMIZER_FILE);
    let record = record_error(path.clone(), OptimizerRecord::load(&path))?;
    Ok(optimizer.load_record(record))
}

/// Maps burn's record errors to a checkpoint error naming the file.
fn record_error<T>(
    path: PathBuf,
    result: Result<T, burn::store::RecordError>,
) -> Result<T, CliError> {
    result.map_err(|e| {
        let advice = damaged_advice(path.parent().unwrap_or(Path::new(".")));
        let missing = !path.exists();
        CliError::Checkpoint {
            message: if missing {
                format!("missing: {advice}")
            } else {
                format!("unreadable or corrupt ({e}): {advice}")
            },
            path,
        }
    })
}

/// Maps burn's record errors on writing to a checkpoint error naming the file.
fn write_error<T>(
    path: PathBuf,
    result: Result<T, burn::store::RecordError>,
) -> Result<T, CliError> {
    result.map_err(|e| CliError::Checkpoint {
        message: format!(
            "could not be written ({e}): check the free disk space and the run directory's \
             permissions, then continue with --resume"
        ),
        path,
    })
}

/// Fills a fresh `<dir>.tmp/` with `fill`, then moves it to `dir` (see the module docs).
fn replace_dir(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let with_suffix = |suffix: &str| {
        let mut name = dir.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (tmp, old) = (with_suffix(".tmp"), with_suffix(".old"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(CliError::io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(CliError::io(&tmp))?;
    fill(&tmp)?;
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(CliError::io(&old))?;
        }
        std::fs::rename(dir, &old).map_err(CliError::io(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(CliError::io(dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(CliError::io(&old))?;
    }
    Ok(())
}
