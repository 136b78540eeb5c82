//! Metric tensors: raising and lowering tensor indices (ginjax `raise_lower`) and the metric
//! inverse (ginjax `get_metric_inverse`).
//!
//! A metric is a one-channel k = 2 block `G` (one D×D matrix per pixel) over the same spatial
//! sides as the images it acts on. Lowering tensor axis j (contravariant → covariant)
//! contracts it with the metric's *second* index, `T'[…, n, …] = Σ_a G[n, a]·T[…, a, …]`;
//! raising does the same with the inverse `G⁻¹`. Axes whose flag does not change are untouched.
//!
//! ginjax's inverse is not exact: per pixel it eigendecomposes `G = U Λ Uᵀ` (reading only the
//! lower triangle) and returns `U·diag(1/(λ + eps))·Uᵀ` with `eps = 1e-5`, so `inv(I) = 0.99999·I`
//! and raising after lowering is not the identity (ginjax/geometric.py, `get_metric_inverse`:
//! <https://github.com/WilsonGregory/ginjax/blob/main/ginjax/geometric.py>).

use thiserror::Error;

use crate::image::{ImageBlock, TensorKey};
use crate::ops::sym_eigen::spectral_map;

/// Errors from raising/lowering indices or inverting a metric.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricError {
    /// The metric block is not a one-channel k = 2 block.
    #[error("a metric must be one channel of k = 2 tensors; got {channels} channel(s) of k = {k}")]
    NotAMetric {
        /// Channels of the given block.
        channels: usize,
        /// Tensor order of the given block.
        k: usize,
    },
    /// The metric's spatial sides differ from the image's.
    #[error("the metric has spatial sides {metric:?} but the image has {image:?}")]
    Spatial {
        /// The metric's sides.
        metric: Vec<usize>,
        /// The image's sides.
        image: Vec<usize>,
    },
    /// The target covariant flags do not give one flag per tensor axis.
    #[error("expected {k} target covariant flags (one per tensor axis), got {got}")]
    Flags {
        /// The image's tensor order.
        k: usize,
        /// The number of flags given.
        got: usize,
    },
}

fn check_metric(metric: &ImageBlock) -> Result<(), MetricError> {
    if metric.channels() != 1 || metric.key().k() != 2 {
        return Err(MetricError::NotAMetric {
            channels: metric.channels(),
            k: metric.key().k(),
        });
    }
    Ok(())
}

fn check_spatial(metric: &ImageBlock, block: &ImageBlock) -> Result<(), MetricError> {
    if metric.geometry().spatial() != block.geometry().spatial() {
        return Err(MetricError::Spatial {
            metric: metric.geometry().spatial().to_vec(),
            image: block.geometry().spatial().to_vec(),
        });
    }
    Ok(())
}

/// ginjax `get_metric_inverse(G, eps)`: per pixel `U·diag(1/(λ + eps))·Uᵀ` from the symmetric
/// eigendecomposition of the lower triangle of `G`. The result has key `((False, False), 0)`.
///
/// Computed in f64 (Jacobi rotations) and rounded to f32.
pub fn metric_inverse(metric: &ImageBlock, eps: f32) -> Result<ImageBlock, MetricError> {
    check_metric(metric)?;
    let d = metric.geometry().dim();
    let mut data = Vec::with_capacity(metric.data().len());
    let mut a = vec![0.0f64; d * d];
    for pixel in metric.data().chunks_exact(d * d) {
        for i in 0..d {
            for j in 0..d {
                let (r, c) = if i >= j { (i, j) } else { (j, i) };
                a[i * d + j] = f64::from(pixel[r * d + c]);
            }
        }
        let inverse = spectral_map(&a, d, |lambda| 1.0 / (lambda + f64::from(eps)));
        data.extend(inverse.iter().map(|&v| v as f32));
    }
    Ok(
        ImageBlock::new(metric.geometry().clone(), TensorKey::new(2, 0), 1, data)
            .expect("one D×D matrix per pixel"),
    )
}

/// ginjax `raise_lower`: changes the covariant flags of `block` to `to`, lowering
/// (false → true) each changed axis with `metric` and raising (true → false) with
/// `metric_inverse` (contracting with the metric's second index). Both metrics are one-channel
/// k = 2 blocks over the block's spatial sides; the result has key `(to, parity)`.
pub fn raise_lower(
    block: &ImageBlock,
    metric: &ImageBlock,
    metric_inverse: &ImageBlock,
    to: &[bool],
) -> Result<ImageBlock, MetricError> {
    let from = block.key().covariant();
    let k = from.len();
    if to.len() != k {
        return Err(MetricError::Flags { k, got: to.len() });
    }
    let key = TensorKey::with_covariant(to.to_vec(), block.key().parity());
    let mut data = block.data().to_vec();
    let d = block.geometry().dim();
    let comps = block.components();
    let pixels = block.geometry().pixels();
    let mut scratch = vec![0.0f32; comps];
    for axis in 0..k {
        if from[axis] == to[axis] {
            continue;
        }
        let h = if to[axis] { metric } else { metric_inverse };
        check_metric(h)?;
        check_spatial(h, block)?;
        // components: (outer, d, inner) around tensor axis `axis`
        let inner = d.pow((k - axis - 1) as u32);
        let outer = comps / (inner * d);
        for (idx, pixel) in data.chunks_exact_mut(comps).enumerate() {
            let hp = &h.data()[(idx % pixels) * d * d..(idx % pixels + 1) * d * d];
            for o in 0..outer {
                for n in 0..d {
                    for i in 0..inner {
                        scratch[(o * d + n) * inner + i] = (0..d)
                            .map(|a| hp[n * d + a] * pixel[(o * d + a) * inner + i])
                            .sum();
                    }
                }
            }
            pixel.copy_from_slice(&scratch);
        }
    }
    Ok(
        ImageBlock::new(block.geometry().clone(), key, block.channels(), data)
            .expect("raising/lowering keeps the shape"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;
    use crate::ops::GINJAX_EPS;

    fn geometry(spatial: Vec<usize>) -> Geometry {
        let d = spatial.len();
        Geometry::new(spatial, vec![true; d]).unwrap()
    }

    fn metric(spatial: Vec<usize>, per_pixel: &[f32]) -> ImageBlock {
        let g = geometry(spatial);
        let data = per_pixel.repeat(g.pixels());
        ImageBlock::new(g, TensorKey::with_covariant(vec![true, true], 0), 1, data).unwrap()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn spec_example_metric_2_1_1_3() {
        let g = metric(vec![1, 1], &[2., 1., 1., 3.]);
        let inv = metric_inverse(&g, GINJAX_EPS).unwrap();
        assert_eq!(inv.key(), &TensorKey::new(2, 0));
        assert!(
            close(
                inv.data(),
                &[0.599996, -0.199998, -0.199998, 0.399998],
                1e-6
            ),
            "{:?}",
            inv.data()
        );
        let v =
            ImageBlock::new(geometry(vec![1, 1]), TensorKey::vector(), 1, vec![1., 2.]).unwrap();
        let low = raise_lower(&v, &g, &inv, &[true]).unwrap();
        assert_eq!(low.data(), &[4., 7.]);
        assert_eq!(low.key().covariant(), &[true]);
        let up = raise_lower(
            &ImageBlock::new(
                geometry(vec![1, 1]),
                TensorKey::with_covariant(vec![true], 0),
                1,
                vec![1., 2.],
            )
            .unwrap(),
            &g,
            &inv,
            &[false],
        )
        .unwrap();
        assert!(close(up.data(), &[0.2, 0.599998], 1e-6), "{:?}", up.data());
        let t = ImageBlock::new(
            geometry(vec![1, 1]),
            TensorKey::new(2, 1),
            1,
            vec![1., 2., 3., 4.],
        )
        .unwrap();
        let ax1 = raise_lower(&t, &g, &inv, &[false, true]).unwrap();
        assert_eq!(ax1.data(), &[4., 7., 10., 15.]);
        assert_eq!(ax1.key().parity(), 1);
        let ax0 = raise_lower(&t, &g, &inv, &[true, false]).unwrap();
        assert_eq!(ax0.data(), &[5., 8., 10., 14.]);
    }

    #[test]
    fn identity_metric_and_unchanged_flags() {
        let g = metric(vec![2, 3], &[1., 0., 0., 1.]);
        let inv = metric_inverse(&g, GINJAX_EPS).unwrap();
        assert!(close(
            inv.data(),
            &[0.99999, 0., 0., 0.99999].repeat(6),
            1e-7
        ));
        let data: Vec<f32> = (0..24).map(|x| x as f32 - 7.5).collect();
        let t =
            ImageBlock::new(geometry(vec![2, 3]), TensorKey::new(2, 0), 1, data.clone()).unwrap();
        assert_eq!(
            raise_lower(&t, &g, &inv, &[true, true]).unwrap().data(),
            data.as_slice()
        );
        assert_eq!(raise_lower(&t, &g, &inv, &[false, false]).unwrap(), t);
        assert_eq!(
            raise_lower(&t, &g, &inv, &[true]).unwrap_err(),
            MetricError::Flags { k: 2, got: 1 }
        );
    }

    #[test]
    fn diagonal_metric_scales_components_and_round_trips() {
        // D = 3, G = diag(2, 3, 5): lowering both axes of T multiplies T[a][b] by g_a·g_b
        let diag = [2.0f32, 3.0, 5.0];
        let mut per_pixel = [0.0f32; 9];
        for (i, &x) in diag.iter().enumerate() {
            per_pixel[i * 3 + i] = x;
        }
        let g = metric(vec![2, 1, 2], &per_pixel);
        let data: Vec<f32> = (0..2 * 4 * 9).map(|x| (x % 7) as f32 - 3.0).collect();
        let t = ImageBlock::new(
            geometry(vec![2, 1, 2]),
            TensorKey::new(2, 0),
            2,
            data.clone(),
        )
        .unwrap();
        let exact_inv = metric_inverse(&g, 0.0).unwrap();
        let low = raise_lower(&t, &g, &exact_inv, &[true, true]).unwrap();
        for (i, (&got, &x)) in low.data().iter().zip(&data).enumerate() {
            let (a, b) = ((i % 9) / 3, i % 3);
            assert_eq!(got, x * diag[a] * diag[b]);
        }
        let back = raise_lower(&low, &g, &exact_inv, &[false, false]).unwrap();
        assert!(close(back.data(), &data, 1e-5));
        // with eps the round trip is off by the factor g/(g + eps) per axis
        let inv = metric_inverse(&g, GINJAX_EPS).unwrap();
        let back = raise_lower(&low, &g, &inv, &[false, false]).unwrap();
        let want: Vec<f32> = data
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let (a, b) = ((i % 9) / 3, i % 3);
                x * diag[a] / (diag[a] + 1e-5) * diag[b] / (diag[b] + 1e-5)
            })
            .collect();
        assert!(close(back.data(), &want, 1e-6));
    }

    #[test]
    fn rotated_metric_inverse_is_an_inverse() {
        // a non-diagonal symmetric positive definite 3×3 metric: G·inv(G) ≈ I (eps = 0)
        let per_pixel = [4.0f32, 1.0, 0.5, 1.0, 3.0, -0.25, 0.5, -0.25, 2.0];
        let g = metric(vec![1, 1, 1], &per_pixel);
        let inv = metric_inverse(&g, 0.0).unwrap();
        let h = inv.data();
        for i in 0..3 {
            for j in 0..3 {
                let p: f32 = (0..3).map(|l| per_pixel[i * 3 + l] * h[l * 3 + j]).sum();
                assert!(
                    (p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-6,
                    "({i},{j}) = {p}"
                );
            }
        }
        // only the lower triangle is read
        let mut upper_garbage = per_pixel;
        upper_garbage[1] = 100.0;
        upper_garbage[5] = -7.0;
        let inv2 = metric_inverse(&metric(vec![1, 1, 1], &upper_garbage), 0.0).unwrap();
        assert_eq!(inv2.data(), inv.data());
    }
}
