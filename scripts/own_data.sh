#!/usr/bin/env bash
# The README's "Your own data" example: `ginrs sweep` trains an equivariant ResNet and
# ginjax's non-equivariant baseline ResNet with three seeds each (scripts/own_data_3d.toml)
# on the committed 3-D file of The Well's format with a rank-2 field, evaluates every run on
# its test trajectory, under all 48 elements of B_3 and beside persistence, and prints the
# table of means ± standard deviations over the seeds.
#
# Usage: scripts/own_data.sh [OUT_DIR] [--readme]   (default OUT_DIR: experiment/own-data)
# With --readme, the README's block between the `own-data` markers is replaced by this run's
# results. GINRS names an already built binary (default: build target/release/ginrs).
set -euo pipefail
cd "$(dirname "$0")/.."

out=experiment/own-data
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
data=train/tests/fixtures/data/well_3d_k2.hdf5
sweep="$out/sweep.toml"
{
    echo "dataset = \"$data\""
    echo "out = \"$out/runs\""
    cat scripts/own_data_3d.toml
} >"$sweep"
start=$SECONDS
"$ginrs" sweep --config "$sweep" --quiet >/dev/null
total=$((SECONDS - start))

results="$out/results.md"
{
    echo "Measured $(date -u +%Y-%m-%d) by \`scripts/own_data.sh\` on $(nproc) cores" \
        "with \`$ginrs\`, in $total s (6 trainings of 20 epochs and their evaluations):"
    echo
    cat "$out/runs/summary.md"
} >"$results"
cat "$results"
if $readme; then
    python3 scripts/readme_block.py own-data "$results"
fi
