//! Bank pictures: SVG structure, drawing conventions, empty banks, PNG output and file writing.
//!
//! The banks come from an independent orbit-sum construction below (not the generator's filter
//! module), checked against the filter counts ginjax's `get_invariant_filters` returns.

mod common;

use std::collections::BTreeSet;

use common::TempDir;
use ginrs_generator::group::Group;
use ginrs_generator::picture::{
    render_svg, write_png, write_svg, Fonts, PictureError, Rasterizer, PNG_SCALE,
};
use ginrs_generator::FilterBank;
use resvg::tiny_skia;

/// Invariant filters of shape (M,)*d + (d,)*k, parity p, as normalized signed orbit sums of B_d.
fn orbit_bank(d: usize, m: usize, k: usize, p: u8) -> Vec<Vec<f64>> {
    let group = Group::hyperoctahedral(d).unwrap();
    let pixels = m.pow(d as u32);
    let comps = d.pow(k as u32);
    let mut seen = BTreeSet::new();
    let mut bank = Vec::new();
    for b in 0..pixels * comps {
        let (pixel, comp) = (b / comps, b % comps);
        let coords = digits(pixel, m, d);
        let offset: Vec<i64> = coords
            .iter()
            .map(|&c| 2 * c as i64 - (m as i64 - 1))
            .collect();
        let tensor = digits(comp, d, k);
        let mut sum = vec![0i64; pixels * comps];
        for g in group.elements() {
            let moved: Vec<usize> = g
                .apply(&offset)
                .iter()
                .map(|&o| ((o + m as i64 - 1) / 2) as usize)
                .collect();
            let mut sign = if p == 1 { i64::from(g.det()) } else { 1 };
            let mut index = 0;
            for &i in &tensor {
                let row = (0..d).find(|&r| g.col(r) == i).unwrap();
                sign *= i64::from(g.sign(row));
                index = index * d + row;
            }
            let flat_pixel = moved.iter().fold(0, |acc, &c| acc * m + c);
            sum[flat_pixel * comps + index] += sign;
        }
        let Some(first) = sum.iter().find(|&&v| v != 0).copied() else {
            continue;
        };
        let max = sum.iter().map(|v| v.abs()).max().unwrap();
        let key: Vec<i64> = sum.iter().map(|&v| v * first.signum() / max).collect();
        if seen.insert(key.clone()) {
            bank.push(key.iter().map(|&v| v as f64).collect());
        }
    }
    bank
}

fn digits(mut n: usize, base: usize, len: usize) -> Vec<usize> {
    let mut out = vec![0; len];
    for slot in out.iter_mut().rev() {
        *slot = n % base;
        n /= base;
    }
    out
}

fn svg_for(d: usize, m: usize, k: usize, p: u8, filters: &[Vec<f64>]) -> String {
    render_svg(&FilterBank::from_parts(d, m, k, p, filters.to_vec(), None).unwrap())
}

fn class_count(doc: &roxmltree::Document<'_>, tag: &str, class: &str) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name(tag) && n.attribute("class") == Some(class))
        .count()
}

/// Parses a bank picture and checks it has one filter panel per filter, and the "empty" box
/// exactly when there are none.
fn parse_panels<'a>(svg: &'a str, filters: usize, label: &str) -> roxmltree::Document<'a> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(class_count(&doc, "g", "filter"), filters, "{label}");
    assert_eq!(
        class_count(&doc, "g", "empty"),
        usize::from(filters == 0),
        "{label}"
    );
    doc
}

fn num_attr(node: roxmltree::Node<'_, '_>, name: &str) -> f64 {
    node.attribute(name).unwrap().parse().unwrap()
}

fn filter_panel<'a, 'i>(doc: &'a roxmltree::Document<'i>, index: usize) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| {
            n.attribute("class") == Some("filter")
                && n.attribute("data-index") == Some(&index.to_string())
        })
        .unwrap()
}

/// The `translate(x,y)` offset of a filter panel.
fn translation(panel: roxmltree::Node<'_, '_>) -> (f64, f64) {
    let t = panel.attribute("transform").unwrap();
    let inner = t
        .strip_prefix("translate(")
        .unwrap()
        .strip_suffix(')')
        .unwrap();
    let (x, y) = inner.split_once(',').unwrap();
    (x.parse().unwrap(), y.parse().unwrap())
}

/// Pixel cells of a panel in row-major pixel order.
fn pixel_cells<'a, 'i>(panel: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    panel
        .descendants()
        .filter(|n| n.attribute("class") == Some("pixel"))
        .collect()
}

#[test]
fn the_independent_banks_have_the_spec_counts() {
    let counts = |d, m, k| [0u8, 1].map(|p| orbit_bank(d, m, k, p).len());
    assert_eq!(counts(1, 3, 0), [2, 1]);
    assert_eq!(counts(1, 3, 1), [1, 2]);
    assert_eq!(counts(2, 3, 0), [3, 0]);
    assert_eq!(counts(2, 3, 1), [2, 2]);
    assert_eq!(counts(2, 3, 2), [5, 5]);
    assert_eq!(counts(2, 3, 3), [8, 8]);
    assert_eq!(counts(3, 3, 1), [3, 0]);
    assert_eq!(counts(3, 3, 2), [8, 4]);
}

#[test]
fn every_shape_renders_one_panel_per_filter() {
    for d in 1..=3 {
        for k in 0..=3 {
            for p in 0..=1u8 {
                let bank = orbit_bank(d, 3, k, p);
                let svg = svg_for(d, 3, k, p, &bank);
                let doc = parse_panels(&svg, bank.len(), &format!("d={d} k={k} p={p}"));
                let indices: Vec<String> = doc
                    .descendants()
                    .filter(|n| n.attribute("class") == Some("filter"))
                    .map(|n| n.attribute("data-index").unwrap().to_string())
                    .collect();
                let expected: Vec<String> = (0..bank.len()).map(|i| i.to_string()).collect();
                assert_eq!(indices, expected, "panels in bank order");
                let title = doc
                    .descendants()
                    .find(|n| n.attribute("class") == Some("title"))
                    .and_then(|n| n.text())
                    .unwrap();
                assert!(
                    title.contains(&format!("d = {d}, M = 3, k = {k}")),
                    "{title}"
                );
                assert!(title.contains(&format!("parity {p}")), "{title}");
                assert!(
                    title.ends_with(&format!("{} filters", bank.len())) || bank.len() == 1,
                    "{title}"
                );
                // Every pixel of every filter is drawn exactly once.
                assert_eq!(
                    class_count(&doc, "rect", "pixel"),
                    bank.len() * 3usize.pow(d as u32)
                );
                assert_eq!(
                    class_count(&doc, "rect", "badge"),
                    if p == 1 { bank.len() } else { 0 }
                );
                if d == 3 && !bank.is_empty() {
                    let labels: Vec<&str> = doc
                        .descendants()
                        .filter(|n| n.attribute("class") == Some("slice-label"))
                        .take(3)
                        .map(|n| n.text().unwrap())
                        .collect();
                    assert_eq!(labels, ["i0 = 0", "i0 = 1", "i0 = 2"]);
                }
            }
        }
    }
}

#[test]
fn an_empty_bank_says_so() {
    let svg = svg_for(2, 3, 0, 1, &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(class_count(&doc, "g", "filter"), 0);
    let empty = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("empty"))
        .unwrap();
    let text: Vec<&str> = empty.descendants().filter_map(|n| n.text()).collect();
    assert!(text.contains(&"no invariant filters"), "{text:?}");
    assert!(svg.contains("0 filters"));
}

#[test]
fn scalars_are_coloured_and_labelled_with_their_value() {
    // ginjax D=2, M=3, k0p0 filter 1: the plus-shaped ring of ones.
    let ring = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    let half = vec![0.0, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0, 1.0];
    let svg = svg_for(2, 3, 0, 0, &[ring, half]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let cells = pixel_cells(filter_panel(&doc, 0));
    assert_eq!(cells.len(), 9);
    assert_eq!(cells[4].attribute("fill"), Some("#ffffff"), "zero is white");
    assert_eq!(
        cells[1].attribute("fill"),
        Some("#ca0020"),
        "the maximum is full red"
    );
    let values: Vec<&str> = filter_panel(&doc, 0)
        .descendants()
        .filter(|n| n.attribute("class") == Some("value"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(values, ["1", "1", "1", "1"], "zeros are left blank");
    let cells = pixel_cells(filter_panel(&doc, 1));
    assert_eq!(
        cells[4].attribute("fill"),
        Some("#92c5de"),
        "−0.5 of max 1 is the mid blue"
    );
    assert!(filter_panel(&doc, 1)
        .descendants()
        .any(|n| n.text() == Some("\u{2212}0.5")));
    // Cells of row 1 sit one cell below row 0 (axis 0 runs down).
    assert!(num_attr(cells[3], "y") > num_attr(cells[0], "y"));
    assert_eq!(num_attr(cells[3], "x"), num_attr(cells[0], "x"));
}

#[test]
fn vectors_point_v1_right_and_v0_down() {
    // ginjax D=2, M=3, k1p0 filter 0: outward unit vectors on the ring, v(o) = o for offsets
    // (row, col). Pixel (0, 1) has offset (−1, 0) → arrow up; pixel (1, 2) has (0, 1) → right.
    let mut outward = vec![0.0; 18];
    for (pixel, v) in [
        (1, [-1.0, 0.0]),
        (3, [0.0, -1.0]),
        (5, [0.0, 1.0]),
        (7, [1.0, 0.0]),
    ] {
        outward[2 * pixel] = v[0];
        outward[2 * pixel + 1] = v[1];
    }
    let svg = svg_for(2, 3, 1, 0, &[outward]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let panel = filter_panel(&doc, 0);
    let cells = pixel_cells(panel);
    let shafts: Vec<_> = panel
        .descendants()
        .filter(|n| n.attribute("class") == Some("shaft"))
        .collect();
    assert_eq!(shafts.len(), 4, "one arrow per non-zero pixel");
    let direction = |s: roxmltree::Node<'_, '_>| {
        (
            num_attr(s, "x2") - num_attr(s, "x1"),
            num_attr(s, "y2") - num_attr(s, "y1"),
        )
    };
    let (dx, dy) = direction(shafts[0]);
    assert!(dx == 0.0 && dy < 0.0, "(−1, 0) points up: {dx} {dy}");
    let (dx, dy) = direction(shafts[2]);
    assert!(dx > 0.0 && dy == 0.0, "(0, 1) points right: {dx} {dy}");
    // Arrows start at their pixel's centre and stay inside it.
    for (shaft, &pixel) in shafts.iter().zip(&[1usize, 3, 5, 7]) {
        let cell = cells[pixel];
        let (x, y, w, h) = (
            num_attr(cell, "x"),
            num_attr(cell, "y"),
            num_attr(cell, "width"),
            num_attr(cell, "height"),
        );
        assert_eq!(
            (num_attr(*shaft, "x1"), num_attr(*shaft, "y1")),
            (x + w / 2.0, y + h / 2.0)
        );
        let tip = shaft
            .next_sibling_element()
            .unwrap()
            .attribute("points")
            .unwrap();
        for point in tip.split(' ') {
            let (px, py) = point.split_once(',').unwrap();
            let (px, py): (f64, f64) = (px.parse().unwrap(), py.parse().unwrap());
            assert!(
                px > x && px < x + w && py > y && py < y + h,
                "head {point} outside its cell"
            );
        }
    }
    let captions: String = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("caption"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        captions.contains("points v1 to the right and v0 down"),
        "{captions}"
    );
}

#[test]
fn pseudo_filters_are_marked() {
    let bank = orbit_bank(2, 3, 1, 1);
    let svg = svg_for(2, 3, 1, 1, &bank);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    for i in 0..bank.len() {
        let panel = filter_panel(&doc, i);
        let outline = panel
            .descendants()
            .find(|n| n.attribute("class") == Some("panel"))
            .unwrap();
        assert!(outline.attribute("stroke-dasharray").is_some());
        assert!(panel.descendants().any(|n| n.text() == Some("pseudo")));
    }
    let plain = svg_for(2, 3, 1, 0, &orbit_bank(2, 3, 1, 0));
    assert!(!plain.contains("stroke-dasharray") && !plain.contains(">pseudo<"));
}

#[test]
fn tensors_and_higher_dimensions_draw_component_cells() {
    let bank = orbit_bank(2, 3, 2, 0);
    let doc_text = svg_for(2, 3, 2, 0, &bank);
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    assert_eq!(class_count(&doc, "rect", "component"), bank.len() * 9 * 4);
    let bank = orbit_bank(3, 3, 3, 0);
    let doc_text = svg_for(3, 3, 3, 0, &bank);
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    assert_eq!(class_count(&doc, "rect", "component"), bank.len() * 27 * 27);
    let bank = orbit_bank(4, 2, 0, 0);
    let doc_text = svg_for(4, 2, 0, 0, &bank);
    let doc = roxmltree::Document::parse(&doc_text).unwrap();
    assert_eq!(class_count(&doc, "g", "filter"), bank.len());
    assert_eq!(class_count(&doc, "text", "slice-label"), bank.len() * 4);
}

#[test]
fn png_has_the_svg_size_and_the_drawn_colours() {
    // k0p0 filter 0 of ginjax D=2, M=3: the centre pixel alone.
    let centre = vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let svg = svg_for(2, 3, 0, 0, &[centre]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    let (width, height) = (num_attr(root, "width"), num_attr(root, "height"));
    let rasterizer = Rasterizer::new(Fonts::None);
    let png = rasterizer.render_png(&svg, 2.0).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert_eq!(pixmap.width(), (width * 2.0).ceil() as u32);
    assert_eq!(pixmap.height(), (height * 2.0).ceil() as u32);
    let panel = filter_panel(&doc, 0);
    let (tx, ty) = translation(panel);
    let cell = pixel_cells(panel)[4];
    let cx = 2.0 * (tx + num_attr(cell, "x") + 0.25 * num_attr(cell, "width"));
    let cy = 2.0 * (ty + num_attr(cell, "y") + 0.25 * num_attr(cell, "height"));
    let p = pixmap.pixel(cx as u32, cy as u32).unwrap();
    assert_eq!(
        (p.red(), p.green(), p.blue()),
        (0xca, 0x00, 0x20),
        "the centre value is red"
    );
    let p = pixmap.pixel(1, 1).unwrap();
    assert_eq!(
        (p.red(), p.green(), p.blue()),
        (255, 255, 255),
        "white background"
    );
}

#[test]
fn pictures_are_written_with_bank_file_names() {
    let tmp = TempDir::new("write");
    let bank = FilterBank::from_parts(1, 3, 1, 0, orbit_bank(1, 3, 1, 0), None).unwrap();
    let dir = tmp.0.join("nested/out");
    let svg_path = write_svg(&dir, &bank).unwrap();
    assert_eq!(svg_path, dir.join("d1_m3_k1_p0.svg"));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg, render_svg(&bank));
    let png_path = write_png(&dir, &bank, &Rasterizer::new(Fonts::None)).unwrap();
    assert_eq!(png_path, dir.join("d1_m3_k1_p0.png"));
    let pixmap = tiny_skia::Pixmap::decode_png(&std::fs::read(&png_path).unwrap()).unwrap();
    let expected = Rasterizer::new(Fonts::None)
        .raster_size(&svg, PNG_SCALE)
        .unwrap();
    assert_eq!((pixmap.width(), pixmap.height()), expected);
}

#[test]
fn an_unusable_directory_is_a_clear_error() {
    let tmp = TempDir::new("blocked");
    let file = tmp.0.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let bank = FilterBank::from_parts(2, 3, 0, 0, orbit_bank(2, 3, 0, 0), None).unwrap();
    for dir in [file.clone(), file.join("sub")] {
        let err = write_svg(&dir, &bank).unwrap_err();
        assert!(matches!(err, PictureError::OutputDir { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("cannot use output directory") && message.contains("not-a-dir"),
            "{message}"
        );
    }
}

#[test]
fn generated_ginjax_banks_render_with_one_panel_per_filter() {
    use ginrs_generator::{invariant_bank, BankOptions};
    for d in 1..=3 {
        let group = Group::hyperoctahedral(d).unwrap();
        for k in 0..=3 {
            for p in 0..=1u8 {
                let bank = invariant_bank(&group, 3, k, p, &BankOptions::default()).unwrap();
                let svg = render_svg(&bank);
                parse_panels(&svg, bank.len(), &format!("d={d} k={k} p={p}"));
            }
        }
    }
    // ginjax D=2, M=3, k1p0 filter 0 is the outward ring (as ginjax's filter plots show): at pixel (0, 1), offset
    // (−1, 0), the arrow points up; at pixel (1, 0), offset (0, −1), it points left.
    let bank = invariant_bank(
        &Group::hyperoctahedral(2).unwrap(),
        3,
        1,
        0,
        &BankOptions::default(),
    )
    .unwrap();
    let svg = render_svg(&bank);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let shafts: Vec<_> = filter_panel(&doc, 0)
        .descendants()
        .filter(|n| n.attribute("class") == Some("shaft"))
        .collect();
    assert_eq!(shafts.len(), 4);
    let (up, left) = (shafts[0], shafts[1]);
    assert!(num_attr(up, "y2") < num_attr(up, "y1") && num_attr(up, "x2") == num_attr(up, "x1"));
    assert!(
        num_attr(left, "x2") < num_attr(left, "x1") && num_attr(left, "y2") == num_attr(left, "y1")
    );
}
