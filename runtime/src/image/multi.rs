//! [`MultiImage`]: blocks of distinct tensor keys sharing one geometry.

use super::{buffers, Geometry, ImageBlock, ImageError, Signature, TensorKey};

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
                // A recycled buffer of the joined length, rather than growing the old one
                // (a reallocation the buffer pool never sees: fresh pages on every call).
                let mut data = buffers::with_capacity(existing.data.len() + block.data.len());
                data.extend_from_slice(&existing.data);
                data.extend_from_slice(&block.data);
                buffers::keep(std::mem::replace(&mut existing.data, data));
                existing.channels += block.channels;
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
        self.signature().expect_equal(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(geometry: &Geometry, key: TensorKey, channels: usize, first: f32) -> ImageBlock {
        let len = channels * geometry.pixels() * key.components(geometry.dim());
        let data = (0..len).map(|i| first + i as f32).collect();
        ImageBlock::new(geometry.clone(), key, channels, data).unwrap()
    }

    #[test]
    fn append_joins_channels_of_a_key_and_inserts_new_keys_last() {
        let geometry = Geometry::square(2, 4, true).unwrap();
        let mut image = MultiImage::new(geometry.clone());
        image
            .append(block(&geometry, TensorKey::vector(), 2, 0.0))
            .unwrap();
        image
            .append(block(&geometry, TensorKey::scalar(), 1, 500.0))
            .unwrap();
        image
            .append(block(&geometry, TensorKey::vector(), 3, 100.0))
            .unwrap();
        let vectors = image.get(&TensorKey::vector()).unwrap();
        assert_eq!(vectors.channels(), 5);
        // 2 channels × 16 pixels × 2 components, then the appended 3 channels' values.
        let want: Vec<f32> = (0..64)
            .map(|i| i as f32)
            .chain((0..96).map(|i| 100.0 + i as f32))
            .collect();
        assert_eq!(vectors.data(), want.as_slice());
        let keys: Vec<&TensorKey> = image.blocks().iter().map(|b| b.key()).collect();
        assert_eq!(keys, [&TensorKey::vector(), &TensorKey::scalar()]);
        let other = Geometry::square(2, 2, true).unwrap();
        assert!(image
            .append(block(&other, TensorKey::vector(), 1, 0.0))
            .is_err());
    }
}
