//! Index helpers for generated response kernels: the memory offset of every filter tap and the
//! walk over output rows.
//!
//! Padded input channels and outputs are row-major over their spatial axes. Along the last axis
//! consecutive output pixels read inputs `stride` apart (contiguous for stride 1), so a generated
//! kernel handles one output row as a loop over pixels that LLVM can vectorise.

/// The row-major flat offset of each of the `T = M^d` filter taps (row-major over the filter
/// pixels) in a padded channel of sides `padded`, with filter dilation `rhs_dilation` per axis.
pub fn tap_offsets<const T: usize>(
    padded: &[usize],
    rhs_dilation: &[usize],
    filter_size: usize,
) -> [usize; T] {
    let offsets = tap_offset_list(padded, rhs_dilation, &vec![filter_size; padded.len()]);
    std::array::from_fn(|tap| offsets[tap])
}

/// The row-major flat offset of every filter tap (row-major over a filter of sides `sides`)
/// in a padded channel of sides `padded`, with filter dilation `rhs_dilation` per axis.
pub fn tap_offset_list(padded: &[usize], rhs_dilation: &[usize], sides: &[usize]) -> Vec<usize> {
    let strides = row_major_strides(padded);
    let taps: usize = sides.iter().product();
    (0..taps)
        .map(|tap| {
            let mut rest = tap;
            let mut offset = 0;
            for axis in (0..padded.len()).rev() {
                let m = rest % sides[axis];
                rest /= sides[axis];
                offset += m * rhs_dilation[axis] * strides[axis];
            }
            offset
        })
        .collect()
}

/// Runs `body` compiled with AVX2 and FMA enabled if the CPU has them, and returns whether it
/// ran (callers then fall back to their portable path).
///
/// `body` and everything it inlines (a generated kernel's `#[inline(always)]` row function) is
/// code-generated inside a function with those target features, so the unrolled stencils use
/// 8-wide vectors. Only that one copy is made: the portable path is the caller's own.
#[inline(always)]
pub fn try_simd<F: FnOnce()>(body: F) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn avx2<F: FnOnce()>(body: F) {
            body()
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only
            // requirement of calling a function with these target features.
            unsafe { avx2(body) };
            return true;
        }
    }
    let _ = body;
    false
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

fn row_major_strides(sides: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; sides.len()];
    for axis in (0..sides.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * sides[axis + 1];
    }
    strides
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
