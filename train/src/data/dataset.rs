//! [`Dataset`]: the train, validation and test parts of one dataset, and [`open`], which
//! detects the format, reads the description of every file and splits the trajectories.
//!
//! The splits follow the file layout where there is one: The Well ships
//! `train/`, `valid/` and `test/` directories of HDF5 files. Otherwise (one file, a directory
//! of files, a turbulence directory) the trajectories, taken in order over the files, are
//! split by [`SplitFractions`]: the first `⌊train · T⌉` for training, the next `⌊val · T⌉`
//! for validation, the rest for testing, so no window of one trajectory is in two splits.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::hdf5::{self, PdebenchFile, WellFile};
use super::options::{DataOptions, Format};
use super::schema::Schema;
use super::source::TrajectorySource;
use super::turbulence::TurbulenceDir;

/// The fractions of the trajectories given to training and validation; the test split
/// gets the rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitFractions {
    /// Fraction of the trajectories for training.
    pub train: f64,
    /// Fraction of the trajectories for validation.
    pub val: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        Self {
            train: 0.7,
            val: 0.15,
        }
    }
}

/// Some trajectories of one source.
#[derive(Debug, Clone)]
pub struct Part {
    /// The file or directory.
    pub source: Arc<dyn TrajectorySource>,
    /// Its trajectories in this split.
    pub trajectories: Range<usize>,
}

/// The trajectories of one split, source by source.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// The parts, in order.
    pub parts: Vec<Part>,
}

impl Split {
    /// The number of trajectories.
    pub fn trajectories(&self) -> usize {
        self.parts.iter().map(|p| p.trajectories.len()).sum()
    }
}

/// A dataset opened for training or evaluation.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The path the user gave.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// The grid, boundary and fields every source shares.
    pub schema: Schema,
    /// The training trajectories.
    pub train: Split,
    /// The validation trajectories.
    pub val: Split,
    /// The test trajectories.
    pub test: Split,
}

/// The directory names of The Well's splits (training, validation, test).
pub const WELL_SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Opens the dataset at `path` (a file or directory) in the format `options` names or the
/// one detected, and splits it.
pub fn open(
    path: &Path,
    options: &DataOptions,
    fractions: SplitFractions,
) -> Result<Dataset, DataError> {
    let format = match options.format {
        Some(format) => format,
        None => detect(path)?,
    };
    if format == Format::Turbulence && !options.parity.is_empty() {
        return Err(DataError::Options {
            path: path.to_owned(),
            message: "a turbulence directory records its parities; drop --parity".into(),
        });
    }
    let layout = if path.is_dir() && format == Format::Well {
        well_layout(path)?
    } else {
        None
    };
    let [train, val, test] = match layout {
        Some(files) => {
            let mut splits: [Vec<Arc<dyn TrajectorySource>>; 3] = Default::default();
            for (split, files) in splits.iter_mut().zip(files) {
                for file in files {
                    split.push(Arc::new(WellFile::open(&file, options)?));
                }
            }
            splits.map(|sources| Split {
                parts: sources
                    .into_iter()
                    .map(|source| Part {
                        trajectories: 0..source.trajectories(),
                        source,
                    })
                    .collect(),
            })
        }
        None => {
            let sources = open_sources(path, format, options)?;
            split_by_fractions(path, &sources, fractions)?
        }
    };
    let schema = shared_schema(path, [&train, &val, &test])?;
    for name in options.parity.keys() {
        if schema.field(name).is_none() {
            let known: Vec<&str> = schema
                .fields
                .iter()
                .chain(&schema.constants)
                .map(|f| f.name.as_str())
                .collect();
            return Err(DataError::Options {
                path: path.to_owned(),
                message: format!(
                    "--parity names `{name}`, which is not a field; the fields are {}",
                    known.join(", ")
                ),
            });
        }
    }
    Ok(Dataset {
        path: path.to_owned(),
        format,
        schema,
        train,
        val,
        test,
    })
}

/// The format of `path`: a directory with `dataset.json` is a turbulence directory, other
/// directories hold The Well's files, and a file is sniffed for The Well's or PDEBench's
/// datasets.
pub fn detect(path: &Path) -> Result<Format, DataError> {
    if path.is_dir() {
        if path.join(crate::simulate::DESCRIPTION_FILE).is_file() {
            return Ok(Format::Turbulence);
        }
        return Ok(Format::Well);
    }
    if !path.exists() {
        return Err(DataError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        });
    }
    hdf5::sniff(path)
}

/// The HDF5 files of The Well's `train/`, `valid/` and `test/` directories under `dir` (or
/// under `dir/data`), or `None` when `dir` has none of them.
fn well_layout(dir: &Path) -> Result<Option<[Vec<PathBuf>; 3]>, DataError> {
    let base = if dir.join("data").is_dir() && !dir.join(WELL_SPLITS[0]).is_dir() {
        dir.join("data")
    } else {
        dir.to_owned()
    };
    if !WELL_SPLITS.iter().any(|s| base.join(s).is_dir()) {
        return Ok(None);
    }
    let mut out: [Vec<PathBuf>; 3] = Default::default();
    for (files, name) in out.iter_mut().zip(WELL_SPLITS) {
        let split_dir = base.join(name);
        *files = hdf5_files(&split_dir)?;
        if files.is_empty() {
            return Err(DataError::Options {
                path: split_dir,
                message: format!(
                    "The Well's `{name}` directory holds no .hdf5 or .h5 file; every split \
                     (train, valid, test) needs at least one"
                ),
            });
        }
    }
    Ok(Some(out))
}

/// The `.hdf5` and `.h5` files of `dir`, sorted by name.
fn hdf5_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_hdf5 = path.extension().is_some_and(|e| e == "hdf5" || e == "h5");
        if is_hdf5 && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The sources of a dataset without a split layout: the turbulence directory, one HDF5 file,
/// or every HDF5 file of a directory.
fn open_sources(
    path: &Path,
    format: Format,
    options: &DataOptions,
) -> Result<Vec<Arc<dyn TrajectorySource>>, DataError> {
    let files = if path.is_dir() && format != Format::Turbulence {
        let files = hdf5_files(path)?;
        if files.is_empty() {
            return Err(DataError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no dataset.json, .hdf5 or .h5 file, or train/valid/test directories",
                ),
            });
        }
        files
    } else {
        vec![path.to_owned()]
    };
    files
        .iter()
        .map(|file| -> Result<Arc<dyn TrajectorySource>, DataError> {
            Ok(match format {
                Format::Turbulence => Arc::new(TurbulenceDir::open(file)?),
                Format::Well => Arc::new(WellFile::open(file, options)?),
                Format::Pdebench => Arc::new(PdebenchFile::open(file, options)?),
            })
        })
        .collect()
}

/// Splits the trajectories of `sources`, in order, by `fractions`; each split gets at least
/// one trajectory.
pub fn split_by_fractions(
    path: &Path,
    sources: &[Arc<dyn TrajectorySource>],
    fractions: SplitFractions,
) -> Result<[Split; 3], DataError> {
    let total: usize = sources.iter().map(|s| s.trajectories()).sum();
    let count = |fraction: f64| (fraction * total as f64).round() as usize;
    let (train, val) = (count(fractions.train), count(fractions.val));
    if train == 0 || val == 0 || train + val >= total {
        return Err(DataError::Options {
            path: path.to_owned(),
            message: format!(
                "{total} trajectories cannot be split into train {} / val {} / test with at \
                 least one trajectory each (train {train}, val {val}); use more trajectories \
                 or change `split`",
                fractions.train, fractions.val
            ),
        });
    }
    let bounds = [0..train, train..train + val, train + val..total];
    Ok(bounds.map(|range| {
        let mut parts = Vec::new();
        let mut offset = 0;
        for source in sources {
            let n = source.trajectories();
            let lo = range.start.max(offset);
            let hi = range.end.min(offset + n);
            if lo < hi {
                parts.push(Part {
                    source: source.clone(),
                    trajectories: lo - offset..hi - offset,
                });
            }
            offset += n;
        }
        Split { parts }
    }))
}

/// The schema every source shares; sources that disagree are refused.
fn shared_schema(path: &Path, splits: [&Split; 3]) -> Result<Schema, DataError> {
    let mut sources = splits.iter().flat_map(|s| &s.parts).map(|p| &p.source);
    let first = sources.next().ok_or_else(|| DataError::Options {
        path: path.to_owned(),
        message: "the dataset holds no trajectory".into(),
    })?;
    for other in sources {
        if other.schema() != first.schema() {
            return Err(DataError::Format {
                file: other.path().to_owned(),
                location: "/".into(),
                message: format!(
                    "its grid or fields ({}) differ from those of {} ({})",
                    other.schema(),
                    first.path().display(),
                    first.schema()
                ),
            });
        }
    }
    Ok(first.schema().clone())
}
