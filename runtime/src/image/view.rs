//! [`BlockView`]: a block's shape over values it borrows, and [`ImageView`], a multi-image of
//! such blocks, so that kernels can read images kept in someone else's buffers (a training
//! program's saved activations) without copying them into [`ImageBlock`]s.

use super::block::check_length;
use super::{buffers, Geometry, ImageBlock, ImageError, MultiImage, Signature, TensorKey};
use crate::error::Error;

/// `channels` geometric images of one tensor type over borrowed values, row-major
/// `(channels, spatial…, d…)`: [`ImageBlock`]'s layout without its ownership.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockView<'a> {
    geometry: &'a Geometry,
    key: &'a TensorKey,
    channels: usize,
    data: &'a [f32],
}

impl<'a> BlockView<'a> {
    /// Borrows `data` after checking that its length is `channels · pixels · d^k`.
    pub fn new(
        geometry: &'a Geometry,
        key: &'a TensorKey,
        channels: usize,
        data: &'a [f32],
    ) -> Result<Self, ImageError> {
        check_length(geometry, key, channels, data.len())?;
        Ok(Self {
            geometry,
            key,
            channels,
            data,
        })
    }

    /// The shared spatial geometry.
    pub fn geometry(&self) -> &'a Geometry {
        self.geometry
    }

    /// The tensor type.
    pub fn key(&self) -> &'a TensorKey {
        self.key
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

    /// All values, row-major.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// The values of channel `c` (`c < channels`).
    pub fn channel(&self, c: usize) -> &'a [f32] {
        let len = self.channel_len();
        &self.data[c * len..(c + 1) * len]
    }

    /// Whether `other` has this view's geometry, key and channel count.
    pub fn same_shape(&self, other: &BlockView<'_>) -> bool {
        self.geometry == other.geometry && self.key == other.key && self.channels == other.channels
    }
}

impl ImageBlock {
    /// The block as a [`BlockView`].
    pub fn as_view(&self) -> BlockView<'_> {
        BlockView {
            geometry: &self.geometry,
            key: &self.key,
            channels: self.channels,
            data: &self.data,
        }
    }
}

/// A multi-image over borrowed values: [`BlockView`]s of distinct keys on one geometry, in
/// order ([`MultiImage`]'s reading side).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageView<'a> {
    geometry: &'a Geometry,
    blocks: Vec<BlockView<'a>>,
}

impl<'a> ImageView<'a> {
    /// The image of `blocks` on `geometry`, after checking that every block lies on
    /// `geometry` and that the keys are distinct.
    pub fn new(geometry: &'a Geometry, blocks: Vec<BlockView<'a>>) -> Result<Self, ImageError> {
        for (i, block) in blocks.iter().enumerate() {
            if block.geometry != geometry {
                return Err(ImageError::GeometryMismatch {
                    key: block.key.to_string(),
                    expected: format!("{geometry:?}"),
                    got: format!("{:?}", block.geometry),
                });
            }
            if blocks[..i].iter().any(|b| b.key == block.key) {
                return Err(ImageError::DuplicateKey {
                    key: block.key.to_string(),
                });
            }
        }
        Ok(Self { geometry, blocks })
    }

    /// The image of `signature` on `geometry` whose blocks' values are `blocks` (see
    /// [`Signature::views`]).
    pub fn of(
        signature: &'a Signature,
        geometry: &'a Geometry,
        blocks: &[&'a [f32]],
    ) -> Result<Self, ImageError> {
        Ok(Self {
            geometry,
            blocks: signature.views(geometry, blocks)?,
        })
    }

    /// The shared geometry.
    pub fn geometry(&self) -> &'a Geometry {
        self.geometry
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.geometry.dim()
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[BlockView<'a>] {
        &self.blocks
    }

    /// The keys and channel counts, in order.
    pub fn signature(&self) -> Signature {
        Signature::of_views(&self.blocks)
    }

    /// Checks that the image has signature `expected` ([`MultiImage::expect_signature`]).
    pub fn expect_signature(&self, expected: &Signature) -> Result<(), ImageError> {
        self.signature().expect_equal(expected)
    }
}

impl MultiImage {
    /// The image as an [`ImageView`].
    pub fn as_view(&self) -> ImageView<'_> {
        ImageView {
            geometry: self.geometry(),
            blocks: self.blocks().iter().map(ImageBlock::as_view).collect(),
        }
    }
}

impl Signature {
    /// Views of one image of this signature on `geometry` whose blocks' values are `blocks`
    /// (one slice per entry, in order), after checking each slice's length.
    pub fn views<'a>(
        &'a self,
        geometry: &'a Geometry,
        blocks: &[&'a [f32]],
    ) -> Result<Vec<BlockView<'a>>, ImageError> {
        if blocks.len() != self.0.len() {
            return Err(ImageError::BlockCount {
                expected: self.0.len(),
                got: blocks.len(),
            });
        }
        self.0
            .iter()
            .zip(blocks)
            .map(|((key, channels), data)| BlockView::new(geometry, key, *channels, data))
            .collect()
    }

    /// The keys and channel counts of `views`, in order (unchecked: a signature made of a
    /// multi-image's blocks has distinct keys).
    pub(crate) fn of_views(views: &[BlockView<'_>]) -> Self {
        Self(views.iter().map(|v| (v.key.clone(), v.channels)).collect())
    }
}

/// Checks that `got` has the geometry, keys and channel counts of `expected`, block by block
/// (a gradient against the image it is the gradient of).
pub(crate) fn check_same_shapes(
    expected: &[BlockView<'_>],
    got: &[BlockView<'_>],
) -> Result<(), ImageError> {
    for (e, g) in expected.iter().zip(got) {
        if e.geometry != g.geometry {
            return Err(ImageError::GeometryMismatch {
                key: g.key.to_string(),
                expected: format!("{:?}", e.geometry),
                got: format!("{:?}", g.geometry),
            });
        }
    }
    let same =
        expected.len() == got.len() && expected.iter().zip(got).all(|(e, g)| e.same_shape(g));
    if !same {
        return Err(ImageError::SignatureMismatch {
            expected: Signature::of_views(expected).to_string(),
            got: Signature::of_views(got).to_string(),
        });
    }
    Ok(())
}

/// Checks that `out` has one slice per view, of the view's length (the output of a layer
/// that keeps its input's shape).
pub(crate) fn check_outputs(views: &[BlockView<'_>], out: &[&mut [f32]]) -> Result<(), ImageError> {
    if views.len() != out.len() {
        return Err(ImageError::BlockCount {
            expected: views.len(),
            got: out.len(),
        });
    }
    for (view, out) in views.iter().zip(out) {
        if view.data.len() != out.len() {
            return Err(ImageError::DataLength {
                key: view.key.to_string(),
                expected: view.data.len(),
                got: out.len(),
            });
        }
    }
    Ok(())
}

/// Runs `f` on every block of `input` with its slice of `out`, after checking `out`
/// ([`check_outputs`]): a same-shape layer's forward pass on views, block by block.
pub(crate) fn each_block_into(
    input: &[BlockView<'_>],
    out: &mut [&mut [f32]],
    mut f: impl FnMut(BlockView<'_>, &mut [f32]) -> Result<(), Error>,
) -> Result<(), Error> {
    check_outputs(input, out)?;
    for (&block, out) in input.iter().zip(out.iter_mut()) {
        f(block, out)?;
    }
    Ok(())
}

/// The image of `input`'s shape whose blocks `fill` writes, given views of `input`'s blocks
/// and one output slice per block (from [`buffers`]): a same-shape layer's call on owned
/// images through its call on views. Returns `fill`'s value too.
pub(crate) fn same_shape_image<T>(
    input: &MultiImage,
    fill: impl FnOnce(&[BlockView<'_>], &mut [&mut [f32]]) -> Result<T, Error>,
) -> Result<(MultiImage, T), Error> {
    let views: Vec<BlockView<'_>> = input.blocks().iter().map(ImageBlock::as_view).collect();
    // `fill` writes every value (a layer's call on views fills its outputs).
    let mut data: Vec<Vec<f32>> = views.iter().map(|v| buffers::take(v.data.len())).collect();
    let mut out: Vec<&mut [f32]> = data.iter_mut().map(Vec::as_mut_slice).collect();
    let value = fill(&views, &mut out)?;
    let blocks = input
        .blocks()
        .iter()
        .zip(data)
        .map(|(b, data)| ImageBlock::new(b.geometry.clone(), b.key.clone(), b.channels, data))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        MultiImage::from_blocks(input.geometry().clone(), blocks)?,
        value,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_length_and_matches_the_block() {
        let geometry = Geometry::new(vec![2, 3], vec![true, true]).unwrap();
        let key = TensorKey::vector();
        let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let view = BlockView::new(&geometry, &key, 2, &data).unwrap();
        assert_eq!((view.components(), view.channel_len()), (2, 12));
        let block = ImageBlock::new(geometry.clone(), key.clone(), 2, data.clone()).unwrap();
        assert_eq!(block.as_view(), view);
        assert!(view.same_shape(&block.as_view()));
        let err = BlockView::new(&geometry, &key, 2, &data[..23]).unwrap_err();
        assert_eq!(
            err,
            ImageError::DataLength {
                key: key.to_string(),
                expected: 24,
                got: 23
            }
        );
        let scalar = TensorKey::scalar();
        let other = BlockView::new(&geometry, &scalar, 4, &data[..24]).unwrap();
        assert!(!view.same_shape(&other));
    }

    #[test]
    fn image_views_check_geometry_and_keys() {
        let geometry = Geometry::new(vec![2, 3], vec![true, true]).unwrap();
        let other = Geometry::new(vec![3, 2], vec![true, true]).unwrap();
        let (scalar, vector) = (TensorKey::scalar(), TensorKey::vector());
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let s = BlockView::new(&geometry, &scalar, 2, &data).unwrap();
        let v = BlockView::new(&geometry, &vector, 1, &data).unwrap();
        let image = ImageView::new(&geometry, vec![v, s]).unwrap();
        let want = Signature::new(vec![(vector.clone(), 1), (scalar.clone(), 2)]).unwrap();
        assert_eq!(image.signature(), want);
        assert!(image.expect_signature(&want).is_ok());
        let swapped = Signature::new(vec![(scalar.clone(), 2), (vector.clone(), 1)]).unwrap();
        assert!(matches!(
            image.expect_signature(&swapped),
            Err(ImageError::SignatureMismatch { .. })
        ));
        assert!(matches!(
            ImageView::new(&geometry, vec![s, s]),
            Err(ImageError::DuplicateKey { .. })
        ));
        let elsewhere = BlockView::new(&other, &scalar, 2, &data).unwrap();
        assert!(matches!(
            ImageView::new(&geometry, vec![elsewhere]),
            Err(ImageError::GeometryMismatch { .. })
        ));
        let owned = MultiImage::from_blocks(
            geometry.clone(),
            vec![ImageBlock::new(geometry.clone(), vector.clone(), 1, data.clone()).unwrap()],
        )
        .unwrap();
        assert_eq!(owned.as_view().blocks(), &[v]);
        let of = ImageView::of(&want, &geometry, &[&data, &data]).unwrap();
        assert_eq!(of.blocks(), &[v, s]);
    }
}
