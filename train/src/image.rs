//! Batches of geometric images as burn tensors, and their conversion to and from the
//! runtime's [`MultiImage`].
//!
//! A [`TensorImage`] holds, per [`TensorKey`] in signature order, one rank-4 tensor of shape
//! `[batch, channels, pixels, d^k]`: the runtime's block layout `(channels, spatial…, (d,)*k)`
//! with the spatial axes flattened row-major and the tensor axes flattened into one component
//! axis, plus a leading batch axis. Every layer works on this fixed rank, whatever d and k are,
//! which keeps burn's const-generic ranks out of the public API.

use burn::tensor::{DType, Device, Tensor, TensorData};
use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};

use crate::error::TrainError;

/// A batch of multi-images of one signature and geometry, one tensor
/// `[batch, channels, pixels, d^k]` per key.
#[derive(Debug, Clone)]
pub struct TensorImage {
    geometry: Geometry,
    batch: usize,
    blocks: Vec<(TensorKey, Tensor<4>)>,
}

impl TensorImage {
    /// An image with no blocks yet, for `batch` items of `geometry`.
    pub fn new(geometry: Geometry, batch: usize) -> Self {
        Self {
            geometry,
            batch,
            blocks: Vec::new(),
        }
    }

    /// Appends a block; its tensor must be `[batch, channels, pixels, d^k]` and its key new.
    pub fn push(&mut self, key: TensorKey, tensor: Tensor<4>) -> Result<(), TrainError> {
        let [batch, _, pixels, components] = tensor.dims();
        let want = (
            self.batch,
            self.geometry.pixels(),
            key.components(self.geometry.dim()),
        );
        if (batch, pixels, components) != want {
            return Err(TrainError::BlockShape {
                key,
                got: tensor.dims().to_vec(),
                batch: want.0,
                pixels: want.1,
                components: want.2,
            });
        }
        if self.get(&key).is_some() {
            return Err(TrainError::DuplicateKey { key });
        }
        self.blocks.push((key, tensor));
        Ok(())
    }

    /// Converts a batch of runtime multi-images (all of one signature and geometry) to tensors
    /// on `device`, in the device's float dtype.
    pub fn from_multi_images(images: &[MultiImage], device: &Device) -> Result<Self, TrainError> {
        let first = images.first().ok_or(TrainError::EmptyBatch)?;
        let signature = first.signature();
        for (index, image) in images.iter().enumerate().skip(1) {
            if image.geometry() != first.geometry() {
                return Err(TrainError::BatchGeometry {
                    index,
                    expected: first.geometry().spatial().to_vec(),
                    expected_torus: first.geometry().torus().to_vec(),
                    got: image.geometry().spatial().to_vec(),
                    got_torus: image.geometry().torus().to_vec(),
                });
            }
            let got = image.signature();
            if got != signature {
                return Err(TrainError::BatchSignature {
                    index,
                    expected: signature,
                    got,
                });
            }
        }
        let geometry = first.geometry().clone();
        let mut out = Self::new(geometry.clone(), images.len());
        for (b, block) in first.blocks().iter().enumerate() {
            let mut values = Vec::with_capacity(block.data().len() * images.len());
            for image in images {
                values.extend_from_slice(image.blocks()[b].data());
            }
            let shape = [
                images.len(),
                block.channels(),
                geometry.pixels(),
                block.components(),
            ];
            let tensor = Tensor::from_data(TensorData::new(values, shape), device);
            out.push(block.key().clone(), tensor)?;
        }
        Ok(out)
    }

    /// Converts back to one runtime multi-image per batch item (values cast to f32).
    pub fn to_multi_images(&self) -> Result<Vec<MultiImage>, TrainError> {
        let mut images: Vec<MultiImage> = (0..self.batch)
            .map(|_| MultiImage::new(self.geometry.clone()))
            .collect();
        for (key, tensor) in &self.blocks {
            let channels = tensor.dims()[1];
            let values = read_f32(tensor)?;
            let per_item = values.len() / self.batch.max(1);
            for (b, image) in images.iter_mut().enumerate() {
                let data = values[b * per_item..(b + 1) * per_item].to_vec();
                let block = ImageBlock::new(self.geometry.clone(), key.clone(), channels, data)?;
                image.insert(block)?;
            }
        }
        Ok(images)
    }

    /// The shared geometry (spatial sides and torus flags).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.geometry.dim()
    }

    /// The number of batch items.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The blocks, in signature order.
    pub fn blocks(&self) -> &[(TensorKey, Tensor<4>)] {
        &self.blocks
    }

    /// Consumes the image, returning its blocks in signature order.
    pub fn into_blocks(self) -> Vec<(TensorKey, Tensor<4>)> {
        self.blocks
    }

    /// The tensor of `key`, if present.
    pub fn get(&self, key: &TensorKey) -> Option<&Tensor<4>> {
        self.blocks.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// The signature: keys in order and the channel count of each.
    pub fn signature(&self) -> Signature {
        Signature::new(
            self.blocks
                .iter()
                .map(|(k, t)| (k.clone(), t.dims()[1]))
                .collect(),
        )
        .expect("the keys of an image's blocks are distinct")
    }

    /// The device of the blocks (`None` for an image without blocks).
    pub fn device(&self) -> Option<Device> {
        self.blocks.first().map(|(_, t)| t.device())
    }

    /// The float dtype of the blocks (`None` for an image without blocks).
    pub fn dtype(&self) -> Option<DType> {
        self.blocks.first().map(|(_, t)| t.dtype())
    }

    /// Checks that the image has exactly `expected` (keys, order and channels).
    pub fn expect_signature(
        &self,
        what: &'static str,
        expected: &Signature,
    ) -> Result<(), TrainError> {
        let got = self.signature();
        if &got != expected {
            return Err(TrainError::SignatureMismatch {
                what,
                expected: expected.clone(),
                got,
            });
        }
        Ok(())
    }

    /// Cuts the batch to items `start..start + len` (every block alike).
    pub fn narrow_batch(&self, start: usize, len: usize) -> Self {
        Self {
            geometry: self.geometry.clone(),
            batch: len,
            blocks: self
                .blocks
                .iter()
                .map(|(k, t)| (k.clone(), t.clone().narrow(0, start, len)))
                .collect(),
        }
    }

    /// Stops gradients through every block (a new graph lineage, as `Tensor::detach`).
    pub fn detach(&self) -> Self {
        Self {
            geometry: self.geometry.clone(),
            batch: self.batch,
            blocks: self
                .blocks
                .iter()
                .map(|(k, t)| (k.clone(), t.clone().detach()))
                .collect(),
        }
    }

    /// Marks every block to keep its gradient (the image must live on an autodiff device).
    pub fn require_grad(self) -> Self {
        Self {
            geometry: self.geometry,
            batch: self.batch,
            blocks: self
                .blocks
                .into_iter()
                .map(|(k, t)| (k, t.require_grad()))
                .collect(),
        }
    }
}

/// Reads a tensor back to the host as f64 values (row-major).
pub fn read_f64<const D: usize>(tensor: &Tensor<D>) -> Result<Vec<f64>, TrainError> {
    tensor
        .try_to_vec_as::<f64>()
        .map_err(|e| TrainError::TensorRead(format!("{e:?}")))
}

/// Reads a tensor back to the host as f32 values (row-major).
pub fn read_f32<const D: usize>(tensor: &Tensor<D>) -> Result<Vec<f32>, TrainError> {
    tensor
        .try_to_vec_as::<f32>()
        .map_err(|e| TrainError::TensorRead(format!("{e:?}")))
}

/// A tensor of `shape` holding `values` (row-major) on `device` in `dtype`.
pub fn tensor_from<const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &Device,
    dtype: DType,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), (device, dtype))
}
