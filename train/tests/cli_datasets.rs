//! `ginrs train` and `ginrs eval` on the community's formats: The Well's directory layout and
//! files (2-D with a constant field, 2-D with a wall, 3-D with a rank-2 field) and PDEBench's
//! 2-D and 3-D files, all committed under `tests/fixtures/data/` (written by
//! `scripts/make_hdf5_fixtures.py`). Each trains a small model for one epoch through the
//! command line and evaluates it; the 3-D case checks that an equivariant model's errors are
//! unchanged under all 48 elements of B_3.

use std::path::{Path, PathBuf};

use clap::Parser;
use ginrs_runtime::TensorKey;
use ginrs_train::cli::checkpoint::{self, Which};
use ginrs_train::cli::compare::read_report;
use ginrs_train::cli::evaluate::EvalReport;
use ginrs_train::cli::{run, Cli};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(name)
}

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("ginrs").chain(args.iter().copied())).unwrap()
}

/// Trains a one-block ResNet of depth 2 for one epoch on `data` with `extra` flags, evaluates
/// it over 2 rollout steps and returns the run directory and the evaluation.
fn train_and_eval(dir: &Path, data: &Path, extra: &[&str]) -> (PathBuf, EvalReport) {
    let run_dir = dir.join("run");
    let (data, run_str) = (data.to_str().unwrap(), run_dir.to_str().unwrap());
    let mut flags = vec![
        "train",
        "--data",
        data,
        "--run-dir",
        run_str,
        "--past-steps",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--kind",
        "resnet",
        "--depth",
        "2",
        "--num-blocks",
        "1",
        "--quiet",
    ];
    flags.extend_from_slice(extra);
    run(cli(&flags)).unwrap();
    let eval = [
        "eval",
        "--run-dir",
        run_str,
        "--rollout-steps",
        "2",
        "--quiet",
    ];
    run(cli(&eval)).unwrap();
    let report = read_report(&run_dir).unwrap();
    (run_dir, report)
}

fn assert_errors_finite(report: &EvalReport) {
    for value in [
        report.plain.one_step_l2_rel_error,
        report.persistence.one_step_l2_rel_error,
        report.plain.rollout_l2_rel_error_mean,
    ] {
        assert!(value.is_finite() && value > 0.0, "{value}");
    }
}

#[test]
fn the_well_directory_trains_with_its_own_splits_and_constant_field() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("well_2d");
    let (run_dir, report) = train_and_eval(dir.path(), &data, &["--parity", "buoyancy=0"]);
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    let schema = &state.schema;
    assert_eq!(schema.spatial, [16, 16]);
    assert_eq!(schema.torus, [true, true]);
    let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["buoyancy", "pressure", "velocity"]);
    assert_eq!(schema.constants.len(), 1, "{schema:?}");
    assert_eq!(schema.constants[0].name, "obstacle");
    // Scalars: the constant obstacle, then p = 1 frame of buoyancy and pressure; one vector.
    let input = schema.input_signature(1);
    assert_eq!(input.channels(&TensorKey::scalar()), Some(3));
    assert_eq!(input.channels(&TensorKey::vector()), Some(1));
    // The test split is the files of test/: 2 trajectories of 8 frames, 7 windows each.
    assert_eq!(report.test_parts.len(), 1);
    assert!(report.test_parts[0].file.ends_with("data/test/a.hdf5"));
    assert_eq!(report.test_parts[0].trajectories, [0, 2]);
    assert_eq!(report.windows, 2 * 7);
    assert_eq!((report.symmetry.as_str(), report.group_order), ("full", 8));
    assert_errors_finite(&report);
    assert!(
        report.spectra.len() == 2,
        "a periodic square with a velocity has spectra"
    );
}

#[test]
fn pdebench_files_train_in_2d_and_3d() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_16_Train.hdf5");
    let (run_dir, report) = train_and_eval(
        &dir.path().join("2d"),
        &file,
        &["--train-fraction", "0.6", "--val-fraction", "0.2"],
    );
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    let names: Vec<&str> = state
        .schema
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["density", "pressure", "velocity"]);
    assert_eq!(state.schema.torus, [true, true]);
    // 5 samples: 3 train, 1 validation, 1 test.
    assert_eq!(report.test_parts[0].trajectories, [4, 5]);
    assert_errors_finite(&report);
    assert_eq!(
        report
            .plain
            .one_step_l2_rel_error_per_field
            .keys()
            .collect::<Vec<_>>(),
        ["density+pressure", "velocity"]
    );

    let file = fixture("3D_CFD_Rand_M1.0_Eta1e-08_Zeta1e-08_periodic_8_Train.hdf5");
    let (run_dir, report) = train_and_eval(
        &dir.path().join("3d"),
        &file,
        &[
            "--train-fraction",
            "0.5",
            "--val-fraction",
            "0.25",
            "--symmetry",
            "rotations",
        ],
    );
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    assert_eq!(state.schema.spatial, [8, 8, 8]);
    assert_eq!(
        (report.symmetry.as_str(), report.group_order),
        ("rotations", 24)
    );
    assert_errors_finite(&report);
}

#[test]
fn a_3d_rank_2_field_gives_errors_unchanged_under_all_of_b3() {
    let dir = tempfile::tempdir().unwrap();
    let (run_dir, report) = train_and_eval(
        dir.path(),
        &fixture("well_3d_k2.hdf5"),
        &[
            "--train-fraction",
            "0.5",
            "--val-fraction",
            "0.25",
            "--use-group-norm",
            "false",
        ],
    );
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    assert!(
        state.schema.fields.iter().any(|f| f.k == 2),
        "{:?}",
        state.schema
    );
    assert_eq!(report.group_order, 48);
    assert_eq!(report.transformed.len(), 48);
    assert_errors_finite(&report);
    let plain = &report.plain;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * b.abs();
    for element in &report.transformed {
        let e = &element.errors;
        assert!(
            close(e.one_step_l2_rel_error, plain.one_step_l2_rel_error),
            "{:?}: {} vs {}",
            element.element,
            e.one_step_l2_rel_error,
            plain.one_step_l2_rel_error
        );
        for (a, b) in e
            .rollout_l2_rel_error
            .iter()
            .zip(&plain.rollout_l2_rel_error)
        {
            assert!(close(*a, *b), "{:?}: rollout {a} vs {b}", element.element);
        }
        for (field, b) in &plain.one_step_l2_rel_error_per_field {
            let a = e.one_step_l2_rel_error_per_field[field];
            assert!(close(a, *b), "{:?}: {field} {a} vs {b}", element.element);
        }
    }
}

#[test]
fn a_wall_leaves_only_the_elements_that_keep_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (run_dir, report) = train_and_eval(
        dir.path(),
        &fixture("well_2d_walls.hdf5"),
        &[
            "--train-fraction",
            "0.5",
            "--val-fraction",
            "0.25",
            "--symmetry",
            "flips-x",
        ],
    );
    let (_, state) = checkpoint::load_state(&run_dir, Which::Last).unwrap();
    assert_eq!(state.schema.torus, [true, false]);
    assert_eq!(
        (report.symmetry.as_str(), report.group_order),
        ("flips-x", 2)
    );
    assert!(report.spectra.is_empty(), "no spectra off the torus");
    assert_errors_finite(&report);
}

#[test]
fn dataset_options_that_do_not_fit_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let with = |data: &str, extra: &[&str]| {
        let data = fixture(data);
        let mut flags = vec![
            "train",
            "--data",
            data.to_str().unwrap(),
            "--run-dir",
            run_dir.to_str().unwrap(),
            "--epochs",
            "1",
            "--quiet",
        ];
        flags.extend_from_slice(extra);
        run(cli(&flags)).unwrap_err().to_string()
    };
    let unknown = with("well_2d", &["--parity", "vorticity=1"]);
    assert!(
        unknown.contains("`vorticity`") && unknown.contains("buoyancy"),
        "{unknown}"
    );
    let norm = with(
        "well_3d_k2.hdf5",
        &[
            "--kind",
            "resnet",
            "--train-fraction",
            "0.5",
            "--val-fraction",
            "0.25",
        ],
    );
    assert!(norm.contains("use_group_norm = false"), "{norm}");
    let pdebench_as_well = with("well_2d", &["--format", "pdebench"]);
    assert!(pdebench_as_well.contains("well_2d"), "{pdebench_as_well}");
    assert!(Cli::try_parse_from(["ginrs", "train", "--parity", "u=2"]).is_err());
    assert!(Cli::try_parse_from(["ginrs", "train", "--symmetry", "mirror"]).is_err());
}
