//! Datasets: trajectories of multi-images that training, evaluation and the command line tool
//! read, whatever their format on disk.
//!
//! - [`Schema`]: the grid, the per-axis boundary (torus or zero-padded), the frame interval,
//!   and the fields with their tensor order and parity, predicted or [constant](Schema::constants);
//!   the model's input and output signatures follow from it.
//! - [`TrajectorySource`]: one file or directory, read frame by frame; the HDF5 readers keep at
//!   most [`DataOptions::cache_bytes`] of frames ([`FrameCache`]), so a file larger than memory
//!   is read window by window.
//! - Readers: [`turbulence`] (the `ginrs simulate` directory, held in memory), [`hdf5`]
//!   (The Well and PDEBench).
//! - [`Dataset`]: the train, validation and test parts of one dataset, by the file layout or by
//!   fractions of the trajectories ([`open`]).
//! - [`windows`]: past frames → next frame, read lazily batch by batch, and the rollouts.
//! - [`symmetry`]: the subgroup of B_d the data respects, by name.
//!
//! Rule: this module depends on the runtime's images and on no burn type, so it can be used
//! (and read) without the training library.

pub mod dataset;
pub mod error;
pub mod hdf5;
pub mod options;
pub mod schema;
pub mod source;
pub mod symmetry;
pub mod turbulence;
pub mod windows;

pub use dataset::{detect, open, split_by_fractions, Dataset, Part, Split, SplitFractions};
pub use error::DataError;
pub use options::{Boundary, DataOptions, Format, ParityOverride};
pub use schema::{FieldSpec, Schema};
pub use source::{FrameCache, TrajectorySource, DEFAULT_CACHE_BYTES};
pub use symmetry::Symmetry;
pub use windows::{rollouts, LoadedWindows, Rollout, Windows};
