//! Data-parallel training on 2 MPI ranks: 2 processes on loopback (feature `mpi`).
//!
//! A test without libtest's harness: `cargo test -p ginrs-train --features mpi --test
//! distributed` runs `main`, which starts `mpirun -np 2 --oversubscribe` itself, on this
//! binary (worker scenarios through the library, chosen by `GINRS_DISTRIBUTED_WORKER`) and on
//! the `ginrs` binary (the command line). Open MPI (`mpirun`) must be installed.
//!
//! The runs: after one step both ranks hold identical parameters, equal to one process
//! stepping on the whole batch; 3 steps of 2 ranks (batch shards 2, 2 and a last batch of one
//! window, which leaves rank 1 none) match 1 process with the same global batch to 1e-5 per
//! parameter array; a seeded 2-rank run is deterministic; a run resumed on another number of
//! ranks continues the trajectory; a rank killed mid-run ends the job, leaves a readable
//! checkpoint, and `--resume` continues; and the errors for a batch that does not split, a
//! missing launcher, a launch without `--mpi` and ranks that disagree.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use ginrs_train::cli::checkpoint::{self, RunState, Which};
use ginrs_train::cli::config::TrainConfig;
use ginrs_train::cli::data::{self, model_io};
use ginrs_train::cli::model::{build_model, Architecture, ModelSpec};
use ginrs_train::cli::simulate::simulate;
use ginrs_train::data::{SplitFractions, Windows};
use ginrs_train::distributed::{self, check_agreement, Agreement, DistributedError, Ranks};
use ginrs_train::error::TrainError;
use ginrs_train::image::read_f32;
use ginrs_train::loss::Reduce;
use ginrs_train::models::Model;
use ginrs_train::simulate::SimConfig;
use ginrs_train::step::Trainer;
use serde_json::json;

const WORKER: &str = "GINRS_DISTRIBUTED_WORKER";
const GINRS: &str = env!("CARGO_BIN_EXE_ginrs");
/// The global batch of the runs; the training split holds 9 windows: batches of 4, 4 and 1.
const BATCH: usize = 4;

/// A test case: it gets the directory of the shared dataset.
type Test = fn(&Path);

fn main() {
    if let Ok(scenario) = std::env::var(WORKER) {
        let arg = |i: usize| PathBuf::from(std::env::args().nth(i).expect("the worker's paths"));
        match scenario.as_str() {
            "one_step" => worker_one_step(&arg(1), &arg(2)),
            "disagreement" => worker_disagreement(),
            other => panic!("unknown worker scenario {other}"),
        }
        return;
    }
    let tests: [(&str, Test); 8] = [
        (
            "replicas_are_identical_after_one_step_and_equal_one_process",
            replicas_are_identical_after_one_step,
        ),
        (
            "two_ranks_follow_one_process_and_are_deterministic",
            two_ranks_follow_one_process_and_are_deterministic,
        ),
        (
            "a_run_resumed_on_another_number_of_ranks_continues",
            a_run_resumed_on_another_number_of_ranks_continues,
        ),
        (
            "a_killed_rank_ends_the_job_and_resume_continues",
            a_killed_rank_ends_the_job_and_resume_continues,
        ),
        (
            "bad_launches_are_refused_with_what_to_do",
            bad_launches_are_refused,
        ),
        (
            "ranks_that_disagree_are_named",
            ranks_that_disagree_are_named,
        ),
        (
            "the_data_split_is_as_the_tests_assume",
            the_data_split_is_as_the_tests_assume,
        ),
        (
            "an_hdf5_dataset_trains_on_two_ranks_as_on_one",
            an_hdf5_dataset_trains_on_two_ranks_as_on_one,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let data = tempfile::tempdir().unwrap();
    tiny_dataset(data.path());
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        println!("test {name} ...");
        test(data.path());
        println!(
            "test {name} ... ok ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Set-up

/// 6 trajectories of 5 frames of 16 × 16 turbulence in `dir/data`: with 2 past frames and
/// half the trajectories for training, 9 training windows.
fn tiny_dataset(dir: &Path) {
    let config = SimConfig {
        n: 16,
        trajectories: 6,
        frames: 5,
        peak_wavenumber: 3.0,
        ..SimConfig::default()
    };
    simulate(&config, &dir.join("data"), false).unwrap();
}

fn config(data: &Path, run_dir: &Path) -> TrainConfig {
    TrainConfig {
        dataset: data.join("data"),
        run_dir: run_dir.to_owned(),
        epochs: 1,
        batch_size: BATCH,
        split: SplitFractions {
            train: 0.5,
            val: 0.15,
        },
        seed: 7,
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

/// The training flags of [`config`] for `ginrs train`.
fn train_args(data: &Path, run_dir: &Path, epochs: usize) -> Vec<String> {
    let config = config(data, run_dir);
    [
        "train",
        "--quiet",
        "--data",
        config.dataset.to_str().unwrap(),
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--epochs",
        &epochs.to_string(),
        "--batch-size",
        &BATCH.to_string(),
        "--train-fraction",
        "0.5",
        "--val-fraction",
        "0.15",
        "--seed",
        "7",
    ]
    .iter()
    .chain(&MODEL_FLAGS)
    .map(|a| a.to_string())
    .collect()
}

/// The model of every run: [`config`]'s small ResNet.
const MODEL_FLAGS: [&str; 8] = [
    "--kind",
    "resnet",
    "--depth",
    "1",
    "--num-blocks",
    "1",
    "--use-group-norm",
    "false",
];

/// `mpirun -np <ranks> --oversubscribe` (as root too, as CI runs), without Open MPI's
/// single-copy shared-memory mechanism (containers often forbid its `process_vm_readv`).
fn mpirun(ranks: usize) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["-np", &ranks.to_string(), "--oversubscribe"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    command
}

fn run(mut command: Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("mpirun (Open MPI) must be installed: apt-get install openmpi-bin");
    output
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn succeed(command: Command) -> Output {
    let output = run(command);
    assert!(output.status.success(), "{}", text(&output));
    output
}

/// `ginrs train` on `ranks` ranks (1: a plain process), with `extra` flags.
fn ginrs_train(ranks: usize, data: &Path, run_dir: &Path, epochs: usize, extra: &[&str]) -> Output {
    let mut args = train_args(data, run_dir, epochs);
    args.extend(extra.iter().map(|a| a.to_string()));
    ginrs(ranks, &args)
}

/// `ginrs ARGS` on `ranks` ranks (1: a plain process, without `--mpi`).
fn ginrs(ranks: usize, args: &[String]) -> Output {
    let mut command = if ranks == 1 {
        Command::new(GINRS)
    } else {
        let mut c = mpirun(ranks);
        c.args([GINRS]);
        c
    };
    command.args(args);
    if ranks > 1 {
        command.arg("--mpi");
    }
    succeed(command)
}

/// Every float parameter's values, in the module's visiting order.
fn parameters<M: Module>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(read_f32(&param.val()).unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

fn last_checkpoint(run_dir: &Path) -> (RunState, Vec<Vec<f32>>) {
    let (dir, state) = checkpoint::load_state(run_dir, Which::Last).unwrap();
    let model = checkpoint::load_model(&dir, &state, &Device::flex()).unwrap();
    (state, parameters(&model))
}

/// The largest per-array error `max |a − b| / max |b|` of two parameter lists.
fn worst_relative_error(got: &[Vec<f32>], want: &[Vec<f32>]) -> f64 {
    assert_eq!(got.len(), want.len(), "parameter arrays");
    got.iter()
        .zip(want)
        .map(|(a, b)| {
            assert_eq!(a.len(), b.len());
            let scale = b.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
            let diff = a
                .iter()
                .zip(b)
                .fold(0f64, |m, (x, y)| m.max(f64::from((x - y).abs())));
            if scale == 0.0 {
                diff
            } else {
                diff / scale
            }
        })
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------
// The library on 2 ranks

fn setup(dir: &Path, device: &Device) -> (Model, Windows, TrainConfig) {
    let config = config(dir, &dir.join("unused"));
    let dataset = data::open_dataset(&config).unwrap();
    let io = model_io(&dataset.schema, config.past_steps);
    let train = Windows::new(&dataset.train, config.past_steps).unwrap();
    let model = build_model(&config.model, &io, device, config.seed).unwrap();
    (model, train, config)
}

/// One step of a trainer on `windows` of the training split, as `share` of the batch.
fn one_step(dir: &Path, windows: &[usize], share: f64, ranks: &Ranks) -> Vec<Vec<f32>> {
    let device = Device::flex().autodiff();
    let (model, train, config) = setup(dir, &device);
    let mut trainer = Trainer::new(model, config.optimizer(), config.learning_rate);
    let (input, target) = data::batch(&train, windows, &device).unwrap();
    let loss = config.loss.loss();
    trainer
        .step_shared(
            |m| loss.compute(&m.forward(&input)?, &target, Reduce::Mean),
            share,
            ranks,
        )
        .unwrap();
    parameters(trainer.module())
}

/// The gradients of `share ×` the mean loss on `windows`, all-reduced over `ranks`, per
/// parameter array.
fn reduced_gradients(data: &Path, windows: &[usize], share: f64, ranks: &Ranks) -> Vec<Vec<f32>> {
    struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let grad = self
                .0
                .get::<D>(param.id)
                .expect("every parameter has a gradient");
            self.1.push(read_f32(&grad).unwrap());
        }
    }
    let device = Device::flex().autodiff();
    let (model, train, config) = setup(data, &device);
    let (input, target) = data::batch(&train, windows, &device).unwrap();
    let loss = config
        .loss
        .loss()
        .compute(&model.forward(&input).unwrap(), &target, Reduce::Mean)
        .unwrap()
        .mul_scalar(share);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let grads = distributed::gradients::all_reduce(&model, grads, &mut [], ranks).unwrap();
    let mut collect = Collect(&grads, Vec::new());
    model.visit(&mut collect);
    collect.1
}

fn write_f32(path: &Path, arrays: &[Vec<f32>]) {
    let bytes: Vec<u8> = arrays
        .concat()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(path, bytes).unwrap();
}

/// `path`'s f32 values, cut into arrays of the lengths of `like`.
fn read_arrays(path: &Path, like: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap();
    let values: Vec<f32> = bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), like.iter().map(Vec::len).sum::<usize>());
    let mut rest = &values[..];
    like.iter()
        .map(|a| {
            let (head, tail) = rest.split_at(a.len());
            rest = tail;
            head.to_vec()
        })
        .collect()
}

/// One step on 2 ranks through the library; each rank writes its all-reduced gradients and
/// its parameters after the step to `out`.
fn worker_one_step(data: &Path, out: &Path) {
    let ranks = Ranks::init(true).unwrap();
    let batch: Vec<usize> = (0..BATCH).collect();
    let shard = &batch[distributed::shard(BATCH, ranks.size(), ranks.rank())];
    let share = shard.len() as f64 / BATCH as f64;
    let grads = reduced_gradients(data, shard, share, &ranks);
    write_f32(&out.join(format!("rank{}.grads", ranks.rank())), &grads);
    let params = one_step(data, shard, share, &ranks);
    write_f32(&out.join(format!("rank{}.params", ranks.rank())), &params);
}

fn replicas_are_identical_after_one_step(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let mut command = mpirun(2);
    command
        .env(WORKER, "one_step")
        .arg(std::env::current_exe().unwrap())
        .args([data, work]);
    succeed(command);
    for what in ["grads", "params"] {
        let rank0 = std::fs::read(work.join(format!("rank0.{what}"))).unwrap();
        let rank1 = std::fs::read(work.join(format!("rank1.{what}"))).unwrap();
        assert!(!rank0.is_empty());
        assert_eq!(
            rank0, rank1,
            "both ranks hold bit-identical {what} after one step"
        );
    }
    // One process on the whole batch: the summed gradients are the whole batch's (this
    // checks the shares: Adam's step barely notices a gradient off by a constant factor).
    let batch: Vec<usize> = (0..BATCH).collect();
    let single = Ranks::single();
    let want = reduced_gradients(data, &batch, 1.0, &single);
    let got = read_arrays(&work.join("rank0.grads"), &want);
    let error = worst_relative_error(&got, &want);
    println!("    all-reduced gradients of 2 ranks vs 1 process: {error:.2e}");
    assert!(error <= 1e-5, "gradients: {error:.2e}");
    let rank0_half = reduced_gradients(data, &batch[..BATCH / 2], 0.5, &single);
    assert!(
        worst_relative_error(&rank0_half, &want) > 1e-2,
        "rank 0's half batch alone has other gradients"
    );
    let alone = one_step(data, &batch, 1.0, &single);
    let ranked = read_arrays(&work.join("rank0.params"), &alone);
    let before = {
        let (model, _, _) = setup(data, &Device::flex().autodiff());
        parameters(&model)
    };
    assert!(
        worst_relative_error(&alone, &before) > 1e-4,
        "the step moved the parameters"
    );
    let error = worst_relative_error(&ranked, &alone);
    println!("    parameters after one step, 2 ranks vs 1 process: {error:.2e}");
    assert!(
        error <= 1e-5,
        "2 ranks vs 1 process after one step: {error:.2e}"
    );
}

fn worker_disagreement() {
    let ranks = Ranks::init(true).unwrap();
    let mine = Agreement {
        configuration: json!({"learning_rate": 0.001}),
        data: json!({"train_windows": 9 + ranks.rank()}),
    };
    let error = check_agreement(&ranks, &mine).unwrap_err();
    let DistributedError::Disagreement { rank, what, detail } = &error else {
        panic!("{error}");
    };
    assert_eq!((*rank, *what), (1, "data"));
    if ranks.rank() == 1 {
        assert_eq!(detail, " (train_windows: 10 here, 9 on rank 0)");
    } else {
        assert_eq!(detail, "");
    }
    // The same configuration and data agree.
    let same = Agreement {
        configuration: json!({"learning_rate": 0.001}),
        data: json!({"train_windows": 9}),
    };
    assert_eq!(check_agreement(&ranks, &same), Ok(()));
    assert!(matches!(
        TrainError::from(error),
        TrainError::Distributed(DistributedError::Disagreement { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// The command line on 2 ranks

fn the_data_split_is_as_the_tests_assume(data: &Path) {
    let (_, train, _) = setup(data, &Device::flex());
    assert_eq!(train.len(), 9, "9 training windows: batches of 4, 4 and 1");
}

fn two_ranks_follow_one_process_and_are_deterministic(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let (one, two, again) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("again"),
    );
    ginrs_train(1, data, &one, 1, &[]);
    let output = ginrs_train(2, data, &two, 1, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.matches("trained epochs 1..=1").count(),
        1,
        "rank 0 alone prints the summary:\n{stdout}"
    );
    assert!(stdout.contains("2 ranks"), "{stdout}");
    ginrs_train(2, data, &again, 1, &[]);

    let (state_one, params_one) = last_checkpoint(&one);
    let (state_two, params_two) = last_checkpoint(&two);
    assert_eq!(state_one.steps, 3);
    assert_eq!(state_two.steps, 3);
    assert_eq!(state_two.history[0].ranks, 2);
    assert_eq!(state_one.history[0].ranks, 1);
    let error = worst_relative_error(&params_two, &params_one);
    println!("    2 ranks vs 1 process after 3 steps: {error:.2e}");
    assert!(
        error <= 1e-5,
        "2 ranks vs 1 process after 3 steps: {error:.2e}"
    );
    let (m1, m2) = (&state_one.history[0], &state_two.history[0]);
    for (a, b) in [(m2.train_loss, m1.train_loss), (m2.val_loss, m1.val_loss)] {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "losses {a} vs {b}");
    }
    let (state_again, params_again) = last_checkpoint(&again);
    assert_eq!(
        params_again, params_two,
        "a seeded 2-rank run is deterministic"
    );
    assert_eq!(state_again.history[0].train_loss, m2.train_loss);
    assert_eq!(state_again.history[0].val_loss, m2.val_loss);
    assert_eq!(state_again.normalization, state_two.normalization);
    // Rank 0 alone wrote the run directory: its files, and no other.
    let mut names: Vec<String> = std::fs::read_dir(&two)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["best", "checkpoint", "metrics.jsonl"]);
}

fn a_run_resumed_on_another_number_of_ranks_continues(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let (whole, split_2_1, split_1_2) = (
        dir.path().join("whole"),
        dir.path().join("two_then_one"),
        dir.path().join("one_then_two"),
    );
    ginrs_train(2, data, &whole, 2, &[]);
    ginrs_train(2, data, &split_2_1, 2, &["--stop-after", "1"]);
    ginrs_train(1, data, &split_2_1, 2, &["--resume"]);
    ginrs_train(1, data, &split_1_2, 2, &["--stop-after", "1"]);
    ginrs_train(2, data, &split_1_2, 2, &["--resume"]);
    let (state, want) = last_checkpoint(&whole);
    assert_eq!((state.epochs_done, state.steps), (2, 6));
    for run in [&split_2_1, &split_1_2] {
        let (resumed, got) = last_checkpoint(run);
        assert_eq!((resumed.epochs_done, resumed.steps), (2, 6));
        let error = worst_relative_error(&got, &want);
        println!(
            "    resumed {} vs uninterrupted: {error:.2e}",
            run.display()
        );
        assert!(error <= 1e-5, "{}: {error:.2e}", run.display());
    }
    let (resumed, _) = last_checkpoint(&split_2_1);
    assert_eq!(
        resumed.history.iter().map(|m| m.ranks).collect::<Vec<_>>(),
        [2, 1]
    );
}

/// The pid of rank `rank` of the job whose command line mentions `marker`.
fn rank_pid(rank: usize, marker: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()? {
        let entry = entry.ok()?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let is_ginrs = cmdline.split(|&b| b == 0).next() == Some(GINRS.as_bytes());
        let mentions = String::from_utf8_lossy(&cmdline).contains(marker);
        let is_rank = environ
            .split(|&b| b == 0)
            .any(|v| v == format!("OMPI_COMM_WORLD_RANK={rank}").as_bytes());
        if is_ginrs && mentions && is_rank {
            return Some(pid);
        }
    }
    None
}

fn a_killed_rank_ends_the_job_and_resume_continues(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("killed");
    let mut command = mpirun(2);
    command
        .arg(GINRS)
        .args(train_args(data, &run_dir, 10_000))
        .arg("--mpi")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut job = command.spawn().expect("mpirun must be installed");
    let deadline = Instant::now() + Duration::from_secs(300);
    // Wait for the second checkpoint, so that the kill lands between checkpoints.
    while checkpoint::load_state(&run_dir, Which::Last).map_or(true, |(_, s)| s.epochs_done < 2) {
        assert!(Instant::now() < deadline, "no checkpoint within 300 s");
        assert!(job.try_wait().unwrap().is_none(), "the job ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let marker = run_dir.to_str().unwrap();
    let pid = rank_pid(1, marker).expect("rank 1's process");
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    assert!(killed.unwrap().success());
    let started = Instant::now();
    let output = job.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the job ended {:.0} s after the kill",
        started.elapsed().as_secs_f64()
    );
    assert!(!output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "    killed after epoch {}; the job ended {:.2} s later",
        checkpoint::load_state(&run_dir, Which::Last)
            .unwrap()
            .1
            .epochs_done,
        started.elapsed().as_secs_f64()
    );
    assert!(
        stderr.contains("rank 1") && stderr.contains("signal 9"),
        "mpirun names the killed rank and its signal:\n{stderr}"
    );
    assert!(rank_pid(0, marker).is_none(), "rank 0 ended with the job");
    // The last checkpoint is complete and readable.
    let (state, params) = last_checkpoint(&run_dir);
    let done = state.epochs_done;
    assert!(done >= 2);
    assert_eq!(state.history.len(), done);
    assert_eq!(state.steps, 3 * done);
    assert!(params.iter().flatten().all(|v| v.is_finite()));
    // `--resume` continues it (here to one more epoch).
    ginrs_train(2, data, &run_dir, done + 1, &["--resume"]);
    let (resumed, _) = last_checkpoint(&run_dir);
    assert_eq!(resumed.epochs_done, done + 1);
    assert_eq!(resumed.steps, 3 * (done + 1));
    assert_eq!(resumed.history[..done], state.history[..]);
}

fn failing(command: Command) -> String {
    let output = run(command);
    assert!(!output.status.success(), "{}", text(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn bad_launches_are_refused(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    // A rank count that does not divide the global batch.
    let mut args = train_args(data, &run_dir, 1);
    let at = args.iter().position(|a| a == "--batch-size").unwrap();
    args[at + 1] = "3".into();
    let mut command = mpirun(2);
    command.arg(GINRS).args(args).arg("--mpi");
    let stderr = failing(command);
    assert!(
        stderr.contains("batch_size 3 is not a multiple of the 2 ranks")
            && stderr.contains("e.g. 4"),
        "{stderr}"
    );
    // --mpi without a launcher.
    let mut command = Command::new(GINRS);
    command.args(train_args(data, &run_dir, 1)).arg("--mpi");
    for variable in distributed::launcher::VARIABLES {
        command.env_remove(variable);
    }
    let stderr = failing(command);
    assert!(
        stderr.contains("--mpi needs an MPI launcher") && stderr.contains("mpirun -np N"),
        "{stderr}"
    );
    // Several ranks launched without --mpi.
    let mut command = mpirun(2);
    command.arg(GINRS).args(train_args(data, &run_dir, 1));
    let stderr = failing(command);
    assert!(
        stderr.contains("started by mpirun (Open MPI), but --mpi was not given"),
        "{stderr}"
    );
    assert!(
        !checkpoint::exists(&run_dir),
        "no refused launch wrote a checkpoint"
    );
}

fn ranks_that_disagree_are_named(data: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    // Two ranks with different learning rates (Open MPI's MPMD syntax: `a : b`).
    let mut command = mpirun(1);
    command
        .arg(GINRS)
        .args(train_args(data, &run_dir, 1))
        .args(["--mpi", "--lr", "0.001", ":", "-np", "1", GINRS])
        .args(train_args(data, &run_dir, 1))
        .args(["--mpi", "--lr", "0.002"]);
    let stderr = failing(command);
    assert!(
        stderr.contains(
            "rank 1's configuration differs from rank 0's (learning_rate: 0.002 here, 0.001 on \
             rank 0)"
        ),
        "{stderr}"
    );
    assert!(!checkpoint::exists(&run_dir));
    // The data: through the library (identical paths with other contents need two machines).
    let mut command = mpirun(2);
    command
        .env(WORKER, "disagreement")
        .arg(std::env::current_exe().unwrap())
        .args([data, dir.path()]);
    succeed(command);
}

/// The Well's directory (train/valid/test files, a constant field): 2 ranks, each reading its
/// shards' hyperslabs, against one process.
fn an_hdf5_dataset_trains_on_two_ranks_as_on_one(_: &Path) {
    let well = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data/well_2d");
    let dir = tempfile::tempdir().unwrap();
    let args = |run: &str| -> Vec<String> {
        let run_dir = dir.path().join(run);
        [
            "train",
            "--quiet",
            "--data",
            well.to_str().unwrap(),
            "--parity",
            "buoyancy=0",
            "--past-steps",
            "1",
            "--run-dir",
            run_dir.to_str().unwrap(),
            "--epochs",
            "2",
            "--batch-size",
            "4",
        ]
        .iter()
        .chain(&MODEL_FLAGS)
        .map(|a| a.to_string())
        .collect()
    };
    ginrs(1, &args("one"));
    ginrs(2, &args("two"));
    let (one, want) = last_checkpoint(&dir.path().join("one"));
    let (two, got) = last_checkpoint(&dir.path().join("two"));
    assert!(one.steps >= 4, "{} steps", one.steps);
    assert_eq!(two.steps, one.steps);
    assert_eq!(two.normalization.is_some(), one.normalization.is_some());
    let error = worst_relative_error(&got, &want);
    println!(
        "    The Well's directory, 2 ranks vs 1 process after {} steps: {error:.2e}",
        one.steps
    );
    assert!(error <= 1e-5, "{error:.2e}");
}
