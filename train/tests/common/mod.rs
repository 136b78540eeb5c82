//! Helpers shared by the integration tests of ginrs-train: deterministic noise, random images,
//! the loss `Σ output·cotangent` that the gradient checks differentiate, a few training steps
//! and the comparison of two batches of images.

#![allow(dead_code)]

use burn::tensor::{DType, Device, Tensor};
use ginrs_runtime::{Geometry, MultiImage, Signature, TensorKey};
use ginrs_train::image::tensor_from;
use ginrs_train::{ImageModule, Loss, Optimizer, TensorImage, Trainer};

/// `len` values uniform in [-1, 1) from a splitmix64 stream seeded with `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// A signature from `(k, parity, channels)` triples.
pub fn signature(entries: &[(usize, u8, usize)]) -> Signature {
    Signature::new(
        entries
            .iter()
            .map(|&(k, p, c)| (TensorKey::new(k, p), c))
            .collect(),
    )
    .unwrap()
}

/// A batch of random images of `signature` on `geometry`, in `dtype`.
pub fn random_image(
    signature: &Signature,
    geometry: &Geometry,
    batch: usize,
    seed: u64,
    device: &Device,
    dtype: DType,
) -> TensorImage {
    let mut image = TensorImage::new(geometry.clone(), batch);
    for (i, (key, channels)) in signature.entries().iter().enumerate() {
        let shape = [
            batch,
            *channels,
            geometry.pixels(),
            key.components(geometry.dim()),
        ];
        let values = noise(shape.iter().product(), seed * 31 + i as u64);
        image
            .push(key.clone(), tensor_from(values, shape, device, dtype))
            .unwrap();
    }
    image
}

/// `Σ_blocks Σ output·cotangent`.
pub fn dot_loss(output: &TensorImage, cotangent: &TensorImage) -> Tensor<1> {
    output
        .blocks()
        .iter()
        .zip(cotangent.blocks())
        .map(|((_, y), (_, c))| (y.clone() * c.clone()).sum())
        .reduce(|a, b| a + b)
        .expect("an output block")
}

/// A few Adam steps (lr 1e-2, SMSE) of `module` towards a random target of its own output
/// signature, on the input's device; the loss must go down.
pub fn train_a_little<M: ImageModule>(module: M, input: &TensorImage, steps: usize) -> M {
    let output = module.forward_image(input).unwrap();
    let device = output.blocks()[0].1.device();
    let target = random_image(
        &output.signature(),
        output.geometry(),
        output.batch(),
        77,
        &device,
        DType::F32,
    );
    let mut trainer = Trainer::new(module, Optimizer::adam(), 1e-2);
    let losses: Vec<f64> = (0..steps)
        .map(|_| trainer.fit_batch(input, &target, Loss::Smse).unwrap())
        .collect();
    assert_eq!(trainer.steps(), steps);
    assert!(
        losses.last() < losses.first(),
        "Adam lowers the loss: {losses:?}"
    );
    trainer.into_module()
}

/// The largest difference between two batches' values, and the largest magnitude of `b`.
pub fn max_abs_diff(a: &[MultiImage], b: &[MultiImage]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let mut diff = 0.0f32;
    let mut scale = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.signature(), y.signature());
        for (u, v) in x.blocks().iter().zip(y.blocks()) {
            for (p, q) in u.data().iter().zip(v.data()) {
                diff = diff.max((p - q).abs());
                scale = scale.max(q.abs());
            }
        }
    }
    (diff, scale)
}

/// `max |a − b| / max |b|` (absolute when `b` is all zeros).
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}
