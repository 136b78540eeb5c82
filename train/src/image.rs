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
    /// Every block, flat, one after the other (block-major), when the blocks are views of one
    /// such tensor (a host operation's output, or a sum of two such images): a host operation
    /// then takes it as its operand as it is, instead of concatenating the blocks again (which
    /// copies them forward and slices the gradient backward).
    packed: Option<Tensor<1>>,
}

impl TensorImage {
    /// An image with no blocks yet, for `batch` items of `geometry`.
    pub fn new(geometry: Geometry, batch: usize) -> Self {
        Self {
            geometry,
            batch,
            blocks: Vec::new(),
            packed: None,
        }
    }

    /// The image whose blocks of `signature` are, one after the other, the flat block-major
    /// `packed` (each block a view of it, not a copy).
    pub(crate) fn from_packed(
        geometry: Geometry,
        batch: usize,
        signature: &Signature,
        packed: Tensor<1>,
    ) -> Result<Self, TrainError> {
        let mut image = Self::new(geometry, batch);
        let pixels = image.geometry.pixels();
        let mut offset = 0;
        for (key, channels) in signature.entries() {
            let comps = key.components(image.dim());
            let len = batch * channels * pixels * comps;
            let block = packed
                .clone()
                .narrow(0, offset, len)
                .reshape([batch, *channels, pixels, comps]);
            offset += len;
            image.push(key.clone(), block)?;
        }
        image.packed = Some(packed);
        Ok(image)
    }

    /// The blocks, flat and one after the other: the packed tensor when there is one, else
    /// their concatenation.
    #[cfg(feature = "flex")]
    pub(crate) fn flat(&self) -> Tensor<1> {
        match &self.packed {
            Some(packed) => packed.clone(),
            None => Tensor::cat(
                self.blocks
                    .iter()
                    .map(|(_, t)| {
                        let len = t.shape().num_elements();
                        t.clone().reshape([len])
                    })
                    .collect(),
                0,
            ),
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
        self.packed = None;
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
            packed: None,
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
            packed: None,
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
            packed: None,
        }
    }
}

impl TensorImage {
    /// ginjax's `MultiImage.__add__` (a residual connection): the blockwise sum of two images
    /// of the same signature, geometry and batch.
    pub fn add(&self, other: &Self) -> Result<Self, TrainError> {
        self.expect_same_grid("residual sum", other)?;
        other.expect_signature("residual sum", &self.signature())?;
        if let (Some(a), Some(b)) = (&self.packed, &other.packed) {
            return Self::from_packed(
                self.geometry.clone(),
                self.batch,
                &self.signature(),
                a.clone() + b.clone(),
            );
        }
        Ok(Self {
            geometry: self.geometry.clone(),
            batch: self.batch,
            blocks: self
                .blocks
                .iter()
                .zip(&other.blocks)
                .map(|((k, a), (_, b))| (k.clone(), a.clone() + b.clone()))
                .collect(),
            packed: None,
        })
    }

    /// ginjax's `MultiImage.concat(other)` (a skip connection): every block of `self` with the
    /// channels of `other`'s block of the same key appended after its own, then `other`'s keys
    /// that `self` lacks, in `other`'s order.
    pub fn concat(&self, other: &Self) -> Result<Self, TrainError> {
        self.expect_same_grid("skip concatenation", other)?;
        let mut out = Self::new(self.geometry.clone(), self.batch);
        for (key, a) in &self.blocks {
            let tensor = match other.get(key) {
                Some(b) => Tensor::cat(vec![a.clone(), b.clone()], 1),
                None => a.clone(),
            };
            out.blocks.push((key.clone(), tensor));
        }
        for (key, b) in &other.blocks {
            if self.get(key).is_none() {
                out.blocks.push((key.clone(), b.clone()));
            }
        }
        Ok(out)
    }

    /// ginjax's `to_scalar_multi_image`: one `((), 0)` block whose channels are, key by key
    /// and channel by channel, every tensor component (`c·d^k` channels per key).
    pub fn to_scalar(&self) -> Result<Self, TrainError> {
        let parts: Vec<Tensor<4>> = self
            .blocks
            .iter()
            .map(|(_, t)| {
                let [n, c, p, q] = t.dims();
                t.clone().swap_dims(2, 3).reshape([n, c * q, p, 1])
            })
            .collect();
        if parts.is_empty() {
            return Err(TrainError::Unsupported(
                "to_scalar of an image without blocks".into(),
            ));
        }
        let mut out = Self::new(self.geometry.clone(), self.batch);
        out.push(TensorKey::scalar(), Tensor::cat(parts, 1))?;
        Ok(out)
    }

    /// ginjax's `from_scalar_multi_image(layout)`: splits the channels of an image holding
    /// only `((), 0)` into the keys of `layout` (the inverse of [`TensorImage::to_scalar`]).
    pub fn from_scalar(&self, layout: &Signature) -> Result<Self, TrainError> {
        let wanted: usize = layout
            .entries()
            .iter()
            .map(|(key, c)| c * key.components(self.dim()))
            .sum();
        let scalars = match self.blocks.as_slice() {
            [(key, t)] if key.is_scalar() && t.dims()[1] == wanted => t,
            _ => {
                return Err(TrainError::SignatureMismatch {
                    what: "from_scalar input",
                    expected: Signature::new(vec![(TensorKey::scalar(), wanted)])
                        .expect("one key is a valid signature"),
                    got: self.signature(),
                })
            }
        };
        let [n, _, p, _] = scalars.dims();
        let mut out = Self::new(self.geometry.clone(), self.batch);
        let mut offset = 0;
        for (key, c) in layout.entries() {
            let q = key.components(self.dim());
            let block = scalars
                .clone()
                .narrow(1, offset, c * q)
                .reshape([n, *c, q, p])
                .swap_dims(2, 3);
            offset += c * q;
            out.push(key.clone(), block)?;
        }
        Ok(out)
    }

    /// Checks that `other` has this image's geometry and batch size.
    fn expect_same_grid(&self, what: &'static str, other: &Self) -> Result<(), TrainError> {
        if self.geometry != other.geometry || self.batch != other.batch {
            return Err(TrainError::GridMismatch {
                what,
                expected: Box::new(self.geometry.clone()),
                expected_batch: self.batch,
                got: Box::new(other.geometry.clone()),
                got_batch: other.batch,
            });
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch-1 image on a 1×2 grid whose values count up from `start` block by block.
    fn image(entries: &[(TensorKey, usize)], start: f32) -> TensorImage {
        let geometry = Geometry::new(vec![1, 2], vec![true, true]).unwrap();
        let mut image = TensorImage::new(geometry, 1);
        let mut next = start;
        for (key, c) in entries {
            let q = key.components(2);
            let values: Vec<f32> = (0..c * 2 * q)
                .map(|_| {
                    next += 1.0;
                    next
                })
                .collect();
            let tensor = Tensor::from_data(TensorData::new(values, [1, *c, 2, q]), &Device::flex());
            image.push(key.clone(), tensor).unwrap();
        }
        image
    }

    fn values(image: &TensorImage) -> Vec<Vec<f32>> {
        image
            .blocks()
            .iter()
            .map(|(_, t)| read_f32(t).unwrap())
            .collect()
    }

    #[test]
    fn add_sums_blockwise_and_rejects_other_signatures() {
        let keys = [(TensorKey::scalar(), 1), (TensorKey::vector(), 1)];
        let a = image(&keys, 0.0);
        let sum = a.add(&a).unwrap();
        let doubled: Vec<Vec<f32>> = values(&a)
            .into_iter()
            .map(|b| b.into_iter().map(|v| 2.0 * v).collect())
            .collect();
        assert_eq!(values(&sum), doubled);
        let other = image(&[(TensorKey::scalar(), 2), (TensorKey::vector(), 1)], 0.0);
        assert!(matches!(
            a.add(&other),
            Err(TrainError::SignatureMismatch { .. })
        ));
    }

    #[test]
    fn concat_appends_channels_per_key_then_new_keys() {
        // ginjax's MultiImage.concat: x's keys in order, other's channels after x's, other's
        // new keys last.
        let x = image(&[(TensorKey::vector(), 1)], 0.0);
        let other = image(&[(TensorKey::scalar(), 1), (TensorKey::vector(), 1)], 100.0);
        let cat = x.concat(&other).unwrap();
        assert_eq!(cat.blocks()[0].0, TensorKey::vector());
        assert_eq!(cat.blocks()[1].0, TensorKey::scalar());
        assert_eq!(cat.signature().channels(&TensorKey::vector()), Some(2));
        // Vector block [1, 2 channels, 2 pixels, 2 components]: x's channel, then other's.
        assert_eq!(
            values(&cat)[0],
            vec![1.0, 2.0, 3.0, 4.0, 103.0, 104.0, 105.0, 106.0]
        );
        assert_eq!(values(&cat)[1], vec![101.0, 102.0]);
    }

    #[test]
    fn scalar_flattening_is_channel_major_and_inverts() {
        // ginjax's to_scalar_multi_image: per key, per channel, every tensor component.
        let keys = [(TensorKey::scalar(), 1), (TensorKey::vector(), 2)];
        let x = image(&keys, 0.0);
        let flat = x.to_scalar().unwrap();
        assert_eq!(flat.signature().entries(), &[(TensorKey::scalar(), 5)]);
        // Scalar channel: pixels 1, 2. Vector channel 0: pixels (3, 4), (5, 6) as
        // (x, y) pairs, so its x channel is 3, 5 and its y channel 4, 6.
        assert_eq!(
            values(&flat)[0],
            vec![1.0, 2.0, 3.0, 5.0, 4.0, 6.0, 7.0, 9.0, 8.0, 10.0]
        );
        let back = flat.from_scalar(&x.signature()).unwrap();
        assert_eq!(back.signature(), x.signature());
        assert_eq!(values(&back), values(&x));
        let wrong = Signature::new(vec![(TensorKey::vector(), 1)]).unwrap();
        assert!(flat.from_scalar(&wrong).is_err());
    }
}
