//! What a new user of the `ginrs` tool meets first: the defaults in `ginrs train --help`,
//! a run that remembers where its dataset is, and errors that say what to do.
#![cfg(feature = "cli")]

use std::path::{Component, Path, PathBuf};
use std::process::Command as Process;

use burn::tensor::Device;
use clap::{CommandFactory, Parser};
use ginrs_train::cli::args::DeviceChoice;
use ginrs_train::cli::checkpoint::{self, Which};
use ginrs_train::cli::config::TrainConfig;
use ginrs_train::cli::model::{Architecture, ModelSpec};
use ginrs_train::cli::simulate::simulate;
use ginrs_train::cli::train::{train, TrainOptions};
use ginrs_train::cli::{Cli, CliError, Command};
use ginrs_train::distributed::Ranks;
use ginrs_train::simulate::{Dataset, SimConfig};

/// A tiny dataset in `dir/data`.
fn tiny_dataset(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let config = SimConfig {
        n: 16,
        trajectories: 6,
        frames: 4,
        peak_wavenumber: 3.0,
        ..SimConfig::default()
    };
    simulate(&config, &data, false).unwrap();
    data
}

fn tiny_config(data: &Path, run_dir: &Path) -> TrainConfig {
    TrainConfig {
        dataset: data.to_owned(),
        run_dir: run_dir.to_owned(),
        epochs: 1,
        model: ModelSpec {
            kind: Architecture::Resnet,
            depth: 1,
            num_blocks: Some(1),
            use_group_norm: Some(false),
            ..ModelSpec::default()
        },
        ..TrainConfig::default()
    }
}

fn options() -> TrainOptions {
    TrainOptions {
        device: DeviceChoice::FLEX.device(&Ranks::single()).unwrap(),
        resume: false,
        stop_after: None,
        progress: false,
        ranks: Ranks::single(),
    }
}

/// `to` as a path relative to `from` (both absolute), through the root if need be.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let ups = from
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let mut path: PathBuf = std::iter::repeat_n("..", ups).collect();
    path.extend(
        to.components()
            .filter(|c| matches!(c, Component::Normal(_))),
    );
    path
}

#[test]
fn train_help_shows_the_defaults_of_the_configuration() {
    let out = Process::new(env!("CARGO_BIN_EXE_ginrs"))
        .args(["train", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // Whitespace collapsed, so wrapped lines read as one.
    let help = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let train = TrainConfig::default();
    let spec = ModelSpec::default();
    let expected = [
        ("--kind", "resnet".to_string()),
        ("--depth", spec.depth.to_string()),
        ("--kernel-size", spec.kernel_size.to_string()),
        ("--max-k", spec.max_k.to_string()),
        ("--equivariant", spec.equivariant.to_string()),
        ("--past-steps", train.past_steps.to_string()),
        ("--epochs", train.epochs.to_string()),
        ("--batch-size", train.batch_size.to_string()),
        ("--lr", train.learning_rate.to_string()),
        ("--schedule", "cosine".to_string()),
        ("--optimizer", "adam".to_string()),
        ("--weight-decay", train.weight_decay.to_string()),
        ("--loss", "smse".to_string()),
        ("--train-fraction", train.split.train.to_string()),
        ("--val-fraction", train.split.val.to_string()),
        ("--seed", train.seed.to_string()),
    ];
    assert_eq!(spec.kind, Architecture::Resnet);
    for (flag, value) in expected {
        let at = help
            .find(&format!("{flag} <"))
            .unwrap_or_else(|| panic!("{flag} missing: {help}"));
        let rest = &help[at..];
        let default = rest.find("[default: ").map(|i| &rest[i + 10..]);
        assert!(
            default.is_some_and(|d| d.starts_with(&format!("{value}]"))),
            "{flag}: expected [default: {value}] in {rest}"
        );
        // The next flag's entry comes after this one's default.
        let next = rest[2..].find(" --").unwrap_or(rest.len());
        assert!(rest.find("[default: ").unwrap() < next, "{flag}: {rest}");
    }
    // The flags still override only when given: absent, the configuration file decides.
    let cli = Cli::try_parse_from(["ginrs", "train"]).unwrap();
    let Command::Train(args) = cli.command else {
        panic!("not train")
    };
    assert_eq!((args.epochs, args.depth, args.kind), (None, None, None));
    assert_eq!(args.overrides(), serde_json::json!({}));
    Cli::command().debug_assert();
}

#[test]
fn a_run_stores_the_absolute_dataset_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    // The dataset as a relative path from the working directory (not changed here: tests
    // share it), as a user types `--data data` where they simulated.
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let given = relative(&cwd, &data.canonicalize().unwrap());
    assert!(given.is_relative());
    let run_dir = dir.path().join("run");
    let state = train(tiny_config(&given, &run_dir), &options()).unwrap();
    assert!(
        state.config.dataset.is_absolute(),
        "{:?}",
        state.config.dataset
    );
    assert_eq!(state.config.dataset, data.canonicalize().unwrap());
    let (_, saved) = checkpoint::load_state(&run_dir, Which::Best).unwrap();
    assert_eq!(saved.config.dataset, state.config.dataset);
    // So the stored path opens the dataset from anywhere.
    Dataset::read(&saved.config.dataset).unwrap();
}

#[test]
fn a_missing_dataset_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("turb");
    let err = train(tiny_config(&missing, &dir.path().join("run")), &options()).unwrap_err();
    assert!(matches!(err, CliError::Data(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("no dataset at {}", missing.display()))
            && text.contains(&format!("`ginrs simulate --out {}`", missing.display()))
            && text.contains("--data"),
        "{text}"
    );
    // A dataset with an array cut short: simulate it again, or another --data.
    let data = tiny_dataset(dir.path());
    let array = data.join("vorticity.npy");
    let bytes = std::fs::read(&array).unwrap();
    std::fs::write(&array, &bytes[..bytes.len() - 8]).unwrap();
    let err = train(tiny_config(&data, &dir.path().join("run")), &options()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("vorticity.npy")
            && text.contains("ginrs simulate")
            && text.contains("--data"),
        "{text}"
    );
}

#[test]
fn damaged_checkpoints_say_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    let run_dir = dir.path().join("run");
    train(tiny_config(&data, &run_dir), &options()).unwrap();
    let device = Device::flex();
    let load = |which: Which| {
        let (dir, state) = checkpoint::load_state(&run_dir, which)?;
        checkpoint::load_model(&dir, &state, &device)
    };
    let truncate = |which: Which| {
        let path = run_dir.join(which.dir_name()).join(checkpoint::MODEL_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        bytes
    };
    // A truncated best model: use the last checkpoint.
    let best = truncate(Which::Best);
    let err = load(Which::Best).unwrap_err();
    assert!(matches!(err, CliError::Checkpoint { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("best") && text.contains("corrupt") && text.ends_with("or retrain the run"),
        "{text}"
    );
    assert!(text.contains("`--checkpoint last`"), "{text}");
    load(Which::Last).unwrap();
    // A truncated last model: the run cannot be resumed; the best checkpoint may still serve.
    std::fs::write(
        run_dir
            .join(Which::Best.dir_name())
            .join(checkpoint::MODEL_FILE),
        best,
    )
    .unwrap();
    truncate(Which::Last);
    let text = load(Which::Last).unwrap_err().to_string();
    assert!(
        text.contains("cannot be resumed")
            && text.contains("retrain")
            && text.contains("`--checkpoint best`"),
        "{text}"
    );
    load(Which::Best).unwrap();
    // No run at all: point --run-dir at one.
    let text = checkpoint::load_state(&dir.path().join("nothing"), Which::Best)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("missing") && text.contains("--run-dir"),
        "{text}"
    );
    // A run without a best checkpoint: use the last one.
    std::fs::remove_dir_all(run_dir.join(Which::Best.dir_name())).unwrap();
    let text = checkpoint::load_state(&run_dir, Which::Best)
        .unwrap_err()
        .to_string();
    assert!(text.contains("`--checkpoint last`"), "{text}");
}

#[test]
fn devices_are_parsed_and_a_device_this_build_lacks_is_refused() {
    let parse = |device: &str| {
        Cli::try_parse_from(["ginrs", "train", "--device", device]).map(|cli| match cli.command {
            Command::Train(args) => args.run.device,
            _ => unreachable!("a train command line"),
        })
    };
    assert_eq!(parse("flex").unwrap(), DeviceChoice::FLEX);
    let cuda = parse("cuda:3").unwrap();
    assert_eq!((cuda.backend.name(), cuda.index), ("cuda", Some(3)));
    assert_eq!(cuda.to_string(), "cuda:3");
    assert_eq!(parse("wgpu").unwrap().index, None);
    for (device, message) in [
        ("flex:1", "flex is the CPU and takes no index"),
        (
            "tpu",
            "unknown device `tpu`: use flex, wgpu, wgpu:N, cuda or cuda:N",
        ),
        ("cuda:x", "`x` is not a device index"),
    ] {
        let error = parse(device).unwrap_err().to_string();
        assert!(error.contains(message), "{device}: {error}");
    }
    #[cfg(not(feature = "cuda"))]
    {
        let error = cuda.device(&Ranks::single()).unwrap_err().to_string();
        assert!(
            error.contains(
                "this build has no `cuda` device: build ginrs-train with `--features cuda`"
            ),
            "{error}"
        );
    }
}

/// A GPU index this machine does not have (with Mesa's lavapipe, wgpu's only adapter is a CPU).
#[cfg(feature = "wgpu")]
#[test]
fn a_gpu_this_machine_does_not_have_is_refused() {
    let missing: DeviceChoice = "wgpu:7".parse().unwrap();
    let error = missing.device(&Ranks::single()).unwrap_err().to_string();
    assert!(
        error.contains("wgpu:7") && error.contains("this machine has no such device"),
        "{error}"
    );
}

#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_in_a_build_without_it_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = Process::new(env!("CARGO_BIN_EXE_ginrs"))
        .args(["train", "--mpi", "--run-dir"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this build has no MPI: build ginrs-train with `--features mpi`"),
        "{stderr}"
    );
}
