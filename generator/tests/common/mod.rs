//! Helpers shared by the generator's integration tests: running `gen-filters`, scratch
//! directories and reading the ginjax fixtures.

// Each test binary compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the `gen-filters` binary of this build with `args`.
pub fn gen_filters(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen-filters"))
        .args(args)
        .output()
        .expect("gen-filters runs")
}

/// A run's standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// The directory `ginrs-generator-test-<pid>-<name>`; `name` must be unique per test binary.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ginrs-generator-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// A path inside the directory.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ginjax fixture `tests/fixtures/<name>` of the workspace, parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A JSON array of numbers as `f64`s.
pub fn f64_array(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The largest `|sign · got − want|` over the entries.
pub fn max_diff(got: &[f64], want: &[f64], sign: f64) -> f64 {
    got.iter()
        .zip(want)
        .map(|(g, w)| (sign * g - w).abs())
        .fold(0.0, f64::max)
}
