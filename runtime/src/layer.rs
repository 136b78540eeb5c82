//! The [`Layer`] trait: what every equivariant layer (dynamic or generated) implements.

use rayon::prelude::*;

use crate::error::Error;
use crate::image::MultiImage;

/// A layer maps one multi-image to another; batches run in parallel over cores.
pub trait Layer: Send + Sync {
    /// Applies the layer to one multi-image (no batch axis).
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error>;

    /// Applies the layer to each image of a batch, in parallel.
    fn forward_batch(&self, inputs: &[MultiImage]) -> Result<Vec<MultiImage>, Error> {
        inputs.par_iter().map(|x| self.forward(x)).collect()
    }
}
