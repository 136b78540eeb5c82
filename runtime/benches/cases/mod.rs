//! The cases of ginjax's model benchmark (`bench_ginjax_train.py`: `(name, model, D, N, batch,
//! kwargs)`), shared by the runtime's inference bench and ginrs-train's training bench (which
//! includes this file by path): input and output one scalar and one vector channel, ginjax's
//! defaults otherwise.

use ginrs_runtime::{ModelConfig, ModelKind, Signature, TensorKey};

/// One case of ginjax's model benchmark.
pub struct ModelCase {
    /// The case name ginjax's script prints.
    pub name: &'static str,
    /// The model.
    pub kind: ModelKind,
    /// Spatial dimension D.
    pub dim: usize,
    /// Image side N.
    pub side: usize,
    /// Batch size.
    pub batch: usize,
    /// ginjax's `depth` (channels per key).
    pub depth: usize,
    /// UNet's `num_downsamples`.
    pub downsamples: Option<usize>,
    /// `num_blocks` of ResNet and DilResNet.
    pub blocks: Option<usize>,
    /// `num_conv` of UNet and ResNet.
    pub convs: Option<usize>,
}

/// The four cases, in the script's order.
pub const MODEL_CASES: &[ModelCase] = &[
    ModelCase {
        name: "unet_d2_n64_b8_w8",
        kind: ModelKind::UNet,
        dim: 2,
        side: 64,
        batch: 8,
        depth: 8,
        downsamples: Some(2),
        blocks: None,
        convs: Some(2),
    },
    ModelCase {
        name: "resnet_d2_n64_b8_w8",
        kind: ModelKind::ResNet,
        dim: 2,
        side: 64,
        batch: 8,
        depth: 8,
        downsamples: None,
        blocks: Some(2),
        convs: Some(2),
    },
    ModelCase {
        name: "dilresnet_d2_n64_b8_w8",
        kind: ModelKind::DilResNet,
        dim: 2,
        side: 64,
        batch: 8,
        depth: 8,
        downsamples: None,
        blocks: Some(1),
        convs: None,
    },
    ModelCase {
        name: "unet_d3_n16_b2_w4",
        kind: ModelKind::UNet,
        dim: 3,
        side: 16,
        batch: 2,
        depth: 4,
        downsamples: Some(1),
        blocks: None,
        convs: Some(2),
    },
];

/// One scalar and one vector channel: every case's input and output signature.
pub fn scalar_and_vector() -> Signature {
    Signature::new(vec![(TensorKey::scalar(), 1), (TensorKey::vector(), 1)]).expect("distinct keys")
}

impl ModelCase {
    /// The case's model configuration.
    pub fn config(&self) -> ModelConfig {
        let mut config = ModelConfig::new(
            self.kind,
            self.dim,
            scalar_and_vector(),
            scalar_and_vector(),
            self.depth,
        );
        config.num_downsamples = self.downsamples;
        config.num_blocks = self.blocks;
        config.num_conv = self.convs;
        config
    }
}
