"""Writes tests/fixtures/losses.json: ginjax 0.1.8's losses on a few small MultiImages.

Needs ginjax 0.1.8 (it pulls jax); this script installs nothing itself:

    python3 -m venv .venv && .venv/bin/pip install ginjax==0.1.8
    .venv/bin/python scripts/make_loss_fixture.py

The fixture is read by train/tests/losses.rs, which checks ginrs_train::loss against it.

Every case is D = 2, N = 5 (torus), batch 3; inputs are float32 (as in ginjax), drawn from a
numpy RandomState with a fixed seed and rounded to multiples of 1/256 so that their decimal
form in the JSON is exact. For each case and each loss of ginjax/ml/losses.py (smse_loss,
normalized_smse_loss, nrmse_loss, nrmse_per_pixel_loss, l2_rel_error, l2_per_pixel_rel_error),
with reduce="mean" and reduce=None, and for the relative losses with the default eps and a
given one, the output is recorded. Non-finite outputs (eps = 0 on zero targets) are written as
the strings "NaN", "Infinity" or "-Infinity".

JSON layout:

    {"ginjax_version": "0.1.8", "D": 2, "N": 5, "batch": 3,
     "cases": [{"name": ..., "keys": [{"k": k, "parity": p, "channels": c,
                                       "shape": [batch, c, N, N, (D,)*k...],
                                       "x": [flat row-major], "y": [...]}, ...],
                "results": [{"loss": "nrmse_loss", "reduce": "mean" | null,
                             "eps": float | null (null: ginjax's default),
                             "value": [float | "NaN" | "Infinity", ...]}, ...]}]}
"""

import importlib.metadata
import json
import math
import os

import numpy as np
import jax
import jax.numpy as jnp

import ginjax.geometric as geom
from ginjax.ml import losses

D = 2
N = 5
BATCH = 3

# (k, parity, channels) of the two signatures.
BASIC = [(0, 0, 2), (0, 1, 1), (1, 0, 1)]
WITH_K2 = [(0, 0, 1), (1, 0, 1), (2, 0, 1), (2, 1, 1)]


def draw(rs, shape):
    """float32 values that are multiples of 1/256 (exact in float32 and in decimal)."""
    return (np.round(rs.randn(*shape) * 256.0) / 256.0).astype(np.float32)


def blocks(rs, signature):
    return {
        (k, p): draw(rs, (BATCH, c, N, N) + (D,) * k) for (k, p, c) in signature
    }


def multi_image(data):
    return geom.MultiImage({key: jnp.asarray(v) for key, v in data.items()}, D, True)


def encode(v):
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


# (name, function, eps values to try: None = ginjax's default)
LOSSES = [
    ("smse_loss", losses.smse_loss, [None]),
    ("normalized_smse_loss", losses.normalized_smse_loss, [None, 1e-3]),
    ("nrmse_loss", losses.nrmse_loss, [None, 1e-5]),
    ("nrmse_per_pixel_loss", losses.nrmse_per_pixel_loss, [None, 1e-5]),
    ("l2_rel_error", losses.l2_rel_error, [None, 1e-5]),
    ("l2_per_pixel_rel_error", losses.l2_per_pixel_rel_error, [None, 1e-5]),
]


def case(name, signature, x, y):
    mx, my = multi_image(x), multi_image(y)
    results = []
    for loss_name, fn, epss in LOSSES:
        for eps in epss:
            for reduce in ["mean", None]:
                kwargs = {"reduce": reduce}
                if eps is not None:
                    kwargs["eps"] = eps
                out = np.asarray(fn(mx, my, **kwargs), dtype=np.float32).reshape(-1)
                results.append(
                    {
                        "loss": loss_name,
                        "reduce": reduce,
                        "eps": eps,
                        "value": [encode(v) for v in out],
                    }
                )
    keys = [
        {
            "k": k,
            "parity": p,
            "channels": c,
            "shape": list(x[(k, p)].shape),
            "x": [float(v) for v in x[(k, p)].reshape(-1)],
            "y": [float(v) for v in y[(k, p)].reshape(-1)],
        }
        for (k, p, c) in signature
    ]
    return {"name": name, "keys": keys, "results": results}


def main():
    rs = np.random.RandomState(20240518)
    cases = []

    # 1. Random prediction and target: scalar (2 channels), pseudoscalar, vector.
    x, y = blocks(rs, BASIC), blocks(rs, BASIC)
    cases.append(case("basic", BASIC, x, y))

    # 2. With k = 2 blocks (a tensor and a pseudotensor).
    x, y = blocks(rs, WITH_K2), blocks(rs, WITH_K2)
    cases.append(case("with_k2", WITH_K2, x, y))

    # 3. The target has all-zero pixels (every component of every channel of every block) at a
    #    few pixels of each item; the prediction is also zero at one of them in item 2
    #    (0/0 per pixel with eps = 0).
    x, y = blocks(rs, BASIC), blocks(rs, BASIC)
    zero_pixels = {0: [(0, 0), (2, 3)], 1: [(4, 4)], 2: [(1, 1), (3, 0)]}
    for b, pixels in zero_pixels.items():
        for i, j in pixels:
            for key in y:
                y[key][b, :, i, j] = 0.0
    for key in x:
        x[key][2, :, 1, 1] = 0.0
    cases.append(case("zero_pixels", BASIC, x, y))

    # 4. A whole target channel is zero: scalar channel 1 of item 0 (prediction nonzero: inf
    #    with eps = 0), the vector channel of item 1 (prediction nonzero) and the pseudoscalar
    #    channel of item 2, where the prediction is zero too (0/0: NaN with eps = 0).
    x, y = blocks(rs, BASIC), blocks(rs, BASIC)
    y[(0, 0)][0, 1] = 0.0
    y[(1, 0)][1, 0] = 0.0
    y[(0, 1)][2, 0] = 0.0
    x[(0, 1)][2, 0] = 0.0
    cases.append(case("zero_channel", BASIC, x, y))

    out = {
        "ginjax_version": importlib.metadata.version("ginjax"),
        "jax_version": jax.__version__,
        "D": D,
        "N": N,
        "batch": BATCH,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "losses.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
