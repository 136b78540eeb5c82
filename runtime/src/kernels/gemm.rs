//! The general matrix products of the dynamic `ConvContract` schedule and of its gradients
//! (matrixmultiply), kept on the calling thread.

/// matrixmultiply (with its `threading` feature) uses more than one thread once
/// `m·k + k·n` reaches this size; [`gemm`] and [`gemm_transposed`] keep each call below it.
const THREADING_SIZE: usize = 2 << 14;

/// `c = a · b + beta · c` for row-major contiguous `a` (`m × k`), `b` (at least `k × n`) and
/// `c` (`m × n`), computed in column chunks small enough that matrixmultiply stays on this
/// thread (its `threading` feature would add threads on top of rayon's).
///
/// Panics if a slice is shorter than its shape.
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(
        a.len() == m * k && b.len() >= k * n && c.len() == m * n,
        "gemm: operands are not m × k, k × n, m × n"
    );
    let chunk = if m * k < THREADING_SIZE {
        ((THREADING_SIZE - 1 - m * k) / k / 16 * 16).max(16)
    } else {
        n
    };
    let mut n0 = 0;
    while n0 < n {
        let width = chunk.min(n - n0);
        // SAFETY: `a` is m×k, `b` holds k×n, `c` is m×n, all row-major and contiguous (checked
        // above); columns n0..n0 + width of `b` and `c` are in bounds.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                width,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr().add(n0),
                n as isize,
                1,
                beta,
                c.as_mut_ptr().add(n0),
                n as isize,
                1,
            );
        }
        n0 += width;
    }
}

/// Which operand of [`gemm_transposed`] is stored transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transposed {
    /// `a` is stored `k × m` (row-major): the product uses `aᵀ`.
    A,
    /// `b` is stored `n × k` (row-major): the product uses `bᵀ`.
    B,
}

/// `c = op(a) · op(b) + beta · c` (shape `[m, k, n]`) with `c` row-major `m × n` and one
/// operand stored transposed (`which`): `aᵀ · b` with `a` stored `k × m` and `b` `k × n`, or
/// `a · bᵀ` with `a` stored `m × k` and `b` `n × k`. Computed in blocks small enough that
/// matrixmultiply stays on this thread: column blocks of `c` when `m · k` allows them (as
/// [`gemm`]), else blocks of the inner dimension `k` (the first scales `c` by `beta`, the
/// others add to it).
///
/// Panics if a slice does not have its shape's length.
pub fn gemm_transposed(
    which: Transposed,
    [m, k, n]: [usize; 3],
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    assert!(
        a.len() == m * k && b.len() == k * n && c.len() == m * n,
        "gemm_transposed: operands do not hold m × k, k × n, m × n values"
    );
    if k == 0 {
        // β = 0 does not read `c` (it may hold stale values), as matrixmultiply's own.
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    // Element strides (row, column) of op(a) and op(b).
    let ((rsa, csa), (rsb, csb)) = match which {
        Transposed::A => ((1, m), (n, 1)),
        Transposed::B => ((k, 1), (1, k)),
    };
    let (width, depth) = if m * k < THREADING_SIZE {
        (((THREADING_SIZE - 1 - m * k) / k).max(1), k)
    } else {
        (n, ((THREADING_SIZE - 1) / (m + n)).max(1))
    };
    for k0 in (0..k).step_by(depth) {
        let depth = depth.min(k - k0);
        let beta = if k0 == 0 { beta } else { 1.0 };
        for n0 in (0..n).step_by(width) {
            let width = width.min(n - n0);
            // SAFETY: op(a) is m×k with element (i, l) at i·rsa + l·csa < m·k = a.len(),
            // op(b) is k×n with (l, j) at l·rsb + j·csb < k·n = b.len(), `c` is m×n row-major
            // (checked above); the block's indices k0..k0 + depth and n0..n0 + width stay
            // below k and n.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    depth,
                    width,
                    1.0,
                    a.as_ptr().add(k0 * csa),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr().add(k0 * rsb + n0 * csb),
                    rsb as isize,
                    csb as isize,
                    beta,
                    c.as_mut_ptr().add(n0),
                    n as isize,
                    1,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `c[i][j] = Σ_l a(i, l) · b(l, j)` by the definition.
    fn naive(
        m: usize,
        k: usize,
        n: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a(i, l) * b(l, j)).sum();
            }
        }
        c
    }

    #[test]
    fn transposed_products_match_the_definition() {
        // Column blocks (m·k small, n large) and inner blocks (m·k large).
        for (m, k, n) in [(7, 3, 20_000), (7, 6000, 33)] {
            check_transposed_products(m, k, n);
        }
    }

    fn check_transposed_products(m: usize, k: usize, n: usize) {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
            .collect();
        for which in [Transposed::A, Transposed::B] {
            let want = match which {
                Transposed::A => naive(m, k, n, |i, l| a[l * m + i], |l, j| b[l * n + j]),
                Transposed::B => naive(m, k, n, |i, l| a[i * k + l], |l, j| b[j * k + l]),
            };
            let mut c = vec![1.0; m * n];
            gemm_transposed(which, [m, k, n], &a, &b, 0.5, &mut c);
            for (got, want) in c.iter().zip(&want) {
                let want = want + 0.5;
                assert!(
                    (got - want).abs() <= 1e-3 * (1.0 + want.abs()),
                    "{which:?}: {got} vs {want}"
                );
            }
        }
    }
}
