#!/usr/bin/env python3
"""Side-by-side speed of ginrs, ginjax and a PyTorch skeleton on ginjax's four model cases, and
the roofline fraction of each: the README's two model speed tables.

Usage: scripts/speed.py [--sessions N] [--readme] [--bench-dir DIR] [--out DIR]
  (run from the repository root, on an idle machine)

Each session runs, one after the other on the same machine:
  1. `cargo bench -p ginrs-runtime --bench peak`: the machine's multiply-add peak (GFLOP/s) on
     all its cores;
  2. inference: ginrs's model bench (`--bench models`), ginjax's jitted forward
     (`bench_ginjax_train.py --mode forward`), the torch skeleton's forward
     (`bench_torch_models.py --mode forward`), ginrs's model bench again;
  3. training steps: ginrs's fused step (`--bench train -- _w fused`), ginjax's step
     (`--mode train`), the torch skeleton's step (`--mode train`), ginrs's fused step again.
ginrs's number per session is the median of its two runs there. The tables give each session's
value as `session 1 / session 2 / ...`, the ratios per session, the useful work (`gflop=` of
the benches: stencil flops plus 2 × the multiply-adds of mixes and GEMMs; a step counts three
forward passes) per second and its fraction of the session's peak, and for the step its ratio
to the runtime's forward pass of the same model.

The Python benches need ginjax 0.1.8 (with jax) and torch importable by `--python` (default:
.venv/bin/python if present, else python3); they are not part of this repository (default
--bench-dir: ../shared/bench). With --readme, the README's `speed-inference` and `speed-train`
blocks are replaced by the tables (scripts/readme_block.py). Raw outputs go to --out (default
experiment/speed).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

CASES = ["unet_d2_n64_b8_w8", "resnet_d2_n64_b8_w8", "dilresnet_d2_n64_b8_w8", "unet_d3_n16_b2_w4"]


def run(cmd: list[str], log: str) -> str:
    """Runs `cmd`, saves its standard output to `log` and returns it; stops on failure."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    start = time.time()
    result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    with open(log, "w") as f:
        f.write(result.stdout)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}; output in {log}")
    print(f"  {time.time() - start:.0f} s", file=sys.stderr, flush=True)
    return result.stdout


def fields(text: str) -> dict[str, dict[str, str]]:
    """`case=NAME key=value ...` lines by case name."""
    out = {}
    for line in text.splitlines():
        pairs = dict(re.findall(r"(\w+)=(\S+)", line))
        if "case" in pairs:
            out[pairs["case"]] = pairs
    return out


def session(index: int, args, python: str) -> dict:
    """One session's measurements."""
    out = os.path.join(args.out, f"session{index}")
    os.makedirs(out, exist_ok=True)
    bench = lambda *a: ["cargo", "bench", "--quiet", *a]
    peak_text = run(bench("-p", "ginrs-runtime", "--bench", "peak"), f"{out}/peak.txt")
    peaks = [float(m) for m in re.findall(r"peak threads=\d+ gflops=([\d.]+)", peak_text)]
    models = bench("-p", "ginrs-runtime", "--bench", "models")
    train = bench("-p", "ginrs-train", "--bench", "train", "--", "_w", "fused")
    py = lambda script, mode, log: run(
        [python, os.path.join(args.bench_dir, script), "--mode", mode] + (
            ["--out", f"{out}/{log}.json"] if "ginjax" in script else []), f"{out}/{log}.txt")
    forward = [fields(run(models, f"{out}/ginrs_forward_1.txt"))]
    ginjax_forward = fields(py("bench_ginjax_train.py", "forward", "ginjax_forward"))
    torch_forward = fields(py("bench_torch_models.py", "forward", "torch_forward"))
    forward.append(fields(run(models, f"{out}/ginrs_forward_2.txt")))
    step = [fields(run(train, f"{out}/ginrs_step_1.txt"))]
    ginjax_step = fields(py("bench_ginjax_train.py", "train", "ginjax_step"))
    torch_step = fields(py("bench_torch_models.py", "train", "torch_step"))
    step.append(fields(run(train, f"{out}/ginrs_step_2.txt")))
    median = lambda runs, case, key: statistics.median(float(r[case][key]) for r in runs)
    return {
        "peak": max(peaks),
        "cases": {
            case: {
                "forward_ms": median(forward, case, "median_ms"),
                "forward_gflop": float(forward[0][case]["gflop"]),
                "ginjax_forward_ms": float(ginjax_forward[case]["median_ms"]),
                "torch_forward_ms": float(torch_forward[case]["median_ms"]),
                "step_ms": median(step, case, "median_ms"),
                "step_gflop": float(step[0][case]["gflop"]),
                "ginjax_step_ms": float(ginjax_step[case]["median_ms"]),
                "torch_step_ms": float(torch_step[case]["median_ms"]),
            }
            for case in CASES
        },
    }


def joined(values, fmt: str, unit: str = "") -> str:
    """The sessions' values, `a / b / ...`, each followed by `unit`."""
    return " / ".join(format(v, fmt) + unit for v in values)


def table(sessions: list[dict], kind: str) -> list[str]:
    """The markdown table of `kind` (`forward` or `step`): one row per case."""
    step = kind == "step"
    head = "| case | ginjax ms | torch skeleton ms | ginrs ms | vs ginjax | vs torch | "
    head += "step / forward | " if step else ""
    lines = [head + "GFLOP | GFLOP/s | of peak |",
             "| --- |" + " ---: |" * (9 if step else 8)]
    for case in CASES:
        c = [s["cases"][case] for s in sessions]
        ours = [x[f"{kind}_ms"] for x in c]
        gflops = [x[f"{kind}_gflop"] / t * 1e3 for x, t in zip(c, ours)]
        cells = [
            f"`{case}`",
            joined([x[f"ginjax_{kind}_ms"] for x in c], ".0f"),
            joined([x[f"torch_{kind}_ms"] for x in c], ".0f" if step else ".1f"),
            joined(ours, ".1f" if step else ".2f"),
            joined([x[f"ginjax_{kind}_ms"] / t for x, t in zip(c, ours)], ".0f", "×"),
            joined([x[f"torch_{kind}_ms"] / t for x, t in zip(c, ours)], ".2f" if step else ".1f", "×"),
        ]
        if step:
            cells.append(joined([t / x["forward_ms"] for x, t in zip(c, ours)], ".1f", "×"))
        cells += [
            f"{c[0][f'{kind}_gflop']:.3f}",
            joined(gflops, ".0f"),
            joined([g / s["peak"] * 100 for g, s in zip(gflops, sessions)], ".0f", "%"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def tables(sessions: list[dict], when: str) -> str:
    """The two markdown tables and what they were measured on."""
    lines = [
        f"Measured by `scripts/speed.py --sessions {len(sessions)}` ({when}); each cell lists "
        f"the sessions' values, ginrs's being the median of its two runs per session. Peak: "
        f"{joined([s['peak'] for s in sessions], '.0f')} GFLOP/s (`--bench peak`, all cores).",
        "",
        "Inference (forward pass of the whole batch):",
        "",
        *table(sessions, "forward"),
        "",
        "One training step (forward, loss, backward, Adam), ginrs's fused route:",
        "",
        *table(sessions, "step"),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--readme", action="store_true")
    ap.add_argument("--bench-dir", default="../shared/bench")
    ap.add_argument("--out", default="experiment/speed")
    ap.add_argument("--python", default=".venv/bin/python" if os.path.exists(".venv/bin/python")
                    else "python3")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    run(["cargo", "bench", "--no-run", "-p", "ginrs-runtime", "-p", "ginrs-train"],
        os.path.join(args.out, "build.txt"))
    sessions = [session(i + 1, args, args.python) for i in range(args.sessions)]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()) + f", {os.cpu_count()} cores"
    text = tables(sessions, when)
    path = os.path.join(args.out, "tables.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    if args.readme:
        blocks = text.split("\nOne training step")
        inference = blocks[0] + "\n"
        train = "One training step" + blocks[1]
        for name, body in (("speed-inference", inference), ("speed-train", train)):
            block = os.path.join(args.out, f"{name}.md")
            with open(block, "w") as f:
                f.write(body)
            run([sys.executable, "scripts/readme_block.py", name, block], os.devnull)


if __name__ == "__main__":
    main()
