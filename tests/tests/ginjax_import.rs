//! A model exported from ginjax by `scripts/export_ginjax.py` loads through
//! `ginrs_runtime::io::ginjax_import` and reproduces the outputs ginjax recorded for every layer.

use ginrs_runtime::io::ginjax_import::{GinjaxModel, ImportError, ImportedLayer};
use ginrs_runtime::{Error, Layer};
use ginrs_tests::fixtures;
use serde_json::Value;

fn export() -> Value {
    fixtures::load("ginjax_export.json")
}

#[test]
fn every_layer_reproduces_ginjax() {
    let file = export();
    let model = GinjaxModel::from_value(&file).unwrap();
    let kinds: Vec<&str> = model
        .layers()
        .iter()
        .map(|(_, layer)| match layer {
            ImportedLayer::ConvContract(_) => "ConvContract",
            ImportedLayer::GroupNorm(_) => "GroupNorm",
            ImportedLayer::VectorNeuronNonlinear(_) => "VectorNeuronNonlinear",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ConvContract",
            "GroupNorm",
            "VectorNeuronNonlinear",
            "ConvContract"
        ]
    );
    let input = fixtures::multi_image(&file["input"]);
    let outputs = model.forward_each(&input).unwrap();
    let recorded = file["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), recorded.len());
    for ((name, _), (got, want)) in model.layers().iter().zip(outputs.iter().zip(recorded)) {
        fixtures::assert_multi_image_close(got, &fixtures::multi_image(want), name);
    }
    let last = model.forward(&input).unwrap();
    assert_eq!(&last, outputs.last().unwrap());
}

#[test]
fn unknown_layer_types_are_named() {
    let mut file = export();
    file["layers"][2]["type"] = "Dropout".into();
    let err = GinjaxModel::from_value(&file).err().unwrap();
    assert_eq!(
        err,
        ImportError::UnknownLayer {
            index: 2,
            name: "nonlinear".into(),
            kind: "Dropout".into()
        }
    );
    assert!(err.to_string().contains("supported: ConvContract"));
}

#[test]
fn a_wrong_schema_is_refused() {
    let mut file = export();
    file["schema"] = "ginrs-ginjax-export/9".into();
    assert!(matches!(
        GinjaxModel::from_value(&file),
        Err(ImportError::Schema { .. })
    ));
    assert!(matches!(
        GinjaxModel::from_json("[1, 2]"),
        Err(ImportError::Format(_))
    ));
}

#[test]
fn malformed_options_name_the_field() {
    let mut file = export();
    file["layers"][0]["padding"] = "CIRCULAR".into();
    let err = GinjaxModel::from_value(&file).err().unwrap();
    match err {
        ImportError::Field {
            index,
            field,
            message,
            ..
        } => {
            assert_eq!((index, field), (0, "padding"));
            assert!(message.contains("CIRCULAR"), "{message}");
        }
        other => panic!("expected a field error, got {other}"),
    }
    let mut file = export();
    file["layers"][3]["use_bias"] = 3.into();
    let err = GinjaxModel::from_value(&file).err().unwrap();
    assert!(
        matches!(
            err,
            ImportError::Field {
                field: "use_bias",
                ..
            }
        ),
        "{err}"
    );
    let mut file = export();
    file["layers"][2]["scalar_activation"] = "gelu".into();
    let err = GinjaxModel::from_value(&file).err().unwrap();
    assert!(err.to_string().contains("`gelu` is not supported"), "{err}");
}

#[test]
fn missing_weights_and_bad_shapes_are_named() {
    let mut file = export();
    file["layers"][0]["weights"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let err = GinjaxModel::from_value(&file).err().unwrap();
    match &err {
        ImportError::Layer {
            index: 0, source, ..
        } => {
            assert!(matches!(**source, Error::Weights(_)), "{source}");
            assert!(err.to_string().contains("missing weights"), "{err}");
        }
        other => panic!("expected a layer error, got {other}"),
    }
    let mut file = export();
    file["layers"][1]["vector_scale"][0]["array"]["shape"] = serde_json::json!([3]);
    let err = GinjaxModel::from_value(&file).err().unwrap();
    assert!(matches!(err, ImportError::Layer { index: 1, .. }), "{err}");
}

/// The export's two convolutions, declared with the same signatures.
mod generated {
    use ginrs_runtime::equivariant_layer;

    #[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 3],
                        output = [scalar: 4, vector: 4], bias = auto)]
    pub struct Conv1;

    #[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 4, vector: 4],
                        output = [scalar: 1, vector: 2], bias = mean)]
    pub struct Conv2;
}

#[test]
fn exported_convolutions_load_into_generated_layers() {
    use ginrs_runtime::io::weights::LayerWeights;
    let file = export();
    let layers = file["layers"].as_array().unwrap();
    let outputs = file["outputs"].as_array().unwrap();
    let input = fixtures::multi_image(&file["input"]);

    let conv1 =
        generated::Conv1::from_weights(&LayerWeights::from_value(&layers[0]).unwrap()).unwrap();
    let got = conv1.forward(&input).unwrap();
    fixtures::assert_multi_image_close(&got, &fixtures::multi_image(&outputs[0]), "conv1");

    let conv2 =
        generated::Conv2::from_weights(&LayerWeights::from_value(&layers[3]).unwrap()).unwrap();
    let got = conv2.forward(&fixtures::multi_image(&outputs[2])).unwrap();
    fixtures::assert_multi_image_close(&got, &fixtures::multi_image(&outputs[3]), "conv2");
}
