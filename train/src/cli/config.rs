//! The configuration of a training run: one TOML or JSON file, command-line flags, or both.
//!
//! [`resolve`] starts from a base (the defaults, or a resumed run's saved configuration),
//! overlays the file's keys, then the flags that were given, and deserialises the result
//! into [`TrainConfig`], whose sections reject unknown keys: a misspelt key is an error that
//! names it, never a silently ignored setting. Relative paths are relative to the working
//! directory.
//!
//! ```toml
//! dataset = "data/turbulence"
//! run_dir = "runs/equivariant"
//! past_steps = 2
//! epochs = 30
//! batch_size = 8
//! learning_rate = 1e-3
//! patience = 5
//!
//! [model]
//! kind = "resnet"
//! equivariant = true
//! depth = 8
//! num_blocks = 2
//!
//! [schedule]
//! kind = "cosine"
//! final_fraction = 0.01
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::CliError;
use super::model::ModelSpec;
use super::schedule::Schedule;
pub use crate::data::SplitFractions;
use crate::data::{DataOptions, Symmetry};
use crate::loss::Loss;
use crate::optim::Optimizer;

/// The optimiser (burn's, with optax's defaults: see [`Optimizer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam.
    #[default]
    Adam,
    /// AdamW, with `weight_decay`.
    Adamw,
}

/// The training loss (ginjax's losses, see [`crate::loss`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// `smse_loss`.
    #[default]
    Smse,
    /// `normalized_smse_loss` with eps 1e-5.
    NormalizedSmse,
}

impl LossKind {
    /// The loss.
    pub fn loss(self) -> Loss {
        match self {
            Self::Smse => Loss::Smse,
            Self::NormalizedSmse => Loss::NormalizedSmse(1e-5),
        }
    }
}

/// Everything a training run needs (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The dataset: a `ginrs simulate` directory, an HDF5 file of The Well or PDEBench, or a
    /// directory of them (The Well's `train/`, `valid/`, `test/` layout included). Required.
    pub dataset: PathBuf,
    /// How to read it (`[data]`: `format`, `parity`, `boundary`, `cache_bytes`).
    pub data: DataOptions,
    /// The subgroup of B_d the data respects (`full`, `rotations`, `flips`, `flips-x`, …):
    /// evaluation transforms the test split by its elements only.
    pub symmetry: Symmetry,
    /// The run directory: checkpoints, metrics and evaluations go here. Required.
    pub run_dir: PathBuf,
    /// Past frames `p` the model sees; it predicts the next one. ≥ 1.
    pub past_steps: usize,
    /// The split of the trajectories.
    pub split: SplitFractions,
    /// The model.
    pub model: ModelSpec,
    /// Epochs (passes over the training windows), ≥ 1.
    pub epochs: usize,
    /// Windows per step, ≥ 1.
    pub batch_size: usize,
    /// The base learning rate, > 0.
    pub learning_rate: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// AdamW's decoupled weight decay, ≥ 0.
    pub weight_decay: f64,
    /// The training loss.
    pub loss: LossKind,
    /// Early stopping: stop after this many epochs without a better validation loss
    /// (absent: train all epochs).
    pub patience: Option<usize>,
    /// Seed of the initial weights and of the shuffling.
    pub seed: u64,
    /// Residual learning (ginjax's `Mapper(residual=True)`): the network predicts the change
    /// from the newest input frame, and the prediction is that frame plus the change.
    pub residual: bool,
    /// Field normalisation: per key and channel, statistics of the training split scale the
    /// network's inputs and outputs (parity-0 scalars are also shifted by their mean; every
    /// other key only scaled, which keeps equivariance: see `ginrs_runtime::models::seam`).
    pub normalize: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            dataset: PathBuf::new(),
            data: DataOptions::default(),
            symmetry: Symmetry::default(),
            run_dir: PathBuf::new(),
            past_steps: 2,
            split: SplitFractions::default(),
            model: ModelSpec::default(),
            epochs: 20,
            batch_size: 8,
            learning_rate: 1e-3,
            schedule: Schedule::default(),
            optimizer: OptimizerKind::default(),
            weight_decay: 1e-4,
            loss: LossKind::default(),
            patience: None,
            seed: 0,
            residual: true,
            normalize: true,
        }
    }
}

impl TrainConfig {
    /// The optimiser with its hyper-parameters.
    pub fn optimizer(&self) -> Optimizer {
        match self.optimizer {
            OptimizerKind::Adam => Optimizer::adam(),
            OptimizerKind::Adamw => match Optimizer::adamw() {
                Optimizer::AdamW {
                    beta_1,
                    beta_2,
                    epsilon,
                    ..
                } => Optimizer::AdamW {
                    beta_1,
                    beta_2,
                    epsilon,
                    weight_decay: self.weight_decay as f32,
                },
                Optimizer::Adam { .. } => unreachable!("Optimizer::adamw is AdamW"),
            },
        }
    }

    /// Checks every setting; the first violation names it.
    pub fn validate(&self) -> Result<(), CliError> {
        let bad = |field, value: String, requirement: &str| CliError::Invalid {
            field,
            value,
            requirement: requirement.into(),
        };
        for (field, path, flag) in [
            ("dataset", &self.dataset, "--data"),
            ("run_dir", &self.run_dir, "--run-dir"),
        ] {
            if path.as_os_str().is_empty() {
                return Err(bad(
                    field,
                    "(none)".into(),
                    &format!("is required: give {flag} or `{field}` in the config file"),
                ));
            }
        }
        for (field, value) in [
            ("past_steps", self.past_steps),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
        ] {
            if value == 0 {
                return Err(bad(field, "0".into(), "must be at least 1"));
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "must be finite and > 0",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(bad(
                "weight_decay",
                self.weight_decay.to_string(),
                "must be finite and ≥ 0",
            ));
        }
        let SplitFractions { train, val } = self.split;
        if !(train > 0.0 && val > 0.0 && train + val < 1.0) {
            return Err(bad(
                "split",
                format!("train = {train}, val = {val}"),
                "both must be > 0 and leave a test split (train + val < 1)",
            ));
        }
        if self.patience == Some(0) {
            return Err(bad(
                "patience",
                "0".into(),
                "must be at least 1 (or absent)",
            ));
        }
        self.model.validate()?;
        self.schedule.validate()
    }
}

/// The configuration from `base` (defaults when `None`), overlaid with the keys of `file`
/// (TOML or JSON, by extension) and then with `flags` (a JSON object of the flags given),
/// validated.
pub fn resolve(
    base: Option<&TrainConfig>,
    file: Option<&Path>,
    flags: Value,
) -> Result<TrainConfig, CliError> {
    let mut merged = match base {
        Some(config) => serde_json::to_value(config).expect("the configuration is plain data"),
        None => Value::Object(Default::default()),
    };
    let origin = match file {
        Some(path) => {
            merge(&mut merged, read_file(path)?);
            format!("{} (with the flags)", path.display())
        }
        None => "from the flags".to_string(),
    };
    merge(&mut merged, flags);
    let config: TrainConfig =
        serde_path_to_error::deserialize(merged).map_err(|e| CliError::Config {
            origin,
            message: path_message(&e),
        })?;
    config.validate()?;
    Ok(config)
}

/// Checks that `given` continues the run `saved`: every setting but `epochs`, `patience`,
/// `dataset` and `run_dir` must be the same.
pub fn check_resume(saved: &TrainConfig, given: &TrainConfig) -> Result<(), CliError> {
    let comparable = |c: &TrainConfig| {
        let mut value = serde_json::to_value(c).expect("the configuration is plain data");
        if let Some(object) = value.as_object_mut() {
            for free in ["epochs", "patience", "dataset", "run_dir"] {
                object.remove(free);
            }
            // The readers' cache only bounds memory: any budget reads the same frames.
            if let Some(data) = object.get_mut("data").and_then(|d| d.as_object_mut()) {
                data.remove("cache_bytes");
            }
        }
        value
    };
    let (a, b) = (comparable(saved), comparable(given));
    if a == b {
        return Ok(());
    }
    let changed = changed_keys(&a, &b, "");
    Err(CliError::Config {
        origin: "for --resume".into(),
        message: format!(
            "the saved run has other settings for {}; a resumed run may only change \
             `epochs`, `patience`, `dataset` and `data.cache_bytes`",
            changed.join(", ")
        ),
    })
}

/// Parses a TOML or JSON configuration file into a JSON value (a table of settings).
pub fn read_file(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
    let error = |message: String| CliError::Config {
        origin: path.display().to_string(),
        message,
    };
    let value: Value = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str(&text).map_err(|e| error(e.to_string()))?,
        Some("json") => serde_json::from_str(&text).map_err(|e| error(e.to_string()))?,
        _ => return Err(error("the file name must end in .toml or .json".into())),
    };
    if !value.is_object() {
        return Err(error("expected a table of settings".into()));
    }
    Ok(value)
}

/// Overlays `top` on `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(base), Value::Object(top)) => {
            for (key, value) in top {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The dotted keys whose values differ between two JSON objects.
fn changed_keys(a: &Value, b: &Value, prefix: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    let null = Value::Null;
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    changed_keys(x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), &path)
                })
                .collect()
        }
        _ if a == b => Vec::new(),
        _ => vec![format!("`{prefix}` (saved {a}, given {b})")],
    }
}

/// A deserialisation error with the dotted path of the offending key.
fn path_message(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    if path == "." || path.is_empty() {
        error.inner().to_string()
    } else {
        format!("at `{path}`: {}", error.inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::model::Architecture;
    use serde_json::json;

    fn required() -> Value {
        json!({"dataset": "d", "run_dir": "r"})
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(
            &path,
            "epochs = 7\nlearning_rate = 0.01\n[model]\ndepth = 3\nkind = \"unet\"\n",
        )
        .unwrap();
        let mut flags = required();
        flags["epochs"] = json!(9);
        let config = resolve(None, Some(&path), flags).unwrap();
        assert_eq!(config.epochs, 9);
        assert_eq!(config.learning_rate, 0.01);
        assert_eq!(config.model.depth, 3);
        assert_eq!(config.model.kind, Architecture::Unet);
        assert_eq!(config.model.kernel_size, ModelSpec::default().kernel_size);
        assert_eq!(config.dataset, PathBuf::from("d"));
    }

    #[test]
    fn unknown_keys_are_named_with_their_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::fs::write(&path, r#"{"model": {"widht": 3}}"#).unwrap();
        let err = resolve(None, Some(&path), required()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, CliError::Config { .. }), "{text}");
        assert!(text.contains("model") && text.contains("widht"), "{text}");
        std::fs::write(&path, r#"{"learning_rte": 3}"#).unwrap();
        let text = resolve(None, Some(&path), required())
            .unwrap_err()
            .to_string();
        assert!(text.contains("learning_rte"), "{text}");
    }

    #[test]
    fn syntax_errors_types_and_missing_paths_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "epochs = = 3").unwrap();
        let err = resolve(None, Some(&path), required()).unwrap_err();
        assert!(err.to_string().contains("run.toml"), "{err}");
        std::fs::write(&path, "epochs = \"many\"").unwrap();
        let err = resolve(None, Some(&path), required()).unwrap_err();
        assert!(err.to_string().contains("epochs"), "{err}");
        let err = resolve(None, None, json!({"dataset": "d"})).unwrap_err();
        assert!(err.to_string().contains("--run-dir"), "{err}");
        let other = dir.path().join("run.yaml");
        std::fs::write(&other, "").unwrap();
        let err = resolve(None, Some(&other), required()).unwrap_err();
        assert!(err.to_string().contains(".toml or .json"), "{err}");
    }

    #[test]
    fn resume_may_change_only_the_free_settings() {
        let saved = resolve(None, None, required()).unwrap();
        let mut given = saved.clone();
        given.epochs = 50;
        given.patience = Some(3);
        check_resume(&saved, &given).unwrap();
        given.model.depth = 99;
        let err = check_resume(&saved, &given).unwrap_err().to_string();
        assert!(err.contains("model.depth"), "{err}");
    }
}
