//! Datasets of 2-D decaying incompressible turbulence on a periodic square grid.
//!
//! A pseudo-spectral vorticity solver ([`Solver`]) advances random isotropic initial
//! conditions ([`initial`]) and a passive tracer; every stored frame holds the velocity (a
//! vector field), the vorticity (a pseudoscalar: it changes sign under reflections) and the
//! tracer (a scalar), which [`frame_to_multi_image`] turns into a ginrs [`MultiImage`] on the
//! 2-D torus. [`simulate`] runs a whole [`SimConfig`]; [`Dataset`] writes and reads the result
//! as `.npy` arrays with a JSON description.
//!
//! ```
//! use ginrs_train::simulate::{simulate, Dataset, Field, SimConfig};
//!
//! let config = SimConfig { n: 16, trajectories: 2, frames: 3, peak_wavenumber: 3.0, ..SimConfig::default() };
//! let dataset = simulate(&config)?;
//! let dir = std::env::temp_dir().join(format!("ginrs-simulate-doc-{}", std::process::id()));
//! dataset.write(&dir)?;
//! let back = Dataset::read(&dir)?;
//! let image = back.multi_image(1, 2)?; // trajectory 1, frame 2
//! assert_eq!(image.get(&Field::Vorticity.key()).unwrap().shape(), vec![1, 16, 16]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
