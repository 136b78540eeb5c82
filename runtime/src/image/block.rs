//! [`ImageBlock`]: `channels` geometric images of one tensor type, in ginjax's layout.

use super::{buffers, Geometry, ImageError, TensorKey};

/// `channels` geometric images of one tensor type, row-major
/// `(channels, spatial…, d…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageBlock {
    pub(super) geometry: Geometry,
    pub(super) key: TensorKey,
    pub(super) channels: usize,
    pub(super) data: Vec<f32>,
}

impl ImageBlock {
    /// Wraps `data` after checking that its length is `channels · pixels · d^k`.
    pub fn new(
        geometry: Geometry,
        key: TensorKey,
        channels: usize,
        data: Vec<f32>,
    ) -> Result<Self, ImageError> {
        check_length(&geometry, &key, channels, data.len())?;
        Ok(Self {
            geometry,
            key,
            channels,
            data,
        })
    }

    /// A block of zeros.
    pub fn zeros(geometry: Geometry, key: TensorKey, channels: usize) -> Self {
        let len = channels * geometry.pixels() * key.components(geometry.dim());
        Self {
            geometry,
            key,
            channels,
            data: vec![0.0; len],
        }
    }

    /// The shared spatial geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The tensor type.
    pub fn key(&self) -> &TensorKey {
        &self.key
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Tensor components per pixel, d^k.
    pub fn components(&self) -> usize {
        self.as_view().components()
    }

    /// Number of values in one channel: pixels · d^k.
    pub fn channel_len(&self) -> usize {
        self.as_view().channel_len()
    }

    /// The full row-major shape `(channels, spatial…, d…)`.
    pub fn shape(&self) -> Vec<usize> {
        let d = self.geometry.dim();
        let mut shape = vec![self.channels];
        shape.extend_from_slice(self.geometry.spatial());
        shape.extend(std::iter::repeat_n(d, self.key.k()));
        shape
    }

    /// All values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// All values, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the block, returning its values.
    pub fn into_data(mut self) -> Vec<f32> {
        std::mem::take(&mut self.data)
    }

    /// The values of channel `c` (`c < channels`).
    pub fn channel(&self, c: usize) -> &[f32] {
        self.as_view().channel(c)
    }

    /// The values of channel `c`, mutable.
    pub fn channel_mut(&mut self, c: usize) -> &mut [f32] {
        let len = self.channel_len();
        &mut self.data[c * len..(c + 1) * len]
    }
}

/// Checks that a block of `channels` images of `key` on `geometry` holds `len` values
/// (`channels · pixels · d^k`).
pub(super) fn check_length(
    geometry: &Geometry,
    key: &TensorKey,
    channels: usize,
    len: usize,
) -> Result<(), ImageError> {
    let expected = channels * geometry.pixels() * key.components(geometry.dim());
    if len != expected {
        return Err(ImageError::DataLength {
            key: key.to_string(),
            expected,
            got: len,
        });
    }
    Ok(())
}

/// A dropped block's buffer goes back to [`crate::image::buffers`] for the next layer output.
impl Drop for ImageBlock {
    fn drop(&mut self) {
        buffers::keep(std::mem::take(&mut self.data));
    }
}
