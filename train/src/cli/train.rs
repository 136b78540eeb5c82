//! The training loop: epochs of shuffled mini-batches with burn's Adam (or AdamW) on the
//! learning-rate schedule, validation after each epoch, early stopping, a checkpoint after
//! each epoch, and `--resume`. With field normalisation, the losses (training and validation)
//! are measured in the network's output units (each field divided by its output scale), so
//! every field counts by its own typical size or change, not by its units.
//!
//! Every source of randomness is a function of the configuration and the epoch (the initial
//! weights of `seed`, the shuffling of epoch `e` from ChaCha8 stream `e` of `seed`), the rate
//! is a function of the global step, and the checkpoint holds the module, Adam's state and
//! the step count. So a run stopped after epoch `k` and resumed reproduces the epochs
//! `k + 1, …` of an uninterrupted run, losses included.
//!
//! With several [`Ranks`] (`--mpi`), each rank trains a replica on its shard of every global
//! batch and the gradients are all-reduced before each step ([`crate::distributed`]); each
//! rank reads only its shards' windows, the normalisation is fitted from every rank's shard
//! of the training windows and the validation loss from every rank's shard of the
//! validation windows. Rank 0 alone writes the run directory; every rank resumes from it.
//! `batch_size` is the global batch, so a run resumed on another number of ranks (dividing
//! it) continues the same trajectory, to the reordering of floating-point sums.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{self, Best, EpochMetrics, RunState, Which};
use super::config::{check_resume, TrainConfig};
use super::data::{self, model_io};
use super::error::CliError;
use super::model::{build_model, ModelIo};
use super::progress;
use crate::data::{Schema, Windows};
use crate::distributed::{self, check_agreement, check_batch, Agreement, Ranks};
use crate::loss::{Loss, Reduce};
use crate::models::seam::in_output_units;
use crate::models::Model;
use crate::step::Trainer;
use ginrs_runtime::models::{Normalization, NormalizationFit, SeamError};

/// How to run (not part of the configuration: a resumed run may change them).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The device (training runs on its autodiff form).
    pub device: Device,
    /// Continue the run in `run_dir` from its last checkpoint.
    pub resume: bool,
    /// End the run after this epoch, as an interruption would (`--resume` continues it).
    pub stop_after: Option<usize>,
    /// Show progress bars and a line per epoch on stderr.
    pub progress: bool,
    /// The ranks training together (one process: [`Ranks::single`]).
    pub ranks: Ranks,
}

/// Trains `config` (a new run, or the continuation of the run in `config.run_dir` when
/// `options.resume`) and returns the final state, also saved in the run directory.
pub fn train(mut config: TrainConfig, options: &TrainOptions) -> Result<RunState, CliError> {
    let run_dir = config.run_dir.clone();
    let ranks = &options.ranks;
    check_batch(config.batch_size, ranks.size())?;
    let autodiff = options.device.clone().autodiff();
    let dataset = data::open_dataset(&config)?;
    // The run stores the dataset's absolute path, so `ginrs eval` and `--resume` find it from
    // any working directory.
    config.dataset = data::absolute_path(&config.dataset);
    let schema = dataset.schema.clone();
    let io = model_io(&schema, config.past_steps);
    config.model.check_grid(&schema.spatial)?;
    config.model.config(&io)?;
    // The split and p are fixed for a run (a resume may not change them).
    let train = Windows::new(&dataset.train, config.past_steps)?;
    let val = Windows::new(&dataset.val, config.past_steps)?;
    check_agreement(
        ranks,
        &Agreement {
            configuration: serde_json::to_value(&config).expect("the configuration is plain data"),
            data: serde_json::json!({
                "schema": schema,
                "train_windows": train.len(),
                "val_windows": val.len(),
            }),
        },
    )?;
    let (mut state, model, optimizer) = if options.resume {
        let (dir, mut state) = checkpoint::load_state(&run_dir, Which::Last)?;
        check_resume(&state.config, &config)?;
        if state.schema != schema {
            return Err(schema_mismatch(&config.dataset, &schema, &state.schema));
        }
        let model = checkpoint::load_model(&dir, &state, &autodiff)?;
        let optimizer = checkpoint::load_optimizer(&dir, config.optimizer().init())?;
        // `epochs` and `patience` may change on resume: stopping is decided afresh.
        state.stopped_early = config
            .patience
            .is_some_and(|p| state.epochs_since_best >= p);
        state.config = config;
        (state, model, optimizer)
    } else {
        if checkpoint::exists(&run_dir) {
            return Err(CliError::RunDir {
                path: run_dir,
                message: "already holds a run; pass --resume to continue it, or choose \
                          another --run-dir"
                    .into(),
            });
        }
        if ranks.is_root() {
            std::fs::create_dir_all(&run_dir).map_err(CliError::io(&run_dir))?;
        }
        let mut state = RunState::new(config.clone(), schema, 0);
        if config.normalize {
            state.normalization = Some(fit_normalization(&train, &io, config.residual, ranks)?);
        }
        let model =
            build_model(&config.model, &io, &autodiff, config.seed)?.with_seam(state.seam())?;
        state.params = model.count_params();
        (state, model, config.optimizer().init())
    };
    let config = state.config.clone();
    let mut trainer = Trainer::resume(model, optimizer, config.learning_rate, state.steps);
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let loss = config.loss.loss();
    let seam = state.seam();
    let first = state.epochs_done + 1;
    for epoch in first..=config.epochs {
        if state.stopped_early {
            break;
        }
        let started = Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(epoch as u64);
        order.shuffle(&mut rng);
        let bar = progress::bar(
            steps_per_epoch,
            &format!("epoch {epoch}/{}", config.epochs),
            options.progress,
        );
        let (mut loss_sum, mut seen, mut rate) = (0.0, 0, config.learning_rate);
        for batch in order.chunks(config.batch_size) {
            // This rank's shard; a rank left without windows (a short last batch) computes
            // one window's loss with weight 0, so that it still joins the all-reduce.
            let shard = &batch[distributed::shard(batch.len(), ranks.size(), ranks.rank())];
            let (windows, share) = match shard.is_empty() {
                false => (shard, shard.len() as f64 / batch.len() as f64),
                true => (&batch[..1], 0.0),
            };
            rate = config.schedule.rate(
                config.learning_rate,
                trainer.steps(),
                steps_per_epoch,
                config.epochs,
            );
            trainer.set_learning_rate(rate);
            let (input, target) = data::batch(&train, windows, &autodiff)?;
            let target = in_output_units(&seam, &target)?;
            let value = trainer.step_shared(
                |model| {
                    let prediction = in_output_units(&seam, &model.forward(&input)?)?;
                    loss.compute(&prediction, &target, Reduce::Mean)
                },
                share,
                ranks,
            )?;
            loss_sum += value * batch.len() as f64;
            seen += batch.len();
            bar.inc(1);
            bar.set_message(format!(
                "loss {:.4e}  {:.1} samples/s",
                loss_sum / seen as f64,
                seen as f64 / started.elapsed().as_secs_f64()
            ));
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let valid = trainer.module().valid();
        let val_loss = validation_loss(
            &valid,
            &val,
            loss,
            config.batch_size,
            &options.device,
            ranks,
        )?;
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / seen as f64,
            val_loss,
            learning_rate: rate,
            seconds: started.elapsed().as_secs_f64(),
            samples_per_second: seen as f64 / train_seconds,
            ranks: ranks.size(),
        };
        let improved = record_validation(&mut state, epoch, val_loss);
        state.epochs_done = epoch;
        state.steps = trainer.steps();
        state.history.push(metrics.clone());
        distributed::check_replicas(ranks, trainer.module(), epoch)?;
        if ranks.is_root() {
            checkpoint::save(
                &run_dir,
                &state,
                trainer.module(),
                trainer.optimizer(),
                improved,
            )?;
        }
        if options.progress {
            eprintln!(
                "epoch {epoch}/{}: train {:.4e}, val {:.4e}{}, lr {:.2e}, {:.1} s, {:.1} samples/s{}",
                config.epochs,
                metrics.train_loss,
                metrics.val_loss,
                if improved { " (best)" } else { "" },
                metrics.learning_rate,
                metrics.seconds,
                metrics.samples_per_second,
                if state.stopped_early {
                    format!("; no better validation loss for {} epochs: stopping early", state.epochs_since_best)
                } else {
                    String::new()
                },
            );
        }
        if options.stop_after == Some(epoch) {
            break;
        }
    }
    Ok(state)
}

/// The mean loss of `model` over `windows` in the network's output units
/// ([`in_output_units`]), as training measures it; each of `ranks` measures its shard of the
/// windows, and the sums are all-reduced.
pub fn validation_loss(
    model: &Model,
    windows: &Windows,
    loss: Loss,
    batch_size: usize,
    device: &Device,
    ranks: &Ranks,
) -> Result<f64, CliError> {
    let seam = model.seam();
    let mine = distributed::shard(windows.len(), ranks.size(), ranks.rank());
    let (mut sum, indices) = (0.0, mine.collect::<Vec<_>>());
    for batch in indices.chunks(batch_size.max(1)) {
        let (input, target) = data::batch(windows, batch, device)?;
        let prediction = in_output_units(seam, &model.forward(&input)?)?;
        let per_item = loss.compute(
            &prediction,
            &in_output_units(seam, &target)?,
            Reduce::PerItem,
        )?;
        sum += crate::image::read_f64(&per_item)?.iter().sum::<f64>();
    }
    let mut total = [sum];
    ranks.all_reduce_sum(&mut total);
    Ok(total[0] / windows.len().max(1) as f64)
}

/// The field normalisation of the training windows `train` (see
/// [`ginrs_runtime::models::seam`]): per key and channel, the inputs' statistics and those of
/// the targets (or, with `residual`, of the change from the newest input frame). Each of
/// `ranks` reads its shard of the windows, and the running sums are all-reduced.
pub fn fit_normalization(
    train: &Windows,
    io: &ModelIo,
    residual: bool,
    ranks: &Ranks,
) -> Result<Normalization, CliError> {
    let mut fit = NormalizationFit::new(&io.input, &io.output, residual);
    for i in distributed::shard(train.len(), ranks.size(), ranks.rank()) {
        let (input, target) = train.get(i)?;
        fit.add(&input, &target).map_err(runtime_error)?;
    }
    if ranks.size() > 1 {
        let mut sums = fit.sums();
        ranks.all_reduce_sum(&mut sums);
        fit.set_sums(&sums).map_err(runtime_error)?;
    }
    fit.finish().map_err(runtime_error)
}

fn runtime_error(e: SeamError) -> CliError {
    CliError::from(ginrs_runtime::Error::from(ginrs_runtime::ModelError::from(
        e,
    )))
}

/// Records epoch `epoch`'s validation loss in `state`: the best epoch, the epochs since it and
/// whether early stopping (`state.config.patience`) ends the run. Returns whether the epoch
/// is the new best (a NaN loss never is).
pub fn record_validation(state: &mut RunState, epoch: usize, val_loss: f64) -> bool {
    let improved = state.best.is_none_or(|b| val_loss < b.val_loss) && !val_loss.is_nan();
    if improved {
        state.best = Some(Best { epoch, val_loss });
        state.epochs_since_best = 0;
    } else {
        state.epochs_since_best += 1;
    }
    state.stopped_early = state
        .config
        .patience
        .is_some_and(|p| state.epochs_since_best >= p);
    improved
}

/// The error for a dataset of another grid or other fields than the run's.
pub fn schema_mismatch(path: &Path, found: &Schema, trained: &Schema) -> CliError {
    CliError::DatasetMismatch {
        path: path.to_owned(),
        message: format!(
            "it holds a {found}, the run was trained on a {trained}: point --data at a dataset \
             of the run's grid and fields"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FieldSpec;

    fn schema() -> Schema {
        Schema {
            spatial: vec![16, 16],
            torus: vec![true, true],
            frame_interval: 1.0,
            fields: vec![FieldSpec::new("u", 0, 0)],
            constants: Vec::new(),
        }
    }

    #[test]
    fn early_stopping_counts_epochs_without_a_better_validation_loss() {
        let config = TrainConfig {
            patience: Some(2),
            ..TrainConfig::default()
        };
        let mut state = RunState::new(config, schema(), 10);
        let losses = [1.0, 0.5, 0.7, 0.4, 0.6, 0.5, 0.3];
        let mut seen = Vec::new();
        for (i, &loss) in losses.iter().enumerate() {
            let improved = record_validation(&mut state, i + 1, loss);
            seen.push((improved, state.epochs_since_best, state.stopped_early));
            if state.stopped_early {
                break;
            }
        }
        assert_eq!(
            seen,
            [
                (true, 0, false),
                (true, 0, false),
                (false, 1, false),
                (true, 0, false),
                (false, 1, false),
                (false, 2, true),
            ]
        );
        assert_eq!(
            state.best,
            Some(Best {
                epoch: 4,
                val_loss: 0.4
            })
        );
        let mut no_patience = RunState::new(TrainConfig::default(), schema(), 10);
        record_validation(&mut no_patience, 1, 1.0);
        assert!(!record_validation(&mut no_patience, 2, f64::NAN));
        for epoch in 3..20 {
            record_validation(&mut no_patience, epoch, 2.0);
        }
        assert!(!no_patience.stopped_early);
    }
}
