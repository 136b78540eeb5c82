//! Training-step timings of ginrs-train on burn's flex (CPU) device.
//!
//! Run with `cargo bench -p ginrs-train --bench train` (release build, no criterion). Prints one
//! line per case and ConvContract route:
//! `case=<name> path=<dense|fused> median_ms=<x> peak_mib=<y>`: `median_ms` is the median wall
//! time of one training step ([`Trainer::fit_batch`]: forward pass, SMSE loss, backward pass,
//! Adam update), `peak_mib` the peak resident memory (Linux `VmHWM` from `/proc/self/status`)
//! of a process that built that one case and ran its steps: every (case, route) runs in a
//! child process of its own (this binary, re-run with `GINRS_TRAIN_BENCH_CHILD=<case>:<route>`),
//! so one measurement's allocations do not raise another's peak.
//!
//! Inputs, targets and initial weights are random; filter banks are the generator's
//! ginjax-convention banks. Every case is an entry of [`CASES`]: a name and a function that
//! builds the trainer and its batch for a [`ConvRoute`] (a model is added as one more entry).
//!
//! Optional arguments: a case-name filter, then a route (`dense` or `fused`), e.g.
//! `cargo bench -p ginrs-train --bench train -- stack fused`.

use std::process::Command;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::Device;
use ginrs_runtime::{ConvContractConfig, Geometry, ImageBlock, MultiImage, Signature, TensorKey};
use ginrs_train::{
    ConvContract, ConvRoute, ImageModule, Loss, Optimizer, TensorImage, TrainError, Trainer,
};
use rand::{Rng, SeedableRng};

/// The environment variable that makes this binary measure one (case, route) and exit.
const CHILD: &str = "GINRS_TRAIN_BENCH_CHILD";

/// One training step of a case, ready to run repeatedly; returns the loss.
type Step = Box<dyn FnMut() -> Result<f64, TrainError>>;

/// One benchmark case: its name and how to build its training step for a route.
struct Case {
    name: &'static str,
    build: fn(ConvRoute, &Device) -> Result<Step, TrainError>,
}

const CASES: &[Case] = &[Case {
    name: "stack3_d2_n64_m3_b8_s8v8",
    build: conv_stack,
}];

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

/// Three ConvContract layers, 8 scalar and 8 vector channels in and out of each (d = 2,
/// M = 3, filter orders up to 2, torus padding, ginjax's default bias), on a batch of 8
/// images of 64 × 64.
fn conv_stack(route: ConvRoute, device: &Device) -> Result<Step, TrainError> {
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
    let mut trainer = Trainer::new(Stack { layers }, Optimizer::adam(), 1e-3);
    Ok(Box::new(move || {
        trainer.fit_batch(&input, &target, Loss::Smse)
    }))
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

fn route_name(route: ConvRoute) -> &'static str {
    match route {
        ConvRoute::Dense => "dense",
        ConvRoute::Fused => "fused",
        ConvRoute::Auto => "auto",
    }
}

/// Measures one (case, route) in this process and prints its line.
fn child(spec: &str) {
    let (name, path) = spec
        .split_once(':')
        .unwrap_or_else(|| panic!("{CHILD} must be <case>:<route>, got {spec}"));
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let route = match path {
        "dense" => ConvRoute::Dense,
        "fused" => ConvRoute::Fused,
        other => panic!("no route {other}"),
    };
    let device = Device::flex().autodiff();
    let mut step = (case.build)(route, &device).expect("the case builds");
    let median = median_secs(|| {
        let loss = step().expect("the training step succeeds");
        std::hint::black_box(loss);
    });
    let peak = peak_mib().map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}"));
    println!(
        "case={name} path={path} median_ms={:.3} peak_mib={peak}",
        median * 1e3
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let filter_arg = args.next();
    let path_arg = args.next();
    let exe = std::env::current_exe().expect("the bench binary knows its path");
    for case in CASES {
        if filter_arg
            .as_deref()
            .is_some_and(|f| !case.name.contains(f))
        {
            continue;
        }
        for route in [ConvRoute::Dense, ConvRoute::Fused] {
            let path = route_name(route);
            if path_arg.as_deref().is_some_and(|p| p != path) {
                continue;
            }
            let output = Command::new(&exe)
                .env(CHILD, format!("{}:{path}", case.name))
                .output()
                .expect("the bench binary runs as a child");
            print!("{}", String::from_utf8_lossy(&output.stdout));
            if !output.status.success() {
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
                panic!("case {} path {path} failed", case.name);
            }
        }
    }
}
