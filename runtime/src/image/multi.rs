//! [`MultiImage`]: blocks of distinct tensor keys sharing one geometry.

use super::{Geometry, ImageBlock, ImageError, Signature, TensorKey};

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
