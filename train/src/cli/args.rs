//! The command line (clap derive): one struct per subcommand. Training flags mirror the keys
//! of the configuration file ([`super::config`]) and override them.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value};

use super::checkpoint::Which;
use super::config::{LossKind, OptimizerKind, TrainConfig};
use super::error::CliError;
use super::model::{Architecture, ModelSpec, NormMode};
use super::schedule::ScheduleKind;
use crate::data::{Boundary, Format, ParityOverride, Symmetry};
use crate::distributed::Ranks;
use crate::simulate::SimConfig;

/// Learn a physical system end to end: simulate 2-D decaying turbulence (or bring The Well's
/// or PDEBench's HDF5 files, 2-D or 3-D), train equivariant and non-equivariant models to
/// predict its next step, evaluate them (also on the rotated and reflected test set), and
/// export them to the ginrs runtime.
///
/// A small experiment:
///
///   ginrs simulate --out data/turb
///   ginrs train --data data/turb --run-dir runs/eqv
///   ginrs train --data data/turb --run-dir runs/base --equivariant false
///   ginrs eval --run-dir runs/eqv
///   ginrs export --run-dir runs/eqv --out runs/eqv/model.json
///   ginrs eval --run-dir runs/eqv --runtime runs/eqv/model.json
#[derive(Debug, Parser)]
#[command(name = "ginrs", version, verbatim_doc_comment)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a dataset of 2-D decaying turbulence trajectories.
    ///
    /// A pseudo-spectral vorticity solver on the periodic square [0, 2π)² advances random
    /// initial conditions and a passive tracer. Each stored frame holds the velocity (a vector
    /// field), the vorticity (a pseudoscalar) and the tracer (a scalar). The output directory
    /// gets velocity.npy (trajectories, frames, n, n, 2), vorticity.npy and tracer.npy
    /// (trajectories, frames, n, n), float32, and dataset.json describing them.
    Simulate(SimulateArgs),
    /// Train a model to map the past p frames to the next one.
    ///
    /// Settings come from --config (a TOML or JSON file; unknown keys are errors) and the
    /// flags, which override the file. The run directory gets a checkpoint after every epoch
    /// (checkpoint/, and best/ for the lowest validation loss) and metrics.jsonl (one line
    /// per epoch). --resume continues a run from its last checkpoint; only --epochs,
    /// --patience, --data and --cache-mb may change then.
    Train(Box<TrainArgs>),
    /// Evaluate a run on its test split and on that split rotated/reflected by every element
    /// of its symmetry group (B_d, or the subgroup `--symmetry` named).
    ///
    /// Reports ginjax's smse and l2_rel_error one step ahead and along autoregressive
    /// rollouts of --rollout-steps steps, writes metrics.json, loss_curves.{svg,png} and
    /// rollout.{svg,png} (truth, prediction and error of the vorticity and the velocity at a
    /// few steps). With --runtime, also runs the rollout on the runtime's inference path from
    /// an exported model file and reports the time per step against burn's forward.
    Eval(EvalArgs),
    /// Export a run's model in the runtime's format.
    ///
    /// The file is the runtime's model file (JSON: the model's ginjax constructor options and
    /// its parameters under ginjax's tree paths); `ginrs eval --runtime FILE` runs it, and
    /// `ginrs_runtime::Model::from_file` loads it in any Rust program.
    Export(ExportArgs),
    /// Compare evaluated runs: one table row per run (read from each run's
    /// eval/metrics.json, written by `ginrs eval`).
    ///
    /// Columns: model, parameters, epochs, and the one-step and rollout errors on the test
    /// set and on the test set transformed by B_2 (the mean over its 8 elements). Printed as
    /// a Markdown table.
    Compare(CompareArgs),
    /// Train and evaluate several model configurations × several seeds on one dataset.
    ///
    /// The sweep file (TOML or JSON) names the dataset, the output directory, the seeds, the
    /// rollout length, training settings shared by every model (`[common]`) and the models
    /// (`[[models]]`, each a `name` and settings that override `common`). Runs go to
    /// OUT/NAME/seed-S; finished runs and evaluations are reused, interrupted runs resumed.
    /// Prints, and writes to OUT/summary.md and summary.json, one table of the mean ±
    /// standard deviation over the seeds per metric, with the persistence baseline's row.
    Sweep(SweepArgs),
}

/// Flags of `ginrs sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// The sweep file (TOML or JSON; see `ginrs sweep --help`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Device and output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags of `ginrs simulate` (defaults: a small CPU experiment).
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The dataset directory to write (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Grid points per side (even, ≥ 8).
    #[arg(long, default_value_t = SimConfig::default().n)]
    pub n: usize,
    /// Number of trajectories.
    #[arg(long, default_value_t = SimConfig::default().trajectories)]
    pub trajectories: usize,
    /// Stored frames per trajectory (frame 0 is the initial condition).
    #[arg(long, default_value_t = SimConfig::default().frames)]
    pub frames: usize,
    /// Solver steps between two stored frames.
    #[arg(long, default_value_t = SimConfig::default().steps_per_frame)]
    pub steps_per_frame: usize,
    /// Solver time step.
    #[arg(long, default_value_t = SimConfig::default().dt)]
    pub dt: f64,
    /// Kinematic viscosity ν.
    #[arg(long, default_value_t = SimConfig::default().viscosity)]
    pub viscosity: f64,
    /// Tracer diffusivity κ.
    #[arg(long, default_value_t = SimConfig::default().diffusivity)]
    pub diffusivity: f64,
    /// Wavenumber of the initial spectrum's peak, in (0, n/3).
    #[arg(long, default_value_t = SimConfig::default().peak_wavenumber)]
    pub peak_wavenumber: f64,
    /// Initial kinetic energy ½⟨|u|²⟩.
    #[arg(long, default_value_t = SimConfig::default().initial_energy)]
    pub initial_energy: f64,
    /// Seed of the random initial conditions.
    #[arg(long, default_value_t = SimConfig::default().seed)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl SimulateArgs {
    /// The simulator's configuration.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            n: self.n,
            viscosity: self.viscosity,
            diffusivity: self.diffusivity,
            dt: self.dt,
            steps_per_frame: self.steps_per_frame,
            frames: self.frames,
            trajectories: self.trajectories,
            seed: self.seed,
            peak_wavenumber: self.peak_wavenumber,
            initial_energy: self.initial_energy,
        }
    }
}

/// A burn backend the `--device` flag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendName {
    /// burn's pure-Rust CPU backend (feature `flex`, on by default).
    #[default]
    Flex,
    /// A GPU through wgpu (feature `wgpu`): Vulkan, Metal or DirectX 12.
    Wgpu,
    /// An NVIDIA GPU through CUDA (feature `cuda`).
    Cuda,
}

impl BackendName {
    /// The name `--device` and the feature spell.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }
}

/// The burn device to compute on: `flex`, `wgpu`, `wgpu:N` (the N-th discrete GPU), `cuda` or
/// `cuda:N`. Without an index, a GPU is chosen per machine: `cuda` takes GPU number *local
/// rank* (0 for one process; under MPI, each rank on a machine its own), `wgpu` the adapter
/// wgpu ranks best for one process and discrete GPU number *local rank* under MPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceChoice {
    /// The backend.
    pub backend: BackendName,
    /// The GPU's index, if given.
    pub index: Option<usize>,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, index) =
            match text.split_once(':') {
                Some((name, index)) => (
                    name,
                    Some(index.parse::<usize>().map_err(|_| {
                        format!("`{index}` is not a device index (a number from 0)")
                    })?),
                ),
                None => (text, None),
            };
        let backend = match name {
            "flex" => BackendName::Flex,
            "wgpu" => BackendName::Wgpu,
            "cuda" => BackendName::Cuda,
            other => {
                return Err(format!(
                    "unknown device `{other}`: use flex, wgpu, wgpu:N, cuda or cuda:N"
                ))
            }
        };
        if backend == BackendName::Flex && index.is_some() {
            return Err("flex is the CPU and takes no index: use `flex`".into());
        }
        Ok(Self { backend, index })
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.backend.name())?;
        match self.index {
            Some(i) => write!(f, ":{i}"),
            None => Ok(()),
        }
    }
}

impl DeviceChoice {
    /// burn's pure-Rust CPU backend.
    pub const FLEX: Self = Self {
        backend: BackendName::Flex,
        index: None,
    };

    /// The device of this process among `ranks` (see the type's docs), checked to exist. An
    /// error names a device that this build was not compiled for, or one this machine does
    /// not have.
    pub fn device(self, ranks: &Ranks) -> Result<Device, CliError> {
        let index = self
            .index
            .or((ranks.size() > 1 || self.backend == BackendName::Cuda)
                .then_some(ranks.local_rank()));
        let device = self.build(index)?;
        if self.backend != BackendName::Flex {
            probe(&device, &self.to_string(), index)?;
        }
        Ok(device)
    }

    #[allow(unused_variables)]
    fn build(self, index: Option<usize>) -> Result<Device, CliError> {
        match self.backend {
            #[cfg(feature = "flex")]
            BackendName::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            BackendName::Wgpu => Ok(Device::wgpu(match index {
                Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
                None => burn::tensor::DeviceKind::DefaultDevice,
            })),
            #[cfg(feature = "cuda")]
            BackendName::Cuda => Ok(Device::cuda(index.unwrap_or(0))),
            #[allow(unreachable_patterns)]
            other => Err(CliError::Invalid {
                field: "device",
                value: self.to_string(),
                requirement: format!(
                    "this build has no `{name}` device: build ginrs-train with `--features {name}`",
                    name = other.name()
                ),
            }),
        }
    }
}

/// Checks that `device` exists by computing on it: burn panics where a GPU or its driver is
/// missing (first in the device's server thread, whose message says why), and the panic
/// becomes an error naming the device.
fn probe(device: &Device, name: &str, index: Option<usize>) -> Result<(), CliError> {
    use std::panic::{catch_unwind, set_hook, take_hook, AssertUnwindSafe};
    use std::sync::{Arc, Mutex};
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&messages);
    let hook = take_hook();
    set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "no message".into());
        if let Ok(mut all) = seen.lock() {
            all.push(message);
        }
    }));
    let result = catch_unwind(AssertUnwindSafe(|| {
        burn::tensor::Tensor::<1>::zeros([1], device).into_data()
    }));
    set_hook(hook);
    if result.is_ok() {
        return Ok(());
    }
    let first = messages
        .lock()
        .ok()
        .and_then(|all| all.first().cloned())
        .unwrap_or_else(|| "no message".into());
    Err(CliError::Invalid {
        field: "device",
        value: match index {
            Some(i) if !name.contains(':') => format!("{name} (index {i})"),
            _ => name.to_string(),
        },
        requirement: format!(
            "this machine has no such device, or its driver failed ({}): check the GPUs and \
             drivers (nvidia-smi, vulkaninfo), pick an index below the number of GPUs, or use \
             --device flex",
            first.lines().next().unwrap_or("no message")
        ),
    })
}

/// Flags shared by the subcommands that compute with burn.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The burn device: flex, wgpu, wgpu:N, cuda or cuda:N (without an index, under MPI
    /// each rank on a machine takes its own GPU).
    #[arg(long, default_value_t = DeviceChoice::FLEX, value_name = "DEVICE")]
    pub device: DeviceChoice,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Flags of `ginrs train`; each setting flag overrides the configuration key named in parentheses.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// A TOML or JSON file of settings (keys: see the flags' parentheses).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The dataset: a `ginrs simulate` directory, an HDF5 file of The Well or PDEBench, or a
    /// directory of them (config: dataset).
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// The dataset's format; detected when absent (config: data.format).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// A field's parity, FIELD=0 or FIELD=1 (1: it changes sign under reflections, like the
    /// vorticity); repeatable. HDF5 files cannot record parity: unnamed fields get 0 (config:
    /// data.parity, a table of field = parity).
    #[arg(long, value_name = "FIELD=P")]
    pub parity: Vec<ParityOverride>,
    /// PDEBench: the domain's boundary, where the file name does not say it (config:
    /// data.boundary).
    #[arg(long, value_enum)]
    pub boundary: Option<Boundary>,
    /// Megabytes of frames each HDF5 reader keeps in memory at most (config:
    /// data.cache_bytes, in bytes).
    #[arg(long, value_name = "MB")]
    pub cache_mb: Option<usize>,
    /// The subgroup of B_d the data respects: full, rotations, flips, flips-x, flips-y,
    /// flips-z or none; evaluation transforms the test split by its elements only (config:
    /// symmetry).
    #[arg(long, value_name = "GROUP")]
    pub symmetry: Option<Symmetry>,
    /// The run directory for checkpoints and metrics (config: run_dir).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in the run directory from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Past frames p the model sees (config: past_steps).
    #[arg(
        long,
        help = with_default(
            "Past frames p the model sees (config: past_steps).",
            train().past_steps
        )
    )]
    pub past_steps: Option<usize>,
    /// ginjax's model to train (config: model.kind).
    #[arg(
        long,
        value_enum,
        help = with_default(
            "ginjax's model to train (config: model.kind).",
            name(spec().kind)
        )
    )]
    pub kind: Option<Architecture>,
    /// Equivariant layers, or (false) the non-equivariant baseline (config: model.equivariant).
    #[arg(
        long,
        value_name = "BOOL",
        help = with_default(
            "Equivariant layers, or (false) the non-equivariant baseline (config: model.equivariant).",
            spec().equivariant
        )
    )]
    pub equivariant: Option<bool>,
    /// Channels per key of the middle layers, ginjax's `depth` (config: model.depth).
    #[arg(
        long,
        help = with_default(
            "Channels per key of the middle layers, ginjax's `depth` (config: model.depth).",
            spec().depth
        )
    )]
    pub depth: Option<usize>,
    /// Residual blocks of a ResNet or DilResNet (config: model.num_blocks).
    #[arg(
        long,
        help = with_default(
            "Residual blocks of a ResNet or DilResNet (config: model.num_blocks).",
            "8 for ResNet, 4 for DilResNet"
        )
    )]
    pub num_blocks: Option<usize>,
    /// Convolutions per UNet level or ResNet block (config: model.num_conv).
    #[arg(
        long,
        help = with_default(
            "Convolutions per UNet level or ResNet block (config: model.num_conv).",
            "2"
        )
    )]
    pub num_conv: Option<usize>,
    /// Pooled levels of a UNet (config: model.num_downsamples).
    #[arg(
        long,
        help = with_default(
            "Pooled levels of a UNet (config: model.num_downsamples).",
            "4"
        )
    )]
    pub num_downsamples: Option<usize>,
    /// Filter side, odd (config: model.kernel_size).
    #[arg(
        long,
        help = with_default(
            "Filter side, odd (config: model.kernel_size).",
            spec().kernel_size
        )
    )]
    pub kernel_size: Option<usize>,
    /// Largest tensor order of the equivariant filters (config: model.max_k).
    #[arg(
        long,
        help = with_default(
            "Largest tensor order of the equivariant filters (config: model.max_k).",
            spec().max_k
        )
    )]
    pub max_k: Option<usize>,
    /// Normalise in the blocks (config: model.use_group_norm).
    #[arg(
        long,
        value_name = "BOOL",
        help = with_default(
            "Normalise in the blocks (config: model.use_group_norm).",
            "true for ResNet, false otherwise"
        )
    )]
    pub use_group_norm: Option<bool>,
    /// The norms' bias on pseudoscalar keys (config: model.norm_parity).
    #[arg(
        long,
        value_enum,
        help = with_default(
            "The norms' bias on pseudoscalar keys: ginjax's (not odd under reflections) or \
             none (parity-correct, equivariant) (config: model.norm_parity).",
            "parity-correct"
        )
    )]
    pub norm_parity: Option<NormMode>,
    /// Epochs (config: epochs).
    #[arg(
        long,
        help = with_default(
            "Epochs (config: epochs).",
            train().epochs
        )
    )]
    pub epochs: Option<usize>,
    /// Windows per step (config: batch_size).
    #[arg(
        long,
        help = with_default(
            "Windows per step (config: batch_size).",
            train().batch_size
        )
    )]
    pub batch_size: Option<usize>,
    /// Base learning rate (config: learning_rate).
    #[arg(
        long = "lr",
        value_name = "RATE",
        help = with_default("Base learning rate (config: learning_rate).", train().learning_rate)
    )]
    pub learning_rate: Option<f64>,
    /// Learning-rate schedule (config: schedule.kind).
    #[arg(
        long,
        value_enum,
        help = with_default(
            "Learning-rate schedule (config: schedule.kind).",
            name(train().schedule.kind)
        )
    )]
    pub schedule: Option<ScheduleKind>,
    /// Optimiser (config: optimizer).
    #[arg(
        long,
        value_enum,
        help = with_default(
            "Optimiser (config: optimizer).",
            name(train().optimizer)
        )
    )]
    pub optimizer: Option<OptimizerKind>,
    /// AdamW's weight decay (config: weight_decay).
    #[arg(
        long,
        help = with_default(
            "AdamW's weight decay (config: weight_decay).",
            train().weight_decay
        )
    )]
    pub weight_decay: Option<f64>,
    /// Training loss (config: loss).
    #[arg(
        long,
        value_enum,
        help = with_default(
            "Training loss (config: loss).",
            name(train().loss)
        )
    )]
    pub loss: Option<LossKind>,
    /// Stop after this many epochs without a better validation loss (config: patience).
    #[arg(
        long,
        help = with_default(
            "Stop after this many epochs without a better validation loss (config: patience).",
            "none: train every epoch"
        )
    )]
    pub patience: Option<usize>,
    /// Fraction of the trajectories for training (config: split.train).
    #[arg(
        long,
        help = with_default(
            "Fraction of the trajectories for training (config: split.train).",
            train().split.train
        )
    )]
    pub train_fraction: Option<f64>,
    /// Fraction of the trajectories for validation (config: split.val).
    #[arg(
        long,
        help = with_default(
            "Fraction of the trajectories for validation (config: split.val).",
            train().split.val
        )
    )]
    pub val_fraction: Option<f64>,
    /// Seed of the initial weights and the shuffling (config: seed).
    #[arg(
        long,
        help = with_default(
            "Seed of the initial weights and the shuffling (config: seed).",
            train().seed
        )
    )]
    pub seed: Option<u64>,
    /// Residual learning: the network predicts the change from the newest input frame
    /// (config: residual).
    #[arg(
        long,
        value_name = "BOOL",
        help = with_default(
            "Residual learning: the network predicts the change from the newest input frame \
             (config: residual).",
            train().residual
        )
    )]
    pub residual: Option<bool>,
    /// Normalise each field by the training split's statistics (config: normalize).
    #[arg(
        long,
        value_name = "BOOL",
        help = with_default(
            "Normalise each field by the training split's statistics: scalars shifted and \
             scaled, pseudoscalars and vectors only scaled, so equivariance holds (config: \
             normalize).",
            train().normalize
        )
    )]
    pub normalize: Option<bool>,
    /// Epochs of linear learning-rate warmup (config: schedule.warmup_epochs).
    #[arg(
        long,
        value_name = "EPOCHS",
        help = with_default(
            "Epochs of linear learning-rate warmup before the schedule (config: \
             schedule.warmup_epochs).",
            train().schedule.warmup_epochs
        )
    )]
    pub warmup_epochs: Option<f64>,
    /// End after this epoch as an interruption would; --resume continues.
    #[arg(long, value_name = "EPOCH")]
    pub stop_after: Option<usize>,
    /// Data-parallel training over the ranks of an MPI job: start with `mpirun -np N ginrs
    /// train --mpi …` (or `srun`); `batch_size` is the global batch, split evenly over the
    /// ranks (feature `mpi`).
    #[arg(long)]
    pub mpi: bool,
    /// Device and output.
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// The settings given as flags, as a JSON object keyed like the configuration file.
    pub fn overrides(&self) -> Value {
        let mut v = json!({});
        set(&mut v, "dataset", &self.data);
        set(&mut v, "data.format", &self.format);
        for p in &self.parity {
            v["data"]["parity"][p.field.as_str()] = json!(p.parity);
        }
        set(&mut v, "data.boundary", &self.boundary);
        set(
            &mut v,
            "data.cache_bytes",
            &self.cache_mb.map(|mb| mb.saturating_mul(1 << 20)),
        );
        set(&mut v, "symmetry", &self.symmetry);
        set(&mut v, "run_dir", &self.run_dir);
        set(&mut v, "past_steps", &self.past_steps);
        set(&mut v, "model.kind", &self.kind);
        set(&mut v, "model.equivariant", &self.equivariant);
        set(&mut v, "model.depth", &self.depth);
        set(&mut v, "model.num_blocks", &self.num_blocks);
        set(&mut v, "model.num_conv", &self.num_conv);
        set(&mut v, "model.num_downsamples", &self.num_downsamples);
        set(&mut v, "model.kernel_size", &self.kernel_size);
        set(&mut v, "model.max_k", &self.max_k);
        set(&mut v, "model.use_group_norm", &self.use_group_norm);
        set(&mut v, "model.norm_parity", &self.norm_parity);
        set(&mut v, "epochs", &self.epochs);
        set(&mut v, "batch_size", &self.batch_size);
        set(&mut v, "learning_rate", &self.learning_rate);
        set(&mut v, "schedule.kind", &self.schedule);
        set(&mut v, "optimizer", &self.optimizer);
        set(&mut v, "weight_decay", &self.weight_decay);
        set(&mut v, "loss", &self.loss);
        set(&mut v, "patience", &self.patience);
        set(&mut v, "split.train", &self.train_fraction);
        set(&mut v, "split.val", &self.val_fraction);
        set(&mut v, "seed", &self.seed);
        set(&mut v, "residual", &self.residual);
        set(&mut v, "normalize", &self.normalize);
        set(&mut v, "schedule.warmup_epochs", &self.warmup_epochs);
        v
    }
}

/// A training flag's help: `text` and the value the setting takes when neither the flag nor
/// the configuration file gives it, shown as clap shows defaults. (The flags themselves have
/// no clap default: absent, they leave the configuration file's value alone.)
fn with_default(text: &str, value: impl std::fmt::Display) -> String {
    // Without the final full stop, as clap shows the help of doc comments.
    let text = text.strip_suffix('.').unwrap_or(text);
    format!("{text} [default: {value}]")
}

/// The default configuration, whose values the training flags' help shows.
fn train() -> TrainConfig {
    TrainConfig::default()
}

/// The default model section.
fn spec() -> ModelSpec {
    ModelSpec::default()
}

/// A value's name as its flag spells it.
fn name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// Sets the dotted key `path` of the object `v` when `value` is given.
fn set<T: Serialize>(v: &mut Value, path: &str, value: &Option<T>) {
    let Some(value) = value else { return };
    let mut slot = v;
    for key in path.split('.') {
        slot = &mut slot[key];
    }
    *slot = serde_json::to_value(value).expect("flag values are plain data");
}

/// Flags of `ginrs eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The run directory written by `ginrs train`.
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// The dataset (default: the run's, read with the run's `[data]` options); it must have
    /// the run's grid and fields.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Which checkpoint to evaluate.
    #[arg(long, value_enum, default_value_t = Which::Best)]
    pub checkpoint: Which,
    /// Steps of each autoregressive rollout.
    #[arg(long, default_value_t = 10)]
    pub rollout_steps: usize,
    /// Where to write metrics.json and the figures (default: the run directory's eval/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// An exported model file (`ginrs export`): run the rollout on the runtime too and time it.
    #[arg(long, value_name = "FILE")]
    pub runtime: Option<PathBuf>,
    /// Device and output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags of `ginrs compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Run directories evaluated by `ginrs eval` (or the directories `ginrs eval --out`
    /// wrote), one row each.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
}

/// Flags of `ginrs export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The run directory written by `ginrs train`.
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Which checkpoint to export.
    #[arg(long, value_enum, default_value_t = Which::Best)]
    pub checkpoint: Which,
    /// The model file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
