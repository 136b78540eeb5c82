//! Deterministic test data: pseudo-random values, signatures and images.

use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};

/// `len` deterministic pseudo-random values in [-1, 1) (a 64-bit LCG), different per `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// A signature from `(k, parity, channels)` entries, all indices contravariant.
pub fn signature(entries: &[(usize, u8, usize)]) -> Signature {
    Signature::new(
        entries
            .iter()
            .map(|&(k, p, c)| (TensorKey::new(k, p), c))
            .collect(),
    )
    .expect("a valid test signature")
}

/// An image with the given signature and geometry filled with [`noise`]; block `i` uses seed
/// `seed + i`.
pub fn random_image(signature: &Signature, geometry: &Geometry, seed: u64) -> MultiImage {
    let mut image = MultiImage::new(geometry.clone());
    for (i, (key, channels)) in signature.entries().iter().enumerate() {
        let len = channels * geometry.pixels() * key.components(geometry.dim());
        let block = ImageBlock::new(
            geometry.clone(),
            key.clone(),
            *channels,
            noise(len, seed + i as u64),
        )
        .expect("the length matches the signature");
        image.insert(block).expect("signature keys are distinct");
    }
    image
}
