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

    /// Applies the layer to `input`, replacing `output` with the result. Layers that can
    /// (`ConvContract` and generated layers) reuse the storage of `output`'s blocks whose key
    /// and length match the result's, so that a loop calling this with the same `output`
    /// allocates nothing and touches no fresh memory pages after its first call. On error,
    /// `output`'s contents are unspecified.
    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        *output = self.forward(input)?;
        Ok(())
    }

    /// [`Layer::forward_into`] for each image of a batch, in parallel: `outputs` is resized to
    /// one multi-image per input and each is replaced by its result, reusing its storage.
    fn forward_batch_into(
        &self,
        inputs: &[MultiImage],
        outputs: &mut Vec<MultiImage>,
    ) -> Result<(), Error> {
        outputs.truncate(inputs.len());
        for x in &inputs[outputs.len()..] {
            outputs.push(MultiImage::new(x.geometry().clone()));
        }
        inputs
            .par_iter()
            .zip(outputs.par_iter_mut())
            .try_for_each(|(x, y)| self.forward_into(x, y))
    }
}
