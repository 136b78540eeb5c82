//! Training-step timings of ginrs-train on burn's flex (CPU) device.
//!
//! Run with `cargo bench -p ginrs-train --bench train` (release build, no criterion). Prints one
//! line per case and [`Route`] (`dense`: burn's ops, differentiated by burn; `fused`: the
//! runtime's kernels for every ConvContract, norm and nonlinearity, with their own backward
//! passes):
//! `case=<name> path=<dense|fused> median_ms=<x> gflop=<f> gflops=<r> peak_mib=<y>`:
//! `median_ms` is the median wall time of one training step ([`Trainer::fit_batch`]: forward
//! pass, SMSE loss, backward pass, Adam update), `gflop` the useful work of the measured phase
//! on the whole batch — a forward pass counted as the runtime's `Model::useful_flops` (every
//! convolution's stencil flops plus 2 × its mix's multiply-adds), a backward pass as twice
//! that (the input and the weight gradients), so a step or the backward phase as 3 forward
//! passes — and `gflops` that work per second of `median_ms`; `peak_mib` the peak resident memory (Linux `VmHWM` from `/proc/self/status`)
//! of a process that built that one case and ran its steps: every (case, route) runs in a
//! child process of its own (this binary, re-run with `GINRS_TRAIN_BENCH_CHILD=<case>:<route>`),
//! so one measurement's allocations do not raise another's peak.
//!
//! The model cases are those of ginjax's training benchmark (same names, models, widths, batch
//! and image side; the runtime's model bench has the same table): ginjax's `UNet`, `ResNet` and
//! `DilResNet` ([`Model`], every ConvContract, norm and nonlinearity on the measured route
//! through [`Model::with_route`]) from one scalar and one vector channel to the same, torus images,
//! side-3 filters of orders 0..=2 (side 2 for UNet's upsampling), ginjax's defaults otherwise,
//! Adam with learning rate 1e-3. One more case is a plain stack of three ConvContract layers.
//! Inputs, targets and initial weights are random; filter banks are the generator's
//! ginjax-convention banks.
//!
//! Optional arguments: a case-name filter, then a route (`dense` or `fused`), e.g.
//! `cargo bench -p ginrs-train --bench train -- unet fused`; and `--phase forward` (the
//! forward pass alone, on burn's plain flex device: no autodiff graph) or `--phase backward`
//! (forward, loss and backward pass on the autodiff device, no optimizer update), which add
//! `phase=<phase>` to the lines: where a step's time goes.

#[path = "../../runtime/benches/cases/mod.rs"]
mod cases;

use std::process::Command;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::Device;
use ginrs_runtime::{
    ConvContract as RuntimeConvContract, ConvContractConfig, DenseBank, Geometry, ImageBlock,
    Model as RuntimeModel, MultiImage, Signature, TensorKey,
};
use ginrs_train::{
    ConvContract, ImageModule, Loss, Model, Optimizer, Reduce, Route, TensorImage, TrainError,
    Trainer,
};
use rand::{Rng, SeedableRng};

use cases::{scalar_and_vector, ModelCase, MODEL_CASES as MODELS};

/// The allocator of the `ginrs` binary, which a training program should use too: glibc's
/// malloc returns freed megabyte-sized tensors to the kernel and pays a page fault per 4 KiB
/// on their next use; mimalloc keeps them for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The environment variable that makes this binary measure one (case, route, phase) and exit.
const CHILD: &str = "GINRS_TRAIN_BENCH_CHILD";

/// The part of a training step that is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The forward pass alone, on burn's plain flex device (no autodiff graph).
    Forward,
    /// Forward pass, loss and backward pass.
    Backward,
    /// The whole step: forward, loss, backward, Adam update.
    Step,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Backward => "backward",
            Self::Step => "step",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Forward, Self::Backward, Self::Step]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// One phase of a case's training step, ready to run repeatedly.
type Run = Box<dyn FnMut() -> Result<(), TrainError>>;

/// The name of the ConvContract stack case.
const STACK: &str = "stack3_d2_n64_m3_b8_s8v8";

impl ModelCase {
    /// The case's model on `route`, a random input and target batch, and `phase` of a
    /// training step on them.
    fn build(&self, route: Route, phase: Phase, device: &Device) -> Result<Run, TrainError> {
        let model = Model::new(&self.config(), device, 1)?.with_route(route);
        let geometry = Geometry::square(self.dim, self.side, true)?;
        let input = random_batch(&scalar_and_vector(), &geometry, self.batch, 2, device)?;
        let target = random_batch(&scalar_and_vector(), &geometry, self.batch, 3, device)?;
        Ok(phase_of(model, input, target, phase))
    }
}

/// A stack of ConvContract layers applied in order.
#[derive(Module, Debug)]
struct Stack {
    layers: Vec<ConvContract>,
}

impl ImageModule for Stack {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.layers
            .iter()
            .try_fold(input.clone(), |x, layer| layer.forward(&x))
    }
}

/// Three ConvContract layers, 8 scalar and 8 vector channels in and out of each (d = 2,
/// M = 3, filter orders up to 2, torus padding, ginjax's default bias), on a batch of 8
/// images of 64 × 64.
fn conv_stack(route: Route, phase: Phase, device: &Device) -> Result<Run, TrainError> {
    let signature = Signature::new(vec![(TensorKey::new(0, 0), 8), (TensorKey::new(1, 0), 8)])?;
    let geometry = Geometry::square(2, 64, true)?;
    let layers = (0..3)
        .map(|seed| {
            let config = ConvContractConfig::new(signature.clone(), signature.clone());
            Ok(ConvContract::invariant(config, 2, 3, seed, device)?.with_route(route))
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    let input = random_batch(&signature, &geometry, 8, 1, device)?;
    let target = random_batch(&signature, &geometry, 8, 2, device)?;
    Ok(phase_of(Stack { layers }, input, target, phase))
}

/// `phase` of an SMSE training step of `module` (Adam, learning rate 1e-3) on `input` and
/// `target`.
fn phase_of<M: ImageModule + 'static>(
    module: M,
    input: TensorImage,
    target: TensorImage,
    phase: Phase,
) -> Run {
    let mut trainer = Trainer::new(module, Optimizer::adam(), 1e-3);
    Box::new(move || {
        match phase {
            Phase::Forward => {
                std::hint::black_box(trainer.module().forward_image(&input)?);
            }
            Phase::Backward => {
                let prediction = trainer.module().forward_image(&input)?;
                let loss = Loss::Smse.compute(&prediction, &target, Reduce::Mean)?;
                std::hint::black_box(loss.backward());
            }
            Phase::Step => {
                std::hint::black_box(trainer.fit_batch(&input, &target, Loss::Smse)?);
            }
        }
        Ok(())
    })
}

/// Random torus images of `signature`, `batch` of them, on `device`.
fn random_batch(
    signature: &Signature,
    geometry: &Geometry,
    batch: usize,
    seed: u64,
    device: &Device,
) -> Result<TensorImage, TrainError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let images = (0..batch)
        .map(|_| {
            let mut image = MultiImage::new(geometry.clone());
            for (key, c) in signature.entries() {
                let len = c * geometry.pixels() * key.components(geometry.dim());
                let data = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
                image.insert(ImageBlock::new(geometry.clone(), key.clone(), *c, data)?)?;
            }
            Ok(image)
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    TensorImage::from_multi_images(&images, device)
}

/// Every case name, in the order they run.
fn case_names() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(|c| c.name).chain([STACK])
}

/// `phase` of the training step of the case `name` on `route`.
fn build(name: &str, route: Route, phase: Phase, device: &Device) -> Result<Run, TrainError> {
    if name == STACK {
        return conv_stack(route, phase, device);
    }
    let case = MODELS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    case.build(route, phase, device)
}

/// The useful flops of one forward pass of case `name` over its whole batch, counted by the
/// runtime (`None` where a kernel does not report them).
fn forward_flops(name: &str) -> Option<f64> {
    if name == STACK {
        let signature =
            Signature::new(vec![(TensorKey::new(0, 0), 8), (TensorKey::new(1, 0), 8)]).ok()?;
        let bank = DenseBank::for_signatures(2, 3, &signature, &signature).ok()?;
        let layer = RuntimeConvContract::from_bank(
            ConvContractConfig::new(signature.clone(), signature),
            &bank,
            0,
        )
        .ok()?;
        let count = layer.flops_per_output_pixel();
        let per_pixel = (count.stencil_flops? + 2 * count.gemm_muladds) as f64;
        return Some(3.0 * per_pixel * (64.0 * 64.0) * 8.0);
    }
    let case = MODELS.iter().find(|c| c.name == name)?;
    let model = RuntimeModel::new(&case.config(), 1).ok()?;
    // The work does not depend on the values.
    let geometry = Geometry::square(case.dim, case.side, true).ok()?;
    let image = MultiImage::zeros(geometry, &scalar_and_vector());
    Some(model.useful_flops(&image).ok()?? * case.batch as f64)
}

/// Median wall time of `run` (after two warm-up calls): at least 5 and at most 21 runs, about
/// 10 s per measurement.
fn median_secs(mut run: impl FnMut()) -> f64 {
    run();
    run();
    let mut times = Vec::new();
    let budget = Duration::from_secs(10);
    let start = Instant::now();
    while times.len() < 5 || (times.len() < 21 && start.elapsed() < budget) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// This process's peak resident memory in MiB (`VmHWM`), if the system reports it.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn route_name(route: Route) -> &'static str {
    match route {
        Route::Dense => "dense",
        Route::Fused => "fused",
        Route::Auto => "auto",
    }
}

/// Measures one `<case>:<route>:<phase>` in this process and prints its line.
fn child(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    let [name, path, phase] = parts[..] else {
        panic!("{CHILD} must be <case>:<route>:<phase>, got {spec}")
    };
    let route = match path {
        "dense" => Route::Dense,
        "fused" => Route::Fused,
        other => panic!("no route {other}"),
    };
    let phase = Phase::from_name(phase).unwrap_or_else(|| panic!("no phase {phase}"));
    // A forward pass alone runs on the plain device: on the autodiff device the graph of a
    // pass that is never differentiated is kept, and memory grows with every run.
    let device = match phase {
        Phase::Forward => Device::flex(),
        Phase::Backward | Phase::Step => Device::flex().autodiff(),
    };
    let mut run = build(name, route, phase, &device).expect("the case builds");
    let median = median_secs(|| run().expect("the training step succeeds"));
    let passes = match phase {
        Phase::Forward => 1.0,
        Phase::Backward | Phase::Step => 3.0,
    };
    let (gflop, gflops) = forward_flops(name).map_or(("n/a".into(), "n/a".into()), |f| {
        let f = f * passes;
        (
            format!("{:.3}", f / 1e9),
            format!("{:.1}", f / median / 1e9),
        )
    });
    let peak = peak_mib().map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}"));
    let phase = match phase {
        Phase::Step => String::new(),
        other => format!(" phase={}", other.name()),
    };
    println!(
        "case={name} path={path} median_ms={:.3} gflop={gflop} gflops={gflops} peak_mib={peak}{phase}",
        median * 1e3
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut phase = Phase::Step;
    while let Some(arg) = args.next() {
        if arg == "--phase" {
            let name = args
                .next()
                .expect("--phase needs forward, backward or step");
            phase = Phase::from_name(&name).unwrap_or_else(|| panic!("no phase {name}"));
        } else if !arg.starts_with('-') {
            positional.push(arg);
        }
    }
    let (filter_arg, path_arg) = (positional.first(), positional.get(1));
    let exe = std::env::current_exe().expect("the bench binary knows its path");
    for name in case_names() {
        if filter_arg.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for route in [Route::Dense, Route::Fused] {
            let path = route_name(route);
            if path_arg.is_some_and(|p| p != path) {
                continue;
            }
            let output = Command::new(&exe)
                .env(CHILD, format!("{name}:{path}:{}", phase.name()))
                .output()
                .expect("the bench binary runs as a child");
            print!("{}", String::from_utf8_lossy(&output.stdout));
            if !output.status.success() {
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
                panic!("case {name} path {path} failed");
            }
        }
    }
}
