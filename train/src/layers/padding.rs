//! The padded, lhs-dilated convolution input, built from differentiable tensor ops.
//!
//! Per spatial axis (the runtime's [`AxisPlan`], ginjax's order): wrap-pad by `W` on both
//! sides (`Ĩ[j] = I[(j − W) mod N]`), insert `l − 1` zeros between pixels (lhs dilation, after
//! the wrap), then zero-pad by `(lo, hi)`. burn 0.22's `pad` has no circular mode, so the wrap
//! is a concatenation of slices (`narrow`), which backpropagates as a sum into the sources.

use burn::tensor::Tensor;
use ginrs_runtime::ops::padding::AxisPlan;

/// The padding of one spatial axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisPadding {
    /// Wrap padding `W` on each side.
    pub wrap: usize,
    /// Input dilation `l` (1 = none).
    pub lhs_dilation: usize,
    /// Zero padding before the first pixel.
    pub zero_lo: usize,
    /// Zero padding after the last pixel.
    pub zero_hi: usize,
}

impl From<&AxisPlan> for AxisPadding {
    fn from(plan: &AxisPlan) -> Self {
        Self {
            wrap: plan.wrap,
            lhs_dilation: plan.lhs_dilation,
            zero_lo: plan.zero_lo,
            zero_hi: plan.zero_hi,
        }
    }
}

/// Pads axis `axis` of `x` (wrap, lhs dilation, zero padding, in that order).
pub fn pad_axis(x: Tensor<5>, axis: usize, padding: &AxisPadding) -> Tensor<5> {
    let x = wrap(x, axis, padding.wrap);
    let x = dilate(x, axis, padding.lhs_dilation);
    zero_pad(x, axis, padding.zero_lo, padding.zero_hi)
}

/// `Ĩ[j] = I[(j − w) mod n]` for `j ∈ [0, n + 2w)`, as contiguous slices (`w` may exceed `n`).
fn wrap(x: Tensor<5>, axis: usize, w: usize) -> Tensor<5> {
    wrap_pad(x, axis, w, w)
}

/// Circular padding by `lo` before and `hi` after along `axis` (numpy's `mode="wrap"`):
/// `Ĩ[j] = I[(j − lo) mod n]` for `j ∈ [0, n + lo + hi)`, as contiguous slices (`lo` and `hi`
/// may exceed `n`).
pub fn wrap_pad(x: Tensor<5>, axis: usize, lo: usize, hi: usize) -> Tensor<5> {
    if lo == 0 && hi == 0 {
        return x;
    }
    let n = x.dims()[axis];
    let total = n + lo + hi;
    let mut pieces = Vec::new();
    let mut j = 0;
    while j < total {
        let source = (j + n * (lo / n + 1) - lo) % n;
        let len = (n - source).min(total - j);
        pieces.push(x.clone().narrow(axis, source, len));
        j += len;
    }
    Tensor::cat(pieces, axis)
}

/// Inserts `l − 1` zeros between adjacent entries along `axis`: length `(n − 1)·l + 1`.
pub fn dilate(x: Tensor<5>, axis: usize, l: usize) -> Tensor<5> {
    if l <= 1 {
        return x;
    }
    let x = x.swap_dims(axis, 4);
    let dims = x.dims();
    let n = dims[4];
    let rows = dims[..4].iter().product::<usize>();
    let flat: Tensor<3> = x.reshape([rows, n, 1]);
    let zeros = Tensor::zeros([rows, n, l - 1], (&flat.device(), flat.dtype()));
    let spread: Tensor<2> = Tensor::cat(vec![flat, zeros], 2).reshape([rows, n * l]);
    let spread = spread.narrow(1, 0, (n - 1) * l + 1);
    spread
        .reshape([dims[0], dims[1], dims[2], dims[3], (n - 1) * l + 1])
        .swap_dims(axis, 4)
}

/// Concatenates `lo` zeros before and `hi` zeros after along `axis`.
pub fn zero_pad(x: Tensor<5>, axis: usize, lo: usize, hi: usize) -> Tensor<5> {
    if lo == 0 && hi == 0 {
        return x;
    }
    let (device, dtype) = (x.device(), x.dtype());
    let zeros = |len: usize| {
        let mut dims = x.dims();
        dims[axis] = len;
        Tensor::zeros(dims, (&device, dtype))
    };
    let mut pieces = Vec::with_capacity(3);
    if lo > 0 {
        pieces.push(zeros(lo));
    }
    pieces.push(x.clone());
    if hi > 0 {
        pieces.push(zeros(hi));
    }
    Tensor::cat(pieces, axis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn line(values: &[f32]) -> Tensor<5> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [1, 1, values.len(), 1, 1]),
            &Device::flex(),
        )
    }

    fn values(x: Tensor<5>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn wrap_dilate_and_zero_pad_follow_the_index_formula() {
        // Wrap by the side n = 2, then dilate by 2, then zero-pad by (1, 0).
        let x = line(&[1.0, 2.0]);
        let p = AxisPadding {
            wrap: 2,
            lhs_dilation: 2,
            zero_lo: 1,
            zero_hi: 0,
        };
        assert_eq!(
            values(pad_axis(x, 2, &p)),
            vec![0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 2.0]
        );
        // Wrap wider than the side: Ĩ[j] = I[(j − 4) mod 3].
        let x = line(&[1.0, 2.0, 3.0]);
        let p = AxisPadding {
            wrap: 4,
            lhs_dilation: 1,
            zero_lo: 0,
            zero_hi: 2,
        };
        let got = values(pad_axis(x, 2, &p));
        let want: Vec<f32> = (0..11)
            .map(|j: usize| [1.0, 2.0, 3.0][(j + 9 - 4) % 3])
            .chain([0.0, 0.0])
            .collect();
        assert_eq!(got, want);
        // Asymmetric wrap, as numpy's np.pad([1, 2, 3], (4, 1), mode="wrap").
        let got = values(wrap_pad(line(&[1.0, 2.0, 3.0]), 2, 4, 1));
        assert_eq!(got, vec![3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]);
    }
}
