//! Datasets on disk: a directory with `dataset.json` and one little-endian `float32` `.npy`
//! array per field, readable by `numpy.load`.
//!
//! Arrays: `velocity.npy` `(trajectories, frames, n, n, 2)`, `vorticity.npy` and `tracer.npy`
//! `(trajectories, frames, n, n)`, C order. Reading checks the description against itself and
//! each array header against the description, and each file's data size against its header,
//! before allocating.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::path::Path;

use ginrs_runtime::MultiImage;
use npyz::{DType, NpyFile, NpyHeader, Order, TypeStr, WriteOptions, WriterBuilder};
use serde::{Deserialize, Serialize};

use super::config::SimConfig;
use super::error::DatasetError;
use super::frame::{frame_to_multi_image, Field, Frame};

/// The `format` value of `dataset.json`.
pub const FORMAT: &str = "ginrs-turbulence2d";
/// The `version` value of `dataset.json` this reader understands.
pub const VERSION: u32 = 1;
/// The description's file name.
pub const DESCRIPTION_FILE: &str = "dataset.json";
/// The numpy dtype of every array: little-endian `float32`.
pub const DTYPE: &str = "<f4";

/// The contents of `dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The simulation parameters, seed included.
    pub config: SimConfig,
    /// Time between stored frames, `dt · steps_per_frame`.
    pub frame_interval: f64,
    /// Side of the periodic square domain, `2π`.
    pub domain_length: f64,
    /// One entry per stored array.
    pub fields: Vec<FieldDescription>,
}

/// One stored array in `dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDescription {
    /// The field's name ([`Field::name`]).
    pub name: String,
    /// The array's file name inside the dataset directory.
    pub file: String,
    /// The numpy dtype, [`DTYPE`].
    pub dtype: String,
    /// The array's shape.
    pub shape: Vec<u64>,
    /// Names of the array axes.
    pub axes: Vec<String>,
    /// Tensor order k of each pixel value (0 scalar, 1 vector).
    pub tensor_order: usize,
    /// Parity: 1 if the field changes sign under reflections.
    pub parity: u8,
}

impl Description {
    /// The description of a dataset made with `config`.
    pub fn new(config: &SimConfig) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            config: config.clone(),
            frame_interval: config.frame_interval(),
            domain_length: std::f64::consts::TAU,
            fields: Field::ALL
                .iter()
                .map(|&f| FieldDescription::new(config, f))
                .collect(),
        }
    }
}

impl FieldDescription {
    /// The description of `field` in a dataset made with `config`.
    pub fn new(config: &SimConfig, field: Field) -> Self {
        let mut axes = vec!["trajectory", "frame", "x0", "x1"];
        if field.tensor_order() == 1 {
            axes.push("component");
        }
        Self {
            name: field.name().to_owned(),
            file: format!("{}.npy", field.name()),
            dtype: DTYPE.to_owned(),
            shape: field_shape(config, field)
                .iter()
                .map(|&s| s as u64)
                .collect(),
            axes: axes.into_iter().map(str::to_owned).collect(),
            tensor_order: field.tensor_order(),
            parity: field.parity(),
        }
    }
}

/// The array shape of `field`: `(trajectories, frames, n, n)`, then `(2,)` for the velocity.
pub fn field_shape(config: &SimConfig, field: Field) -> Vec<usize> {
    let mut shape = vec![config.trajectories, config.frames, config.n, config.n];
    if field.tensor_order() == 1 {
        shape.push(2);
    }
    shape
}

/// All frames of all trajectories, with their configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    config: SimConfig,
    /// Indexed like [`Field::ALL`], each of shape [`field_shape`].
    arrays: [Vec<f32>; 3],
}

impl Dataset {
    /// Gathers the `trajectories · frames` frames of side `n` that the simulator made, given
    /// trajectory by trajectory, frame by frame.
    pub(super) fn from_frames<'a>(
        config: SimConfig,
        frames: impl Iterator<Item = &'a Frame>,
    ) -> Self {
        let mut arrays: [Vec<f32>; 3] = Default::default();
        for frame in frames {
            for (array, &field) in arrays.iter_mut().zip(&Field::ALL) {
                array.extend_from_slice(frame.field(field));
            }
        }
        Self { config, arrays }
    }

    /// A dataset from whole arrays (ordered like [`Field::ALL`], shapes [`field_shape`]);
    /// the configuration is validated and every length checked.
    pub fn new(config: SimConfig, arrays: [Vec<f32>; 3]) -> Result<Self, DatasetError> {
        config.validate()?;
        for (array, &field) in arrays.iter().zip(&Field::ALL) {
            let expected: usize = field_shape(&config, field).iter().product();
            if array.len() != expected {
                return Err(DatasetError::Length {
                    field: field.name(),
                    expected,
                    found: array.len(),
                });
            }
        }
        Ok(Self { config, arrays })
    }

    /// The configuration that made the data.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The whole array of one field, shape [`field_shape`], C order.
    pub fn array(&self, field: Field) -> &[f32] {
        &self.arrays[field_index(field)]
    }

    /// Frame `frame` of trajectory `trajectory`.
    pub fn frame(&self, trajectory: usize, frame: usize) -> Result<Frame, DatasetError> {
        let (trajectories, frames) = (self.config.trajectories, self.config.frames);
        if trajectory >= trajectories || frame >= frames {
            return Err(DatasetError::Index {
                trajectory,
                frame,
                trajectories,
                frames,
            });
        }
        let n = self.config.n;
        let slice = |field: Field| {
            let len = n * n * field.components();
            let start = (trajectory * frames + frame) * len;
            self.array(field)[start..start + len].to_vec()
        };
        Ok(Frame {
            n,
            velocity: slice(Field::Velocity),
            vorticity: slice(Field::Vorticity),
            tracer: slice(Field::Tracer),
        })
    }

    /// Frame `frame` of trajectory `trajectory` as a multi-image on the 2-D torus.
    pub fn multi_image(&self, trajectory: usize, frame: usize) -> Result<MultiImage, DatasetError> {
        Ok(frame_to_multi_image(&self.frame(trajectory, frame)?)?)
    }

    /// Writes the arrays, then `dataset.json`, into `dir` (created if missing).
    pub fn write(&self, dir: impl AsRef<Path>) -> Result<(), DatasetError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let description = Description::new(&self.config);
        for (entry, array) in description.fields.iter().zip(&self.arrays) {
            write_npy(&dir.join(&entry.file), &entry.shape, array)?;
        }
        let path = dir.join(DESCRIPTION_FILE);
        let json =
            serde_json::to_string_pretty(&description).map_err(|source| DatasetError::Json {
                path: path.clone(),
                source,
            })?;
        std::fs::write(&path, json + "\n").map_err(io_error(&path))
    }

    /// Reads a dataset written by [`write`](Self::write), validating the description and
    /// every array header and size.
    pub fn read(dir: impl AsRef<Path>) -> Result<Self, DatasetError> {
        let dir = dir.as_ref();
        let path = dir.join(DESCRIPTION_FILE);
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let description: Description =
            serde_json::from_str(&text).map_err(|source| DatasetError::Json {
                path: path.clone(),
                source,
            })?;
        check_description(&path, &description)?;
        let mut arrays: [Vec<f32>; 3] = Default::default();
        for (entry, array) in description.fields.iter().zip(&mut arrays) {
            *array = read_npy(&dir.join(&entry.file), &entry.shape)?;
        }
        Self::new(description.config, arrays)
    }
}

fn field_index(field: Field) -> usize {
    Field::ALL
        .iter()
        .position(|&f| f == field)
        .expect("ALL lists every field")
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Compares a parsed description with the one its own configuration implies.
fn check_description(path: &Path, found: &Description) -> Result<(), DatasetError> {
    let mismatch = |field: String, expected: String, found: String| DatasetError::Description {
        path: path.to_owned(),
        field,
        expected,
        found,
    };
    if found.format != FORMAT {
        return Err(mismatch(
            "format".into(),
            FORMAT.into(),
            found.format.clone(),
        ));
    }
    if found.version != VERSION {
        return Err(mismatch(
            "version".into(),
            VERSION.to_string(),
            found.version.to_string(),
        ));
    }
    found
        .config
        .validate()
        .map_err(|source| DatasetError::Config {
            path: path.to_owned(),
            source,
        })?;
    let expected = Description::new(&found.config);
    if found.frame_interval != expected.frame_interval {
        return Err(mismatch(
            "frame_interval".into(),
            expected.frame_interval.to_string(),
            found.frame_interval.to_string(),
        ));
    }
    if found.domain_length != expected.domain_length {
        return Err(mismatch(
            "domain_length".into(),
            expected.domain_length.to_string(),
            found.domain_length.to_string(),
        ));
    }
    if found.fields.len() != expected.fields.len() {
        return Err(mismatch(
            "fields".into(),
            format!("{} entries", expected.fields.len()),
            format!("{} entries", found.fields.len()),
        ));
    }
    for (i, (e, f)) in expected.fields.iter().zip(&found.fields).enumerate() {
        if e != f {
            return Err(mismatch(
                format!("fields[{i}]"),
                format!("{e:?}"),
                format!("{f:?}"),
            ));
        }
    }
    Ok(())
}

fn f32_dtype() -> DType {
    DType::Plain(
        DTYPE
            .parse::<TypeStr>()
            .expect("`<f4` is a valid type string"),
    )
}

fn write_npy(path: &Path, shape: &[u64], data: &[f32]) -> Result<(), DatasetError> {
    let file = File::create(path).map_err(io_error(path))?;
    let mut writer = WriteOptions::<f32>::new()
        .dtype(f32_dtype())
        .shape(shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(io_error(path))?;
    writer
        .extend(data.iter().copied())
        .map_err(io_error(path))?;
    writer.finish().map_err(io_error(path))
}

/// Reads a C-order `<f4` array of exactly `shape`, checking the data size against the header
/// before allocating.
fn read_npy(path: &Path, shape: &[u64]) -> Result<Vec<f32>, DatasetError> {
    let file = File::open(path).map_err(io_error(path))?;
    let file_len = file.metadata().map_err(io_error(path))?.len();
    let mut reader = BufReader::new(file);
    let header = NpyHeader::from_reader(&mut reader).map_err(|source| DatasetError::NpyHeader {
        path: path.to_owned(),
        source,
    })?;
    let layout = |dtype: &DType, order: Order, shape: &[u64]| {
        format!("dtype {}, {order:?} order, shape {shape:?}", dtype.descr())
    };
    let dtype = f32_dtype();
    if header.dtype() != dtype || header.order() != Order::C || header.shape() != shape {
        return Err(DatasetError::NpyLayout {
            path: path.to_owned(),
            expected: layout(&dtype, Order::C, shape),
            found: layout(&header.dtype(), header.order(), header.shape()),
        });
    }
    let offset = reader.stream_position().map_err(io_error(path))?;
    let expected = u128::from(header.len()) * 4;
    let found = file_len.saturating_sub(offset);
    if expected != u128::from(found) {
        return Err(DatasetError::NpySize {
            path: path.to_owned(),
            expected,
            found,
        });
    }
    NpyFile::with_header(header, reader)
        .into_vec::<f32>()
        .map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::simulate::simulate;

    fn small() -> Dataset {
        let config = SimConfig {
            n: 12,
            trajectories: 2,
            frames: 3,
            peak_wavenumber: 2.0,
            ..SimConfig::default()
        };
        simulate(&config).unwrap()
    }

    fn written() -> (tempfile::TempDir, Dataset) {
        let dir = tempfile::tempdir().unwrap();
        let dataset = small();
        dataset.write(dir.path()).unwrap();
        (dir, dataset)
    }

    fn path_of(err: &DatasetError) -> PathBuf {
        match err {
            DatasetError::Io { path, .. }
            | DatasetError::Json { path, .. }
            | DatasetError::Description { path, .. }
            | DatasetError::Config { path, .. }
            | DatasetError::NpyHeader { path, .. }
            | DatasetError::NpyLayout { path, .. }
            | DatasetError::NpySize { path, .. } => path.clone(),
            other => panic!("no path in {other}"),
        }
    }

    /// Writes raw bytes as a version-1.0 `.npy` header claiming `shape` of `<f4`, then `data`.
    fn raw_npy(path: &Path, shape: &[u64], data: &[u8]) {
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        let mut header = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
            dims.join(", ")
        );
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn write_then_read_is_identical() {
        let (dir, dataset) = written();
        let back = Dataset::read(dir.path()).unwrap();
        assert_eq!(back, dataset);
        for field in Field::ALL {
            let expected: usize = field_shape(dataset.config(), field).iter().product();
            assert_eq!(back.array(field).len(), expected);
        }
        let image = back.multi_image(1, 2).unwrap();
        assert_eq!(
            image.get(&Field::Velocity.key()).unwrap().shape(),
            vec![1, 12, 12, 2]
        );
        assert_eq!(
            image.get(&Field::Vorticity.key()).unwrap().data(),
            &dataset.frame(1, 2).unwrap().vorticity[..]
        );
        assert!(matches!(back.frame(2, 0), Err(DatasetError::Index { .. })));
    }

    /// The description names format, config (seed included), fields, shapes, dtypes, tensor
    /// orders and parities; the arrays start with the standard `.npy` magic and `<f4` header.
    #[test]
    fn description_and_headers_are_what_numpy_users_read() {
        let (dir, dataset) = written();
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("dataset.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(json["format"], FORMAT);
        assert_eq!(json["version"], VERSION);
        assert_eq!(json["config"]["seed"], dataset.config().seed);
        assert_eq!(json["frame_interval"], dataset.config().frame_interval());
        let fields = json["fields"].as_array().unwrap();
        let summary: Vec<(String, Vec<u64>, u64, u64)> = fields
            .iter()
            .map(|f| {
                assert_eq!(f["dtype"], "<f4");
                let shape = f["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_u64().unwrap());
                let name = f["name"].as_str().unwrap().to_owned();
                (
                    name,
                    shape.collect(),
                    f["tensor_order"].as_u64().unwrap(),
                    f["parity"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("velocity".into(), vec![2, 3, 12, 12, 2], 1, 0),
                ("vorticity".into(), vec![2, 3, 12, 12], 0, 1),
                ("tracer".into(), vec![2, 3, 12, 12], 0, 0),
            ]
        );
        let bytes = std::fs::read(dir.path().join("vorticity.npy")).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header = String::from_utf8_lossy(
            &bytes[10..10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))],
        );
        assert!(
            header.contains("'descr': '<f4'")
                && header
                    .replace(", )", ")")
                    .contains("'shape': (2, 3, 12, 12)"),
            "{header}"
        );
        // The data section is the little-endian f32 values in C order.
        let data = &bytes[bytes.len() - 4 * dataset.array(Field::Vorticity).len()..];
        assert_eq!(
            f32::from_le_bytes(data[..4].try_into().unwrap()),
            dataset.array(Field::Vorticity)[0]
        );
    }

    #[test]
    fn missing_array_is_an_io_error_naming_the_file() {
        let (dir, _) = written();
        std::fs::remove_file(dir.path().join("tracer.npy")).unwrap();
        let err = Dataset::read(dir.path()).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }), "{err}");
        assert!(path_of(&err).ends_with("tracer.npy"));
        assert!(err.to_string().contains("tracer.npy"));
        let missing = Dataset::read(dir.path().join("nowhere")).unwrap_err();
        assert!(path_of(&missing).ends_with("dataset.json"), "{missing}");
    }

    #[test]
    fn corrupt_array_is_a_header_error() {
        let (dir, _) = written();
        std::fs::write(dir.path().join("velocity.npy"), b"not an npy file at all").unwrap();
        let err = Dataset::read(dir.path()).unwrap_err();
        assert!(matches!(err, DatasetError::NpyHeader { .. }), "{err}");
        assert!(path_of(&err).ends_with("velocity.npy"));
    }

    #[test]
    fn truncated_array_is_a_size_error() {
        let (dir, _) = written();
        let path = dir.path().join("vorticity.npy");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 6]).unwrap();
        let err = Dataset::read(dir.path()).unwrap_err();
        match &err {
            DatasetError::NpySize {
                expected, found, ..
            } => {
                assert_eq!(*expected, 2 * 3 * 144 * 4);
                assert_eq!(u128::from(*found), expected - 6);
            }
            other => panic!("{other}"),
        }
        assert!(path_of(&err).ends_with("vorticity.npy"));
    }

    #[test]
    fn wrong_shape_or_dtype_is_a_layout_error() {
        let (dir, _) = written();
        raw_npy(
            &dir.path().join("tracer.npy"),
            &[2, 3, 12, 13],
            &[0; 2 * 3 * 12 * 13 * 4],
        );
        let err = Dataset::read(dir.path()).unwrap_err();
        assert!(matches!(err, DatasetError::NpyLayout { .. }), "{err}");
        assert!(path_of(&err).ends_with("tracer.npy"));
    }

    /// A description and header claiming 10¹² velocity values with a few bytes of data is
    /// rejected by the size check, before any allocation.
    #[test]
    fn huge_claim_with_short_file_is_rejected_before_allocating() {
        let (dir, dataset) = written();
        let config = SimConfig {
            trajectories: 1_000_000_000,
            frames: 1,
            n: 500,
            peak_wavenumber: 2.0,
            ..dataset.config().clone()
        };
        let description = Description::new(&config);
        let json = serde_json::to_string(&description).unwrap();
        std::fs::write(dir.path().join(DESCRIPTION_FILE), json).unwrap();
        let shape = &description.fields[0].shape;
        assert!(shape.iter().product::<u64>() >= 1_000_000_000_000);
        raw_npy(&dir.path().join("velocity.npy"), shape, &[0; 64]);
        let err = Dataset::read(dir.path()).unwrap_err();
        assert!(
            matches!(err, DatasetError::NpySize { found: 64, .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_in_description_is_a_json_error_naming_it() {
        let (dir, _) = written();
        let path = dir.path().join(DESCRIPTION_FILE);
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        json["fields"][1]["units"] = "1/s".into();
        std::fs::write(&path, json.to_string()).unwrap();
        let err = Dataset::read(dir.path()).unwrap_err();
        assert!(matches!(err, DatasetError::Json { .. }), "{err}");
        assert!(err.to_string().contains("units") && err.to_string().contains("dataset.json"));
    }

    #[test]
    fn inconsistent_description_is_named() {
        let (dir, _) = written();
        let path = dir.path().join(DESCRIPTION_FILE);
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cases: [(&str, serde_json::Value, &str); 4] = [
            ("/config/n", 13.into(), "`n`"),
            ("/fields/1/parity", 0.into(), "fields[1]"),
            ("/format", "other".into(), "format"),
            ("/frame_interval", 1.0.into(), "frame_interval"),
        ];
        for (pointer, value, named) in cases {
            let mut json = original.clone();
            *json.pointer_mut(pointer).unwrap() = value;
            std::fs::write(&path, json.to_string()).unwrap();
            let err = Dataset::read(dir.path()).unwrap_err();
            assert!(
                matches!(
                    err,
                    DatasetError::Config { .. } | DatasetError::Description { .. }
                ),
                "{err}"
            );
            assert!(err.to_string().contains(named), "{pointer}: {err}");
        }
    }

    #[test]
    fn new_checks_lengths() {
        let dataset = small();
        let mut arrays: [Vec<f32>; 3] = Field::ALL.map(|f| dataset.array(f).to_vec());
        arrays[2].pop();
        let err = Dataset::new(dataset.config().clone(), arrays).unwrap_err();
        assert!(
            matches!(
                err,
                DatasetError::Length {
                    field: "tracer",
                    ..
                }
            ),
            "{err}"
        );
    }
}
