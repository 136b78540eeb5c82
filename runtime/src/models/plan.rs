//! [`ModelPlan`]: a model as a straight program of layers and skip-connection steps, with
//! every layer's ginjax parameter path — the one description of UNet, ResNet and DilResNet
//! that the runtime's inference model and ginrs-train's burn model both execute.
//!
//! The program runs on one current image `x` and a stack of saved images: [`Node::Save`]
//! pushes a copy of `x`, [`Node::AddSaved`] pops one and adds it (ResNet's residual sums),
//! [`Node::ConcatSaved`] pops one and appends its channels after `x`'s (UNet's skip
//! connections, ginjax's `MultiImage.concat`). The structure follows ginjax's constructors and
//! `__call__`s in `ginjax/models.py` block for block, and the paths are
//! `jax.tree_util.keystr` of each layer in ginjax's model (`.embedding[0].conv`,
//! `.downsample_blocks[0][1][0].nonlinearity`, `.upsample_blocks[0][0]`, `.decode`, …).

use crate::image::{Signature, TensorKey};
use crate::layers::conv_contract::{BiasMode, ConvContractConfig};
use crate::layers::group_norm::NormParity;
use crate::layers::nonlinear::Activation;
use crate::models::config::{
    BaselinePadding, FilterSpec, ModelConfig, ModelConfigError, ModelKind,
};
use crate::ops::padding::{ConvOptions, Padding};

/// The dilations of one DilResNet block (ginjax's `DilResNet.__init__`).
pub const DILATIONS: [usize; 7] = [1, 2, 4, 8, 4, 2, 1];

/// A non-equivariant convolution of the baseline: equinox's `nn.Conv` with `'SAME'` padding
/// (or, for `transpose`, UNet's `nn.ConvTranspose` with kernel 2, stride 2, `'VALID'`), on the
/// one scalar key `((), 0)`. Its parameters are `.weight` (`(out, in, k, …, k)`) and, with
/// `bias`, `.bias` (`(out, 1, …, 1)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineConv {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel side.
    pub kernel_size: usize,
    /// Filter dilation.
    pub rhs_dilation: usize,
    /// Whether the convolution adds a bias.
    pub bias: bool,
    /// How `'SAME'` pads.
    pub padding: BaselinePadding,
    /// UNet's upsampling transposed convolution (stride 2, `'VALID'`, output side 2N).
    pub transpose: bool,
}

/// One layer of a model.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    /// An equivariant convolution (ginjax's `ConvContract`) with filters of `filters`.
    ConvContract {
        /// Signatures, bias and convolution options.
        config: ConvContractConfig,
        /// The invariant filter bank.
        filters: FilterSpec,
    },
    /// A baseline convolution.
    Conv(BaselineConv),
    /// ginjax's `LayerNorm` of `keys` (equivariant; parameters `.scale[key]`, `.bias[key]`,
    /// `.vanilla_norm[((), 0)].weight/.bias`), or for the baseline equinox's
    /// `nn.GroupNorm(1, c)` on the scalar key (parameters `.weight`, `.bias`).
    Norm {
        /// The normalised signature.
        keys: Signature,
        /// ginjax's `LayerNorm` (true) or equinox's `GroupNorm` (false).
        equivariant: bool,
        /// Whether pseudoscalar keys have a bias: the configuration's
        /// [`ModelConfig::norm_parity`] for the equivariant norm (no `.vanilla_norm[KEY].bias`
        /// leaf for a pseudoscalar key in the parity-correct mode), ginjax's for the baseline's
        /// (which normalises parity-0 scalars only).
        parity: NormParity,
    },
    /// The activation: vector neurons (ginjax's `VectorNeuronNonlinear`, parameters
    /// `.weights[key]`) when `equivariant`, else elementwise on every key (no parameters).
    Activation {
        /// The signature it applies to.
        keys: Signature,
        /// The scalar function.
        activation: Activation,
        /// Vector neurons (true) or elementwise (false).
        equivariant: bool,
    },
    /// ginjax's `MaxNormPool(2, use_norm)`.
    Pool {
        /// Patch side.
        patch_len: usize,
        /// Pool by tensor norm (equivariant) or per component (baseline).
        use_norm: bool,
    },
}

/// One step of a [`ModelPlan`].
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Apply a layer to `x`; `path` is its ginjax tree path.
    Layer {
        /// `jax.tree_util.keystr` of the layer in ginjax's model; parameter paths append the
        /// layer's own leaf paths.
        path: String,
        /// The layer.
        layer: LayerSpec,
    },
    /// Push a copy of `x`.
    Save,
    /// Pop an image and add it to `x` (same signature).
    AddSaved,
    /// Pop an image and append its channels after `x`'s, key by key (new keys last).
    ConcatSaved,
    /// Flatten every key's channels and tensor components into scalar channels, key by key
    /// (ginjax's `to_scalar_multi_image`): the baseline's input.
    ToScalar,
    /// Split the scalar channels back into this signature (ginjax's
    /// `from_scalar_multi_image`): the baseline's output.
    FromScalar(Signature),
}

/// A model as a program of [`Node`]s; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    config: ModelConfig,
    nodes: Vec<Node>,
}

impl ModelPlan {
    /// The plan of `config`'s model, block for block as ginjax builds it.
    pub fn new(config: &ModelConfig) -> Result<Self, ModelConfigError> {
        config.validate()?;
        let mut builder = Builder {
            config,
            nodes: Vec::new(),
        };
        let keys = builder.keys();
        if !config.equivariant {
            builder.nodes.push(Node::ToScalar);
        }
        match config.kind {
            ModelKind::UNet => builder.unet(&keys),
            ModelKind::ResNet | ModelKind::DilResNet => builder.resnet(&keys),
        }
        if !config.equivariant {
            builder
                .nodes
                .push(Node::FromScalar(config.output_keys.clone()));
        }
        Ok(Self {
            config: config.clone(),
            nodes: builder.nodes,
        })
    }

    /// The configuration the plan was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The program.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The layers with their paths, in program order.
    pub fn layers(&self) -> impl Iterator<Item = (&str, &LayerSpec)> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Layer { path, layer } => Some((path.as_str(), layer)),
            _ => None,
        })
    }
}

/// The signatures the layers see: ginjax's `input_keys`, `mid_keys`, `output_keys` after the
/// baseline's flattening to scalars.
struct Keys {
    input: Signature,
    mid: Signature,
    output: Signature,
}

struct Builder<'a> {
    config: &'a ModelConfig,
    nodes: Vec<Node>,
}

impl Builder<'_> {
    fn keys(&self) -> Keys {
        let c = self.config;
        if c.equivariant {
            let mid = c
                .mid_keys
                .clone()
                .unwrap_or_else(|| signature_union(&c.input_keys, &c.output_keys, c.depth));
            Keys {
                input: c.input_keys.clone(),
                mid,
                output: c.output_keys.clone(),
            }
        } else {
            let scalars = |signature: &Signature| {
                let channels = signature
                    .entries()
                    .iter()
                    .map(|(key, channels)| channels * key.components(c.dim))
                    .sum();
                scalar_signature(channels)
            };
            Keys {
                input: scalars(&c.input_keys),
                mid: c
                    .mid_keys
                    .clone()
                    .unwrap_or_else(|| scalar_signature(c.depth)),
                output: scalars(&c.output_keys),
            }
        }
    }

    fn layer(&mut self, path: String, layer: LayerSpec) {
        self.nodes.push(Node::Layer { path, layer });
    }

    /// A convolution from `input` to `output` at `path` (ginjax's `make_conv`).
    fn conv(&mut self, path: String, input: &Signature, output: &Signature, conv: ConvKind) {
        let c = self.config;
        if c.equivariant {
            let (options, filters) = match conv {
                ConvKind::Same { rhs_dilation, .. } => (
                    ConvOptions::default().rhs_dilation(rhs_dilation),
                    c.conv_filters.clone(),
                ),
                // ginjax's equivariant upsampling: padding ((1, 1),)*D, stride 1, lhs dilation 2.
                ConvKind::Upsample => (
                    ConvOptions::with_padding(Padding::Explicit(vec![(1, 1); c.dim]))
                        .lhs_dilation(2),
                    c.upsample_filters.clone(),
                ),
            };
            // ginjax's ConvContract skips an (input, target) pair whose invariant filter does
            // not exist ("relevant when there isn't an N=3, (0,1) filter", layers.py).
            let config = ConvContractConfig::new(input.clone(), output.clone())
                .bias(c.use_bias)
                .options(options)
                .allow_missing(true);
            let filters = filters.expect("validate() requires the equivariant filters");
            self.layer(path, LayerSpec::ConvContract { config, filters });
        } else {
            let (kernel_size, rhs_dilation, transpose) = match conv {
                ConvKind::Same {
                    kernel_size,
                    rhs_dilation,
                } => (kernel_size, rhs_dilation, false),
                ConvKind::Upsample => (2, 1, true),
            };
            let conv = BaselineConv {
                in_channels: scalar_channels(input),
                out_channels: scalar_channels(output),
                kernel_size,
                rhs_dilation,
                // ginjax's make_conv: `'auto'` is True for equinox's convolutions.
                bias: c.use_bias != BiasMode::None,
                padding: if transpose {
                    BaselinePadding::Zeros
                } else {
                    c.padding_mode
                },
                transpose,
            };
            self.layer(format!("{path}.modules[((), 0)]"), LayerSpec::Conv(conv));
        }
    }

    /// ginjax's `ConvBlock` at `path`: conv → norm → activation, or with `preactivation`
    /// norm → activation → conv.
    fn block(&mut self, path: &str, input: &Signature, output: &Signature, block: Block) {
        let c = self.config;
        let norm = |keys: &Signature| {
            let (norm_path, layer) = if c.equivariant {
                (
                    format!("{path}.group_norm"),
                    LayerSpec::Norm {
                        keys: keys.clone(),
                        equivariant: true,
                        parity: c.norm_parity,
                    },
                )
            } else {
                (
                    format!("{path}.group_norm.modules[((), 0)]"),
                    LayerSpec::Norm {
                        keys: keys.clone(),
                        equivariant: false,
                        parity: NormParity::Ginjax,
                    },
                )
            };
            Node::Layer {
                path: norm_path,
                layer,
            }
        };
        let activation = |keys: &Signature| {
            block.activation.clone().map(|activation| Node::Layer {
                path: format!("{path}.nonlinearity"),
                layer: LayerSpec::Activation {
                    keys: keys.clone(),
                    activation,
                    equivariant: c.equivariant,
                },
            })
        };
        if block.preactivation {
            // ginjax builds the norm and the nonlinearity for the block's output keys and
            // applies them to its input; ResNet's blocks map mid_keys to mid_keys.
            if block.norm {
                self.nodes.push(norm(output));
            }
            self.nodes.extend(activation(output));
            self.conv(format!("{path}.conv"), input, output, block.conv);
        } else {
            self.conv(format!("{path}.conv"), input, output, block.conv);
            if block.norm {
                self.nodes.push(norm(output));
            }
            self.nodes.extend(activation(output));
        }
    }

    fn unet(&mut self, keys: &Keys) {
        let c = self.config;
        let conv = ConvKind::Same {
            kernel_size: c.kernel_size.unwrap_or(1),
            rhs_dilation: 1,
        };
        let mut block = Block::new(c.activation(), conv);
        block.norm = c.use_group_norm();
        let scaled = |level: u32| scale_channels(&keys.mid, 1 << level);
        for i in 0..c.num_conv() {
            let input = if i == 0 { &keys.input } else { &keys.mid };
            self.block(&format!(".embedding[{i}]"), input, &keys.mid, block.clone());
        }
        let levels = c.num_downsamples() as u32;
        for level in 1..=levels {
            let i = level - 1;
            self.nodes.push(Node::Save);
            self.layer(
                format!(".downsample_blocks[{i}][0]"),
                LayerSpec::Pool {
                    patch_len: 2,
                    use_norm: c.equivariant,
                },
            );
            for j in 0..c.num_conv() {
                let input = scaled(if j == 0 { level - 1 } else { level });
                let path = format!(".downsample_blocks[{i}][1][{j}]");
                self.block(&path, &input, &scaled(level), block.clone());
            }
        }
        for (i, level) in (0..levels).rev().enumerate() {
            self.conv(
                format!(".upsample_blocks[{i}][0]"),
                &scaled(level + 1),
                &scaled(level),
                ConvKind::Upsample,
            );
            self.nodes.push(Node::ConcatSaved);
            for j in 0..c.num_conv() {
                // The first block sees the upsampled image and the skip: twice the channels.
                let input = scaled(if j == 0 { level + 1 } else { level });
                let path = format!(".upsample_blocks[{i}][1][{j}]");
                self.block(&path, &input, &scaled(level), block.clone());
            }
        }
        self.conv(".decode".into(), &keys.mid, &keys.output, conv);
    }

    /// ResNet and DilResNet: the same encoder, residual blocks and decoder; they differ in
    /// the blocks' convolutions and order.
    fn resnet(&mut self, keys: &Keys) {
        let c = self.config;
        // ginjax passes kernel_size 1 to the encoder and decoder blocks (used by the baseline).
        let pointwise = ConvKind::Same {
            kernel_size: 1,
            rhs_dilation: 1,
        };
        let outer = Block::new(c.activation(), pointwise);
        self.block(".encoder[0]", &keys.input, &keys.mid, outer.clone());
        self.block(".encoder[1]", &keys.mid, &keys.mid, outer.clone());
        for b in 0..c.num_blocks() {
            self.nodes.push(Node::Save);
            let dilations: Vec<usize> = match c.kind {
                ModelKind::DilResNet => DILATIONS.to_vec(),
                _ => vec![1; c.num_conv()],
            };
            for (j, rhs_dilation) in dilations.into_iter().enumerate() {
                let conv = ConvKind::Same {
                    kernel_size: c.kernel_size.unwrap_or(1),
                    rhs_dilation,
                };
                let mut block = Block::new(c.activation(), conv);
                block.norm = c.use_group_norm();
                block.preactivation = c.kind == ModelKind::ResNet && c.preactivation_order();
                self.block(&format!(".blocks[{b}][{j}]"), &keys.mid, &keys.mid, block);
            }
            self.nodes.push(Node::AddSaved);
        }
        self.block(".decoder[0]", &keys.mid, &keys.mid, outer);
        let last = Block::new(None, pointwise);
        self.block(".decoder[1]", &keys.mid, &keys.output, last);
    }
}

/// What a block's convolution is.
#[derive(Debug, Clone, Copy)]
enum ConvKind {
    /// Inferred (equivariant) or `'SAME'` (baseline) padding, stride 1.
    Same {
        kernel_size: usize,
        rhs_dilation: usize,
    },
    /// UNet's upsampling.
    Upsample,
}

/// The options of one `ConvBlock`.
#[derive(Debug, Clone)]
struct Block {
    conv: ConvKind,
    activation: Option<Activation>,
    norm: bool,
    preactivation: bool,
}

impl Block {
    /// A block without norm, in the usual order.
    fn new(activation: Option<Activation>, conv: ConvKind) -> Self {
        Self {
            conv,
            activation,
            norm: false,
            preactivation: false,
        }
    }
}

/// ginjax's `signature_union(a, b, channels)`: every key of `a` or `b`, each with `channels`.
/// ginjax iterates a Python set, whose order is not part of its meaning (images are keyed
/// dicts and jax flattens dicts by sorted key); ginrs uses the sorted order.
fn signature_union(a: &Signature, b: &Signature, channels: usize) -> Signature {
    let mut keys: Vec<TensorKey> = a
        .entries()
        .iter()
        .chain(b.entries())
        .map(|(key, _)| key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    Signature::new(keys.into_iter().map(|key| (key, channels)).collect())
        .expect("distinct keys make a valid signature")
}

/// `channels` scalars.
fn scalar_signature(channels: usize) -> Signature {
    Signature::new(vec![(TensorKey::scalar(), channels)]).expect("one key is a valid signature")
}

/// The scalar channels of a baseline signature.
fn scalar_channels(signature: &Signature) -> usize {
    signature.entries().iter().map(|(_, c)| c).sum()
}

/// `signature` with every channel count multiplied by `factor`.
fn scale_channels(signature: &Signature, factor: usize) -> Signature {
    Signature::new(
        signature
            .entries()
            .iter()
            .map(|(key, c)| (key.clone(), c * factor))
            .collect(),
    )
    .expect("scaling channels keeps the keys distinct")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::scalars_and_vectors;

    fn config(kind: ModelKind) -> ModelConfig {
        ModelConfig::new(kind, 2, scalars_and_vectors(1), scalars_and_vectors(1), 2)
    }

    /// `(path, kind, input channels per key, output channels per key)` of every layer.
    fn summary(plan: &ModelPlan) -> Vec<(String, &'static str, Vec<usize>, Vec<usize>)> {
        let channels = |s: &Signature| s.entries().iter().map(|(_, c)| *c).collect();
        plan.layers()
            .map(|(path, layer)| {
                let (kind, input, output) = match layer {
                    LayerSpec::ConvContract { config, .. } => {
                        ("conv", channels(&config.input), channels(&config.target))
                    }
                    LayerSpec::Conv(conv) => {
                        ("baseline", vec![conv.in_channels], vec![conv.out_channels])
                    }
                    LayerSpec::Norm { keys, .. } => ("norm", channels(keys), channels(keys)),
                    LayerSpec::Activation { keys, .. } => ("act", channels(keys), channels(keys)),
                    LayerSpec::Pool { .. } => ("pool", vec![], vec![]),
                };
                (path.to_string(), kind, input, output)
            })
            .collect()
    }

    #[test]
    fn unet_layers_follow_ginjax_paths_and_channels() {
        // ginjax UNet(D=2, depth=2, num_downsamples=1, num_conv=1): the parameter paths and
        // weight shapes of ginjax's model (e.g. `.upsample_blocks[0][0].weights[...]` of
        // shape (2, 4, n)).
        let mut c = config(ModelKind::UNet);
        c.num_downsamples = Some(1);
        c.num_conv = Some(1);
        let plan = ModelPlan::new(&c).unwrap();
        let want: Vec<(&str, &str, Vec<usize>, Vec<usize>)> = vec![
            (".embedding[0].conv", "conv", vec![1, 1], vec![2, 2]),
            (".embedding[0].nonlinearity", "act", vec![2, 2], vec![2, 2]),
            (".downsample_blocks[0][0]", "pool", vec![], vec![]),
            (
                ".downsample_blocks[0][1][0].conv",
                "conv",
                vec![2, 2],
                vec![4, 4],
            ),
            (
                ".downsample_blocks[0][1][0].nonlinearity",
                "act",
                vec![4, 4],
                vec![4, 4],
            ),
            (".upsample_blocks[0][0]", "conv", vec![4, 4], vec![2, 2]),
            (
                ".upsample_blocks[0][1][0].conv",
                "conv",
                vec![4, 4],
                vec![2, 2],
            ),
            (
                ".upsample_blocks[0][1][0].nonlinearity",
                "act",
                vec![2, 2],
                vec![2, 2],
            ),
            (".decode", "conv", vec![2, 2], vec![1, 1]),
        ];
        let got = summary(&plan);
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.0.as_str(), g.1, &g.2, &g.3), (w.0, w.1, &w.2, &w.3));
        }
        let skips: Vec<&Node> = plan
            .nodes()
            .iter()
            .filter(|n| matches!(n, Node::Save | Node::ConcatSaved))
            .collect();
        assert_eq!(skips, [&Node::Save, &Node::ConcatSaved]);
        // The upsampling convolution: explicit (1, 1) padding, lhs dilation 2, side-2 filters.
        let (_, up) = plan.layers().nth(5).unwrap();
        let LayerSpec::ConvContract { config, filters } = up else {
            panic!("upsampling is a ConvContract")
        };
        assert_eq!(filters.size, 2);
        assert_eq!(config.options.lhs_dilation, 2.into());
        assert_eq!(
            config.options.padding,
            Padding::Explicit(vec![(1, 1), (1, 1)])
        );
    }

    #[test]
    fn resnet_blocks_are_preactivated_and_residual() {
        let mut c = config(ModelKind::ResNet);
        c.num_blocks = Some(1);
        let plan = ModelPlan::new(&c).unwrap();
        let paths: Vec<String> = summary(&plan).into_iter().map(|l| l.0).collect();
        assert_eq!(
            paths,
            [
                ".encoder[0].conv",
                ".encoder[0].nonlinearity",
                ".encoder[1].conv",
                ".encoder[1].nonlinearity",
                ".blocks[0][0].group_norm",
                ".blocks[0][0].nonlinearity",
                ".blocks[0][0].conv",
                ".blocks[0][1].group_norm",
                ".blocks[0][1].nonlinearity",
                ".blocks[0][1].conv",
                ".decoder[0].conv",
                ".decoder[0].nonlinearity",
                ".decoder[1].conv",
            ]
        );
        let saves = plan.nodes().iter().filter(|n| **n == Node::Save).count();
        let adds = plan
            .nodes()
            .iter()
            .filter(|n| **n == Node::AddSaved)
            .count();
        assert_eq!((saves, adds), (1, 1));
        assert!(matches!(c.activation(), Some(Activation::Gelu)));
    }

    #[test]
    fn dilresnet_blocks_dilate_and_normalise_after_the_convolution() {
        let mut c = config(ModelKind::DilResNet);
        c.num_blocks = Some(2);
        c.use_group_norm = Some(true);
        let plan = ModelPlan::new(&c).unwrap();
        let dilations: Vec<PerAxisValue> = plan
            .layers()
            .filter(|(path, _)| path.starts_with(".blocks[1]"))
            .filter_map(|(_, layer)| match layer {
                LayerSpec::ConvContract { config, .. } => Some(config.options.rhs_dilation.clone()),
                _ => None,
            })
            .collect();
        let want: Vec<PerAxisValue> = DILATIONS.iter().map(|&d| d.into()).collect();
        assert_eq!(dilations, want);
        let block: Vec<&str> = plan
            .layers()
            .filter(|(path, _)| path.starts_with(".blocks[0][3]"))
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            block,
            [
                ".blocks[0][3].conv",
                ".blocks[0][3].group_norm",
                ".blocks[0][3].nonlinearity"
            ]
        );
        assert!(matches!(c.activation(), Some(Activation::Relu)));
    }

    type PerAxisValue = crate::ops::padding::PerAxis;

    #[test]
    fn the_baseline_flattens_to_scalars_and_names_equinox_leaves() {
        let mut c = config(ModelKind::ResNet);
        c.equivariant = false;
        c.kernel_size = Some(3);
        c.num_blocks = Some(1);
        c.padding_mode = BaselinePadding::Circular;
        let plan = ModelPlan::new(&c).unwrap();
        assert_eq!(plan.nodes()[0], Node::ToScalar);
        assert_eq!(
            plan.nodes().last(),
            Some(&Node::FromScalar(scalars_and_vectors(1)))
        );
        let (path, first) = plan.layers().next().unwrap();
        assert_eq!(path, ".encoder[0].conv.modules[((), 0)]");
        // 1 scalar + 1 vector of 2 components = 3 scalar channels in, depth 2 out, kernel 1.
        let LayerSpec::Conv(conv) = first else {
            panic!("baseline convolution")
        };
        assert_eq!(
            (conv.in_channels, conv.out_channels, conv.kernel_size),
            (3, 2, 1)
        );
        let (norm_path, _) = plan
            .layers()
            .find(|(_, l)| matches!(l, LayerSpec::Norm { .. }))
            .unwrap();
        assert_eq!(norm_path, ".blocks[0][0].group_norm.modules[((), 0)]");
    }

    #[test]
    fn invalid_options_are_errors() {
        let mut c = config(ModelKind::DilResNet);
        c.num_downsamples = Some(2);
        assert!(matches!(
            ModelPlan::new(&c),
            Err(ModelConfigError::NotAnOption {
                what: "num_downsamples",
                ..
            })
        ));
        let mut c = config(ModelKind::ResNet);
        c.equivariant = false;
        assert_eq!(
            ModelPlan::new(&c),
            Err(ModelConfigError::KernelSize("ResNet"))
        );
        let mut c = config(ModelKind::UNet);
        c.upsample_filters = None;
        assert_eq!(ModelPlan::new(&c), Err(ModelConfigError::UpsampleFilters));
        let mut c = config(ModelKind::UNet);
        c.dim = 4;
        assert_eq!(ModelPlan::new(&c), Err(ModelConfigError::Dimension(4)));
    }
}
