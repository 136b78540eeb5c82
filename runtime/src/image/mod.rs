//! Geometric images: tensor keys, image blocks, multi-images and signatures, the buffers
//! they recycle, and signatures as types.
//!
//! A block holds `channels` images of one tensor type, laid out row-major as
//! `(channels, spatial_0, …, spatial_{d-1}, d, …, d)` with `k` trailing tensor axes — ginjax's
//! layout. A [`MultiImage`] holds blocks of distinct [`TensorKey`]s in insertion order (the
//! order drives every layer's iteration, as in ginjax), all sharing d, spatial shape and torus
//! flags.

use std::fmt;

pub mod buffers;
mod error;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
pub mod typed;

pub use error::ImageError;

/// Largest spatial dimension supported by the runtime (the group is enumerated up to it).
pub use ginrs_generator::group::MAX_DIM;

/// The type of a geometric image: tensor order k, parity, and a covariant flag per tensor axis.
///
/// Two keys that differ only in covariant flags are different keys (as in ginjax), although
/// without a metric tensor the flags change no number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorKey {
    covariant: Vec<bool>,
    parity: u8,
}

impl TensorKey {
    /// A key of order `k` with all indices contravariant; `parity` is reduced mod 2.
    pub fn new(k: usize, parity: u8) -> Self {
        Self {
            covariant: vec![false; k],
            parity: parity % 2,
        }
    }

    /// A key with explicit covariant flags (one per tensor axis); `parity` is reduced mod 2.
    pub fn with_covariant(covariant: Vec<bool>, parity: u8) -> Self {
        Self {
            covariant,
            parity: parity % 2,
        }
    }

    /// The scalar key `((), 0)`.
    pub fn scalar() -> Self {
        Self::new(0, 0)
    }

    /// The vector key `((False,), 0)`.
    pub fn vector() -> Self {
        Self::new(1, 0)
    }

    /// The tensor order k.
    pub fn k(&self) -> usize {
        self.covariant.len()
    }

    /// The parity, 0 or 1 (1 marks a pseudo-tensor).
    pub fn parity(&self) -> u8 {
        self.parity
    }

    /// The covariant flag of each tensor axis.
    pub fn covariant(&self) -> &[bool] {
        &self.covariant
    }

    /// True for the plain scalar key `((), 0)`.
    pub fn is_scalar(&self) -> bool {
        self.k() == 0 && self.parity == 0
    }

    /// Number of tensor components per pixel, d^k.
    pub fn components(&self, dim: usize) -> usize {
        dim.pow(self.k() as u32)
    }
}

impl fmt::Display for TensorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match (self.k(), self.parity) {
            (0, 0) => "scalar",
            (0, 1) => "pseudoscalar",
            (1, 0) => "vector",
            (1, 1) => "pseudovector",
            (k, p) => return write!(f, "({k}, {p})"),
        };
        f.write_str(name)
    }
}

impl fmt::Debug for TensorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.covariant.iter().any(|&c| c) {
            write!(f, "{self}{:?}", self.covariant)
        } else {
            write!(f, "{self}")
        }
    }
}

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

/// `channels` geometric images of one tensor type, row-major
/// `(channels, spatial…, d…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageBlock {
    geometry: Geometry,
    key: TensorKey,
    channels: usize,
    data: Vec<f32>,
}

impl ImageBlock {
    /// Wraps `data` after checking that its length is `channels · pixels · d^k`.
    pub fn new(
        geometry: Geometry,
        key: TensorKey,
        channels: usize,
        data: Vec<f32>,
    ) -> Result<Self, ImageError> {
        let expected = channels * geometry.pixels() * key.components(geometry.dim());
        if data.len() != expected {
            return Err(ImageError::DataLength {
                key: key.to_string(),
                expected,
                got: data.len(),
            });
        }
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
        self.key.components(self.geometry.dim())
    }

    /// Number of values in one channel: pixels · d^k.
    pub fn channel_len(&self) -> usize {
        self.geometry.pixels() * self.components()
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
        let len = self.channel_len();
        &self.data[c * len..(c + 1) * len]
    }

    /// The values of channel `c`, mutable.
    pub fn channel_mut(&mut self, c: usize) -> &mut [f32] {
        let len = self.channel_len();
        &mut self.data[c * len..(c + 1) * len]
    }
}

/// A dropped block's buffer goes back to [`crate::image::buffers`] for the next layer output.
impl Drop for ImageBlock {
    fn drop(&mut self) {
        crate::image::buffers::keep(std::mem::take(&mut self.data));
    }
}

/// The ordered list of `(key, channels)` of a multi-image, or of a layer's input or output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Signature(Vec<(TensorKey, usize)>);

impl Signature {
    /// Builds a signature; keys must be distinct and channel counts positive.
    pub fn new(entries: Vec<(TensorKey, usize)>) -> Result<Self, ImageError> {
        for (i, (key, channels)) in entries.iter().enumerate() {
            if *channels == 0 {
                return Err(ImageError::ZeroChannels {
                    key: key.to_string(),
                });
            }
            if entries[..i].iter().any(|(other, _)| other == key) {
                return Err(ImageError::DuplicateKey {
                    key: format!("{key:?}"),
                });
            }
        }
        Ok(Self(entries))
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(TensorKey, usize)] {
        &self.0
    }

    /// The channel count of `key`, if present.
    pub fn channels(&self, key: &TensorKey) -> Option<usize> {
        self.0.iter().find(|(k, _)| k == key).map(|&(_, c)| c)
    }

    /// True when the signature has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (key, channels)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key:?}: {channels}")?;
        }
        f.write_str("]")
    }
}

/// Blocks of distinct tensor keys sharing one geometry, in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiImage {
    geometry: Geometry,
    blocks: Vec<ImageBlock>,
}

impl MultiImage {
    /// An empty multi-image with the given geometry.
    pub fn new(geometry: Geometry) -> Self {
        Self {
            geometry,
            blocks: Vec::new(),
        }
    }

    /// Builds a multi-image from blocks, which must share `geometry` and have distinct keys.
    pub fn from_blocks(geometry: Geometry, blocks: Vec<ImageBlock>) -> Result<Self, ImageError> {
        let mut image = Self::new(geometry);
        for block in blocks {
            image.insert(block)?;
        }
        Ok(image)
    }

    /// A multi-image of zeros with the given signature.
    pub fn zeros(geometry: Geometry, signature: &Signature) -> Self {
        let blocks = signature
            .entries()
            .iter()
            .map(|(key, channels)| ImageBlock::zeros(geometry.clone(), key.clone(), *channels))
            .collect();
        Self { geometry, blocks }
    }

    /// Appends a block with a new key at the end of the order.
    pub fn insert(&mut self, block: ImageBlock) -> Result<(), ImageError> {
        self.check_geometry(&block)?;
        if self.get(block.key()).is_some() {
            return Err(ImageError::DuplicateKey {
                key: format!("{:?}", block.key()),
            });
        }
        self.blocks.push(block);
        Ok(())
    }

    /// Like ginjax's `append`: a block whose key exists is concatenated along the channel axis,
    /// otherwise it is inserted at the end.
    pub fn append(&mut self, block: ImageBlock) -> Result<(), ImageError> {
        self.check_geometry(&block)?;
        match self.blocks.iter_mut().find(|b| b.key == block.key) {
            Some(existing) => {
                existing.channels += block.channels;
                existing.data.extend_from_slice(&block.data);
            }
            None => self.blocks.push(block),
        }
        Ok(())
    }

    fn check_geometry(&self, block: &ImageBlock) -> Result<(), ImageError> {
        if block.geometry != self.geometry {
            return Err(ImageError::GeometryMismatch {
                key: format!("{:?}", block.key()),
                expected: format!("{:?}", self.geometry),
                got: format!("{:?}", block.geometry),
            });
        }
        Ok(())
    }

    /// The shared geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.geometry.dim()
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[ImageBlock] {
        &self.blocks
    }

    /// The blocks, mutable (keys and shapes cannot change through this).
    pub fn blocks_mut(&mut self) -> impl Iterator<Item = &mut ImageBlock> {
        self.blocks.iter_mut()
    }

    /// Consumes the multi-image, returning its blocks in order.
    pub fn into_blocks(self) -> Vec<ImageBlock> {
        self.blocks
    }

    /// The block with key `key`, if present.
    pub fn get(&self, key: &TensorKey) -> Option<&ImageBlock> {
        self.blocks.iter().find(|b| &b.key == key)
    }

    /// The block with key `key`, mutable.
    pub fn get_mut(&mut self, key: &TensorKey) -> Option<&mut ImageBlock> {
        self.blocks.iter_mut().find(|b| &b.key == key)
    }

    /// The `(key, channels)` list in block order.
    pub fn signature(&self) -> Signature {
        Signature(
            self.blocks
                .iter()
                .map(|b| (b.key.clone(), b.channels))
                .collect(),
        )
    }

    /// Checks that this image has exactly the signature `expected` (same keys, order and
    /// channel counts), naming the first difference.
    pub fn expect_signature(&self, expected: &Signature) -> Result<(), ImageError> {
        let got = self.signature();
        if &got != expected {
            return Err(ImageError::SignatureMismatch {
                expected: expected.to_string(),
                got: got.to_string(),
            });
        }
        Ok(())
    }
}
