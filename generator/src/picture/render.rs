//! Assembling a bank picture as an SVG document: title, one panel per filter, legend, caption.

use super::caption;
use super::colour::diverging;
use super::glyph::{PixelPainter, PSEUDO_ARROW};
use super::layout::{Layout, CAPTION_FONT, CAPTION_LINE_H, MARGIN, PANEL_PAD, TITLE_FONT};
use super::view;
use super::writer::SvgWriter;
use crate::filters::FilterBank;

/// Outline of an ordinary filter panel.
const PANEL_STROKE: &str = "#7f7f7f";
/// Text colour for labels and captions.
const INK: &str = "#1a1a1a";
/// Softer text colour for secondary labels.
const SOFT_INK: &str = "#555555";

/// Renders the bank as a standalone SVG document.
///
/// Each filter becomes one `<g class="filter" data-index="i">` panel, in bank order. An empty
/// bank yields a picture with a single `<g class="empty">` box saying "no invariant filters".
pub fn render_svg(bank: &FilterBank) -> String {
    let title = caption::title(bank.dim(), bank.size(), bank.k(), bank.parity(), bank.len());
    let layout = Layout::new(bank, title.chars().count());
    let paragraphs = if bank.is_empty() {
        Vec::new()
    } else {
        caption::paragraphs(bank.dim(), bank.k(), bank.parity(), layout.style)
    };
    let lines: Vec<String> = paragraphs
        .iter()
        .flat_map(|p| caption::wrap(p, layout.caption_chars()))
        .collect();
    let legend = layout.style.uses_colour() && !bank.is_empty();
    let mut w = SvgWriter::new(layout.width, layout.height(legend, lines.len()));

    w.text_element(
        "text",
        &[
            ("class", "title".into()),
            ("x", MARGIN.into()),
            ("y", (MARGIN + 18.0).into()),
            ("font-size", TITLE_FONT.into()),
            ("font-weight", "bold".into()),
            ("fill", INK.into()),
        ],
        &title,
    );

    if bank.is_empty() {
        empty_panel(&mut w, &layout);
    }
    for index in 0..bank.len() {
        filter_panel(&mut w, &layout, bank, index);
    }
    let mut y = layout.footer_top;
    if legend {
        colour_legend(&mut w, y);
        y += super::layout::LEGEND_H;
    }
    for line in &lines {
        w.text_element(
            "text",
            &[
                ("class", "caption".into()),
                ("x", MARGIN.into()),
                ("y", (y + CAPTION_FONT).into()),
                ("font-size", CAPTION_FONT.into()),
                ("fill", INK.into()),
            ],
            line,
        );
        y += CAPTION_LINE_H;
    }
    w.finish()
}

fn empty_panel(w: &mut SvgWriter, layout: &Layout) {
    let (x, y) = layout.panel_origin(0);
    w.open("g", &[("class", "empty".into())]);
    w.empty(
        "rect",
        &[
            ("x", x.into()),
            ("y", y.into()),
            ("width", layout.panel_w.into()),
            ("height", layout.panel_h.into()),
            ("fill", "#f4f4f4".into()),
            ("stroke", PANEL_STROKE.into()),
            ("stroke-dasharray", "6 4".into()),
        ],
    );
    w.text_element(
        "text",
        &[
            ("x", (x + layout.panel_w / 2.0).into()),
            ("y", (y + layout.panel_h / 2.0 + 5.0).into()),
            ("font-size", 15.0.into()),
            ("text-anchor", "middle".into()),
            ("fill", SOFT_INK.into()),
        ],
        "no invariant filters",
    );
    w.close("g");
}

fn filter_panel(w: &mut SvgWriter, layout: &Layout, bank: &FilterBank, index: usize) {
    let pseudo = bank.parity() == 1;
    let (px, py) = layout.panel_origin(index);
    let transform = format!(
        "translate({},{})",
        super::writer::num(px),
        super::writer::num(py)
    );
    let data_index = index.to_string();
    w.open(
        "g",
        &[
            ("class", "filter".into()),
            ("data-index", (&data_index).into()),
            ("transform", (&transform).into()),
        ],
    );
    let purple = PSEUDO_ARROW.to_string();
    let mut outline = vec![
        ("class", "panel".into()),
        ("width", layout.panel_w.into()),
        ("height", layout.panel_h.into()),
        ("rx", 4.0.into()),
        ("fill", "#ffffff".into()),
        (
            "stroke",
            if pseudo {
                (&purple).into()
            } else {
                PANEL_STROKE.into()
            },
        ),
        ("stroke-width", if pseudo { 1.5.into() } else { 1.0.into() }),
    ];
    if pseudo {
        outline.push(("stroke-dasharray", "6 3".into()));
    }
    w.empty("rect", &outline);
    w.text_element(
        "text",
        &[
            ("class", "label".into()),
            ("x", PANEL_PAD.into()),
            ("y", (PANEL_PAD + 13.0).into()),
            ("font-size", 13.0.into()),
            ("font-weight", "bold".into()),
            ("fill", INK.into()),
        ],
        &format!("#{index}"),
    );
    if pseudo {
        pseudo_badge(w, layout.panel_w - PANEL_PAD, PANEL_PAD);
    }
    if layout.slice_count() > 1 {
        for slice in 0..layout.slice_count() {
            let (sx, sy) = layout.slice_origin(slice);
            let centre = sx + layout.grid_cols as f64 * layout.cell_w / 2.0;
            w.text_element(
                "text",
                &[
                    ("class", "slice-label".into()),
                    ("x", centre.into()),
                    ("y", (sy - 4.0).into()),
                    ("font-size", 11.0.into()),
                    ("text-anchor", "middle".into()),
                    ("fill", SOFT_INK.into()),
                ],
                &layout.slice_label(slice),
            );
        }
    }
    let painter = PixelPainter {
        style: layout.style,
        cell_w: layout.cell_w,
        cell_h: layout.cell_h,
        colour_scale: view::max_abs(bank, index),
        arrow_scale: view::max_pixel_norm(bank, index),
        pseudo,
    };
    for pixel in 0..view::pixel_count(bank) {
        let (_, x, y) = layout.pixel_origin(pixel);
        painter.paint(w, x, y, view::pixel(bank, index, pixel));
    }
    w.close("g");
}

/// A small rounded "pseudo" tag whose right edge is at `right` and top at `top`.
fn pseudo_badge(w: &mut SvgWriter, right: f64, top: f64) {
    let (bw, bh) = (46.0, 16.0);
    let purple = PSEUDO_ARROW.to_string();
    w.empty(
        "rect",
        &[
            ("class", "badge".into()),
            ("x", (right - bw).into()),
            ("y", top.into()),
            ("width", bw.into()),
            ("height", bh.into()),
            ("rx", 8.0.into()),
            ("fill", "#efe3f7".into()),
            ("stroke", (&purple).into()),
        ],
    );
    w.text_element(
        "text",
        &[
            ("x", (right - bw / 2.0).into()),
            ("y", (top + 11.5).into()),
            ("font-size", 10.0.into()),
            ("text-anchor", "middle".into()),
            ("fill", (&purple).into()),
        ],
        "pseudo",
    );
}

/// A nine-step swatch of the diverging scale from −max to +max.
fn colour_legend(w: &mut SvgWriter, top: f64) {
    let (sw, sh, steps) = (22.0, 12.0, 9);
    w.open("g", &[("class", "legend".into())]);
    for i in 0..steps {
        let t = -1.0 + 2.0 * i as f64 / (steps - 1) as f64;
        w.empty(
            "rect",
            &[
                ("x", (MARGIN + i as f64 * sw).into()),
                ("y", top.into()),
                ("width", sw.into()),
                ("height", sh.into()),
                ("fill", (&diverging(t, 1.0).to_string()).into()),
                ("stroke", "#c8c8c8".into()),
                ("stroke-width", 0.5.into()),
            ],
        );
    }
    let labels = [
        (MARGIN, "start", "\u{2212}max"),
        (MARGIN + steps as f64 * sw / 2.0, "middle", "0"),
        (MARGIN + steps as f64 * sw, "end", "+max"),
    ];
    for (x, anchor, label) in labels {
        w.text_element(
            "text",
            &[
                ("x", x.into()),
                ("y", (top + sh + 12.0).into()),
                ("font-size", 10.0.into()),
                ("text-anchor", anchor.into()),
                ("fill", SOFT_INK.into()),
            ],
            label,
        );
    }
    w.text_element(
        "text",
        &[
            ("x", (MARGIN + steps as f64 * sw + 10.0).into()),
            ("y", (top + sh - 1.0).into()),
            ("font-size", 11.0.into()),
            ("fill", SOFT_INK.into()),
        ],
        "colour scale, max = the filter's largest |value|",
    );
    w.close("g");
}
