//! The `ginrs` command line tool (feature `cli`): learn a physical system end to end.
//!
//! ```text
//! ginrs simulate --out data/turb                       # 2-D decaying turbulence → .npy + JSON
//! ginrs train --data data/turb --run-dir runs/eqv      # equivariant model, p past frames → next
//! ginrs train --data data/turb --run-dir runs/base --equivariant false
//! ginrs eval --run-dir runs/eqv                        # errors, B_2-transformed errors, figures
//! ginrs export --run-dir runs/eqv --out model.json     # the runtime's format
//! ginrs eval --run-dir runs/eqv --runtime model.json   # + rollout on the runtime, timed
//! ginrs compare runs/eqv runs/base                     # the evaluations as one table
//! ```
//!
//! Every subcommand is a library function, so tests and other programs drive the same code:
//! [`simulate::simulate`], [`train::train`], [`evaluate::evaluate`], [`export::export`], [`compare::table`].
//!
//! One concept per module: [`args`] (clap), [`config`] (the run configuration: file + flags,
//! unknown keys rejected), [`schedule`] (learning rates), [`data`] (windows and rollouts,
//! split by trajectory), [`model`] (**the seam**: the only module that knows which network is
//! trained), [`checkpoint`] (the run directory, atomic checkpoints, resume), [`train`] (the
//! loop), [`transform`] (the test set under B_2), [`evaluate`], [`figures`], [`export`], [`compare`],
//! [`sweep`] (models × seeds, mean ± std), [`simulate`], [`progress`], [`error`].

pub mod args;
pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod figures;
pub mod model;
pub mod progress;
pub mod schedule;
pub mod simulate;
pub mod sweep;
pub mod train;
pub mod transform;

pub use args::{Cli, Command};
pub use error::CliError;

use checkpoint::Which;
use config::TrainConfig;

use crate::distributed::Ranks;

/// Runs one command line, printing a short summary on stdout.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Simulate(args) => {
            let dataset = simulate::simulate(&args.config(), &args.out, !args.quiet)?;
            let c = dataset.config();
            println!(
                "wrote {} trajectories × {} frames of {n} × {n} (velocity, vorticity, tracer) to {}",
                c.trajectories,
                c.frames,
                args.out.display(),
                n = c.n,
            );
        }
        Command::Train(args) => {
            let ranks = Ranks::init(args.mpi)?;
            if let Err(error) = train_command(&args, &ranks) {
                if ranks.size() > 1 {
                    // One rank's error would leave the others waiting in a collective: the
                    // whole job ends (MPI_Abort), after this rank has said why.
                    // One write, so that the other ranks' lines do not split it.
                    let line = format!(
                        "error on rank {} of {}: {error}\n",
                        ranks.rank(),
                        ranks.size()
                    );
                    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                    ranks.abort(1);
                }
                return Err(error);
            }
        }
        Command::Eval(args) => {
            let options = evaluate::EvalOptions {
                run_dir: args.run_dir.clone(),
                dataset: args.data,
                which: args.checkpoint,
                rollout_steps: args.rollout_steps,
                out_dir: args.out.clone(),
                runtime_model: args.runtime,
                device: args.run.device.device(&Ranks::single())?,
                progress: !args.run.quiet,
            };
            let report = evaluate::evaluate(&options)?;
            print_report(&report);
        }
        Command::Sweep(args) => {
            let sweep = sweep::read(&args.config)?;
            let options = train::TrainOptions {
                device: args.run.device.device(&Ranks::single())?,
                resume: false,
                stop_after: None,
                progress: !args.run.quiet,
                ranks: Ranks::single(),
            };
            let summary = sweep::sweep(&sweep, &options)?;
            print!("{}", summary.table);
        }
        Command::Compare(args) => {
            let rows = compare::read_rows(&args.runs)?;
            print!("{}", compare::table(&rows));
        }
        Command::Export(args) => {
            let epoch = export::export(&args.run_dir, args.checkpoint, &args.out)?;
            println!(
                "wrote the {} checkpoint (epoch {epoch}) to {}",
                args.checkpoint.name(),
                args.out.display()
            );
        }
    }
    Ok(())
}

/// `ginrs train` on this process's `ranks`; rank 0 prints the summary.
fn train_command(args: &args::TrainArgs, ranks: &Ranks) -> Result<(), CliError> {
    let config = train_config(args)?;
    let options = train::TrainOptions {
        device: args.run.device.device(ranks)?,
        resume: args.resume,
        stop_after: args.stop_after,
        progress: !args.run.quiet && ranks.is_root(),
        ranks: ranks.clone(),
    };
    let first = if args.resume {
        checkpoint::load_state(&config.run_dir, Which::Last)?
            .1
            .epochs_done
    } else {
        0
    };
    let state = train::train(config, &options)?;
    if !ranks.is_root() {
        return Ok(());
    }
    let run_dir = state.config.run_dir.display();
    let stopped = if state.stopped_early {
        ", stopped early"
    } else {
        ""
    };
    if state.epochs_done == first {
        println!(
            "{run_dir}: nothing to train (epoch {first} of {}{stopped})",
            state.config.epochs
        );
    } else {
        println!(
            "{run_dir}: trained epochs {}..={} ({} parameters{}){stopped}",
            first + 1,
            state.epochs_done,
            state.params,
            match ranks.size() {
                1 => String::new(),
                n => format!(", {n} ranks"),
            }
        );
    }
    if let Some(best) = state.best {
        println!(
            "best epoch {} (validation loss {:.4e}) in {run_dir}/{}",
            best.epoch,
            best.val_loss,
            checkpoint::BEST_DIR
        );
    }
    Ok(())
}

/// The run configuration of `ginrs train`: for `--resume`, the saved run's configuration
/// overlaid with the file and the flags; otherwise the defaults overlaid with them.
pub fn train_config(args: &args::TrainArgs) -> Result<TrainConfig, CliError> {
    let flags = args.overrides();
    if !args.resume {
        return config::resolve(None, args.config.as_deref(), flags);
    }
    let from_file = match &args.config {
        Some(path) => config::read_file(path)?
            .get("run_dir")
            .and_then(|v| v.as_str())
            .map(Into::into),
        None => None,
    };
    let run_dir = args
        .run_dir
        .clone()
        .or(from_file)
        .ok_or_else(|| CliError::Invalid {
            field: "run_dir",
            value: "(none)".into(),
            requirement: "--resume needs the run directory: give --run-dir".into(),
        })?;
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last)?;
    let mut flags = flags;
    flags["run_dir"] = serde_json::to_value(&run_dir).expect("a path is plain data");
    config::resolve(Some(&state.config), args.config.as_deref(), flags)
}

fn print_report(report: &evaluate::EvalReport) {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let which = &report.checkpoint;
    let [first, end] = report.test_trajectories;
    println!(
        "{which} checkpoint (epoch {}), {}, {} parameters; test trajectories {first}..{end} \
         ({}): {}, {} of {}",
        report.epoch,
        evaluate::model_name(report),
        report.params,
        plural(end - first, "trajectory", "trajectories"),
        plural(report.windows, "one-step window", "one-step windows"),
        plural(report.rollouts, "rollout", "rollouts"),
        plural(report.rollout_steps, "step", "steps"),
    );
    println!(
        "errors: l2_rel_error % (ginjax's whole-field relative error, the standard metric), \
         its per-pixel form, and smse"
    );
    println!(
        "                      one-step l2 rel %  per-pixel %     smse   rollout l2 rel %   \
         per-pixel %     smse"
    );
    let name = evaluate::model_name(report);
    for (label, e) in [
        (name.clone(), &report.plain),
        (
            format!("{name} under {}", evaluate::group_name(report)),
            &report.transformed_mean,
        ),
        ("persistence".to_string(), &report.persistence),
    ] {
        println!(
            "{label:<24}  {:>14.3}  {:>11.3}  {:>10.3e}  {:>15.3}  {:>11.3}  {:>10.3e}",
            e.one_step_l2_rel_error,
            e.one_step_l2_per_pixel_rel_error,
            e.one_step_smse,
            e.rollout_l2_rel_error_mean,
            e.rollout_l2_per_pixel_rel_error_mean,
            e.rollout_smse_mean,
        );
    }
    let fields = |e: &evaluate::Errors| {
        e.one_step_l2_rel_error_per_field
            .iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "one-step l2 rel % per field: {name}: {}; persistence: {}",
        fields(&report.plain),
        fields(&report.persistence)
    );
    match report.first_step_worse_than_persistence {
        Some(step) => println!(
            "the rollout error first exceeds persistence's at step {step} of {}",
            report.rollout_steps
        ),
        None => println!(
            "the rollout error stays at or below persistence's for all {}",
            plural(report.rollout_steps, "step", "steps")
        ),
    }
    if let Some(r) = &report.runtime {
        println!(
            "rollout of {} × {}: burn {:.3} ms/step, runtime {:.3} ms/step; max |difference| {:.2e} \
             (values up to {:.2e}); one step ahead, runtime against burn's dense route: {:.2e} relative",
            r.batch,
            plural(r.steps, "step", "steps"),
            1e3 * r.burn_seconds_per_step,
            1e3 * r.runtime_seconds_per_step,
            r.max_abs_difference,
            r.max_abs_value,
            r.dense_one_step_relative_difference,
        );
    }
}
