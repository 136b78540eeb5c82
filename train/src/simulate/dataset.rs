//! Datasets on disk: a directory with `dataset.json` and one little-endian `float32` `.npy`
//! array per field, readable by `numpy.load`.
//!
//! Arrays: `velocity.npy` `(trajectories, frames, n, n, 2)`, `vorticity.npy` and `tracer.npy`
//! `(trajectories, frames, n, n)`, C order. Reading checks the description against itself and
//! each array header against the description, and each file's data size against its header,
//! before allocating.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek};
use std::path::{Path, PathBuf};

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
        config.validate().map_err(|source| DatasetError::Config {
            path: PathBuf::from(DESCRIPTION_FILE),
            source,
        })?;
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
