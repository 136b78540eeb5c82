"""Float64 reference gradients of the `models` cases of tests/fixtures/training.json.

usage: python scripts/grads_f64.py [--training tests/fixtures/training.json]
                                   [--out tests/fixtures/training_f64.json]

training.json's model gradients were computed by jax.grad over ginjax 0.1.8 in float32, and for
deep models they are themselves only accurate to about 1e-4 (ResNet's eigen-whitening norms,
DilResNet's cancelling dilated taps). This script recomputes every `models` case in float64, so
that an implementation can be compared with the exact gradients rather than with the fixture's
rounding:

1. jax runs with `jax_enable_x64` (set before jax computes anything or ginjax is imported).
2. ginjax casts images to float32 in three places of `ginjax.geometric.functional_geometric_image`
   (`convolve`'s `pre_tensor_product_expand(..., dtype=jnp.float32)`, `convolve_contract`'s
   `.astype("float32")` and `max_pool`'s two `.astype("float32")`). `_patch_float32_casts` reads
   that module's source, turns exactly these four casts into float64 ones (it fails if it does
   not find exactly four), executes the patched source in the module's namespace and rebinds
   every ginjax module attribute that held one of the old functions (`ginjax.geometric` and the
   modules that imported names from it). Afterwards `_assert_float64` checks the jaxpr of the
   whole computation (forward and gradient): no float32 value occurs in it.
3. Each case's model is built with `ginjax.models.<model>(D, input_keys, output_keys, **config,
   key=...)`, the named filter banks being the fixture's recorded banks (`filter_banks`); then
   every array leaf is replaced by the fixture's parameter at the same `jax.tree_util.keystr`
   path (the invariant filters included), cast to float64. A leaf missing from the fixture, a
   recorded parameter with no leaf, or a shape that differs is an error.
4. The model is applied as the fixture did, `jax.vmap(lambda x: model(x)[0])` over the batch of
   the recorded input; loss = Σ over output blocks of Σ output·cotangent; `jax.grad` w.r.t. every
   parameter leaf and the input.
5. Sanity checks against the float32 fixture (each array relative to its largest magnitude):
   outputs to 1e-5, the loss to 1e-5 and every gradient to 1e-3.

The output has, per case, `name`, `model`, `output`, `loss`, `grad_params` (`{path, array}` in
tree order, the invariant filters' zero gradients included) and `grad_input`, in training.json's
layout with float64 arrays; parameters, inputs and cotangents stay in training.json.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import argparse  # noqa: E402
import importlib.metadata as md  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

# (text in ginjax 0.1.8's functional_geometric_image.py, float64 replacement, occurrences)
_CASTS = [
    ("dtype=jnp.float32", "dtype=jnp.float64", 1),  # convolve
    ('.astype("float32")', '.astype("float64")', 3),  # convolve_contract, max_pool (twice)
]

OUTPUT_TOLERANCE = 1e-5
GRAD_TOLERANCE = 1e-3


def _patch_float32_casts() -> None:
    """Re-executes ginjax's functional_geometric_image with its float32 casts made float64 and
    rebinds the old functions wherever ginjax imported them."""
    import inspect

    import ginjax  # noqa: F401  (loads every submodule that imports from the patched one)
    import ginjax.geometric.functional_geometric_image as fgi
    import ginjax.layers  # noqa: F401
    import ginjax.models  # noqa: F401

    source = inspect.getsource(fgi)
    for old, new, count in _CASTS:
        found = source.count(old)
        if found != count:
            raise SystemExit(f"grads_f64: expected {count} × {old!r} in {fgi.__file__}, found {found}")
        source = source.replace(old, new)
    if "float32" in source:
        raise SystemExit(f"grads_f64: {fgi.__file__} has a float32 cast this script does not patch")
    old_functions = {name: value for name, value in vars(fgi).items() if callable(value)}
    exec(compile(source, fgi.__file__, "exec"), vars(fgi))
    replaced = {id(old): getattr(fgi, name) for name, old in old_functions.items()}
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("ginjax") and module is not fgi:
            for attr, value in list(vars(module).items()):
                if id(value) in replaced and value is old_functions.get(attr):
                    setattr(module, attr, replaced[id(value)])


def _assert_float64(function, *args) -> None:
    """Fails if any value in the jaxpr of `function(*args)` is float32."""
    text = str(jax.make_jaxpr(function)(*args))
    if "f32" in text:
        raise SystemExit("grads_f64: the computation still has float32 values:\n"
                         + "\n".join(line for line in text.splitlines() if "f32" in line)[:4000])


def _read_array(value: dict) -> np.ndarray:
    return np.asarray(value["data"], dtype=np.float64).reshape(value["shape"])


def _write_array(values) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    if arr.dtype != np.float64:
        raise SystemExit("grads_f64: a result is not float64")

    # repr of a float64 is its shortest round-trip decimal; whole numbers without a point
    # and zeros as 0, as in the fixtures.
    def number(v: float):
        return int(v) if v == int(v) and abs(v) < 2**53 else float(v)

    return {"shape": list(arr.shape), "dtype": "float64", "data": [number(float(v)) for v in arr.ravel()]}


def _key(block: dict):
    return (tuple(bool(f) for f in block["covariant_axes"]), int(block["parity"]))


def _multi_image(value: dict):
    import jax.numpy as jnp
    import ginjax.geometric as geom

    data = {_key(b): jnp.asarray(_read_array(b["array"])) for b in value["blocks"]}
    return geom.MultiImage(data, int(value["D"]), tuple(bool(t) for t in value["is_torus"]))


def _write_multi_image(image) -> dict:
    return {
        "D": int(image.D),
        "is_torus": [bool(t) for t in image.is_torus],
        "blocks": [
            {"k": len(flags), "parity": int(parity), "covariant_axes": list(flags), "array": _write_array(block)}
            for (flags, parity), block in image.items()
        ],
    }


def _signature(entries: list[dict]):
    import ginjax.geometric as geom

    return geom.Signature(tuple((_key(e), int(e["channels"])) for e in entries))


def _build(case: dict, banks: dict):
    """The ginjax model of a case, with its own random initial parameters."""
    import ginjax.models as models

    config = dict(case["config"])
    D = config.pop("D")
    input_keys = _signature(config.pop("input_keys"))
    output_keys = _signature(config.pop("output_keys"))
    config.pop("is_torus", None)  # the input's geometry, not a constructor argument
    kwargs = {}
    for name, value in config.items():
        if name in ("conv_filters", "upsample_filters"):
            kwargs[name] = _multi_image(banks[value])
        elif name == "activation":
            kwargs["activation_f"] = value
        elif name == "mid_keys":
            kwargs[name] = _signature(value)
        else:
            kwargs[name] = value
    cls = getattr(models, case["model"])
    return cls(D, input_keys, output_keys, key=jax.random.PRNGKey(0), **kwargs)


def _with_recorded_params(model, case: dict):
    """(params, static): `model`'s array leaves replaced by the case's recorded parameters."""
    import equinox as eqx
    import jax.numpy as jnp

    recorded = {p["path"]: _read_array(p["array"]) for p in case["params"]}
    params, static = eqx.partition(model, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    new_leaves, used = [], set()
    for path, leaf in leaves:
        name = jax.tree_util.keystr(path)
        if name not in recorded:
            raise SystemExit(f"grads_f64: {case['name']}: the fixture has no parameter {name}")
        if tuple(recorded[name].shape) != tuple(leaf.shape):
            raise SystemExit(f"grads_f64: {case['name']} {name}: shape {recorded[name].shape}, "
                             f"ginjax's leaf has {leaf.shape}")
        new_leaves.append(jnp.asarray(recorded[name], dtype=jnp.float64))
        used.add(name)
    unused = [p for p in recorded if p not in used]
    if unused:
        raise SystemExit(f"grads_f64: {case['name']}: recorded parameters without a leaf: {unused}")
    return jax.tree_util.tree_unflatten(treedef, new_leaves), static


def _relative(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = np.max(np.abs(want)) if want.size else 0.0
    diff = np.max(np.abs(got - want)) if want.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def _check(name: str, what: str, got, want, tolerance: float) -> float:
    error = _relative(got, want)
    if error > tolerance:
        raise SystemExit(f"grads_f64: {name} {what}: float64 vs the float32 fixture {error:.2e} > {tolerance:.0e}")
    return error


def _run_case(case: dict, banks: dict) -> dict:
    import equinox as eqx
    import jax.numpy as jnp

    name = case["name"]
    params, static = _with_recorded_params(_build(case, banks), case)
    x = _multi_image(case["input"])
    cotangent = _multi_image(case["cotangent"])
    if x[next(iter(x.keys()))].shape[0] != case["batch"]:
        raise SystemExit(f"grads_f64: {name}: the input's batch is not {case['batch']}")

    def loss_fn(params, x):
        model = eqx.combine(params, static)
        y = jax.vmap(lambda xi: model(xi)[0])(x)
        if list(y.keys()) != list(cotangent.keys()):
            raise SystemExit(f"grads_f64: {name}: output keys {list(y.keys())}, "
                             f"cotangent keys {list(cotangent.keys())}")
        loss = sum(jnp.sum(y[key] * cotangent[key]) for key in y.keys())
        return loss, y

    grad_fn = jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True)
    _assert_float64(grad_fn, params, x)
    (loss, y), (grad_params, grad_x) = grad_fn(params, x)

    want_y = _multi_image(case["output"])
    if list(y.keys()) != list(want_y.keys()):
        raise SystemExit(f"grads_f64: {name}: output keys differ from the fixture's")
    errors = {"output": max(_check(name, f"output {k}", y[k], want_y[k], OUTPUT_TOLERANCE) for k in y.keys())}
    errors["loss"] = _check(name, "loss", loss, case["loss"], OUTPUT_TOLERANCE)

    grad_leaves = [(jax.tree_util.keystr(p), g) for p, g in jax.tree_util.tree_flatten_with_path(grad_params)[0]]
    want_params = [(p["path"], _read_array(p["array"])) for p in case["grad_params"]]
    if [p for p, _ in grad_leaves] != [p for p, _ in want_params]:
        raise SystemExit(f"grads_f64: {name}: gradient leaves differ from the fixture's grad_params")
    errors["grad_params"] = max(_check(name, path, g, w, GRAD_TOLERANCE)
                                for (path, g), (_, w) in zip(grad_leaves, want_params))
    want_gx = _multi_image(case["grad_input"])
    errors["grad_input"] = max(_check(name, f"grad_input {k}", grad_x[k], want_gx[k], GRAD_TOLERANCE)
                               for k in grad_x.keys())
    print(f"{name} ({case['model']}): float32 fixture vs float64, relative to each array's largest "
          + ", ".join(f"{what} {e:.2e}" for what, e in errors.items()))
    return {
        "name": name,
        "model": case["model"],
        "output": _write_multi_image(y),
        "loss": float(loss),
        "grad_params": [{"path": path, "array": _write_array(g)} for path, g in grad_leaves],
        "grad_input": _write_multi_image(grad_x),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--training", default="tests/fixtures/training.json")
    ap.add_argument("--out", default="tests/fixtures/training_f64.json")
    args = ap.parse_args()
    _patch_float32_casts()
    with open(args.training) as f:
        training = json.load(f)
    models = [_run_case(case, training["filter_banks"]) for case in training["models"]]
    doc = {
        "produced_by": "scripts/grads_f64.py (jax.grad over ginjax 0.1.8 in float64, from the "
                       "parameters, inputs and cotangents of training.json's models cases)",
        "versions": dict({p: md.version(p) for p in ("ginjax", "jax", "jaxlib", "equinox", "numpy")},
                         python=sys.version.split()[0]),
        "jax_enable_x64": True,
        "notes": "per models case of training.json (same name): output, loss = sum over output blocks of "
                 "sum(output * cotangent), grad_params ({path, array} in tree order, invariant filters "
                 "included, their gradient zero) and grad_input, all float64; ginjax's float32 casts in "
                 "functional_geometric_image (convolve, convolve_contract, max_pool) were made float64.",
        "models": models,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f)
    print(f"wrote {args.out}: {len(models)} models")


if __name__ == "__main__":
    main()
