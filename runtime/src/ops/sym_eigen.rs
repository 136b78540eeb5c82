//! A small symmetric eigen-solver (cyclic Jacobi, f64) for the d × d covariances of vector
//! group normalisation and the metric inverse, d ≤ `MAX_DIM`; `ginrs-train` differentiates
//! through it.

/// Spectral function of a symmetric `n × n` matrix `a` (row-major): `U diag(f(λ)) Uᵀ` where
/// `a = U diag(λ) Uᵀ`. The result does not depend on the eigenvector basis chosen for repeated
/// eigenvalues, so it is well defined for every symmetric input.
pub fn spectral_map(a: &[f64], n: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let (values, vectors) = symmetric_eigen(a, n);
    let mut out = vec![0.0; n * n];
    for (i, &lambda) in values.iter().enumerate() {
        let w = f(lambda);
        for r in 0..n {
            let ur = vectors[r * n + i] * w;
            for c in 0..n {
                out[r * n + c] += ur * vectors[c * n + i];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (the columns of the returned row-major `n × n` matrix) of the
/// symmetric matrix `a`, by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    debug_assert_eq!(a.len(), n * n);
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum();
        if off <= total * (f64::EPSILON * f64::EPSILON) || off < f64::MIN_POSITIVE {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation J with J_pp = J_qq = c, J_pq = s, J_qp = −s zeroes (JᵀAJ)_pq.
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconstruct(values: &[f64], vectors: &[f64], n: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * n];
        for (i, &l) in values.iter().enumerate() {
            for r in 0..n {
                for c in 0..n {
                    out[r * n + c] += vectors[r * n + i] * l * vectors[c * n + i];
                }
            }
        }
        out
    }

    #[test]
    fn decomposes_and_reconstructs() {
        // A fixed symmetric 4 × 4 matrix with a repeated eigenvalue direction mixed in.
        let n = 4;
        let a = [
            4.0, 1.0, -2.0, 0.5, //
            1.0, 3.0, 0.0, 1.5, //
            -2.0, 0.0, 5.0, -1.0, //
            0.5, 1.5, -1.0, 2.0,
        ];
        let (values, vectors) = symmetric_eigen(&a, n);
        let back = reconstruct(&values, &vectors, n);
        for (x, y) in a.iter().zip(&back) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        // Columns are orthonormal.
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n)
                    .map(|r| vectors[r * n + i] * vectors[r * n + j])
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12);
            }
        }
        // Trace is the sum of eigenvalues.
        assert!((values.iter().sum::<f64>() - 14.0).abs() < 1e-12);
    }

    #[test]
    fn inverse_square_root() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; W² · A = I for W = A^{-1/2}.
        let a = [2.0, 1.0, 1.0, 2.0];
        let w = spectral_map(&a, 2, |l| 1.0 / l.sqrt());
        let w2 = [
            w[0] * w[0] + w[1] * w[2],
            w[0] * w[1] + w[1] * w[3],
            w[2] * w[0] + w[3] * w[2],
            w[2] * w[1] + w[3] * w[3],
        ];
        let prod = [
            w2[0] * a[0] + w2[1] * a[2],
            w2[0] * a[1] + w2[1] * a[3],
            w2[2] * a[0] + w2[3] * a[2],
            w2[2] * a[1] + w2[3] * a[3],
        ];
        for (x, y) in prod.iter().zip([1.0, 0.0, 0.0, 1.0]) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
