//! [`Geometry`]: the spatial sides and torus flags shared by the blocks of a multi-image.

use super::{ImageError, MAX_DIM};

/// The spatial geometry shared by every block of a multi-image: d, the side of each spatial
/// axis, and whether each axis wraps around (is a torus).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Geometry {
    spatial: Vec<usize>,
    torus: Vec<bool>,
}

impl Geometry {
    /// Builds a geometry; `spatial` and `torus` give one entry per spatial axis.
    pub fn new(spatial: Vec<usize>, torus: Vec<bool>) -> Result<Self, ImageError> {
        let dim = spatial.len();
        if dim == 0 || dim > MAX_DIM {
            return Err(ImageError::Dimension { dim });
        }
        if torus.len() != dim {
            return Err(ImageError::TorusFlags {
                dim,
                got: torus.len(),
            });
        }
        if let Some(axis) = spatial.iter().position(|&n| n == 0) {
            return Err(ImageError::EmptyAxis { axis });
        }
        Ok(Self { spatial, torus })
    }

    /// A geometry whose axes all have side `side` and torus flag `torus`.
    pub fn square(dim: usize, side: usize, torus: bool) -> Result<Self, ImageError> {
        Self::new(vec![side; dim], vec![torus; dim])
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.spatial.len()
    }

    /// The side of each spatial axis.
    pub fn spatial(&self) -> &[usize] {
        &self.spatial
    }

    /// Whether each spatial axis is a torus.
    pub fn torus(&self) -> &[bool] {
        &self.torus
    }

    /// Number of pixels, the product of the sides.
    pub fn pixels(&self) -> usize {
        self.spatial.iter().product()
    }
}
