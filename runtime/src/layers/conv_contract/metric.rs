//! [`ConvContract::forward_with_metric`]: the layer on images that carry a metric tensor.

use super::bias::apply_bias;
use super::ConvContract;
use crate::error::Error;
use crate::image::{ImageBlock, MultiImage, TensorKey};
use crate::ops::metric::{metric_inverse, raise_lower};
use crate::ops::GINJAX_EPS;

impl ConvContract {
    /// Applies the layer to an image carrying a metric tensor `metric` (one channel of
    /// `((True, True), 0)` 2-tensors over the input's pixels), as ginjax does when
    /// `x.metric_tensor` is set: every input block is lowered on all its axes, convolved, and
    /// the result raised from all-covariant to the target key's flags with
    /// `metric_inverse(metric, GINJAX_EPS)`; then the bias is added. Needs an output of the input's
    /// spatial size.
    ///
    /// ginjax lowers the input once more for every later output key of an input (a bug:
    /// the n-th target sees `G^n x`); here every target sees the input lowered once.
    pub fn forward_with_metric(
        &self,
        input: &MultiImage,
        metric: &ImageBlock,
    ) -> Result<MultiImage, Error> {
        let inverse = metric_inverse(metric, GINJAX_EPS)?;
        let mut lowered = MultiImage::new(input.geometry().clone());
        for block in input.blocks() {
            let k = block.key().k();
            let down = raise_lower(block, metric, &inverse, &vec![true; k])?;
            lowered.insert(ImageBlock::new(
                block.geometry().clone(),
                block.key().clone(),
                block.channels(),
                down.into_data(),
            )?)?;
        }
        let convolved = self.forward_impl(&lowered.as_view(), false, None)?;
        let geometry = convolved.geometry().clone();
        let mut output = MultiImage::new(geometry.clone());
        for block in convolved.into_blocks() {
            let key = block.key().clone();
            let channels = block.channels();
            let covariant = TensorKey::with_covariant(vec![true; key.k()], key.parity());
            let as_covariant =
                ImageBlock::new(geometry.clone(), covariant, channels, block.into_data())?;
            let raised = raise_lower(&as_covariant, metric, &inverse, key.covariant())?;
            let mut data = raised.into_data();
            let o = self
                .config
                .target
                .entries()
                .iter()
                .position(|(t, _)| *t == key)
                .expect("output keys are target keys");
            if let Some(b) = &self.biases[o] {
                let comps = key.components(self.dim);
                apply_bias(
                    self.config.bias,
                    &key,
                    b,
                    comps,
                    geometry.pixels(),
                    &mut data,
                );
            }
            output.insert(ImageBlock::new(geometry.clone(), key, channels, data)?)?;
        }
        Ok(output)
    }
}
