//! Readers for the ginjax fixture files and the tolerance they are compared with.

use std::path::PathBuf;

use ginrs_runtime::{Geometry, ImageBlock, MultiImage, Signature, TensorKey};
use serde_json::Value;

/// The path of a fixture file in `tests/fixtures/`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Loads and parses a fixture file, e.g. `load("convolve.json")`.
pub fn load(name: &str) -> Value {
    let path = path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

/// The `cases` list of a fixture file.
pub fn cases(file: &Value) -> &[Value] {
    file["cases"]
        .as_array()
        .expect("fixture has a `cases` list")
}

/// A numeric array of a fixture: shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major, as f64 (exact for every dtype the fixtures use).
    pub data: Vec<f64>,
}

impl Array {
    /// The values cast to f32 (exact for `float32` arrays).
    pub fn f32s(&self) -> Vec<f32> {
        self.data.iter().map(|&x| x as f32).collect()
    }

    /// The values as integers (for `int` arrays).
    pub fn ints(&self) -> Vec<i64> {
        self.data.iter().map(|&x| x as i64).collect()
    }
}

/// Parses `{"shape": [...], "dtype": ..., "data": [...]}`.
pub fn array(value: &Value) -> Array {
    let shape: Vec<usize> = value["shape"]
        .as_array()
        .unwrap_or_else(|| panic!("not an array object: {value}"))
        .iter()
        .map(|n| n.as_u64().expect("shape entries are integers") as usize)
        .collect();
    let data: Vec<f64> = value["data"]
        .as_array()
        .expect("array object has `data`")
        .iter()
        .map(|x| x.as_f64().expect("array data are numbers"))
        .collect();
    assert_eq!(
        data.len(),
        shape.iter().product::<usize>(),
        "data length does not match shape {shape:?}"
    );
    Array { shape, data }
}

/// Parses a key `{"k", "parity", "covariant_axes"}`.
pub fn key(value: &Value) -> TensorKey {
    let parity = value["parity"].as_u64().expect("key has parity") as u8;
    let covariant: Vec<bool> = value["covariant_axes"]
        .as_array()
        .expect("key has covariant_axes")
        .iter()
        .map(|b| b.as_bool().expect("covariant flags are booleans"))
        .collect();
    assert_eq!(covariant.len() as u64, value["k"].as_u64().unwrap());
    TensorKey::with_covariant(covariant, parity)
}

/// Parses a signature: a list of `{"k", "parity", "covariant_axes", "channels"}`.
pub fn signature(value: &Value) -> Signature {
    let entries = value
        .as_array()
        .expect("signature is a list")
        .iter()
        .map(|e| (key(e), e["channels"].as_u64().unwrap() as usize))
        .collect();
    Signature::new(entries).expect("fixture signature is valid")
}

/// Parses a boolean-or-list field (e.g. `is_torus`) into one flag per axis.
pub fn flags(value: &Value, dim: usize) -> Vec<bool> {
    match value {
        Value::Bool(b) => vec![*b; dim],
        Value::Array(items) => items.iter().map(|b| b.as_bool().unwrap()).collect(),
        other => panic!("expected a bool or a list of bools, got {other}"),
    }
}

/// Parses a MultiImage whose blocks have exactly one leading (channel) axis.
pub fn multi_image(value: &Value) -> MultiImage {
    let mut batch = multi_image_batch(value, 1);
    assert_eq!(batch.len(), 1);
    batch.pop().unwrap()
}

/// Parses a MultiImage whose blocks have `leading` leading axes: with 2, the first is a batch
/// axis and one multi-image is returned per batch entry; with 1, a single multi-image.
pub fn multi_image_batch(value: &Value, leading: usize) -> Vec<MultiImage> {
    assert!(leading == 1 || leading == 2, "1 or 2 leading axes");
    let dim = value["D"].as_u64().expect("multi-image has D") as usize;
    let torus = flags(&value["is_torus"], dim);
    let blocks = value["blocks"].as_array().expect("multi-image has blocks");
    let mut images: Vec<MultiImage> = Vec::new();
    for block in blocks {
        let key = key(block);
        let array = array(&block["array"]);
        let spatial = array.shape[leading..leading + dim].to_vec();
        let geometry = Geometry::new(spatial, torus.clone()).expect("fixture geometry is valid");
        let batch = if leading == 2 { array.shape[0] } else { 1 };
        let channels = array.shape[leading - 1];
        let values = array.f32s();
        let per_item = values.len() / batch;
        if images.is_empty() {
            images = (0..batch)
                .map(|_| MultiImage::new(geometry.clone()))
                .collect();
        }
        for (b, image) in images.iter_mut().enumerate() {
            let data = values[b * per_item..(b + 1) * per_item].to_vec();
            let block = ImageBlock::new(geometry.clone(), key.clone(), channels, data)
                .expect("fixture block is consistent");
            image.insert(block).expect("fixture keys are distinct");
        }
    }
    images
}

/// The largest absolute value of `values` (0 for an empty slice).
pub fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// Asserts the fixtures' tolerance element-wise:
/// `|got − want| ≤ 1e-5·|want| + 1e-5·max(1, max|want|)`.
pub fn assert_close(got: &[f32], want: &[f32], context: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{context}: got {} values, want {}",
        got.len(),
        want.len()
    );
    let scale = max_abs(want).max(1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tolerance = 1e-5 * w.abs() + 1e-5 * scale;
        assert!(
            (g - w).abs() <= tolerance,
            "{context}: value {i}: got {g}, want {w} (tolerance {tolerance})"
        );
    }
}

/// Asserts that two multi-images have the same signature and geometry and close values.
pub fn assert_multi_image_close(got: &MultiImage, want: &MultiImage, context: &str) {
    assert_eq!(
        got.signature(),
        want.signature(),
        "{context}: signatures differ"
    );
    assert_eq!(
        got.geometry(),
        want.geometry(),
        "{context}: geometries differ"
    );
    for (g, w) in got.blocks().iter().zip(want.blocks()) {
        assert_close(
            g.data(),
            w.data(),
            &format!("{context}, block {:?}", w.key()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_layer_fixture() {
        let file = load("conv_contract_layer.json");
        let case = &cases(&file)[0];
        let input = multi_image(&case["input"]);
        assert_eq!(input.signature(), signature(&case["input_keys"]));
        assert_eq!(input.dim(), 2);
    }

    #[test]
    fn tolerance_accepts_close_and_rejects_far() {
        assert_close(&[1.0, 100.0], &[1.000001, 100.0001], "close");
        let far = std::panic::catch_unwind(|| assert_close(&[1.0], &[1.01], "far"));
        assert!(far.is_err());
    }
}
