//! The `ginrs simulate` directory as a [`TrajectorySource`]: 2-D decaying turbulence on the
//! periodic square, velocity (a vector), vorticity (a pseudoscalar) and tracer (a scalar).
//! Its arrays are small and read whole (see [`crate::simulate::Dataset`]).

use std::path::{Path, PathBuf};

use ginrs_runtime::{Geometry, MultiImage};

use super::error::DataError;
use super::schema::{FieldSpec, Schema};
use super::source::TrajectorySource;
use crate::simulate::{Dataset, Field, SimConfig};

/// A turbulence directory held in memory.
#[derive(Debug)]
pub struct TurbulenceDir {
    path: PathBuf,
    data: Dataset,
    schema: Schema,
}

impl TurbulenceDir {
    /// Reads the directory at `path`.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        Ok(Self::new(path, Dataset::read(path)?))
    }

    /// Wraps a dataset already in memory, read from (or to be written to) `path`.
    pub fn new(path: &Path, data: Dataset) -> Self {
        let schema = schema(data.config());
        Self {
            path: path.to_owned(),
            data,
            schema,
        }
    }

    /// The simulated dataset.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }
}

/// The schema of the data `config` simulates: the periodic `n × n` square, velocity,
/// vorticity and tracer.
pub fn schema(config: &SimConfig) -> Schema {
    Schema {
        spatial: vec![config.n; 2],
        torus: vec![true; 2],
        frame_interval: config.frame_interval(),
        fields: Field::ALL
            .iter()
            .map(|f| FieldSpec::new(f.name(), f.tensor_order(), f.parity()))
            .collect(),
        constants: Vec::new(),
    }
}

impl TrajectorySource for TurbulenceDir {
    fn path(&self) -> &Path {
        &self.path
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn trajectories(&self) -> usize {
        self.data.config().trajectories
    }

    fn frames(&self) -> usize {
        self.data.config().frames
    }

    fn frame(&self, trajectory: usize, frame: usize) -> Result<MultiImage, DataError> {
        self.check_index(trajectory, frame)?;
        Ok(self.data.multi_image(trajectory, frame)?)
    }

    fn constants(&self, _trajectory: usize) -> Result<MultiImage, DataError> {
        let geometry: Geometry = self.schema.geometry().map_err(|source| DataError::Image {
            path: self.path.clone(),
            source,
        })?;
        Ok(MultiImage::new(geometry))
    }
}
