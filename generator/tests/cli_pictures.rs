//! `gen-filters --svg/--png`: one picture per bank with bank file names, no JSON on stdout unless
//! asked for, clear errors for unusable directories, and no progress bar when not on a terminal.

mod common;

use std::path::Path;

use common::{gen_filters, stderr, TempDir};
use ginrs_generator::FilterFile;
use resvg::tiny_skia;

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_one_svg_and_png_per_bank_and_no_json_on_stdout() {
    let tmp = TempDir::new("both");
    let (svg_dir, png_dir) = (tmp.join("svg"), tmp.join("png/nested"));
    let out = gen_filters(&[
        "--dim",
        "2",
        "--size",
        "3",
        "--max-k",
        "1",
        "--svg",
        svg_dir.to_str().unwrap(),
        "--png",
        png_dir.to_str().unwrap(),
    ]);
    let stderr = stderr(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "pictures without -o write no JSON");
    assert!(
        stderr.contains("wrote 4 SVG pictures to") && stderr.contains("wrote 4 PNG pictures to"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "no progress bar off a terminal: {stderr:?}"
    );
    let stems = ["d2_m3_k0_p0", "d2_m3_k0_p1", "d2_m3_k1_p0", "d2_m3_k1_p1"];
    assert_eq!(listing(&svg_dir), stems.map(|s| format!("{s}.svg")));
    assert_eq!(listing(&png_dir), stems.map(|s| format!("{s}.png")));
    // Counts of the ginjax bank d = 2, M = 3: 3, 0, 2, 2 filters.
    for (stem, count) in stems.iter().zip([3, 0, 2, 2]) {
        let svg = std::fs::read_to_string(svg_dir.join(format!("{stem}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let panels = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("filter"))
            .count();
        assert_eq!(panels, count, "{stem}");
        let png = std::fs::read(png_dir.join(format!("{stem}.png"))).unwrap();
        let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
        let root = doc.root_element();
        let width: f64 = root.attribute("width").unwrap().parse().unwrap();
        let height: f64 = root.attribute("height").unwrap().parse().unwrap();
        assert_eq!(
            (pixmap.width(), pixmap.height()),
            ((2.0 * width).ceil() as u32, (2.0 * height).ceil() as u32)
        );
    }
}

#[test]
fn pictures_come_with_the_json_file_when_asked() {
    let tmp = TempDir::new("json");
    let json = tmp.join("d1.json");
    let out = gen_filters(&[
        "--dim",
        "1",
        "--size",
        "3,5",
        "--max-k",
        "0",
        "--parity",
        "0",
        "-o",
        json.to_str().unwrap(),
        "--svg",
        tmp.0.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = FilterFile::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(file.banks.len(), 2);
    assert_eq!(
        listing(&tmp.0),
        ["d1.json", "d1_m3_k0_p0.svg", "d1_m5_k0_p0.svg"]
    );
}

#[test]
fn an_unusable_picture_directory_is_refused_before_any_work() {
    let tmp = TempDir::new("blocked");
    let blocker = tmp.join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    for flag in ["--svg", "--png"] {
        for dir in [blocker.clone(), blocker.join("sub")] {
            let out = gen_filters(&[
                "--dim",
                "2",
                "--size",
                "3",
                "--max-k",
                "0",
                flag,
                dir.to_str().unwrap(),
            ]);
            let stderr = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.starts_with("error: cannot use output directory"),
                "{stderr}"
            );
            assert!(stderr.contains(&*blocker.to_string_lossy()), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(out.stdout.is_empty());
        }
    }
}
