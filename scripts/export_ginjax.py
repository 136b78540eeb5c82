"""Export ginjax 0.1.8 layers to ginrs's JSON, with a reference forward pass.

usage: python scripts/export_ginjax.py [--out tests/fixtures/ginjax_export.json] [--seed 0]
       python scripts/export_ginjax.py --models tests/fixtures/model_export.json [--seed 0]
       python scripts/export_ginjax.py --models tests/fixtures/model_export_d3.json --cases d3 --seed 3

`export_layer(layer, D)` turns a ginjax/equinox layer into a JSON object that ginrs loads with
`ginrs_runtime::ginjax_import` (schema "ginrs-ginjax-export/1", documented there):

- `ConvContract`: its configuration (signatures, bias mode, stride, padding, dilations), the
  filter bank it multiplies (as recorded by ginjax, so float-noise signs cannot differ) and its
  weights and biases in the layout of `ginrs_runtime::weights::LayerWeights`.
- `GroupNorm` / `LayerNorm`: groups, eps, signature, the equinox GroupNorm weight/bias per scalar
  key and the vector scale/bias per vector key.
- `VectorNeuronNonlinear` (ReLU activation only): eps, signature and the channel-mixing weights.

Any other layer type is refused with a message naming it. Running the script builds a small
model (ConvContract → GroupNorm → VectorNeuronNonlinear → ConvContract) with random weights, runs
it on a random input and writes the layers together with the input and every layer's output, so
that ginrs can check it reproduces ginjax. Python is only needed to make the file; ginrs's tests
read the committed JSON.

Whole models: `export_model(model, config)` turns a ginjax `UNet`, `ResNet` or `DilResNet` into a
ginrs model file (`{"format": "ginrs-model", "version": 1, "config", "params"}`, documented in
`ginrs_runtime::io::model_file`): `config` is the model-file configuration the model was built
from (`build_model(config)` builds a ginjax model from such a configuration) and `params` is every
array leaf of the model as `(jax.tree_util.keystr path, array)` in tree order, the invariant
filters included. `--models OUT` writes a fixture of several such models (equivariant and
baseline) with a random batch of inputs, ginjax's outputs and `count_params`, plus ginjax's
`count_params` of the `models` cases of tests/fixtures/training.json:

    python scripts/export_ginjax.py --models tests/fixtures/model_export.json

`--cases` picks the models: `d2` (the default, `MODEL_CASES`: six D = 2 models) or `d3`
(`MODEL_CASES_D3`: an equivariant D = 3 UNet, whose recorded invariant filters differ in order
and sign from the bank ginrs rebuilds, since ginjax's D = 3 order and signs rest on rounding
noise; the fixture `tests/fixtures/model_export_d3.json` is made with seed 3):

    python scripts/export_ginjax.py --models tests/fixtures/model_export_d3.json --cases d3 --seed 3
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys

import numpy as np


def _array(values) -> dict:
    arr = np.asarray(values, dtype=np.float32)
    # str() of a float32 is its shortest round-trip decimal.
    return {
        "shape": list(arr.shape),
        "dtype": "float32",
        "data": [float(str(v)) for v in arr.ravel()],
    }


def _key(key) -> dict:
    flags, parity = key
    return {"k": len(flags), "parity": int(parity), "covariant_axes": [bool(f) for f in flags]}


def _signature(signature) -> list[dict]:
    return [dict(_key(key), channels=int(channels)) for key, channels in signature]


def _multi_image(image) -> dict:
    return {
        "D": int(image.D),
        "is_torus": [bool(t) for t in image.is_torus],
        "blocks": [dict(_key(key), array=_array(block)) for key, block in image.items()],
    }


def _option(value):
    """Stride/padding/dilation options: tuples become lists, strings and ints stay."""
    if isinstance(value, tuple):
        return [_option(v) for v in value]
    return value


def _conv_contract(layer) -> dict:
    import ginjax.geometric as geom

    weights = []
    for in_key, by_out in layer.weights.items():
        for out_key, array in by_out.items():
            filter_key = ((False,) * (len(in_key[0]) + len(out_key[0])), (in_key[1] + out_key[1]) % 2)
            weights.append(
                {"in": _key(in_key), "out": _key(out_key), "filter_key": _key(filter_key), "array": _array(array)}
            )
    bias = [{"key": _key(key), "array": _array(array)} for key, array in layer.bias.items()]
    use_bias = layer.use_bias
    return {
        "type": "ConvContract",
        "D": int(layer.D),
        "input_keys": _signature(layer.input_keys),
        "target_keys": _signature(layer.target_keys),
        "use_bias": use_bias,
        "stride": _option(layer.stride),
        "padding": _option(layer.padding),
        "lhs_dilation": _option(layer.lhs_dilation),
        "rhs_dilation": _option(layer.rhs_dilation),
        "filter_bank": _multi_image(layer.invariant_filters),
        "weights": weights,
        "bias": bias,
    }


def _group_norm(layer, input_keys) -> dict:
    vanilla = []
    for key, norm in layer.vanilla_norm.items():
        vanilla.append({"key": _key(key), "weight": _array(norm.weight), "bias": _array(norm.bias)})
    return {
        "type": "GroupNorm",
        "D": int(layer.D),
        "groups": int(layer.groups),
        "eps": float(layer.eps),
        "input_keys": _signature(input_keys),
        "vanilla_norm": vanilla,
        "vector_scale": [{"key": _key(k), "array": _array(a)} for k, a in layer.scale.items()],
        "vector_bias": [{"key": _key(k), "array": _array(a)} for k, a in layer.bias.items()],
    }


def _vector_neuron(layer, input_keys) -> dict:
    import jax

    if layer.scalar_activation is not jax.nn.relu:
        raise ValueError(
            "export_ginjax: VectorNeuronNonlinear with an activation other than jax.nn.relu "
            f"({layer.scalar_activation!r}) cannot be exported"
        )
    return {
        "type": "VectorNeuronNonlinear",
        "D": int(layer.D),
        "scalar_activation": "relu",
        "eps": float(layer.eps),
        "input_keys": _signature(input_keys),
        "weights": [{"key": _key(k), "array": _array(a)} for k, a in layer.weights.items()],
    }


def export_layer(layer, input_keys=None) -> dict:
    """The JSON object of one ginjax layer; `input_keys` (a ginjax Signature) is needed for the
    layers that do not store their own (GroupNorm, LayerNorm, VectorNeuronNonlinear)."""
    import ginjax.layers as ml

    if isinstance(layer, ml.ConvContract):
        return _conv_contract(layer)
    if isinstance(layer, ml.GroupNorm):  # LayerNorm is a GroupNorm with one group
        return _group_norm(layer, input_keys)
    if isinstance(layer, ml.VectorNeuronNonlinear):
        return _vector_neuron(layer, input_keys)
    raise TypeError(
        f"export_ginjax: cannot export a {type(layer).__module__}.{type(layer).__qualname__}; "
        "supported: ConvContract, GroupNorm, LayerNorm, VectorNeuronNonlinear"
    )


def _demo(seed: int) -> dict:
    import jax
    import jax.numpy as jnp
    import ginjax.geometric as geom
    import ginjax.layers as ml

    D, N, M = 2, 8, 3
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    bank = geom.get_invariant_filters([M], [0, 1, 2], [0, 1], D, geom.make_all_operators(D))

    def sig(entries):
        return geom.Signature(tuple((((False,) * k, p), c) for (k, p), c in entries))

    in_sig = sig([((0, 0), 2), ((1, 0), 3)])
    mid_sig = sig([((0, 0), 4), ((1, 0), 4)])
    out_sig = sig([((0, 0), 1), ((1, 0), 2)])
    key, k1, k2, k3 = jax.random.split(key, 4)
    conv1 = ml.ConvContract(in_sig, mid_sig, bank, use_bias="auto", key=k1)
    norm = ml.GroupNorm(mid_sig, D, 2)
    # Non-trivial affine parameters, so that the export of every field is exercised.
    norm = eqx_tree_at_random(norm, rng)
    nonlinear = ml.VectorNeuronNonlinear(mid_sig, D, key=k2)
    conv2 = ml.ConvContract(mid_sig, out_sig, bank, use_bias="mean", key=k3)

    x = geom.MultiImage(
        {
            (flags, p): jnp.asarray(rng.standard_normal((c,) + (N,) * D + (D,) * len(flags)).astype(np.float32))
            for (flags, p), c in in_sig
        },
        D,
        True,
    )
    layers = [("conv1", conv1, in_sig), ("norm", norm, mid_sig), ("nonlinear", nonlinear, mid_sig), ("conv2", conv2, mid_sig)]
    exported, outputs = [], []
    current = x
    for name, layer, keys in layers:
        exported.append(dict(name=name, **export_layer(layer, keys)))
        current = layer(current)
        outputs.append(_multi_image(current))
    return {"layers": exported, "input": _multi_image(x), "outputs": outputs}


def eqx_tree_at_random(norm, rng):
    """Replaces a GroupNorm's affine parameters (ones/zeros at initialisation) by random values."""
    import equinox as eqx
    import jax.numpy as jnp

    for key in list(norm.vanilla_norm):
        gn = norm.vanilla_norm[key]
        c = gn.weight.shape[0]
        gn = eqx.tree_at(lambda m: (m.weight, m.bias), gn, (jnp.asarray(rng.uniform(0.5, 1.5, c), jnp.float32), jnp.asarray(rng.normal(0, 0.3, c), jnp.float32)))
        norm.vanilla_norm[key] = gn
    for key in list(norm.scale):
        c = norm.scale[key].shape[0]
        norm.scale[key] = jnp.asarray(rng.uniform(0.5, 1.5, c), jnp.float32)
        norm.bias[key] = jnp.asarray(rng.normal(0, 0.3, c), jnp.float32)
    return norm


def _bank(D: int, filters: dict):
    import ginjax.geometric as geom

    return geom.get_invariant_filters([filters["M"]], filters["ks"], [0, 1], D, geom.make_all_operators(D))


def _ginjax_signature(entries: list[dict]):
    import ginjax.geometric as geom

    return geom.Signature(
        tuple(((tuple(bool(f) for f in e["covariant_axes"]), int(e["parity"])), int(e["channels"])) for e in entries)
    )


# Model-file option -> ginjax constructor argument, for the options passed through unchanged.
_PLAIN_OPTIONS = ("depth", "num_downsamples", "num_conv", "num_blocks", "use_bias", "equivariant",
                  "kernel_size", "use_group_norm", "preactivation_order", "padding_mode")


def build_model(config: dict, key):
    """The ginjax model of a model-file configuration (see the module docstring)."""
    import ginjax.models as models

    D = config["D"]
    kwargs = {name: config[name] for name in _PLAIN_OPTIONS if name in config}
    if "activation" in config:
        kwargs["activation_f"] = config["activation"]  # a name of ACTIVATION_REGISTRY, or None
    if "mid_keys" in config:
        kwargs["mid_keys"] = _ginjax_signature(config["mid_keys"])
    for name in ("conv_filters", "upsample_filters"):
        if name in config:
            kwargs[name] = _bank(D, config[name])
    cls = {"UNet": models.UNet, "ResNet": models.ResNet, "DilResNet": models.DilResNet}[config["model"]]
    return cls(D, _ginjax_signature(config["input_keys"]), _ginjax_signature(config["output_keys"]),
               key=key, **kwargs)


def export_model(model, config: dict) -> dict:
    """The ginrs model file of a ginjax model built from `config`."""
    import equinox as eqx
    import jax

    leaves, _ = jax.tree_util.tree_flatten_with_path(eqx.filter(model, eqx.is_array))
    params = [{"path": jax.tree_util.keystr(path), "array": _array(leaf)} for path, leaf in leaves]
    return {"format": "ginrs-model", "version": 1, "config": config, "params": params}


def _batch_image(image) -> dict:
    """A multi-image with a leading batch axis, in the training fixtures' layout."""
    return {
        "D": int(image.D),
        "is_torus": [bool(t) for t in image.is_torus],
        "blocks": [dict(_key(key), array=_array(block)) for key, block in image.items()],
    }


_S1V1 = [{"k": 0, "parity": 0, "covariant_axes": [], "channels": 1},
         {"k": 1, "parity": 0, "covariant_axes": [False], "channels": 1}]
_M3 = {"M": 3, "ks": [0, 1, 2]}
_M2 = {"M": 2, "ks": [0, 1, 2]}

# (name, is_torus, config): small models on 8x8 images, batch 2, one scalar and one vector in/out.
MODEL_CASES = [
    ("unet_baseline", True, dict(model="UNet", D=2, input_keys=_S1V1, output_keys=_S1V1, depth=4,
                                 num_downsamples=1, num_conv=1, equivariant=False, kernel_size=3,
                                 use_group_norm=True, padding_mode="CIRCULAR")),
    ("resnet_baseline", True, dict(model="ResNet", D=2, input_keys=_S1V1, output_keys=_S1V1, depth=4,
                                   num_blocks=1, equivariant=False, kernel_size=3, padding_mode="CIRCULAR")),
    ("dilresnet_baseline", True, dict(model="DilResNet", D=2, input_keys=_S1V1, output_keys=_S1V1, depth=3,
                                      num_blocks=1, equivariant=False, kernel_size=3, use_group_norm=True,
                                      activation="tanh", padding_mode="ZEROS")),
    ("unet_equivariant", True, dict(model="UNet", D=2, input_keys=_S1V1, output_keys=_S1V1, depth=2,
                                    num_downsamples=2, num_conv=1, use_bias="mean", activation="relu",
                                    use_group_norm=True, conv_filters=_M3, upsample_filters=_M2)),
    ("resnet_equivariant", True, dict(model="ResNet", D=2, input_keys=_S1V1, output_keys=_S1V1, depth=3,
                                      num_blocks=2, num_conv=1, preactivation_order=False,
                                      conv_filters=_M3)),
    ("dilresnet_equivariant", False, dict(model="DilResNet", D=2, input_keys=_S1V1, output_keys=_S1V1,
                                          depth=2, num_blocks=1, use_group_norm=True, activation="gelu",
                                          conv_filters=_M3)),
]


# The D = 3 models, on 8x8x8 images, batch 2, one scalar and one vector in and out.
MODEL_CASES_D3 = [
    ("unet_equivariant_d3", True, dict(model="UNet", D=3, input_keys=_S1V1, output_keys=_S1V1, depth=2,
                                       num_downsamples=1, num_conv=1, activation="relu",
                                       use_group_norm=True, conv_filters=_M3, upsample_filters=_M2)),
]

CASE_SETS = {"d2": MODEL_CASES, "d3": MODEL_CASES_D3}


def _training_config(config: dict) -> dict:
    """A training-fixture model config (banks named like "D2_M3_k012") as a model-file config."""
    out = {k: v for k, v in config.items() if k != "is_torus"}
    for name in ("conv_filters", "upsample_filters"):
        if name in out:
            d, m, k = out[name].split("_")
            out[name] = {"M": int(m[1:]), "ks": [int(c) for c in k[1:]]}
    return out


def _models(seed: int, case_set: str, training_fixture: str) -> dict:
    import jax
    import jax.numpy as jnp
    import ginjax.geometric as geom
    import ginjax.models as models

    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    N, batch = 8, 2
    cases = []
    for name, is_torus, config in CASE_SETS[case_set]:
        key, subkey = jax.random.split(key)
        model = build_model(config, subkey)
        D = config["D"]
        x = geom.MultiImage(
            {
                (tuple(e["covariant_axes"]), e["parity"]): jnp.asarray(
                    rng.standard_normal((batch, e["channels"]) + (N,) * D + (D,) * e["k"]).astype(np.float32)
                )
                for e in config["input_keys"]
            },
            D,
            is_torus,
        )
        y = jax.vmap(lambda xi: model(xi)[0])(x)
        cases.append({
            "name": name,
            "batch": batch,
            "count_params": int(models.count_params(model)),
            "model": export_model(model, dict(config)),
            "input": _batch_image(x),
            "output": _batch_image(y),
        })
        print(f"{name}: {cases[-1]['count_params']} parameters, {len(cases[-1]['model']['params'])} leaves")
    if case_set != "d2":
        return {"cases": cases}
    with open(training_fixture) as f:
        training = json.load(f)
    counts = {}
    for case in training["models"]:
        model = build_model(dict(_training_config(case["config"]), model=case["model"]), jax.random.PRNGKey(0))
        counts[case["name"]] = int(models.count_params(model))
    return {"cases": cases, "training_count_params": counts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tests/fixtures/ginjax_export.json")
    ap.add_argument("--models", help="write the whole-model fixture to this file instead")
    ap.add_argument("--cases", choices=sorted(CASE_SETS), default="d2",
                    help="with --models: which models to export (d2: six D = 2 models, d3: a D = 3 UNet)")
    ap.add_argument("--training", default="tests/fixtures/training.json",
                    help="with --cases d2: training fixture whose `models` configurations get ginjax's "
                         "count_params")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    doc = {
        "produced_by": "scripts/export_ginjax.py",
        "versions": {p: md.version(p) for p in ("ginjax", "jax", "jaxlib", "equinox", "numpy")},
        "python": sys.version.split()[0],
        "seed": args.seed,
    }
    if args.models:
        doc.update(_models(args.seed, args.cases, args.training))
        with open(args.models, "w") as f:
            json.dump(doc, f)
        print(f"wrote {args.models}: {len(doc['cases'])} models")
        return
    doc = {"schema": "ginrs-ginjax-export/1", **doc}
    doc.update(_demo(args.seed))
    with open(args.out, "w") as f:
        json.dump(doc, f)
    print(f"wrote {args.out}: {len(doc['layers'])} layers")


if __name__ == "__main__":
    main()
