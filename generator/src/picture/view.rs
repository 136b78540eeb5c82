//! Reading a filter bank pixel by pixel for drawing, and naming its picture files.
//!
//! Every filter is a flat row-major array over `(M,)*d + (d,)*k`: `M^d` pixels, each holding
//! `d^k` tensor components.

use crate::filters::FilterBank;

/// Number of pixels per filter, `M^d` (fits: the bank's constructors bound `M^d · d^k`).
pub(crate) fn pixel_count(bank: &FilterBank) -> usize {
    bank.size().pow(bank.dim() as u32)
}

/// Number of tensor components per pixel, `d^k`.
fn component_count(bank: &FilterBank) -> usize {
    bank.dim().pow(bank.k() as u32)
}

/// The `d^k` components of pixel `pixel` (row-major pixel index) of filter `filter`.
pub(crate) fn pixel(bank: &FilterBank, filter: usize, pixel: usize) -> &[f64] {
    let n = component_count(bank);
    &bank.filters()[filter][pixel * n..(pixel + 1) * n]
}

/// The largest absolute component of a filter (0 for an all-zero filter).
pub(crate) fn max_abs(bank: &FilterBank, filter: usize) -> f64 {
    bank.filters()[filter]
        .iter()
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// The largest Euclidean norm of a pixel's components in a filter.
pub(crate) fn max_pixel_norm(bank: &FilterBank, filter: usize) -> f64 {
    (0..pixel_count(bank))
        .map(|p| {
            pixel(bank, filter, p)
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
        })
        .fold(0.0, f64::max)
}

/// File stem of a bank's picture, e.g. `d2_m3_k1_p0`.
pub fn file_stem(bank: &FilterBank) -> String {
    format!(
        "d{}_m{}_k{}_p{}",
        bank.dim(),
        bank.size(),
        bank.k(),
        bank.parity()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_are_row_major_with_components_last() {
        let filter: Vec<f64> = (0..18).map(f64::from).collect();
        let bank = FilterBank::from_parts(2, 3, 1, 0, vec![filter], None).unwrap();
        assert_eq!(pixel_count(&bank), 9);
        assert_eq!(component_count(&bank), 2);
        assert_eq!(pixel(&bank, 0, 5), &[10.0, 11.0]);
        assert_eq!(max_abs(&bank, 0), 17.0);
        assert_eq!(
            max_pixel_norm(&bank, 0),
            (16.0f64 * 16.0 + 17.0 * 17.0).sqrt()
        );
        assert_eq!(file_stem(&bank), "d2_m3_k1_p0");
    }
}
