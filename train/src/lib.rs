//! # ginrs-train
//!
//! Data generation for training ginrs models: [`simulate`] makes datasets of 2-D decaying
//! turbulence trajectories stored as geometric images.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod simulate;
