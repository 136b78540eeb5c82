//! [`Model`]: a UNet, ResNet or DilResNet for inference — the [`ModelPlan`] of its
//! configuration with every layer built ([`crate::models::build`]), run as a [`Layer`].
//!
//! The program's skip steps follow ginjax's `__call__`s: [`Node::AddSaved`] is
//! `x + residual_x`, [`Node::ConcatSaved`] is `upsample_x.concat(residual)` (ginjax's
//! `MultiImage.concat`: `x`'s channels first, the saved image's appended key by key, new keys
//! last), [`Node::ToScalar`] and [`Node::FromScalar`] are `to_scalar_multi_image` and
//! `from_scalar_multi_image` (per key in order, channel-major then tensor component).
//!
//! # The inputs of a model trained by `ginrs train`
//!
//! A model trained by `ginrs train` (ginrs-train's command line tool) takes the past `p`
//! frames stacked along each key's channels, **oldest first**: channel `j` of every input key
//! is frame `t − p + 1 + j`, so the newest frame is the last channel of each key. Its output is
//! the next frame, one channel per key. Frames stacked newest first have the same signature,
//! so nothing rejects them, but the predictions are wrong. To roll out, drop each key's first
//! channel and append the prediction's (ginrs-train's `shift_window`).

use rand::{RngCore, SeedableRng};

use crate::error::Error;
use crate::image::{buffers, ImageBlock, MultiImage, Signature, TensorKey};
use crate::io::model_file::{ModelFile, NamedParam};
use crate::layers::layer::Layer;
use crate::models::build::LayerBuilder;
use crate::models::built::BuiltLayer;
use crate::models::config::ModelConfig;
use crate::models::error::ModelError;
use crate::models::leaves::{filter_leaves, layer_leaves};
use crate::models::param_set::ParamSet;
use crate::models::plan::{ModelPlan, Node};
use crate::models::seam::Seam;

/// One step of a built model: a [`Node`] with its layer built.
#[derive(Debug)]
enum Step {
    Layer { path: String, layer: BuiltLayer },
    Save,
    AddSaved,
    ConcatSaved,
    ToScalar,
    FromScalar(Signature),
}

/// ginjax's `UNet`, `ResNet` or `DilResNet` for inference (see the module docs).
///
/// A model trained by `ginrs train` takes the past `p` frames stacked along each key's
/// channels, oldest first; the newest frame is the last channel of each key (see the module
/// docs).
#[derive(Debug)]
pub struct Model {
    plan: ModelPlan,
    steps: Vec<Step>,
    seam: Seam,
}

impl Model {
    /// A model of `config` initialised by the runtime layers' own rules (ginjax's bounds,
    /// drawn from ChaCha8 streams seeded from `seed`, not JAX's random numbers).
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self, ModelError> {
        let plan = ModelPlan::new(config)?;
        let mut builder = LayerBuilder::new(config.dim);
        let mut seeds = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Self::build(plan, |spec, path| {
            builder.init(spec, path, seeds.next_u64())
        })
    }

    /// A model of `config` with every leaf taken from `params` (ginjax tree paths). Missing
    /// leaves, leaves of the wrong shape, and leaves the model does not have are errors naming
    /// their paths. Recorded invariant filters are checked to be a basis of the invariant
    /// filters of the configuration's banks, and then used ([`crate::models::filters`]).
    pub fn from_params(config: &ModelConfig, params: &[NamedParam]) -> Result<Self, ModelError> {
        let plan = ModelPlan::new(config)?;
        let mut builder = LayerBuilder::new(config.dim);
        let mut set = ParamSet::new(params)?;
        let model = Self::build(plan, |spec, path| builder.load(spec, path, &mut set))?;
        set.finish()?;
        Ok(model)
    }

    /// The model a [`ModelFile`] describes, with its [`Seam`] (normalisation, residual).
    pub fn from_file(file: &ModelFile) -> Result<Self, ModelError> {
        Self::from_params(&file.config, &file.params)?.with_seam(file.seam.clone())
    }

    /// The model with `seam` around its network (checked against its signatures).
    pub fn with_seam(mut self, seam: Seam) -> Result<Self, ModelError> {
        seam.validate(self.config())?;
        self.seam = seam;
        Ok(self)
    }

    /// The normalisation and residual learning around the network.
    pub fn seam(&self) -> &Seam {
        &self.seam
    }

    fn build(
        plan: ModelPlan,
        mut layer: impl FnMut(&crate::models::plan::LayerSpec, &str) -> Result<BuiltLayer, ModelError>,
    ) -> Result<Self, ModelError> {
        let steps = plan
            .nodes()
            .iter()
            .map(|node| {
                Ok(match node {
                    Node::Layer { path, layer: spec } => Step::Layer {
                        path: path.clone(),
                        layer: layer(spec, path)?,
                    },
                    Node::Save => Step::Save,
                    Node::AddSaved => Step::AddSaved,
                    Node::ConcatSaved => Step::ConcatSaved,
                    Node::ToScalar => Step::ToScalar,
                    Node::FromScalar(signature) => Step::FromScalar(signature.clone()),
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(Self {
            plan,
            steps,
            seam: Seam::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        self.plan.config()
    }

    /// The program the model runs.
    pub fn plan(&self) -> &ModelPlan {
        &self.plan
    }

    /// The built layers with their paths, in program order.
    pub fn layers(&self) -> impl Iterator<Item = (&str, &BuiltLayer)> {
        self.steps.iter().filter_map(|step| match step {
            Step::Layer { path, layer } => Some((path.as_str(), layer)),
            _ => None,
        })
    }

    /// Every parameter leaf by ginjax tree path, layer by layer in program order (each
    /// layer's leaves in ginjax's tree order); no invariant filters.
    pub fn params(&self) -> Vec<NamedParam> {
        self.layers()
            .flat_map(|(path, layer)| layer_leaves(layer, path))
            .collect()
    }

    /// The model as a file: every parameter ([`Model::params`]), each layer's leaves followed
    /// by the invariant filters it took from the file it was loaded from, if any (where ginjax's
    /// tree has them), so that the file rebuilds the same layers.
    pub fn to_file(&self) -> ModelFile {
        let params = self
            .layers()
            .flat_map(|(path, layer)| {
                let mut leaves = layer_leaves(layer, path);
                leaves.extend(filter_leaves(layer, path));
                leaves
            })
            .collect();
        ModelFile {
            config: self.config().clone(),
            params,
            seam: self.seam.clone(),
            origin: None,
        }
    }

    /// ginjax's `count_params`: the number of values in all array leaves but the invariant
    /// filters.
    pub fn count_params(&self) -> usize {
        self.params().iter().map(|p| p.data.len()).sum()
    }

    /// The useful flops of one forward pass of `input`, in the units of
    /// [`crate::FlopCount`]: per convolution (equivariant or baseline), its stencil flops plus
    /// 2 × the multiply-adds of its channel mix, times its output pixels. Norms,
    /// nonlinearities and pools are not counted. `None` when a kernel does not report its
    /// stencil flops. Runs one forward pass (to learn every layer's input and output size).
    pub fn useful_flops(&self, input: &MultiImage) -> Result<Option<f64>, Error> {
        let mut total = 0.0;
        for ((_, layer), x) in self.layers().zip(self.layer_inputs(input)?) {
            let conv = match layer {
                BuiltLayer::ConvContract(conv) => conv.conv(),
                BuiltLayer::BaselineConv(baseline) => baseline.conv(),
                _ => continue,
            };
            let count = conv.flops_per_output_pixel();
            let Some(stencil) = count.stencil_flops else {
                return Ok(None);
            };
            let pixels = layer.forward(&x)?.geometry().pixels();
            total += (stencil + 2 * count.gemm_muladds) as f64 * pixels as f64;
        }
        Ok(Some(total))
    }

    /// The image each layer receives in a forward pass of `input`, in program order (to
    /// inspect or time layers one by one).
    pub fn layer_inputs(&self, input: &MultiImage) -> Result<Vec<MultiImage>, Error> {
        let mut seen = Vec::new();
        self.run(input, Some(&mut seen))?;
        Ok(seen)
    }

    /// Runs the seam and the program; with `seen`, records every layer's input.
    fn run(
        &self,
        input: &MultiImage,
        seen: Option<&mut Vec<MultiImage>>,
    ) -> Result<MultiImage, ModelError> {
        let expected = &self.config().input_keys;
        if &input.signature() != expected {
            return Err(ModelError::Input {
                expected: expected.to_string(),
                got: input.signature().to_string(),
            });
        }
        if self.seam.is_identity() {
            return self.run_network(input, seen);
        }
        let normalised = self.seam.network_input(input);
        let output = self.run_network(normalised.as_ref().unwrap_or(input), seen)?;
        Ok(self.seam.prediction(input, output))
    }

    /// Runs the program on the network's input.
    fn run_network(
        &self,
        input: &MultiImage,
        mut seen: Option<&mut Vec<MultiImage>>,
    ) -> Result<MultiImage, ModelError> {
        // The current image: the input, a layer's output, or (right after a Save) the saved
        // image on top of the stack, so that neither the input nor saved images are copied.
        let mut x = Current::Input(input);
        let mut saved: Vec<MultiImage> = Vec::new();
        for step in &self.steps {
            match step {
                Step::Layer { path, layer } => {
                    let input = x.get(&saved)?;
                    if let Some(seen) = seen.as_deref_mut() {
                        seen.push(input.clone());
                    }
                    let output = layer
                        .forward(input)
                        .map_err(|e| ModelError::layer(path, e))?;
                    x = Current::Owned(output);
                }
                Step::Save => {
                    let image = x.take(&saved)?;
                    saved.push(image);
                    x = Current::Top;
                }
                Step::AddSaved => {
                    let mut sum = x.take(&saved)?;
                    add(&mut sum, &pop(&mut saved)?)?;
                    x = Current::Owned(sum);
                }
                Step::ConcatSaved => {
                    let mut joined = x.take(&saved)?;
                    for block in pop(&mut saved)?.into_blocks() {
                        joined
                            .append(block)
                            .map_err(|e| ModelError::Skip(e.to_string()))?;
                    }
                    x = Current::Owned(joined);
                }
                Step::ToScalar => x = Current::Owned(to_scalar(x.get(&saved)?)),
                Step::FromScalar(layout) => {
                    x = Current::Owned(from_scalar(x.get(&saved)?, layout)?);
                }
            }
        }
        x.take(&saved)
    }
}

/// The image a model step works on (see [`Model::run`]).
enum Current<'a> {
    /// The model's input.
    Input(&'a MultiImage),
    /// An image computed by the model.
    Owned(MultiImage),
    /// The image on top of the saved stack.
    Top,
}

impl Current<'_> {
    fn get<'b>(&'b self, saved: &'b [MultiImage]) -> Result<&'b MultiImage, ModelError> {
        match self {
            Self::Input(image) => Ok(image),
            Self::Owned(image) => Ok(image),
            Self::Top => saved
                .last()
                .ok_or_else(|| ModelError::Skip("no saved image".into())),
        }
    }

    /// The image by value (a copy unless the model computed it).
    fn take(&mut self, saved: &[MultiImage]) -> Result<MultiImage, ModelError> {
        match std::mem::replace(self, Self::Top) {
            Self::Owned(image) => Ok(image),
            other => {
                let copy = other.get(saved)?.clone();
                *self = other;
                Ok(copy)
            }
        }
    }
}

impl Layer for Model {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        Ok(self.run(input, None)?)
    }
}

fn pop(saved: &mut Vec<MultiImage>) -> Result<MultiImage, ModelError> {
    saved
        .pop()
        .ok_or_else(|| ModelError::Skip("no saved image to combine".into()))
}

/// `x += residual`, key by key (ginjax's `MultiImage.__add__` needs the same keys).
fn add(x: &mut MultiImage, residual: &MultiImage) -> Result<(), ModelError> {
    if x.signature() != residual.signature() || x.geometry() != residual.geometry() {
        return Err(ModelError::Skip(format!(
            "cannot add {} to {}",
            residual.signature(),
            x.signature()
        )));
    }
    for block in x.blocks_mut() {
        let other = residual
            .get(block.key())
            .expect("the signatures were checked equal");
        block
            .data_mut()
            .iter_mut()
            .zip(other.data())
            .for_each(|(a, b)| *a += b);
    }
    Ok(())
}

/// ginjax's `to_scalar_multi_image`: every block's `(c, pixels, comps)` values become
/// `c · comps` scalar channels (channel-major), blocks in order.
fn to_scalar(x: &MultiImage) -> MultiImage {
    let pixels = x.geometry().pixels();
    let channels: usize = x
        .blocks()
        .iter()
        .map(|b| b.channels() * b.components())
        .sum();
    // Every value is overwritten.
    let mut data = buffers::take(channels * pixels);
    let mut out_channel = 0;
    for block in x.blocks() {
        let comps = block.components();
        for c in 0..block.channels() {
            let channel = block.channel(c);
            for comp in 0..comps {
                let dst = &mut data[(out_channel + comp) * pixels..][..pixels];
                for (d, pixel) in dst.iter_mut().zip(channel.chunks_exact(comps)) {
                    *d = pixel[comp];
                }
            }
            out_channel += comps;
        }
    }
    let block = ImageBlock::new(x.geometry().clone(), TensorKey::scalar(), channels, data)
        .expect("the scalar block has channels · pixels values");
    MultiImage::from_blocks(x.geometry().clone(), vec![block])
        .expect("one block is a valid multi-image")
}

/// ginjax's `from_scalar_multi_image(layout)`: the inverse of [`to_scalar`].
fn from_scalar(x: &MultiImage, layout: &Signature) -> Result<MultiImage, ModelError> {
    let dim = x.dim();
    let needed: usize = layout
        .entries()
        .iter()
        .map(|(key, c)| c * key.components(dim))
        .sum();
    let scalars = match x.blocks() {
        [block] if block.key().is_scalar() && block.channels() == needed => block,
        _ => {
            return Err(ModelError::Skip(format!(
                "from_scalar_multi_image to {layout} needs {needed} scalar channels, got {}",
                x.signature()
            )))
        }
    };
    let pixels = x.geometry().pixels();
    let mut blocks = Vec::with_capacity(layout.entries().len());
    let mut in_channel = 0;
    for (key, channels) in layout.entries() {
        let comps = key.components(dim);
        // Every value is overwritten.
        let mut data = buffers::take(channels * pixels * comps);
        for c in 0..*channels {
            let dst = &mut data[c * pixels * comps..][..pixels * comps];
            for comp in 0..comps {
                let src = scalars.channel(in_channel + comp);
                for (pixel, &v) in dst.chunks_exact_mut(comps).zip(src) {
                    pixel[comp] = v;
                }
            }
            in_channel += comps;
        }
        blocks.push(
            ImageBlock::new(x.geometry().clone(), key.clone(), *channels, data)
                .expect("the block has channels · pixels · comps values"),
        );
    }
    Ok(MultiImage::from_blocks(x.geometry().clone(), blocks)
        .expect("a signature's keys are distinct"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::equivariance::{check_layer, Elements};
    use crate::image::Geometry;
    use crate::models::config::{BaselinePadding, ModelKind};
    use crate::test_support::scalars_and_vectors;

    fn input(seed: u64, side: usize) -> MultiImage {
        let geometry = Geometry::square(2, side, true).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut image = MultiImage::zeros(geometry, &scalars_and_vectors(1));
        for block in image.blocks_mut() {
            for v in block.data_mut() {
                *v = (rng.next_u32() as f32 / u32::MAX as f32) * 2.0 - 1.0;
            }
        }
        image
    }

    fn small(kind: ModelKind) -> ModelConfig {
        let mut c = ModelConfig::new(kind, 2, scalars_and_vectors(1), scalars_and_vectors(1), 2);
        match kind {
            ModelKind::UNet => {
                c.num_downsamples = Some(1);
                c.num_conv = Some(1);
            }
            ModelKind::ResNet => c.num_blocks = Some(1),
            ModelKind::DilResNet => c.num_blocks = Some(1),
        }
        c
    }

    #[test]
    fn scalar_flattening_is_ginjax_layout_and_inverts() {
        let x = input(3, 2);
        let flat = to_scalar(&x);
        // 1 scalar channel, then the vector channel's 2 components; pixel 1 of component 1
        // is the vector block's value at (pixel 1, component 1).
        assert_eq!(flat.blocks()[0].channels(), 3);
        assert_eq!(flat.blocks()[0].channel(2)[1], x.blocks()[1].data()[3]);
        assert_eq!(from_scalar(&flat, &scalars_and_vectors(1)).unwrap(), x);
    }

    #[test]
    fn equivariant_models_commute_with_all_of_b2() {
        for kind in [ModelKind::UNet, ModelKind::ResNet, ModelKind::DilResNet] {
            let model = Model::new(&small(kind), 5).unwrap();
            let report = check_layer(&model, &input(1, 8), &Elements::All).unwrap();
            assert_eq!(report.per_element.len(), 8);
            assert!(report.output_scale > 0.0);
            assert!(report.holds(1e-5), "{kind:?}: {}", report.relative_error);
        }
    }

    #[test]
    fn pseudoscalars_skip_the_pairs_without_an_invariant_filter() {
        // Side-3 banks have no (k = 0, parity 1) filter, so scalar ↔ pseudoscalar pairs are
        // skipped as ginjax skips them; the model still maps pseudoscalars equivariantly.
        let keys = Signature::new(vec![
            (TensorKey::new(0, 1), 1),
            (TensorKey::vector(), 1),
            (TensorKey::scalar(), 1),
        ])
        .unwrap();
        let geometry = Geometry::square(2, 8, true).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let mut x = MultiImage::zeros(geometry, &keys);
        for v in x.blocks_mut().flat_map(|b| b.data_mut()) {
            *v = (rng.next_u32() as f32 / u32::MAX as f32) * 2.0 - 1.0;
        }
        for kind in [ModelKind::ResNet, ModelKind::DilResNet] {
            let mut c = small(kind);
            c.input_keys = keys.clone();
            c.output_keys = keys.clone();
            let model = Model::new(&c, 5).unwrap();
            let report = check_layer(&model, &x, &Elements::All).unwrap();
            assert!(report.output_scale > 0.0);
            assert!(report.holds(1e-5), "{kind:?}: {}", report.relative_error);
        }
    }

    #[test]
    fn the_baseline_is_not_equivariant() {
        let mut c = small(ModelKind::ResNet);
        c.equivariant = false;
        c.kernel_size = Some(3);
        c.padding_mode = BaselinePadding::Circular;
        let model = Model::new(&c, 5).unwrap();
        let report = check_layer(&model, &input(1, 8), &Elements::All).unwrap();
        assert!(report.relative_error > 1e-2, "{}", report.relative_error);
    }

    #[test]
    fn params_round_trip_and_count() {
        let c = small(ModelKind::UNet);
        let model = Model::new(&c, 9).unwrap();
        let file = model.to_file();
        let back = Model::from_file(&file).unwrap();
        let x = input(2, 8);
        assert_eq!(back.forward(&x).unwrap(), model.forward(&x).unwrap());
        let seen = model.layer_inputs(&x).unwrap();
        assert_eq!(seen.len(), model.layers().count());
        assert_eq!(seen[0], x);
        // ginjax's UNet(D=2, depth=2, num_downsamples=1, num_conv=1) leaves (the training
        // fixture's shapes): embedding conv 2·1·(3+2+2+5) + 2·2 bias, nonlinearity 2·2;
        // down conv 4·2·12 + 2·4, nonlinearity 4·4; upsample conv 2·4·(1+1+1+2) + 2·2;
        // up conv 2·4·12 + 2·2, nonlinearity 2·2; decode 1·2·12 + 2.
        let want = (24 + 4 + 4) + (96 + 8 + 16) + (40 + 4) + (96 + 4 + 4) + (24 + 2);
        assert_eq!(model.count_params(), want);
        let err = Model::from_params(&c, &file.params[1..]).unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    }

    #[test]
    fn a_wrong_input_is_an_error() {
        let model = Model::new(&small(ModelKind::ResNet), 0).unwrap();
        let geometry = Geometry::square(2, 8, true).unwrap();
        let x = MultiImage::zeros(geometry, &scalars_and_vectors(2));
        assert!(matches!(
            model.forward(&x),
            Err(Error::Model(ModelError::Input { .. }))
        ));
    }
}
