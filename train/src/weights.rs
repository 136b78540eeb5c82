//! Weight exchange with the runtime: a trained [`ConvContract`] writes the runtime's
//! [`LayerWeights`] JSON (ginjax's layout and order) and loads from it.
//!
//! The runtime validates every file against the layer's configuration, so a file written for
//! another signature (missing, extra or misshapen pairs or biases) is a typed error and leaves
//! the layer unchanged. A runtime layer built from the file
//! (`ginrs_runtime::ConvContract::from_weights`) reproduces the module's forward pass.

use std::path::Path;

use ginrs_runtime::LayerWeights;

use crate::error::TrainError;
use crate::layers::ConvContract;

/// The layer's current parameters as the runtime's `LayerWeights` JSON text.
pub fn to_json(layer: &ConvContract) -> Result<String, TrainError> {
    Ok(layer.to_weights()?.to_json())
}

/// Replaces the layer's parameters by those of a `LayerWeights` JSON text.
pub fn load_json(layer: &mut ConvContract, text: &str) -> Result<(), TrainError> {
    let weights = LayerWeights::from_json(text).map_err(ginrs_runtime::Error::from)?;
    layer.load_weights(&weights)
}

/// Writes the layer's parameters to a `LayerWeights` JSON file.
pub fn save(layer: &ConvContract, path: &Path) -> Result<(), TrainError> {
    std::fs::write(path, to_json(layer)?).map_err(|e| TrainError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Replaces the layer's parameters by those of a `LayerWeights` JSON file.
pub fn load(layer: &mut ConvContract, path: &Path) -> Result<(), TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    load_json(layer, &text)
}
