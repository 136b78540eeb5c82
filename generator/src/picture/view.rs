//! The renderer's view of a filter bank: shape, parity and the flat filter values.

use super::error::PictureError;
use crate::filters::FilterBank;

/// A borrowed filter bank as the picture module sees it.
///
/// Every filter is a flat row-major array over `(M,)*d + (d,)*k`: `M^d` pixels, each holding
/// `d^k` tensor components.
#[derive(Debug, Clone, Copy)]
pub struct BankView<'a> {
    dim: usize,
    size: usize,
    k: usize,
    parity: u8,
    filters: &'a [Vec<f64>],
}

impl<'a> BankView<'a> {
    /// Checks the shape and wraps the filters.
    ///
    /// Fails when `dim` or `size` is zero, `parity` is not 0 or 1, the shape overflows, or a filter
    /// does not have exactly `size^dim · dim^k` values.
    pub fn new(
        dim: usize,
        size: usize,
        k: usize,
        parity: u8,
        filters: &'a [Vec<f64>],
    ) -> Result<Self, PictureError> {
        if dim == 0 || size == 0 {
            return Err(PictureError::InvalidBank(format!(
                "dimension d = {dim} and size M = {size} must both be at least 1"
            )));
        }
        if parity > 1 {
            return Err(PictureError::InvalidBank(format!(
                "parity must be 0 or 1, got {parity}"
            )));
        }
        let too_big = || {
            PictureError::InvalidBank(format!(
                "shape M^d·d^k overflows for d = {dim}, M = {size}, k = {k}"
            ))
        };
        let pixels = checked_pow(size, dim).ok_or_else(too_big)?;
        let components = checked_pow(dim, k).ok_or_else(too_big)?;
        let expected = pixels.checked_mul(components).ok_or_else(too_big)?;
        if let Some((index, filter)) = filters
            .iter()
            .enumerate()
            .find(|(_, f)| f.len() != expected)
        {
            return Err(PictureError::InvalidBank(format!(
                "filter {index} has {} values, expected M^d·d^k = {expected}",
                filter.len()
            )));
        }
        Ok(Self {
            dim,
            size,
            k,
            parity,
            filters,
        })
    }

    /// Spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Filter side length M.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Tensor order k.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Parity p (1 for pseudo-tensors).
    pub fn parity(&self) -> u8 {
        self.parity
    }

    /// Number of filters.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// True when the bank has no filters.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The flat filters.
    pub fn filters(&self) -> &'a [Vec<f64>] {
        self.filters
    }

    /// Number of pixels per filter, `M^d`.
    pub fn pixel_count(&self) -> usize {
        self.size.pow(self.dim as u32)
    }

    /// Number of tensor components per pixel, `d^k`.
    pub fn component_count(&self) -> usize {
        self.dim.pow(self.k as u32)
    }

    /// The `d^k` components of pixel `pixel` (row-major pixel index) of filter `filter`.
    pub fn pixel(&self, filter: usize, pixel: usize) -> &'a [f64] {
        let n = self.component_count();
        &self.filters[filter][pixel * n..(pixel + 1) * n]
    }

    /// Row-major pixel index of the pixel at `coords` (one index per spatial axis).
    pub fn pixel_index(&self, coords: &[usize]) -> usize {
        coords.iter().fold(0, |acc, &c| acc * self.size + c)
    }

    /// The largest absolute component of a filter (0 for an all-zero filter).
    pub fn max_abs(&self, filter: usize) -> f64 {
        self.filters[filter].iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    /// The largest Euclidean norm of a pixel's components in a filter.
    pub fn max_pixel_norm(&self, filter: usize) -> f64 {
        (0..self.pixel_count())
            .map(|p| {
                self.pixel(filter, p)
                    .iter()
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0.0, f64::max)
    }

    /// File stem for this bank's picture, e.g. `d2_m3_k1_p0`.
    pub fn file_stem(&self) -> String {
        format!("d{}_m{}_k{}_p{}", self.dim, self.size, self.k, self.parity)
    }
}

impl<'a> From<&'a FilterBank> for BankView<'a> {
    /// Views a generated or loaded bank; its constructors already checked the filter lengths.
    fn from(bank: &'a FilterBank) -> Self {
        Self {
            dim: bank.dim(),
            size: bank.size(),
            k: bank.k(),
            parity: bank.parity(),
            filters: bank.filters(),
        }
    }
}

fn checked_pow(base: usize, exp: usize) -> Option<usize> {
    u32::try_from(exp).ok().and_then(|e| base.checked_pow(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_filter_length_and_bad_shapes() {
        let filters = vec![vec![0.0; 9], vec![0.0; 8]];
        let err = BankView::new(2, 3, 0, 0, &filters).unwrap_err();
        assert!(
            err.to_string()
                .contains("filter 1 has 8 values, expected M^d·d^k = 9"),
            "{err}"
        );
        assert!(BankView::new(0, 3, 0, 0, &[]).is_err());
        assert!(BankView::new(2, 0, 0, 0, &[]).is_err());
        assert!(BankView::new(2, 3, 0, 2, &[]).is_err());
        assert!(BankView::new(2, usize::MAX, 0, 0, &[]).is_err());
    }

    #[test]
    fn pixels_are_row_major_with_components_last() {
        let filter: Vec<f64> = (0..18).map(f64::from).collect();
        let filters = vec![filter];
        let view = BankView::new(2, 3, 1, 0, &filters).unwrap();
        assert_eq!(view.pixel_count(), 9);
        assert_eq!(view.component_count(), 2);
        assert_eq!(view.pixel_index(&[1, 2]), 5);
        assert_eq!(view.pixel(0, 5), &[10.0, 11.0]);
        assert_eq!(view.max_abs(0), 17.0);
        assert_eq!(
            view.max_pixel_norm(0),
            (16.0f64 * 16.0 + 17.0 * 17.0).sqrt()
        );
        assert_eq!(view.file_stem(), "d2_m3_k1_p0");
    }
}
