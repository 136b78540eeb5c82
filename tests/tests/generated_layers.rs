//! Generated layers (`#[equivariant_layer]`) against the dynamic `ConvContract` with the same
//! filter bank and the same weights (moved through `to_weights`/`from_weights`'s JSON type), for
//! d = 2 and 3, several paddings, strides, dilations and bias modes.

use ginrs_generator::group::Group;
use ginrs_generator::{invariant_bank, BankOptions};
use ginrs_runtime::{
    equivariant_layer, ConvContract, DenseBank, Geometry, Layer, MultiImage, TypedLayer,
};
use ginrs_tests::data::random_image;

/// The generator's bank (ginjax convention) for every filter key of the layer's pairs.
fn bank_for(contract: &ConvContract) -> DenseBank {
    let dim = contract.dim();
    let m = contract.filter_sides()[0];
    let group = Group::hyperoctahedral(dim).unwrap();
    let mut blocks = Vec::new();
    for (_, _, key, _) in contract.pairs() {
        if blocks
            .iter()
            .any(|&(k, p, _, _)| (k, p) == (key.k(), key.parity()))
        {
            continue;
        }
        let bank =
            invariant_bank(&group, m, key.k(), key.parity(), &BankOptions::default()).unwrap();
        let data: Vec<f32> = bank.filters().iter().flatten().map(|&v| v as f32).collect();
        blocks.push((key.k(), key.parity(), bank.len(), data));
    }
    DenseBank::new(dim, vec![m; dim], blocks).expect("valid bank")
}

fn random_input<L: TypedLayer>(geometry: Geometry, seed: u64) -> MultiImage {
    let signature = <L::Input as ginrs_runtime::__private::SignatureType>::signature();
    random_image(&signature, &geometry, seed)
}

/// Checks a generated layer against the dynamic path on `geometry`.
fn check<L: TypedLayer>(layer: &L, contract: &ConvContract, geometry: Geometry, seed: u64) {
    let bank = bank_for(contract);
    let mut dynamic = ConvContract::from_bank(contract.config().clone(), &bank, 0).unwrap();
    dynamic.load_weights(&contract.to_weights()).unwrap();
    let input = random_input::<L>(geometry, seed);
    let got = layer.forward(&input).unwrap();
    let want = dynamic.forward(&input).unwrap();
    assert_eq!(got.signature(), want.signature());
    let expected = <L::Output as ginrs_runtime::__private::SignatureType>::signature();
    assert_eq!(got.signature(), expected);
    for (g, w) in got.blocks().iter().zip(want.blocks()) {
        assert_eq!(g.shape(), w.shape());
        let scale = w.data().iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (a, b)) in g.data().iter().zip(w.data()).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{:?} value {i}: generated {a}, dynamic {b}",
                g.key()
            );
        }
    }
}

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 3, vector: 2],
                    output = [scalar: 2, vector: 3])]
struct D2Torus;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2, pseudovector: 1],
                    padding = same, stride = 2, bias = mean)]
struct D2SameStride;

#[equivariant_layer(dim = 2, filter_size = 5, input = [vector: 2], output = [vector: 2],
                    dilation = 2, bias = none)]
struct D2M5Dilated;

#[equivariant_layer(dim = 2, filter_size = 3, input = [(2, 0): 1, pseudovector: 2],
                    output = [vector: 2, (2, 1): 1], padding = [(1, 2), (0, 1)],
                    bias = scalar)]
struct D2ExplicitTensors;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2], output = [scalar: 2],
                    padding = valid, stride = 3)]
struct D2ValidStride3;

#[equivariant_layer(dim = 3, filter_size = 3, input = [scalar: 2, vector: 2],
                    output = [scalar: 2, vector: 2])]
struct D3Torus;

#[equivariant_layer(dim = 3, filter_size = 3, input = [vector: 1], output = [scalar: 1, vector: 1],
                    padding = same, stride = 2, dilation = 2, bias = mean)]
struct D3SameStrideDilated;

fn square(dim: usize, side: usize, torus: bool) -> Geometry {
    Geometry::square(dim, side, torus).unwrap()
}

#[test]
fn d2_torus_matches_dynamic() {
    let layer = D2Torus::new(1);
    check(&layer, layer.contract(), square(2, 7, true), 10);
    // Zero padding on non-torus axes under the same `torus` declaration.
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![5, 6], vec![false, true]).unwrap(),
        11,
    );
}

#[test]
fn d2_same_stride_mean_bias_matches_dynamic() {
    let layer = D2SameStride::new(2);
    check(&layer, layer.contract(), square(2, 9, false), 12);
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![8, 5], vec![true, false]).unwrap(),
        13,
    );
}

#[test]
fn d2_m5_dilated_matches_dynamic() {
    let layer = D2M5Dilated::new(3);
    check(&layer, layer.contract(), square(2, 11, true), 14);
}

#[test]
fn d2_explicit_padding_tensors_match_dynamic() {
    let layer = D2ExplicitTensors::new(4);
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![6, 7], vec![false, false]).unwrap(),
        15,
    );
}

#[test]
fn d2_valid_stride3_matches_dynamic() {
    let layer = D2ValidStride3::new(5);
    check(&layer, layer.contract(), square(2, 10, false), 16);
}

#[test]
fn d3_torus_matches_dynamic() {
    let layer = D3Torus::new(6);
    check(&layer, layer.contract(), square(3, 5, true), 17);
}

#[test]
fn d3_same_stride_dilated_matches_dynamic() {
    let layer = D3SameStrideDilated::new(7);
    check(&layer, layer.contract(), square(3, 7, false), 18);
}

#[test]
fn weights_round_trip_through_from_weights() {
    let a = D2Torus::new(8);
    let b = D2Torus::from_weights(&a.to_weights()).unwrap();
    let input = random_input::<D2Torus>(square(2, 5, true), 19);
    assert_eq!(a.forward(&input).unwrap(), b.forward(&input).unwrap());
    // Weights of another layer shape are rejected.
    assert!(D2Torus::from_weights(&D2SameStride::new(0).to_weights()).is_err());
}

#[test]
fn constants_describe_the_layer() {
    assert_eq!(D2Torus::DIM, 2);
    assert_eq!(D2Torus::FILTER_SIZE, 3);
    assert_eq!(D2Torus::INPUT_SIGNATURE, &[(0, 0, 3), (1, 0, 2)]);
    assert_eq!(D2Torus::OUTPUT_SIGNATURE, &[(0, 0, 2), (1, 0, 3)]);
    // Dense: Σ out_c · in_c · M^d · d^(k_in + k_out) = 2·3·9 + 3·3·9·2 + 2·2·9·2 + 3·2·9·4.
    assert_eq!(D2Torus::DENSE_MULADDS_PER_PIXEL, 54 + 162 + 72 + 216);
    // GEMM: Σ out_c · in_c · n_f · d^k_out with n_f = 3, 2, 2, 5 (d = 2, M = 3).
    assert_eq!(
        D2Torus::GEMM_MULADDS_PER_PIXEL,
        2 * 3 * 3 + 3 * 3 * 2 * 2 + 2 * 2 * 2 + 3 * 2 * 5 * 2
    );
    // The runtime's counts agree (the stencil count comes from the kernels' `stencil_flops`).
    let flops = D2Torus::new(0).contract().flops_per_output_pixel();
    assert_eq!(flops.stencil_flops, Some(D2Torus::STENCIL_FLOPS_PER_PIXEL));
    assert_eq!(flops.gemm_muladds, D2Torus::GEMM_MULADDS_PER_PIXEL);
    assert_eq!(flops.dense_muladds, D2Torus::DENSE_MULADDS_PER_PIXEL);
    // Scalar → scalar: centre (no flop), ring and corners (3 adds each) per input channel.
    #[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2], output = [scalar: 1])]
    struct Smooth;
    assert_eq!(Smooth::STENCIL_FLOPS_PER_PIXEL, 2 * 6);
    assert_eq!(Smooth::GEMM_MULADDS_PER_PIXEL, 2 * 3);
    assert_eq!(Smooth::DENSE_MULADDS_PER_PIXEL, 2 * 9);
}

#[test]
fn batches_match_single_images() {
    let layer = D3Torus::new(9);
    let inputs: Vec<MultiImage> = (0..3)
        .map(|s| random_input::<D3Torus>(square(3, 4, true), 20 + s))
        .collect();
    let batch = layer.forward_batch(&inputs).unwrap();
    for (x, y) in inputs.iter().zip(&batch) {
        assert_eq!(&layer.forward(x).unwrap(), y);
    }
}

#[test]
fn chained_layers_compose() {
    #[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 3],
                        output = [vector: 1])]
    struct Next;
    let first = D2Torus::new(10);
    let second = Next::new(11);
    let input = random_input::<D2Torus>(square(2, 6, true), 21);
    let want = second.forward(&first.forward(&input).unwrap()).unwrap();
    let chain = D2Torus::new(10).then(Next::new(11));
    assert_eq!(chain.forward(&input).unwrap(), want);
}

#[equivariant_layer(dim = 1, filter_size = 5, input = [scalar: 2, vector: 1],
                    output = [pseudoscalar: 1, vector: 2], stride = 2)]
struct D1;

/// Output channels 13 and 9: the fixed-shape mix's 8-, 4- and 1-row panels.
#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 5, vector: 3],
                    output = [scalar: 13, vector: 9], padding = same)]
struct D2Wide;

#[equivariant_layer(dim = 4, filter_size = 3, input = [scalar: 1, vector: 1],
                    output = [scalar: 1, vector: 1])]
struct D4;

#[test]
fn d1_and_d4_match_dynamic() {
    let layer = D1::new(12);
    check(&layer, layer.contract(), square(1, 17, true), 22);
    check(&layer, layer.contract(), square(1, 9, false), 23);
    let layer = D4::new(13);
    check(&layer, layer.contract(), square(4, 4, true), 24);
}

#[test]
fn long_rows_and_several_tiles_match_dynamic() {
    // Rows of 70 pixels: chunks of 32, 32 and 6; 40 rows: more than one tile.
    let layer = D2Wide::new(14);
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![40, 70], vec![false, false]).unwrap(),
        25,
    );
    check(&layer, layer.contract(), square(2, 33, true), 26);
    // Strided rows (the portable copy) longer than a chunk.
    let layer = D2SameStride::new(15);
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![20, 75], vec![true, true]).unwrap(),
        27,
    );
    // d = 3 rows of 37 pixels.
    let layer = D3Torus::new(16);
    check(
        &layer,
        layer.contract(),
        Geometry::new(vec![3, 4, 37], vec![true, true, true]).unwrap(),
        28,
    );
}

#[test]
fn forward_into_reuses_output_storage() {
    let layer = D2Wide::new(17);
    let geometry = square(2, 12, true);
    let x = random_input::<D2Wide>(geometry.clone(), 29);
    let y = random_input::<D2Wide>(geometry, 30);
    // Blocks of the right keys but another size: replaced, not reused.
    let mut out = layer
        .forward(&random_input::<D2Wide>(square(2, 5, true), 31))
        .unwrap();
    layer.forward_into(&x, &mut out).unwrap();
    assert_eq!(out, layer.forward(&x).unwrap());
    let storage = |m: &MultiImage| -> Vec<*const f32> {
        m.blocks().iter().map(|b| b.data().as_ptr()).collect()
    };
    let first = storage(&out);
    // Same shapes: every value overwritten in place (no stale values from `x`).
    layer.forward_into(&y, &mut out).unwrap();
    assert_eq!(out, layer.forward(&y).unwrap());
    assert_eq!(storage(&out), first);
    // The dynamic path reuses it too.
    let dynamic = layer.contract();
    dynamic.forward_into(&x, &mut out).unwrap();
    assert_eq!(out, dynamic.forward(&x).unwrap());
    assert_eq!(storage(&out), first);
    // Batches: outputs resized to the inputs.
    let inputs = vec![x.clone(), y.clone(), x];
    let mut outs = Vec::new();
    layer.forward_batch_into(&inputs, &mut outs).unwrap();
    assert_eq!(outs, layer.forward_batch(&inputs).unwrap());
    layer.forward_batch_into(&inputs[1..], &mut outs).unwrap();
    assert_eq!(outs, layer.forward_batch(&inputs[1..]).unwrap());
}
