//! The general matrix product of the dynamic `ConvContract` schedule (matrixmultiply), kept on
//! the calling thread.

/// matrixmultiply (with its `threading` feature) uses more than one thread once
/// `m·k + k·n` reaches this size; [`gemm`] keeps each call below it.
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
