//! `ginrs compare`: evaluated runs side by side, as one Markdown table.
//!
//! Each row is one run's `metrics.json` ([`EvalReport`], written by `ginrs eval`); the
//! columns are the model, its trainable values, the evaluated epoch and ginjax's relative L2
//! error (percent) one step ahead and averaged along the rollouts, on the test split and on
//! the test split transformed by B_2 (the mean over its elements), plus the one-step `smse`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::error::CliError;
use super::evaluate::{EvalReport, METRICS_FILE};

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
fn read_report(run: &Path) -> Result<EvalReport, CliError> {
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

/// The rows as a Markdown table (header, alignment row, one line per run).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| run | model | params | epoch | one-step L2 rel % | one-step L2 rel % under B_2 \
         | rollout L2 rel % | rollout L2 rel % under B_2 | one-step smse | one-step smse under B_2 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for Row { run, report } in rows {
        let (plain, moved) = (&report.plain, &report.transformed_mean);
        let kind = if report.equivariant {
            "equivariant"
        } else {
            "baseline"
        };
        writeln!(
            out,
            "| {} | {kind} {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3e} | {:.3e} |",
            run.display(),
            report.model,
            report.params,
            report.epoch,
            plain.one_step_l2_rel_error,
            moved.one_step_l2_rel_error,
            plain.rollout_l2_rel_error_mean,
            moved.rollout_l2_rel_error_mean,
            plain.one_step_smse,
            moved.one_step_smse,
        )
        .expect("writing to a String cannot fail");
    }
    out
}
