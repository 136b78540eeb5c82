//! One stored time step and its conversion to a ginrs [`MultiImage`] on the 2-D torus.
//!
//! The grid array axes are the image axes: value `[i₀, i₁]` is pixel `(i₀, i₁)`, and velocity
//! components are in axis order `(u₀, u₁)`, the order in which the runtime's group action
//! ([`ginrs_runtime::action`]) permutes and signs vector components.

use ginrs_runtime::{Geometry, ImageBlock, MultiImage, TensorKey};

use super::error::FrameError;
use super::solver::Fields;

/// The stored fields and their tensor types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Velocity `u`: a vector (k = 1, parity 0).
    Velocity,
    /// Vorticity `ω = ∂u₁/∂x₀ − ∂u₀/∂x₁`: a pseudoscalar (k = 0, parity 1), since the curl
    /// changes sign under reflections.
    Vorticity,
    /// Passive tracer `c`: a scalar (k = 0, parity 0).
    Tracer,
}

impl Field {
    /// Every field, in storage order.
    pub const ALL: [Field; 3] = [Field::Velocity, Field::Vorticity, Field::Tracer];

    /// The field's name (also its file stem in a dataset).
    pub fn name(self) -> &'static str {
        match self {
            Field::Velocity => "velocity",
            Field::Vorticity => "vorticity",
            Field::Tracer => "tracer",
        }
    }

    /// Tensor order k.
    pub fn tensor_order(self) -> usize {
        match self {
            Field::Velocity => 1,
            Field::Vorticity | Field::Tracer => 0,
        }
    }

    /// Parity: 1 if the field changes sign under reflections (det = −1).
    pub fn parity(self) -> u8 {
        match self {
            Field::Vorticity => 1,
            Field::Velocity | Field::Tracer => 0,
        }
    }

    /// The ginrs block key.
    pub fn key(self) -> TensorKey {
        TensorKey::new(self.tensor_order(), self.parity())
    }

    /// Values per pixel, `2^k`.
    pub fn components(self) -> usize {
        1 << self.tensor_order()
    }
}

/// The grid values of one stored time step, as `f32`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Grid points per side.
    pub n: usize,
    /// Velocity, shape `(n, n, 2)`, components `(u₀, u₁)`.
    pub velocity: Vec<f32>,
    /// Vorticity, shape `(n, n)`.
    pub vorticity: Vec<f32>,
    /// Tracer, shape `(n, n)`.
    pub tracer: Vec<f32>,
}

impl Frame {
    /// Rounds the solver's grid fields to `f32`.
    pub fn from_fields(fields: &Fields) -> Self {
        let single = |v: &[f64]| v.iter().map(|&x| x as f32).collect();
        let velocity = fields
            .u0
            .iter()
            .zip(&fields.u1)
            .flat_map(|(&a, &b)| [a as f32, b as f32])
            .collect();
        Self {
            n: fields.n,
            velocity,
            vorticity: single(&fields.omega),
            tracer: single(&fields.tracer),
        }
    }

    /// The values of one field.
    pub fn field(&self, field: Field) -> &[f32] {
        match field {
            Field::Velocity => &self.velocity,
            Field::Vorticity => &self.vorticity,
            Field::Tracer => &self.tracer,
        }
    }
}

/// The geometry of an `n × n` frame: the square 2-D torus.
pub fn frame_geometry(n: usize) -> Result<Geometry, FrameError> {
    Ok(Geometry::square(2, n, true)?)
}

/// The frame as a multi-image with one channel per field, keyed by [`Field::key`], on
/// [`frame_geometry`].
pub fn frame_to_multi_image(frame: &Frame) -> Result<MultiImage, FrameError> {
    let geometry = frame_geometry(frame.n)?;
    let blocks = Field::ALL
        .iter()
        .map(|&f| ImageBlock::new(geometry.clone(), f.key(), 1, frame.field(f).to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MultiImage::from_blocks(geometry, blocks)?)
}

/// The frame held by a multi-image from [`frame_to_multi_image`] (or a transformed one): the
/// geometry must be a square 2-D torus and each field a one-channel block.
pub fn multi_image_to_frame(image: &MultiImage) -> Result<Frame, FrameError> {
    let geometry = image.geometry();
    let spatial = geometry.spatial();
    if spatial.len() != 2 || spatial[0] != spatial[1] || geometry.torus() != [true, true] {
        return Err(FrameError::Geometry(format!("{geometry:?}")));
    }
    let values = |field: Field| {
        image
            .get(&field.key())
            .filter(|block| block.channels() == 1)
            .map(|block| block.data().to_vec())
            .ok_or_else(|| FrameError::MissingField {
                field: field.name(),
                key: field.key().to_string(),
            })
    };
    Ok(Frame {
        n: spatial[0],
        velocity: values(Field::Velocity)?,
        vorticity: values(Field::Vorticity)?,
        tracer: values(Field::Tracer)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Frame {
        let value = |i: usize| (i as f32 * 0.37).sin();
        Frame {
            n,
            velocity: (0..2 * n * n).map(value).collect(),
            vorticity: (0..n * n).map(|i| value(i + 1000)).collect(),
            tracer: (0..n * n).map(|i| value(i + 2000)).collect(),
        }
    }

    #[test]
    fn multi_image_round_trip_and_keys() {
        let f = frame(8);
        let image = frame_to_multi_image(&f).unwrap();
        assert_eq!(image.geometry(), &Geometry::square(2, 8, true).unwrap());
        let vector = image.get(&TensorKey::vector()).unwrap();
        assert_eq!(vector.shape(), vec![1, 8, 8, 2]);
        assert_eq!(vector.data(), &f.velocity[..]);
        let pseudo = image.get(&TensorKey::new(0, 1)).unwrap();
        assert_eq!(pseudo.data(), &f.vorticity[..]);
        assert_eq!(
            image.get(&TensorKey::scalar()).unwrap().data(),
            &f.tracer[..]
        );
        assert_eq!(multi_image_to_frame(&image).unwrap(), f);
    }

    #[test]
    fn missing_block_is_named() {
        let geometry = frame_geometry(8).unwrap();
        let image = MultiImage::new(geometry);
        let err = multi_image_to_frame(&image).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::MissingField {
                    field: "velocity",
                    ..
                }
            ),
            "{err}"
        );
        let flat = MultiImage::new(Geometry::square(2, 8, false).unwrap());
        assert!(matches!(
            multi_image_to_frame(&flat),
            Err(FrameError::Geometry(_))
        ));
    }
}
