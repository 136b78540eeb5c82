//! Typed errors of the simulator and of the dataset reader and writer.

use std::path::PathBuf;

use thiserror::Error;

/// A [`SimConfig`](super::SimConfig) field with a value outside its allowed range.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid config field `{field}` = {value}: {requirement}")]
pub struct ConfigError {
    /// The field's name, as spelled in `dataset.json`.
    pub field: &'static str,
    /// The rejected value, formatted.
    pub value: String,
    /// What the field must satisfy.
    pub requirement: &'static str,
}

/// Errors from running the simulator.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The time step is too large for the flow: the Courant number exceeds the limit.
    #[error(
        "trajectory {trajectory}, frame {frame}: Courant number {courant:.3} exceeds {limit} \
         (lower dt or the initial energy)"
    )]
    Courant {
        /// The trajectory index.
        trajectory: usize,
        /// The frame about to be computed.
        frame: usize,
        /// `dt · max(|u₀| + |u₁|) / h`.
        courant: f64,
        /// The largest allowed value, [`MAX_COURANT`](super::MAX_COURANT).
        limit: f64,
    },
    /// The state became non-finite (NaN or infinite).
    #[error("trajectory {trajectory}, frame {frame}: the solution is not finite")]
    NonFinite {
        /// The trajectory index.
        trajectory: usize,
        /// The frame whose values are not finite.
        frame: usize,
    },
}

/// Errors from writing, reading or indexing a dataset.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `dataset.json` is not valid JSON for a dataset description (syntax, unknown or
    /// missing keys, wrong types).
    #[error("{}: {source}", path.display())]
    Json {
        /// The description file.
        path: PathBuf,
        /// The parser's error, naming line, column and key.
        source: serde_json::Error,
    },
    /// The description parses but disagrees with what this reader expects or with itself.
    #[error("{}: field `{field}`: expected {expected}, found {found}", path.display())]
    Description {
        /// The description file.
        path: PathBuf,
        /// The offending key (dotted path).
        field: String,
        /// What was expected.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// The configuration stored in a description file is invalid.
    #[error("{}: {source}", path.display())]
    Config {
        /// The description file.
        path: PathBuf,
        /// The invalid field.
        source: ConfigError,
    },
    /// An array file's header cannot be parsed as `.npy`.
    #[error("{}: not a valid .npy file: {source}", path.display())]
    NpyHeader {
        /// The array file.
        path: PathBuf,
        /// The parser's error.
        source: std::io::Error,
    },
    /// An array file holds another dtype, order or shape than the description promises.
    #[error("{}: expected {expected}, the .npy header says {found}", path.display())]
    NpyLayout {
        /// The array file.
        path: PathBuf,
        /// What the description promises.
        expected: String,
        /// What the header says.
        found: String,
    },
    /// An array file's data section is shorter or longer than its header claims.
    #[error(
        "{}: the header promises {expected} data bytes, the file holds {found}",
        path.display()
    )]
    NpySize {
        /// The array file.
        path: PathBuf,
        /// Bytes the header's shape and dtype need.
        expected: u128,
        /// Bytes after the header.
        found: u64,
    },
    /// The configuration given with in-memory arrays is invalid.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// The in-memory arrays do not have the lengths the configuration implies.
    #[error("field `{field}` holds {found} values, the configuration implies {expected}")]
    Length {
        /// The field.
        field: &'static str,
        /// The implied number of values.
        expected: usize,
        /// The number held.
        found: usize,
    },
    /// A frame could not be converted to a multi-image.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A (trajectory, frame) index outside the dataset.
    #[error("frame ({trajectory}, {frame}) is outside a dataset of {trajectories} trajectories × {frames} frames")]
    Index {
        /// The requested trajectory.
        trajectory: usize,
        /// The requested frame.
        frame: usize,
        /// Trajectories held.
        trajectories: usize,
        /// Frames per trajectory held.
        frames: usize,
    },
}

/// Errors from converting between frames and multi-images.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FrameError {
    /// The runtime rejected a block or geometry.
    #[error(transparent)]
    Image(#[from] ginrs_runtime::ImageError),
    /// The multi-image lacks one of the three fields.
    #[error("the multi-image has no one-channel block {key} ({field})")]
    MissingField {
        /// The field's name.
        field: &'static str,
        /// The block key it is stored under.
        key: String,
    },
    /// The multi-image is not on a square 2-D torus of even side.
    #[error("expected a square 2-D periodic geometry, got {0}")]
    Geometry(String),
}
