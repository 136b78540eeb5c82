//! Training in f32 on burn's flex backend: weight exchange with the runtime (burn →
//! `LayerWeights` JSON → runtime forward), equivariance over all of B_d after a few Adam
//! steps, the losses against values computed here by hand, the rollout helper, and the typed
//! errors for bad input.

mod common;

use burn::tensor::{DType, Device};
use common::{max_abs_diff, random_image, signature, train_a_little};
use ginrs_runtime::{check_fn, Elements};
use ginrs_runtime::{
    ConvContract as RuntimeConvContract, ConvContractConfig, Geometry, Layer, LayerWeights,
    MultiImage,
};
use ginrs_train::image::read_f64;
use ginrs_train::loss::{l2_per_pixel_rel_error, normalized_smse, nrmse_per_pixel, smse};
use ginrs_train::{
    rollout, shift_window, weights, ConvContract, GroupNorm, ImageModule, Loss, MaxNormPool,
    Optimizer, Reduce, TensorImage, TrainError, Trainer, VectorNeuronNonlinear,
};

fn device() -> Device {
    Device::flex().autodiff()
}

/// The burn module and its runtime copy agree on every image of `input` to 1e-5 of the
/// largest value.
fn assert_runtime_agrees<M: ImageModule>(
    name: &str,
    module: &M,
    runtime: &impl Layer,
    input: &TensorImage,
) {
    let (diff, scale) = max_abs_diff(
        &module
            .forward_image(input)
            .unwrap()
            .to_multi_images()
            .unwrap(),
        &runtime
            .forward_batch(&input.to_multi_images().unwrap())
            .unwrap(),
    );
    assert!(
        diff <= 1e-5 * scale.max(1.0),
        "{name}: runtime differs by {diff}"
    );
}

/// `f(g·x) = g·f(x)` for every element of B_d, through the module's forward pass.
fn assert_equivariant<M: ImageModule + Sync>(name: &str, module: &M, input: &MultiImage) {
    let forward = |x: &MultiImage| -> Result<MultiImage, ginrs_runtime::Error> {
        let batch = TensorImage::from_multi_images(std::slice::from_ref(x), &device())
            .expect("a valid image");
        let y = module.forward_image(&batch).expect("forward pass");
        Ok(y.to_multi_images().expect("readback").remove(0))
    };
    let report = check_fn(forward, input, &Elements::All).unwrap();
    println!(
        "{name}: {} elements, relative equivariance error {:.2e}",
        report.per_element.len(),
        report.relative_error
    );
    assert!(report.holds(1e-5), "{name}: {report:?}");
}

#[test]
fn trained_layers_stay_equivariant_and_export_to_the_runtime() {
    let device = device();
    for (dim, side) in [(2usize, 6usize), (3, 4)] {
        let geometry = Geometry::square(dim, side, true).unwrap();
        let sig = signature(&[(0, 0, 2), (1, 0, 2)]);
        let input = random_image(&sig, &geometry, 2, 1, &device, DType::F32);
        let single = input
            .narrow_batch(0, 1)
            .to_multi_images()
            .unwrap()
            .remove(0);

        let conv = ConvContract::invariant(
            ConvContractConfig::new(sig.clone(), sig.clone()),
            dim,
            3,
            2,
            &device,
        )
        .unwrap();
        let conv = train_a_little(conv, &input, 3);
        assert_equivariant(&format!("conv d={dim}"), &conv, &single);
        // burn → LayerWeights JSON → runtime forward.
        let text = weights::to_json(&conv).unwrap();
        let runtime = RuntimeConvContract::from_weights(
            conv.config().clone(),
            conv.bank(),
            &LayerWeights::from_json(&text).unwrap(),
        )
        .unwrap();
        let burn_out = conv.forward(&input).unwrap().to_multi_images().unwrap();
        let runtime_out = runtime
            .forward_batch(&input.to_multi_images().unwrap())
            .unwrap();
        let (diff, scale) = max_abs_diff(&burn_out, &runtime_out);
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "conv d={dim}: runtime differs by {diff}"
        );
        // And back: a fresh module loading the file computes the same.
        let mut fresh = ConvContract::invariant(
            ConvContractConfig::new(sig.clone(), sig.clone()),
            dim,
            3,
            9,
            &device,
        )
        .unwrap();
        weights::load_json(&mut fresh, &text).unwrap();
        let again = fresh.forward(&input).unwrap().to_multi_images().unwrap();
        assert_eq!(max_abs_diff(&burn_out, &again).0, 0.0);

        let norm = train_a_little(GroupNorm::layer_norm(&sig, &device).unwrap(), &input, 3);
        assert_equivariant(&format!("layer norm d={dim}"), &norm, &single);
        let runtime = norm.to_runtime().unwrap();
        assert_runtime_agrees(&format!("norm d={dim}"), &norm, &runtime, &input);

        let neuron = train_a_little(
            VectorNeuronNonlinear::new(&sig, 4, &device).unwrap(),
            &input,
            3,
        );
        assert_equivariant(&format!("vector neuron d={dim}"), &neuron, &single);
        let runtime = neuron.to_runtime().unwrap();
        assert_runtime_agrees(&format!("neuron d={dim}"), &neuron, &runtime, &input);

        let pool = MaxNormPool::new(2, true).unwrap();
        assert_equivariant(&format!("max norm pool d={dim}"), &pool, &single);
        let (diff, _) = max_abs_diff(
            &pool.forward(&input).unwrap().to_multi_images().unwrap(),
            &pool
                .to_runtime()
                .unwrap()
                .forward_batch(&input.to_multi_images().unwrap())
                .unwrap(),
        );
        assert_eq!(diff, 0.0);
    }
}

#[test]
fn losses_match_hand_computed_values() {
    let device = device();
    let geometry = Geometry::new(vec![2, 1], vec![true, true]).unwrap();
    // One vector channel, two pixels, batch 2.
    let vec_sig = signature(&[(1, 0, 1)]);
    let x = random_image(&vec_sig, &geometry, 2, 3, &device, DType::F32);
    let y = random_image(&vec_sig, &geometry, 2, 4, &device, DType::F32);
    let xs = read_f64(&x.blocks()[0].1).unwrap();
    let ys = read_f64(&y.blocks()[0].1).unwrap();
    // Per item 4 values: pixel 0 = (v0, v1), pixel 1 = (v2, v3).
    let mut smse_items = [0.0; 2];
    let mut nsmse_items = [0.0; 2];
    let mut nrmse_items = [0.0; 2];
    for b in 0..2 {
        for p in 0..2 {
            let i = b * 4 + p * 2;
            let d2 = (xs[i] - ys[i]).powi(2) + (xs[i + 1] - ys[i + 1]).powi(2);
            let y2 = ys[i].powi(2) + ys[i + 1].powi(2);
            smse_items[b] += d2 / 2.0;
            nsmse_items[b] += d2 / (y2 + 1e-5) / 2.0;
            nrmse_items[b] += d2.sqrt() / y2.sqrt() / 2.0;
        }
    }
    let mean = |v: [f64; 2]| (v[0] + v[1]) / 2.0;
    let close = |got: burn::tensor::Tensor<1>, want: &[f64]| {
        let got = read_f64(&got).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{g} vs {w}");
        }
    };
    close(smse(&x, &y, Reduce::Mean).unwrap(), &[mean(smse_items)]);
    close(smse(&x, &y, Reduce::PerItem).unwrap(), &smse_items);
    close(
        normalized_smse(&x, &y, Reduce::Mean, 1e-5).unwrap(),
        &[mean(nsmse_items)],
    );
    close(
        nrmse_per_pixel(&x, &y, Reduce::PerItem, 0.0).unwrap(),
        &nrmse_items,
    );
    close(
        l2_per_pixel_rel_error(&x, &y, Reduce::Mean, 0.0).unwrap(),
        &[100.0 * mean(nrmse_items)],
    );
}

#[test]
fn rollout_feeds_predictions_back() {
    let device = device();
    let geometry = Geometry::square(2, 5, true).unwrap();
    // Two frames of one scalar and one vector channel each; the layer predicts one frame.
    let window = signature(&[(0, 0, 2), (1, 0, 2)]);
    let frame = signature(&[(0, 0, 1), (1, 0, 1)]);
    let conv = ConvContract::invariant(
        ConvContractConfig::new(window.clone(), frame),
        2,
        3,
        1,
        &device,
    )
    .unwrap();
    let initial = random_image(&window, &geometry, 1, 2, &device, DType::F32);
    let predictions = rollout(&conv, &initial, 3, shift_window).unwrap();
    assert_eq!(predictions.len(), 3);
    // By hand: the second input is the newest input frame followed by the first prediction.
    let second = shift_window(&initial, &predictions[0]).unwrap();
    for ((_, s), (_, i)) in second.blocks().iter().zip(initial.blocks()) {
        let (s, i) = (read_f64(s).unwrap(), read_f64(i).unwrap());
        let half = i.len() / 2;
        assert_eq!(&s[..half], &i[half..]);
    }
    let want = conv.forward(&second).unwrap().to_multi_images().unwrap();
    let got = predictions[1].to_multi_images().unwrap();
    assert_eq!(max_abs_diff(&got, &want).0, 0.0);
}

#[test]
fn the_shift_keeps_constant_channels_and_constant_only_keys() {
    let device = device();
    let geometry = Geometry::square(2, 3, true).unwrap();
    // Scalars: 1 constant then 2 frames of 1 field; a constant-only vector key.
    let input_sig = signature(&[(0, 0, 3), (1, 0, 1)]);
    let constants = signature(&[(0, 0, 1), (1, 0, 1)]);
    let input = random_image(&input_sig, &geometry, 2, 5, &device, DType::F32);
    let prediction = random_image(
        &signature(&[(0, 0, 1)]),
        &geometry,
        2,
        6,
        &device,
        DType::F32,
    );
    let next = ginrs_train::shift_window_after(&input, &prediction, &constants).unwrap();
    assert_eq!(next.signature(), input_sig);
    let values = |t: &TensorImage, i: usize| read_f64(&t.blocks()[i].1).unwrap();
    let (x, y, z) = (values(&input, 0), values(&prediction, 0), values(&next, 0));
    // Per item (batch 2) the scalar block holds 3 channels of 9 pixels.
    for item in 0..2 {
        let at = |v: &[f64], c: usize, channels: usize| {
            v[(item * channels + c) * 9..(item * channels + c + 1) * 9].to_vec()
        };
        assert_eq!(at(&z, 0, 3), at(&x, 0, 3), "the constant stays first");
        assert_eq!(at(&z, 1, 3), at(&x, 2, 3), "the newest frame moves back");
        assert_eq!(at(&z, 2, 3), at(&y, 0, 1), "the prediction comes last");
    }
    assert_eq!(
        values(&next, 1),
        values(&input, 1),
        "the vector key is kept"
    );
    // A prediction with a key the input lacks is refused.
    let foreign = random_image(
        &signature(&[(2, 0, 1)]),
        &geometry,
        2,
        7,
        &device,
        DType::F32,
    );
    assert!(ginrs_train::shift_window_after(&input, &foreign, &constants).is_err());
}

#[test]
fn bad_input_gets_typed_errors() {
    let device = device();
    let geometry = Geometry::square(2, 4, true).unwrap();
    let sig = signature(&[(0, 0, 1), (1, 0, 1)]);
    let other = signature(&[(0, 0, 2), (1, 0, 1)]);
    let mut conv = ConvContract::invariant(
        ConvContractConfig::new(sig.clone(), sig.clone()),
        2,
        3,
        1,
        &device,
    )
    .unwrap();
    let foreign = ConvContract::invariant(
        ConvContractConfig::new(other.clone(), sig.clone()),
        2,
        3,
        1,
        &device,
    )
    .unwrap();
    // A weights file for another signature.
    let text = weights::to_json(&foreign).unwrap();
    let before = weights::to_json(&conv).unwrap();
    assert!(matches!(
        weights::load_json(&mut conv, &text),
        Err(TrainError::Runtime(_))
    ));
    assert_eq!(
        weights::to_json(&conv).unwrap(),
        before,
        "a rejected file changes nothing"
    );
    assert!(matches!(
        weights::load_json(&mut conv, "{not json"),
        Err(TrainError::Runtime(_))
    ));
    // Mismatched batch signatures.
    let a = random_image(&sig, &geometry, 1, 1, &device, DType::F32)
        .to_multi_images()
        .unwrap();
    let b = random_image(&other, &geometry, 1, 2, &device, DType::F32)
        .to_multi_images()
        .unwrap();
    let mixed = [a[0].clone(), b[0].clone()];
    assert!(matches!(
        TensorImage::from_multi_images(&mixed, &device),
        Err(TrainError::BatchSignature { index: 1, .. })
    ));
    assert!(matches!(
        TensorImage::from_multi_images(&[], &device),
        Err(TrainError::EmptyBatch)
    ));
    // An input of another signature.
    let wrong = random_image(&other, &geometry, 1, 3, &device, DType::F32);
    assert!(matches!(
        conv.forward(&wrong),
        Err(TrainError::SignatureMismatch { .. })
    ));
    // A NaN loss stops training with the step's number.
    let input = random_image(&sig, &geometry, 1, 4, &device, DType::F32);
    let target = random_image(&sig, &geometry, 1, 5, &device, DType::F32);
    let mut trainer = Trainer::new(conv, Optimizer::adamw(), 1e-3);
    trainer.fit_batch(&input, &target, Loss::Smse).unwrap();
    let nan = trainer.step(|m| Ok(smse(&m.forward(&input)?, &target, Reduce::Mean)? * f64::NAN));
    assert!(
        matches!(nan, Err(TrainError::NonFiniteLoss { step: 1, .. })),
        "{nan:?}"
    );
    // A loss between images of different signatures.
    assert!(matches!(
        smse(&input, &wrong, Reduce::Mean),
        Err(TrainError::SignatureMismatch { .. })
    ));
}
