//! Evaluation of a trained run on its test split: one-step errors, autoregressive rollout
//! errors over `N` steps, the same on the test split transformed by every element of the
//! run's symmetry group (all of B_d unless the run names a subgroup, see
//! [`Symmetry`](crate::data::Symmetry)),
//! the persistence baseline on the same windows and rollouts, energy spectra, figures, and
//! optionally the rollout on the runtime's inference path, timed against burn and checked
//! against burn's independent dense route.
//!
//! The errors are ginjax's losses (`ginjax/ml/losses.py`, see [`crate::loss`]), each the mean
//! over the windows (one step) or over the rollouts (per rollout step):
//!
//! - `l2_rel_error` (percent): per channel the whole-field `‖x − y‖ / ‖y‖`, averaged over
//!   the channels — the standard metric, and the one every table leads with; also per output
//!   key, named by the fields it holds (`velocity`, `density+pressure`);
//! - `l2_per_pixel_rel_error` (percent): the mean over pixels of `‖x − y‖ / ‖y‖` per pixel;
//!   near-zero pixels dominate it;
//! - `smse`: the training loss.
//!
//! **Persistence** predicts that nothing changes: every step's prediction is the newest input
//! frame. Its errors are measured on exactly the model's windows and rollouts, so a model's
//! error is never reported without the "do nothing" error beside it. A rollout feeds each
//! prediction back as the newest input frame, keeping the constant fields
//! ([`shift_window_after`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use ginrs_runtime::{ImageBlock, ModelFile, MultiImage, Signature, TensorKey};
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, RunState, Which};
use super::data;
use super::error::CliError;
use super::figures;
use super::model::RuntimeModel;
use super::progress;
use super::train::schema_mismatch;
use super::transform;
use crate::data::{
    rollouts as data_rollouts, Dataset, Format, LoadedWindows, Rollout, Schema, Windows,
};
use crate::image::{read_f64, TensorImage};
use crate::layers::Route;
use crate::loss::{l2_rel_error_per_key, Loss, Reduce};
use crate::models::Model;
use crate::rollout::{rollout, shift_window_after};
use crate::spectrum::{energy_spectrum_blocks, Spectrum};

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

/// The errors of one predictor on one test set. Relative errors are percentages. A value
/// that is not finite (the per-pixel error where a target pixel is zero, as in ginjax) is
/// written as JSON's `null` and read back as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// Mean one-step `smse`.
    #[serde(deserialize_with = "nullable::number")]
    pub one_step_smse: f64,
    /// Mean one-step `l2_rel_error` (ginjax's whole-field form, percent).
    #[serde(deserialize_with = "nullable::number")]
    pub one_step_l2_rel_error: f64,
    /// Mean `smse` of rollout step 1, 2, …, N.
    #[serde(deserialize_with = "nullable::numbers")]
    pub rollout_smse: Vec<f64>,
    /// Mean `l2_rel_error` of rollout step 1, 2, …, N.
    #[serde(deserialize_with = "nullable::numbers")]
    pub rollout_l2_rel_error: Vec<f64>,
    /// The mean of `rollout_smse` over the steps.
    #[serde(deserialize_with = "nullable::number")]
    pub rollout_smse_mean: f64,
    /// The mean of `rollout_l2_rel_error` over the steps.
    #[serde(deserialize_with = "nullable::number")]
    pub rollout_l2_rel_error_mean: f64,
    /// Mean one-step `l2_per_pixel_rel_error` (percent).
    #[serde(default)]
    #[serde(deserialize_with = "nullable::number")]
    pub one_step_l2_per_pixel_rel_error: f64,
    /// Mean `l2_per_pixel_rel_error` of rollout step 1, 2, …, N.
    #[serde(default)]
    #[serde(deserialize_with = "nullable::numbers")]
    pub rollout_l2_per_pixel_rel_error: Vec<f64>,
    /// The mean of `rollout_l2_per_pixel_rel_error` over the steps.
    #[serde(default)]
    #[serde(deserialize_with = "nullable::number")]
    pub rollout_l2_per_pixel_rel_error_mean: f64,
    /// Per field (output key): mean one-step `l2_rel_error`.
    #[serde(default)]
    #[serde(deserialize_with = "nullable::by_name")]
    pub one_step_l2_rel_error_per_field: BTreeMap<String, f64>,
    /// Per field: mean `l2_rel_error` of rollout step 1, 2, …, N.
    #[serde(default)]
    #[serde(deserialize_with = "nullable::numbers_by_name")]
    pub rollout_l2_rel_error_per_field: BTreeMap<String, Vec<f64>>,
    /// Per field: the mean over the rollout steps.
    #[serde(default)]
    #[serde(deserialize_with = "nullable::by_name")]
    pub rollout_l2_rel_error_mean_per_field: BTreeMap<String, f64>,
}

/// Readers of numbers that `metrics.json` writes as `null` when they are not finite (JSON
/// has no NaN or infinity): `null` reads back as NaN.
mod nullable {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    fn or_nan(v: Option<f64>) -> f64 {
        v.unwrap_or(f64::NAN)
    }

    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(or_nan(Option::deserialize(d)?))
    }

    pub fn numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v: Vec<Option<f64>> = Deserialize::deserialize(d)?;
        Ok(v.into_iter().map(or_nan).collect())
    }

    pub fn by_name<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let v: BTreeMap<String, Option<f64>> = Deserialize::deserialize(d)?;
        Ok(v.into_iter().map(|(k, x)| (k, or_nan(x))).collect())
    }

    pub fn numbers_by_name<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Vec<f64>>, D::Error> {
        let v: BTreeMap<String, Vec<Option<f64>>> = Deserialize::deserialize(d)?;
        Ok(v.into_iter()
            .map(|(k, x)| (k, x.into_iter().map(or_nan).collect()))
            .collect())
    }
}

/// Sums of the measures over items (one step, or one rollout step).
#[derive(Debug, Clone, Default)]
struct Sums {
    smse: f64,
    l2: f64,
    l2_pixel: f64,
    fields: BTreeMap<String, f64>,
    items: usize,
}

impl Sums {
    /// Adds the measures of a batch of predictions against the truth.
    fn add(
        &mut self,
        schema: &Schema,
        prediction: &TensorImage,
        truth: &TensorImage,
    ) -> Result<(), CliError> {
        let total = |loss: Loss| -> Result<f64, CliError> {
            let per_item = loss.compute(prediction, truth, Reduce::PerItem)?;
            Ok(read_f64(&per_item)?.iter().sum())
        };
        self.smse += total(Loss::Smse)?;
        self.l2 += total(Loss::L2RelError(0.0))?;
        self.l2_pixel += total(Loss::L2PerPixelRelError(0.0))?;
        for (key, per_item) in l2_rel_error_per_key(prediction, truth, 0.0)? {
            *self.fields.entry(field_name(schema, &key)).or_default() +=
                read_f64(&per_item)?.iter().sum::<f64>();
        }
        self.items += prediction.batch();
        Ok(())
    }

    /// The means.
    fn means(&self) -> (f64, f64, f64, BTreeMap<String, f64>) {
        let n = self.items.max(1) as f64;
        (
            self.smse / n,
            self.l2 / n,
            self.l2_pixel / n,
            self.fields
                .iter()
                .map(|(k, v)| (k.clone(), v / n))
                .collect(),
        )
    }
}

/// The name of an output key: its fields' names joined by `+` (`velocity`,
/// `density+pressure`), or the key itself.
fn field_name(schema: &Schema, key: &TensorKey) -> String {
    let names: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| &f.key() == key)
        .map(|f| f.name.as_str())
        .collect();
    if names.is_empty() {
        key.to_string()
    } else {
        names.join("+")
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl Errors {
    fn new(one_step: &Sums, per_step: &[Sums]) -> Self {
        let (smse, l2, l2_pixel, fields) = one_step.means();
        let steps: Vec<_> = per_step.iter().map(Sums::means).collect();
        let rollout_smse: Vec<f64> = steps.iter().map(|s| s.0).collect();
        let rollout_l2: Vec<f64> = steps.iter().map(|s| s.1).collect();
        let rollout_pixel: Vec<f64> = steps.iter().map(|s| s.2).collect();
        let rollout_fields: BTreeMap<String, Vec<f64>> = fields
            .keys()
            .map(|name| {
                let per_step = steps
                    .iter()
                    .map(|s| s.3.get(name).copied().unwrap_or(f64::NAN))
                    .collect();
                (name.clone(), per_step)
            })
            .collect();
        Self {
            one_step_smse: smse,
            one_step_l2_rel_error: l2,
            rollout_smse_mean: mean(&rollout_smse),
            rollout_l2_rel_error_mean: mean(&rollout_l2),
            rollout_smse,
            rollout_l2_rel_error: rollout_l2,
            one_step_l2_per_pixel_rel_error: l2_pixel,
            rollout_l2_per_pixel_rel_error_mean: mean(&rollout_pixel),
            rollout_l2_per_pixel_rel_error: rollout_pixel,
            one_step_l2_rel_error_per_field: fields,
            rollout_l2_rel_error_mean_per_field: rollout_fields
                .iter()
                .map(|(k, v)| (k.clone(), mean(v)))
                .collect(),
            rollout_l2_rel_error_per_field: rollout_fields,
        }
    }

    /// The element-wise mean of several error sets.
    fn mean(all: &[Errors]) -> Self {
        let n = all.len().max(1) as f64;
        let avg = |f: &dyn Fn(&Errors) -> f64| all.iter().map(f).sum::<f64>() / n;
        let avg_vec = |f: &dyn Fn(&Errors) -> &Vec<f64>| -> Vec<f64> {
            let len = all.first().map_or(0, |e| f(e).len());
            (0..len)
                .map(|i| all.iter().map(|e| f(e)[i]).sum::<f64>() / n)
                .collect()
        };
        let first = all.first();
        let names: Vec<String> = first
            .map(|e| e.one_step_l2_rel_error_per_field.keys().cloned().collect())
            .unwrap_or_default();
        let avg_map = |f: &dyn Fn(&Errors) -> &BTreeMap<String, f64>| {
            names
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        avg(&|e| f(e).get(k).copied().unwrap_or(f64::NAN)),
                    )
                })
                .collect()
        };
        Self {
            one_step_smse: avg(&|e| e.one_step_smse),
            one_step_l2_rel_error: avg(&|e| e.one_step_l2_rel_error),
            rollout_smse: avg_vec(&|e| &e.rollout_smse),
            rollout_l2_rel_error: avg_vec(&|e| &e.rollout_l2_rel_error),
            rollout_smse_mean: avg(&|e| e.rollout_smse_mean),
            rollout_l2_rel_error_mean: avg(&|e| e.rollout_l2_rel_error_mean),
            one_step_l2_per_pixel_rel_error: avg(&|e| e.one_step_l2_per_pixel_rel_error),
            rollout_l2_per_pixel_rel_error: avg_vec(&|e| &e.rollout_l2_per_pixel_rel_error),
            rollout_l2_per_pixel_rel_error_mean: avg(&|e| e.rollout_l2_per_pixel_rel_error_mean),
            one_step_l2_rel_error_per_field: avg_map(&|e| &e.one_step_l2_rel_error_per_field),
            rollout_l2_rel_error_per_field: names
                .iter()
                .map(|k| {
                    let len = first
                        .and_then(|e| e.rollout_l2_rel_error_per_field.get(k))
                        .map_or(0, Vec::len);
                    let per_step = (0..len)
                        .map(|i| {
                            all.iter()
                                .map(|e| e.rollout_l2_rel_error_per_field[k][i])
                                .sum::<f64>()
                                / n
                        })
                        .collect();
                    (k.clone(), per_step)
                })
                .collect(),
            rollout_l2_rel_error_mean_per_field: avg_map(&|e| {
                &e.rollout_l2_rel_error_mean_per_field
            }),
        }
    }

    /// The first rollout step (from 1) whose `l2_rel_error` exceeds `baseline`'s at the same
    /// step; `None` when the model stays at or below it on every step.
    pub fn first_step_worse_than(&self, baseline: &Errors) -> Option<usize> {
        self.rollout_l2_rel_error
            .iter()
            .zip(&baseline.rollout_l2_rel_error)
            // NaN counts as worse.
            .position(|(model, base)| model.partial_cmp(base).is_none_or(|o| o.is_gt()))
            .map(|i| i + 1)
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
    /// One step ahead from the rollouts' inputs: the largest |runtime − burn's dense route|
    /// divided by the largest |burn's dense route| (an independent executor: the default CPU
    /// route calls the runtime's kernels).
    #[serde(default)]
    pub dense_one_step_relative_difference: f64,
}

/// The isotropic kinetic-energy spectra `E(k)` of the velocity at one rollout step, summed
/// over the test rollouts' first items as ginjax's `utils.power` averages a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectraAt {
    /// The rollout step, from 1.
    pub step: usize,
    /// The wavenumber of each bin (mean `|k|`).
    pub k: Vec<f64>,
    /// `E(k)` of the true frames.
    pub truth: Vec<f64>,
    /// `E(k)` of the model's predictions.
    pub model: Vec<f64>,
    /// `E(k)` of persistence's predictions (the newest input frame).
    pub persistence: Vec<f64>,
}

/// `metrics.json` of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The checkpoint evaluated (`best` or `last`; evaluations before this field was renamed
    /// wrote `checkpoint` for the last one).
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
    /// The test trajectories of the first test file as a half-open range `[first, end)`
    /// (`[7, 8]` is trajectory 7 alone); `test_parts` lists every file's.
    pub test_trajectories: [usize; 2],
    /// The test trajectories, one by one (of the first test file).
    #[serde(default)]
    pub test_trajectory_list: Vec<usize>,
    /// Every test file and its trajectories `[first, end)`.
    #[serde(default)]
    pub test_parts: Vec<TestPart>,
    /// The subgroup of B_d the errors under transformation were measured over
    /// (`full`, `rotations`, `flips`, `flips-x`, …; see [`crate::data::Symmetry`]).
    #[serde(default = "full_symmetry")]
    pub symmetry: String,
    /// The number of its elements used (those that map the grid onto itself).
    #[serde(default)]
    pub group_order: usize,
    /// One-step test windows.
    pub windows: usize,
    /// Rollouts.
    pub rollouts: usize,
    /// Steps per rollout.
    pub rollout_steps: usize,
    /// The errors on the test split.
    pub plain: Errors,
    /// The errors on the test split transformed by each element of the symmetry group
    /// (identity first).
    pub transformed: Vec<ElementErrors>,
    /// The mean of `transformed` over the group.
    pub transformed_mean: Errors,
    /// Persistence (every prediction is the newest input frame) on the same windows and
    /// rollouts.
    #[serde(default = "Errors::empty")]
    pub persistence: Errors,
    /// Persistence on the transformed test sets, the mean over the group (equal to
    /// `persistence` up to rounding: doing nothing commutes with every element).
    #[serde(default = "Errors::empty")]
    pub persistence_transformed_mean: Errors,
    /// The first rollout step whose `l2_rel_error` exceeds persistence's (`None`: never
    /// within the rollout).
    #[serde(default)]
    pub first_step_worse_than_persistence: Option<usize>,
    /// The same on the transformed test sets (their mean errors).
    #[serde(default)]
    pub first_step_worse_than_persistence_under_b2: Option<usize>,
    /// Energy spectra of the velocity at a few rollout steps.
    #[serde(default)]
    pub spectra: Vec<SpectraAt>,
    /// The runtime rollout, when `--runtime` was given.
    pub runtime: Option<RuntimeTiming>,
}

/// One test file's trajectories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestPart {
    /// The file (or directory).
    pub file: PathBuf,
    /// Its test trajectories `[first, end)`.
    pub trajectories: [usize; 2],
}

fn full_symmetry() -> String {
    "full".into()
}

impl Errors {
    /// Errors with no values (for evaluations written before a field existed).
    fn empty() -> Self {
        Self::new(&Sums::default(), &[])
    }
}

/// The rollout steps whose energy spectra are recorded: 1, the middle one and the last.
fn spectrum_steps(steps: usize) -> Vec<usize> {
    let mut chosen = vec![1, steps.div_ceil(2), steps];
    chosen.retain(|&s| s >= 1);
    chosen.dedup();
    chosen
}

/// Evaluates (see the module docs), writes `metrics.json`, `loss_curves.{svg,png}`,
/// `rollout.{svg,png}`, `rollout_error.{svg,png}` (error against rollout step, the model
/// beside persistence) and `spectra.{svg,png}` into the output directory, and returns the
/// report.
pub fn evaluate(options: &EvalOptions) -> Result<EvalReport, CliError> {
    let (dir, state) = checkpoint::load_state(&options.run_dir, options.which)?;
    let config = &state.config;
    let dataset_path = options.dataset.clone().unwrap_or(config.dataset.clone());
    let dataset = crate::data::open(&dataset_path, &config.data, config.split)?;
    if dataset.schema != state.schema {
        return Err(schema_mismatch(
            &dataset_path,
            &dataset.schema,
            &state.schema,
        ));
    }
    let model = checkpoint::load_model(&dir, &state, &options.device)?;
    let schema = &dataset.schema;
    let test = Windows::new(&dataset.test, config.past_steps)?.load_all()?;
    let rollouts = data_rollouts(&dataset.test, config.past_steps, options.rollout_steps)?;
    let steps = options.rollout_steps;
    let batch = config.batch_size;
    let device = &options.device;
    let elements = transform::elements(config.symmetry, schema)?;
    let bar = progress::bar(elements.len() + 1, "eval", options.progress);
    let forward = |x: &TensorImage| model.forward(x);
    let output = schema.output_signature();
    let still_predict = |x: &TensorImage| persistence(x, &output);
    let measure = |predict: &dyn Fn(&TensorImage) -> Result<TensorImage, crate::TrainError>,
                   windows: &LoadedWindows,
                   rollouts: &[Rollout],
                   keep: bool| {
        measure(
            schema, predict, windows, rollouts, steps, batch, device, keep,
        )
    };
    let measured = measure(&forward, &test, &rollouts, true)?;
    let still = measure(&still_predict, &test, &rollouts, false)?;
    let plain = measured.errors();
    let persistence_plain = still.errors();
    bar.inc(1);
    let mut transformed = Vec::with_capacity(elements.len());
    let mut persistence_transformed = Vec::with_capacity(elements.len());
    for g in &elements {
        let windows = transform::windows(&test, g)?;
        let moved = transform::rollouts(&rollouts, g)?;
        let errors = measure(&forward, &windows, &moved, false)?.errors();
        transformed.push(ElementErrors {
            element: g.matrix(),
            det: g.det(),
            errors,
        });
        persistence_transformed.push(measure(&still_predict, &windows, &moved, false)?.errors());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let runtime = options
        .runtime_model
        .as_ref()
        .map(|path| {
            time_runtime(
                &model,
                &state,
                options.which,
                path,
                &rollouts,
                steps,
                device,
            )
        })
        .transpose()?;
    let transformed_mean = Errors::mean(
        &transformed
            .iter()
            .map(|e| e.errors.clone())
            .collect::<Vec<_>>(),
    );
    let persistence_transformed_mean = Errors::mean(&persistence_transformed);
    let spectra = if has_spectra(schema) {
        spectra(&rollouts, &measured.predictions, steps)?
    } else {
        Vec::new()
    };
    let test_parts: Vec<TestPart> = dataset
        .test
        .parts
        .iter()
        .map(|p| TestPart {
            file: p.source.path().to_owned(),
            trajectories: [p.trajectories.start, p.trajectories.end],
        })
        .collect();
    let first_range = dataset
        .test
        .parts
        .first()
        .map_or(0..0, |p| p.trajectories.clone());
    let report = EvalReport {
        checkpoint: options.which.name().into(),
        epoch: state.epochs_done,
        model: config.model.kind.kind().name().into(),
        equivariant: config.model.equivariant,
        params: state.params,
        dataset: dataset_path,
        test_trajectories: [first_range.start, first_range.end],
        test_trajectory_list: first_range.collect(),
        test_parts,
        symmetry: config.symmetry.to_string(),
        group_order: elements.len(),
        windows: test.len(),
        rollouts: rollouts.len(),
        rollout_steps: steps,
        first_step_worse_than_persistence: plain.first_step_worse_than(&persistence_plain),
        first_step_worse_than_persistence_under_b2: transformed_mean
            .first_step_worse_than(&persistence_transformed_mean),
        plain,
        transformed,
        transformed_mean,
        persistence: persistence_plain,
        persistence_transformed_mean,
        spectra,
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
    write_figures(
        &out,
        options,
        &report,
        &rollouts,
        &measured.predictions,
        &dataset,
    )?;
    Ok(report)
}

/// Writes the evaluation's figures into `out`.
fn write_figures(
    out: &Path,
    options: &EvalOptions,
    report: &EvalReport,
    rollouts: &[Rollout],
    predictions: &[Vec<MultiImage>],
    dataset: &Dataset,
) -> Result<(), CliError> {
    // The history of every epoch lives in the last checkpoint (the best one stops at its
    // epoch).
    let (_, last) = checkpoint::load_state(&options.run_dir, Which::Last)?;
    let rasterizer = figures::rasterizer();
    figures::write(
        out,
        "loss_curves",
        &figures::loss_curves(&last.history),
        &rasterizer,
    )?;
    // The field pictures draw the turbulence fields (vorticity, tracer, velocity).
    if dataset.format == Format::Turbulence {
        if let (Some(r), Some(first)) = (rollouts.first(), predictions.first()) {
            let svg =
                figures::rollout(&r.truth, first, dataset.schema.frame_interval, r.trajectory)?;
            figures::write(out, "rollout", &svg, &rasterizer)?;
        }
    }
    let name = model_name(report);
    let svg = figures::error_curves(
        &format!("{name}: error along the rollouts (test set)"),
        "l2_rel_error %",
        &[
            (name.clone(), report.plain.rollout_l2_rel_error.clone()),
            (
                format!("{name} under {}", group_name(report)),
                report.transformed_mean.rollout_l2_rel_error.clone(),
            ),
            (
                "persistence".to_string(),
                report.persistence.rollout_l2_rel_error.clone(),
            ),
        ],
    );
    figures::write(out, "rollout_error", &svg, &rasterizer)?;
    if !report.spectra.is_empty() {
        let mut series = Vec::new();
        for s in &report.spectra {
            series.push((
                format!("truth, step {}", s.step),
                s.k.clone(),
                s.truth.clone(),
            ));
            series.push((
                format!("{name}, step {}", s.step),
                s.k.clone(),
                s.model.clone(),
            ));
        }
        if let Some(s) = report.spectra.first() {
            series.push(("persistence".into(), s.k.clone(), s.persistence.clone()));
        }
        let svg = figures::spectra("kinetic-energy spectrum E(k) of the velocity", &series);
        figures::write(out, "spectra", &svg, &rasterizer)?;
    }
    Ok(())
}

/// The group the transformed errors were measured over, as tables print it: `B_2`, `B_3`,
/// or the subgroup's name and order (`flips-x (2)`).
pub fn group_name(report: &EvalReport) -> String {
    match (report.symmetry.as_str(), report.group_order) {
        // Evaluations written before `group_order` existed were of 2-D runs under all of B_2.
        ("full", 0 | 8) => "B_2".into(),
        ("full", 48) => "B_3".into(),
        (name, order) => format!("{name} ({order})"),
    }
}

/// Whether the energy spectra apply: a 2-D periodic square grid with a vector field.
fn has_spectra(schema: &Schema) -> bool {
    schema.dim() == 2
        && schema.is_cubic()
        && schema.torus.iter().all(|&t| t)
        && schema.fields.iter().any(|f| f.k == 1)
}

/// "equivariant ResNet" or "baseline UNet".
pub fn model_name(report: &EvalReport) -> String {
    format!(
        "{} {}",
        if report.equivariant {
            "equivariant"
        } else {
            "baseline"
        },
        report.model
    )
}

/// The energy spectra of the velocity at [`spectrum_steps`] over all rollouts: the truth,
/// the model's predictions and persistence's (the newest input frame).
fn spectra(
    rollouts: &[Rollout],
    predictions: &[Vec<MultiImage>],
    steps: usize,
) -> Result<Vec<SpectraAt>, CliError> {
    let Some(first) = rollouts.first() else {
        return Ok(Vec::new());
    };
    let Some(key) = first
        .truth
        .first()
        .and_then(|f| f.blocks().iter().find(|b| b.key().k() == 1))
        .map(|b| b.key().clone())
    else {
        return Ok(Vec::new());
    };
    let spectrum = |blocks: Vec<&ImageBlock>| -> Result<Spectrum, CliError> {
        Ok(energy_spectrum_blocks(&blocks)?)
    };
    let newest: Vec<ImageBlock> = rollouts
        .iter()
        .map(|r| newest_block(&r.input, &key))
        .collect::<Result<_, _>>()?;
    let persistence = spectrum(newest.iter().collect())?;
    let mut out = Vec::new();
    for step in spectrum_steps(steps) {
        fn pick<'a>(
            frames: &'a [MultiImage],
            step: usize,
            key: &TensorKey,
        ) -> Option<&'a ImageBlock> {
            frames.get(step - 1).and_then(|f| f.get(key))
        }
        let truth: Option<Vec<&ImageBlock>> = rollouts
            .iter()
            .map(|r| pick(&r.truth, step, &key))
            .collect();
        let model: Option<Vec<&ImageBlock>> =
            predictions.iter().map(|p| pick(p, step, &key)).collect();
        let (Some(truth), Some(model)) = (truth, model) else {
            continue;
        };
        let truth = spectrum(truth)?;
        let model = spectrum(model)?;
        out.push(SpectraAt {
            step,
            k: truth.k.clone(),
            truth: truth.power,
            model: model.power,
            persistence: persistence.power.clone(),
        });
    }
    Ok(out)
}

/// The newest frame's channels of `key` in a stacked input (its last channel).
fn newest_block(input: &MultiImage, key: &TensorKey) -> Result<ImageBlock, CliError> {
    let block = input.get(key).ok_or_else(|| {
        crate::TrainError::Unsupported(format!("the input has no block of key {key}"))
    })?;
    let len = block.channel_len();
    Ok(ImageBlock::new(
        block.geometry().clone(),
        key.clone(),
        1,
        block.data()[block.data().len() - len..].to_vec(),
    )?)
}

/// The persistence predictor: the next frame is the newest input frame (per key of `output`
/// with `c` channels, the last `c` channels of that key in the input).
pub fn persistence(
    input: &TensorImage,
    output: &Signature,
) -> Result<TensorImage, crate::TrainError> {
    let mut out = TensorImage::new(input.geometry().clone(), input.batch());
    for (key, c) in output.entries() {
        let block = input
            .blocks()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, b)| b)
            .ok_or_else(|| crate::TrainError::SignatureMismatch {
                what: "persistence input (must hold every output key)",
                expected: output.clone(),
                got: input.signature(),
            })?;
        let channels = block.dims()[1];
        out.push(key.clone(), block.clone().narrow(1, channels - c, *c))?;
    }
    Ok(out)
}

/// What [`measure`] found.
struct Measured {
    one_step: Sums,
    per_step: Vec<Sums>,
    /// With `keep`: every rollout's predictions, step by step.
    predictions: Vec<Vec<MultiImage>>,
}

impl Measured {
    fn errors(&self) -> Errors {
        Errors::new(&self.one_step, &self.per_step)
    }
}

/// One-step errors over `windows` and per-step errors over `rollouts` (in batches) of
/// the predictor `predict`; with `keep`, also the rollouts' predictions.
#[allow(clippy::too_many_arguments)]
fn measure(
    schema: &Schema,
    predict: &dyn Fn(&TensorImage) -> Result<TensorImage, crate::TrainError>,
    windows: &LoadedWindows,
    rollouts: &[Rollout],
    steps: usize,
    batch_size: usize,
    device: &Device,
    keep: bool,
) -> Result<Measured, CliError> {
    let mut one_step = Sums::default();
    let indices: Vec<usize> = (0..windows.len()).collect();
    for batch in indices.chunks(batch_size.max(1)) {
        let input = data::pick_batch(&windows.inputs, batch, device)?;
        let target = data::pick_batch(&windows.targets, batch, device)?;
        one_step.add(schema, &predict(&input)?, &target)?;
    }
    let mut per_step = vec![Sums::default(); steps];
    let mut predictions = Vec::new();
    let constants = schema.constant_signature();
    for chunk in rollouts.chunks(batch_size.max(1)) {
        let inputs: Vec<MultiImage> = chunk.iter().map(|r| r.input.clone()).collect();
        let mut input = TensorImage::from_multi_images(&inputs, device)?;
        let mut rolled = Vec::with_capacity(steps);
        for step in 0..steps {
            let prediction = predict(&input)?;
            if step + 1 < steps {
                input = shift_window_after(&input, &prediction, &constants)?;
            }
            rolled.push(prediction);
        }
        let mut kept: Vec<Vec<MultiImage>> = vec![Vec::with_capacity(steps); chunk.len()];
        for (step, prediction) in rolled.iter().enumerate() {
            let truth: Vec<MultiImage> = chunk.iter().map(|r| r.truth[step].clone()).collect();
            let truth = TensorImage::from_multi_images(&truth, device)?;
            per_step[step].add(schema, prediction, &truth)?;
            if keep {
                for (item, image) in kept.iter_mut().zip(prediction.to_multi_images()?) {
                    item.push(image);
                }
            }
        }
        if keep {
            predictions.extend(kept);
        }
    }
    Ok(Measured {
        one_step,
        per_step,
        predictions,
    })
}

/// Checks that the model file at `path` was exported from checkpoint `which` of the run
/// `state` describes (its `origin`).
fn check_origin(
    file: &ModelFile,
    path: &Path,
    state: &RunState,
    which: Which,
) -> Result<(), CliError> {
    let refuse = |why: String| CliError::ModelFile {
        path: path.to_owned(),
        message: format!(
            "{why}: export this run's model with `ginrs export --run-dir <run> --checkpoint {} \
             --out FILE` and pass that file",
            which.name()
        ),
    };
    let Some(origin) = &file.origin else {
        return Err(refuse(
            "the file does not say which run it came from (no `origin`; written by another \
             tool or an older ginrs)"
                .into(),
        ));
    };
    if origin.run != state.run_id {
        return Err(refuse(format!(
            "the file was exported from run {}, this run is {}",
            origin.run, state.run_id
        )));
    }
    if origin.checkpoint != which.name() || origin.epoch != state.epochs_done {
        return Err(refuse(format!(
            "the file holds the {} checkpoint of epoch {}, the evaluation uses the {} \
             checkpoint of epoch {}",
            origin.checkpoint,
            origin.epoch,
            which.name(),
            state.epochs_done
        )));
    }
    Ok(())
}

/// Runs every rollout at once with burn and on the runtime (the exported file at `path`,
/// which must come from this run's checkpoint), timing both, and compares the runtime with
/// burn's dense route one step ahead.
fn time_runtime(
    model: &Model,
    state: &RunState,
    which: Which,
    path: &Path,
    rollouts: &[Rollout],
    steps: usize,
    device: &Device,
) -> Result<RuntimeTiming, CliError> {
    let file = RuntimeModel::read_file(path)?;
    check_origin(&file, path, state, which)?;
    let runtime = RuntimeModel::from_file(path, &file)?;
    let inputs: Vec<MultiImage> = rollouts.iter().map(|r| r.input.clone()).collect();
    let started = Instant::now();
    let initial = TensorImage::from_multi_images(&inputs, device)?;
    let constants = state.schema.constant_signature();
    let burn_last = rollout(model, &initial, steps, |x, y| {
        shift_window_after(x, y, &constants)
    })?
    .pop()
    .map(|p| p.to_multi_images())
    .transpose()?
    .unwrap_or_default();
    let burn_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut current = inputs.clone();
    let mut runtime_last = Vec::new();
    for step in 0..steps {
        let predictions = runtime.forward_batch(&current)?;
        if step + 1 < steps {
            current = current
                .iter()
                .zip(&predictions)
                .map(|(x, y)| shift_images(x, y, &constants))
                .collect::<Result<_, _>>()?;
        }
        runtime_last = predictions;
    }
    let runtime_seconds = started.elapsed().as_secs_f64();
    let (diff, scale) = max_difference(&burn_last, &runtime_last);
    let dense = model.clone().with_route(Route::Dense);
    let dense_next = dense.forward(&initial)?.to_multi_images()?;
    let runtime_next = runtime.forward_batch(&inputs)?;
    let (dense_diff, dense_scale) = max_difference(&dense_next, &runtime_next);
    let per_step = |seconds: f64| seconds / steps.max(1) as f64;
    Ok(RuntimeTiming {
        model_file: path.to_owned(),
        batch: rollouts.len(),
        steps,
        burn_seconds_per_step: per_step(burn_seconds),
        runtime_seconds_per_step: per_step(runtime_seconds),
        max_abs_difference: diff,
        max_abs_value: scale,
        dense_one_step_relative_difference: dense_diff / dense_scale.max(f64::MIN_POSITIVE),
    })
}

/// The largest |a − b| over two batches of images, and the largest |a|.
fn max_difference(a: &[MultiImage], b: &[MultiImage]) -> (f64, f64) {
    let (mut diff, mut scale) = (0.0f64, 0.0f64);
    for (a, b) in a.iter().zip(b) {
        for (x, y) in a.blocks().iter().zip(b.blocks()) {
            for (u, v) in x.data().iter().zip(y.data()) {
                diff = diff.max(f64::from((u - v).abs()));
                scale = scale.max(f64::from(u.abs()));
            }
        }
    }
    (diff, scale)
}

/// [`shift_window_after`] on runtime images: per key, keep the constant fields' channels,
/// drop the prediction's channel count of the oldest frame channels and append the
/// prediction; keys the prediction lacks are kept.
fn shift_images(
    input: &MultiImage,
    prediction: &MultiImage,
    constants: &Signature,
) -> Result<MultiImage, CliError> {
    let mut next = MultiImage::new(input.geometry().clone());
    for block in input.blocks() {
        let fixed = constants.channels(block.key()).unwrap_or(0);
        let Some(new) = prediction.get(block.key()) else {
            next.insert(block.clone())?;
            continue;
        };
        if fixed + new.channels() > block.channels() {
            return Err(CliError::from(
                ginrs_runtime::ImageError::SignatureMismatch {
                    expected: input.signature().to_string(),
                    got: prediction.signature().to_string(),
                },
            ));
        }
        let len = block.channel_len();
        let mut data = Vec::with_capacity(block.data().len());
        data.extend_from_slice(&block.data()[..fixed * len]);
        data.extend_from_slice(&block.data()[(fixed + new.channels()) * len..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_that_are_not_finite_survive_metrics_json_as_nan() {
        let mut errors = Errors::empty();
        errors.one_step_l2_per_pixel_rel_error = f64::INFINITY;
        errors.rollout_l2_per_pixel_rel_error = vec![1.5, f64::NAN];
        errors
            .one_step_l2_rel_error_per_field
            .insert("velocity".into(), f64::INFINITY);
        errors
            .rollout_l2_rel_error_per_field
            .insert("velocity".into(), vec![f64::NAN, 2.0]);
        let json = serde_json::to_string(&errors).unwrap();
        assert!(json.contains("null"), "{json}");
        let back: Errors = serde_json::from_str(&json).unwrap();
        assert!(back.one_step_l2_per_pixel_rel_error.is_nan());
        assert_eq!(back.rollout_l2_per_pixel_rel_error[0], 1.5);
        assert!(back.rollout_l2_per_pixel_rel_error[1].is_nan());
        assert!(back.one_step_l2_rel_error_per_field["velocity"].is_nan());
        assert_eq!(back.rollout_l2_rel_error_per_field["velocity"][1], 2.0);
    }

    #[test]
    fn shifting_runtime_images_keeps_the_constant_channels() {
        use ginrs_runtime::Geometry;
        let geometry = Geometry::square(2, 2, true).unwrap();
        let block = |channels: usize, values: &[f32]| {
            let data: Vec<f32> = values.iter().flat_map(|&v| [v; 4]).collect();
            ImageBlock::new(geometry.clone(), TensorKey::scalar(), channels, data).unwrap()
        };
        // Input: constant c, then frames 1 and 2 (one field); prediction: frame 3.
        let input =
            MultiImage::from_blocks(geometry.clone(), vec![block(3, &[9.0, 1.0, 2.0])]).unwrap();
        let prediction = MultiImage::from_blocks(geometry.clone(), vec![block(1, &[3.0])]).unwrap();
        let constants = Signature::new(vec![(TensorKey::scalar(), 1)]).unwrap();
        let next = shift_images(&input, &prediction, &constants).unwrap();
        let firsts: Vec<f32> = (0..3)
            .map(|c| next.get(&TensorKey::scalar()).unwrap().channel(c)[0])
            .collect();
        assert_eq!(firsts, [9.0, 2.0, 3.0]);
    }
}
