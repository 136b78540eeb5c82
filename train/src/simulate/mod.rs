//! Datasets of 2-D decaying incompressible turbulence on a periodic square grid.
//!
//! A pseudo-spectral vorticity solver ([`Solver`]) advances random isotropic initial
//! conditions ([`initial`]) and a passive tracer; every stored frame holds the velocity (a
//! vector field), the vorticity (a pseudoscalar: it changes sign under reflections) and the
//! tracer (a scalar), which [`frame_to_multi_image`] turns into a ginrs [`MultiImage`] on the
//! 2-D torus. [`simulate`] runs a whole [`SimConfig`]; [`Dataset`] writes and reads the result
//! as `.npy` arrays with a JSON description.
//!
//! [`MultiImage`]: ginrs_runtime::MultiImage

mod config;
mod dataset;
mod error;
mod frame;
pub mod initial;
mod run;
mod solver;
mod spectral;

pub use config::{SimConfig, MAX_COURANT};
pub use dataset::{
    field_shape, Dataset, Description, FieldDescription, DESCRIPTION_FILE, DTYPE, FORMAT, VERSION,
};
pub use error::{ConfigError, DatasetError, FrameError, SimError};
pub use frame::{frame_geometry, frame_to_multi_image, multi_image_to_frame, Field, Frame};
pub use run::{simulate, simulate_trajectory};
pub use solver::{Fields, Solver, State};
pub use spectral::{FftScratch, SpectralGrid};

#[cfg(test)]
mod tests;
