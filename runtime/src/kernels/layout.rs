//! Row-major index arithmetic shared by every kernel: the strides of an array and the flat
//! offsets of a grid of points in it (filter taps, output samples).

/// Row-major strides (in elements) of an array with sides `sides`: the last axis has stride 1.
pub fn row_major_strides(sides: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; sides.len()];
    for axis in (0..sides.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * sides[axis + 1];
    }
    strides
}

/// The flat offset `Σ_axis y_axis · steps_axis` of every point `y` of a grid with sides `lens`,
/// the points in row-major order.
pub fn grid_offsets(lens: &[usize], steps: &[usize]) -> Vec<usize> {
    let mut offsets = vec![0usize];
    for (&len, &step) in lens.iter().zip(steps) {
        let mut next = Vec::with_capacity(offsets.len() * len);
        for &base in &offsets {
            for y in 0..len {
                next.push(base + y * step);
            }
        }
        offsets = next;
    }
    offsets
}

/// The flat offset of every filter tap (row-major over a filter of sides `sides`) in a padded
/// array of sides `padded`, with filter dilation `rhs_dilation` per axis: tap `m` sits at
/// `Σ_axis m_axis · rhs_dilation_axis · stride_axis`.
pub fn tap_offsets(padded: &[usize], rhs_dilation: &[usize], sides: &[usize]) -> Vec<usize> {
    let steps: Vec<usize> = row_major_strides(padded)
        .iter()
        .zip(rhs_dilation)
        .map(|(stride, dilation)| stride * dilation)
        .collect();
    grid_offsets(sides, &steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_offsets_are_row_major() {
        assert_eq!(row_major_strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(grid_offsets(&[2, 2], &[10, 1]), vec![0, 1, 10, 11]);
        // 5 × 6 padded array, 3 × 3 filter, dilation (1, 2).
        assert_eq!(
            tap_offsets(&[5, 6], &[1, 2], &[3, 3]),
            vec![0, 2, 4, 6, 8, 10, 12, 14, 16]
        );
    }
}
