//! A two-layer equivariant network, declared with `#[equivariant_layer]`, applied to a rotating
//! flow, with its equivariance error for every element of B_2.
//!
//! `cargo run -p ginrs-runtime --example rotating_flow`

use ginrs_runtime::check::equivariance::{check_layer, Elements};
use ginrs_runtime::{
    equivariant_layer, Geometry, ImageBlock, Layer, MultiImage, TensorKey, TypedLayer,
};

/// Velocity field in, scalar and vector features out.
#[equivariant_layer(dim = 2, filter_size = 3, input = [vector: 1],
                    output = [scalar: 4, vector: 4])]
pub struct Encode;

/// Features in, one vector field and one scalar field out.
#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 4, vector: 4],
                    output = [scalar: 1, vector: 1])]
pub struct Decode;

/// A flow rotating counter-clockwise about the image centre, with speed falling off outside
/// radius `side / 4`; axis 0 runs down the rows, axis 1 to the right.
fn rotating_flow(side: usize) -> MultiImage {
    let geometry = Geometry::square(2, side, true).expect("valid geometry");
    let centre = (side as f32 - 1.0) / 2.0;
    let radius = side as f32 / 4.0;
    let mut data = Vec::with_capacity(side * side * 2);
    for row in 0..side {
        for col in 0..side {
            let (y, x) = (row as f32 - centre, col as f32 - centre);
            let r = (x * x + y * y).sqrt();
            let speed = if r <= radius { 1.0 } else { radius / r };
            let scale = speed / r.max(1e-6);
            // Counter-clockwise on screen: (down, right) = (−x, y)·scale.
            data.extend_from_slice(&[-x * scale, y * scale]);
        }
    }
    let block = ImageBlock::new(geometry.clone(), TensorKey::vector(), 1, data).expect("shape");
    MultiImage::from_blocks(geometry, vec![block]).expect("one block")
}

fn main() -> Result<(), ginrs_runtime::Error> {
    let network = Encode::new(1).then(Decode::new(2));
    let flow = rotating_flow(32);
    let output = network.forward(&flow)?;
    println!("input  {}", flow.signature());
    println!("output {}", output.signature());
    println!(
        "flops per output pixel: layer 1 {} stencil + {} GEMM (dense {}), layer 2 {} + {} (dense {})",
        Encode::STENCIL_FLOPS_PER_PIXEL,
        Encode::GEMM_MULADDS_PER_PIXEL,
        Encode::DENSE_MULADDS_PER_PIXEL,
        Decode::STENCIL_FLOPS_PER_PIXEL,
        Decode::GEMM_MULADDS_PER_PIXEL,
        Decode::DENSE_MULADDS_PER_PIXEL,
    );
    let report = check_layer(&network, &flow, &Elements::All)?;
    println!("equivariance error |f(g·x) − g·f(x)| for every element g of B_2:");
    for element in &report.per_element {
        println!(
            "  g = {:<20} max error {:.2e}",
            format!("{:?}", element.element),
            element.max_abs_error
        );
    }
    println!(
        "largest error {:.2e}, {:.2e} of the output's largest value",
        report.max_abs_error, report.relative_error
    );
    assert!(report.holds(1e-5), "the network must be equivariant");
    Ok(())
}
