//! Channel mixing with compile-time shapes, for generated layers.
//!
//! A generated layer mixes the responses of one chunk of an output row as `C = W · R`: `W` is
//! the output block's weights `out_c × K` (`K = Σ in_c · n_f` over the pairs reaching the
//! block), `R` the chunk's responses `K × cols` and `C` the block's values `out_c × cols`, all
//! small enough to stay in L1. The layer knows `out_c` and `K` at compile time, so
//! [`mix_chunk`] picks its register panels at compile time and is inlined into the chunk
//! driver's AVX-512 function (the dynamic `ConvContract` path uses a general GEMM instead).
//! `W` is laid out once per call of the layer in the order the panels read it
//! ([`pack_weights`]).

/// `c = w · r` for one chunk of a generated layer's output block: `w` the `M × k` weights in
/// the order of `kernels::mix::pack_weights` (panels of 8, 4 and 1 rows, column by column),
/// `r` row-major `k × cols` and `c` row-major `M × cols`, `cols` a multiple of 16 (the chunk's
/// components × plane width). The operands are small and L1-resident, so they are read in
/// place; panels of up to 8 rows × 32 columns are kept in registers. `M` is a constant, so the
/// panels are chosen at compile time; the depth `k` stays a loop (unrolling it would multiply
/// the generated code for no speed). Products accumulate with fused multiply-adds, in order of
/// `k`: inline it only into code compiled with FMA (elsewhere `f32::mul_add` is a library
/// call).
///
/// Panics if the slices are shorter than these shapes or `cols` is not a multiple of 16 (a
/// caller bug: the chunk driver sizes them).
#[inline(always)]
pub fn mix_chunk<const M: usize>(w: &[f32], r: &[f32], k: usize, cols: usize, c: &mut [f32]) {
    mix_rows(M, w, r, k, cols, c);
}

/// The row-major `m × k` weights `w` in the order [`mix_rows`] reads them: its panels of rows
/// (8 at a time, then 4, then 1) one after another, each `R` rows column by column, so that
/// row `o0 + i` of the panel at `o0`, column `j`, is at `o0 · k + j · R + i`. A panel then
/// reads one contiguous group of `R` weights per column (the row-major order needs a bounds
/// check per row and column).
///
/// Panics if `w` is shorter than `m × k`.
pub fn pack_weights(m: usize, k: usize, w: &[f32]) -> Vec<f32> {
    let mut packed = Vec::with_capacity(m * k);
    for (o0, rows) in panels(m) {
        for j in 0..k {
            packed.extend((o0..o0 + rows).map(|o| w[o * k + j]));
        }
    }
    packed
}

/// The panels [`mix_rows`] cuts `m` rows into, and [`pack_weights`] lays out: (first row,
/// rows), 8 rows at a time, then 4, then 1.
fn panels(m: usize) -> impl Iterator<Item = (usize, usize)> {
    let eights = m / 8;
    let four = (m % 8) / 4;
    let ones = m % 4;
    let sizes = std::iter::repeat_n(8, eights)
        .chain(std::iter::repeat_n(4, four))
        .chain(std::iter::repeat_n(1, ones));
    sizes.scan(0, |o0, rows| {
        let first = *o0;
        *o0 += rows;
        Some((first, rows))
    })
}

/// [`mix_chunk`] with the row count `m` known at run time (the dynamic `ConvContract`'s
/// row-chunk schedule): the same register panels, chosen by a loop over `m`.
///
/// Panics as [`mix_chunk`].
#[inline(always)]
pub fn mix_rows(m: usize, w: &[f32], r: &[f32], k: usize, cols: usize, c: &mut [f32]) {
    assert!(
        w.len() >= m * k && r.len() >= k * cols && c.len() >= m * cols && cols.is_multiple_of(16),
        "mix_rows: operands shorter than M × k, k × cols, M × cols"
    );
    let mut q0 = 0;
    while q0 + 32 <= cols {
        chunk_rows::<32>(m, w, r, k, cols, c, q0);
        q0 += 32;
    }
    if q0 < cols {
        chunk_rows::<16>(m, w, r, k, cols, c, q0);
    }
}

/// Every row of columns `q0..q0 + W` of [`mix_rows`], in its panels ([`panels`]).
#[inline(always)]
fn chunk_rows<const W: usize>(
    m: usize,
    w: &[f32],
    r: &[f32],
    k: usize,
    cols: usize,
    c: &mut [f32],
    q0: usize,
) {
    for (o0, rows) in panels(m) {
        match rows {
            8 => chunk_panel::<8, W>(w, r, k, cols, c, o0, q0),
            4 => chunk_panel::<4, W>(w, r, k, cols, c, o0, q0),
            _ => chunk_panel::<1, W>(w, r, k, cols, c, o0, q0),
        }
    }
}

/// Rows `o0..o0 + R`, columns `q0..q0 + W` of [`mix_chunk`], accumulated in registers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn chunk_panel<const R: usize, const W: usize>(
    w: &[f32],
    r: &[f32],
    k: usize,
    cols: usize,
    c: &mut [f32],
    o0: usize,
    q0: usize,
) {
    // The panel's weights, one group of `R` per column ([`pack_weights`]).
    let (w_cols, _) = w[o0 * k..(o0 + R) * k].as_chunks::<R>();
    let mut acc = [[0.0f32; W]; R];
    for (kk, w_col) in w_cols.iter().enumerate() {
        let src: &[f32; W] = r[kk * cols + q0..kk * cols + q0 + W]
            .try_into()
            .expect("a panel is W columns");
        for (rr, acc_row) in acc.iter_mut().enumerate() {
            let wv = w_col[rr];
            for (a, &s) in acc_row.iter_mut().zip(src) {
                *a = wv.mul_add(s, *a);
            }
        }
    }
    for (rr, acc_row) in acc.iter().enumerate() {
        let start = (o0 + rr) * cols + q0;
        c[start..start + W].copy_from_slice(acc_row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product in f64, the plain triple loop.
    fn reference(m: usize, k: usize, w: &[f32], r: &[f32], n: usize, c0: &[f32]) -> Vec<f64> {
        (0..m * n)
            .map(|idx| {
                let (o, q) = (idx / n, idx % n);
                c0[idx] as f64
                    + (0..k)
                        .map(|kk| w[o * k + kk] as f64 * r[kk * n + q] as f64)
                        .sum::<f64>()
            })
            .collect()
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    fn check_chunk<const M: usize, const K: usize>(cols: usize) {
        let w = values(M * K, 4);
        let r = values(K * cols, 5);
        let want = reference(M, K, &w, &r, cols, &vec![0.0; M * cols]);
        let mut c = vec![f32::NAN; M * cols];
        mix_chunk::<M>(&pack_weights(M, K, &w), &r, K, cols, &mut c);
        for (got, want) in c.iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
        }
    }

    #[test]
    fn run_time_row_counts_match_the_triple_loop() {
        // Panels of 8, 4 and 1 rows, over 32- and 16-column strips.
        for (m, k, cols) in [(13, 9, 48), (8, 20, 64), (3, 5, 16)] {
            let w = values(m * k, 6);
            let r = values(k * cols, 7);
            let want = reference(m, k, &w, &r, cols, &vec![0.0; m * cols]);
            let mut c = vec![f32::NAN; m * cols];
            mix_rows(m, &pack_weights(m, k, &w), &r, k, cols, &mut c);
            for (got, want) in c.iter().zip(&want) {
                assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn packed_weights_follow_the_panels() {
        // 13 rows: a panel of 8, one of 4, one of 1; k = 2.
        let w: Vec<f32> = (0..26).map(|v| v as f32).collect();
        let packed = pack_weights(13, 2, &w);
        // Panel 0..8, column 0: rows 0..8 of column 0 (w[o · 2]); then column 1.
        let col0: Vec<f32> = (0..8).map(|o| (o * 2) as f32).collect();
        let col1: Vec<f32> = (0..8).map(|o| (o * 2 + 1) as f32).collect();
        assert_eq!(packed[..8], col0[..]);
        assert_eq!(packed[8..16], col1[..]);
        // Panel 8..12 starts at 8 · 2; the last row (12) closes the buffer.
        assert_eq!(packed[16..20], [16.0, 18.0, 20.0, 22.0]);
        assert_eq!(packed[24..], [24.0, 25.0]);
        assert_eq!(packed.len(), w.len());
    }

    #[test]
    fn chunk_mix_matches_the_triple_loop() {
        check_chunk::<16, 80>(32);
        check_chunk::<13, 7>(48);
        check_chunk::<4, 12>(96);
        check_chunk::<1, 3>(16);
    }
}
