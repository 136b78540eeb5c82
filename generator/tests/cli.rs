//! The `gen-filters` command line: output, summary, and a clear error (never a panic) for every
//! invalid request.

mod common;

use common::{gen_filters, stderr, TempDir};
use ginrs_generator::FilterFile;

#[test]
fn writes_json_to_stdout_with_summary_on_stderr() {
    let out = gen_filters(&["--dim", "2", "--size", "3", "--max-k", "1", "--summary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = FilterFile::from_json(&String::from_utf8(out.stdout.clone()).unwrap()).unwrap();
    let counts: Vec<(usize, u8, usize)> = file
        .banks
        .iter()
        .map(|b| (b.k(), b.parity(), b.len()))
        .collect();
    assert_eq!(counts, vec![(0, 0, 3), (0, 1, 0), (1, 0, 2), (1, 1, 2)]);
    let summary = stderr(&out);
    assert!(summary.contains("   M   k   p"), "{summary}");
    assert_eq!(summary.lines().count(), 6, "{summary}");
}

#[test]
fn writes_a_file_with_options_and_reports_timings_on_stdout() {
    let tmp = TempDir::new("options");
    let path = tmp.join("flips.json");
    let out = gen_filters(&[
        "--dim",
        "2",
        "--size",
        "3,5",
        "--max-k",
        "2",
        "--parity",
        "1",
        "--group",
        "flips",
        "--convention",
        "canonical",
        "--scale",
        "one",
        "-o",
        path.to_str().unwrap(),
        "--timings",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.contains("time (ms)") && report.contains("total"),
        "{report}"
    );
    let file = FilterFile::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file.group_order, 4);
    assert_eq!(file.banks.len(), 6);
    assert!(file
        .banks
        .iter()
        .all(|b| b.parity() == 1 && b.exact().is_some()));
    // C2 on 3×3 pseudoscalars: one filter (fixtures: filters_options.json).
    assert_eq!(file.bank(3, 0, 1).unwrap().len(), 1);
}

fn assert_refused(args: &[&str], needle: &str) {
    let out = gen_filters(args);
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} wrote output");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn even_sizes_are_generated_with_the_spec_counts_and_pictures() {
    // semantics.md §4.8: d = 2, M = 4 has 3, 1, 4, 4 filters for (k, p) = (0, 0) .. (1, 1);
    // ginjax builds even banks (M = 2) for upsampling, used with explicit padding.
    let dir = TempDir::new("even-sizes");
    let svg = dir.join("svg");
    let svg_arg = svg.to_str().unwrap();
    let args = [
        "--dim", "2", "--size", "2,4", "--max-k", "1", "--svg", svg_arg, "-o",
    ];
    let json = dir.join("even.json");
    let mut all: Vec<&str> = args.to_vec();
    all.push(json.to_str().unwrap());
    let out = gen_filters(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = FilterFile::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let counts: Vec<(usize, usize, u8, usize)> = file
        .banks
        .iter()
        .map(|b| (b.size(), b.k(), b.parity(), b.len()))
        .collect();
    assert_eq!(
        counts,
        vec![
            (2, 0, 0, 1),
            (2, 0, 1, 0),
            (2, 1, 0, 1),
            (2, 1, 1, 1),
            (4, 0, 0, 3),
            (4, 0, 1, 1),
            (4, 1, 0, 4),
            (4, 1, 1, 4),
        ]
    );
    assert!(svg.join("d2_m4_k1_p0.svg").is_file());
}

#[test]
fn invalid_requests_are_refused_with_clear_errors() {
    assert_refused(
        &["--dim", "0", "--size", "3", "--max-k", "1"],
        "choose d in 1..=6",
    );
    assert_refused(
        &["--dim", "7", "--size", "3", "--max-k", "1"],
        "choose d in 1..=6",
    );
    assert_refused(&["--dim", "2", "--size", "3,0", "--max-k", "1"], "M = 0");
    assert_refused(
        &["--dim", "2", "--size", "3", "--max-k", "40"],
        "lower k or M",
    );
    assert_refused(
        &["--dim", "6", "--size", "99", "--max-k", "0"],
        "lower k or M",
    );
    assert_refused(
        &[
            "--dim", "2", "--size", "3", "--max-k", "1", "--group", "cyclic",
        ],
        "unknown group",
    );
    assert_refused(
        &[
            "--dim",
            "2",
            "--size",
            "3",
            "--max-k",
            "1",
            "--convention",
            "e3nn",
        ],
        "unknown convention",
    );
    assert_refused(
        &[
            "--dim", "2", "--size", "3", "--max-k", "1", "--scale", "zero_sum",
        ],
        "unknown scale",
    );
    assert_refused(
        &["--dim", "2", "--size", "3", "--max-k", "1", "--parity", "2"],
        "not a parity",
    );
    assert_refused(
        &["--dim", "2", "--size", "x", "--max-k", "1"],
        "invalid value",
    );
    assert_refused(&["--dim", "2", "--max-k", "1"], "--size");
    assert_refused(
        &[
            "--dim",
            "2",
            "--size",
            "3",
            "--max-k",
            "1",
            "-o",
            "/nonexistent-dir/f.json",
        ],
        "cannot write /nonexistent-dir/f.json",
    );
}

#[test]
fn standard_k2_basis_option_matches_the_library() {
    let out = gen_filters(&[
        "--dim",
        "2",
        "--size",
        "5",
        "--max-k",
        "2",
        "--parity",
        "0",
        "--no-k2-irreps-basis",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = FilterFile::from_json(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert!(!file.k2_irreps_basis);
    let group = ginrs_generator::group::Group::hyperoctahedral(2).unwrap();
    let options = ginrs_generator::BankOptions {
        k2_irreps_basis: false,
        ..Default::default()
    };
    let want = ginrs_generator::invariant_bank(&group, 5, 2, 0, &options).unwrap();
    assert_eq!(file.bank(5, 2, 0), Some(&want));
    let irreps = ginrs_generator::invariant_bank(&group, 5, 2, 0, &Default::default()).unwrap();
    assert_ne!(want, irreps, "the two k = 2 bases give different lists");
}
