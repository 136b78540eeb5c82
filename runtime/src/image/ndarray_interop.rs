//! Conversions between [`ImageBlock`]s and `ndarray` arrays in ginjax's layout
//! `(channels, spatial…, d…)` (feature `ndarray`).
//!
//! Views borrow the block's buffer and conversions move it: no value is copied.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use crate::image::{Geometry, ImageBlock, ImageError, TensorKey};

impl ImageBlock {
    /// A read-only view of the block with shape `(channels, spatial…, d…)`.
    pub fn view(&self) -> ArrayViewD<'_, f32> {
        ArrayViewD::from_shape(IxDyn(&self.shape()), self.data())
            .expect("a block's length always matches its shape")
    }

    /// A mutable view of the block with shape `(channels, spatial…, d…)`.
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, f32> {
        let shape = self.shape();
        ArrayViewMutD::from_shape(IxDyn(&shape), self.data_mut())
            .expect("a block's length always matches its shape")
    }

    /// Moves the block's values into an owned array of shape `(channels, spatial…, d…)`.
    pub fn into_ndarray(self) -> ArrayD<f32> {
        let shape = self.shape();
        ArrayD::from_shape_vec(IxDyn(&shape), self.into_data())
            .expect("a block's length always matches its shape")
    }

    /// Builds a block from an array of shape `(channels, spatial…, d…)` holding images of type
    /// `key`; d is the array's rank minus 1 minus k. The buffer is moved when the array is in
    /// standard (row-major, contiguous) layout and copied otherwise.
    pub fn from_ndarray(
        array: ArrayD<f32>,
        key: TensorKey,
        torus: Vec<bool>,
    ) -> Result<Self, ImageError> {
        let shape = array.shape().to_vec();
        let k = key.k();
        if shape.len() < k + 2 {
            return Err(ImageError::ArrayRank {
                key: key.to_string(),
                rank: shape.len(),
                min: k + 2,
            });
        }
        let dim = shape.len() - 1 - k;
        if let Some(axis) = shape[1 + dim..].iter().position(|&n| n != dim) {
            return Err(ImageError::TensorAxis {
                key: key.to_string(),
                axis: 1 + dim + axis,
                side: shape[1 + dim + axis],
                dim,
            });
        }
        let geometry = Geometry::new(shape[1..1 + dim].to_vec(), torus)?;
        let data = if array.is_standard_layout() {
            array.into_raw_vec_and_offset().0
        } else {
            array.iter().copied().collect()
        };
        ImageBlock::new(geometry, key, shape[0], data)
    }
}
