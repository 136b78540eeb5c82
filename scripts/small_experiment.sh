#!/usr/bin/env bash
# The README's small experiment: simulate 2-D decaying turbulence, then `ginrs sweep` trains an
# equivariant ResNet and ginjax's non-equivariant baseline ResNet with three seeds each on the
# same data and budget (scripts/small_experiment.toml), evaluates every run on the test set,
# on the test set rotated/reflected by every element of B_2, and beside the persistence
# baseline, and prints the table of means ± standard deviations over the seeds. One run is
# exported and its rollout repeated on the runtime's inference path (timed, and checked
# against burn's dense route).
#
# Usage: scripts/small_experiment.sh [OUT_DIR] [--readme]   (default OUT_DIR: experiment/)
# With --readme, the README's block between the `small-experiment` markers is replaced by
# this run's results: the table in the README is this script's output, never edited by hand.
# GINRS names an already built binary (default: build target/release/ginrs); TRAIN_DEVICE
# a burn device (`--device` of a GPU build).
set -euo pipefail
cd "$(dirname "$0")/.."

out=experiment
readme=false
for arg in "$@"; do
    case "$arg" in
        --readme) readme=true ;;
        *) out="$arg" ;;
    esac
done
ginrs="${GINRS:-target/release/ginrs}"
[ -n "${GINRS:-}" ] || cargo build --release -p ginrs-train --bin ginrs
mkdir -p "$out"
log="$out/experiment.log"
: >"$log"

step() { # name, command...: runs it, logs its wall time
    local name=$1 start=$SECONDS
    shift
    "$@"
    echo "$name: $((SECONDS - start)) s" | tee -a "$log"
}

start=$SECONDS
step simulate "$ginrs" simulate --out "$out/data" --n 48 --trajectories 16 --frames 40 --seed 0 --quiet
sweep="$out/sweep.toml"
{
    echo "dataset = \"$out/data\""
    echo "out = \"$out/runs\""
    cat scripts/small_experiment.toml
} >"$sweep"
step "sweep (train + eval, 2 models × 3 seeds)" \
    "$ginrs" sweep --config "$sweep" --quiet ${TRAIN_DEVICE:+--device "$TRAIN_DEVICE"} >/dev/null
one="$out/runs/equivariant/seed-0"
"$ginrs" export --run-dir "$one" --out "$one/model.json" >/dev/null
step "eval with the runtime rollout (equivariant, seed 0)" \
    "$ginrs" eval --run-dir "$one" --rollout-steps 10 --quiet --runtime "$one/model.json" \
    >"$out/runtime.txt"
total=$((SECONDS - start))

results="$out/results.md"
{
    echo "Measured $(date -u +%Y-%m-%d) by \`scripts/small_experiment.sh\` on $(nproc) cores" \
        "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))," \
        "in $total s (simulate, 6 trainings and evaluations, the runtime check):"
    echo
    cat "$out/runs/summary.md"
    echo
    echo "Wall time of each step:"
    echo
    sed 's/^/- /' "$log"
    echo
    echo "The equivariant model of seed 0 on the runtime's inference path (\`ginrs eval --runtime\`):"
    echo
    echo '```text'
    grep -E '^rollout of' "$out/runtime.txt"
    echo '```'
} >"$results"
cat "$results"

if $readme; then
    python3 scripts/readme_block.py small-experiment "$results"
fi
