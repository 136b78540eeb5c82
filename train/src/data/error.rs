//! Typed errors of the dataset readers: each names the file and, inside an HDF5 file, the
//! dataset or group path.

use std::path::PathBuf;

use thiserror::Error;

use crate::simulate::DatasetError;

/// An error while opening, describing or reading a dataset.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The HDF5 library could not open or read the file (a damaged or truncated file).
    #[error("{}: {location}: cannot read HDF5: {message}", file.display())]
    Hdf5 {
        /// The file.
        file: PathBuf,
        /// The object inside the file (`/` for the file itself).
        location: String,
        /// What the library reported.
        message: String,
    },
    /// A group or dataset the format requires is absent.
    #[error("{}: {location}: missing {what}", file.display())]
    Missing {
        /// The file.
        file: PathBuf,
        /// The path inside the file.
        location: String,
        /// `"group"`, `"dataset"` or `"attribute"`.
        what: &'static str,
    },
    /// A dataset has another number of axes, or other sides, than the format requires.
    #[error("{}: {location}: shape {found:?}, expected {expected}", file.display())]
    Shape {
        /// The file.
        file: PathBuf,
        /// The dataset's path inside the file.
        location: String,
        /// What the format requires, in words.
        expected: String,
        /// The dataset's shape.
        found: Vec<usize>,
    },
    /// A dataset holds values that are not 32- or 64-bit floats.
    #[error("{}: {location}: element type {found}, expected float32 or float64", file.display())]
    Dtype {
        /// The file.
        file: PathBuf,
        /// The dataset's path inside the file.
        location: String,
        /// The stored type, in words.
        found: String,
    },
    /// A field holds NaN or an infinity.
    #[error(
        "{}: {location}: trajectory {trajectory}, frame {frame} holds a non-finite value (NaN or \
         infinity)",
        file.display()
    )]
    NonFinite {
        /// The file.
        file: PathBuf,
        /// The dataset's path inside the file.
        location: String,
        /// The trajectory read.
        trajectory: usize,
        /// The frame read.
        frame: usize,
    },
    /// The file's contents contradict the format (a bad attribute, an unknown boundary type,
    /// files of one dataset that disagree).
    #[error("{}: {location}: {message}", file.display())]
    Format {
        /// The file (or directory).
        file: PathBuf,
        /// The object inside the file the problem was found at.
        location: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The user's options do not fit the data (an unknown field in `--parity`, a missing
    /// `--boundary`, a split that leaves a part empty).
    #[error("{}: {message}", path.display())]
    Options {
        /// The dataset.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A trajectory or frame outside the dataset.
    #[error(
        "{}: trajectory {trajectory}, frame {frame} is outside the dataset ({trajectories} \
         trajectories of {frames} frames)",
        path.display()
    )]
    Index {
        /// The dataset.
        path: PathBuf,
        /// The requested trajectory.
        trajectory: usize,
        /// The requested frame.
        frame: usize,
        /// Trajectories in the dataset.
        trajectories: usize,
        /// Frames per trajectory.
        frames: usize,
    },
    /// A ginrs turbulence directory could not be read.
    #[error(transparent)]
    Turbulence(#[from] DatasetError),
    /// Frames could not be assembled into multi-images.
    #[error("{}: {source}", path.display())]
    Image {
        /// The dataset.
        path: PathBuf,
        /// The image error.
        source: ginrs_runtime::ImageError,
    },
}
