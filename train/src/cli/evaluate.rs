//! Evaluation of a trained run on its test split: one-step errors, autoregressive rollout
//! errors over `N` steps, the same on the test split transformed by every element of B_2,
//! figures, and optionally the rollout on the runtime's inference path, timed against burn.
//!
//! The errors are ginjax's losses (`ginjax/ml/losses.py`): `smse` (the training loss) and
//! `l2_rel_error` (the relative L2 error in percent), each the mean over the windows (one
//! step) or over the rollouts (per rollout step). A rollout feeds each prediction back as the
//! newest input frame ([`shift_window`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use ginrs_runtime::{ImageBlock, MultiImage};
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Which};
use super::data::{self, Rollout, Windows};
use super::error::CliError;
use super::figures;
use super::model::RuntimeModel;
use super::progress;
use super::train::grid_mismatch;
use super::transform;
use crate::image::TensorImage;
use crate::layers::ImageModule;
use crate::loss::{Loss, Reduce};
use crate::models::Model;
use crate::rollout::{rollout, shift_window};
use crate::simulate::Dataset;

/// The losses reported, in the order of [`Errors`]' fields.
const LOSSES: [Loss; 2] = [Loss::Smse, Loss::L2RelError(0.0)];

/// The evaluation's file name in the output directory.
pub const METRICS_FILE: &str = "metrics.json";

/// What to evaluate and where to write.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The dataset (default: the run's).
    pub dataset: Option<PathBuf>,
    /// Which checkpoint.
    pub which: Which,
    /// Rollout length N.
    pub rollout_steps: usize,
    /// Where metrics and figures go (default: `<run_dir>/eval`).
    pub out_dir: Option<PathBuf>,
    /// An exported model file to run the rollout on the runtime and time it.
    pub runtime_model: Option<PathBuf>,
    /// The device of the burn forward passes.
    pub device: Device,
    /// Show progress on stderr.
    pub progress: bool,
}

/// The errors of one test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// Mean one-step `smse`.
    pub one_step_smse: f64,
    /// Mean one-step `l2_rel_error` (percent).
    pub one_step_l2_rel_error: f64,
    /// Mean `smse` of rollout step 1, 2, …, N.
    pub rollout_smse: Vec<f64>,
    /// Mean `l2_rel_error` of rollout step 1, 2, …, N.
    pub rollout_l2_rel_error: Vec<f64>,
    /// The mean of `rollout_smse` over the steps.
    pub rollout_smse_mean: f64,
    /// The mean of `rollout_l2_rel_error` over the steps.
    pub rollout_l2_rel_error_mean: f64,
}

impl Errors {
    fn new(one_step: &[f64], rollout: Vec<Vec<f64>>) -> Self {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let mut per_loss = rollout.into_iter();
        let (smse, rel) = (
            per_loss.next().unwrap_or_default(),
            per_loss.next().unwrap_or_default(),
        );
        Self {
            one_step_smse: one_step[0],
            one_step_l2_rel_error: one_step[1],
            rollout_smse_mean: mean(&smse),
            rollout_l2_rel_error_mean: mean(&rel),
            rollout_smse: smse,
            rollout_l2_rel_error: rel,
        }
    }

    /// The element-wise mean of several error sets.
    fn mean(all: &[Errors]) -> Self {
        let n = all.len().max(1) as f64;
        let avg = |f: &dyn Fn(&Errors) -> f64| all.iter().map(f).sum::<f64>() / n;
        let avg_vec = |f: &dyn Fn(&Errors) -> &Vec<f64>| {
            let len = all.first().map_or(0, |e| f(e).len());
            (0..len)
                .map(|i| all.iter().map(|e| f(e)[i]).sum::<f64>() / n)
                .collect()
        };
        Self {
            one_step_smse: avg(&|e| e.one_step_smse),
            one_step_l2_rel_error: avg(&|e| e.one_step_l2_rel_error),
            rollout_smse: avg_vec(&|e| &e.rollout_smse),
            rollout_l2_rel_error: avg_vec(&|e| &e.rollout_l2_rel_error),
            rollout_smse_mean: avg(&|e| e.rollout_smse_mean),
            rollout_l2_rel_error_mean: avg(&|e| e.rollout_l2_rel_error_mean),
        }
    }
}

/// The errors on the test split transformed by one element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElementErrors {
    /// The element's matrix rows.
    pub element: Vec<Vec<i64>>,
    /// Its determinant.
    pub det: i8,
    /// The errors.
    pub errors: Errors,
}

/// The rollout on the runtime against burn's forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeTiming {
    /// The exported model file.
    pub model_file: PathBuf,
    /// Rollouts run together (the batch of every step).
    pub batch: usize,
    /// Rollout steps.
    pub steps: usize,
    /// Seconds per rollout step with burn (forward, feeding back, reading the result).
    pub burn_seconds_per_step: f64,
    /// Seconds per rollout step on the runtime.
    pub runtime_seconds_per_step: f64,
    /// The largest |burn − runtime| over the last step's predictions.
    pub max_abs_difference: f64,
    /// The largest |burn| over the last step's predictions (the scale of the difference).
    pub max_abs_value: f64,
}

/// `metrics.json` of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The checkpoint evaluated (`best` or `last`).
    pub checkpoint: String,
    /// Its epoch.
    pub epoch: usize,
    /// The architecture (ginjax's class name: `UNet`, `ResNet` or `DilResNet`).
    pub model: String,
    /// Whether the model is equivariant.
    pub equivariant: bool,
    /// The model's trainable values.
    pub params: usize,
    /// The dataset.
    pub dataset: PathBuf,
    /// The test trajectories, `[first, end)`.
    pub test_trajectories: [usize; 2],
    /// One-step test windows.
    pub windows: usize,
    /// Rollouts.
    pub rollouts: usize,
    /// Steps per rollout.
    pub rollout_steps: usize,
    /// The errors on the test split.
    pub plain: Errors,
    /// The errors on the test split transformed by each element of B_2 (identity first).
    pub transformed: Vec<ElementErrors>,
    /// The mean of `transformed` over the group.
    pub transformed_mean: Errors,
    /// The runtime rollout, when `--runtime` was given.
    pub runtime: Option<RuntimeTiming>,
}

/// Evaluates (see the module docs), writes `metrics.json`, `loss_curves.{svg,png}` and
/// `rollout.{svg,png}` into the output directory, and returns the report.
pub fn evaluate(options: &EvalOptions) -> Result<EvalReport, CliError> {
    let (dir, state) = checkpoint::load_state(&options.run_dir, options.which)?;
    let config = &state.config;
    let dataset_path = options.dataset.clone().unwrap_or(config.dataset.clone());
    let dataset = Dataset::read(&dataset_path)?;
    if dataset.config().n != state.grid {
        return Err(grid_mismatch(&dataset_path, dataset.config().n, state.grid));
    }
    let model = checkpoint::load_model(&dir, &state, &options.device)?;
    let splits = data::split(&dataset_path, dataset.config().trajectories, config.split)?;
    let test = data::windows(
        &dataset,
        &dataset_path,
        splits.test.clone(),
        config.past_steps,
    )?;
    let rollouts = data::rollouts(
        &dataset,
        &dataset_path,
        splits.test.clone(),
        config.past_steps,
        options.rollout_steps,
    )?;
    let batch = config.batch_size;
    let elements = transform::b2();
    let bar = progress::bar(elements.len() + 1, "eval", options.progress);
    let one_step = mean_losses(&model, &test, &LOSSES, batch, &options.device)?;
    let RolloutLosses { per_step, first } = rollout_losses(
        &model,
        &rollouts,
        options.rollout_steps,
        batch,
        &options.device,
    )?;
    let plain = Errors::new(&one_step, per_step);
    bar.inc(1);
    let mut transformed = Vec::with_capacity(elements.len());
    for g in &elements {
        let windows = transform::windows(&test, g)?;
        let moved = transform::rollouts(&rollouts, g)?;
        let one_step = mean_losses(&model, &windows, &LOSSES, batch, &options.device)?;
        let rollout = rollout_losses(
            &model,
            &moved,
            options.rollout_steps,
            batch,
            &options.device,
        )?;
        transformed.push(ElementErrors {
            element: g.matrix(),
            det: g.det(),
            errors: Errors::new(&one_step, rollout.per_step),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let runtime = options
        .runtime_model
        .as_ref()
        .map(|path| {
            time_runtime(
                &model,
                path,
                &rollouts,
                options.rollout_steps,
                &options.device,
            )
        })
        .transpose()?;
    let transformed_mean = Errors::mean(
        &transformed
            .iter()
            .map(|e| e.errors.clone())
            .collect::<Vec<_>>(),
    );
    let report = EvalReport {
        checkpoint: options.which.dir_name().into(),
        epoch: state.epochs_done,
        model: config.model.kind.kind().name().into(),
        equivariant: config.model.equivariant,
        params: state.params,
        dataset: dataset_path,
        test_trajectories: [splits.test.start, splits.test.end],
        windows: test.len(),
        rollouts: rollouts.len(),
        rollout_steps: options.rollout_steps,
        plain,
        transformed,
        transformed_mean,
        runtime,
    };
    let out = options
        .out_dir
        .clone()
        .unwrap_or_else(|| options.run_dir.join("eval"));
    std::fs::create_dir_all(&out).map_err(CliError::io(&out))?;
    let path = out.join(METRICS_FILE);
    let json = serde_json::to_string_pretty(&report).expect("the report is plain data");
    std::fs::write(&path, json + "\n").map_err(CliError::io(&path))?;
    // The history of every epoch lives in the last checkpoint (the best one stops at its
    // epoch).
    let (_, last) = checkpoint::load_state(&options.run_dir, Which::Last)?;
    let rasterizer = figures::rasterizer();
    figures::write(
        &out,
        "loss_curves",
        &figures::loss_curves(&last.history),
        &rasterizer,
    )?;
    if let (Some(r), Some(predictions)) = (rollouts.first(), first) {
        let svg = figures::rollout(
            &r.truth,
            &predictions,
            dataset.config().frame_interval(),
            r.trajectory,
        )?;
        figures::write(&out, "rollout", &svg, &rasterizer)?;
    }
    Ok(report)
}

/// The mean of each loss over `windows`, one step from the true inputs.
pub fn mean_losses<M: ImageModule>(
    model: &M,
    windows: &Windows,
    losses: &[Loss],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f64>, CliError> {
    let mut sums = vec![0.0; losses.len()];
    let indices: Vec<usize> = (0..windows.len()).collect();
    for batch in indices.chunks(batch_size.max(1)) {
        let (input, target) = windows.batch(batch, device)?;
        let prediction = model.forward_image(&input)?;
        for (sum, loss) in sums.iter_mut().zip(losses) {
            let per_item = loss.compute(&prediction, &target, Reduce::PerItem)?;
            *sum += crate::image::read_f64(&per_item)?.iter().sum::<f64>();
        }
    }
    Ok(sums
        .into_iter()
        .map(|s| s / windows.len().max(1) as f64)
        .collect())
}

/// What [`rollout_losses`] measures.
struct RolloutLosses {
    /// Per loss of [`LOSSES`], the mean over the rollouts of each step's loss.
    per_step: Vec<Vec<f64>>,
    /// The predictions of the first rollout.
    first: Option<Vec<MultiImage>>,
}

/// Rolls out every rollout (in batches) and measures each step.
fn rollout_losses<M: ImageModule>(
    model: &M,
    rollouts: &[Rollout],
    steps: usize,
    batch_size: usize,
    device: &Device,
) -> Result<RolloutLosses, CliError> {
    let mut sums = vec![vec![0.0; steps]; LOSSES.len()];
    let mut first = None;
    for chunk in rollouts.chunks(batch_size.max(1)) {
        let inputs: Vec<MultiImage> = chunk.iter().map(|r| r.input.clone()).collect();
        let initial = TensorImage::from_multi_images(&inputs, device)?;
        let predictions = rollout(model, &initial, steps, shift_window)?;
        for (step, prediction) in predictions.iter().enumerate() {
            let truth: Vec<MultiImage> = chunk.iter().map(|r| r.truth[step].clone()).collect();
            let truth = TensorImage::from_multi_images(&truth, device)?;
            for (sums, loss) in sums.iter_mut().zip(LOSSES) {
                let per_item = loss.compute(prediction, &truth, Reduce::PerItem)?;
                sums[step] += crate::image::read_f64(&per_item)?.iter().sum::<f64>();
            }
        }
        if first.is_none() {
            first = Some(
                predictions
                    .iter()
                    .map(|p| Ok(p.narrow_batch(0, 1).to_multi_images()?.remove(0)))
                    .collect::<Result<Vec<_>, CliError>>()?,
            );
        }
    }
    let n = rollouts.len().max(1) as f64;
    let per_step = sums
        .into_iter()
        .map(|per_step| per_step.into_iter().map(|s| s / n).collect())
        .collect();
    Ok(RolloutLosses { per_step, first })
}

/// Runs every rollout at once with burn and on the runtime (the exported file at `path`),
/// timing both.
fn time_runtime(
    model: &Model,
    path: &Path,
    rollouts: &[Rollout],
    steps: usize,
    device: &Device,
) -> Result<RuntimeTiming, CliError> {
    let file_error = |message: String| CliError::ModelFile {
        path: path.to_owned(),
        message,
    };
    let runtime = RuntimeModel::read(path)?;
    if runtime.config() != model.config() {
        let describe = |c: &ginrs_runtime::ModelConfig| {
            format!(
                "{} {} ({} → {}, depth {})",
                if c.equivariant {
                    "equivariant"
                } else {
                    "baseline"
                },
                c.kind.name(),
                c.input_keys,
                c.output_keys,
                c.depth
            )
        };
        return Err(file_error(format!(
            "it holds a {} model, the run's model is a {} one (or their options differ)",
            describe(runtime.config()),
            describe(model.config()),
        )));
    }
    let inputs: Vec<MultiImage> = rollouts.iter().map(|r| r.input.clone()).collect();
    let started = Instant::now();
    let initial = TensorImage::from_multi_images(&inputs, device)?;
    let burn_last = rollout(model, &initial, steps, shift_window)?
        .pop()
        .map(|p| p.to_multi_images())
        .transpose()?
        .unwrap_or_default();
    let burn_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut current = inputs;
    let mut runtime_last = Vec::new();
    for step in 0..steps {
        let predictions = runtime.forward_batch(&current)?;
        if step + 1 < steps {
            current = current
                .iter()
                .zip(&predictions)
                .map(|(x, y)| shift_images(x, y))
                .collect::<Result<_, _>>()?;
        }
        runtime_last = predictions;
    }
    let runtime_seconds = started.elapsed().as_secs_f64();
    let (mut diff, mut scale) = (0.0f64, 0.0f64);
    for (a, b) in burn_last.iter().zip(&runtime_last) {
        for (x, y) in a.blocks().iter().zip(b.blocks()) {
            for (u, v) in x.data().iter().zip(y.data()) {
                diff = diff.max(f64::from((u - v).abs()));
                scale = scale.max(f64::from(u.abs()));
            }
        }
    }
    let per_step = |seconds: f64| seconds / steps.max(1) as f64;
    Ok(RuntimeTiming {
        model_file: path.to_owned(),
        batch: rollouts.len(),
        steps,
        burn_seconds_per_step: per_step(burn_seconds),
        runtime_seconds_per_step: per_step(runtime_seconds),
        max_abs_difference: diff,
        max_abs_value: scale,
    })
}

/// [`shift_window`] on runtime images: per key, drop the prediction's channel count of the
/// oldest channels and append the prediction.
fn shift_images(input: &MultiImage, prediction: &MultiImage) -> Result<MultiImage, CliError> {
    let mut next = MultiImage::new(input.geometry().clone());
    for block in input.blocks() {
        let new = prediction
            .get(block.key())
            .filter(|new| new.channels() <= block.channels())
            .ok_or_else(|| {
                CliError::Runtime(
                    ginrs_runtime::ImageError::SignatureMismatch {
                        expected: input.signature().to_string(),
                        got: prediction.signature().to_string(),
                    }
                    .into(),
                )
            })?;
        let kept = &block.data()[new.channels() * block.channel_len()..];
        let mut data = Vec::with_capacity(block.data().len());
        data.extend_from_slice(kept);
        data.extend_from_slice(new.data());
        next.insert(ImageBlock::new(
            input.geometry().clone(),
            block.key().clone(),
            block.channels(),
            data,
        )?)?;
    }
    Ok(next)
}
