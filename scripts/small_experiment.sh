#!/usr/bin/env bash
# The README's small experiment: simulate 2-D decaying turbulence, train an equivariant ResNet
# and ginjax's non-equivariant baseline on the same data with the same budget, evaluate both
# on the test set and on the test set rotated/reflected by every element of B_2, export the
# equivariant model to the runtime, and print the comparison table.
#
# Usage: scripts/small_experiment.sh [OUT_DIR]   (default: experiment/)
# Extra `ginrs train` flags for both runs can be given in TRAIN_FLAGS, e.g.
# TRAIN_FLAGS="--device wgpu" after building with `--features wgpu`; GINRS names an already
# built binary (default: build target/release/ginrs).
set -euo pipefail

out="${1:-experiment}"
ginrs="${GINRS:-target/release/ginrs}"
[ -n "${GINRS:-}" ] || cargo build --release -p ginrs-train --bin ginrs
# The shared training budget (same data, epochs, batches, optimiser and schedule).
# ResNet without its layer norms: ginjax's LayerNorm adds a learned bias to pseudoscalar
# channels (the vorticity), which is not odd under reflections.
common=(--past-steps 2 --epochs 8 --batch-size 8 --lr 3e-3 --kind resnet --num-blocks 2
        --use-group-norm false --seed 0)
# Channels per key: the baseline's scalars-only layers get twice the equivariant model's
# depth, which brings its parameter count near the equivariant model's.
depth_equivariant=8
depth_baseline=16

time_of() { local start=$SECONDS; "$@"; echo "  ($((SECONDS - start)) s)"; }

time_of "$ginrs" simulate --out "$out/data" --n 48 --trajectories 16 --frames 40 --quiet
for run in equivariant baseline; do
    equivariant=true depth=$depth_equivariant
    [ "$run" = baseline ] && equivariant=false depth=$depth_baseline
    # shellcheck disable=SC2086 # TRAIN_FLAGS is a list of flags.
    time_of "$ginrs" train --data "$out/data" --run-dir "$out/runs/$run" --quiet \
        --equivariant "$equivariant" --depth "$depth" "${common[@]}" ${TRAIN_FLAGS:-}
    "$ginrs" export --run-dir "$out/runs/$run" --out "$out/runs/$run/model.json"
    time_of "$ginrs" eval --run-dir "$out/runs/$run" --rollout-steps 10 --quiet \
        --runtime "$out/runs/$run/model.json"
done
"$ginrs" compare "$out/runs/equivariant" "$out/runs/baseline" | tee "$out/results.md"
echo "total: $SECONDS s"
