//! A model with field normalisation and residual learning ([`Seam`]) stays equivariant under
//! every element of B_2, with a pseudoscalar, a scalar and a vector field in and out: scaling
//! commutes with the group action, the shift touches only the parity-0 scalar, and the
//! residual adds the input's newest frame, which moves with the input. Shifting the
//! pseudoscalar instead (which `Seam::validate` refuses) breaks equivariance, so the check can
//! fail.

use ginrs_runtime::models::{KeyScaling, Normalization, Seam};
use ginrs_runtime::{
    check_layer, Elements, Geometry, Model, ModelConfig, ModelKind, MultiImage, NormParity,
    Signature, TensorKey,
};

fn keys(channels: usize) -> Signature {
    Signature::new(vec![
        (TensorKey::new(0, 1), channels),
        (TensorKey::scalar(), channels),
        (TensorKey::vector(), channels),
    ])
    .unwrap()
}

fn input() -> MultiImage {
    let geometry = Geometry::square(2, 8, true).unwrap();
    let mut x = MultiImage::zeros(geometry, &keys(2));
    for (b, block) in x.blocks_mut().enumerate() {
        for (i, v) in block.data_mut().iter_mut().enumerate() {
            *v = ((i as f32 * 0.37 + b as f32).sin() + 0.3 * (i as f32 * 0.11).cos()) * 2.0;
        }
    }
    x
}

/// Per key: a different scale for each channel, and a shift for the scalar (the only
/// shiftable key).
fn normalization() -> Normalization {
    let side = |channels: usize, base: f32| {
        keys(channels)
            .entries()
            .iter()
            .map(|(key, c)| KeyScaling {
                key: key.clone(),
                shift: (0..*c)
                    .map(|i| {
                        if key.parity() == 0 && key.k() == 0 {
                            base + i as f32
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                scale: (0..*c).map(|i| 0.5 + base + 0.25 * i as f32).collect(),
            })
            .collect()
    };
    Normalization {
        input: side(2, 1.5),
        output: side(1, 0.1),
    }
}

fn model(seam: Seam) -> Model {
    let mut config = ModelConfig::new(ModelKind::ResNet, 2, keys(2), keys(1), 3);
    config.num_blocks = Some(1);
    config.use_group_norm = Some(true);
    config.norm_parity = NormParity::ParityCorrect;
    Model::new(&config, 7).unwrap().with_seam(seam).unwrap()
}

#[test]
fn normalised_residual_models_are_equivariant_under_all_of_b2() {
    let x = input();
    let seam = Seam {
        residual: true,
        normalization: Some(normalization()),
    };
    let report = check_layer(&model(seam), &x, &Elements::All).unwrap();
    assert!(
        report.holds(1e-5),
        "relative error {}",
        report.relative_error
    );
}

#[test]
fn a_shifted_pseudoscalar_would_break_equivariance() {
    let x = input();
    let mut n = normalization();
    n.output[0].shift = vec![0.7];
    let seam = Seam {
        residual: true,
        normalization: Some(n.clone()),
    };
    // The model refuses it …
    let mut config = ModelConfig::new(ModelKind::ResNet, 2, keys(2), keys(1), 3);
    config.num_blocks = Some(1);
    assert!(seam.validate(&config).is_err());
    // … and this is why: applied anyway (by hand, after the network), the reflections fail.
    let plain = model(Seam {
        residual: true,
        normalization: Some(normalization()),
    });
    struct Shifted(Model);
    impl ginrs_runtime::Layer for Shifted {
        fn forward(&self, x: &MultiImage) -> Result<MultiImage, ginrs_runtime::Error> {
            let mut y = self.0.forward(x)?;
            let pseudo = y.get_mut(&TensorKey::new(0, 1)).unwrap();
            pseudo.data_mut().iter_mut().for_each(|v| *v += 0.7 * 0.1);
            Ok(y)
        }
    }
    let report = check_layer(&Shifted(plain), &x, &Elements::All).unwrap();
    assert!(
        report.relative_error > 1e-3,
        "relative error {}",
        report.relative_error
    );
}
