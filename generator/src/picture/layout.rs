//! Geometry of a bank picture: how pixels are drawn, cell and panel sizes, where everything goes.

use crate::filters::FilterBank;

/// Outer margin of the picture.
pub const MARGIN: f64 = 16.0;
/// Height of the title block.
pub const TITLE_H: f64 = 34.0;
/// Padding inside a filter panel.
pub const PANEL_PAD: f64 = 8.0;
/// Title font size.
pub const TITLE_FONT: f64 = 16.0;
/// Generous average advance of a bold title character, in ems.
const TITLE_CHAR_EM: f64 = 0.64;
/// Height of a panel's label row (index and badge).
pub const LABEL_H: f64 = 20.0;
/// Height of the label above each slice when a filter has several slices.
pub const SLICE_LABEL_H: f64 = 16.0;
/// Gap between slices of one filter.
pub const SLICE_GAP: f64 = 14.0;
/// Gap between panels.
pub const PANEL_GAP: f64 = 14.0;
/// Height of the colour legend row.
pub const LEGEND_H: f64 = 36.0;
/// Line height of the caption.
pub const CAPTION_LINE_H: f64 = 16.0;
/// Caption font size.
pub const CAPTION_FONT: f64 = 12.0;
/// Pictures are wrapped into rows of panels no wider than this (unless one panel is wider).
const MAX_WIDTH: f64 = 1200.0;
/// Pictures are at least this wide so the caption stays readable.
const MIN_WIDTH: f64 = 660.0;
/// Size of the box that says a bank is empty.
const EMPTY_W: f64 = 360.0;
const EMPTY_H: f64 = 70.0;
/// Padding between a pixel's border and its component mini-cells.
pub const COMPONENT_PAD: f64 = 3.0;

/// How one pixel's tensor is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PixelStyle {
    /// k = 0: the pixel is filled with the value's colour and the value is written in it.
    Scalar,
    /// k = 1 and d ≤ 3: an arrow from the pixel centre (plus an out-of-plane marker for d = 3).
    Arrow,
    /// Otherwise: the components as a grid of coloured mini-cells.
    Components {
        /// Mini-cell rows (the leading k − 1 tensor indices, row-major).
        rows: usize,
        /// Mini-cell columns (the last tensor index).
        cols: usize,
        /// Side of a mini-cell (wide enough for a label like `−0.41` when numbers are shown).
        mini: f64,
        /// Whether values are written in the mini-cells.
        numbers: bool,
    },
}

impl PixelStyle {
    /// The style for tensor order `k` in dimension `dim`.
    pub fn for_shape(dim: usize, k: usize) -> Self {
        match k {
            0 => PixelStyle::Scalar,
            1 if dim <= 3 => PixelStyle::Arrow,
            _ => {
                let cols = dim;
                let rows = dim.pow(k.saturating_sub(1) as u32);
                let numbers = rows * cols <= 9;
                let mini = match (numbers, cols <= 2) {
                    (true, true) => 34.0,
                    (true, false) => 32.0,
                    (false, _) => 12.0,
                };
                PixelStyle::Components {
                    rows,
                    cols,
                    mini,
                    numbers,
                }
            }
        }
    }

    /// Whether this style uses the diverging colour scale (and so needs a legend).
    pub fn uses_colour(&self) -> bool {
        !matches!(self, PixelStyle::Arrow)
    }
}

/// Positions of everything in one bank picture.
#[derive(Debug, Clone)]
pub struct Layout {
    /// How pixels are drawn.
    pub style: PixelStyle,
    /// Pixel cell width.
    pub cell_w: f64,
    /// Pixel cell height.
    pub cell_h: f64,
    dim: usize,
    size: usize,
    /// Slices per filter arranged in `slice_rows × slice_cols`.
    pub slice_rows: usize,
    /// See `slice_rows`.
    pub slice_cols: usize,
    /// Pixel rows in one slice.
    pub grid_rows: usize,
    /// Pixel columns in one slice.
    pub grid_cols: usize,
    /// Panel width.
    pub panel_w: f64,
    /// Panel height.
    pub panel_h: f64,
    /// Panels per row of the picture.
    pub columns: usize,
    /// Picture width.
    pub width: f64,
    /// Top of the legend and caption area.
    pub footer_top: f64,
}

impl Layout {
    /// Lays out the bank's panels; the caption below them is placed by the caller.
    pub fn new(bank: &FilterBank, title_chars: usize) -> Self {
        let (dim, size) = (bank.dim(), bank.size());
        let style = PixelStyle::for_shape(dim, bank.k());
        let (cell_w, cell_h) = match style {
            PixelStyle::Scalar => (44.0, 44.0),
            PixelStyle::Arrow if dim == 3 => (60.0, 60.0),
            PixelStyle::Arrow => (44.0, 44.0),
            PixelStyle::Components {
                rows, cols, mini, ..
            } => (
                cols as f64 * mini + 2.0 * COMPONENT_PAD,
                rows as f64 * mini + 2.0 * COMPONENT_PAD,
            ),
        };
        let (grid_rows, grid_cols) = if dim == 1 { (1, size) } else { (size, size) };
        let slices = size.pow(dim.saturating_sub(2) as u32);
        let slice_rows = if dim >= 4 { size } else { 1 };
        let slice_cols = slices / slice_rows;
        let slice_label = if slices > 1 { SLICE_LABEL_H } else { 0.0 };
        let slice_w = grid_cols as f64 * cell_w;
        let slice_h = slice_label + grid_rows as f64 * cell_h;
        let panel_w = 2.0 * PANEL_PAD
            + (slice_cols as f64 * slice_w + (slice_cols - 1) as f64 * SLICE_GAP).max(96.0);
        let panel_h = 2.0 * PANEL_PAD
            + LABEL_H
            + slice_rows as f64 * slice_h
            + (slice_rows - 1) as f64 * SLICE_GAP;

        let n = bank.len();
        let (panel_w, panel_h, columns, rows): (f64, f64, usize, usize) = if n == 0 {
            (EMPTY_W, EMPTY_H, 1, 1)
        } else {
            let fit = ((MAX_WIDTH - 2.0 * MARGIN + PANEL_GAP) / (panel_w + PANEL_GAP)).floor();
            let columns = (fit.max(1.0) as usize).min(n);
            (panel_w, panel_h, columns, n.div_ceil(columns))
        };
        let grid_w = columns as f64 * panel_w + (columns - 1) as f64 * PANEL_GAP;
        let grid_h = rows as f64 * panel_h + (rows - 1) as f64 * PANEL_GAP;
        let title_w = title_chars as f64 * TITLE_FONT * TITLE_CHAR_EM + 2.0 * MARGIN;
        let width = (grid_w + 2.0 * MARGIN).max(MIN_WIDTH).max(title_w);
        let footer_top = MARGIN + TITLE_H + grid_h + PANEL_GAP;
        Self {
            style,
            cell_w,
            cell_h,
            dim,
            size,
            slice_rows,
            slice_cols,
            grid_rows,
            grid_cols,
            panel_w,
            panel_h,
            columns,
            width,
            footer_top,
        }
    }

    /// Number of characters of caption text that fit on one line.
    pub fn caption_chars(&self) -> usize {
        ((self.width - 2.0 * MARGIN) / (CAPTION_FONT * 0.56)).floor() as usize
    }

    /// Picture height for a footer with or without a legend and `caption_lines` caption lines.
    pub fn height(&self, legend: bool, caption_lines: usize) -> f64 {
        let legend_h = if legend { LEGEND_H } else { 0.0 };
        self.footer_top + legend_h + caption_lines as f64 * CAPTION_LINE_H + MARGIN
    }

    /// Top-left corner of panel `index` (panels fill rows left to right).
    pub fn panel_origin(&self, index: usize) -> (f64, f64) {
        let (row, col) = (index / self.columns, index % self.columns);
        (
            MARGIN + col as f64 * (self.panel_w + PANEL_GAP),
            MARGIN + TITLE_H + row as f64 * (self.panel_h + PANEL_GAP),
        )
    }

    /// Number of slices per filter.
    pub fn slice_count(&self) -> usize {
        self.slice_rows * self.slice_cols
    }

    /// Top-left corner of slice `slice`'s pixel grid, relative to its panel's origin.
    pub fn slice_origin(&self, slice: usize) -> (f64, f64) {
        let (row, col) = (slice / self.slice_cols, slice % self.slice_cols);
        let label = if self.slice_count() > 1 {
            SLICE_LABEL_H
        } else {
            0.0
        };
        let slice_w = self.grid_cols as f64 * self.cell_w;
        let slice_h = label + self.grid_rows as f64 * self.cell_h;
        (
            PANEL_PAD + col as f64 * (slice_w + SLICE_GAP),
            PANEL_PAD + LABEL_H + row as f64 * (slice_h + SLICE_GAP) + label,
        )
    }

    /// Slice index and top-left corner (relative to the panel) of the pixel at row-major `pixel`.
    ///
    /// The leading `d − 2` coordinates pick the slice; the last two pick the row and column
    /// (for d = 1 the single coordinate picks the column).
    pub fn pixel_origin(&self, pixel: usize) -> (usize, f64, f64) {
        let per_slice = self.grid_rows * self.grid_cols;
        let (slice, within) = (pixel / per_slice, pixel % per_slice);
        let (row, col) = (within / self.grid_cols, within % self.grid_cols);
        let (sx, sy) = self.slice_origin(slice);
        (
            slice,
            sx + col as f64 * self.cell_w,
            sy + row as f64 * self.cell_h,
        )
    }

    /// Label of slice `slice`, naming its leading coordinates, e.g. `i0 = 2` or `i0, i1 = 1, 0`.
    pub fn slice_label(&self, slice: usize) -> String {
        let lead = self.dim.saturating_sub(2);
        let mut coords = vec![0; lead];
        let mut rest = slice;
        for c in coords.iter_mut().rev() {
            *c = rest % self.size;
            rest /= self.size;
        }
        let names: Vec<String> = (0..lead).map(|i| format!("i{i}")).collect();
        let values: Vec<String> = coords.iter().map(|c| c.to_string()).collect();
        format!("{} = {}", names.join(", "), values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(dim: usize, size: usize, k: usize, n: usize) -> Layout {
        let len = size.pow(dim as u32) * dim.pow(k as u32);
        let filters = vec![vec![0.0; len]; n];
        let bank = FilterBank::from_parts(dim, size, k, 0, filters, None).unwrap();
        Layout::new(&bank, 10)
    }

    #[test]
    fn styles_follow_tensor_order_and_dimension() {
        assert_eq!(PixelStyle::for_shape(2, 0), PixelStyle::Scalar);
        assert_eq!(PixelStyle::for_shape(3, 1), PixelStyle::Arrow);
        assert_eq!(
            PixelStyle::for_shape(2, 2),
            PixelStyle::Components {
                rows: 2,
                cols: 2,
                mini: 34.0,
                numbers: true
            }
        );
        assert_eq!(
            PixelStyle::for_shape(2, 3),
            PixelStyle::Components {
                rows: 4,
                cols: 2,
                mini: 34.0,
                numbers: true
            }
        );
        assert_eq!(
            PixelStyle::for_shape(4, 1),
            PixelStyle::Components {
                rows: 1,
                cols: 4,
                mini: 32.0,
                numbers: true
            }
        );
        assert_eq!(
            PixelStyle::for_shape(3, 4),
            PixelStyle::Components {
                rows: 27,
                cols: 3,
                mini: 12.0,
                numbers: false
            }
        );
    }

    #[test]
    fn pixels_of_a_2d_filter_form_one_grid_axis0_down() {
        let l = layout(2, 3, 0, 5);
        assert_eq!(l.slice_count(), 1);
        let (_, x0, y0) = l.pixel_origin(0);
        let (_, x1, y1) = l.pixel_origin(1); // coords (0, 1): one column right
        let (_, x3, y3) = l.pixel_origin(3); // coords (1, 0): one row down
        assert_eq!((x1 - x0, y1 - y0), (l.cell_w, 0.0));
        assert_eq!((x3 - x0, y3 - y0), (0.0, l.cell_h));
        // 5 panels of 3×44 px fit in one row.
        assert_eq!(l.columns, 5);
        assert_eq!(l.panel_origin(4).1, l.panel_origin(0).1);
    }

    #[test]
    fn a_3d_filter_is_m_slices_side_by_side() {
        let l = layout(3, 3, 1, 1);
        assert_eq!((l.slice_rows, l.slice_cols), (1, 3));
        let (s, x, y) = l.pixel_origin(9 + 4); // i0 = 1, centre of the slice
        assert_eq!(s, 1);
        let (sx, sy) = l.slice_origin(1);
        assert_eq!((x, y), (sx + l.cell_w, sy + l.cell_h));
        assert!(sx > l.slice_origin(0).0 + 3.0 * l.cell_w);
        assert_eq!(l.slice_label(2), "i0 = 2");
        let l4 = layout(4, 2, 0, 1);
        assert_eq!((l4.slice_rows, l4.slice_cols), (2, 2));
        assert_eq!(l4.slice_label(2), "i0, i1 = 1, 0");
    }

    #[test]
    fn a_1d_filter_is_a_strip_and_wide_banks_wrap() {
        let l = layout(1, 5, 0, 1);
        assert_eq!((l.grid_rows, l.grid_cols), (1, 5));
        let l = layout(2, 7, 0, 10);
        assert!(l.columns < 10);
        assert!(
            l.panel_origin(9).1 > l.panel_origin(0).1,
            "wraps to a second row"
        );
        assert!(l.width <= MAX_WIDTH);
        let empty = layout(2, 3, 0, 0);
        assert_eq!(empty.columns, 1);
        assert!(empty.footer_top > MARGIN + TITLE_H + empty.panel_h);
        let no_filters = FilterBank::from_parts(1, 3, 0, 0, Vec::new(), None).unwrap();
        let long_title = Layout::new(&no_filters, 100);
        assert!(long_title.width >= 100.0 * TITLE_FONT * 0.6);
    }
}
