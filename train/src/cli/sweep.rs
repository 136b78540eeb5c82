//! `ginrs sweep`: several model configurations × several seeds on one dataset (ginjax's
//! `ml.benchmark`): train each, evaluate each, and write one table of the mean ± standard
//! deviation over the seeds per metric, with the persistence baseline as its own row.
//!
//! ```toml
//! dataset = "data/turb"
//! out = "runs/sweep"
//! seeds = [0, 1, 2]
//! rollout_steps = 10
//!
//! [common]              # training settings of every model (keys of `ginrs train`'s file)
//! epochs = 10
//! batch_size = 8
//!
//! [[models]]
//! name = "equivariant"  # the run directories are OUT/NAME/seed-S
//! model = { kind = "resnet", depth = 8 }
//!
//! [[models]]
//! name = "baseline"
//! model = { kind = "resnet", equivariant = false, depth = 16 }
//! ```
//!
//! A run that already finished is reused, an interrupted one is resumed, and an evaluation
//! of the same checkpoint and rollout length is kept, so an interrupted sweep continues where
//! it stopped. The table goes to `OUT/summary.md` (and `summary.json`) and is returned.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checkpoint::{self, Which};
use super::compare::{field_names, read_report, shared_group};
use super::config::{self, TrainConfig};
use super::error::CliError;
use super::evaluate::{self, Errors, EvalOptions, EvalReport};
use super::train::{self, TrainOptions};

/// The sweep file (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The dataset every model trains on.
    pub dataset: PathBuf,
    /// The directory of the runs and the summary.
    pub out: PathBuf,
    /// The seeds (initial weights and shuffling) of every model.
    pub seeds: Vec<u64>,
    /// Steps of the evaluation's rollouts.
    #[serde(default = "ten")]
    pub rollout_steps: usize,
    /// Training settings shared by every model.
    #[serde(default)]
    pub common: Value,
    /// The model configurations, each with a `name` and training settings that override
    /// `common`.
    pub models: Vec<Value>,
}

fn ten() -> usize {
    10
}

/// One model's results over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// The configuration's name.
    pub name: String,
    /// "equivariant ResNet", "baseline UNet", ….
    pub model: String,
    /// Trainable values.
    pub params: usize,
    /// Per seed: the evaluation.
    pub runs: Vec<RunSummary>,
}

/// One trained and evaluated run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The seed.
    pub seed: u64,
    /// The run directory.
    pub run_dir: PathBuf,
    /// Wall-clock seconds of its training epochs.
    pub train_seconds: f64,
    /// Its evaluation.
    pub report: EvalReport,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Every model.
    pub models: Vec<ModelSummary>,
    /// The Markdown table.
    pub table: String,
}

/// Reads a sweep file (TOML or JSON).
pub fn read(path: &Path) -> Result<SweepConfig, CliError> {
    let value = config::read_file(path)?;
    let sweep: SweepConfig = serde_json::from_value(value).map_err(|e| CliError::Config {
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    let invalid = |message: &str| CliError::Config {
        origin: path.display().to_string(),
        message: message.into(),
    };
    if sweep.seeds.is_empty() || sweep.models.is_empty() {
        return Err(invalid(
            "`seeds` and `models` must each list at least one entry",
        ));
    }
    let mut names = Vec::new();
    for model in &sweep.models {
        let name = model.get("name").and_then(Value::as_str).ok_or_else(|| {
            invalid("every [[models]] entry needs a `name` (its runs go to OUT/NAME/seed-S)")
        })?;
        if name.is_empty() || name.contains(['/', '\\']) || names.contains(&name) {
            return Err(invalid(&format!(
                "model name `{name}` must be non-empty, unique and without slashes"
            )));
        }
        names.push(name);
    }
    Ok(sweep)
}

/// Overlays the object `top` onto the object `base`, key by key (nested objects merged).
fn overlay(base: &mut Value, top: &Value) {
    match (base, top) {
        (Value::Object(base), Value::Object(top)) => {
            for (key, value) in top {
                overlay(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, top) => *base = top.clone(),
    }
}

/// The training configuration of `model` with `seed`.
fn run_config(sweep: &SweepConfig, model: &Value, seed: u64) -> Result<TrainConfig, CliError> {
    let mut settings = if sweep.common.is_null() {
        serde_json::json!({})
    } else {
        sweep.common.clone()
    };
    let mut own = model.clone();
    let name = own
        .as_object_mut()
        .and_then(|o| o.remove("name"))
        .and_then(|n| n.as_str().map(str::to_string))
        .unwrap_or_default();
    overlay(&mut settings, &own);
    overlay(
        &mut settings,
        &serde_json::json!({
            "dataset": sweep.dataset,
            "run_dir": sweep.out.join(&name).join(format!("seed-{seed}")),
            "seed": seed,
        }),
    );
    config::resolve(None, None, settings)
}

/// Runs the sweep (see the module docs) and returns its summary.
pub fn sweep(sweep: &SweepConfig, options: &TrainOptions) -> Result<Summary, CliError> {
    let mut models = Vec::new();
    for model in &sweep.models {
        let name = model["name"].as_str().unwrap_or_default().to_string();
        let mut runs = Vec::new();
        for &seed in &sweep.seeds {
            let config = run_config(sweep, model, seed)?;
            let run_dir = config.run_dir.clone();
            let resume = checkpoint::exists(&run_dir);
            if resume {
                let (_, state) = checkpoint::load_state(&run_dir, Which::Last)?;
                config::check_resume(&state.config, &config)?;
            }
            if options.progress {
                eprintln!("sweep: {name}, seed {seed} → {}", run_dir.display());
            }
            let state = train::train(
                config,
                &TrainOptions {
                    resume,
                    ..options.clone()
                },
            )?;
            let report = match read_report(&run_dir) {
                Ok(r)
                    if r.epoch == state.best.map_or(0, |b| b.epoch)
                        && r.rollout_steps == sweep.rollout_steps
                        && r.checkpoint == Which::Best.name() =>
                {
                    r
                }
                _ => evaluate::evaluate(&EvalOptions {
                    run_dir: run_dir.clone(),
                    dataset: None,
                    which: Which::Best,
                    rollout_steps: sweep.rollout_steps,
                    out_dir: None,
                    runtime_model: None,
                    device: options.device.clone(),
                    progress: options.progress,
                })?,
            };
            runs.push(RunSummary {
                seed,
                run_dir,
                train_seconds: state.history.iter().map(|m| m.seconds).sum(),
                report,
            });
        }
        let first = &runs[0].report;
        models.push(ModelSummary {
            name,
            model: evaluate::model_name(first),
            params: first.params,
            runs,
        });
    }
    let table = table(&models);
    let summary = Summary { models, table };
    std::fs::create_dir_all(&sweep.out).map_err(CliError::io(&sweep.out))?;
    let path = sweep.out.join("summary.md");
    std::fs::write(&path, &summary.table).map_err(CliError::io(&path))?;
    let path = sweep.out.join("summary.json");
    let json = serde_json::to_string_pretty(&summary).expect("the summary is plain data");
    std::fs::write(&path, json + "\n").map_err(CliError::io(&path))?;
    Ok(summary)
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn cell(values: &[f64], digits: usize) -> String {
    let (m, s) = mean_std(values);
    format!("{m:.digits$} ± {s:.digits$}")
}

/// The sweep's Markdown table: one row per model (mean ± standard deviation over the seeds)
/// and the persistence row. Errors are ginjax's `l2_rel_error` in percent (whole-field); the
/// rollout column is the mean over the rollout steps; "under G" the mean over the test sets
/// transformed by the runs' symmetry group G ([`shared_group`]); "≤ persistence for" counts the leading rollout steps whose error is
/// at most persistence's.
pub fn table(models: &[ModelSummary]) -> String {
    let reports: Vec<&EvalReport> = models
        .iter()
        .flat_map(|m| m.runs.iter().map(|r| &r.report))
        .collect();
    let fields = field_names(reports.iter().copied());
    let steps = reports.first().map_or(0, |r| r.rollout_steps);
    let group = shared_group(reports.iter().copied());
    let mut out = format!(
        "| model | params | seeds | one-step L2 rel % | under {group} |{} rollout L2 rel % ({steps} steps) | under {group} | ≤ persistence for (steps) | train s |\n|---|---:|---:|---:|---:|{}---:|---:|---:|---:|\n",
        fields
            .iter()
            .map(|f| format!(" {f} % |"))
            .collect::<String>(),
        "---:|".repeat(fields.len()),
    );
    let column = |m: &ModelSummary, f: &dyn Fn(&RunSummary) -> f64| -> Vec<f64> {
        m.runs.iter().map(f).collect()
    };
    for m in models {
        let per_field: String = fields
            .iter()
            .map(|name| {
                let v = column(m, &|r| {
                    r.report
                        .plain
                        .one_step_l2_rel_error_per_field
                        .get(name)
                        .copied()
                        .unwrap_or(f64::NAN)
                });
                format!(" {} |", cell(&v, 2))
            })
            .collect();
        let good_steps = |r: &RunSummary| {
            r.report
                .first_step_worse_than_persistence
                .map_or(r.report.rollout_steps, |s| s - 1) as f64
        };
        writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} |{} {} | {} | {} | {} |",
            m.name,
            m.model,
            m.params,
            m.runs.len(),
            cell(&column(m, &|r| r.report.plain.one_step_l2_rel_error), 2),
            cell(
                &column(m, &|r| r.report.transformed_mean.one_step_l2_rel_error),
                2
            ),
            per_field,
            cell(&column(m, &|r| r.report.plain.rollout_l2_rel_error_mean), 2),
            cell(
                &column(m, &|r| r.report.transformed_mean.rollout_l2_rel_error_mean),
                2
            ),
            cell(&column(m, &good_steps), 1),
            cell(&column(m, &|r| r.train_seconds), 0),
        )
        .expect("writing to a String cannot fail");
    }
    if let Some(first) = reports.first() {
        let e: &Errors = &first.persistence;
        let per_field: String = fields
            .iter()
            .map(|f| {
                let v = e
                    .one_step_l2_rel_error_per_field
                    .get(f)
                    .copied()
                    .unwrap_or(f64::NAN);
                format!(" {v:.2} |")
            })
            .collect();
        writeln!(
            out,
            "| persistence (nothing changes) | 0 | — | {:.2} | {:.2} |{per_field} {:.2} | {:.2} | — | — |",
            e.one_step_l2_rel_error,
            first.persistence_transformed_mean.one_step_l2_rel_error,
            e.rollout_l2_rel_error_mean,
            first.persistence_transformed_mean.rollout_l2_rel_error_mean,
        )
        .expect("writing to a String cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_standard_deviation() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // Σ(x − 2.5)² = 5, / 3.
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    #[test]
    fn overlay_merges_nested_tables() {
        let mut base = serde_json::json!({"epochs": 3, "model": {"kind": "resnet", "depth": 8}});
        overlay(
            &mut base,
            &serde_json::json!({"model": {"depth": 16}, "seed": 2}),
        );
        assert_eq!(
            base,
            serde_json::json!({"epochs": 3, "seed": 2, "model": {"kind": "resnet", "depth": 16}})
        );
    }
}
