//! The general matrix products of the dynamic `ConvContract` schedule and of its gradients
//! (matrixmultiply), kept on the calling thread, and [`add_row_dots`], the product with a
//! transposed right operand and few rows that the weight gradient makes, written here
//! because matrixmultiply's packing and 16-row register tile fit it poorly.

use super::simd::widest;

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

/// Lanes of one accumulator of [`add_row_dots`] and [`add_lane_products`] (one AVX-512
/// vector, two AVX2 vectors).
pub const LANES: usize = 16;

/// Below this many rows of `a`, [`add_row_dots`] beats matrixmultiply (measured on AVX-512:
/// 1.5–2.4× at 4 and 8 rows, 0.5–0.7× at 16 and more).
pub const FEW_ROWS: usize = 16;

/// `c += a · bᵀ` for row-major contiguous `a` (`m × k`), `b` (`n × k`) and `c` (`m × n`):
/// every `c[i][j]` gains the dot product of row `i` of `a` and row `j` of `b`.
///
/// This is the weight gradient's product (`G · Rᵀ`: few output channels `m`, long rows `k` of
/// pixels), for `m` below [`FEW_ROWS`]. matrixmultiply packs all of `b` into its panel
/// layout first and pads `m` to its register tile; here rows of `b` are read in place,
/// three at a time against eight (or four, or one) rows of `a`, into accumulators of
/// [`LANES`] lanes with fused multiply-adds, compiled for the widest vectors the CPU has
/// ([`widest`]). The lanes are summed in a fixed order, so the result does not depend on
/// the vector width.
///
/// Panics if a slice does not have its shape's length.
pub fn add_row_dots([m, k, n]: [usize; 3], a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(
        a.len() == m * k && b.len() == n * k && c.len() == m * n,
        "add_row_dots: operands do not hold m × k, n × k, m × n values"
    );
    if k == 0 {
        return;
    }
    let rows_a: Vec<&[f32]> = a.chunks_exact(k).collect();
    let rows_b: Vec<&[f32]> = b.chunks_exact(k).collect();
    widest(
        #[inline(always)]
        || {
            let mut i = 0;
            while i < m {
                let mr = [8, 4, 1].into_iter().find(|&r| r <= m - i).unwrap_or(1);
                match mr {
                    8 => add_rows::<8>(&rows_a[i..i + 8], &rows_b, c, i),
                    4 => add_rows::<4>(&rows_a[i..i + 4], &rows_b, c, i),
                    _ => add_rows::<1>(&rows_a[i..i + 1], &rows_b, c, i),
                }
                i += mr;
            }
        },
    );
}

/// Adds the dot products of the `MR` rows `a` (rows `i..i + MR` of [`add_row_dots`]'s `a`)
/// with every row of `b` into `c`.
#[inline(always)]
fn add_rows<const MR: usize>(a: &[&[f32]], b: &[&[f32]], c: &mut [f32], i: usize) {
    let n = b.len();
    let a: [&[f32]; MR] = std::array::from_fn(|r| a[r]);
    let mut j = 0;
    while j + 3 <= n {
        let dots = dot_tile::<MR, 3>(a, std::array::from_fn(|s| b[j + s]));
        for (r, dots) in dots.iter().enumerate() {
            for (s, dot) in dots.iter().enumerate() {
                c[(i + r) * n + j + s] += dot;
            }
        }
        j += 3;
    }
    for (j, b) in b.iter().enumerate().skip(j) {
        let dots = dot_tile::<MR, 1>(a, [b]);
        for (r, dots) in dots.iter().enumerate() {
            c[(i + r) * n + j] += dots[0];
        }
    }
}

/// The `MR × NR` dot products of rows `a` and `b` (all of one length).
#[inline(always)]
fn dot_tile<const MR: usize, const NR: usize>(a: [&[f32]; MR], b: [&[f32]; NR]) -> [[f32; NR]; MR] {
    let k = a[0].len();
    let full = k / LANES;
    let acc = lane_tile(a, b);
    std::array::from_fn(|r| {
        std::array::from_fn(|s| {
            let tail = (full * LANES..k).fold(0.0f32, |sum, l| a[r][l].mul_add(b[s][l], sum));
            acc[r][s].iter().sum::<f32>() + tail
        })
    })
}

/// The `MR × NR` dot products of rows `a` and `b` (all of one length) over their whole
/// [`LANES`]-value blocks, per lane: `[r][s][l] = Σ_v a[r][v · LANES + l] · b[s][v · LANES + l]`.
#[inline(always)]
fn lane_tile<const MR: usize, const NR: usize>(
    a: [&[f32]; MR],
    b: [&[f32]; NR],
) -> [[[f32; LANES]; NR]; MR] {
    let full = a[0].len() / LANES;
    let a_chunks: [&[[f32; LANES]]; MR] = std::array::from_fn(|r| &a[r].as_chunks().0[..full]);
    let b_chunks: [&[[f32; LANES]]; NR] = std::array::from_fn(|s| &b[s].as_chunks().0[..full]);
    let mut acc = [[[0.0f32; LANES]; NR]; MR];
    for chunk in 0..full {
        // Copies in registers: borrowed lanes keep LLVM from vectorising the loop.
        let bv: [[f32; LANES]; NR] = std::array::from_fn(|s| b_chunks[s][chunk]);
        for (acc, a) in acc.iter_mut().zip(&a_chunks) {
            let av = a[chunk];
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                for l in 0..LANES {
                    acc[l] = av[l].mul_add(bv[l], acc[l]);
                }
            }
        }
    }
    acc
}

/// [`add_row_dots`] with the dot products kept per lane, for a caller that adds many
/// products into the same sums (the weight gradient's, one per chunk of pixels) and sums the
/// lanes once at the end ([`sum_lanes`]): short rows then cost no horizontal sum each.
/// `lanes[(i · n + j) · LANES + l] += Σ_v a[i][v · LANES + l] · b[j][v · LANES + l]`, for `k` a
/// multiple of [`LANES`].
///
/// Always inlined, with no dispatch of its own: it compiles for the caller's target features
/// (the row-chunk schedule's AVX-512 function). Panics if a slice does not have its shape's
/// length or `k` is not a multiple of [`LANES`].
#[inline(always)]
pub fn add_lane_products([m, k, n]: [usize; 3], a: &[f32], b: &[f32], lanes: &mut [f32]) {
    assert!(
        k.is_multiple_of(LANES)
            && a.len() == m * k
            && b.len() == n * k
            && lanes.len() == m * n * LANES,
        "add_lane_products: operands do not hold m × k, n × k, m × n × LANES values (k a \
         multiple of LANES)"
    );
    if k == 0 {
        return;
    }
    let mut i = 0;
    while i < m {
        let mr = [8, 4, 1].into_iter().find(|&r| r <= m - i).unwrap_or(1);
        match mr {
            8 => add_lane_rows::<8>(a, b, [k, n, i], lanes),
            4 => add_lane_rows::<4>(a, b, [k, n, i], lanes),
            _ => add_lane_rows::<1>(a, b, [k, n, i], lanes),
        }
        i += mr;
    }
}

/// Adds the lane products of rows `i..i + MR` of `a` with every row of `b` into `lanes`
/// (see [`add_lane_products`]).
#[inline(always)]
fn add_lane_rows<const MR: usize>(a: &[f32], b: &[f32], [k, n, i]: [usize; 3], lanes: &mut [f32]) {
    let a: [&[f32]; MR] = std::array::from_fn(|r| &a[(i + r) * k..(i + r + 1) * k]);
    let mut j = 0;
    while j + 3 <= n {
        let tile = lane_tile::<MR, 3>(a, std::array::from_fn(|s| &b[(j + s) * k..(j + s + 1) * k]));
        add_lane_tile(&tile, [n, i, j], lanes);
        j += 3;
    }
    for j in j..n {
        let tile = lane_tile::<MR, 1>(a, [&b[j * k..(j + 1) * k]]);
        add_lane_tile(&tile, [n, i, j], lanes);
    }
}

/// Adds an `MR × NR` tile of lane products for rows `i..` and columns `j..` into `lanes`
/// (`n` columns).
#[inline(always)]
fn add_lane_tile<const MR: usize, const NR: usize>(
    tile: &[[[f32; LANES]; NR]; MR],
    [n, i, j]: [usize; 3],
    lanes: &mut [f32],
) {
    for (r, tile) in tile.iter().enumerate() {
        let at = ((i + r) * n + j) * LANES;
        // Whole lane arrays read into values before the adds and written back after: added
        // in place through the references, the adds compiled to 16 scalar instructions per
        // product (the compiler could not rule out that `lanes` overlaps the tile).
        let (sums, _) = lanes[at..at + NR * LANES].as_chunks_mut::<LANES>();
        for (sums, products) in sums.iter_mut().zip(tile) {
            let (mut total, products) = (*sums, *products);
            for (sum, p) in total.iter_mut().zip(products) {
                *sum += p;
            }
            *sums = total;
        }
    }
}

/// The sums of [`add_lane_products`]'s lanes, one per product, in a fixed order.
pub fn sum_lanes(lanes: &[f32]) -> impl Iterator<Item = f32> + '_ {
    lanes
        .chunks_exact(LANES)
        .map(|lanes| lanes.iter().sum::<f32>())
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

    /// Pseudo-random rows `a` (`m × k`) and `b` (`n × k`) and their products `a · bᵀ`.
    fn rows_and_products(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let b: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
            .collect();
        let want = naive(m, k, n, |i, l| a[i * k + l], |l, j| b[j * k + l]);
        (a, b, want)
    }

    #[test]
    fn row_dots_add_the_product_with_the_transpose() {
        // Tiles of 8, 4 and 1 rows and of 3 and 1 columns; rows shorter than one lane block.
        for (m, k, n) in [(8, 64, 6), (13, 37, 7), (5, 3, 4), (1, 100, 1)] {
            let (a, b, want) = rows_and_products(m, k, n);
            let mut c = vec![0.25; m * n];
            add_row_dots([m, k, n], &a, &b, &mut c);
            for (got, want) in c.iter().zip(&want) {
                let want = want + 0.25;
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{m}×{k}×{n}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn lane_products_sum_to_the_row_dots() {
        // Tiles of 8, 4 and 1 rows and of 3 and 1 columns, added twice.
        for (m, k, n) in [(8, 64, 6), (13, 32, 7), (5, 16, 4), (1, 128, 1)] {
            let (a, b, want) = rows_and_products(m, k, n);
            let mut lanes = vec![0.0; m * n * LANES];
            add_lane_products([m, k, n], &a, &b, &mut lanes);
            add_lane_products([m, k, n], &a, &b, &mut lanes);
            for (got, want) in sum_lanes(&lanes).zip(&want) {
                let want = 2.0 * want;
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{m}×{k}×{n}: {got} vs {want}"
                );
            }
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
