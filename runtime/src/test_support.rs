//! Helpers shared by the crate's unit tests.

use crate::image::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};

/// `len` uniform values in [−1, 1) from `seed` (xorshift).
pub(crate) fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// A signature from `(k, parity, channels)` triples.
pub(crate) fn sig(entries: &[(usize, u8, usize)]) -> Signature {
    Signature::new(
        entries
            .iter()
            .map(|&(k, p, c)| (TensorKey::new(k, p), c))
            .collect(),
    )
    .unwrap()
}

/// `channels` scalars and `channels` vectors.
pub(crate) fn scalars_and_vectors(channels: usize) -> Signature {
    Signature::new(vec![
        (TensorKey::scalar(), channels),
        (TensorKey::vector(), channels),
    ])
    .unwrap()
}

/// An image of `signature` on `geometry` whose blocks are [`noise`] (block `b` from seed
/// `seed · 17 + b`).
pub(crate) fn random_image(geometry: &Geometry, signature: &Signature, seed: u64) -> MultiImage {
    let mut image = MultiImage::new(geometry.clone());
    for (b, (key, c)) in signature.entries().iter().enumerate() {
        let len = c * geometry.pixels() * key.components(geometry.dim());
        let data = noise(len, seed * 17 + b as u64);
        image
            .insert(ImageBlock::new(geometry.clone(), key.clone(), *c, data).unwrap())
            .unwrap();
    }
    image
}

/// `⟨a, b⟩` over every value of two images of one signature, in f64.
pub(crate) fn image_dot(a: &MultiImage, b: &MultiImage) -> f64 {
    a.blocks()
        .iter()
        .zip(b.blocks())
        .flat_map(|(x, y)| x.data().iter().zip(y.data()))
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}
