//! A differentiable spectral function `f(A) = U·diag(f(λ))·Uᵀ` of small symmetric matrices
//! (n ≤ 3), for the eigen-whitening of vector blocks in [`crate::layers::norm`].
//!
//! burn 0.22 has no differentiable `eigh`. The value is computed on the host with the
//! runtime's cyclic Jacobi solver in f64 ([`symmetric_eigen`]); the gradient comes from the Daleckii–Krein formula
//! `df(A)[Δ] = U·(K ∘ (Uᵀ·Δ·U))·Uᵀ` with `K_ij = (f(λ_i) − f(λ_j)) / (λ_i − λ_j)` (and
//! `f'(λ_i)` when the eigenvalues coincide): the graph records
//! `f(A₀) + df(A₀)[A − A₀]` with `A₀ = A.detach()`, whose value is `f(A₀)` and whose derivative
//! with respect to `A` is exactly that of `f` at `A₀` (first order, which is what backward
//! needs). Unlike differentiating the eigenvectors themselves, `K` stays finite for repeated
//! eigenvalues.

use burn::tensor::Tensor;
use ginrs_runtime::ops::sym_eigen::symmetric_eigen;

use crate::error::TrainError;
use crate::image::{read_f64, tensor_from};

/// `f(A)` for a batch of symmetric matrices `a` of shape `[b0, b1, n, n]` (n ≤ 3), with
/// gradients by the Daleckii–Krein formula (see the module docs). `f` gives the value and
/// `df` the derivative of the scalar function.
pub fn spectral_map(
    a: Tensor<4>,
    f: impl Fn(f64) -> f64,
    df: impl Fn(f64) -> f64,
) -> Result<Tensor<4>, TrainError> {
    let [b0, b1, n, _] = a.dims();
    let device = a.device();
    let dtype = a.dtype();
    let values = read_f64(&a)?;
    let count = b0 * b1;
    let mut value = Vec::with_capacity(count * n * n);
    let mut vectors = Vec::with_capacity(count * n * n);
    let mut kernel = Vec::with_capacity(count * n * n);
    for m in values.chunks_exact(n * n) {
        // Symmetrise (the caller's matrices are symmetric up to rounding).
        let sym: Vec<f64> = (0..n * n)
            .map(|ij| 0.5 * (m[ij] + m[(ij % n) * n + ij / n]))
            .collect();
        let (lambda, u) = symmetric_eigen(&sym, n);
        let fl: Vec<f64> = lambda.iter().map(|&l| f(l)).collect();
        for r in 0..n {
            for c in 0..n {
                value.push((0..n).map(|j| u[r * n + j] * fl[j] * u[c * n + j]).sum());
            }
        }
        vectors.extend_from_slice(&u);
        let spread = lambda.iter().fold(0.0f64, |s, l| s.max(l.abs())).max(1e-30);
        for i in 0..n {
            for j in 0..n {
                let gap = lambda[i] - lambda[j];
                kernel.push(if gap.abs() <= 1e-12 * spread {
                    df(0.5 * (lambda[i] + lambda[j]))
                } else {
                    (fl[i] - fl[j]) / gap
                });
            }
        }
    }
    let shape = [b0, b1, n, n];
    let value = tensor_from(value, shape, &device, dtype);
    let u = tensor_from(vectors, shape, &device, dtype);
    let kernel = tensor_from(kernel, shape, &device, dtype);
    let delta = a.clone() - a.detach();
    let rotated = u.clone().swap_dims(2, 3).matmul(delta).matmul(u.clone());
    let first_order = u.clone().matmul(kernel * rotated).matmul(u.swap_dims(2, 3));
    Ok(value + first_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_reconstructs_symmetric_matrices() {
        let a = [4.0, 1.0, -2.0, 1.0, 3.0, 0.5, -2.0, 0.5, 1.0];
        let (l, u) = symmetric_eigen(&a, 3);
        for r in 0..3 {
            for c in 0..3 {
                let back: f64 = (0..3).map(|j| u[r * 3 + j] * l[j] * u[c * 3 + j]).sum();
                assert!((back - a[r * 3 + c]).abs() < 1e-12, "{r},{c}: {back}");
            }
        }
        // Trace and determinant are preserved.
        assert!((l.iter().sum::<f64>() - 8.0).abs() < 1e-12);
        let (l2, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut l2 = l2;
        l2.sort_by(f64::total_cmp);
        assert!((l2[0] - 1.0).abs() < 1e-14 && (l2[1] - 3.0).abs() < 1e-14);
    }
}
