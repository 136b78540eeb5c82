//! Forward-pass timings of whole models (ginjax's UNet, ResNet, DilResNet) in the runtime.
//!
//! Run with `cargo bench -p ginrs-runtime --bench models` (release build, no criterion). The
//! cases are those of ginjax's model benchmark (same names, models, widths, batch and image
//! side): input and output one scalar and one vector channel, torus images, side-3 filters of
//! orders 0..=2 (side 2 for UNet's upsampling), ginjax's defaults otherwise, random weights
//! (the runtime's initialisation) and random inputs. Prints one line per case:
//! `case=<name> path=runtime median_ms=<x> cpu_ms=<c> params=<n> gflop=<f> gflops=<r>
//! peak_rss_mb=<y>`, where
//! `median_ms` is the median wall time of `forward_batch` on the whole batch, `cpu_ms` the mean
//! CPU time (all threads) of one such call — the work done, which the load of other processes
//! on a shared machine changes far less than the wall time — `params` ginjax's `count_params`
//! and `gflop` the useful work of one forward pass of the whole batch
//! ([`Model::useful_flops`]: every convolution's stencil flops plus 2 × its mix's
//! multiply-adds), `gflops` that work per second of `median_ms`, and `peak_rss_mb` the process's peak resident memory while the case was built and timed
//! (Linux `VmHWM`, reset per case through `/proc/self/clear_refs` after the runtime's buffer
//! pool is emptied).
//!
//! Optional argument: a case-name filter, e.g. `cargo bench -p ginrs-runtime --bench models --
//! unet`. With `--nodes`, also prints the median time of every layer on the input it gets in a
//! forward pass of the first batch item, slowest first (where the time goes).

use std::time::{Duration, Instant};

use ginrs_runtime::image::buffers;
use ginrs_runtime::models::BuiltLayer;
use ginrs_runtime::{Layer, Model, MultiImage};

mod cases;
mod random;

use cases::{scalar_and_vector, ModelCase as Case, MODEL_CASES as CASES};

impl Case {
    /// Random torus inputs, one multi-image per batch entry.
    fn inputs(&self, seed: u64) -> Vec<MultiImage> {
        random::torus_images(&scalar_and_vector(), self.dim, self.side, self.batch, seed)
    }
}

/// Median wall time of `run` (after two warm-up calls) and its mean CPU time (all threads,
/// `None` where the platform does not say): at least 7 and at most 41 runs, about 3 s per
/// measurement.
fn measure(mut run: impl FnMut()) -> (f64, Option<f64>) {
    run();
    run();
    let mut times = Vec::new();
    let budget = Duration::from_secs(3);
    let start = Instant::now();
    let cpu_start = cpu_secs();
    while times.len() < 7 || (times.len() < 41 && start.elapsed() < budget) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64());
    }
    let cpu = cpu_start
        .zip(cpu_secs())
        .map(|(a, b)| (b - a) / times.len() as f64);
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], cpu)
}

/// Resets the kernel's peak-RSS counter of this process (Linux; elsewhere a no-op).
fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (proc(5)).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set size since the last reset, in MiB (Linux `VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time of this process so far (user + system), in seconds (Linux; 10 ms ticks).
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th of them (proc(5), fields 14 and 15).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The kind of a built layer, for the `--nodes` profile.
fn layer_kind(layer: &BuiltLayer) -> &'static str {
    match layer {
        BuiltLayer::ConvContract(_) => "conv",
        BuiltLayer::BaselineConv(_) => "baseline-conv",
        BuiltLayer::LayerNorm(_) | BuiltLayer::BaselineNorm(_) => "norm",
        BuiltLayer::VectorNeuronNonlinear(_) => "nonlinear",
        BuiltLayer::Elementwise(_) => "activation",
        BuiltLayer::MaxNormPool(_) => "pool",
    }
}

/// Median time of each layer of `model` on the inputs it sees in a forward pass of `input`
/// (skip steps are not timed), slowest first.
fn profile(model: &Model, input: &MultiImage) {
    let mut rows: Vec<(f64, String)> = Vec::new();
    let inputs = model.layer_inputs(input).expect("forward succeeds");
    for ((path, layer), x) in model.layers().zip(&inputs) {
        let (t, _) = measure(|| {
            std::hint::black_box(layer.forward(x).expect("forward succeeds"));
        });
        rows.push((
            t,
            format!("{path} ({}){}", layer_kind(layer), conv_work(layer, x, t)),
        ));
    }
    let total: f64 = rows.iter().map(|r| r.0).sum();
    let mut kinds: Vec<(&str, f64)> = Vec::new();
    for ((_, layer), (t, _)) in model.layers().zip(&rows) {
        let kind = layer_kind(layer);
        match kinds.iter_mut().find(|k| k.0 == kind) {
            Some(k) => k.1 += t,
            None => kinds.push((kind, *t)),
        }
    }
    kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(kind, t)| format!("{kind} {:.1}%", 100.0 * t / total))
        .collect();
    eprintln!("    by kind: {}", kinds.join(", "));
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, name) in rows.iter().take(40) {
        eprintln!("    {:8.3} ms {:5.1}%  {name}", t * 1e3, 100.0 * t / total);
    }
    eprintln!("    {:8.3} ms in layers (one image)", total * 1e3);
}

/// A convolution's useful work on `x` and its rate in `seconds`: `  stencil=<MFLOP> mix=<MFLOP>
/// gflops=<rate>` (empty for other layers or unknown stencil counts).
fn conv_work(layer: &BuiltLayer, x: &MultiImage, seconds: f64) -> String {
    let conv = match layer {
        BuiltLayer::ConvContract(conv) => conv.conv(),
        BuiltLayer::BaselineConv(baseline) => baseline.conv(),
        _ => return String::new(),
    };
    let count = conv.flops_per_output_pixel();
    let Some(stencil) = count.stencil_flops else {
        return String::new();
    };
    let pixels = layer
        .forward(x)
        .expect("forward succeeds")
        .geometry()
        .pixels() as f64;
    let (stencil, mix) = (
        stencil as f64 * pixels,
        2.0 * count.gemm_muladds as f64 * pixels,
    );
    format!(
        "  stencil={:.2} mix={:.2} MFLOP gflops={:.1}",
        stencil / 1e6,
        mix / 1e6,
        (stencil + mix) / seconds / 1e9
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nodes = args.iter().any(|a| a == "--nodes");
    let filter = args.iter().find(|a| !a.starts_with('-'));
    for case in CASES {
        if filter.is_some_and(|f| !case.name.contains(f.as_str())) {
            continue;
        }
        buffers::release();
        reset_peak_rss();
        let model = Model::new(&case.config(), 1).expect("the benchmark configurations are valid");
        let inputs = case.inputs(2);
        let (wall, cpu) = measure(|| {
            std::hint::black_box(model.forward_batch(&inputs).expect("forward succeeds"));
        });
        let peak = peak_rss_mb().map_or("n/a".to_string(), |mb| format!("{mb:.1}"));
        let cpu = cpu.map_or("n/a".to_string(), |s| format!("{:.3}", s * 1e3));
        let flops = model
            .useful_flops(&inputs[0])
            .expect("forward succeeds")
            .map(|f| f * inputs.len() as f64);
        let (gflop, gflops) = flops.map_or(("n/a".into(), "n/a".into()), |f| {
            (format!("{:.3}", f / 1e9), format!("{:.1}", f / wall / 1e9))
        });
        println!(
            "case={} path=runtime median_ms={:.3} cpu_ms={cpu} params={} gflop={gflop} \
             gflops={gflops} peak_rss_mb={peak}",
            case.name,
            wall * 1e3,
            model.count_params()
        );
        if nodes {
            profile(&model, &inputs[0]);
        }
    }
}
