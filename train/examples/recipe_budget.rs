//! The arithmetic of one data-parallel step of the README's GPU recipe, for the on-paper
//! estimate of N GPUs: each model's trainable values (the gradient every rank all-reduces per
//! step is that many f32), and the useful flops of one forward pass of one window
//! (`ginrs_runtime::Model::useful_flops`: every convolution's stencil flops plus 2 × its
//! channel mix's multiply-adds; norms and nonlinearities not counted).
//!
//! Usage: `cargo run --release -p ginrs-train --example recipe_budget [N]` (N: the grid side,
//! default 128 as in the recipe). Prints one line per model, `key=value` pairs.

use burn::tensor::Device;
use ginrs_runtime::{Geometry, MultiImage};
use ginrs_train::cli::data::model_io;
use ginrs_train::cli::model::{build_model, Architecture, ModelSpec};
use ginrs_train::data::turbulence;
use ginrs_train::simulate::SimConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 128,
    };
    let schema = turbulence::schema(&SimConfig {
        n,
        ..SimConfig::default()
    });
    let io = model_io(&schema, 2);
    // The recipe's two models: `--kind unet --depth 32` and `--depth 64 --equivariant false`.
    for (name, equivariant, depth) in [("unet_eqv", true, 32), ("unet_base", false, 64)] {
        let spec = ModelSpec {
            kind: Architecture::Unet,
            equivariant,
            depth,
            ..ModelSpec::default()
        };
        let model = build_model(&spec, &io, &Device::flex(), 0)?;
        let params = model.count_params();
        let runtime = model.to_runtime()?;
        let input = MultiImage::zeros(Geometry::square(2, n, true)?, &io.input);
        let flops = runtime
            .useful_flops(&input)?
            .ok_or("a kernel does not report its flops")?;
        println!(
            "model={name} n={n} params={params} gradient_bytes={} forward_gflop_per_window={:.3}",
            4 * params,
            flops / 1e9
        );
    }
    Ok(())
}
