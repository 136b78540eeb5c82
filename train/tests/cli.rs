//! The `ginrs` tool end to end on a tiny dataset (16 × 16, 6 trajectories of 7 frames):
//! simulate → train → eval (plain and B_2-transformed test sets, figures, runtime rollout) →
//! export, through the library functions behind the subcommands and once through the binary;
//! resuming an interrupted run; and every bad input the tool promises to reject clearly.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use burn::tensor::Device;
use clap::Parser;
use ginrs_train::cli::checkpoint::{self, EpochMetrics, Which};
use ginrs_train::cli::compare::{read_rows, table};
use ginrs_train::cli::config::TrainConfig;
use ginrs_train::cli::data::model_io;
use ginrs_train::cli::evaluate::{evaluate, EvalOptions, EvalReport};
use ginrs_train::cli::export::export;
use ginrs_train::cli::model::{Architecture, ModelSpec};
use ginrs_train::cli::simulate::simulate;
use ginrs_train::cli::train::{train, TrainOptions};
use ginrs_train::cli::{run, Cli, CliError};
use ginrs_train::distributed::Ranks;
use ginrs_train::simulate::{DatasetError, SimConfig};

fn sim_config() -> SimConfig {
    SimConfig {
        n: 16,
        trajectories: 6,
        frames: 7,
        peak_wavenumber: 3.0,
        ..SimConfig::default()
    }
}

/// A fresh directory with the tiny dataset in `data/`.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    simulate(&sim_config(), &data, false).unwrap();
    (dir, data)
}

fn config(data: &Path, run_dir: &Path, equivariant: bool, epochs: usize) -> TrainConfig {
    TrainConfig {
        dataset: data.to_owned(),
        run_dir: run_dir.to_owned(),
        past_steps: 2,
        epochs,
        batch_size: 8,
        learning_rate: 3e-3,
        model: ModelSpec {
            kind: Architecture::Resnet,
            equivariant,
            depth: 2,
            num_blocks: Some(1),
            // ginjax's LayerNorm biases pseudoscalars (the vorticity): not reflection-odd.
            use_group_norm: Some(false),
            ..ModelSpec::default()
        },
        ..TrainConfig::default()
    }
}

fn options(resume: bool, stop_after: Option<usize>) -> TrainOptions {
    TrainOptions {
        device: Device::flex(),
        resume,
        stop_after,
        progress: false,
        ranks: Ranks::single(),
    }
}

fn eval_options(run_dir: &Path, runtime_model: Option<PathBuf>) -> EvalOptions {
    EvalOptions {
        run_dir: run_dir.to_owned(),
        dataset: None,
        which: Which::Best,
        rollout_steps: 3,
        out_dir: None,
        runtime_model,
        device: Device::flex(),
        progress: false,
    }
}

fn read_metrics(run_dir: &Path) -> Vec<EpochMetrics> {
    std::fs::read_to_string(run_dir.join(checkpoint::METRICS_FILE))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The largest relative spread of the errors over the eight transformed test sets.
fn spread(report: &EvalReport) -> f64 {
    let values = |f: fn(&EvalReport, usize) -> f64| -> Vec<f64> {
        (0..report.transformed.len())
            .map(|i| f(report, i))
            .collect()
    };
    let series = [
        values(|r, i| r.transformed[i].errors.one_step_smse),
        values(|r, i| r.transformed[i].errors.one_step_l2_rel_error),
        values(|r, i| r.transformed[i].errors.one_step_l2_per_pixel_rel_error),
        values(|r, i| r.transformed[i].errors.rollout_smse_mean),
    ];
    series
        .iter()
        .map(|v| {
            let max = v.iter().copied().fold(f64::MIN, f64::max);
            let min = v.iter().copied().fold(f64::MAX, f64::min);
            (max - min) / max.abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn the_binary_documents_every_subcommand_and_reports_errors() {
    let bin = env!("CARGO_BIN_EXE_ginrs");
    let out = Process::new(bin).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["simulate", "train", "eval", "export", "compare"] {
        assert!(text.contains(sub), "{text}");
    }
    for (sub, flags) in [
        (
            "simulate",
            &["--out", "--n", "--viscosity", "--seed", "--frames"][..],
        ),
        (
            "train",
            &[
                "--config",
                "--resume",
                "--kind",
                "--equivariant",
                "--depth",
                "--num-blocks",
                "--lr",
                "--patience",
            ][..],
        ),
        (
            "eval",
            &["--rollout-steps", "--runtime", "--checkpoint"][..],
        ),
        ("export", &["--run-dir", "--out"][..]),
    ] {
        let out = Process::new(bin).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}");
        let text = String::from_utf8(out.stdout).unwrap();
        for flag in flags {
            assert!(text.contains(flag), "{sub} --help lacks {flag}: {text}");
        }
    }
    // A configuration with an unknown key: exit status 1 and the key on stderr.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, "epochs = 2\n[model]\ndepht = 3\n").unwrap();
    let out = Process::new(bin)
        .args([
            "train",
            "--quiet",
            "--data",
            "d",
            "--run-dir",
            "r",
            "--config",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: ") && stderr.contains("depht"),
        "{stderr}"
    );
}

#[test]
fn an_equivariant_run_trains_evaluates_and_exports() {
    let (dir, data) = setup();
    let run_dir = dir.path().join("eqv");
    let state = train(config(&data, &run_dir, true, 2), &options(false, None)).unwrap();
    assert_eq!(state.epochs_done, 2);
    assert_eq!(state.steps, 2 * (4 * 5_usize).div_ceil(8));
    let metrics = read_metrics(&run_dir);
    assert_eq!(metrics.iter().map(|m| m.epoch).collect::<Vec<_>>(), [1, 2]);
    assert!(metrics
        .iter()
        .all(|m| m.train_loss > 0.0 && m.val_loss.is_finite()));
    assert!(
        metrics[1].learning_rate < metrics[0].learning_rate,
        "cosine decay"
    );
    for file in [
        checkpoint::MODEL_FILE,
        checkpoint::OPTIMIZER_FILE,
        checkpoint::STATE_FILE,
    ] {
        assert!(
            run_dir.join(checkpoint::LAST_DIR).join(file).is_file(),
            "{file}"
        );
    }
    let model_file = run_dir.join("model.json");
    assert_eq!(
        export(&run_dir, Which::Best, &model_file).unwrap(),
        state.best.unwrap().epoch
    );
    let report = evaluate(&eval_options(&run_dir, Some(model_file))).unwrap();
    assert_eq!(report.params, state.params);
    assert_eq!((report.windows, report.rollouts), (5, 1));
    assert_eq!(report.plain.rollout_smse.len(), 3);
    assert_eq!(report.transformed.len(), 8);
    assert_eq!(report.transformed[0].element, [[1, 0], [0, 1]]);
    // The identity's errors are the plain ones; an equivariant model has them on every
    // transformed copy of the test set.
    assert_eq!(report.transformed[0].errors, report.plain);
    assert!(spread(&report) < 1e-4, "spread {}", spread(&report));
    let runtime = report.runtime.as_ref().unwrap();
    assert!(
        runtime.max_abs_difference <= 1e-4 * runtime.max_abs_value.max(1.0),
        "{runtime:?}"
    );
    assert!(runtime.runtime_seconds_per_step > 0.0 && runtime.burn_seconds_per_step > 0.0);
    let out = run_dir.join("eval");
    let written: EvalReport =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(written, report);
    // `ginrs compare` reads it back into a table row of this run.
    let rows = read_rows(std::slice::from_ref(&run_dir)).unwrap();
    assert_eq!(rows[0].report, report);
    let text = table(&rows);
    let row = text.lines().nth(2).unwrap();
    assert!(row.contains("| equivariant ResNet |"), "{text}");
    assert!(
        row.contains(&format!(
            "| {:.3} |",
            report.transformed_mean.rollout_l2_rel_error_mean
        )),
        "{text}"
    );
    // The run's row and the persistence row of its test set.
    assert_eq!(text.lines().count(), 4, "{text}");
    let persistence = text.lines().nth(3).unwrap();
    assert!(persistence.starts_with("| persistence"), "{text}");
    assert!(
        persistence.contains(&format!(
            "| {:.3} |",
            report.persistence.one_step_l2_rel_error
        )),
        "{text}"
    );
    // Persistence's one-step error, computed here from the dataset: per window and field,
    // ‖newest input frame − target‖ / ‖target‖ over the whole field, averaged over the
    // fields (one channel each) and the windows.
    let dataset = ginrs_train::simulate::Dataset::read(&data).unwrap();
    // 6 trajectories split 0.7 / 0.15: trajectories 0-3 train, 4 validates, 5 tests.
    let (train, val) = (state.config.split.train, state.config.split.val);
    let test_start = (train * 6.0).round() as usize + (val * 6.0).round() as usize;
    let frames = dataset.config().frames;
    let (mut total, mut windows) = (0.0, 0);
    for trajectory in test_start..6 {
        for end in 2..frames {
            let input = dataset.multi_image(trajectory, end - 1).unwrap();
            let target = dataset.multi_image(trajectory, end).unwrap();
            let mut per_field = 0.0;
            for block in target.blocks() {
                let newest = input.get(block.key()).unwrap().data();
                let (mut diff, mut norm) = (0.0f64, 0.0f64);
                for (x, y) in newest.iter().zip(block.data()) {
                    diff += f64::from(x - y).powi(2);
                    norm += f64::from(*y).powi(2);
                }
                per_field += 100.0 * (diff / norm).sqrt();
            }
            total += per_field / target.blocks().len() as f64;
            windows += 1;
        }
    }
    let expected = total / windows as f64;
    assert!(
        (report.persistence.one_step_l2_rel_error - expected).abs() < 1e-4 * expected,
        "{} vs {expected}",
        report.persistence.one_step_l2_rel_error
    );
    assert_eq!(
        report.persistence.one_step_l2_rel_error_per_field.len(),
        3,
        "velocity, vorticity, tracer"
    );
    assert_eq!(report.spectra.len(), 3, "rollout steps 1, 2 and 3");
    for stem in ["loss_curves", "rollout", "rollout_error", "spectra"] {
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
        let png = std::fs::read(out.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
    }
}

#[test]
fn the_baseline_is_not_equivariant_and_exports_to_the_runtime() {
    let (dir, data) = setup();
    let run_dir = dir.path().join("base");
    // Without residual learning, so that after one epoch the errors are the network's own,
    // not mostly the (invariant) persistence part.
    let mut c = config(&data, &run_dir, false, 1);
    c.residual = false;
    let state = train(c, &options(false, None)).unwrap();
    let model_file = run_dir.join("model.json");
    export(&run_dir, Which::Best, &model_file).unwrap();
    let report = evaluate(&eval_options(&run_dir, Some(model_file))).unwrap();
    assert!(!report.equivariant);
    assert_eq!(report.params, state.params);
    assert!(spread(&report) > 1e-2, "spread {}", spread(&report));
    let runtime = report.runtime.unwrap();
    assert!(
        runtime.max_abs_difference <= 1e-4 * runtime.max_abs_value.max(1.0),
        "{runtime:?}"
    );
}

#[test]
fn a_resumed_run_repeats_the_uninterrupted_one() {
    let (dir, data) = setup();
    let whole = dir.path().join("whole");
    train(config(&data, &whole, true, 3), &options(false, None)).unwrap();
    let parts = dir.path().join("parts");
    let state = train(config(&data, &parts, true, 3), &options(false, Some(1))).unwrap();
    assert_eq!(state.epochs_done, 1);
    assert_eq!(read_metrics(&parts).len(), 1);
    // The interruption happens while the next checkpoint replaces this one: only
    // `checkpoint.old/` is left, and it is what the run resumes from.
    std::fs::rename(
        parts.join(checkpoint::LAST_DIR),
        parts.join(format!("{}.old", checkpoint::LAST_DIR)),
    )
    .unwrap();
    let state = train(config(&data, &parts, true, 3), &options(true, None)).unwrap();
    assert_eq!(state.epochs_done, 3);
    let strip = |m: Vec<EpochMetrics>| -> Vec<(usize, f64, f64, f64)> {
        m.into_iter()
            .map(|m| (m.epoch, m.train_loss, m.val_loss, m.learning_rate))
            .collect()
    };
    assert_eq!(strip(read_metrics(&parts)), strip(read_metrics(&whole)));
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    export(&whole, Which::Last, &a).unwrap();
    export(&parts, Which::Last, &b).unwrap();
    // The same model, seam and epoch; only the run identity in `origin` differs.
    let read = |p: &Path| {
        ginrs_runtime::ModelFile::from_json(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (a, b) = (read(&a), read(&b));
    assert_eq!(
        (&a.config, &a.params, &a.seam),
        (&b.config, &b.params, &b.seam)
    );
    assert!(a.seam.residual && a.seam.normalization.is_some());
    let (oa, ob) = (a.origin.unwrap(), b.origin.unwrap());
    assert_eq!((oa.epoch, &oa.checkpoint), (ob.epoch, &ob.checkpoint));
    assert_ne!(oa.run, ob.run);
    // A finished run resumes to nothing; a new run may not overwrite it.
    let again = train(config(&data, &parts, true, 3), &options(true, None)).unwrap();
    assert_eq!(again.history, state.history);
    let err = train(config(&data, &parts, true, 3), &options(false, None)).unwrap_err();
    assert!(matches!(err, CliError::RunDir { .. }), "{err}");
    assert!(err.to_string().contains("--resume"), "{err}");
    // Resuming with another model is refused, naming the setting.
    let mut other = config(&data, &parts, true, 4);
    other.model.depth = 3;
    let err = train(other, &options(true, None)).unwrap_err();
    assert!(err.to_string().contains("model.depth"), "{err}");
}

#[test]
fn bad_checkpoints_and_datasets_are_clear_errors() {
    let (dir, data) = setup();
    let run_dir = dir.path().join("run");
    train(config(&data, &run_dir, true, 1), &options(false, None)).unwrap();
    // Missing.
    let err = evaluate(&eval_options(&dir.path().join("nothing"), None)).unwrap_err();
    assert!(matches!(err, CliError::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    // A dataset of another grid, and one whose description promises other fields.
    let other = dir.path().join("other");
    simulate(
        &SimConfig {
            n: 12,
            ..sim_config()
        },
        &other,
        false,
    )
    .unwrap();
    let mut options_other = eval_options(&run_dir, None);
    options_other.dataset = Some(other.clone());
    let err = evaluate(&options_other).unwrap_err();
    assert!(matches!(err, CliError::DatasetMismatch { .. }), "{err}");
    assert!(err.to_string().contains("12 × 12"), "{err}");
    let description = other.join("dataset.json");
    let text = std::fs::read_to_string(&description).unwrap();
    std::fs::write(
        &description,
        text.replacen("\"parity\": 1", "\"parity\": 0", 1),
    )
    .unwrap();
    let err = evaluate(&options_other).unwrap_err();
    assert!(
        matches!(err, CliError::Dataset(DatasetError::Description { .. })),
        "{err}"
    );
    // Too few frames for the rollout.
    let mut long = eval_options(&run_dir, None);
    long.rollout_steps = 6;
    let err = evaluate(&long).unwrap_err();
    assert!(err.to_string().contains("needs 8 frames"), "{err}");
    // A model file of another run for --runtime.
    let p3 = dir.path().join("p3");
    let mut c = config(&data, &p3, true, 1);
    c.past_steps = 3;
    train(c, &options(false, None)).unwrap();
    let p3_model = dir.path().join("p3.json");
    export(&p3, Which::Last, &p3_model).unwrap();
    let err = evaluate(&eval_options(&run_dir, Some(p3_model))).unwrap_err();
    assert!(matches!(err, CliError::ModelFile { .. }), "{err}");
    assert!(err.to_string().contains("was exported from run"), "{err}");
    // This run's own export, but of another checkpoint than the one evaluated.
    let own_last = dir.path().join("own-last.json");
    export(&run_dir, Which::Last, &own_last).unwrap();
    let (_, best) = checkpoint::load_state(&run_dir, Which::Best).unwrap();
    let (_, last) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    if best.epochs_done != last.epochs_done {
        let err = evaluate(&eval_options(&run_dir, Some(own_last.clone()))).unwrap_err();
        assert!(err.to_string().contains("checkpoint of epoch"), "{err}");
    }
    // A file without an origin (a ginjax export, or written by hand) is refused too.
    let mut file =
        ginrs_runtime::ModelFile::from_json(&std::fs::read_to_string(&own_last).unwrap()).unwrap();
    file.origin = None;
    std::fs::write(&own_last, file.to_json().unwrap()).unwrap();
    let err = evaluate(&eval_options(&run_dir, Some(own_last))).unwrap_err();
    assert!(err.to_string().contains("no `origin`"), "{err}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, r#"{"format": "ginrs-cli-network/1"}"#).unwrap();
    let err = evaluate(&eval_options(&run_dir, Some(garbage.clone()))).unwrap_err();
    assert!(matches!(err, CliError::ModelFile { .. }), "{err}");
    assert!(
        err.to_string().contains("garbage.json") && err.to_string().contains("version"),
        "{err}"
    );
    // A model file cut short: the error names the file.
    let text = std::fs::read_to_string(dir.path().join("p3.json")).unwrap();
    std::fs::write(&garbage, &text[..text.len() / 2]).unwrap();
    let err = evaluate(&eval_options(&run_dir, Some(garbage.clone()))).unwrap_err();
    assert!(matches!(err, CliError::ModelFile { .. }), "{err}");
    assert!(err.to_string().contains("garbage.json"), "{err}");
    // A run that was never evaluated cannot be compared.
    let err = read_rows(std::slice::from_ref(&p3)).unwrap_err();
    assert!(matches!(err, CliError::RunDir { .. }), "{err}");
    assert!(err.to_string().contains("ginrs eval --run-dir"), "{err}");
    // A missing optimiser record, then corrupt files: the module record, then the state.
    let last = run_dir.join(checkpoint::LAST_DIR);
    let optimizer = last.join(checkpoint::OPTIMIZER_FILE);
    std::fs::remove_file(&optimizer).unwrap();
    let err = train(config(&data, &run_dir, true, 2), &options(true, None)).unwrap_err();
    assert!(matches!(err, CliError::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("optimizer.bpk: missing"), "{err}");
    let model = last.join(checkpoint::MODEL_FILE);
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    let err = export(&run_dir, Which::Last, &dir.path().join("x.json")).unwrap_err();
    assert!(matches!(err, CliError::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    std::fs::write(&model, b"not a burn record").unwrap();
    let err = export(&run_dir, Which::Last, &dir.path().join("x.json")).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    // The record of another model (p = 3) in this run's checkpoint.
    std::fs::copy(
        p3.join(checkpoint::LAST_DIR).join(checkpoint::MODEL_FILE),
        &model,
    )
    .unwrap();
    let err = export(&run_dir, Which::Last, &dir.path().join("x.json")).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    std::fs::write(last.join(checkpoint::STATE_FILE), "{\"format\": ").unwrap();
    let err = export(&run_dir, Which::Last, &dir.path().join("x.json")).unwrap_err();
    assert!(err.to_string().contains("not a valid run state"), "{err}");
    // A best checkpoint without its state.
    std::fs::remove_file(
        run_dir
            .join(checkpoint::BEST_DIR)
            .join(checkpoint::STATE_FILE),
    )
    .unwrap();
    let err = evaluate(&eval_options(&run_dir, None)).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn configuration_files_and_flags_reach_the_run() {
    let (dir, data) = setup();
    let run_dir = dir.path().join("run");
    let file = dir.path().join("run.toml");
    std::fs::write(
        &file,
        format!(
            "dataset = {:?}\nrun_dir = {:?}\nepochs = 5\nbatch_size = 16\n\
             [model]\ndepth = 2\nnum_blocks = 1\n[schedule]\nkind = \"step\"\nevery_epochs = 1\n\
             factor = 0.5\n",
            data, run_dir
        ),
    )
    .unwrap();
    let cli = |extra: &[&str]| {
        let mut args = vec!["ginrs", "train", "--quiet", "--config"];
        args.push(file.to_str().unwrap());
        args.extend_from_slice(extra);
        Cli::try_parse_from(args).unwrap()
    };
    // --lr overrides nothing in the file; --epochs overrides the file's 5.
    run(cli(&["--epochs", "2", "--lr", "1e-2"])).unwrap();
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    assert_eq!(state.config.epochs, 2);
    assert_eq!(state.config.batch_size, 16);
    assert_eq!(state.config.learning_rate, 1e-2);
    let rates: Vec<f64> = state.history.iter().map(|m| m.learning_rate).collect();
    assert_eq!(rates, [1e-2, 5e-3]);
    // Resuming with a longer budget continues at epoch 3, on the same schedule.
    run(cli(&["--resume", "--epochs", "3"])).unwrap();
    let (_, resumed) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    assert_eq!(resumed.epochs_done, 3);
    assert_eq!(resumed.history[..2], state.history[..]);
    assert_eq!(resumed.history[2].learning_rate, 2.5e-3);
    // A bad value is named.
    let err = run(cli(&["--batch-size", "0"])).unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
    // The model flags reach the run: another architecture, counted as the runtime counts it.
    let other = dir.path().join("dil");
    let other_dir = other.to_str().unwrap();
    let flags = [
        "--run-dir",
        other_dir,
        "--epochs",
        "1",
        "--kind",
        "dilresnet",
    ];
    run(cli(&flags)).unwrap();
    let (_, state) = checkpoint::load_state(&other, Which::Last).unwrap();
    assert_eq!(state.config.model.kind, Architecture::Dilresnet);
    let expected = ginrs_runtime::Model::new(
        &state
            .config
            .model
            .config(&model_io(&state.schema, 2))
            .unwrap(),
        0,
    )
    .unwrap()
    .count_params();
    assert_eq!(state.params, expected);
    // Options the architecture lacks, and a grid the UNet cannot pool, are named.
    let err = run(cli(&["--kind", "dilresnet", "--num-conv", "2"])).unwrap_err();
    assert!(err.to_string().contains("num_conv"), "{err}");
    let err = run(cli(&["--kind", "unet", "--num-downsamples", "5"])).unwrap_err();
    assert!(
        err.to_string().contains("model.num_downsamples") && err.to_string().contains("16"),
        "{err}"
    );
}

#[test]
fn a_sweep_tabulates_seeds_and_reuses_finished_runs() {
    use ginrs_train::cli::sweep::{mean_std, read, sweep};
    let (dir, data) = setup();
    let out = dir.path().join("sweep");
    let file = dir.path().join("sweep.toml");
    std::fs::write(
        &file,
        format!(
            r#"dataset = "{}"
out = "{}"
seeds = [0, 1]
rollout_steps = 2

[common]
epochs = 1
batch_size = 8
learning_rate = 3e-3

[[models]]
name = "eqv"
model = {{ kind = "resnet", depth = 2, num_blocks = 1, use_group_norm = false }}

[[models]]
name = "base"
model = {{ kind = "resnet", depth = 2, num_blocks = 1, equivariant = false }}
"#,
            data.display(),
            out.display()
        ),
    )
    .unwrap();
    let config = read(&file).unwrap();
    let summary = sweep(&config, &options(false, None)).unwrap();
    assert_eq!(summary.models.len(), 2);
    assert!(summary.models.iter().all(|m| m.runs.len() == 2));
    let eqv = &summary.models[0];
    assert_eq!(eqv.runs[1].run_dir, out.join("eqv").join("seed-1"));
    // The two seeds train different models; the table holds their mean ± sample std.
    let errors: Vec<f64> = eqv
        .runs
        .iter()
        .map(|r| r.report.plain.one_step_l2_rel_error)
        .collect();
    assert_ne!(errors[0], errors[1]);
    let (mean, std) = mean_std(&errors);
    assert!((std - (errors[0] - errors[1]).abs() / 2f64.sqrt()).abs() < 1e-12);
    let row = summary.table.lines().nth(2).unwrap();
    assert!(
        row.starts_with("| eqv (equivariant ResNet) |"),
        "{}",
        summary.table
    );
    assert!(
        row.contains(&format!("| {mean:.2} ± {std:.2} |")),
        "{}",
        summary.table
    );
    let last = summary.table.lines().last().unwrap();
    assert!(last.starts_with("| persistence"), "{}", summary.table);
    assert_eq!(
        std::fs::read_to_string(out.join("summary.md")).unwrap(),
        summary.table
    );
    // A second sweep trains and evaluates nothing again: same runs, same files.
    let metrics = out.join("eqv/seed-0/eval/metrics.json");
    let before = std::fs::metadata(&metrics).unwrap().modified().unwrap();
    let again = sweep(&config, &options(false, None)).unwrap();
    assert_eq!(again.table, summary.table);
    assert_eq!(
        std::fs::metadata(&metrics).unwrap().modified().unwrap(),
        before
    );
    // Names must be unique.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("name = \"base\"", "name = \"eqv\"");
    std::fs::write(&file, text).unwrap();
    let err = read(&file).unwrap_err();
    assert!(err.to_string().contains("unique"), "{err}");
}
