//! Loads a model exported from ginjax and runs it.
//!
//! `cargo run -p ginrs-runtime --example load_ginjax [EXPORT.json]`
//!
//! The default file is the project's `tests/fixtures/ginjax_export.json`, written by
//! `scripts/export_ginjax.py`: a ConvContract → GroupNorm → VectorNeuronNonlinear →
//! ConvContract model with the input ginjax ran it on and ginjax's output after every layer.
//! The example runs the same input through ginrs and prints, per layer, the largest difference
//! from ginjax relative to the largest value ginjax produced.

use ginrs_runtime::io::ginjax_import::{multi_image_from_json, GinjaxModel};
use ginrs_runtime::MultiImage;

fn largest(image: &MultiImage) -> f32 {
    let values = image.blocks().iter().flat_map(|b| b.data());
    values.fold(0.0, |m, x| m.max(x.abs()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ginjax_export.json"
        )
        .to_string()
    });
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let model = GinjaxModel::from_json(&text)?;
    let file: serde_json::Value = serde_json::from_str(&text)?;
    let input = multi_image_from_json(&file["input"])?;
    println!("loaded {} layers from {path}", model.layers().len());
    println!("input signature {}", input.signature());

    let outputs = model.forward_each(&input)?;
    let recorded = file["outputs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for (i, ((name, _), output)) in model.layers().iter().zip(&outputs).enumerate() {
        print!("layer {i} `{name}`: output {}", output.signature());
        match recorded.get(i).map(multi_image_from_json) {
            Some(Ok(want)) => {
                let mut worst = 0.0f32;
                for (g, w) in output.blocks().iter().zip(want.blocks()) {
                    for (a, b) in g.data().iter().zip(w.data()) {
                        worst = worst.max((a - b).abs());
                    }
                }
                println!(
                    ", max |ginrs − ginjax| = {worst:.2e} ({:.2e} of the largest value)",
                    worst / largest(&want).max(f32::MIN_POSITIVE)
                );
            }
            _ => println!(" (no ginjax output recorded)"),
        }
    }
    Ok(())
}
