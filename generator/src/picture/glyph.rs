//! Drawing one pixel's tensor into its cell: a coloured value, an arrow, or component mini-cells.

use super::colour::{diverging, text_on, Rgb};
use super::layout::{PixelStyle, COMPONENT_PAD};
use super::writer::{num, SvgWriter};

/// Arrow colour for ordinary vectors.
pub const ARROW: Rgb = Rgb(0x1a, 0x1a, 0x1a);
/// Arrow colour for pseudovectors.
pub const PSEUDO_ARROW: Rgb = Rgb(0x7b, 0x32, 0x94);
/// Border of a pixel cell.
const CELL_BORDER: Rgb = Rgb(0xa0, 0xa0, 0xa0);
/// Background between a pixel's border and its component mini-cells.
const PADDING: Rgb = Rgb(0xe6, 0xe6, 0xe6);
/// Border of a component mini-cell.
const MINI_BORDER: Rgb = Rgb(0xc8, 0xc8, 0xc8);

/// Everything needed to draw the pixels of one filter.
pub struct PixelPainter {
    /// Pixel style.
    pub style: PixelStyle,
    /// Cell width.
    pub cell_w: f64,
    /// Cell height.
    pub cell_h: f64,
    /// Value at which the colour scale saturates (the filter's largest |component|).
    pub colour_scale: f64,
    /// Vector norm drawn with the longest arrow (the filter's largest pixel norm).
    pub arrow_scale: f64,
    /// Whether the filter is a pseudo-tensor.
    pub pseudo: bool,
}

impl PixelPainter {
    /// Draws the pixel with components `values` in the cell whose top-left corner is `(x, y)`.
    pub fn paint(&self, w: &mut SvgWriter, x: f64, y: f64, values: &[f64]) {
        match self.style {
            PixelStyle::Scalar => self.scalar(w, x, y, values[0]),
            PixelStyle::Arrow => self.arrow(w, x, y, values),
            PixelStyle::Components {
                cols,
                mini,
                numbers,
                ..
            } => self.components(w, x, y, values, cols, mini, numbers),
        }
    }

    fn border(&self, w: &mut SvgWriter, x: f64, y: f64, fill: Rgb) {
        w.empty(
            "rect",
            &[
                ("class", "pixel".into()),
                ("x", x.into()),
                ("y", y.into()),
                ("width", self.cell_w.into()),
                ("height", self.cell_h.into()),
                ("fill", (&fill.to_string()).into()),
                ("stroke", (&CELL_BORDER.to_string()).into()),
                ("stroke-width", 1.0.into()),
            ],
        );
    }

    fn scalar(&self, w: &mut SvgWriter, x: f64, y: f64, value: f64) {
        let fill = diverging(value, self.colour_scale);
        self.border(w, x, y, fill);
        if let Some(label) = format_value(value) {
            value_text(
                w,
                x + self.cell_w / 2.0,
                y + self.cell_h / 2.0,
                12.0,
                text_on(fill),
                &label,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn components(
        &self,
        w: &mut SvgWriter,
        x: f64,
        y: f64,
        values: &[f64],
        cols: usize,
        mini: f64,
        numbers: bool,
    ) {
        self.border(w, x, y, PADDING);
        for (c, &value) in values.iter().enumerate() {
            let mx = x + COMPONENT_PAD + (c % cols) as f64 * mini;
            let my = y + COMPONENT_PAD + (c / cols) as f64 * mini;
            let fill = diverging(value, self.colour_scale);
            w.empty(
                "rect",
                &[
                    ("class", "component".into()),
                    ("x", mx.into()),
                    ("y", my.into()),
                    ("width", mini.into()),
                    ("height", mini.into()),
                    ("fill", (&fill.to_string()).into()),
                    ("stroke", (&MINI_BORDER.to_string()).into()),
                    ("stroke-width", 0.5.into()),
                ],
            );
            if numbers {
                if let Some(label) = format_value(value) {
                    let size = mini * 0.28;
                    value_text(
                        w,
                        mx + mini / 2.0,
                        my + mini / 2.0,
                        size,
                        text_on(fill),
                        &label,
                    );
                }
            }
        }
    }

    fn arrow(&self, w: &mut SvgWriter, x: f64, y: f64, v: &[f64]) {
        self.border(w, x, y, Rgb(0xff, 0xff, 0xff));
        let colour = if self.pseudo { PSEUDO_ARROW } else { ARROW }.to_string();
        let (cx, cy) = (x + self.cell_w / 2.0, y + self.cell_h / 2.0);
        let reach = 0.42 * self.cell_w.min(self.cell_h);
        if self.arrow_scale.is_nan() || self.arrow_scale <= 0.0 {
            return;
        }
        // Screen direction: d = 1 → (v0 right); d = 2 → (v1 right, v0 down);
        // d = 3 → (v2 right, v1 down) with v0 out of the slice plane.
        let (right, down, out) = match v {
            [v0] => (*v0, 0.0, 0.0),
            [v0, v1] => (*v1, *v0, 0.0),
            [v0, v1, v2] => (*v2, *v1, *v0),
            _ => return,
        };
        if out.is_finite() && out.abs() > 1e-12 {
            let side = self.cell_w.min(self.cell_h);
            let r = side * (0.04 + 0.11 * out.abs() / self.arrow_scale);
            let sign = if out > 0.0 { "+" } else { "-" };
            w.open(
                "g",
                &[("class", "out-of-plane".into()), ("data-sign", sign.into())],
            );
            w.empty(
                "circle",
                &[
                    ("cx", cx.into()),
                    ("cy", cy.into()),
                    ("r", r.into()),
                    ("fill", "none".into()),
                    ("stroke", (&colour).into()),
                    ("stroke-width", 1.5.into()),
                ],
            );
            if out > 0.0 {
                w.empty(
                    "circle",
                    &[
                        ("cx", cx.into()),
                        ("cy", cy.into()),
                        ("r", (r * 0.3).max(1.5).into()),
                        ("fill", (&colour).into()),
                    ],
                );
            } else {
                let e = r * std::f64::consts::FRAC_1_SQRT_2;
                for (dx, dy) in [(e, e), (e, -e)] {
                    w.empty(
                        "line",
                        &[
                            ("x1", (cx - dx).into()),
                            ("y1", (cy - dy).into()),
                            ("x2", (cx + dx).into()),
                            ("y2", (cy + dy).into()),
                            ("stroke", (&colour).into()),
                            ("stroke-width", 1.5.into()),
                        ],
                    );
                }
            }
            w.close("g");
        }
        let norm = right.hypot(down);
        if !norm.is_finite() || norm <= 1e-12 {
            return;
        }
        let length = reach * norm / self.arrow_scale;
        draw_arrow(
            w,
            (cx, cy),
            (right / norm * length, down / norm * length),
            &colour,
            2.0,
        );
    }
}

/// Draws an arrow from `(x, y)` by the screen displacement `(dx, dy)` (SVG units, y down) as a
/// `<g class="arrow">`: a shaft of `width` in `colour` and a filled triangular head 0.4 of the
/// length long (at most 9 units). Nothing is drawn for a zero or non-finite displacement.
pub fn draw_arrow(
    w: &mut SvgWriter,
    (x, y): (f64, f64),
    (dx, dy): (f64, f64),
    colour: &str,
    width: f64,
) {
    let length = dx.hypot(dy);
    if !length.is_finite() || length <= 1e-12 {
        return;
    }
    let (ux, uy) = (dx / length, dy / length);
    let head = (0.4 * length).min(9.0);
    let half = 0.5 * head;
    let (tx, ty) = (x + dx, y + dy);
    let (bx, by) = (tx - ux * head, ty - uy * head);
    w.open("g", &[("class", "arrow".into())]);
    w.empty(
        "line",
        &[
            ("class", "shaft".into()),
            ("x1", x.into()),
            ("y1", y.into()),
            ("x2", bx.into()),
            ("y2", by.into()),
            ("stroke", colour.into()),
            ("stroke-width", width.into()),
        ],
    );
    let points = format!(
        "{},{} {},{} {},{}",
        num(tx),
        num(ty),
        num(bx - uy * half),
        num(by + ux * half),
        num(bx + uy * half),
        num(by - ux * half),
    );
    w.empty(
        "polygon",
        &[("points", (&points).into()), ("fill", colour.into())],
    );
    w.close("g");
}

/// Writes `label` centred on `(cx, cy)`.
fn value_text(w: &mut SvgWriter, cx: f64, cy: f64, size: f64, fill: Rgb, label: &str) {
    w.text_element(
        "text",
        &[
            ("class", "value".into()),
            ("x", cx.into()),
            ("y", (cy + 0.36 * size).into()),
            ("font-size", size.into()),
            ("text-anchor", "middle".into()),
            ("fill", (&fill.to_string()).into()),
        ],
        label,
    );
}

/// The label written in a cell: `None` for zero, else two decimals with a true minus sign.
///
/// Non-zero values that round to zero show as `≈0` so they are not mistaken for exact zeros.
pub fn format_value(v: f64) -> Option<String> {
    if v == 0.0 || v.abs() < 1e-12 {
        return None;
    }
    let s = format!("{:.2}", v.abs());
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "0" {
        return Some("≈0".to_string());
    }
    Some(if v < 0.0 {
        format!("\u{2212}{s}")
    } else {
        s.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_short_and_signed() {
        assert_eq!(format_value(0.0), None);
        assert_eq!(format_value(-0.0), None);
        assert_eq!(format_value(1.0).as_deref(), Some("1"));
        assert_eq!(format_value(0.70710677).as_deref(), Some("0.71"));
        assert_eq!(format_value(-0.5).as_deref(), Some("\u{2212}0.5"));
        assert_eq!(format_value(-0.81646).as_deref(), Some("\u{2212}0.82"));
        assert_eq!(format_value(1e-4).as_deref(), Some("≈0"));
    }

    fn painter(pseudo: bool) -> PixelPainter {
        PixelPainter {
            style: PixelStyle::Arrow,
            cell_w: 40.0,
            cell_h: 40.0,
            colour_scale: 1.0,
            arrow_scale: 1.0,
            pseudo,
        }
    }

    fn attr(svg: &str, after: &str, name: &str) -> f64 {
        let start = svg.find(after).unwrap();
        let key = format!(" {name}=\"");
        let from = start + svg[start..].find(&key).unwrap() + key.len();
        let to = from + svg[from..].find('"').unwrap();
        svg[from..to].parse().unwrap()
    }

    #[test]
    fn arrows_point_v1_right_and_v0_down_and_stay_in_the_cell() {
        let mut w = SvgWriter::new(100.0, 100.0);
        painter(false).paint(&mut w, 0.0, 0.0, &[1.0, 0.0]);
        let svg = w.finish();
        let (x1, y1) = (attr(&svg, "shaft", "x1"), attr(&svg, "shaft", "y1"));
        let (x2, y2) = (attr(&svg, "shaft", "x2"), attr(&svg, "shaft", "y2"));
        assert_eq!((x1, y1), (20.0, 20.0));
        assert_eq!(x2, 20.0);
        assert!(y2 > y1, "v0 > 0 points down");
        // Tip at centre + 0.42 · 40 px.
        assert!(svg.contains("points=\"20,36.8 "), "{svg}");

        let mut w = SvgWriter::new(100.0, 100.0);
        painter(true).paint(&mut w, 0.0, 0.0, &[0.0, -0.5]);
        let svg = w.finish();
        assert!(attr(&svg, "shaft", "x2") < 20.0, "v1 < 0 points left");
        assert_eq!(attr(&svg, "shaft", "y2"), 20.0);
        assert!(svg.contains(&PSEUDO_ARROW.to_string()));
    }

    #[test]
    fn a_3d_vector_shows_its_axis0_part_as_a_marker() {
        let mut w = SvgWriter::new(100.0, 100.0);
        painter(false).paint(&mut w, 0.0, 0.0, &[-1.0, 0.0, 0.0]);
        let svg = w.finish();
        assert!(svg.contains("data-sign=\"-\""));
        assert!(!svg.contains("shaft"), "no in-plane part");
        let mut w = SvgWriter::new(100.0, 100.0);
        painter(false).paint(&mut w, 0.0, 0.0, &[0.0]);
        let svg = w.finish();
        assert!(
            !svg.contains("arrow") && !svg.contains("out-of-plane"),
            "a zero vector draws nothing"
        );
        let mut w = SvgWriter::new(100.0, 100.0);
        painter(false).paint(&mut w, 0.0, 0.0, &[f64::NAN, 1.0, f64::INFINITY]);
        let svg = w.finish();
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "non-finite vectors draw nothing: {svg}"
        );
    }
}
