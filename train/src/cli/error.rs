//! The typed errors of the command line tool: every bad input (a config with unknown keys, a
//! missing or corrupt checkpoint, a dataset that does not fit the run, …) is one of these,
//! with a message that says what to do.

use std::path::PathBuf;

use thiserror::Error;

use crate::error::TrainError;
use crate::simulate::{DatasetError, SimError};

/// Any error of the `ginrs` tool.
#[derive(Debug, Error)]
pub enum CliError {
    /// A training, layer or loss error.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The runtime rejected an image, layer or model file.
    #[error(transparent)]
    Runtime(#[from] ginrs_runtime::Error),
    /// The simulator failed or its configuration is invalid.
    #[error(transparent)]
    Simulation(#[from] SimError),
    /// A dataset could not be read or written.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A figure could not be drawn or written.
    #[error(transparent)]
    Picture(#[from] ginrs_generator::picture::PictureError),
    /// Reading or writing a file or directory failed.
    #[error("{}: {source}", path.display())]
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

impl From<ginrs_runtime::ImageError> for CliError {
    fn from(error: ginrs_runtime::ImageError) -> Self {
        Self::Runtime(error.into())
    }
}

impl From<ginrs_runtime::ops::action::ActionError> for CliError {
    fn from(error: ginrs_runtime::ops::action::ActionError) -> Self {
        Self::Runtime(error.into())
    }
}

impl CliError {
    /// An [`CliError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
