//! Random bench inputs shared by the runtime's benches.

use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Signature};
use rand::{Rng, SeedableRng};

/// `batch` torus images of `signature` on the `dim`-dimensional grid of side `side`, values
/// uniform in [-1, 1) from `seed`.
pub fn torus_images(
    signature: &Signature,
    dim: usize,
    side: usize,
    batch: usize,
    seed: u64,
) -> Vec<MultiImage> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let geometry = Geometry::square(dim, side, true).expect("valid geometry");
    (0..batch)
        .map(|_| {
            let mut image = MultiImage::new(geometry.clone());
            for (key, c) in signature.entries() {
                let len = c * geometry.pixels() * key.components(dim);
                let data = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
                let block = ImageBlock::new(geometry.clone(), key.clone(), *c, data)
                    .expect("consistent block");
                image.insert(block).expect("distinct keys");
            }
            image
        })
        .collect()
}
