//! Index helpers for generated response kernels: the memory offset of every filter tap and the
//! walk over output rows.
//!
//! Padded input channels and outputs are row-major over their spatial axes. Along the last axis
//! consecutive output pixels read inputs `stride` apart (contiguous for stride 1), so a generated
//! kernel handles one output row as a loop over pixels that LLVM can vectorise.

use super::layout::{self, row_major_strides};

/// The row-major flat offset of each of the `T = M^d` filter taps (row-major over the filter
/// pixels) in a padded channel of sides `padded`, with filter dilation `rhs_dilation` per axis.
pub fn tap_offsets<const T: usize>(
    padded: &[usize],
    rhs_dilation: &[usize],
    filter_size: usize,
) -> [usize; T] {
    let offsets = layout::tap_offsets(padded, rhs_dilation, &vec![filter_size; padded.len()]);
    std::array::from_fn(|tap| offsets[tap])
}

/// Calls `row(in_base, out_base, n, step)` for every output row: the row's first input offset
/// in the padded channel, its first output pixel, its length and the input step between
/// consecutive output pixels (the last axis' stride).
#[inline(always)]
pub fn for_each_row(
    padded: &[usize],
    out: &[usize],
    stride: &[usize],
    mut row: impl FnMut(usize, usize, usize, usize),
) {
    let dim = out.len();
    let n = out[dim - 1];
    if n == 0 || out.contains(&0) {
        return;
    }
    let strides = row_major_strides(padded);
    let rows: usize = out[..dim - 1].iter().product();
    let mut index = vec![0usize; dim - 1];
    for r in 0..rows {
        let base: usize = (0..dim - 1)
            .map(|axis| index[axis] * stride[axis] * strides[axis])
            .sum();
        row(base, r * n, n, stride[dim - 1]);
        for axis in (0..dim - 1).rev() {
            index[axis] += 1;
            if index[axis] < out[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_offsets_follow_row_major_filter_pixels() {
        // 5 × 6 padded channel, 3 × 3 filter, dilation (1, 2).
        let offsets: [usize; 9] = tap_offsets(&[5, 6], &[1, 2], 3);
        assert_eq!(offsets, [0, 2, 4, 6, 8, 10, 12, 14, 16]);
    }

    #[test]
    fn rows_visit_every_output_pixel_once() {
        // Padded 6 × 7 × 8, output 2 × 3 × 4 with stride (2, 1, 2).
        let mut seen = Vec::new();
        for_each_row(&[6, 7, 8], &[2, 3, 4], &[2, 1, 2], |base, q, n, step| {
            seen.push((base, q, n, step));
        });
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[0], (0, 0, 4, 2));
        assert_eq!(seen[1], (8, 4, 4, 2));
        assert_eq!(seen[3], (2 * 56, 12, 4, 2));
        assert_eq!(seen[5], (2 * 56 + 16, 20, 4, 2));
    }
}
