//! The model seam: the one place where the command line tool meets a network.
//!
//! The rest of [`cli`](super) sees a model only through this module:
//!
//! - [`ModelSpec`]: the `model` section of a run configuration (serde, unknown keys
//!   rejected);
//! - [`ModelIo`]: the input and output signatures the data fixes (the past `p` frames
//!   stacked along the channels → the next frame);
//! - [`Network`]: a burn module. [`Network::new`] builds it from the spec, the I/O signatures,
//!   a device and a seed; it runs through [`ImageModule`]; [`Network::param_count`] counts
//!   its trainable values; [`Network::export_json`] writes it in the runtime's format.
//!   Checkpoints are burn records of it ([`super::checkpoint`] only needs `Module`);
//! - [`RuntimeNetwork`]: an exported file on the runtime's inference path
//!   ([`RuntimeNetwork::read`], [`RuntimeNetwork::forward_batch`]).
//!
//! The network is a stack of ginjax's seed layers, `depth` hidden layers of `width`
//! channels per key, then an output convolution:
//!
//! - equivariant: `ConvContract` on the B_2-invariant filters of side `kernel_size`, then
//!   `VectorNeuronNonlinear`, per hidden layer; hidden keys are a vector, a pseudoscalar and a
//!   scalar. Pairs that no invariant filter realises (scalar ↔ pseudoscalar at side 3) are
//!   dropped, as ginjax drops them;
//! - non-equivariant baseline (ginjax's `equivariant=False`): every field component becomes a
//!   scalar channel (ginjax's `to_scalar_multi_image`), the convolutions use the free filter
//!   basis (one one-hot filter per tap, so a `ConvContract` from scalars to scalars is a plain
//!   convolution) and the nonlinearity is relu; the output channels are put back into the
//!   output signature.
//!
//! Both use the torus padding the periodic data asks for. The export is the runtime's
//! `ginrs-ginjax-export/1` layer list ([`ginrs_runtime::GinjaxModel`]) wrapped in a small
//! envelope ([`FORMAT`]) that records the I/O signatures and the scalar layout.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ginrs_runtime::io::params::{signature_from_json, signature_to_json, SignatureEntryJson};
use ginrs_runtime::{
    BiasMode, ConvContractConfig, ConvOptions, DenseBank, GinjaxModel, ImageBlock, Layer,
    LayerWeights, MultiImage, Signature, TensorKey,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::CliError;
use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::{ConvContract, ImageModule, VectorNeuronNonlinear};

/// The `format` of an exported model file.
pub const FORMAT: &str = "ginrs-cli-network/1";

/// The `model` section of a run configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Equivariant layers (`true`) or the non-equivariant baseline (`false`).
    pub equivariant: bool,
    /// Channels per key of every hidden layer, ≥ 1.
    pub width: usize,
    /// Hidden layers (convolution + nonlinearity), ≥ 1.
    pub depth: usize,
    /// Filter side M, odd.
    pub kernel_size: usize,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            equivariant: true,
            width: 8,
            depth: 2,
            kernel_size: 3,
        }
    }
}

impl ModelSpec {
    /// Checks every field; the first violation names the field.
    pub fn validate(&self) -> Result<(), CliError> {
        let bad = |field, value: usize, requirement: &str| CliError::Invalid {
            field,
            value: value.to_string(),
            requirement: requirement.into(),
        };
        if self.width == 0 {
            return Err(bad("model.width", self.width, "must be at least 1"));
        }
        if self.depth == 0 {
            return Err(bad("model.depth", self.depth, "must be at least 1"));
        }
        if self.kernel_size.is_multiple_of(2) {
            return Err(bad("model.kernel_size", self.kernel_size, "must be odd"));
        }
        Ok(())
    }
}

/// The signatures a network maps between.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIo {
    /// The input signature (the past frames stacked along the channels).
    pub input: Signature,
    /// The output signature (one frame).
    pub output: Signature,
}

/// Everything about a network that is not a tensor.
#[derive(Debug, Clone)]
struct Layout {
    io: ModelIo,
    equivariant: bool,
}

/// The network behind the tool (see the module docs).
#[derive(Module, Debug)]
pub struct Network {
    /// `depth + 1` convolutions.
    convs: Vec<ConvContract>,
    /// `depth` nonlinearities, one after each convolution but the last.
    nonlinear: Vec<VectorNeuronNonlinear>,
    #[module(skip)]
    layout: Layout,
}

impl Network {
    /// Builds the network for `spec` mapping `io.input` to `io.output` on `device`; the
    /// initial weights are drawn from `seed` (layer `i` from `seed + i`).
    pub fn new(
        spec: &ModelSpec,
        io: &ModelIo,
        device: &Device,
        seed: u64,
    ) -> Result<Self, CliError> {
        spec.validate()?;
        let dim = 2;
        let (input, output, hidden) = if spec.equivariant {
            let hidden = Signature::new(vec![
                (TensorKey::vector(), spec.width),
                (TensorKey::new(0, 1), spec.width),
                (TensorKey::scalar(), spec.width),
            ])?;
            (io.input.clone(), io.output.clone(), hidden)
        } else {
            let scalars = |c| Signature::new(vec![(TensorKey::scalar(), c)]);
            (
                scalars(scalar_channels(&io.input, dim))?,
                scalars(scalar_channels(&io.output, dim))?,
                scalars(spec.width)?,
            )
        };
        // The baseline's filters: the free basis, one one-hot filter per tap.
        let free_bank = match spec.equivariant {
            true => None,
            false => Some(free_filters(dim, spec.kernel_size)?),
        };
        let mut signatures = vec![input];
        signatures.extend(std::iter::repeat_n(hidden.clone(), spec.depth));
        signatures.push(output.clone());
        let mut convs = Vec::with_capacity(spec.depth + 1);
        for (i, pair) in signatures.windows(2).enumerate() {
            let config =
                ConvContractConfig::new(pair[0].clone(), pair[1].clone()).allow_missing(true);
            let layer_seed = seed.wrapping_add(i as u64);
            let conv = match &free_bank {
                None => ConvContract::invariant(config, dim, spec.kernel_size, layer_seed, device)?,
                Some(bank) => ConvContract::new(config, bank, layer_seed, device)?,
            };
            if conv.output_signature() != pair[1] {
                return Err(TrainError::SignatureMismatch {
                    what: "network layer output (a key no filter reaches)",
                    expected: pair[1].clone(),
                    got: conv.output_signature(),
                }
                .into());
            }
            convs.push(conv);
        }
        let nonlinear = (0..spec.depth)
            .map(|i| {
                let layer_seed = seed.wrapping_add((spec.depth + 1 + i) as u64);
                VectorNeuronNonlinear::new(&hidden, layer_seed, device)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            convs,
            nonlinear,
            layout: Layout {
                io: io.clone(),
                equivariant: spec.equivariant,
            },
        })
    }

    /// The number of trainable values (the invariant filters are constants, not counted).
    pub fn param_count(&self) -> usize {
        self.num_params()
    }

    /// The input and output signatures.
    pub fn io(&self) -> &ModelIo {
        &self.layout.io
    }

    /// The network in the runtime's format (see the module docs), as JSON text.
    pub fn export_json(&self) -> Result<String, CliError> {
        let mut layers = Vec::new();
        for (i, conv) in self.convs.iter().enumerate() {
            layers.push(conv_json(&format!("conv{i}"), conv)?);
            if let Some(nonlinear) = self.nonlinear.get(i) {
                let params = serde_json::to_value(nonlinear.to_runtime()?.params())
                    .expect("nonlinearity parameters are plain data");
                let mut layer = json!({
                    "name": format!("nonlinear{i}"),
                    "type": "VectorNeuronNonlinear",
                    "D": 2,
                    "scalar_activation": "relu",
                });
                merge_object(&mut layer, params);
                layers.push(layer);
            }
        }
        let file = json!({
            "format": FORMAT,
            "equivariant": self.layout.equivariant,
            "input_keys": signature_to_json(&self.layout.io.input),
            "output_keys": signature_to_json(&self.layout.io.output),
            "model": {"schema": ginrs_runtime::io::ginjax_import::SCHEMA, "layers": layers},
        });
        Ok(serde_json::to_string(&file).expect("a JSON value serialises"))
    }
}

impl ImageModule for Network {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        input.expect_signature("network input", &self.layout.io.input)?;
        let mut x = if self.layout.equivariant {
            input.clone()
        } else {
            to_scalar_tensors(input)
        };
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(&x)?;
            if let Some(nonlinear) = self.nonlinear.get(i) {
                x = nonlinear.forward(&x)?;
            }
        }
        if self.layout.equivariant {
            Ok(x)
        } else {
            from_scalar_tensors(&x, &self.layout.io.output)
        }
    }
}

/// An exported network on the runtime's inference path.
pub struct RuntimeNetwork {
    model: GinjaxModel,
    io: ModelIo,
    equivariant: bool,
}

/// The envelope of an exported file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: String,
    equivariant: bool,
    input_keys: Vec<SignatureEntryJson>,
    output_keys: Vec<SignatureEntryJson>,
    model: Value,
}

impl RuntimeNetwork {
    /// Reads an exported model file.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path).map_err(CliError::io(path))?;
        Self::parse(&text).map_err(|message| CliError::ModelFile {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses an exported file's text; the error says what is wrong.
    fn parse(text: &str) -> Result<Self, String> {
        let file: FileJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!(
                "format `{}` is not supported: expected `{FORMAT}`",
                file.format
            ));
        }
        let signature = |entries: &[SignatureEntryJson]| {
            signature_from_json("network", entries).map_err(|e| e.to_string())
        };
        let io = ModelIo {
            input: signature(&file.input_keys)?,
            output: signature(&file.output_keys)?,
        };
        let model = GinjaxModel::from_value(&file.model).map_err(|e| e.to_string())?;
        Ok(Self {
            model,
            io,
            equivariant: file.equivariant,
        })
    }

    /// The input and output signatures.
    pub fn io(&self) -> &ModelIo {
        &self.io
    }

    /// Applies the network to each image of a batch (in parallel, on the runtime's layers).
    pub fn forward_batch(&self, inputs: &[MultiImage]) -> Result<Vec<MultiImage>, CliError> {
        for input in inputs {
            input
                .expect_signature(&self.io.input)
                .map_err(ginrs_runtime::Error::from)?;
        }
        if self.equivariant {
            return Ok(self.model.forward_batch(inputs)?);
        }
        let scalars = inputs
            .iter()
            .map(to_scalar_image)
            .collect::<Result<Vec<_>, _>>()?;
        self.model
            .forward_batch(&scalars)?
            .iter()
            .map(|y| from_scalar_image(y, &self.io.output))
            .collect()
    }
}

/// The number of scalar channels of a signature's components, `Σ channels · d^k`.
fn scalar_channels(signature: &Signature, dim: usize) -> usize {
    signature
        .entries()
        .iter()
        .map(|(key, c)| c * key.components(dim))
        .sum()
}

/// The free filter basis of side `size`: one one-hot scalar filter per tap.
fn free_filters(dim: usize, size: usize) -> Result<DenseBank, CliError> {
    let taps = size.pow(dim as u32);
    let mut identity = vec![0.0f32; taps * taps];
    for t in 0..taps {
        identity[t * taps + t] = 1.0;
    }
    DenseBank::new(dim, vec![size; dim], vec![(0, 0, taps, identity)])
        .map_err(|e| ginrs_runtime::Error::from(e).into())
}

/// Every block `[b, c, pixels, comps]` as `c · comps` scalar channels (channel-major, then
/// component), concatenated in signature order into one scalar block.
fn to_scalar_tensors(input: &TensorImage) -> TensorImage {
    let parts: Vec<Tensor<4>> = input
        .blocks()
        .iter()
        .map(|(_, t)| {
            let [b, c, p, q] = t.dims();
            t.clone().swap_dims(2, 3).reshape([b, c * q, p, 1])
        })
        .collect();
    let mut out = TensorImage::new(input.geometry().clone(), input.batch());
    out.push(TensorKey::scalar(), Tensor::cat(parts, 1))
        .expect("one block of the image's batch and pixels");
    out
}

/// The inverse of [`to_scalar_tensors`] for the signature `output`.
fn from_scalar_tensors(x: &TensorImage, output: &Signature) -> Result<TensorImage, TrainError> {
    let block = x
        .get(&TensorKey::scalar())
        .filter(|_| x.blocks().len() == 1)
        .ok_or_else(|| TrainError::SignatureMismatch {
            what: "baseline network output (one scalar block)",
            expected: output.clone(),
            got: x.signature(),
        })?;
    let [b, _, p, _] = block.dims();
    let dim = x.dim();
    let mut out = TensorImage::new(x.geometry().clone(), x.batch());
    let mut offset = 0;
    for (key, c) in output.entries() {
        let q = key.components(dim);
        let part = block
            .clone()
            .narrow(1, offset, c * q)
            .reshape([b, *c, q, p])
            .swap_dims(2, 3);
        out.push(key.clone(), part)?;
        offset += c * q;
    }
    Ok(out)
}

/// [`to_scalar_tensors`] on one runtime multi-image (layout `(channels, pixels, comps)`).
fn to_scalar_image(image: &MultiImage) -> Result<MultiImage, CliError> {
    let geometry = image.geometry();
    let pixels = geometry.pixels();
    let mut data = Vec::with_capacity(image.blocks().iter().map(|b| b.data().len()).sum());
    for block in image.blocks() {
        let q = block.components();
        for channel in block.data().chunks_exact(pixels * q) {
            for comp in 0..q {
                data.extend(channel.iter().skip(comp).step_by(q));
            }
        }
    }
    let channels = data.len() / pixels;
    let block = ImageBlock::new(geometry.clone(), TensorKey::scalar(), channels, data)?;
    Ok(MultiImage::from_blocks(geometry.clone(), vec![block])?)
}

/// The inverse of [`to_scalar_image`] for the signature `output`.
fn from_scalar_image(image: &MultiImage, output: &Signature) -> Result<MultiImage, CliError> {
    image
        .expect_signature(&Signature::new(vec![(
            TensorKey::scalar(),
            scalar_channels(output, image.dim()),
        )])?)
        .map_err(ginrs_runtime::Error::from)?;
    let geometry = image.geometry();
    let pixels = geometry.pixels();
    let scalars = image.blocks()[0].data();
    let mut out = MultiImage::new(geometry.clone());
    let mut offset = 0;
    for (key, c) in output.entries() {
        let q = key.components(image.dim());
        let mut data = vec![0.0f32; c * pixels * q];
        for channel in 0..*c {
            for comp in 0..q {
                let source = &scalars[(offset + channel * q + comp) * pixels..][..pixels];
                for (p, &v) in source.iter().enumerate() {
                    data[(channel * pixels + p) * q + comp] = v;
                }
            }
        }
        offset += c * q;
        out.insert(ImageBlock::new(geometry.clone(), key.clone(), *c, data)?)?;
    }
    Ok(out)
}

/// One `ConvContract` layer object of the runtime's export format.
fn conv_json(name: &str, conv: &ConvContract) -> Result<Value, CliError> {
    let config = conv.config();
    if config.options != ConvOptions::default() {
        return Err(TrainError::Unsupported(format!(
            "exporting convolution options other than ginjax's defaults: {:?}",
            config.options
        ))
        .into());
    }
    let bank = conv.bank();
    let blocks: Vec<Value> = bank
        .blocks()
        .iter()
        .map(|block| {
            let mut shape = vec![block.count()];
            shape.extend_from_slice(bank.sides());
            shape.extend(std::iter::repeat_n(bank.dim(), block.k()));
            json!({
                "k": block.k(),
                "parity": block.parity(),
                "covariant_axes": vec![false; block.k()],
                "array": {"shape": shape, "data": block.data()},
            })
        })
        .collect();
    let mut layer = json!({
        "name": name,
        "type": "ConvContract",
        "D": bank.dim(),
        "input_keys": signature_to_json(&config.input),
        "target_keys": signature_to_json(&config.target),
        "use_bias": bias_json(config.bias),
        // ginjax's defaults (`None`): inferred (torus) padding, stride 1, no dilation.
        "padding": Value::Null,
        "stride": Value::Null,
        "lhs_dilation": Value::Null,
        "rhs_dilation": Value::Null,
        "allow_missing": config.allow_missing,
        "filter_bank": {"D": bank.dim(), "is_torus": vec![true; bank.dim()], "blocks": blocks},
    });
    let weights: LayerWeights = conv.to_weights()?;
    merge_object(
        &mut layer,
        serde_json::to_value(weights).expect("layer weights are plain data"),
    );
    Ok(layer)
}

/// ginjax's `use_bias` encoding of a bias mode.
fn bias_json(mode: BiasMode) -> Value {
    match mode {
        BiasMode::None => Value::Bool(false),
        BiasMode::Auto => "auto".into(),
        BiasMode::Mean => "mean".into(),
        BiasMode::Scalar => "scalar".into(),
    }
}

/// Copies the fields of the object `extra` into the object `target`.
fn merge_object(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}
