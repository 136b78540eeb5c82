#!/usr/bin/env bash
# Data-parallel scaling of `ginrs train` on this machine, and the on-paper estimate for N GPUs.
#
# 1. Trains the same run (a UNet on simulated 32 × 32 turbulence, global batch 8) as one
#    process with 2 and with 1 compute thread, and as 2 MPI ranks (`mpirun -np 2`) of 1 thread
#    each; prints the median seconds per epoch (epochs 2..E), windows per second, and the bytes
#    each rank all-reduces per step (4 × (trainable values + 1): the f32 gradients and the loss).
# 2. For the README's GPU recipe (a UNet of depth 32 and the baseline of depth 64 on 128 × 128,
#    batch 16), prints the gradient per step, the all-reduce time of a ring all-reduce
#    (2 (N − 1) / N × gradient bytes per rank) at a stated bandwidth, and the compute per step
#    (3 × the forward's useful flops, the usual forward + backward estimate, × the batch).
#
# Usage: scripts/scaling.sh [OUT_DIR] [--readme]   (default OUT_DIR: experiment/scaling)
# Needs Open MPI (`mpirun`) and a binary built with `--features mpi`; GINRS names one
# (default: build target/release/ginrs). With --readme, the README's `scaling` block is
# replaced by this run's output.
set -euo pipefail
cd "$(dirname "$0")/.."

out=experiment/scaling
readme=false
for arg in "$@"; do
    case "$arg" in
        --readme) readme=true ;;
        *) out="$arg" ;;
    esac
done
ginrs="${GINRS:-target/release/ginrs}"
[ -n "${GINRS:-}" ] || cargo build --release -p ginrs-train --features mpi --bin ginrs
cargo build --release --quiet -p ginrs-train --example recipe_budget
epochs=${EPOCHS:-4}
rm -rf "$out"
mkdir -p "$out"
"$ginrs" simulate --out "$out/data" --n 32 --trajectories 10 --frames 10 --quiet >/dev/null

train() { # NAME RANKS THREADS
    local dir="$out/runs/$1"
    local args=(train --quiet --data "$out/data" --run-dir "$dir" --epochs "$epochs"
        --batch-size 8 --kind unet --depth 8 --seed 0)
    if [ "$2" = 1 ]; then
        RAYON_NUM_THREADS=$3 "$ginrs" "${args[@]}" >/dev/null
    else
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            OMPI_MCA_btl_vader_single_copy_mechanism=none \
            mpirun -np "$2" --oversubscribe -x RAYON_NUM_THREADS="$3" \
            "$ginrs" "${args[@]}" --mpi >/dev/null
    fi
}
train one_2threads 1 2
train one_1thread 1 1
train two_ranks 2 1

results="$out/results.md"
python3 - "$out" "$epochs" "$(nproc)" "$ginrs" >"$results" <<'PY'
import json, statistics, subprocess, sys, datetime
out, epochs, cores, ginrs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def run(name):
    state = json.load(open(f"{out}/runs/{name}/checkpoint/state.json"))
    hist = state["history"][1:]  # epoch 1 pays the first allocations
    return (statistics.median(h["seconds"] for h in hist),
            statistics.median(h["samples_per_second"] for h in hist),
            state["params"], state["history"][-1]["ranks"])
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
print(f"Measured {date} by `scripts/scaling.sh` on {cores} cores with `{ginrs}`: a UNet of depth 8 "
      f"on 32 × 32 turbulence (10 trajectories of 10 frames, 70 % for training; global batch 8), "
      f"medians of epochs 2..{epochs}:")
print()
print("| ranks × threads | s / epoch | windows / s | all-reduced per step and rank |")
print("|---|---:|---:|---:|")
for name, label in [("one_2threads", "1 × 2"), ("one_1thread", "1 × 1"), ("two_ranks", "2 × 1")]:
    seconds, rate, params, ranks = run(name)
    reduced = f"{4 * (params + 1) / 1e6:.2f} MB" if ranks > 1 else "—"
    print(f"| {label} | {seconds:.2f} | {rate:.1f} | {reduced} |")
print()
budget = subprocess.run(["target/release/examples/recipe_budget", "128"], check=True,
                        capture_output=True, text=True).stdout
models = [dict(kv.split("=") for kv in line.split()) for line in budget.splitlines()]
link = 25.0      # GB/s per link: 200 Gb/s InfiniBand HDR
sustained = 20.0  # TFLOP/s per GPU: about a third of an H100's FP32 peak (67 TFLOP/s)
batch = 16
print(f"The README's GPU recipe on N GPUs, on paper (global batch {batch} of 128 × 128 windows; "
      "`recipe_budget 128` gives the trainable values and the forward's useful flops; compute "
      f"per rank = 3 × forward flops × {batch} / N at {sustained:.0f} TFLOP/s sustained; a ring "
      f"all-reduce sends 2 (N − 1) / N × the gradient per rank at {link:.0f} GB/s, "
      "200 Gb/s InfiniBand):")
print()
print("| model | trainable values | gradient per step | N | compute per rank | all-reduce | all-reduce / compute |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in models:
    grad = float(m["gradient_bytes"])
    flop = 3 * float(m["forward_gflop_per_window"]) * 1e9 * batch
    for n in (1, 2, 4, 8, 16):
        compute = flop / n / (sustained * 1e12) * 1e3
        ring = 2 * (n - 1) / n * grad / (link * 1e9) * 1e3
        print(f"| {m['model']} | {int(m['params']):,} | {grad / 1e6:.2f} MB | {n} | "
              f"{compute:.2f} ms | {ring:.3f} ms | {ring / compute:.3f} |")
PY
cat "$results"
if $readme; then
    python3 scripts/readme_block.py scaling "$results"
fi
