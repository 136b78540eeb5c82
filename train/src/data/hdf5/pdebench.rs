//! [`PdebenchFile`]: one of PDEBench's compressible Navier–Stokes HDF5 files.
//!
//! PDEBench (<https://github.com/pdebench/PDEBench>, the files `2D_CFD_*.hdf5` and
//! `3D_CFD_*.hdf5` of its data set) stores at the root the datasets `density`, `pressure`,
//! `Vx`, `Vy` [, `Vz`], each of shape (N, T, X, Y [, Z]) (samples, frames, grid), and the
//! axes `t-coordinate` (T + 1 times; the frame interval is `t[1] - t[0]`), `x-coordinate`,
//! `y-coordinate` [, `z-coordinate`]. d is 2 without `Vz` and 3 with it.
//!
//! Fields: `density` and `pressure` (scalars) and `velocity` (a vector whose components are
//! `Vx`, `Vy` [, `Vz`] in that order), parity 0 unless [`DataOptions::parity`] names them.
//!
//! Boundary: the files do not record it; their names do (`…_periodic_…`, `…_trans_…` for
//! transmissive/outgoing). [`DataOptions::boundary`] takes precedence; otherwise a name
//! containing `periodic` makes every axis a torus, one containing `trans` or `outgoing` gives
//! ginjax's zero padding, and any other name is refused with a request for `--boundary`.

use std::path::Path;

use ginrs_runtime::{Geometry, MultiImage, TensorKey};

use super::{assemble, blocks_by_key, check_finite, parity, Array, H5};
use crate::data::error::DataError;
use crate::data::options::{Boundary, DataOptions};
use crate::data::schema::{FieldSpec, Schema};
use crate::data::source::{FrameCache, TrajectorySource};

/// One PDEBench compressible Navier–Stokes file, read frame by frame (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct PdebenchFile {
    h5: H5,
    schema: Schema,
    geometry: Geometry,
    density: Array,
    pressure: Array,
    /// `Vx`, `Vy` [, `Vz`].
    velocity: Vec<Array>,
    blocks: Vec<(TensorKey, Vec<usize>)>,
    trajectories: usize,
    frames: usize,
    cache: FrameCache,
}

/// The velocity components' datasets, in order.
const COMPONENTS: [&str; 3] = ["Vx", "Vy", "Vz"];

impl PdebenchFile {
    /// Opens `path` and checks its datasets' element types and shapes and the boundary.
    /// Reads no frame.
    pub fn open(path: &Path, options: &DataOptions) -> Result<Self, DataError> {
        let h5 = H5::open(path, options.cache_bytes)?;
        let names = h5.dataset_names("/")?;
        let dim = if names.iter().any(|n| n == "Vz") {
            3
        } else {
            2
        };
        let density = h5.array("/density")?;
        let shape = density.shape.clone();
        if shape.len() != 2 + dim || shape.contains(&0) {
            return Err(h5.shape(
                &density.location,
                format!(
                    "(N, T, X, Y{}): samples, frames, then the {dim}-D grid, none empty",
                    if dim == 3 { ", Z" } else { "" }
                ),
                &shape,
            ));
        }
        let same = |array: &Array| -> Result<(), DataError> {
            if array.shape != shape {
                return Err(h5.shape(
                    &array.location,
                    format!("{shape:?}, the shape of /density"),
                    &array.shape,
                ));
            }
            Ok(())
        };
        let pressure = h5.array("/pressure")?;
        same(&pressure)?;
        let mut velocity = Vec::with_capacity(dim);
        for name in &COMPONENTS[..dim] {
            let array = h5.array(&format!("/{name}"))?;
            same(&array)?;
            velocity.push(array);
        }
        let (trajectories, frames) = (shape[0], shape[1]);
        let spatial = shape[2..].to_vec();

        let time = h5.array("/t-coordinate")?;
        let times = h5.read_axis(&time)?;
        if times.len() < frames {
            return Err(h5.shape(
                &time.location,
                format!(
                    "({}) or ({}): a time per frame (PDEBench stores T + 1)",
                    frames.saturating_add(1),
                    frames
                ),
                &time.shape,
            ));
        }
        let frame_interval = if times.len() >= 2 {
            times[1] - times[0]
        } else {
            1.0
        };
        if !(frame_interval.is_finite() && frame_interval > 0.0) {
            return Err(h5.format(
                &time.location,
                format!(
                    "times {} then {}: the frame interval must be positive",
                    times[0], times[1]
                ),
            ));
        }
        for (axis, &side) in ["x", "y", "z"].iter().zip(&spatial) {
            let location = format!("/{axis}-coordinate");
            if names.iter().any(|n| *n == location[1..]) {
                let coordinate = h5.array(&location)?;
                if coordinate.shape != [side] {
                    return Err(h5.shape(
                        &location,
                        format!("({side}): one coordinate per grid point along {axis}"),
                        &coordinate.shape,
                    ));
                }
            }
        }
        let pixels = super::checked_product(&spatial);
        let frame_values = pixels.and_then(|p| p.checked_mul(2 + dim));
        if frame_values
            .and_then(|n| n.checked_mul(4))
            .is_none_or(|bytes| bytes > h5.frame_limit)
        {
            return Err(h5.shape(
                "/",
                format!(
                    "frames of at most {} bytes (the larger of 64 MiB and the cache budget, --cache-mb or data.cache_bytes)",
                    h5.frame_limit
                ),
                &shape,
            ));
        }

        let periodic = match options.boundary {
            Some(boundary) => boundary == Boundary::Periodic,
            None => boundary_from_name(path)?,
        };
        let schema = Schema {
            torus: vec![periodic; dim],
            spatial,
            frame_interval,
            fields: vec![
                FieldSpec::new("density", 0, parity(path, options, "density")?),
                FieldSpec::new("pressure", 0, parity(path, options, "pressure")?),
                FieldSpec::new("velocity", 1, parity(path, options, "velocity")?),
            ],
            constants: Vec::new(),
        };
        let geometry = schema.geometry().map_err(|source| DataError::Image {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            blocks: blocks_by_key(&schema.fields),
            cache: FrameCache::new(options.cache_bytes),
            h5,
            schema,
            geometry,
            density,
            pressure,
            velocity,
            trajectories,
            frames,
        })
    }

    /// The reader's cache of frames.
    pub fn cache(&self) -> &FrameCache {
        &self.cache
    }

    /// Frame `frame` of sample `trajectory` of `array`, checked finite.
    fn read_scalar(
        &self,
        array: &Array,
        trajectory: usize,
        frame: usize,
    ) -> Result<Vec<f32>, DataError> {
        let mut counts = vec![1, 1];
        counts.extend_from_slice(&self.schema.spatial);
        let mut starts = vec![trajectory, frame];
        starts.resize(counts.len(), 0);
        let values = self.h5.read(array, &starts, &counts)?;
        check_finite(&self.h5.path, &array.location, trajectory, frame, &values)?;
        Ok(values)
    }

    fn read_frame(&self, trajectory: usize, frame: usize) -> Result<MultiImage, DataError> {
        let density = self.read_scalar(&self.density, trajectory, frame)?;
        let pressure = self.read_scalar(&self.pressure, trajectory, frame)?;
        let d = self.velocity.len();
        let mut velocity = vec![0.0; density.len() * d];
        for (c, array) in self.velocity.iter().enumerate() {
            let component = self.read_scalar(array, trajectory, frame)?;
            // Row-major (spatial…, d): component c of pixel p at p·d + c.
            for (p, v) in component.into_iter().enumerate() {
                velocity[p * d + c] = v;
            }
        }
        assemble(
            &self.h5.path,
            &self.geometry,
            &self.blocks,
            vec![density, pressure, velocity],
        )
    }
}

/// The boundary a PDEBench file's name records: `true` (periodic) for `periodic`, `false`
/// (outgoing) for `trans` or `outgoing`.
fn boundary_from_name(path: &Path) -> Result<bool, DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let periodic = name.contains("periodic");
    let outgoing = name.contains("trans") || name.contains("outgoing");
    match (periodic, outgoing) {
        (true, false) => Ok(true),
        (false, true) => Ok(false),
        _ => Err(DataError::Options {
            path: path.to_owned(),
            message: format!(
                "the file name {} the boundary (PDEBench names its files `…_periodic_…` or \
                 `…_trans_…`); pass --boundary periodic|outgoing",
                if periodic {
                    "names both a periodic and an outgoing"
                } else {
                    "does not name"
                }
            ),
        }),
    }
}

impl TrajectorySource for PdebenchFile {
    fn path(&self) -> &Path {
        &self.h5.path
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn trajectories(&self) -> usize {
        self.trajectories
    }

    fn frames(&self) -> usize {
        self.frames
    }

    fn frame(&self, trajectory: usize, frame: usize) -> Result<MultiImage, DataError> {
        self.check_index(trajectory, frame)?;
        self.cache
            .get_or_read(trajectory, frame, || self.read_frame(trajectory, frame))
    }

    fn constants(&self, trajectory: usize) -> Result<MultiImage, DataError> {
        self.check_index(trajectory, 0)?;
        Ok(MultiImage::new(self.geometry.clone()))
    }
}
