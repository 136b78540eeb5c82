//! The [`MaxNormPool`] layer: ginjax's `MaxNormPool`, [`max_pool`] on every block.

use crate::error::Error;
use crate::image::MultiImage;
use crate::layers::layer::Layer;
use crate::ops::pool::{max_pool, pooled_geometry, Comparator, PoolError};

/// ginjax's `MaxNormPool(patch_len, use_norm)`: `max_pool` on every channel of every block,
/// by pixel norm (`use_norm`) or by value (scalar blocks only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxNormPool {
    patch_len: usize,
    use_norm: bool,
}

impl MaxNormPool {
    /// A pool with patches of side `patch_len` (at least 1), comparing pixel norms when
    /// `use_norm` (ginjax's default) and raw values otherwise.
    pub fn new(patch_len: usize, use_norm: bool) -> Result<Self, PoolError> {
        if patch_len == 0 {
            return Err(PoolError::ZeroPatch);
        }
        Ok(Self {
            patch_len,
            use_norm,
        })
    }

    /// The patch side.
    pub fn patch_len(&self) -> usize {
        self.patch_len
    }

    /// Whether pixels are compared by norm.
    pub fn use_norm(&self) -> bool {
        self.use_norm
    }
}

impl Layer for MaxNormPool {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let comparator = if self.use_norm {
            Comparator::Norm
        } else {
            Comparator::Value
        };
        let blocks = input
            .blocks()
            .iter()
            .map(|block| max_pool(block, self.patch_len, comparator))
            .collect::<Result<Vec<_>, _>>()?;
        let geometry = match blocks.first() {
            Some(block) => block.geometry().clone(),
            None => pooled_geometry(input.geometry(), self.patch_len)?,
        };
        Ok(MultiImage::from_blocks(geometry, blocks)?)
    }
}
