//! `ginrs`: simulate 2-D turbulence, train equivariant and baseline models on it, evaluate
//! them on the test split and its B_2 images, and export them to the runtime. See
//! `ginrs --help` and [`ginrs_train::cli`].

use std::process::ExitCode;

use clap::Parser;
use ginrs_train::cli::{run, Cli};

/// mimalloc keeps freed tensor buffers for reuse (see the `mimalloc` dependency's note).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
