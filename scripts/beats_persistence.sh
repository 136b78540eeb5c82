#!/usr/bin/env bash
# Checks the README recipe on fresh data: simulates a dataset with the given seed (one the
# README experiment did not use), trains the recipe's models (scripts/small_experiment.toml,
# one training seed), evaluates them and fails unless every model's one-step l2_rel_error
# (ginjax's whole-field relative error) is below persistence's on the same test windows.
#
# Usage: scripts/beats_persistence.sh DATA_SEED [OUT_DIR]   (default OUT_DIR: /tmp/ginrs-check-SEED)
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${1:?usage: scripts/beats_persistence.sh DATA_SEED [OUT_DIR]}"
out="${2:-/tmp/ginrs-check-$seed}"
ginrs="${GINRS:-target/release/ginrs}"
[ -n "${GINRS:-}" ] || cargo build --release -p ginrs-train --bin ginrs
rm -rf "$out"
mkdir -p "$out"
"$ginrs" simulate --out "$out/data" --n 48 --trajectories 16 --frames 40 --seed "$seed" --quiet
{
    echo "dataset = \"$out/data\""
    echo "out = \"$out/runs\""
    sed 's/^seeds = .*/seeds = [0]/' scripts/small_experiment.toml
} >"$out/sweep.toml"
"$ginrs" sweep --config "$out/sweep.toml" --quiet
status=0
for metrics in "$out"/runs/*/seed-0/eval/metrics.json; do
    line=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
m, p = r["plain"]["one_step_l2_rel_error"], r["persistence"]["one_step_l2_rel_error"]
print(f"{m:.3f} {p:.3f} {int(m < p)}")' "$metrics")
    read -r model persistence ok <<<"$line"
    echo "$metrics: one-step l2_rel_error $model % against persistence's $persistence %"
    [ "$ok" = 1 ] || status=1
done
[ "$status" = 0 ] && echo "every model beats persistence on data seed $seed" \
    || echo "FAILED: a model does not beat persistence on data seed $seed"
exit "$status"
