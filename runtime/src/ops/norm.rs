//! Pixelwise helpers on geometric images: pixel norms (ginjax `norm`, `MultiImage.norm`).
//!
//! The norm of a pixel is the Frobenius norm of its tensor (`|x|` for scalars), an invariant
//! scalar under the group action.

use crate::image::{ImageBlock, MultiImage, TensorKey};

/// The Frobenius norm of one pixel's tensor components (`|x|` for a single component).
#[inline]
pub fn pixel_norm(components: &[f32]) -> f32 {
    match components {
        [x] => x.abs(),
        _ => components.iter().map(|x| x * x).sum::<f32>().sqrt(),
    }
}

/// The pixel norms of every channel of `block`: a scalar block `((), 0)` with the same
/// channels and geometry (ginjax `norm(1 + D, block)`).
pub fn pixel_norms(block: &ImageBlock) -> ImageBlock {
    let comps = block.components();
    let data = block.data().chunks_exact(comps).map(pixel_norm).collect();
    ImageBlock::new(
        block.geometry().clone(),
        TensorKey::scalar(),
        block.channels(),
        data,
    )
    .expect("one norm per pixel and channel")
}

/// The largest pixel norm of channel `c` of `block` (0 for an all-zero channel).
pub fn max_pixel_norm(block: &ImageBlock, c: usize) -> f32 {
    block
        .channel(c)
        .chunks_exact(block.components())
        .map(pixel_norm)
        .fold(0.0, f32::max)
}

/// ginjax `MultiImage.norm()`: every block becomes a scalar block of its pixel norms, all
/// concatenated (in block order) along the channels of one `((), 0)` block.
pub fn norm(image: &MultiImage) -> MultiImage {
    let mut out = MultiImage::new(image.geometry().clone());
    for block in image.blocks() {
        out.append(pixel_norms(block))
            .expect("norm blocks share the image's geometry");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    #[test]
    fn norms_of_scalars_vectors_and_multi_images() {
        let g = Geometry::new(vec![1, 2], vec![true, true]).unwrap();
        let s = ImageBlock::new(g.clone(), TensorKey::new(0, 1), 1, vec![-3.0, 2.0]).unwrap();
        let v = ImageBlock::new(
            g.clone(),
            TensorKey::vector(),
            2,
            vec![3., 4., 0., 0., 1., 0., -5., 12.],
        )
        .unwrap();
        assert_eq!(pixel_norms(&s).data(), &[3.0, 2.0]);
        assert_eq!(pixel_norms(&v).data(), &[5.0, 0.0, 1.0, 13.0]);
        assert_eq!(max_pixel_norm(&v, 1), 13.0);
        let multi = MultiImage::from_blocks(g, vec![v, s]).unwrap();
        let n = norm(&multi);
        assert_eq!(n.blocks().len(), 1);
        assert_eq!(n.blocks()[0].key(), &TensorKey::scalar());
        assert_eq!(n.blocks()[0].channels(), 3);
        assert_eq!(n.blocks()[0].data(), &[5.0, 0.0, 1.0, 13.0, 3.0, 2.0]);
    }
}
