//! Whole models (ginjax's UNet, ResNet, DilResNet) in f32 on burn's flex backend: a freshly
//! built equivariant model trained a few Adam steps stays equivariant over all of B_2; a model
//! starts as the runtime's model of the same seed, and after training its file runs in the
//! runtime with the same outputs (1e-5); model files round-trip (burn → file → burn gives the
//! same parameters and outputs); the baseline (non-equivariant) models run, train and
//! round-trip; bad files and inputs are typed errors; [`Model::with_route`] sets the route of
//! every equivariant convolution, and the dense and fused routes give a model the same outputs
//! and gradients.

mod common;

use burn::module::Module;
use burn::tensor::{DType, Device};
use common::{max_abs_diff, random_image, signature, train_a_little};
use ginrs_runtime::models::{BaselinePadding, ModelError};
use ginrs_runtime::Model as RuntimeModel;
use ginrs_runtime::{
    check_fn, Elements, Geometry, Layer, ModelConfig, ModelFile, ModelKind, MultiImage,
};
use ginrs_train::{
    GinjaxParams, ImageModule, Loss, Model, ModelLayer, NamedArray, Reduce, Route, TensorImage,
    TrainError,
};

/// Relative equivariance error allowed after training, in f32. The trained ResNet's
/// eigen-whitening norms amplify rounding: its error is about 9e-6 here and 5e-6 for the same
/// parameters in the runtime, against 1e-6 or less for the UNet and DilResNet.
const EQUIVARIANCE_TOLERANCE: f32 = 5e-5;

fn device() -> Device {
    Device::flex().autodiff()
}

/// A small model of `kind` on scalars and vectors in 2-D, with ginjax's other defaults.
fn small(kind: ModelKind) -> ModelConfig {
    let keys = signature(&[(0, 0, 1), (1, 0, 1)]);
    let mut config = ModelConfig::new(kind, 2, keys.clone(), keys, 2);
    match kind {
        ModelKind::UNet => {
            config.num_downsamples = Some(1);
            config.num_conv = Some(1);
        }
        ModelKind::ResNet | ModelKind::DilResNet => config.num_blocks = Some(1),
    }
    config
}

/// The non-equivariant baseline of `small(kind)` with `kernel_size` 3 and `padding`.
fn baseline(kind: ModelKind, padding: BaselinePadding) -> ModelConfig {
    let mut config = small(kind);
    config.equivariant = false;
    config.conv_filters = None;
    config.upsample_filters = None;
    config.kernel_size = Some(3);
    config.padding_mode = padding;
    config
}

fn input(config: &ModelConfig, batch: usize, seed: u64) -> TensorImage {
    let geometry = Geometry::square(config.dim, 8, true).unwrap();
    random_image(
        &config.input_keys,
        &geometry,
        batch,
        seed,
        &device(),
        DType::F32,
    )
}

fn outputs(model: &Model, input: &TensorImage) -> Vec<MultiImage> {
    model.forward(input).unwrap().to_multi_images().unwrap()
}

/// Writes the model's file as JSON text, reads it back and builds a model from it.
fn through_a_file(model: &Model) -> Model {
    let text = model.to_file().unwrap().to_json().unwrap();
    Model::from_file(&ModelFile::from_json(&text).unwrap(), &device()).unwrap()
}

#[test]
fn trained_equivariant_models_stay_equivariant() {
    for kind in [ModelKind::UNet, ModelKind::ResNet, ModelKind::DilResNet] {
        let config = small(kind);
        let batch = input(&config, 2, 1);
        let model = Model::new(&config, &device(), 3).unwrap();
        let model = train_a_little(model, &batch, 3);
        let single = batch
            .narrow_batch(0, 1)
            .to_multi_images()
            .unwrap()
            .remove(0);
        let forward = |x: &MultiImage| -> Result<MultiImage, ginrs_runtime::Error> {
            let x = TensorImage::from_multi_images(std::slice::from_ref(x), &device())
                .expect("a valid image");
            let y = model.forward_image(&x).expect("forward pass");
            Ok(y.to_multi_images().expect("readback").remove(0))
        };
        let report = check_fn(forward, &single, &Elements::All).unwrap();
        // The same parameters in the runtime (its own f32 arithmetic).
        let runtime = model.to_runtime().unwrap();
        let runtime_report = check_fn(|x| runtime.forward(x), &single, &Elements::All).unwrap();
        println!(
            "{kind:?}: {} elements, relative equivariance error {:.2e} (runtime {:.2e})",
            report.per_element.len(),
            report.relative_error,
            runtime_report.relative_error
        );
        assert_eq!(report.per_element.len(), 8, "B_2 has 8 elements");
        assert!(report.holds(EQUIVARIANCE_TOLERANCE), "{kind:?}: {report:?}");
        assert!(
            runtime_report.holds(EQUIVARIANCE_TOLERANCE),
            "{kind:?} in the runtime: {runtime_report:?}"
        );
    }
}

/// Asserts that the runtime computes what `model` computes on `batch`, to 1e-5 of the
/// output's magnitude.
fn assert_runtime_agrees(name: &str, model: &Model, runtime: &RuntimeModel, batch: &TensorImage) {
    let ours = outputs(model, batch);
    let theirs = runtime
        .forward_batch(&batch.to_multi_images().unwrap())
        .unwrap();
    let (diff, scale) = max_abs_diff(&ours, &theirs);
    println!("{name}: burn and runtime outputs differ by {diff:.2e} (scale {scale:.2e})");
    assert!(
        diff <= 1e-5 * scale.max(1.0),
        "{name}: the runtime differs by {diff}"
    );
}

#[test]
fn models_start_as_the_runtime_and_export_to_it_after_training() {
    let configs = [ModelKind::UNet, ModelKind::ResNet, ModelKind::DilResNet]
        .into_iter()
        .flat_map(|kind| {
            let padding = match kind {
                ModelKind::ResNet => BaselinePadding::Circular,
                _ => BaselinePadding::Zeros,
            };
            [small(kind), baseline(kind, padding)]
        });
    for config in configs {
        let name = format!("{:?} (equivariant: {})", config.kind, config.equivariant);
        let batch = input(&config, 2, 8);
        let model = Model::new(&config, &device(), 21).unwrap();
        let fresh = RuntimeModel::new(&config, 21).unwrap();
        assert_eq!(model.count_params(), fresh.count_params(), "{name}");
        assert_runtime_agrees(&format!("{name}, fresh"), &model, &fresh, &batch);
        let model = train_a_little(model, &batch, 2);
        let runtime = model.to_runtime().unwrap();
        assert_runtime_agrees(&format!("{name}, trained"), &model, &runtime, &batch);
    }
}

#[test]
fn model_files_round_trip_with_ginjax_paths() {
    for kind in [ModelKind::UNet, ModelKind::ResNet, ModelKind::DilResNet] {
        let config = small(kind);
        let batch = input(&config, 2, 5);
        let model = Model::new(&config, &device(), 11).unwrap();
        let file = model.to_file().unwrap();
        // Every parameter is a ginjax leaf (no invariant filters), in the model's order.
        let named = model.params().unwrap();
        assert_eq!(file.params.len(), named.len());
        for (leaf, param) in file.params.iter().zip(&named) {
            assert_eq!(leaf.path, param.path);
            assert_eq!(leaf.shape, param.shape);
            assert!(!leaf.path.contains("invariant_filters"));
        }
        assert_eq!(model.count_params(), model.num_params(), "{kind:?}");
        let back = through_a_file(&model);
        assert_eq!(back.params().unwrap(), named, "{kind:?}: parameters");
        let (diff, _) = max_abs_diff(&outputs(&back, &batch), &outputs(&model, &batch));
        assert_eq!(diff, 0.0, "{kind:?}: the same outputs");
    }
}

#[test]
fn preactivated_resnet_lists_each_block_convolution_first() {
    let model = Model::new(&small(ModelKind::ResNet), &device(), 0).unwrap();
    let paths: Vec<String> = model
        .params()
        .unwrap()
        .into_iter()
        .map(|p| p.path)
        .filter(|p| p.starts_with(".blocks[0][0]"))
        .collect();
    // ginjax's ConvBlock fields are conv, group_norm, nonlinearity; the block runs them as
    // group_norm, nonlinearity, conv.
    assert_eq!(
        paths,
        [
            ".blocks[0][0].conv.weights[((), 0)][((), 0)]",
            ".blocks[0][0].conv.weights[((), 0)][((False,), 0)]",
            ".blocks[0][0].conv.weights[((False,), 0)][((), 0)]",
            ".blocks[0][0].conv.weights[((False,), 0)][((False,), 0)]",
            ".blocks[0][0].conv.bias[((), 0)]",
            ".blocks[0][0].conv.bias[((False,), 0)]",
            ".blocks[0][0].group_norm.scale[((False,), 0)]",
            ".blocks[0][0].group_norm.bias[((False,), 0)]",
            ".blocks[0][0].group_norm.vanilla_norm[((), 0)].weight",
            ".blocks[0][0].group_norm.vanilla_norm[((), 0)].bias",
            ".blocks[0][0].nonlinearity.weights[((False,), 0)]",
        ]
    );
}

#[test]
fn baseline_models_run_train_and_round_trip() {
    for (kind, padding) in [
        (ModelKind::UNet, BaselinePadding::Zeros),
        (ModelKind::ResNet, BaselinePadding::Circular),
        (ModelKind::DilResNet, BaselinePadding::Zeros),
    ] {
        let config = baseline(kind, padding);
        let batch = input(&config, 2, 2);
        let model = Model::new(&config, &device(), 4).unwrap();
        let output = model.forward(&batch).unwrap();
        assert_eq!(output.signature(), config.output_keys, "{kind:?}");
        assert_eq!(output.geometry(), batch.geometry(), "{kind:?}");
        let leaves: Vec<String> = model
            .params()
            .unwrap()
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert!(
            leaves
                .iter()
                .all(|p| p.ends_with(".modules[((), 0)].weight")
                    || p.ends_with(".modules[((), 0)].bias")),
            "{kind:?}: equinox leaves inside ginjax's LayerWrapper: {leaves:?}"
        );
        let model = train_a_little(model, &batch, 2);
        let back = through_a_file(&model);
        let (diff, _) = max_abs_diff(&outputs(&back, &batch), &outputs(&model, &batch));
        assert_eq!(diff, 0.0, "{kind:?}: the same outputs");
    }
}

#[test]
fn bad_files_and_inputs_are_typed_errors() {
    let config = small(ModelKind::ResNet);
    let model = Model::new(&config, &device(), 1).unwrap();
    let mut file = model.to_file().unwrap();
    let missing = file.params.remove(3);
    match Model::from_file(&file, &device()) {
        Err(TrainError::Runtime(ginrs_runtime::Error::Model(ModelError::Missing {
            path, ..
        }))) => assert_eq!(path, missing.path),
        other => panic!("expected a missing parameter, got {other:?}"),
    }
    let wrong = input(&small(ModelKind::UNet), 1, 0).to_scalar().unwrap();
    assert!(matches!(
        model.forward(&wrong),
        Err(TrainError::SignatureMismatch { .. })
    ));
}

/// The routes of the model's equivariant convolutions, in program order.
fn routes(model: &Model) -> Vec<Route> {
    model
        .layers()
        .filter_map(|(_, layer)| match layer {
            ModelLayer::ConvContract(conv) => Some(conv.route()),
            _ => None,
        })
        .collect()
}

/// The loss gradients of every parameter of `model` on `batch` against `target`.
fn gradients(model: &Model, batch: &TensorImage, target: &TensorImage) -> Vec<NamedArray> {
    let loss = Loss::Smse
        .compute(&model.forward(batch).unwrap(), target, Reduce::Mean)
        .unwrap();
    model.grads(&loss.backward()).unwrap()
}

#[test]
fn dense_and_fused_routes_differentiate_a_model_alike() {
    for kind in [ModelKind::UNet, ModelKind::ResNet, ModelKind::DilResNet] {
        let config = small(kind);
        let batch = input(&config, 2, 6);
        let fresh = Model::new(&config, &device(), 9).unwrap();
        let convs = routes(&fresh).len();
        assert!(convs > 2, "{kind:?}: {convs} convolutions");
        assert!(routes(&fresh).iter().all(|&r| r == Route::Auto));
        let dense = fresh.clone().with_route(Route::Dense);
        let fused = fresh.with_route(Route::Fused);
        assert_eq!(routes(&dense), vec![Route::Dense; convs], "{kind:?}");
        assert_eq!(routes(&fused), vec![Route::Fused; convs], "{kind:?}");
        // The fused model runs as one program; the dense one layer by layer.
        assert!(fused.runs_fused(&batch), "{kind:?}");
        assert!(!dense.runs_fused(&batch), "{kind:?}");
        let (diff, scale) = max_abs_diff(&outputs(&fused, &batch), &outputs(&dense, &batch));
        assert!(
            diff <= 1e-5 * scale.max(1.0),
            "{kind:?}: the routes' outputs differ by {diff}"
        );
        // Every parameter's gradient passes through the convolutions' backward passes.
        let target = input(&config, 2, 7);
        let (dense, fused) = (
            gradients(&dense, &batch, &target),
            gradients(&fused, &batch, &target),
        );
        let scale = dense
            .iter()
            .flat_map(|g| &g.values)
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{kind:?}: a loss with gradients");
        for (d, f) in dense.iter().zip(&fused) {
            assert_eq!(d.path, f.path);
            let diff = d
                .values
                .iter()
                .zip(&f.values)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= 1e-4 * scale,
                "{kind:?} {}: the routes' gradients differ by {diff} (scale {scale})",
                d.path
            );
        }
    }
}
