//! `ginrs compare`: evaluated runs side by side, as one Markdown table.
//!
//! Each row is one run's `metrics.json` ([`EvalReport`], written by `ginrs eval`); the
//! columns are the model, its trainable values, the evaluated epoch and ginjax's
//! `l2_rel_error` (whole-field, percent) one step ahead — also per field — and averaged along
//! the rollouts, on the test split and on the test split transformed by B_2 (the mean over
//! its elements), the first rollout step worse than persistence, and the one-step `smse`.
//! The persistence baseline of each test set follows as its own row.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::error::CliError;
use super::evaluate::{self, model_name, Errors, EvalReport, METRICS_FILE};

/// The evaluation directory `ginrs eval` writes inside a run directory by default.
const EVAL_DIR: &str = "eval";

/// One evaluated run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The directory given.
    pub run: PathBuf,
    /// Its evaluation.
    pub report: EvalReport,
}

/// Reads the evaluation of each directory: `DIR/eval/metrics.json`, or `DIR/metrics.json`
/// when `DIR` is itself an evaluation directory.
pub fn read_rows(runs: &[PathBuf]) -> Result<Vec<Row>, CliError> {
    runs.iter()
        .map(|run| {
            let report = read_report(run)?;
            Ok(Row {
                run: run.clone(),
                report,
            })
        })
        .collect()
}

/// The evaluation of one directory (see [`read_rows`]).
pub fn read_report(run: &Path) -> Result<EvalReport, CliError> {
    let path = [
        run.join(EVAL_DIR).join(METRICS_FILE),
        run.join(METRICS_FILE),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| CliError::RunDir {
        path: run.to_owned(),
        message: format!(
            "no {EVAL_DIR}/{METRICS_FILE} or {METRICS_FILE} here: evaluate it first \
                 (`ginrs eval --run-dir {}`)",
            run.display()
        ),
    })?;
    let text = std::fs::read_to_string(&path).map_err(CliError::io(&path))?;
    serde_json::from_str(&text).map_err(|e| CliError::RunDir {
        path,
        message: format!("not an evaluation written by `ginrs eval`: {e}"),
    })
}

/// The symmetry group every report was transformed by ([`evaluate::group_name`]), or "its
/// group" when they differ.
pub fn shared_group<'a>(reports: impl Iterator<Item = &'a EvalReport>) -> String {
    let names: std::collections::BTreeSet<String> = reports.map(evaluate::group_name).collect();
    match names.len() {
        1 => names.into_iter().next().unwrap_or_default(),
        _ => "its group".into(),
    }
}

/// The rows as a Markdown table (header, alignment row, one line per run, then one
/// persistence line per distinct test set). Errors are ginjax's `l2_rel_error` in percent
/// (whole-field), one step ahead and averaged over the rollout steps; "under G" is the mean
/// over the test sets transformed by the runs' symmetry group G (`B_2` for the turbulence
/// data; "its group" where the runs' groups differ); "worse at" is the first rollout step whose error exceeds
/// persistence's ("—": never).
pub fn table(rows: &[Row]) -> String {
    let fields = field_names(rows.iter().map(|r| &r.report));
    let group = shared_group(rows.iter().map(|r| &r.report));
    let mut out = format!(
        "| run | model | params | epoch | one-step L2 rel % | under {group} |{} rollout L2 rel % \
         | under {group} | worse than persistence at step | one-step smse |\n|---|---|---:|---:|---:|---:|{}---:|---:|---:|---:|\n",
        fields
            .iter()
            .map(|f| format!(" {f} % |"))
            .collect::<String>(),
        "---:|".repeat(fields.len()),
    );
    let per_field = |e: &Errors| -> String {
        fields
            .iter()
            .map(|f| match e.one_step_l2_rel_error_per_field.get(f) {
                Some(v) => format!(" {v:.3} |"),
                None => " — |".into(),
            })
            .collect()
    };
    for Row { run, report } in rows {
        let (plain, moved) = (&report.plain, &report.transformed_mean);
        writeln!(
            out,
            "| {} | {} | {} | {} | {:.3} | {:.3} |{} {:.3} | {:.3} | {} | {:.3e} |",
            run.display(),
            model_name(report),
            report.params,
            report.epoch,
            plain.one_step_l2_rel_error,
            moved.one_step_l2_rel_error,
            per_field(plain),
            plain.rollout_l2_rel_error_mean,
            moved.rollout_l2_rel_error_mean,
            report
                .first_step_worse_than_persistence
                .map_or("—".to_string(), |s| s.to_string()),
            plain.one_step_smse,
        )
        .expect("writing to a String cannot fail");
    }
    let mut seen: Vec<(&Path, [usize; 2])> = Vec::new();
    for Row { report, .. } in rows {
        let test_set = (report.dataset.as_path(), report.test_trajectories);
        if seen.contains(&test_set) {
            continue;
        }
        seen.push(test_set);
        let e = &report.persistence;
        writeln!(
            out,
            "| persistence ({}, trajectories {}..{}) | nothing changes | 0 | — | {:.3} | {:.3} |{} {:.3} | {:.3} | — | {:.3e} |",
            report.dataset.display(),
            report.test_trajectories[0],
            report.test_trajectories[1],
            e.one_step_l2_rel_error,
            report.persistence_transformed_mean.one_step_l2_rel_error,
            per_field(e),
            e.rollout_l2_rel_error_mean,
            report.persistence_transformed_mean.rollout_l2_rel_error_mean,
            e.one_step_smse,
        )
        .expect("writing to a String cannot fail");
    }
    out
}

/// The field names of the reports' per-field errors, in first-seen order.
pub fn field_names<'a>(reports: impl Iterator<Item = &'a EvalReport>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for report in reports {
        for name in report.plain.one_step_l2_rel_error_per_field.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}
