//! Helpers shared by the generator's integration tests: running `gen-filters` and scratch
//! directories.

// Each test binary compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

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
