//! A differentiable spectral function `f(A) = U·diag(f(λ))·Uᵀ` of small symmetric matrices
//! (n ≤ 3), for the eigen-whitening of vector blocks in [`crate::layers::norm`].
//!
//! burn 0.22 has no differentiable `eigh`. The value is computed on the host with cyclic
//! Jacobi rotations in f64; the gradient comes from the Daleckii–Krein formula
//! `df(A)[Δ] = U·(K ∘ (Uᵀ·Δ·U))·Uᵀ` with `K_ij = (f(λ_i) − f(λ_j)) / (λ_i − λ_j)` (and
//! `f'(λ_i)` when the eigenvalues coincide): the graph records
//! `f(A₀) + df(A₀)[A − A₀]` with `A₀ = A.detach()`, whose value is `f(A₀)` and whose derivative
//! with respect to `A` is exactly that of `f` at `A₀` (first order, which is what backward
//! needs). Unlike differentiating the eigenvectors themselves, `K` stays finite for repeated
//! eigenvalues.

use burn::tensor::Tensor;

use crate::error::TrainError;
use crate::image::{read_f64, tensor_from};

/// Eigenvalues and eigenvectors of a symmetric `n × n` matrix (row-major, n ≤ 3) by cyclic
/// Jacobi rotations: returns `(λ, U)` with `U` row-major, column `j` the eigenvector of `λ_j`.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    let mut u = vec![0.0; n * n];
    for i in 0..n {
        u[i * n + i] = 1.0;
    }
    let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..64 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-300 || off <= 1e-17 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.5.1).
                let tau = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let t = if tau == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * mkp - s * mkq;
                    m[k * n + q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * mpk - s * mqk;
                    m[q * n + k] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let (ukp, ukq) = (u[k * n + p], u[k * n + q]);
                    u[k * n + p] = c * ukp - s * ukq;
                    u[k * n + q] = s * ukp + c * ukq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i * n + i]).collect(), u)
}

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
