//! The typed errors of the command line tool: every bad input (a config with unknown keys, a
//! missing or corrupt checkpoint, a dataset that does not fit the run, …) is one of these,
//! with a message that says what to do.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::data::DataError;
use crate::error::TrainError;
use crate::simulate::{DatasetError, SimError, DESCRIPTION_FILE};

/// Any error of the `ginrs` tool.
#[derive(Debug, Error)]
pub enum CliError {
    /// A training, layer or loss error (boxed, as the runtime's errors: they are the large
    /// variants).
    #[error(transparent)]
    Train(Box<TrainError>),
    /// The runtime rejected an image, layer or model file.
    #[error(transparent)]
    Runtime(Box<ginrs_runtime::Error>),
    /// The simulator failed or its configuration is invalid.
    #[error(transparent)]
    Simulation(#[from] SimError),
    /// A dataset could not be read or written. The message ends with what to do: a missing
    /// dataset names `ginrs simulate --out` and `--data`, a damaged one says to simulate it
    /// again (see [`dataset_message`]).
    #[error("{}", dataset_message(.0))]
    Dataset(#[from] DatasetError),
    /// A dataset (of any format) could not be opened or read, or does not fit the options.
    #[error("{}", data_message(.0))]
    Data(Box<DataError>),
    /// A figure could not be drawn or written.
    #[error(transparent)]
    Picture(#[from] ginrs_generator::picture::PictureError),
    /// An energy spectrum could not be computed.
    #[error(transparent)]
    Spectrum(#[from] crate::spectrum::SpectrumError),
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}{}", path.display(), io_hint(source))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration file or the merged configuration does not parse: syntax, an unknown
    /// key, a wrong type or a missing required key.
    #[error("configuration {origin}: {message}")]
    Config {
        /// Where the configuration came from (a file, or "flags and defaults").
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A setting outside its allowed range.
    #[error("invalid setting `{field}` = {value}: {requirement}")]
    Invalid {
        /// The setting, as spelled in the configuration file.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// What it must satisfy.
        requirement: String,
    },
    /// A checkpoint is missing, unreadable, corrupt or of another model.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A run directory that cannot be used as asked (e.g. a new run where one exists).
    #[error("run directory {}: {message}", path.display())]
    RunDir {
        /// The run directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The dataset does not fit the run (another grid, too few frames or trajectories).
    #[error("dataset {}: {message}", path.display())]
    DatasetMismatch {
        /// The dataset directory.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// An exported model file is unreadable or not a model file of this tool.
    #[error("model file {}: {message}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl From<TrainError> for CliError {
    fn from(error: TrainError) -> Self {
        Self::Train(Box::new(error))
    }
}

impl From<crate::distributed::DistributedError> for CliError {
    fn from(error: crate::distributed::DistributedError) -> Self {
        Self::Train(Box::new(error.into()))
    }
}

impl From<DataError> for CliError {
    fn from(error: DataError) -> Self {
        match error {
            DataError::Turbulence(e) => Self::Dataset(e),
            other => Self::Data(Box::new(other)),
        }
    }
}

impl From<ginrs_runtime::Error> for CliError {
    fn from(error: ginrs_runtime::Error) -> Self {
        Self::Runtime(Box::new(error))
    }
}

impl From<ginrs_runtime::ImageError> for CliError {
    fn from(error: ginrs_runtime::ImageError) -> Self {
        Self::Runtime(Box::new(error.into()))
    }
}

impl From<ginrs_runtime::ops::action::ActionError> for CliError {
    fn from(error: ginrs_runtime::ops::action::ActionError) -> Self {
        Self::Runtime(Box::new(error.into()))
    }
}

/// The message of a [`DatasetError`], ending with what to do: a directory without
/// `dataset.json` is "no dataset at DIR: write one with `ginrs simulate --out DIR` or point
/// --data at one"; an unreadable, damaged or incomplete dataset names the file and says to
/// simulate it again or point --data at another one. Errors that are not about files on disk
/// are shown as they are.
pub fn dataset_message(error: &DatasetError) -> String {
    let dir_of = |path: &Path| {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .display()
            .to_string()
    };
    let again = |path: &Path| {
        let dir = dir_of(path);
        format!(
            "{error}: the dataset at {dir} is damaged or incomplete: simulate it again with \
             `ginrs simulate --out {dir}` or point --data at another dataset"
        )
    };
    match error {
        DatasetError::Io { path, source }
            if source.kind() == std::io::ErrorKind::NotFound
                && path.file_name() == Some(std::ffi::OsStr::new(DESCRIPTION_FILE)) =>
        {
            let dir = dir_of(path);
            format!(
                "no dataset at {dir}: write one with `ginrs simulate --out {dir}` or point \
                 --data at one"
            )
        }
        DatasetError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            again(path)
        }
        DatasetError::Io { path, .. } => format!(
            "{error}: make the dataset at {} readable or point --data at another dataset",
            dir_of(path)
        ),
        DatasetError::Json { path, .. }
        | DatasetError::Description { path, .. }
        | DatasetError::Config { path, .. }
        | DatasetError::NpyHeader { path, .. }
        | DatasetError::NpyLayout { path, .. }
        | DatasetError::NpySize { path, .. } => again(path),
        _ => error.to_string(),
    }
}

/// The message of a [`DataError`]: a path that does not exist says how to make or find a
/// dataset; the others are shown as they are (they name the file and the object in it).
pub fn data_message(error: &DataError) -> String {
    match error {
        DataError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "no dataset at {}: write one with `ginrs simulate --out {}`, or point --data \
                 at a directory or HDF5 file of The Well or PDEBench",
                path.display(),
                path.display()
            )
        }
        other => other.to_string(),
    }
}

/// What to do about an I/O error, by its kind (empty when there is nothing general to say).
fn io_hint(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::NotFound => " (check the path)",
        std::io::ErrorKind::PermissionDenied => " (check the file's permissions)",
        std::io::ErrorKind::StorageFull => " (free some disk space)",
        _ => "",
    }
}

impl CliError {
    /// An [`CliError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
