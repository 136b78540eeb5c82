//! ConvContract against ginjax 0.1.8: every case of `conv_contract_layer.json`, with the
//! recorded filter bank and the recorded weights and biases.

use ginrs_runtime::io::ginjax_import::{
    bias_mode_from_json, padding_from_json, per_axis_from_json,
};
use ginrs_runtime::io::weights::{LayerWeights, WeightsError};
use ginrs_runtime::layers::conv_contract::{
    BiasMode, ConvContract, ConvContractConfig, ConvContractError, MissingFilterCause,
};
use ginrs_runtime::ops::padding::{ConvOptions, Padding, PerAxis};
use ginrs_runtime::{DenseBank, Error, Layer, MultiImage, TensorKey};
use ginrs_tests::data::{random_image, signature};
use ginrs_tests::fixtures;
use serde_json::Value;

fn per_axis(value: &Value) -> PerAxis {
    per_axis_from_json(value).unwrap()
}

fn padding(value: &Value) -> Padding {
    padding_from_json(value).unwrap()
}

fn bias_mode(value: &Value) -> BiasMode {
    bias_mode_from_json(value).unwrap()
}

struct Case {
    name: String,
    config: ConvContractConfig,
    bank: DenseBank,
    weights: LayerWeights,
    inputs: Vec<MultiImage>,
    outputs: Vec<MultiImage>,
    batched: bool,
}

fn load_cases() -> Vec<Case> {
    let file = fixtures::load("conv_contract_layer.json");
    fixtures::cases(&file)
        .iter()
        .map(|case| {
            let bank_name = case["filter_bank"].as_str().unwrap();
            let bank = DenseBank::from_multi_image(&fixtures::multi_image(
                &file["filter_banks"][bank_name]["filters"],
            ))
            .unwrap();
            let options = ConvOptions {
                padding: padding(&case["padding"]),
                stride: per_axis(&case["stride"]),
                lhs_dilation: per_axis(&case["lhs_dilation"]),
                rhs_dilation: per_axis(&case["rhs_dilation"]),
            };
            let config = ConvContractConfig::new(
                fixtures::signature(&case["input_keys"]),
                fixtures::signature(&case["target_keys"]),
            )
            .bias(bias_mode(&case["use_bias"]))
            .options(options)
            .allow_missing(case["missing_filter"].as_bool().unwrap());
            let batched = case["batched"].as_bool().unwrap();
            let leading = if batched { 2 } else { 1 };
            let parse = |v: &Value| {
                if v["blocks"].as_array().unwrap().is_empty() {
                    // An empty multi-image: geometry is not recorded, only that it is empty.
                    Vec::new()
                } else {
                    fixtures::multi_image_batch(v, leading)
                }
            };
            Case {
                name: case["name"].as_str().unwrap().to_string(),
                config,
                bank,
                weights: LayerWeights::from_value(case).unwrap(),
                inputs: fixtures::multi_image_batch(&case["input"], leading),
                outputs: parse(&case["output"]),
                batched,
            }
        })
        .collect()
}

fn run(layer: &ConvContract, case: &Case) -> Vec<MultiImage> {
    if case.batched {
        layer.forward_batch(&case.inputs).unwrap()
    } else {
        vec![layer.forward(&case.inputs[0]).unwrap()]
    }
}

#[test]
fn every_fixture_case_matches_ginjax() {
    let file = fixtures::load("conv_contract_layer.json");
    let raw = fixtures::cases(&file);
    let cases = load_cases();
    assert_eq!(cases.len(), 15, "the fixture file has 15 cases");
    for (case, raw) in cases.iter().zip(raw) {
        let layer = ConvContract::from_weights(case.config.clone(), &case.bank, &case.weights)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        // Pairs, filter keys and the missing-filter flag are ginjax's.
        let present: Vec<_> = raw["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["filter_present"].as_bool().unwrap())
            .map(|p| {
                (
                    fixtures::key(&p["in"]),
                    fixtures::key(&p["out"]),
                    fixtures::key(&p["filter_key"]),
                )
            })
            .collect();
        let got: Vec<_> = layer
            .pairs()
            .into_iter()
            .map(|(i, o, f, _)| (i, o, f))
            .collect();
        assert_eq!(got, present, "{}: pairs", case.name);
        assert_eq!(
            layer.missing_filter(),
            raw["missing_filter"].as_bool().unwrap(),
            "{}",
            case.name
        );
        // Parameters load back unchanged, in ginjax's order.
        assert_eq!(layer.to_weights(), case.weights, "{}: weights", case.name);

        let outputs = run(&layer, case);
        match case.name.as_str() {
            // ginjax returns no block at all for use_bias=True; here True means 'auto'
            // (ginjax's documentation), so the output is the 'auto' layer's.
            "bias_True" => {
                assert!(case.outputs.is_empty(), "ginjax's recorded output is empty");
                let auto = ConvContract::from_weights(
                    case.config.clone().bias(BiasMode::Auto),
                    &case.bank,
                    &case.weights,
                )
                .unwrap();
                assert_eq!(outputs, run(&auto, case));
                assert_eq!(outputs[0].blocks().len(), 2);
            }
            // ginjax drops every non-scalar block with use_bias='scalar'; here they are kept
            // without bias. The scalar block matches ginjax.
            "bias_scalar" => {
                let want = &case.outputs[0];
                assert_eq!(want.blocks().len(), 1, "ginjax keeps only the scalar block");
                let got = outputs[0].get(&TensorKey::scalar()).unwrap();
                fixtures::assert_close(
                    got.data(),
                    want.blocks()[0].data(),
                    "bias_scalar, scalar block",
                );
                let plain = ConvContract::from_weights(
                    case.config.clone().bias(BiasMode::None),
                    &case.bank,
                    &LayerWeights {
                        weights: case.weights.weights.clone(),
                        bias: Vec::new(),
                    },
                )
                .unwrap();
                let plain = plain.forward(&case.inputs[0]).unwrap();
                assert_eq!(
                    outputs[0].get(&TensorKey::vector()),
                    plain.get(&TensorKey::vector()),
                    "non-scalar blocks get no bias"
                );
            }
            _ => {
                let keys: Vec<TensorKey> = raw["output_keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(fixtures::key)
                    .collect();
                if keys.is_empty() {
                    assert!(
                        outputs.iter().all(|o| o.blocks().is_empty()),
                        "{}",
                        case.name
                    );
                    continue;
                }
                assert_eq!(outputs.len(), case.outputs.len());
                for (got, want) in outputs.iter().zip(&case.outputs) {
                    let got_keys: Vec<TensorKey> =
                        got.blocks().iter().map(|b| b.key().clone()).collect();
                    assert_eq!(got_keys, keys, "{}: output order", case.name);
                    fixtures::assert_multi_image_close(got, want, &case.name);
                }
            }
        }
    }
}

#[test]
fn missing_filters_are_errors_unless_allowed() {
    for case in load_cases() {
        let strict = case.config.clone().allow_missing(false);
        let result = ConvContract::from_bank(strict, &case.bank, 1);
        match case.name.as_str() {
            "missing_pseudoscalar" | "missing_only" => {
                let err = result.unwrap_err();
                assert_eq!(
                    err,
                    ConvContractError::MissingFilter {
                        dim: 2,
                        side: 3,
                        input: TensorKey::scalar(),
                        output: TensorKey::new(0, 1),
                        filter_key: TensorKey::new(0, 1),
                        cause: MissingFilterCause::NoInvariantFilter,
                    },
                    "{}",
                    case.name
                );
                assert_eq!(
                    err.to_string(),
                    "no invariant filter maps `scalar` to `pseudoscalar` for d = 2, \
                     filter_size = 3: the number of invariant filters of order k_in + k_out = 0 \
                     and parity 1 is 0; set allow_missing to drop this mapping (as ginjax does \
                     silently)"
                );
                let lenient = ConvContract::from_bank(case.config.clone(), &case.bank, 1).unwrap();
                assert_eq!(lenient.dropped_pairs().len(), 1);
                assert_eq!(lenient.dropped_pairs()[0].output, TensorKey::new(0, 1));
            }
            "pseudo_mix" | "k2" | "D3" => assert!(
                matches!(result, Err(ConvContractError::MissingFilter { .. })),
                "{}",
                case.name
            ),
            _ => assert!(result.is_ok(), "{}", case.name),
        }
    }
}

#[test]
fn missing_filters_tell_an_order_left_out_of_the_bank_from_an_empty_one() {
    let vectors = ginrs_runtime::Signature::new(vec![(TensorKey::vector(), 1)]).unwrap();
    let config = ConvContractConfig::new(vectors.clone(), vectors);
    let options = ginrs_generator::BankOptions::default();
    // Built without k = 2: vector → vector needs order 2 (d = 2, M = 3 has 5 such filters).
    let without_k2 = DenseBank::invariant(2, 3, &[0, 1], &options).unwrap();
    let err = ConvContract::from_bank(config.clone(), &without_k2, 0).unwrap_err();
    assert!(matches!(
        err,
        ConvContractError::MissingFilter {
            cause: MissingFilterCause::OrderNotInBank,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "no invariant filter maps `vector` to `vector`: the bank was built without filter order \
         k = 2; build it with k = 2 among its orders, or set allow_missing to drop this mapping \
         (as ginjax does silently)"
    );
    let with_k2 = DenseBank::invariant(2, 3, &[0, 1, 2], &options).unwrap();
    assert!(ConvContract::from_bank(config, &with_k2, 0).is_ok());
    // Order 0 built, but no pseudoscalar filter exists for d = 2, M = 3.
    let scalar = ginrs_runtime::Signature::new(vec![(TensorKey::scalar(), 1)]).unwrap();
    let pseudo = ginrs_runtime::Signature::new(vec![(TensorKey::new(0, 1), 1)]).unwrap();
    let err =
        ConvContract::from_bank(ConvContractConfig::new(scalar, pseudo), &with_k2, 0).unwrap_err();
    assert!(matches!(
        err,
        ConvContractError::MissingFilter {
            cause: MissingFilterCause::NoInvariantFilter,
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("order k_in + k_out = 0 and parity 1 is 0"),
        "{err}"
    );
}

#[test]
fn weights_round_trip_through_json() {
    for case in load_cases() {
        let layer = ConvContract::from_bank(case.config.clone(), &case.bank, 42).unwrap();
        let text = layer.to_weights().to_json();
        let loaded = ConvContract::from_weights(
            case.config.clone(),
            &case.bank,
            &LayerWeights::from_json(&text).unwrap(),
        )
        .unwrap();
        assert_eq!(loaded.to_weights(), layer.to_weights(), "{}", case.name);
        assert_eq!(
            run(&loaded, &case),
            run(&layer, &case),
            "{}: same outputs",
            case.name
        );
        // A different seed gives different weights; the same seed the same ones.
        let again = ConvContract::from_bank(case.config.clone(), &case.bank, 42).unwrap();
        assert_eq!(again.to_weights(), layer.to_weights());
        if !layer.pairs().is_empty() {
            let other = ConvContract::from_bank(case.config.clone(), &case.bank, 43).unwrap();
            assert_ne!(other.to_weights(), layer.to_weights());
        }
    }
}

#[test]
fn initial_weights_respect_ginjax_bounds() {
    let case = load_cases()
        .into_iter()
        .find(|c| c.name == "bias_auto")
        .unwrap();
    let layer = ConvContract::from_bank(case.config.clone(), &case.bank, 7).unwrap();
    let w = layer.to_weights();
    // input scalar: 1/sqrt(2·9), input vector: 1/sqrt(2·9·2)
    for entry in &w.weights {
        let bound = if entry.input.k == 0 {
            1.0 / 18f32.sqrt()
        } else {
            1.0 / 36f32.sqrt()
        };
        assert!(entry.array.data.iter().all(|x| x.abs() <= bound));
        assert!(entry.array.data.iter().any(|x| x.abs() > bound / 4.0));
    }
    // Every bias was last drawn by the vector input (the later input key).
    for b in &w.bias {
        assert!(b.array.data.iter().all(|x| x.abs() <= 1.0 / 36f32.sqrt()));
    }
}

#[test]
fn weight_errors_name_keys_and_shapes() {
    let case = load_cases()
        .into_iter()
        .find(|c| c.name == "bias_auto")
        .unwrap();
    let mut layer = ConvContract::from_bank(case.config.clone(), &case.bank, 7).unwrap();
    let before = layer.to_weights();

    let mut missing = case.weights.clone();
    missing.weights.remove(1);
    assert_eq!(
        layer.load_weights(&missing),
        Err(WeightsError::MissingWeight {
            input: TensorKey::scalar(),
            output: TensorKey::vector()
        })
    );
    let mut extra = case.weights.clone();
    extra.weights.push(extra.weights[0].clone());
    assert_eq!(
        layer.load_weights(&extra),
        Err(WeightsError::ExtraWeight {
            input: TensorKey::scalar(),
            output: TensorKey::scalar()
        })
    );
    let mut shape = case.weights.clone();
    shape.weights[3].array.shape = vec![2, 2, 4];
    shape.weights[3].array.data.truncate(16);
    assert_eq!(
        layer.load_weights(&shape),
        Err(WeightsError::WeightShape {
            input: TensorKey::vector(),
            output: TensorKey::vector(),
            expected: vec![2, 2, 5],
            got: vec![2, 2, 4]
        })
    );
    let mut no_bias = case.weights.clone();
    no_bias.bias.pop();
    assert_eq!(
        layer.load_weights(&no_bias),
        Err(WeightsError::MissingBias {
            key: TensorKey::vector()
        })
    );
    let mut bias_shape = case.weights.clone();
    bias_shape.bias[0].array.shape = vec![3];
    bias_shape.bias[0].array.data.push(0.0);
    assert!(matches!(
        layer.load_weights(&bias_shape),
        Err(WeightsError::BiasShape { .. })
    ));
    // Nothing changed after the failed loads.
    assert_eq!(layer.to_weights(), before);
    // A failed load surfaces through the umbrella error too.
    let err: Error =
        ConvContract::from_weights(case.config.clone(), &case.bank, &missing).unwrap_err();
    assert!(err.to_string().contains("missing weights"), "{err}");
}

/// The layer computed the ginjax way: per pair, sum the filters with the weights and run the
/// generic `convolve_contract`, accumulating per output key in order of first reach.
fn reference(layer: &ConvContract, bank: &DenseBank, input: &MultiImage) -> MultiImage {
    use ginrs_runtime::ops::conv::{convolve_contract, FilterArray};
    let weights = layer.to_weights();
    let mut out: Vec<(TensorKey, ginrs_runtime::ImageBlock)> = Vec::new();
    for w in &weights.weights {
        let (in_key, out_key, fk) = (
            w.input.to_key().unwrap(),
            w.output.to_key().unwrap(),
            w.filter_key.to_key().unwrap(),
        );
        let block = bank.get(fk.k(), fk.parity()).unwrap();
        let (out_c, in_c, n_f) = (w.array.shape[0], w.array.shape[1], w.array.shape[2]);
        let per = block.data().len() / n_f;
        let mut dense = vec![0.0f32; out_c * in_c * per];
        for o in 0..out_c {
            for i in 0..in_c {
                for f in 0..n_f {
                    let c = w.array.data[(o * in_c + i) * n_f + f];
                    let dst = &mut dense[(o * in_c + i) * per..(o * in_c + i + 1) * per];
                    for (d, &x) in dst.iter_mut().zip(&block.data()[f * per..(f + 1) * per]) {
                        *d += c * x;
                    }
                }
            }
        }
        let filter = FilterArray::new(out_c, in_c, bank.sides().to_vec(), fk, dense).unwrap();
        let y = convolve_contract(
            input.get(&in_key).unwrap(),
            &filter,
            &layer.config().options,
        )
        .unwrap();
        match out.iter_mut().find(|(k, _)| *k == out_key) {
            Some((_, acc)) => acc
                .data_mut()
                .iter_mut()
                .zip(y.data())
                .for_each(|(a, b)| *a += b),
            None => {
                let y = ginrs_runtime::ImageBlock::new(
                    y.geometry().clone(),
                    out_key.clone(),
                    y.channels(),
                    y.into_data(),
                )
                .unwrap();
                out.push((out_key, y));
            }
        }
    }
    let geometry = out[0].1.geometry().clone();
    MultiImage::from_blocks(geometry, out.into_iter().map(|(_, b)| b).collect()).unwrap()
}

#[test]
fn layer_equals_generic_convolve_contract() {
    let file = fixtures::load("conv_contract_layer.json");
    let bank = |name: &str| {
        DenseBank::from_multi_image(&fixtures::multi_image(
            &file["filter_banks"][name]["filters"],
        ))
        .unwrap()
    };
    let options = [
        ConvOptions::default(),
        ConvOptions::with_padding(Padding::Same).stride(2),
        ConvOptions::with_padding(Padding::Valid).rhs_dilation(2),
        ConvOptions::with_padding(Padding::Explicit(vec![(2, 0), (1, 3), (0, 1)]))
            .stride(vec![1, 2, 3]),
        ConvOptions::with_padding(Padding::Uniform(1))
            .lhs_dilation(2)
            .stride(vec![2, 1, 1]),
        ConvOptions::with_padding(Padding::Torus).rhs_dilation(vec![1, 2, 1]),
    ];
    // (bank, input, target, spatial, torus)
    let setups: Vec<(DenseBank, _, _, Vec<usize>, Vec<bool>)> = vec![
        (
            bank("D2_M3"),
            signature(&[(0, 0, 2), (1, 0, 3), (1, 1, 1)]),
            signature(&[(1, 0, 2), (0, 0, 3), (2, 1, 1)]),
            vec![45, 31],
            vec![true, false],
        ),
        (
            bank("D2_M5"),
            signature(&[(1, 0, 2), (0, 1, 1)]),
            signature(&[(0, 0, 1), (1, 1, 2)]),
            vec![11, 10],
            vec![true, true],
        ),
        (
            bank("D3_M3"),
            signature(&[(0, 0, 2), (1, 0, 1)]),
            signature(&[(1, 0, 2), (0, 0, 1)]),
            vec![9, 10, 11],
            vec![true, false, true],
        ),
    ];
    let mut setups = setups;
    setups.push((
        DenseBank::invariant(1, 5, &[0, 1, 2], &ginrs_generator::BankOptions::default()).unwrap(),
        signature(&[(0, 0, 2), (1, 1, 1)]),
        signature(&[(1, 0, 1), (0, 1, 2)]),
        vec![1100],
        vec![true],
    ));
    let mut checked = 0;
    for (n, (bank, input, target, spatial, torus)) in setups.into_iter().enumerate() {
        let dim = bank.dim();
        let geometry = ginrs_runtime::Geometry::new(spatial, torus).unwrap();
        let image = random_image(&input, &geometry, 100 + n as u64);
        for (m, opts) in options.iter().enumerate() {
            let mut opts = opts.clone();
            // Trim per-axis options to the dimension.
            let trim = |p: &PerAxis| match p {
                PerAxis::Each(v) => PerAxis::Each(v[..dim].to_vec()),
                other => other.clone(),
            };
            opts.stride = trim(&opts.stride);
            opts.lhs_dilation = trim(&opts.lhs_dilation);
            opts.rhs_dilation = trim(&opts.rhs_dilation);
            if let Padding::Explicit(pairs) = &opts.padding {
                opts.padding = Padding::Explicit(pairs[..dim].to_vec());
            }
            let config = ConvContractConfig::new(input.clone(), target.clone())
                .bias(BiasMode::None)
                .options(opts)
                .allow_missing(true);
            let layer = ConvContract::from_bank(config, &bank, (10 * n + m) as u64).unwrap();
            let got = layer.forward(&image).unwrap();
            let want = reference(&layer, &bank, &image);
            fixtures::assert_multi_image_close(&got, &want, &format!("setup {n}, options {m}"));
            assert_eq!(got.signature(), layer.output_signature());
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}

#[test]
fn generator_banks_equal_the_recorded_layer_banks() {
    let file = fixtures::load("conv_contract_layer.json");
    for (name, ks) in [
        ("D2_M3", vec![0, 1, 2, 3]),
        ("D2_M5", vec![0, 1, 2, 3]),
        ("D3_M3", vec![0, 1]),
    ] {
        let recorded = DenseBank::from_multi_image(&fixtures::multi_image(
            &file["filter_banks"][name]["filters"],
        ))
        .unwrap();
        let generated = DenseBank::invariant(
            recorded.dim(),
            recorded.sides()[0],
            &ks,
            &ginrs_generator::BankOptions::default(),
        )
        .unwrap();
        assert_eq!(generated.sides(), recorded.sides());
        let keys = |b: &DenseBank| -> Vec<(usize, u8, usize)> {
            b.blocks()
                .iter()
                .map(|x| (x.k(), x.parity(), x.count()))
                .collect()
        };
        assert_eq!(keys(&generated), keys(&recorded), "{name}");
        for (g, r) in generated.blocks().iter().zip(recorded.blocks()) {
            fixtures::assert_close(
                g.data(),
                r.data(),
                &format!("{name} k={} p={}", g.k(), g.parity()),
            );
        }
    }
}

#[test]
fn metric_lowers_inputs_once_and_raises_outputs() {
    let file = fixtures::load("conv_contract_layer.json");
    let bank = DenseBank::from_multi_image(&fixtures::multi_image(
        &file["filter_banks"]["D2_M3"]["filters"],
    ))
    .unwrap();
    let covector = TensorKey::with_covariant(vec![true], 0);
    let input =
        ginrs_runtime::Signature::new(vec![(TensorKey::scalar(), 1), (TensorKey::vector(), 2)])
            .unwrap();
    let target = ginrs_runtime::Signature::new(vec![
        (TensorKey::scalar(), 2),
        (TensorKey::vector(), 1),
        (covector.clone(), 2),
    ])
    .unwrap();
    let config = ConvContractConfig::new(input.clone(), target).bias(BiasMode::None);
    let layer = ConvContract::from_bank(config, &bank, 5).unwrap();
    let geometry = ginrs_runtime::Geometry::square(2, 6, true).unwrap();
    let x = random_image(&input, &geometry, 77);
    // G = diag(2, 1) at every pixel.
    let metric = ginrs_runtime::ImageBlock::new(
        geometry.clone(),
        TensorKey::with_covariant(vec![true, true], 0),
        1,
        [2.0f32, 0.0, 0.0, 1.0].repeat(36),
    )
    .unwrap();
    let got = layer.forward_with_metric(&x, &metric).unwrap();
    // Lowering with diag(2, 1) doubles the first vector component.
    let mut lowered = x.clone();
    let v = lowered.get_mut(&TensorKey::vector()).unwrap();
    v.data_mut().iter_mut().step_by(2).for_each(|a| *a *= 2.0);
    let plain = layer.forward(&lowered).unwrap();
    fixtures::assert_close(
        got.get(&TensorKey::scalar()).unwrap().data(),
        plain.get(&TensorKey::scalar()).unwrap().data(),
        "scalar output (no index to raise)",
    );
    fixtures::assert_close(
        got.get(&covector).unwrap().data(),
        plain.get(&covector).unwrap().data(),
        "covariant output (stays covariant)",
    );
    // Raising with get_metric_inverse(G) = diag(1/(2 + 1e-5), 1/(1 + 1e-5)).
    let want: Vec<f32> = plain
        .get(&TensorKey::vector())
        .unwrap()
        .data()
        .chunks_exact(2)
        .flat_map(|p| [p[0] / (2.0 + 1e-5), p[1] / (1.0 + 1e-5)])
        .collect();
    fixtures::assert_close(
        got.get(&TensorKey::vector()).unwrap().data(),
        &want,
        "contravariant output (raised once)",
    );
    let keys: Vec<TensorKey> = got.blocks().iter().map(|b| b.key().clone()).collect();
    assert_eq!(
        keys,
        vec![TensorKey::scalar(), TensorKey::vector(), covector]
    );
    // A metric over other spatial sides is an error, not a panic.
    let small = ginrs_runtime::ImageBlock::new(
        ginrs_runtime::Geometry::square(2, 5, true).unwrap(),
        TensorKey::with_covariant(vec![true, true], 0),
        1,
        [1.0f32, 0.0, 0.0, 1.0].repeat(25),
    )
    .unwrap();
    assert!(matches!(
        layer.forward_with_metric(&x, &small),
        Err(Error::Metric(_))
    ));
}

/// The exported four-layer ginjax model (ConvContract → GroupNorm → VectorNeuronNonlinear →
/// ConvContract): each convolution reproduces ginjax's output from the recorded previous
/// output, and the whole chain run from the input reproduces ginjax's final output.
#[test]
fn conv_contract_is_equivariant_under_every_element() {
    use ginrs_runtime::check::equivariance::{check_layer, Elements};
    let options = ginrs_generator::BankOptions::default();
    // (bank, input, target, image side, padding)
    let setups = [
        (
            DenseBank::invariant(2, 3, &[0, 1, 2, 3, 4], &options).unwrap(),
            signature(&[(0, 0, 2), (0, 1, 1), (1, 0, 2), (1, 1, 1), (2, 0, 1)]),
            signature(&[(0, 0, 2), (1, 0, 2), (1, 1, 1), (2, 1, 1), (0, 1, 1)]),
            7,
            Padding::Inferred,
        ),
        (
            DenseBank::invariant(2, 5, &[0, 1, 2], &options).unwrap(),
            signature(&[(0, 0, 1), (1, 0, 2)]),
            signature(&[(1, 0, 1), (0, 0, 2), (0, 1, 1)]),
            9,
            Padding::Same,
        ),
        (
            DenseBank::invariant(3, 3, &[0, 1, 2], &options).unwrap(),
            signature(&[(0, 0, 1), (1, 0, 1)]),
            signature(&[(1, 0, 1), (0, 0, 1)]),
            5,
            Padding::Inferred,
        ),
    ];
    for (n, (bank, input, target, side, padding)) in setups.into_iter().enumerate() {
        let dim = bank.dim();
        for bias in [BiasMode::Auto, BiasMode::Mean] {
            let config = ConvContractConfig::new(input.clone(), target.clone())
                .bias(bias)
                .options(ConvOptions::with_padding(padding.clone()))
                .allow_missing(true);
            let layer = ConvContract::from_bank(config, &bank, 3 + n as u64).unwrap();
            let geometry = ginrs_runtime::Geometry::square(dim, side, true).unwrap();
            let x = random_image(&input, &geometry, 40 + n as u64);
            let report = check_layer(&layer, &x, &Elements::All).unwrap();
            assert_eq!(report.per_element.len(), if dim == 2 { 8 } else { 48 });
            assert!(
                report.holds(2e-6),
                "setup {n}, {bias:?}: relative error {} (worst {:?})",
                report.relative_error,
                report.worst
            );
            assert!(report.output_scale > 0.1, "a non-trivial output");
        }
    }
}

/// A kernel that delegates to another one (stands in for generated code).
struct Delegate(ginrs_runtime::__private::SparseKernel);

impl ginrs_runtime::__private::ResponseKernel for Delegate {
    fn filter_count(&self) -> usize {
        ginrs_runtime::__private::ResponseKernel::filter_count(&self.0)
    }
    fn responses(
        &self,
        geometry: &ginrs_runtime::__private::StencilGeometry,
        input: &[f32],
        out: &mut [f32],
    ) {
        ginrs_runtime::__private::ResponseKernel::responses(&self.0, geometry, input, out)
    }
}

#[test]
fn caller_supplied_kernels_build_the_same_layer() {
    use ginrs_runtime::__private::PairKernel;
    use ginrs_runtime::__private::SparseKernel;
    let case = load_cases()
        .into_iter()
        .find(|c| c.name == "bias_auto")
        .unwrap();
    let kernels = || -> Vec<PairKernel> {
        let mut out: Vec<PairKernel> = Vec::new();
        for (i, _) in case.config.input.entries() {
            for (o, _) in case.config.target.entries() {
                let block = case
                    .bank
                    .get(i.k() + o.k(), (i.parity() + o.parity()) % 2)
                    .unwrap();
                let kernel =
                    SparseKernel::new(2, &[3, 3], i.k(), o.k(), block.count(), block.data())
                        .unwrap();
                out.push(((i.clone(), o.clone()), Box::new(Delegate(kernel))));
            }
        }
        out
    };
    let mut layer =
        ConvContract::with_kernels(case.config.clone(), 2, vec![3, 3], kernels(), 0).unwrap();
    layer.load_weights(&case.weights).unwrap();
    fixtures::assert_multi_image_close(
        &layer.forward(&case.inputs[0]).unwrap(),
        &case.outputs[0],
        "with_kernels",
    );
    // Work counts: unknown stencil flops for opaque kernels, GEMM and dense counts exact.
    let flops = layer.flops_per_output_pixel();
    assert_eq!(flops.stencil_flops, None);
    // GEMM: s→s 2·2·3 + s→v 2·2·2·2 + v→s 2·2·2 + v→v 2·2·5·2; dense: 2·2·9·d^(k_in+k_out).
    assert_eq!(flops.gemm_muladds, 12 + 16 + 8 + 40);
    assert_eq!(flops.dense_muladds, 36 * (1 + 2 + 2 + 4));
    // The sparse kernel: 2 flops per non-zero tap, fewer than the dense route's 2 per entry.
    let sparse = ConvContract::from_bank(case.config.clone(), &case.bank, 0).unwrap();
    let stencil = sparse.flops_per_output_pixel().stencil_flops.unwrap();
    assert!(stencil > 0 && stencil.is_multiple_of(2) && stencil < 2 * flops.dense_muladds);

    let mut missing = kernels();
    missing.pop();
    assert!(matches!(
        ConvContract::with_kernels(case.config.clone(), 2, vec![3, 3], missing, 0),
        Err(ConvContractError::MissingFilter {
            cause: MissingFilterCause::NoInvariantFilter,
            ..
        })
    ));
    let mut extra = kernels();
    let first = extra.remove(0);
    extra.push(first);
    let dup = kernels().remove(0);
    extra.push(dup);
    assert!(matches!(
        ConvContract::with_kernels(case.config.clone(), 2, vec![3, 3], extra, 0),
        Err(ConvContractError::UnknownPair { .. })
    ));
}

#[test]
fn banks_load_from_a_filters_json_file() {
    use ginrs_generator::group::{Group, GroupKind};
    use ginrs_generator::{invariant_bank, BankOptions, FilterFile};
    let group = Group::new(GroupKind::Hyperoctahedral, 2).unwrap();
    let options = BankOptions::default();
    let mut banks = Vec::new();
    for size in [3, 5] {
        for k in 0..3 {
            for parity in 0..2 {
                banks.push(invariant_bank(&group, size, k, parity, &options).unwrap());
            }
        }
    }
    let text = FilterFile::new(&group, &options, banks).to_json();
    let file = FilterFile::from_json(&text).unwrap();
    for size in [3, 5] {
        let from_file = DenseBank::from_filter_file(&file, size).unwrap();
        let direct = DenseBank::invariant(2, size, &[0, 1, 2], &options).unwrap();
        assert_eq!(from_file, direct, "M = {size}");
    }
    // D=2, M=3 has no pseudoscalar filter: the bank leaves the key out.
    let m3 = DenseBank::from_filter_file(&file, 3).unwrap();
    assert!(m3.get(0, 1).is_none() && m3.get(0, 0).unwrap().count() == 3);
    assert!(matches!(
        DenseBank::from_filter_file(&file, 7),
        Err(ginrs_runtime::ops::bank::BankError::Empty)
    ));
}
