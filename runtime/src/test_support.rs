//! Helpers shared by the crate's unit tests.

use crate::image::{Signature, TensorKey};

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
