//! [`Model`]: ginjax's UNet, ResNet or DilResNet as one burn module that executes the
//! runtime's [`ModelPlan`].

use burn::module::Module;
use burn::tensor::Device;
use ginrs_runtime::models::{filter_leaves, layer_leaves, Node, Seam};
use ginrs_runtime::Model as RuntimeModel;
use ginrs_runtime::{ModelConfig, ModelFile, ModelPlan, NamedParam};

use crate::error::TrainError;
use crate::image::TensorImage;
#[cfg(feature = "flex")]
use crate::layers::host::{program::ProgramBuilder, FusedLayer, HostOp};
use crate::layers::{ImageModule, Route};
use crate::models::layer::ModelLayer;
use crate::params::{GinjaxParams, NamedTensor};

/// Everything about the model that is not a tensor.
#[derive(Debug, Clone)]
struct ModelSpec {
    plan: ModelPlan,
    /// Per layer in program order: its ginjax path.
    paths: Vec<String>,
    /// Per layer in program order: the indices of its burn parameters in ginjax's leaf order.
    leaf_order: Vec<Vec<usize>>,
    /// Per layer in program order: the invariant filters it took from its model file
    /// (constants, written back by [`Model::to_file`]).
    filters: Vec<Vec<NamedParam>>,
    /// The layers in ginjax's tree order.
    tree_order: Vec<usize>,
    /// Normalisation and residual learning around the network.
    seam: Seam,
}

/// ginjax's UNet, ResNet or DilResNet as a burn module (trainable on any burn device).
///
/// The model runs its [`ModelPlan`]: one [`ModelLayer`] per [`Node::Layer`], a stack of saved
/// images for the residual sums ([`Node::AddSaved`]) and skip concatenations
/// ([`Node::ConcatSaved`]), and the baseline's flattening to scalars and back. It is built
/// through the runtime's [`RuntimeModel`] (which validates the configuration and the
/// parameters, and draws fresh weights), and its parameters carry ginjax's tree paths in
/// ginjax's tree order ([`GinjaxParams`]), so it reads and writes the runtime's
/// [`ModelFile`]: a trained model runs in the runtime ([`Model::to_runtime`]).
#[derive(Module, Debug)]
pub struct Model {
    layers: Vec<ModelLayer>,
    #[module(skip)]
    spec: ModelSpec,
}

impl Model {
    /// A fresh model of `config`, initialised exactly as the runtime's
    /// [`RuntimeModel::new`] initialises it from `seed` (ginjax's bounds).
    pub fn new(config: &ModelConfig, device: &Device, seed: u64) -> Result<Self, TrainError> {
        let runtime = RuntimeModel::new(config, seed).map_err(ginrs_runtime::Error::from)?;
        Self::from_runtime(&runtime, device)
    }

    /// The model of a model file (a ginjax export or a file written by [`Model::to_file`]),
    /// with its seam. Missing, extra or misshapen parameters are errors naming their path.
    pub fn from_file(file: &ModelFile, device: &Device) -> Result<Self, TrainError> {
        let runtime = RuntimeModel::from_file(file).map_err(ginrs_runtime::Error::from)?;
        Self::from_runtime(&runtime, device)
    }

    /// A trainable copy of a runtime model (its configuration and current parameters).
    pub fn from_runtime(runtime: &RuntimeModel, device: &Device) -> Result<Self, TrainError> {
        let dim = runtime.config().dim;
        let mut layers = Vec::new();
        let mut paths = Vec::new();
        let mut leaf_order = Vec::new();
        let mut filters = Vec::new();
        for (path, built) in runtime.layers() {
            let layer = ModelLayer::from_built(built, dim, device)?;
            let ours: Vec<String> = layer
                .named_tensors()
                .into_iter()
                .map(|(leaf, _)| format!("{path}{leaf}"))
                .collect();
            let theirs: Vec<String> = layer_leaves(built, path)
                .into_iter()
                .map(|leaf| leaf.path)
                .collect();
            let order: Option<Vec<usize>> = theirs
                .iter()
                .map(|leaf| ours.iter().position(|p| p == leaf))
                .collect();
            match order {
                Some(order) if ours.len() == theirs.len() => leaf_order.push(order),
                _ => {
                    return Err(TrainError::Unsupported(format!(
                        "layer {path}: the burn parameters {ours:?} are not the runtime's \
                         leaves {theirs:?}"
                    )))
                }
            }
            filters.push(filter_leaves(built, path));
            layers.push(layer);
            paths.push(path.to_string());
        }
        let tree_order = tree_order(&paths);
        Ok(Self {
            layers,
            spec: ModelSpec {
                plan: runtime.plan().clone(),
                paths,
                leaf_order,
                filters,
                tree_order,
                seam: runtime.seam().clone(),
            },
        })
    }

    /// The model with `seam` (normalisation, residual learning) around its network, checked
    /// against its signatures as the runtime checks it.
    pub fn with_seam(mut self, seam: Seam) -> Result<Self, TrainError> {
        seam.validate(self.config())
            .map_err(|e| ginrs_runtime::Error::from(ginrs_runtime::ModelError::from(e)))?;
        self.spec.seam = seam;
        Ok(self)
    }

    /// The normalisation and residual learning around the network.
    pub fn seam(&self) -> &Seam {
        &self.spec.seam
    }

    /// Selects the [`Route`] of every equivariant convolution, norm, nonlinearity and pool
    /// ([`ModelLayer::ConvContract`], [`ModelLayer::LayerNorm`], [`ModelLayer::VectorNeuron`],
    /// [`ModelLayer::Pool`]) of the model; a fresh model uses the default, [`Route::Auto`]. The baseline's layers
    /// have no route and are unchanged.
    pub fn with_route(mut self, route: Route) -> Self {
        self.layers = self
            .layers
            .into_iter()
            .map(|layer| match layer {
                ModelLayer::ConvContract(conv) => ModelLayer::ConvContract(conv.with_route(route)),
                ModelLayer::LayerNorm(norm) => ModelLayer::LayerNorm(norm.with_route(route)),
                ModelLayer::VectorNeuron(vn) => ModelLayer::VectorNeuron(vn.with_route(route)),
                ModelLayer::Pool(pool) => ModelLayer::Pool(pool.with_route(route)),
                other => other,
            })
            .collect();
        self
    }

    /// The runtime model of the current parameters (for fast inference).
    pub fn to_runtime(&self) -> Result<RuntimeModel, TrainError> {
        RuntimeModel::from_file(&self.to_file()?).map_err(|e| ginrs_runtime::Error::from(e).into())
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        self.spec.plan.config()
    }

    /// The program the model runs.
    pub fn plan(&self) -> &ModelPlan {
        &self.spec.plan
    }

    /// The layers, in program order, with their ginjax paths.
    pub fn layers(&self) -> impl Iterator<Item = (&str, &ModelLayer)> {
        self.spec.paths.iter().map(String::as_str).zip(&self.layers)
    }

    /// The number of trainable values: ginjax's `count_params` (every array leaf but the
    /// invariant filters).
    pub fn count_params(&self) -> usize {
        self.named_tensors()
            .iter()
            .map(|(_, t)| t.shape().iter().product::<usize>())
            .sum()
    }

    /// The model file of the current parameters (ginjax's tree paths and order, f32), which
    /// the runtime runs and [`Model::from_file`] reads back. A convolution's invariant filters
    /// taken from the file the model came from follow its parameters, as in ginjax's tree.
    pub fn to_file(&self) -> Result<ModelFile, TrainError> {
        let mut params = self.params()?.into_iter().map(|p| {
            NamedParam::new(
                p.path,
                p.shape,
                p.values.iter().map(|&v| v as f32).collect(),
            )
        });
        let mut leaves = Vec::new();
        for &i in &self.spec.tree_order {
            leaves.extend(params.by_ref().take(self.spec.leaf_order[i].len()));
            leaves.extend(self.spec.filters[i].iter().cloned());
        }
        Ok(ModelFile {
            config: self.config().clone(),
            params: leaves,
            seam: self.spec.seam.clone(),
            origin: None,
        })
    }

    /// Applies the model to a batch (each item independently, as ginjax's `vmap` of the model
    /// over the batch); the input must have the configuration's dimension and input signature.
    /// The seam normalises the input and turns the network's output into the prediction.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let config = self.config();
        if input.dim() != config.dim {
            return Err(TrainError::Dimension {
                expected: config.dim,
                got: input.dim(),
            });
        }
        input.expect_signature("model input", &config.input_keys)?;
        if self.spec.seam.is_identity() {
            return self.network(input);
        }
        let output = self.network(&super::seam::network_input(&self.spec.seam, input)?)?;
        super::seam::prediction(&self.spec.seam, input, output)
    }

    /// The network alone (no seam) on its input.
    fn network(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        #[cfg(feature = "flex")]
        if let Some((program, call)) = self.fused_call(input) {
            return program.apply(call, input);
        }
        let mut x = input.clone();
        let mut saved: Vec<TensorImage> = Vec::new();
        let mut layers = self.layers.iter();
        for node in self.spec.plan.nodes() {
            let mut pop = || {
                saved
                    .pop()
                    .expect("the plan pops only images it saved before")
            };
            x = match node {
                Node::Layer { .. } => layers
                    .next()
                    .expect("the model has one layer per layer node")
                    .forward_image(&x)?,
                Node::Save => {
                    saved.push(x.clone());
                    x
                }
                Node::AddSaved => x.add(&pop())?,
                Node::ConcatSaved => x.concat(&pop())?,
                Node::ToScalar => x.to_scalar()?,
                Node::FromScalar(layout) => x.from_scalar(layout)?,
            };
        }
        Ok(x)
    }

    /// Whether [`Model::forward`] on `input` runs the network as one fused program (one burn
    /// operation for the whole network, with its own backward pass): where every layer
    /// takes the fused route (none is [`Route::Dense`] and none is a baseline layer) and
    /// the fused route serves the input (f32 on burn's flex device). Otherwise the layers
    /// run one by one, each on its own route.
    pub fn runs_fused(&self, input: &TensorImage) -> bool {
        self.fused_call(input).is_some()
    }

    /// The fused program for `input` and its checked call, where the network runs so.
    #[cfg(feature = "flex")]
    fn fused_call(&self, input: &TensorImage) -> Option<(FusedLayer, HostOp)> {
        let program = self.program(input)?;
        let call = program.call(input).ok()?;
        Some((program, call))
    }

    /// Without burn's flex backend there is no fused route.
    #[cfg(not(feature = "flex"))]
    fn fused_call(&self, _: &TensorImage) -> Option<std::convert::Infallible> {
        None
    }

    /// The network as one fused program for `input` (see [`Model::runs_fused`]), where every
    /// layer takes the fused route and has a kernel for its input.
    #[cfg(feature = "flex")]
    fn program(&self, input: &TensorImage) -> Option<FusedLayer> {
        let fused = |layer: &ModelLayer| matches!(layer.route(), Some(r) if r != Route::Dense);
        if !self.layers.iter().all(fused) {
            return None;
        }
        let mut program = ProgramBuilder::new(input.signature(), input.geometry().clone());
        let mut layers = self.layers.iter();
        for node in self.spec.plan.nodes() {
            let step = match node {
                Node::Layer { .. } => layers
                    .next()
                    .expect("the model has one layer per layer node")
                    .push_fused(&mut program),
                Node::Save => {
                    program.save();
                    Ok(())
                }
                Node::AddSaved => program.add_saved(),
                Node::ConcatSaved => program.concat_saved(),
                Node::ToScalar | Node::FromScalar(_) => return None,
            };
            step.ok()?;
        }
        Some(program.finish())
    }
}

impl ImageModule for Model {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl GinjaxParams for Model {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        let mut out = Vec::new();
        for &i in &self.spec.tree_order {
            let mut named: Vec<Option<(String, NamedTensor)>> = self.layers[i]
                .named_tensors()
                .into_iter()
                .map(Some)
                .collect();
            for &j in &self.spec.leaf_order[i] {
                let (leaf, tensor) = named[j]
                    .take()
                    .expect("the leaf order is a permutation of the layer's parameters");
                out.push((format!("{}{leaf}", self.spec.paths[i]), tensor));
            }
        }
        out
    }
}

/// ginjax's tree order of the layers with paths `paths` (program order): the fields of the
/// models in declaration order, which is program order, except that the layers of one
/// `ConvBlock` follow its field order `conv`, `group_norm`, `nonlinearity` whatever order they
/// run in (a preactivated block runs norm, activation, convolution). A baseline layer's path
/// ends in the `LayerWrapper`'s `.modules[((), 0)]`.
fn tree_order(paths: &[String]) -> Vec<usize> {
    const FIELDS: [&str; 3] = [".conv", ".group_norm", ".nonlinearity"];
    let block_of = |path: &str| -> (String, usize) {
        let path = path.strip_suffix(".modules[((), 0)]").unwrap_or(path);
        FIELDS
            .iter()
            .enumerate()
            .find_map(|(rank, field)| path.strip_suffix(field).map(|b| (b.to_string(), rank)))
            .unwrap_or((path.to_string(), 0))
    };
    let mut blocks: Vec<String> = Vec::new();
    let mut keys: Vec<(usize, usize, usize)> = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let (block, rank) = block_of(path);
        let b = match blocks.iter().position(|seen| *seen == block) {
            Some(b) => b,
            None => {
                blocks.push(block);
                blocks.len() - 1
            }
        };
        keys.push((b, rank, i));
    }
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preactivated_blocks_list_the_convolution_first() {
        let paths: Vec<String> = [
            ".encoder[0].conv",
            ".encoder[0].nonlinearity",
            ".blocks[0][0].group_norm",
            ".blocks[0][0].nonlinearity",
            ".blocks[0][0].conv",
            ".blocks[0][1].group_norm.modules[((), 0)]",
            ".blocks[0][1].nonlinearity",
            ".blocks[0][1].conv.modules[((), 0)]",
            ".decode",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(tree_order(&paths), [0, 1, 4, 2, 3, 7, 5, 6, 8]);
    }
}
