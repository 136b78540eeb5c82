//! Whole models with ginjax's `LayerNorm` on pseudoscalar data: with
//! `ModelConfig::norm_parity = NormParity::ParityCorrect` (no learned bias on pseudoscalar
//! keys) an equivariant ResNet with nonzero learned norm parameters commutes with all 8
//! elements of B_2; ginjax's mode with nonzero biases does not (a reflection negates a
//! pseudoscalar, not a constant bias). The model file stores the mode as `norm_parity`, only
//! when it is not ginjax's.

use ginrs_runtime::models::ModelError;
use ginrs_runtime::{
    check_layer, Elements, Geometry, Layer, Model, ModelConfig, ModelFile, ModelFileError,
    ModelKind, MultiImage, NamedParam, NormParity, Signature, TensorKey,
};

/// `len` values in [−1, 1) from `seed` (splitmix64).
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn keys() -> Signature {
    Signature::new(vec![
        (TensorKey::new(0, 1), 1),
        (TensorKey::scalar(), 1),
        (TensorKey::vector(), 1),
    ])
    .unwrap()
}

/// An equivariant ResNet with norms (one residual block) on pseudoscalars, scalars and
/// vectors in 2-D.
fn resnet(parity: NormParity) -> ModelConfig {
    let mut config = ModelConfig::new(ModelKind::ResNet, 2, keys(), keys(), 2);
    config.num_blocks = Some(1);
    config.use_group_norm = Some(true);
    config.norm_parity = parity;
    config
}

fn input() -> MultiImage {
    let geometry = Geometry::square(2, 8, true).unwrap();
    let mut x = MultiImage::zeros(geometry, &keys());
    for (b, block) in x.blocks_mut().enumerate() {
        let len = block.data().len();
        block.data_mut().copy_from_slice(&noise(len, 10 + b as u64));
    }
    x
}

/// A model of `config` whose norm parameters are all learned-looking: weights and biases away
/// from ginjax's initial 1 and 0.
fn with_learned_norms(config: &ModelConfig) -> (Model, Vec<NamedParam>) {
    let mut params = Model::new(config, 5).unwrap().params();
    let mut norm_leaves = 0;
    for (i, p) in params.iter_mut().enumerate() {
        if p.path.contains(".group_norm.") {
            norm_leaves += 1;
            let values = noise(p.data.len(), 100 + i as u64);
            p.data = values.iter().map(|v| v + 0.5 * v.signum()).collect();
        }
    }
    assert!(norm_leaves > 0, "the ResNet has norms");
    (Model::from_params(config, &params).unwrap(), params)
}

#[test]
fn parity_correct_resnet_is_equivariant_under_all_of_b2() {
    let x = input();
    let (correct, correct_params) = with_learned_norms(&resnet(NormParity::ParityCorrect));
    let report = check_layer(&correct, &x, &Elements::All).unwrap();
    println!(
        "parity-correct: relative error {:.2e}",
        report.relative_error
    );
    assert_eq!(report.per_element.len(), 8);
    assert!(report.output_scale > 0.0);
    assert!(report.holds(1e-5), "parity-correct: {report:?}");

    let (ginjax, ginjax_params) = with_learned_norms(&resnet(NormParity::Ginjax));
    let report = check_layer(&ginjax, &x, &Elements::All).unwrap();
    println!("ginjax: relative error {:.2e}", report.relative_error);
    assert!(
        report.relative_error > 1e-2,
        "ginjax's pseudoscalar biases break reflections: {}",
        report.relative_error
    );

    // The leaves are ginjax's, less the pseudoscalar biases of the norms.
    let pseudo_bias = |p: &&NamedParam| p.path.ends_with(".vanilla_norm[((), 1)].bias");
    let dropped: Vec<&NamedParam> = ginjax_params.iter().filter(pseudo_bias).collect();
    assert!(!dropped.is_empty());
    assert!(!correct_params.iter().any(|p| pseudo_bias(&p)));
    let kept: Vec<&str> = ginjax_params
        .iter()
        .filter(|p| !pseudo_bias(p))
        .map(|p| p.path.as_str())
        .collect();
    let correct_paths: Vec<&str> = correct_params.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(correct_paths, kept);
    let dropped_values: usize = dropped.iter().map(|p| p.data.len()).sum();
    assert_eq!(
        ginjax.count_params() - correct.count_params(),
        dropped_values
    );
}

#[test]
fn model_files_store_norm_parity_only_when_not_ginjax() {
    let (correct, _) = with_learned_norms(&resnet(NormParity::ParityCorrect));
    let text = correct.to_file().to_json().unwrap();
    assert!(text.contains(r#""norm_parity":"parity_correct""#));
    let back = ModelFile::from_json(&text).unwrap();
    assert_eq!(back, correct.to_file());
    assert_eq!(back.config.norm_parity, NormParity::ParityCorrect);
    let x = input();
    assert_eq!(
        Model::from_file(&back)
            .unwrap()
            .forward_batch(std::slice::from_ref(&x))
            .unwrap(),
        correct.forward_batch(&[x]).unwrap()
    );

    // ginjax's mode writes no key; a file without it (ginjax's exports, older files) reads as
    // ginjax's mode.
    let (ginjax, _) = with_learned_norms(&resnet(NormParity::Ginjax));
    let ginjax_text = ginjax.to_file().to_json().unwrap();
    assert!(!ginjax_text.contains("norm_parity"));
    let back = ModelFile::from_json(&ginjax_text).unwrap();
    assert_eq!(back.config.norm_parity, NormParity::Ginjax);
    assert_eq!(back, ginjax.to_file());
    let explicit = ginjax_text.replace(r#""D":2"#, r#""D":2,"norm_parity":"ginjax""#);
    assert_ne!(explicit, ginjax_text);
    assert_eq!(ModelFile::from_json(&explicit).unwrap(), back);

    // The parity-correct file with the key removed is a ginjax-mode file that lacks the
    // pseudoscalar biases: a missing-leaf error naming one.
    let stripped = text.replace(r#","norm_parity":"parity_correct""#, "");
    assert_ne!(stripped, text);
    let old = ModelFile::from_json(&stripped).unwrap();
    assert_eq!(old.config.norm_parity, NormParity::Ginjax);
    assert!(matches!(
        Model::from_file(&old),
        Err(ModelError::Missing { path, .. }) if path.ends_with(".vanilla_norm[((), 1)].bias")
    ));
    // A ginjax file read as parity-correct has a leaf too many.
    let mut as_correct = ModelFile::from_json(&ginjax_text).unwrap();
    as_correct.config.norm_parity = NormParity::ParityCorrect;
    assert!(matches!(
        Model::from_file(&as_correct),
        Err(ModelError::Unknown { .. })
    ));

    // Unknown values are errors.
    let unknown = text.replace("parity_correct", "odd");
    assert!(matches!(
        ModelFile::from_json(&unknown),
        Err(ModelFileError::Config {
            field: "norm_parity",
            ..
        })
    ));
}
