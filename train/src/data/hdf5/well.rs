//! [`WellFile`]: one HDF5 file of The Well (Polymathic AI).
//!
//! The layout, from The Well's data format page
//! (<https://polymathic-ai.org/the_well/data_format/>):
//!
//! - root attributes `n_spatial_dims` (2 or 3 here) and `grid_type` (`cartesian`; other grids
//!   are refused), besides `dataset_name`, `n_trajectories` and the simulation parameters,
//!   which the reader does not need;
//! - `dimensions`: attribute `spatial_dims` (the names of the spatial axes, in the order of
//!   the arrays' axes), dataset `time` (the T frame times; the frame interval is
//!   `time[1] - time[0]`, 1 for a single frame) and one coordinate dataset per axis (its length
//!   is the grid's side);
//! - `boundary_conditions`: one subgroup per condition with attributes `associated_dims` (axis
//!   names) and `bc_type` (`periodic`, `wall` or `open`, in any case). An axis whose conditions
//!   are all periodic is a torus; a wall or an open boundary gets ginjax's zero padding. Every
//!   axis needs a condition;
//! - `t0_fields`, `t1_fields`, `t2_fields`: scalar, vector and order-2 tensor fields, each
//!   group listing its datasets in the attribute `field_names` (a group may be absent or
//!   empty). A field's dataset has the attributes `time_varying`, `sample_varying` and
//!   `dim_varying` and the shape `[B if sample_varying] [T if time_varying] spatial… [D]^k`.
//!   Time-varying fields are predicted ([`Schema::fields`]); the others are fed as constants
//!   ([`Schema::constants`], shared by every trajectory when not sample-varying). A field with
//!   a `dim_varying` entry false lives on fewer axes than the grid and is refused;
//! - `scalars` (non-spatial values such as simulation parameters) is ignored: a geometric
//!   image holds fields on the grid.
//!
//! Field order: `t0_fields`, `t1_fields`, `t2_fields`, each in `field_names` order. The file
//! cannot record a parity; every field gets 0 unless [`DataOptions::parity`] names it.

use std::path::Path;

use ginrs_runtime::{Geometry, MultiImage, TensorKey};

use super::{
    assemble, blocks_by_key, check_finite, checked_product, join, parity, Array, CONSTANTS_FRAME,
    H5,
};
use crate::data::error::DataError;
use crate::data::options::DataOptions;
use crate::data::schema::{FieldSpec, Schema};
use crate::data::source::{FrameCache, TrajectorySource};

/// One field's dataset and how it varies.
#[derive(Debug)]
struct Field {
    array: Array,
    sample_varying: bool,
    time_varying: bool,
    /// The shape of one frame: the grid's sides, then d k times.
    frame_shape: Vec<usize>,
}

impl Field {
    /// The hyperslab of trajectory `trajectory`, frame `frame`.
    fn slice(&self, trajectory: usize, frame: usize) -> (Vec<usize>, Vec<usize>) {
        let mut starts = Vec::new();
        let mut counts = Vec::new();
        if self.sample_varying {
            starts.push(trajectory);
            counts.push(1);
        }
        if self.time_varying {
            starts.push(frame);
            counts.push(1);
        }
        starts.extend(std::iter::repeat_n(0, self.frame_shape.len()));
        counts.extend_from_slice(&self.frame_shape);
        (starts, counts)
    }
}

/// One file of The Well, read frame by frame (see the [module documentation](self)).
#[derive(Debug)]
pub struct WellFile {
    h5: H5,
    schema: Schema,
    geometry: Geometry,
    fields: Vec<Field>,
    constants: Vec<Field>,
    frame_blocks: Vec<(TensorKey, Vec<usize>)>,
    constant_blocks: Vec<(TensorKey, Vec<usize>)>,
    trajectories: usize,
    frames: usize,
    cache: FrameCache,
}

impl WellFile {
    /// Opens `path` and checks its layout: groups, attributes, every field's element type,
    /// rank and sides, and the boundary of every axis. Reads no frame.
    pub fn open(path: &Path, options: &DataOptions) -> Result<Self, DataError> {
        let h5 = H5::open(path, options.cache_bytes)?;

        // The grid.
        let root = h5.attributes("/")?;
        let dim = root.int("n_spatial_dims")?;
        if !(2..=3).contains(&dim) {
            return Err(h5.format(
                "/@n_spatial_dims",
                format!("a {dim}-D grid; ginrs reads 2-D and 3-D grids"),
            ));
        }
        let dim = dim as usize;
        if root.has("grid_type") {
            let grid = root.string("grid_type")?;
            if !grid.eq_ignore_ascii_case("cartesian") {
                return Err(h5.format(
                    "/@grid_type",
                    format!(
                        "a `{grid}` grid; ginrs's convolutions need a cartesian grid of \
                         equal spacings"
                    ),
                ));
            }
        }
        if !h5.has_group("/dimensions")? {
            return Err(h5.missing("/dimensions", "group"));
        }
        let axes = h5.attributes("/dimensions")?.strings("spatial_dims")?;
        if axes.len() != dim {
            return Err(h5.format(
                "/dimensions@spatial_dims",
                format!("{} axes {:?} for n_spatial_dims = {dim}", axes.len(), axes),
            ));
        }
        let mut spatial = Vec::with_capacity(dim);
        for axis in &axes {
            let coordinate = h5.array(&join("/dimensions", axis))?;
            match coordinate.shape.as_slice() {
                [n] if *n > 0 => spatial.push(*n),
                other => {
                    return Err(h5.shape(
                        &coordinate.location,
                        format!("one non-empty axis: the coordinates along `{axis}`"),
                        other,
                    ))
                }
            }
        }
        let time = h5.array("/dimensions/time")?;
        let times = h5.read_axis(&time)?;
        let frames = times.len();
        if frames == 0 {
            return Err(h5.shape(
                &time.location,
                "at least one frame time".into(),
                &time.shape,
            ));
        }
        let frame_interval = if frames >= 2 {
            times[1] - times[0]
        } else {
            1.0
        };
        if !(frame_interval.is_finite() && frame_interval > 0.0) {
            return Err(h5.format(
                &time.location,
                format!(
                    "frame times {} then {}: the frame interval must be positive",
                    times[0], times[1]
                ),
            ));
        }
        let torus = boundaries(&h5, &axes)?;

        // The fields.
        let mut predicted: Vec<(FieldSpec, Field)> = Vec::new();
        let mut constant: Vec<(FieldSpec, Field)> = Vec::new();
        let mut batch: Option<(usize, String)> = None;
        for k in 0..3 {
            let group = format!("/t{k}_fields");
            if !h5.has_group(&group)? {
                continue;
            }
            for name in h5.attributes(&group)?.strings("field_names")? {
                let location = join(&group, &name);
                let array = h5.array(&location)?;
                let attrs = h5.attributes(&location)?;
                let time_varying = attrs.bool("time_varying")?;
                let sample_varying = attrs.bool("sample_varying")?;
                if attrs.has("dim_varying") {
                    let varying = attrs.bools("dim_varying")?;
                    if varying.iter().any(|v| !v) {
                        return Err(h5.format(
                            &attrs.at("dim_varying"),
                            format!(
                                "dim_varying {varying:?}: the field is defined on fewer axes \
                                 than the grid; ginrs needs fields on the whole grid"
                            ),
                        ));
                    }
                }
                let mut frame_shape = spatial.clone();
                frame_shape.extend(std::iter::repeat_n(dim, k));
                check_field_shape(
                    &h5,
                    &array,
                    &frame_shape,
                    sample_varying,
                    time_varying.then_some(frames),
                    k,
                    &mut batch,
                )?;
                let spec = FieldSpec::new(name.as_str(), k, parity(path, options, &name)?);
                let field = Field {
                    array,
                    sample_varying,
                    time_varying,
                    frame_shape,
                };
                if time_varying {
                    predicted.push((spec, field));
                } else {
                    constant.push((spec, field));
                }
            }
        }
        if predicted.is_empty() {
            return Err(h5.format(
                "/",
                "no time-varying field in t0_fields, t1_fields or t2_fields; ginrs predicts \
                 the time-varying fields"
                    .into(),
            ));
        }
        let trajectories = batch.map_or(1, |(b, _)| b);
        if trajectories == 0 {
            return Err(h5.format("/", "the fields hold no trajectory".into()));
        }
        for set in [&predicted, &constant] {
            let counts: Vec<usize> = set
                .iter()
                .map(|(_, f)| checked_product(&f.frame_shape).unwrap_or(usize::MAX))
                .collect();
            let total = counts
                .iter()
                .try_fold(0usize, |acc, &n| acc.checked_add(n))
                .and_then(|n| n.checked_mul(4));
            if total.is_none_or(|bytes| bytes > h5.frame_limit) {
                return Err(h5.shape(
                    "/",
                    format!(
                        "frames of at most {} bytes (the larger of 64 MiB and the cache budget, --cache-mb or data.cache_bytes); one frame of \
                         these fields is {} values",
                        h5.frame_limit,
                        counts.iter().fold(0usize, |a, &n| a.saturating_add(n))
                    ),
                    &spatial,
                ));
            }
        }

        let (specs, fields): (Vec<FieldSpec>, Vec<Field>) = predicted.into_iter().unzip();
        let (constant_specs, constants): (Vec<FieldSpec>, Vec<Field>) =
            constant.into_iter().unzip();
        let schema = Schema {
            spatial,
            torus,
            frame_interval,
            fields: specs,
            constants: constant_specs,
        };
        let geometry = schema.geometry().map_err(|source| DataError::Image {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            frame_blocks: blocks_by_key(&schema.fields),
            constant_blocks: blocks_by_key(&schema.constants),
            cache: FrameCache::new(options.cache_bytes),
            h5,
            schema,
            geometry,
            fields,
            constants,
            trajectories,
            frames,
        })
    }

    /// The reader's cache of frames.
    pub fn cache(&self) -> &FrameCache {
        &self.cache
    }

    /// Reads `fields` at (`trajectory`, `frame`), each checked finite, into `blocks`.
    fn read(
        &self,
        fields: &[Field],
        blocks: &[(TensorKey, Vec<usize>)],
        trajectory: usize,
        frame: usize,
    ) -> Result<MultiImage, DataError> {
        let mut values = Vec::with_capacity(fields.len());
        for field in fields {
            let (starts, counts) = field.slice(trajectory, frame);
            let data = self.h5.read(&field.array, &starts, &counts)?;
            check_finite(
                &self.h5.path,
                &field.array.location,
                trajectory,
                frame,
                &data,
            )?;
            values.push(data);
        }
        assemble(&self.h5.path, &self.geometry, blocks, values)
    }
}

/// Checks `array` against `[B] [T] frame_shape`: its rank, its grid and component sides, its
/// T against the frame times (`frames`, for a time-varying field) and its B against the
/// fields before it (`batch`: the first sample-varying field's B and location).
fn check_field_shape(
    h5: &H5,
    array: &Array,
    frame_shape: &[usize],
    sample_varying: bool,
    frames: Option<usize>,
    k: usize,
    batch: &mut Option<(usize, String)>,
) -> Result<(), DataError> {
    let mut words = Vec::new();
    if sample_varying {
        words.push(match batch {
            Some((b, _)) => b.to_string(),
            None => "B".into(),
        });
    }
    if let Some(t) = frames {
        words.push(t.to_string());
    }
    words.extend(frame_shape.iter().map(usize::to_string));
    let expected = format!(
        "({}): {}{}the grid{}",
        words.join(", "),
        if sample_varying { "trajectories, " } else { "" },
        if frames.is_some() { "frames, " } else { "" },
        match k {
            0 => String::new(),
            1 => ", then the vector's d components".into(),
            _ => format!(", then d along each of the tensor's {k} indices"),
        }
    );
    let lead = usize::from(sample_varying) + usize::from(frames.is_some());
    let shape = &array.shape;
    if shape.len() != lead + frame_shape.len()
        || shape[lead..] != *frame_shape
        || frames.is_some_and(|t| shape[lead - 1] != t)
    {
        return Err(h5.shape(&array.location, expected, shape));
    }
    if sample_varying {
        match batch {
            Some((b, first)) if shape[0] != *b => {
                return Err(h5.shape(
                    &array.location,
                    format!("{expected}, with {b} trajectories like {first}"),
                    shape,
                ))
            }
            Some(_) => {}
            None => *batch = Some((shape[0], array.location.clone())),
        }
    }
    Ok(())
}

/// Whether each axis is a torus, from `boundary_conditions`.
fn boundaries(h5: &H5, axes: &[String]) -> Result<Vec<bool>, DataError> {
    const GROUP: &str = "/boundary_conditions";
    if !h5.has_group(GROUP)? {
        return Err(h5.missing(GROUP, "group"));
    }
    let mut torus: Vec<Option<bool>> = vec![None; axes.len()];
    for name in h5.group_names(GROUP)? {
        let location = join(GROUP, &name);
        let attrs = h5.attributes(&location)?;
        let kind = attrs.string("bc_type")?;
        let periodic = match kind.to_ascii_lowercase().as_str() {
            "periodic" => true,
            "wall" | "open" => false,
            _ => {
                return Err(h5.format(
                    &attrs.at("bc_type"),
                    format!(
                        "unknown boundary type `{kind}`; The Well's are periodic, wall and open"
                    ),
                ))
            }
        };
        for axis in attrs.strings("associated_dims")? {
            let Some(i) = axes.iter().position(|a| *a == axis) else {
                return Err(h5.format(
                    &attrs.at("associated_dims"),
                    format!("axis `{axis}` is not one of the spatial axes {axes:?}"),
                ));
            };
            // A torus only when every condition on the axis is periodic.
            torus[i] = Some(torus[i].unwrap_or(true) && periodic);
        }
    }
    axes.iter()
        .zip(torus)
        .map(|(axis, t)| {
            t.ok_or_else(|| {
                h5.format(
                    GROUP,
                    format!(
                        "no boundary condition names the axis `{axis}` (associated_dims); \
                         ginrs needs each axis periodic, wall or open"
                    ),
                )
            })
        })
        .collect()
}

impl TrajectorySource for WellFile {
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
        self.cache.get_or_read(trajectory, frame, || {
            self.read(&self.fields, &self.frame_blocks, trajectory, frame)
        })
    }

    fn constants(&self, trajectory: usize) -> Result<MultiImage, DataError> {
        self.check_index(trajectory, 0)?;
        if self.constants.is_empty() {
            return Ok(MultiImage::new(self.geometry.clone()));
        }
        self.cache.get_or_read(trajectory, CONSTANTS_FRAME, || {
            self.read(&self.constants, &self.constant_blocks, trajectory, 0)
        })
    }
}
