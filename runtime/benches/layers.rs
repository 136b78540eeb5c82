//! Forward-pass timings of ConvContract on the four standard cases.
//!
//! Run with `cargo bench -p ginrs-runtime --bench layers` (release build, no criterion). Prints
//! one line per case and path:
//! `case=<name> path=<dynamic|generated> median_ms=<x> reuse_ms=<y> dense_gflops=<…> reuse_dense_gflops=<…>`:
//! `median_ms` times `forward_batch` (fresh output buffers every call, as ginjax returns new
//! arrays), `reuse_ms` times `forward_batch_into` with the previous call's outputs (a steady
//! inference loop: no allocation, no first touch of fresh pages); `dense_gflops` is the
//! dense-equivalent flop count (ginjax's route, `2 · c_out · c_in · M^d · d^(k_in + k_out)` per
//! output pixel and pair) divided by the time.
//! Inputs and weights are random; padding is the torus (inferred from torus images); bias off;
//! filter banks are the generator's ginjax-convention banks.
//!
//! Optional arguments: a case-name filter, then a path (`dynamic` or `generated`), e.g.
//! `cargo bench -p ginrs-runtime --bench layers -- n128 generated`.
//!
//! A generated layer is timed by calling [`run_case`] with `path = "generated"` on the same
//! inputs ([`Case::inputs`]).

mod random;

use std::time::{Duration, Instant};

use ginrs_generator::BankOptions;
use ginrs_runtime::io::weights::LayerWeights;
use ginrs_runtime::{
    equivariant_layer, BiasMode, ConvContract, ConvContractConfig, DenseBank, Layer, MultiImage,
    Signature, TensorKey,
};

/// One standard benchmark case.
struct Case {
    name: &'static str,
    dim: usize,
    side: usize,
    filter: usize,
    batch: usize,
    /// `(k, channels)` per block, parity 0, same signature in and out.
    blocks: &'static [(usize, usize)],
}

const CASES: &[Case] = &[
    Case {
        name: "d2_n64_m3_b8_s8v8",
        dim: 2,
        side: 64,
        filter: 3,
        batch: 8,
        blocks: &[(0, 8), (1, 8)],
    },
    Case {
        name: "d2_n128_m3_b4_s16v16",
        dim: 2,
        side: 128,
        filter: 3,
        batch: 4,
        blocks: &[(0, 16), (1, 16)],
    },
    Case {
        name: "d2_n64_m5_b8_v8",
        dim: 2,
        side: 64,
        filter: 5,
        batch: 8,
        blocks: &[(1, 8)],
    },
    Case {
        name: "d3_n16_m3_b4_s4v4",
        dim: 3,
        side: 16,
        filter: 3,
        batch: 4,
        blocks: &[(0, 4), (1, 4)],
    },
];

impl Case {
    fn signature(&self) -> Signature {
        Signature::new(
            self.blocks
                .iter()
                .map(|&(k, c)| (TensorKey::new(k, 0), c))
                .collect(),
        )
        .expect("distinct keys")
    }

    /// Random torus inputs, one multi-image per batch entry.
    fn inputs(&self, seed: u64) -> Vec<MultiImage> {
        random::torus_images(&self.signature(), self.dim, self.side, self.batch, seed)
    }
}

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                    output = [scalar: 8, vector: 8], bias = none)]
struct D2N64M3S8V8;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 16, vector: 16],
                    output = [scalar: 16, vector: 16], bias = none)]
struct D2N128M3S16V16;

#[equivariant_layer(dim = 2, filter_size = 5, input = [vector: 8], output = [vector: 8],
                    bias = none)]
struct D2N64M5V8;

#[equivariant_layer(dim = 3, filter_size = 3, input = [scalar: 4, vector: 4],
                    output = [scalar: 4, vector: 4], bias = none)]
struct D3N16M3S4V4;

/// The generated layer of a case, with the dynamic layer's weights.
fn generated(name: &str, weights: &LayerWeights) -> Box<dyn Layer> {
    let layer: Box<dyn Layer> = match name {
        "d2_n64_m3_b8_s8v8" => Box::new(D2N64M3S8V8::from_weights(weights).expect("same shapes")),
        "d2_n128_m3_b4_s16v16" => {
            Box::new(D2N128M3S16V16::from_weights(weights).expect("same shapes"))
        }
        "d2_n64_m5_b8_v8" => Box::new(D2N64M5V8::from_weights(weights).expect("same shapes")),
        "d3_n16_m3_b4_s4v4" => Box::new(D3N16M3S4V4::from_weights(weights).expect("same shapes")),
        other => panic!("no generated layer for case {other}"),
    };
    layer
}

/// The generator's ginjax-convention bank for d, M with k = 0..=2, both parities.
fn bank(dim: usize, side: usize) -> DenseBank {
    DenseBank::invariant(dim, side, &[0, 1, 2], &BankOptions::default())
        .expect("the generator builds these banks")
}

/// Median wall time of `run` (after two warm-up calls): at least 7 and at most 41 runs, about
/// 3 s per measurement.
fn median_secs(mut run: impl FnMut()) -> f64 {
    run();
    run();
    let mut times = Vec::new();
    let budget = Duration::from_secs(3);
    let start = Instant::now();
    while times.len() < 7 || (times.len() < 41 && start.elapsed() < budget) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Times `layer` on `inputs` (one batch per iteration), allocating the outputs every call
/// (`forward_batch`) and reusing them (`forward_batch_into`), and prints the case line.
fn run_case(name: &str, path: &str, layer: &dyn Layer, inputs: &[MultiImage], dense_flops: f64) {
    let alloc = median_secs(|| {
        let out = layer.forward_batch(inputs).expect("forward succeeds");
        std::hint::black_box(out);
    });
    let mut outputs = Vec::new();
    let reuse = median_secs(|| {
        layer
            .forward_batch_into(inputs, &mut outputs)
            .expect("forward succeeds");
        std::hint::black_box(&outputs);
    });
    println!(
        "case={name} path={path} median_ms={:.3} reuse_ms={:.3} dense_gflops={:.2} reuse_dense_gflops={:.2}",
        alloc * 1e3,
        reuse * 1e3,
        dense_flops / alloc / 1e9,
        dense_flops / reuse / 1e9
    );
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let filter_arg = args.next();
    let path_arg = args.next();
    let runs = |path: &str| path_arg.as_deref().is_none_or(|p| p == path);
    for case in CASES {
        if let Some(f) = &filter_arg {
            if !case.name.contains(f.as_str()) {
                continue;
            }
        }
        let bank = bank(case.dim, case.filter);
        let config =
            ConvContractConfig::new(case.signature(), case.signature()).bias(BiasMode::None);
        let layer = ConvContract::from_bank(config, &bank, 1).expect("every mapping has filters");
        let inputs = case.inputs(2);
        let flops = layer.flops_per_output_pixel();
        let out_pixels = case.side.pow(case.dim as u32) * case.batch;
        let dense_flops = 2.0 * flops.dense_muladds as f64 * out_pixels as f64;
        if runs("dynamic") {
            run_case(case.name, "dynamic", &layer, &inputs, dense_flops);
        }
        let fast = generated(case.name, &layer.to_weights());
        assert_eq!(
            fast.forward(&inputs[0])
                .expect("forward succeeds")
                .signature(),
            layer
                .forward(&inputs[0])
                .expect("forward succeeds")
                .signature()
        );
        if runs("generated") {
            run_case(case.name, "generated", fast.as_ref(), &inputs, dense_flops);
        }
        eprintln!(
            "  {}: per output pixel: stencil {:?} flops + GEMM {} multiply-adds (dense {} multiply-adds)",
            case.name, flops.stencil_flops, flops.gemm_muladds, flops.dense_muladds
        );
    }
}
