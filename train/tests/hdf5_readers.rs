//! The HDF5 readers (`ginrs_train::data::hdf5`) on the files `scripts/make_hdf5_fixtures.py`
//! writes under `tests/fixtures/data/`: values against the script's closed form (recomputed
//! here), schemas, keys and parities, boundaries, the 3-D order-2 file, PDEBench's velocity
//! assembled from `Vx`, `Vy`, `Vz`, one test per damaged file, and the bounded frame cache on a
//! file written here, larger than the cache.

use std::path::{Path, PathBuf};

use ginrs_runtime::{MultiImage, TensorKey};
use ginrs_train::data::hdf5::{sniff, PdebenchFile, WellFile};
use ginrs_train::data::{Boundary, DataError, DataOptions, FieldSpec, Format, TrajectorySource};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

const PDEBENCH_2D: &str = "2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_16_Train.hdf5";
const PDEBENCH_3D: &str = "3D_CFD_Rand_M1.0_Eta1e-08_Zeta1e-08_periodic_8_Train.hdf5";

/// The script's closed form (`value` in scripts/make_hdf5_fixtures.py): one component of one
/// field at one grid point,
/// `round(64 Σ_m cos(2π k_m·(i − u t)/n + φ_m)/(m + 1))/64`,
/// `φ_m = 0.7 trajectory + 1.3 component + 0.5 m + 0.9 field`.
fn value(
    field: usize,
    trajectory: usize,
    frame: usize,
    shape: &[usize],
    index: &[usize],
    component: usize,
) -> f32 {
    const MODES_2D: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]];
    const MODES_3D: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]];
    const VELOCITY: [f64; 3] = [1.0, 0.5, 0.25];
    let modes = if shape.len() == 2 { MODES_2D } else { MODES_3D };
    let mut total = 0.0f64;
    for (m, k) in modes.iter().enumerate() {
        let phase =
            0.7 * trajectory as f64 + 1.3 * component as f64 + 0.5 * m as f64 + 0.9 * field as f64;
        let mut arg = 0.0;
        for a in 0..shape.len() {
            arg +=
                2.0 * std::f64::consts::PI * k[a] * (index[a] as f64 - VELOCITY[a] * frame as f64)
                    / shape[a] as f64;
        }
        total += (arg + phase).cos() / (m + 1) as f64;
    }
    ((total * 64.0 + 0.5).floor() / 64.0) as f32
}

/// The grid index of pixel `p` (row-major over `shape`).
fn unravel(mut p: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        index[a] = p % shape[a];
        p /= shape[a];
    }
    index
}

/// One expected channel: `(field, k, symmetric, offset)` of the closed form at
/// (`trajectory`, `frame`), row-major `(spatial…, d…)`.
fn expected_channel(
    shape: &[usize],
    (field, k, symmetric, offset): (usize, usize, bool, f32),
    trajectory: usize,
    frame: usize,
) -> Vec<f32> {
    let d = shape.len();
    let components = d.pow(k as u32);
    let pixels: usize = shape.iter().product();
    let mut out = Vec::with_capacity(pixels * components);
    for p in 0..pixels {
        let index = unravel(p, shape);
        for c in 0..components {
            let c = if symmetric && k == 2 {
                let (i, j) = (c / d, c % d);
                i.min(j) * d + i.max(j)
            } else {
                c
            };
            out.push(offset + value(field, trajectory, frame, shape, &index, c));
        }
    }
    out
}

/// Asserts the block of `key` in `image` holds `channels` (each from [`expected_channel`]).
fn assert_block(
    image: &MultiImage,
    key: TensorKey,
    channels: &[(usize, usize, bool, f32)],
    trajectory: usize,
    frame: usize,
) {
    let block = image
        .get(&key)
        .unwrap_or_else(|| panic!("no block {key} in {:?}", image.signature()));
    assert_eq!(block.channels(), channels.len(), "channels of {key}");
    let shape = image.geometry().spatial().to_vec();
    for (c, &spec) in channels.iter().enumerate() {
        let expected = expected_channel(&shape, spec, trajectory, frame);
        let got = block.channel(c);
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (g - e).abs() <= 1e-6,
                "{key} channel {c}, trajectory {trajectory}, frame {frame}, value {i}: read {g}, \
                 closed form {e}"
            );
        }
    }
}

fn keys(image: &MultiImage) -> Vec<(usize, u8, usize)> {
    image
        .blocks()
        .iter()
        .map(|b| (b.key().k(), b.key().parity(), b.channels()))
        .collect()
}

/// Asserts the error's message names the file and `location`.
fn assert_names(error: &DataError, file: &Path, location: &str) {
    let message = error.to_string();
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(message.contains(&*name), "`{message}` does not name {name}");
    assert!(
        message.contains(location),
        "`{message}` does not name {location}"
    );
}

#[test]
fn sniff_tells_the_formats_apart() {
    assert_eq!(
        sniff(&fixture("well_2d/data/train/a.hdf5")).unwrap(),
        Format::Well
    );
    assert_eq!(sniff(&fixture("well_3d_k2.hdf5")).unwrap(), Format::Well);
    assert_eq!(sniff(&fixture(PDEBENCH_2D)).unwrap(), Format::Pdebench);
    assert_eq!(sniff(&fixture(PDEBENCH_3D)).unwrap(), Format::Pdebench);
    let file = fixture("errors/well_no_fields.hdf5");
    let error = sniff(&file).unwrap_err();
    assert!(matches!(error, DataError::Format { .. }), "{error:?}");
    assert_names(&error, &file, "--format");
    assert!(error.to_string().contains("dimensions"), "{error}");
}

/// well_2d's fields: (field id of the closed form, k, symmetric, offset).
const BUOYANCY: (usize, usize, bool, f32) = (0, 0, false, 0.0);
const PRESSURE: (usize, usize, bool, f32) = (1, 0, false, 0.0);
const VELOCITY_2D: (usize, usize, bool, f32) = (2, 1, false, 0.0);
const OBSTACLE: (usize, usize, bool, f32) = (3, 0, false, 0.0);

#[test]
fn the_well_2d_reads_its_schema_and_values() {
    let path = fixture("well_2d/data/train/a.hdf5");
    let file = WellFile::open(&path, &DataOptions::default()).unwrap();
    let schema = file.schema();
    assert_eq!(schema.spatial, [16, 16]);
    assert_eq!(schema.torus, [true, true]);
    assert_eq!(schema.frame_interval, 0.25);
    assert_eq!(
        schema.fields,
        [
            FieldSpec::new("buoyancy", 0, 0),
            FieldSpec::new("pressure", 0, 0),
            FieldSpec::new("velocity", 1, 0),
        ]
    );
    assert_eq!(schema.constants, [FieldSpec::new("obstacle", 0, 0)]);
    assert_eq!((file.trajectories(), file.frames()), (3, 8));
    assert_eq!(file.path(), path);

    for (t, f) in [(0, 0), (0, 7), (1, 3), (2, 5)] {
        let frame = file.frame(t, f).unwrap();
        assert_eq!(keys(&frame), [(0, 0, 2), (1, 0, 1)]);
        assert_eq!(frame.signature(), schema.frame_signature());
        assert_block(&frame, TensorKey::new(0, 0), &[BUOYANCY, PRESSURE], t, f);
        assert_block(&frame, TensorKey::new(1, 0), &[VELOCITY_2D], t, f);
    }
    for t in 0..3 {
        let constants = file.constants(t).unwrap();
        assert_eq!(keys(&constants), [(0, 0, 1)]);
        assert_eq!(constants.signature(), schema.constant_signature());
        assert_block(&constants, TensorKey::new(0, 0), &[OBSTACLE], t, 0);
    }
    // A cached frame is the frame.
    assert_eq!(file.frame(1, 3).unwrap(), file.frame(1, 3).unwrap());
    assert!(matches!(
        file.frame(3, 0).unwrap_err(),
        DataError::Index { trajectory: 3, .. }
    ));
    assert!(matches!(
        file.frame(0, 8).unwrap_err(),
        DataError::Index { frame: 8, .. }
    ));
    assert!(matches!(
        file.constants(3).unwrap_err(),
        DataError::Index { .. }
    ));
}

#[test]
fn the_well_2d_splits_hold_their_own_trajectories() {
    // The script numbers trajectories across the parts: train 0..3, valid 3..5, test 5..7.
    for (part, trajectories, first) in [("train", 3, 0), ("valid", 2, 3), ("test", 2, 5)] {
        let file = WellFile::open(
            &fixture(&format!("well_2d/data/{part}/a.hdf5")),
            &DataOptions::default(),
        )
        .unwrap();
        assert_eq!(file.trajectories(), trajectories, "{part}");
        let last = trajectories - 1;
        let frame = file.frame(last, 6).unwrap();
        assert_block(
            &frame,
            TensorKey::new(1, 0),
            &[VELOCITY_2D],
            first + last,
            6,
        );
        let constants = file.constants(last).unwrap();
        assert_block(
            &constants,
            TensorKey::new(0, 0),
            &[OBSTACLE],
            first + last,
            0,
        );
    }
}

#[test]
fn parity_overrides_set_the_keys() {
    let mut options = DataOptions::default();
    options.parity.insert("pressure".into(), 1);
    options.parity.insert("velocity".into(), 1);
    let file = WellFile::open(&fixture("well_2d/data/train/a.hdf5"), &options).unwrap();
    assert_eq!(
        file.schema().fields,
        [
            FieldSpec::new("buoyancy", 0, 0),
            FieldSpec::new("pressure", 0, 1),
            FieldSpec::new("velocity", 1, 1),
        ]
    );
    let frame = file.frame(2, 4).unwrap();
    // Keys in order of first appearance, one channel per field of the key.
    assert_eq!(keys(&frame), [(0, 0, 1), (0, 1, 1), (1, 1, 1)]);
    assert_block(&frame, TensorKey::new(0, 0), &[BUOYANCY], 2, 4);
    assert_block(&frame, TensorKey::new(0, 1), &[PRESSURE], 2, 4);
    assert_block(&frame, TensorKey::new(1, 1), &[VELOCITY_2D], 2, 4);
    // The constant keeps parity 0.
    assert_eq!(keys(&file.constants(0).unwrap()), [(0, 0, 1)]);

    let mut options = DataOptions::default();
    options.parity.insert("velocity".into(), 1);
    let pdebench = PdebenchFile::open(&fixture(PDEBENCH_2D), &options).unwrap();
    assert_eq!(keys(&pdebench.frame(0, 0).unwrap()), [(0, 0, 2), (1, 1, 1)]);
}

#[test]
fn walls_are_zero_padded_and_periodic_axes_tori() {
    let file = WellFile::open(&fixture("well_2d_walls.hdf5"), &DataOptions::default()).unwrap();
    let schema = file.schema();
    assert_eq!(schema.torus, [true, false]);
    assert_eq!(schema.frame_interval, f64::from(0.1f32));
    assert_eq!(
        schema.fields,
        [
            FieldSpec::new("temperature", 0, 0),
            FieldSpec::new("velocity", 1, 0),
        ]
    );
    assert!(schema.constants.is_empty());
    assert_eq!((file.trajectories(), file.frames()), (4, 6));
    let frame = file.frame(3, 5).unwrap();
    assert_eq!(frame.geometry().torus(), [true, false]);
    assert_block(&frame, TensorKey::new(0, 0), &[(0, 0, false, 0.0)], 3, 5);
    assert_block(&frame, TensorKey::new(1, 0), &[(1, 1, false, 0.0)], 3, 5);
    // No constant fields: an image without blocks.
    let constants = file.constants(2).unwrap();
    assert!(constants.blocks().is_empty());
    assert_eq!(constants.geometry().spatial(), [16, 16]);
}

#[test]
fn the_well_3d_reads_order_two_tensors() {
    let file = WellFile::open(&fixture("well_3d_k2.hdf5"), &DataOptions::default()).unwrap();
    let schema = file.schema();
    assert_eq!(schema.spatial, [8, 8, 8]);
    assert_eq!(schema.torus, [true, true, true]);
    assert_eq!(schema.frame_interval, 0.5);
    assert_eq!(
        schema.fields,
        [
            FieldSpec::new("density", 0, 0),
            FieldSpec::new("velocity", 1, 0),
            FieldSpec::new("stress", 2, 0),
        ]
    );
    assert_eq!((file.trajectories(), file.frames()), (4, 6));
    for (t, f) in [(0, 0), (3, 5), (1, 2)] {
        let frame = file.frame(t, f).unwrap();
        let shapes: Vec<Vec<usize>> = frame.blocks().iter().map(|b| b.shape()).collect();
        assert_eq!(
            shapes,
            [
                vec![1, 8, 8, 8],
                vec![1, 8, 8, 8, 3],
                vec![1, 8, 8, 8, 3, 3]
            ]
        );
        assert_block(&frame, TensorKey::new(0, 0), &[(0, 0, false, 0.0)], t, f);
        assert_block(&frame, TensorKey::new(1, 0), &[(1, 1, false, 0.0)], t, f);
        assert_block(&frame, TensorKey::new(2, 0), &[(2, 2, true, 0.0)], t, f);
        // The stress is symmetric: component (i, j) equals (j, i).
        let stress = frame.get(&TensorKey::new(2, 0)).unwrap().data();
        for p in 0..512 {
            for (i, j) in [(0, 1), (0, 2), (1, 2)] {
                assert_eq!(stress[p * 9 + i * 3 + j], stress[p * 9 + j * 3 + i]);
            }
        }
    }
}

/// PDEBench's fields in the script: density (field 0) and pressure (1) offset by 2, velocity
/// (2) with components Vx, Vy [, Vz].
fn assert_pdebench_frame(file: &PdebenchFile, t: usize, f: usize) {
    let frame = file.frame(t, f).unwrap();
    assert_eq!(keys(&frame), [(0, 0, 2), (1, 0, 1)]);
    assert_block(
        &frame,
        TensorKey::new(0, 0),
        &[(0, 0, false, 2.0), (1, 0, false, 2.0)],
        t,
        f,
    );
    assert_block(&frame, TensorKey::new(1, 0), &[(2, 1, false, 0.0)], t, f);
}

#[test]
fn pdebench_2d_assembles_the_velocity_from_vx_and_vy() {
    let file = PdebenchFile::open(&fixture(PDEBENCH_2D), &DataOptions::default()).unwrap();
    let schema = file.schema();
    assert_eq!(schema.spatial, [16, 16]);
    assert_eq!(schema.torus, [true, true]);
    assert_eq!(schema.frame_interval, f64::from(0.05f32));
    assert_eq!(
        schema.fields,
        [
            FieldSpec::new("density", 0, 0),
            FieldSpec::new("pressure", 0, 0),
            FieldSpec::new("velocity", 1, 0),
        ]
    );
    assert!(schema.constants.is_empty());
    assert_eq!((file.trajectories(), file.frames()), (5, 8));
    for (t, f) in [(0, 0), (4, 7), (2, 3)] {
        assert_pdebench_frame(&file, t, f);
    }
    assert!(file.constants(4).unwrap().blocks().is_empty());
}

#[test]
fn pdebench_3d_assembles_the_velocity_from_vx_vy_and_vz() {
    let file = PdebenchFile::open(&fixture(PDEBENCH_3D), &DataOptions::default()).unwrap();
    let schema = file.schema();
    assert_eq!(schema.spatial, [8, 8, 8]);
    assert_eq!(schema.torus, [true, true, true]);
    assert_eq!(schema.frame_interval, f64::from(0.1f32));
    assert_eq!((file.trajectories(), file.frames()), (4, 5));
    for (t, f) in [(0, 0), (3, 4), (1, 2)] {
        assert_pdebench_frame(&file, t, f);
        let frame = file.frame(t, f).unwrap();
        assert_eq!(
            frame.get(&TensorKey::new(1, 0)).unwrap().shape(),
            [1, 8, 8, 8, 3]
        );
    }
}

#[test]
fn pdebench_takes_its_boundary_from_the_name_or_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture(PDEBENCH_2D);
    let copy = |name: &str| {
        let path = dir.path().join(name);
        std::fs::copy(&source, &path).unwrap();
        path
    };
    let trans = copy("2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_trans_16_Train.hdf5");
    let file = PdebenchFile::open(&trans, &DataOptions::default()).unwrap();
    assert_eq!(file.schema().torus, [false, false]);
    assert_eq!(file.frame(0, 0).unwrap().geometry().torus(), [false, false]);

    let unnamed = copy("cfd.hdf5");
    let error = PdebenchFile::open(&unnamed, &DataOptions::default()).unwrap_err();
    assert!(matches!(error, DataError::Options { .. }), "{error:?}");
    assert_names(&error, &unnamed, "--boundary periodic|outgoing");
    for (boundary, torus) in [(Boundary::Outgoing, false), (Boundary::Periodic, true)] {
        let options = DataOptions {
            boundary: Some(boundary),
            ..DataOptions::default()
        };
        assert_eq!(
            PdebenchFile::open(&unnamed, &options)
                .unwrap()
                .schema()
                .torus,
            [torus, torus]
        );
    }
    // The option wins over the name.
    let options = DataOptions {
        boundary: Some(Boundary::Outgoing),
        ..DataOptions::default()
    };
    let periodic = PdebenchFile::open(&source, &options).unwrap();
    assert_eq!(periodic.schema().torus, [false, false]);
}

// One test per damaged file: the error's variant, and a message that names the file and the
// object inside it.

fn open_error(name: &str) -> (PathBuf, DataError) {
    let path = fixture(name);
    let error = WellFile::open(&path, &DataOptions::default()).unwrap_err();
    (path, error)
}

#[test]
fn a_missing_group_is_named() {
    let (path, error) = open_error("errors/well_no_dimensions.hdf5");
    assert!(
        matches!(&error, DataError::Missing { location, what: "group", .. } if location == "/dimensions"),
        "{error:?}"
    );
    assert_names(&error, &path, "/dimensions");
}

#[test]
fn a_file_without_fields_is_refused() {
    let (path, error) = open_error("errors/well_no_fields.hdf5");
    assert!(matches!(error, DataError::Format { .. }), "{error:?}");
    assert_names(&error, &path, "t0_fields, t1_fields or t2_fields");
}

#[test]
fn a_field_of_the_wrong_rank_is_refused() {
    let (path, error) = open_error("errors/well_bad_rank.hdf5");
    match &error {
        DataError::Shape {
            location, found, ..
        } => {
            assert_eq!(location, "/t1_fields/velocity");
            assert_eq!(found, &[2, 3, 8, 8]);
        }
        other => panic!("{other:?}"),
    }
    assert_names(&error, &path, "/t1_fields/velocity");
    assert!(error.to_string().contains("(2, 3, 8, 8, 2)"), "{error}");
}

#[test]
fn a_field_on_another_grid_is_refused() {
    let (path, error) = open_error("errors/well_bad_side.hdf5");
    assert!(matches!(error, DataError::Shape { .. }), "{error:?}");
    assert_names(&error, &path, "/t1_fields/velocity");
}

#[test]
fn an_integer_field_is_refused() {
    let (path, error) = open_error("errors/well_int32.hdf5");
    match &error {
        DataError::Dtype {
            location, found, ..
        } => {
            assert_eq!(location, "/t0_fields/density");
            assert_eq!(found, "int32");
        }
        other => panic!("{other:?}"),
    }
    assert_names(&error, &path, "/t0_fields/density");
}

#[test]
fn a_nan_is_reported_with_its_trajectory_and_frame() {
    let path = fixture("errors/well_nan.hdf5");
    let file = WellFile::open(&path, &DataOptions::default()).unwrap();
    // The script put the NaN in trajectory 1, frame 2 of density.
    file.frame(1, 1).unwrap();
    file.frame(0, 2).unwrap();
    let error = file.frame(1, 2).unwrap_err();
    assert!(
        matches!(
            &error,
            DataError::NonFinite { location, trajectory: 1, frame: 2, .. } if location == "/t0_fields/density"
        ),
        "{error:?}"
    );
    assert_names(&error, &path, "/t0_fields/density");
}

#[test]
fn an_axis_without_a_boundary_condition_is_named() {
    let (path, error) = open_error("errors/well_no_bc_y.hdf5");
    assert!(matches!(error, DataError::Format { .. }), "{error:?}");
    assert_names(&error, &path, "/boundary_conditions");
    assert!(error.to_string().contains("axis `y`"), "{error}");
}

#[test]
fn a_lower_dimensional_field_is_refused() {
    let (path, error) = open_error("errors/well_lower_dim.hdf5");
    assert!(matches!(error, DataError::Format { .. }), "{error:?}");
    assert_names(&error, &path, "/t0_fields/profile@dim_varying");
    assert!(error.to_string().contains("whole grid"), "{error}");
}

#[test]
fn a_truncated_file_fails_cleanly() {
    let path = fixture("errors/well_truncated.hdf5");
    // The first half of the bytes: the metadata may survive, the later chunks do not.
    let error = match WellFile::open(&path, &DataOptions::default()) {
        Err(error) => error,
        Ok(file) => (0..file.trajectories())
            .flat_map(|t| (0..file.frames()).map(move |f| (t, f)))
            .find_map(|(t, f)| file.frame(t, f).err())
            .expect("a frame past the cut fails"),
    };
    assert!(
        matches!(error, DataError::Hdf5 { .. } | DataError::Missing { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("well_truncated.hdf5"), "{message}");
    assert!(message.contains(": /"), "names no object: {message}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let path = fixture("no_such_file.hdf5");
    assert!(matches!(
        WellFile::open(&path, &DataOptions::default()).unwrap_err(),
        DataError::Io { .. }
    ));
    assert!(matches!(
        PdebenchFile::open(&path, &DataOptions::default()).unwrap_err(),
        DataError::Io { .. }
    ));
}

#[test]
fn a_well_file_opened_as_pdebench_names_the_missing_dataset() {
    let path = fixture("well_2d_walls.hdf5");
    let options = DataOptions {
        boundary: Some(Boundary::Periodic),
        ..DataOptions::default()
    };
    let error = PdebenchFile::open(&path, &options).unwrap_err();
    assert!(
        matches!(&error, DataError::Missing { location, what: "dataset", .. } if location == "/density"),
        "{error:?}"
    );
    assert_names(&error, &path, "/density");
}

// The frame cache on files larger than it, written here with rust-hdf5.

/// Samples, frames and side of the written files: 4 × 16 frames of 64 × 64 × 4 float32
/// values, 4 MiB; one frame is 64 KiB.
const N: usize = 4;
const T: usize = 16;
const SIDE: usize = 64;
/// The cache budget: four frames.
const BUDGET: usize = 256 << 10;

/// The written files' closed form: distinct for every sample, frame, field, component and
/// pixel, exact in float32.
fn written(field: usize, sample: usize, frame: usize, pixel: usize) -> f32 {
    (field * 1_000_000 + sample * 100_000 + frame * 5000 + pixel) as f32 / 8.0
}

/// One field's array (N, T, SIDE, SIDE [, components]).
fn written_array(field: usize, components: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(N * T * SIDE * SIDE * components);
    for n in 0..N {
        for t in 0..T {
            for p in 0..SIDE * SIDE {
                for c in 0..components {
                    out.push(written(field + c, n, t, p));
                }
            }
        }
    }
    out
}

fn check_every_frame(source: &dyn TrajectorySource, fields: &[(TensorKey, &[usize])]) {
    for pass in 0..2 {
        for n in 0..N {
            for t in 0..T {
                let frame = source.frame(n, t).unwrap();
                for (key, ids) in fields {
                    let block = frame.get(key).unwrap();
                    let d = key.components(2);
                    for (c, &id) in ids.iter().enumerate() {
                        let channel = block.channel(c);
                        for p in (0..SIDE * SIDE).step_by(97) {
                            for j in 0..d {
                                assert_eq!(
                                    channel[p * d + j],
                                    written(id + j, n, t, p),
                                    "pass {pass}, sample {n}, frame {t}, {key}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_pdebench_file_larger_than_the_cache_is_read_within_its_budget() {
    use rust_hdf5::H5File;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("2D_CFD_written_periodic_64_Train.hdf5");
    {
        let file = H5File::create(&path).unwrap();
        for (name, field) in [("density", 0), ("pressure", 1), ("Vx", 2), ("Vy", 3)] {
            file.new_dataset::<f32>()
                .shape([N, T, SIDE, SIDE])
                .chunk(&[1, 1, SIDE, SIDE])
                .deflate(1)
                .create(name)
                .unwrap()
                .write_raw(&written_array(field, 1))
                .unwrap();
        }
        let times: Vec<f32> = (0..=T).map(|t| t as f32 * 0.5).collect();
        file.new_dataset::<f32>()
            .shape([T + 1])
            .create("t-coordinate")
            .unwrap()
            .write_raw(&times)
            .unwrap();
        file.close().unwrap();
    }
    let options = DataOptions {
        cache_bytes: BUDGET,
        ..DataOptions::default()
    };
    let reader = PdebenchFile::open(&path, &options).unwrap();
    assert_eq!(reader.schema().frame_interval, 0.5);
    assert_eq!((reader.trajectories(), reader.frames()), (N, T));
    check_every_frame(
        &reader,
        &[
            (TensorKey::new(0, 0), &[0, 1]),
            (TensorKey::new(1, 0), &[2]),
        ],
    );
    let cache = reader.cache();
    assert_eq!(cache.budget(), BUDGET);
    assert!(cache.peak_bytes() <= BUDGET, "peak {}", cache.peak_bytes());
    assert!(cache.peak_bytes() > 0);
    // Two passes over 64 frames with room for 4: every read a miss.
    assert_eq!(cache.reads(), 2 * N * T);
}

#[test]
fn a_well_file_larger_than_the_cache_is_read_within_its_budget() {
    use rust_hdf5::types::HBool;
    use rust_hdf5::H5File;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("written_well.hdf5");
    {
        let file = H5File::create(&path).unwrap();
        let root = file.root_group();
        root.set_attr_numeric("n_spatial_dims", &2i64).unwrap();
        root.set_attr_string("grid_type", "cartesian").unwrap();
        let dims = root.create_group("dimensions").unwrap();
        dims.set_attr_string_array("spatial_dims", &["x", "y"])
            .unwrap();
        let times: Vec<f32> = (0..T).map(|t| t as f32 * 0.25).collect();
        dims.new_dataset::<f32>()
            .shape([T])
            .create("time")
            .unwrap()
            .write_raw(&times)
            .unwrap();
        for axis in ["x", "y"] {
            dims.new_dataset::<f32>()
                .shape([SIDE])
                .create(axis)
                .unwrap()
                .write_raw(&vec![0.0f32; SIDE])
                .unwrap();
        }
        let bcs = root.create_group("boundary_conditions").unwrap();
        for (name, axis, kind) in [("x_periodic", "x", "PERIODIC"), ("y_wall", "y", "WALL")] {
            let bc = bcs.create_group(name).unwrap();
            bc.set_attr_string_array("associated_dims", &[axis])
                .unwrap();
            bc.set_attr_string("bc_type", kind).unwrap();
        }
        for (group, name, field, components) in [("t0_fields", "u", 0, 1), ("t1_fields", "w", 1, 2)]
        {
            let g = root.create_group(group).unwrap();
            g.set_attr_string_array("field_names", &[name]).unwrap();
            let mut shape = vec![N, T, SIDE, SIDE];
            let mut chunk = vec![1, 1, SIDE, SIDE];
            if components > 1 {
                shape.push(components);
                chunk.push(components);
            }
            let ds = g
                .new_dataset::<f32>()
                .shape(&shape)
                .chunk(&chunk)
                .deflate(1)
                .create(name)
                .unwrap();
            ds.write_raw(&written_array(field, components)).unwrap();
            for (attr, value) in [("time_varying", true), ("sample_varying", true)] {
                ds.new_attr::<HBool>()
                    .shape(())
                    .create(attr)
                    .unwrap()
                    .write_numeric(&HBool::from(value))
                    .unwrap();
            }
            ds.new_attr::<HBool>()
                .shape([2])
                .create("dim_varying")
                .unwrap()
                .write_array(&[HBool::from(true), HBool::from(true)])
                .unwrap();
        }
        file.close().unwrap();
    }
    let options = DataOptions {
        cache_bytes: BUDGET,
        ..DataOptions::default()
    };
    let reader = WellFile::open(&path, &options).unwrap();
    let schema = reader.schema();
    assert_eq!(schema.torus, [true, false]);
    assert_eq!(
        schema.fields,
        [FieldSpec::new("u", 0, 0), FieldSpec::new("w", 1, 0)]
    );
    check_every_frame(
        &reader,
        &[(TensorKey::new(0, 0), &[0]), (TensorKey::new(1, 0), &[1])],
    );
    let cache = reader.cache();
    assert!(cache.peak_bytes() <= BUDGET, "peak {}", cache.peak_bytes());
    assert_eq!(cache.reads(), 2 * N * T);
}

#[test]
fn frames_and_chunks_beyond_the_limit_are_refused_before_reading() {
    use rust_hdf5::H5File;
    let dir = tempfile::tempdir().unwrap();
    // Frames of 8192 × 8192 × 4 float32 values (1 GiB) in a file of a few kilobytes: no chunk
    // was written, so nothing could be read anyway.
    let write = |name: &str, shape: &[usize], chunk: &[usize]| {
        let path = dir.path().join(name);
        let file = H5File::create(&path).unwrap();
        for field in ["density", "pressure", "Vx", "Vy"] {
            file.new_dataset::<f32>()
                .shape(shape)
                .chunk(chunk)
                .create(field)
                .unwrap();
        }
        file.new_dataset::<f32>()
            .shape([3])
            .create("t-coordinate")
            .unwrap()
            .write_raw(&[0.0f32, 1.0, 2.0])
            .unwrap();
        file.close().unwrap();
        path
    };
    // With a budget of 1 MiB the limit is 64 MiB (MIN_FRAME_LIMIT).
    let small_budget = DataOptions {
        cache_bytes: 1 << 20,
        ..DataOptions::default()
    };
    let huge = write("huge_periodic.hdf5", &[1, 2, 8192, 8192], &[1, 1, 64, 64]);
    let error = PdebenchFile::open(&huge, &small_budget).unwrap_err();
    assert!(
        matches!(&error, DataError::Shape { found, .. } if found == &[1, 2, 8192, 8192]),
        "{error:?}"
    );
    assert!(error.to_string().contains("frames of at most"), "{error}");
    // A budget above the frame lifts the limit.
    let options = DataOptions {
        cache_bytes: 2 << 30,
        ..DataOptions::default()
    };
    PdebenchFile::open(&huge, &options).unwrap();

    let chunky = write(
        "chunky_periodic.hdf5",
        &[1, 2, 8192, 8192],
        &[1, 1, 8192, 8192],
    );
    // A chunk of 256 MiB would be decompressed whole to read any part of it.
    let error = PdebenchFile::open(&chunky, &small_budget).unwrap_err();
    assert!(
        matches!(&error, DataError::Shape { location, .. } if location == "/density"),
        "{error:?}"
    );
    assert!(error.to_string().contains("chunks"), "{error}");
}

#[test]
fn filters_whose_decoders_trust_the_chunk_bytes_are_refused() {
    use rust_hdf5::format::messages::datatype::DatatypeMessage;
    use rust_hdf5::{FilterPipeline, H5File};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nbit_periodic.hdf5");
    {
        let file = H5File::create(&path).unwrap();
        let values = vec![1.0f32; 2 * 2 * 8 * 8];
        for field in ["density", "pressure", "Vx", "Vy"] {
            let builder = file
                .new_dataset::<f32>()
                .shape([2, 2, 8, 8])
                .chunk(&[1, 1, 8, 8]);
            let builder = if field == "pressure" {
                builder.filter_pipeline(FilterPipeline::nbit(&DatatypeMessage::f32_type(), 64))
            } else {
                builder.deflate(1)
            };
            builder.create(field).unwrap().write_raw(&values).unwrap();
        }
        file.new_dataset::<f32>()
            .shape([3])
            .create("t-coordinate")
            .unwrap()
            .write_raw(&[0.0f32, 1.0, 2.0])
            .unwrap();
        file.close().unwrap();
    }
    let error = PdebenchFile::open(&path, &DataOptions::default()).unwrap_err();
    assert!(
        matches!(&error, DataError::Format { location, .. } if location == "/pressure"),
        "{error:?}"
    );
    assert_names(&error, &path, "n-bit (filter id 5)");
}
