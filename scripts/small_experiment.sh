#!/usr/bin/env bash
# The README's small experiment: simulate 2-D decaying turbulence, train an equivariant ResNet
# and ginjax's non-equivariant baseline on the same data with the same budget, evaluate both
# on the test set and on the test set rotated/reflected by every element of B_2, export the
# equivariant model to the runtime, and print the comparison table.
#
# Usage: scripts/small_experiment.sh [OUT_DIR]   (default: experiment/)
# Extra `ginrs train` flags for both runs can be given in TRAIN_FLAGS, e.g.
# TRAIN_FLAGS="--device wgpu" after building with `--features wgpu`.
set -euo pipefail

out="${1:-experiment}"
cargo build --release -p ginrs-train --bin ginrs
ginrs=target/release/ginrs
# The shared training budget and model size.
common=(--past-steps 2 --epochs 12 --batch-size 8 --lr 3e-3 --patience 4
        --kind resnet --depth 8 --num-blocks 2 --seed 0)

time_of() { local start=$SECONDS; "$@"; echo "  ($((SECONDS - start)) s)"; }

time_of "$ginrs" simulate --out "$out/data" --n 48 --trajectories 16 --frames 40
for run in equivariant baseline; do
    equivariant=true
    [ "$run" = baseline ] && equivariant=false
    # shellcheck disable=SC2086 # TRAIN_FLAGS is a list of flags.
    time_of "$ginrs" train --data "$out/data" --run-dir "$out/runs/$run" \
        --equivariant "$equivariant" "${common[@]}" ${TRAIN_FLAGS:-}
    "$ginrs" export --run-dir "$out/runs/$run" --out "$out/runs/$run/model.json"
    time_of "$ginrs" eval --run-dir "$out/runs/$run" --rollout-steps 10 \
        --runtime "$out/runs/$run/model.json"
done
"$ginrs" compare "$out/runs/equivariant" "$out/runs/baseline" | tee "$out/results.md"
