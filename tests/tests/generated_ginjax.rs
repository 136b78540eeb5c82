//! Generated layers loaded with ginjax's recorded weights (`conv_contract_layer.json`) give
//! ginjax's recorded outputs. Only d = 2 cases whose pairs are all realisable by the generated
//! layer are used (the fixture's D3 bank stops at k = 1 and its k2 case lacks k = 4 filters, so
//! ginjax skips pairs a generated layer keeps); the generator's d = 2 ginjax bank equals the
//! recorded bank exactly (no float-noise signs for d ≤ 2).

use ginrs_runtime::io::weights::LayerWeights;
use ginrs_runtime::{equivariant_layer, MultiImage};
use ginrs_tests::fixtures;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], bias = none)]
struct BiasFalse;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2])]
struct BiasAuto;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], bias = mean)]
struct BiasMean;

#[equivariant_layer(dim = 2, filter_size = 3, input = [pseudovector: 2, scalar: 1],
                    output = [pseudoscalar: 1, vector: 2], allow_missing)]
struct PseudoMix;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], padding = same, stride = 2)]
struct Stride2Same;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], dilation = 2, bias = none)]
struct RhsDilation2;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], padding = valid)]
struct ValidNonsquare;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2], padding = [(1, 1), (2, 0)])]
struct ExplicitPadding;

#[equivariant_layer(dim = 2, filter_size = 5, input = [scalar: 1, vector: 1],
                    output = [vector: 1])]
struct M5;

type Forward = fn(&LayerWeights, &MultiImage) -> MultiImage;

macro_rules! runner {
    ($layer:ty) => {
        (|w: &LayerWeights, x: &MultiImage| <$layer>::from_weights(w).unwrap().forward(x).unwrap())
            as Forward
    };
}

#[test]
fn generated_layers_reproduce_ginjax() {
    let file = fixtures::load("conv_contract_layer.json");
    let runners: [(&str, Forward); 9] = [
        ("bias_False", runner!(BiasFalse)),
        ("bias_auto", runner!(BiasAuto)),
        ("bias_mean", runner!(BiasMean)),
        ("pseudo_mix", runner!(PseudoMix)),
        ("stride2_same", runner!(Stride2Same)),
        ("rhs_dilation2", runner!(RhsDilation2)),
        ("valid_nonsquare", runner!(ValidNonsquare)),
        ("explicit_padding", runner!(ExplicitPadding)),
        ("M5", runner!(M5)),
    ];
    for (name, forward) in runners {
        let case = fixtures::cases(&file)
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("fixture case {name}"));
        assert!(
            !case["batched"].as_bool().unwrap(),
            "{name}: unbatched case"
        );
        let weights = LayerWeights::from_value(case).unwrap();
        let input = fixtures::multi_image(&case["input"]);
        let want = fixtures::multi_image(&case["output"]);
        let got = forward(&weights, &input);
        fixtures::assert_multi_image_close(&got, &want, name);
    }
}
