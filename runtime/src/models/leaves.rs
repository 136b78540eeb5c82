//! A built layer's parameters as named leaves of ginjax's tree, and back: [`layer_leaves`]
//! lists them by path, `Leaves` replaces them, [`filter_leaves`] lists the invariant filters
//! a layer took from its model file.
//!
//! Leaf paths are `jax.tree_util.keystr` of ginjax's tree, the layer's path followed by:
//!
//! | layer | leaves |
//! |---|---|
//! | `ConvContract` | `.weights[IN][OUT]` `(out_c, in_c, n_filters)`, `.bias[OUT]` `(out_c,)` |
//! | baseline `nn.Conv` / `nn.ConvTranspose` | `.weight` `(out, in, K, …, K)`, `.bias` `(out, 1, …, 1)` |
//! | `LayerNorm` | `.scale[KEY]`, `.bias[KEY]` (k = 1), `.vanilla_norm[KEY].weight/.bias` (k = 0; no `.bias` for a pseudoscalar `KEY` in [`NormParity::ParityCorrect`](crate::layers::group_norm::NormParity::ParityCorrect)), `(c,)` |
//! | baseline `nn.GroupNorm(1, c)` | `.weight`, `.bias` `(c,)` |
//! | `VectorNeuronNonlinear` | `.weights[KEY]` `(c, c)` for every key but `((), 0)` |
//!
//! with keys written as Python writes ginjax's dict keys (`((), 0)`, `((False,), 0)`,
//! `((False, True), 1)`), each dict's entries in sorted key order as jax flattens dicts.
//! A `ConvContract`'s `.invariant_filters[<flat index 0>][KEY]` leaves `(n_filters, (M,)*D,
//! (D,)*k)` (ginjax stores its filter bank in the layer, after its weights and biases) are not
//! parameters: [`layer_leaves`] leaves them out, and [`filter_leaves`] lists those a layer took
//! from its file.

use crate::error::Error;
use crate::image::TensorKey;
use crate::io::layer_params::{GroupNormParams, NonlinearParams};
use crate::io::model_file::NamedParam;
use crate::io::params::{ArrayJson, KeyJson};
use crate::io::weights::LayerWeights;
use crate::layers::group_norm::GroupNorm;
use crate::layers::nonlinear::VectorNeuronNonlinear;
use crate::models::built::BuiltLayer;
use crate::models::error::ModelError;
use crate::ops::bank::DenseBank;

/// A ginjax dict key as Python writes it: `((), 0)`, `((False,), 0)`, `((False, True), 1)`.
pub fn key_path(key: &TensorKey) -> String {
    let flags: Vec<&str> = key
        .covariant()
        .iter()
        .map(|&c| if c { "True" } else { "False" })
        .collect();
    let tuple = match flags.as_slice() {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        many => format!("({})", many.join(", ")),
    };
    format!("({tuple}, {})", key.parity())
}

/// The path of the recorded invariant filters of `key` of the ConvContract at `path`.
pub fn filter_path(path: &str, key: &TensorKey) -> String {
    format!(
        "{path}.invariant_filters[<flat index 0>][{}]",
        key_path(key)
    )
}

/// The shape of one bank block in ginjax's tree: `(n_filters, sides…, (D,)*k)`.
pub(crate) fn filter_shape(bank: &DenseBank, k: usize, count: usize) -> Vec<usize> {
    let mut shape = vec![count];
    shape.extend_from_slice(bank.sides());
    shape.extend(std::iter::repeat_n(bank.dim(), k));
    shape
}

/// A layer's leaves under `path` (see the module docs), each dict in sorted key order; no
/// invariant filters.
pub fn layer_leaves(layer: &BuiltLayer, path: &str) -> Vec<NamedParam> {
    let mut leaves = Leaves::of(layer);
    leaves
        .slots(path)
        .into_iter()
        .map(|(leaf_path, shape, array)| NamedParam::new(leaf_path, shape, array.data.clone()))
        .collect()
}

/// The invariant filter leaves `.invariant_filters[<flat index 0>][KEY]` under `path` that the
/// layer took from its model file ([`ModelConv::recorded_keys`](crate::models::ModelConv::recorded_keys)),
/// in the bank's block order: a file that lists them rebuilds the layer with the same filters.
/// Empty for every other layer.
pub fn filter_leaves(layer: &BuiltLayer, path: &str) -> Vec<NamedParam> {
    let BuiltLayer::ConvContract(conv) = layer else {
        return Vec::new();
    };
    let bank = conv.bank();
    bank.blocks()
        .iter()
        .filter(|block| conv.recorded_keys().contains(&block.key()))
        .map(|block| {
            NamedParam::new(
                filter_path(path, &block.key()),
                filter_shape(bank, block.k(), block.count()),
                block.data().to_vec(),
            )
        })
        .collect()
}

/// A built layer's parameters in their io form, to list or replace by path.
pub(crate) enum Leaves {
    Conv(LayerWeights),
    /// A baseline convolution's weights, with its kernel side and dimension.
    Baseline(LayerWeights, usize, usize),
    LayerNorm(GroupNormParams),
    BaselineNorm(GroupNormParams),
    Nonlinear(NonlinearParams),
    None,
}

fn sorted_by_key<T>(entries: &mut [T], key: impl Fn(&T) -> &KeyJson) {
    entries.sort_by_key(|e| key(e).to_key().expect("a layer's own keys are valid"));
}

fn key_of(key: &KeyJson) -> String {
    key_path(&key.to_key().expect("a layer's own keys are valid"))
}

/// A leaf: its path, its shape in ginjax's tree, and the array holding its values.
pub(crate) type Slot<'a> = (String, Vec<usize>, &'a mut ArrayJson);

/// The slot of an array whose shape is the same in ginjax's tree.
fn slot(path: String, array: &mut ArrayJson) -> Slot<'_> {
    (path, array.shape.clone(), array)
}

impl Leaves {
    /// The parameters of `layer`.
    pub(crate) fn of(layer: &BuiltLayer) -> Self {
        match layer {
            BuiltLayer::ConvContract(conv) => Self::Conv(conv.conv().to_weights()),
            BuiltLayer::BaselineConv(conv) => Self::Baseline(
                conv.conv().to_weights(),
                conv.spec().kernel_size,
                conv.conv().dim(),
            ),
            BuiltLayer::LayerNorm(norm) => Self::LayerNorm(norm.params()),
            BuiltLayer::BaselineNorm(norm) => Self::BaselineNorm(norm.params()),
            BuiltLayer::VectorNeuronNonlinear(layer) => Self::Nonlinear(layer.params()),
            BuiltLayer::Elementwise(_) | BuiltLayer::MaxNormPool(_) => Self::None,
        }
    }

    /// Every leaf under `path`, in ginjax's tree order.
    pub(crate) fn slots(&mut self, path: &str) -> Vec<Slot<'_>> {
        match self {
            Self::Conv(weights) => {
                weights.weights.sort_by_key(|w| {
                    let key = |k: &KeyJson| k.to_key().expect("a layer's own keys are valid");
                    (key(&w.input), key(&w.output))
                });
                sorted_by_key(&mut weights.bias, |b| &b.key);
                let pairs = weights.weights.iter_mut().map(|w| {
                    let p = format!(
                        "{path}.weights[{}][{}]",
                        key_of(&w.input),
                        key_of(&w.output)
                    );
                    slot(p, &mut w.array)
                });
                let biases = weights
                    .bias
                    .iter_mut()
                    .map(|b| slot(format!("{path}.bias[{}]", key_of(&b.key)), &mut b.array));
                pairs.chain(biases).collect()
            }
            Self::Baseline(weights, side, dim) => {
                let (side, dim) = (*side, *dim);
                let pairs = weights.weights.iter_mut().map(|w| {
                    // (out, in, K^D) is equinox's (out, in, K, …, K).
                    let mut shape = w.array.shape[..2].to_vec();
                    shape.extend(std::iter::repeat_n(side, dim));
                    (format!("{path}.weight"), shape, &mut w.array)
                });
                let biases = weights.bias.iter_mut().map(|b| {
                    let mut shape = b.array.shape.clone();
                    shape.extend(std::iter::repeat_n(1, dim));
                    (format!("{path}.bias"), shape, &mut b.array)
                });
                pairs.chain(biases).collect()
            }
            Self::BaselineNorm(params) => params
                .vanilla_norm
                .iter_mut()
                .flat_map(|norm| {
                    let weight = slot(format!("{path}.weight"), &mut norm.weight);
                    let bias = norm
                        .bias
                        .as_mut()
                        .map(|bias| slot(format!("{path}.bias"), bias));
                    std::iter::once(weight).chain(bias)
                })
                .collect(),
            Self::LayerNorm(params) => {
                sorted_by_key(&mut params.vector_scale, |e| &e.key);
                sorted_by_key(&mut params.vector_bias, |e| &e.key);
                sorted_by_key(&mut params.vanilla_norm, |e| &e.key);
                let scale = params
                    .vector_scale
                    .iter_mut()
                    .map(|e| slot(format!("{path}.scale[{}]", key_of(&e.key)), &mut e.array));
                let bias = params
                    .vector_bias
                    .iter_mut()
                    .map(|e| slot(format!("{path}.bias[{}]", key_of(&e.key)), &mut e.array));
                let vanilla = params.vanilla_norm.iter_mut().flat_map(|e| {
                    let key = key_of(&e.key);
                    let weight = slot(format!("{path}.vanilla_norm[{key}].weight"), &mut e.weight);
                    // No bias leaf for a pseudoscalar key of a parity-correct norm.
                    let bias = e
                        .bias
                        .as_mut()
                        .map(|b| slot(format!("{path}.vanilla_norm[{key}].bias"), b));
                    std::iter::once(weight).chain(bias)
                });
                scale.chain(bias).chain(vanilla).collect()
            }
            Self::Nonlinear(params) => {
                sorted_by_key(&mut params.weights, |e| &e.key);
                params
                    .weights
                    .iter_mut()
                    .map(|e| slot(format!("{path}.weights[{}]", key_of(&e.key)), &mut e.array))
                    .collect()
            }
            Self::None => Vec::new(),
        }
    }

    /// Replaces `layer`'s parameters by these.
    pub(crate) fn apply(&self, layer: &mut BuiltLayer, path: &str) -> Result<(), ModelError> {
        let layer_error = |e: Error| ModelError::layer(path, e);
        match (self, layer) {
            (Self::Conv(weights), BuiltLayer::ConvContract(conv)) => conv
                .conv_mut()
                .load_weights(weights)
                .map_err(|e| layer_error(e.into())),
            (Self::Baseline(weights, ..), BuiltLayer::BaselineConv(conv)) => conv
                .conv_mut()
                .load_weights(weights)
                .map_err(|e| layer_error(e.into())),
            (
                Self::LayerNorm(params) | Self::BaselineNorm(params),
                BuiltLayer::LayerNorm(norm) | BuiltLayer::BaselineNorm(norm),
            ) => {
                *norm = GroupNorm::from_params(params).map_err(layer_error)?;
                Ok(())
            }
            (Self::Nonlinear(params), BuiltLayer::VectorNeuronNonlinear(layer)) => {
                let activation = layer.activation().clone();
                *layer =
                    VectorNeuronNonlinear::from_params(params, activation).map_err(layer_error)?;
                Ok(())
            }
            (Self::None, _) => Ok(()),
            _ => unreachable!("Leaves::of mirrors the layer's variant"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Signature;
    use crate::layers::group_norm::NormParity;
    use crate::layers::nonlinear::Activation;
    use crate::models::build::LayerBuilder;
    use crate::models::param_set::ParamSet;
    use crate::models::plan::LayerSpec;
    use crate::test_support::scalars_and_vectors;

    #[test]
    fn keys_are_written_as_python_tuples() {
        assert_eq!(key_path(&TensorKey::scalar()), "((), 0)");
        assert_eq!(key_path(&TensorKey::new(1, 1)), "((False,), 1)");
        assert_eq!(
            key_path(&TensorKey::with_covariant(vec![false, true], 0)),
            "((False, True), 0)"
        );
    }

    #[test]
    fn parity_correct_norms_have_no_pseudoscalar_bias_leaf() {
        let keys = Signature::new(vec![
            (TensorKey::scalar(), 2),
            (TensorKey::new(0, 1), 3),
            (TensorKey::vector(), 2),
        ])
        .unwrap();
        let spec = |parity| LayerSpec::Norm {
            keys: keys.clone(),
            equivariant: true,
            parity,
        };
        let mut builder = LayerBuilder::new(2);
        let ginjax = layer_leaves(
            &builder.init(&spec(NormParity::Ginjax), ".g", 0).unwrap(),
            ".g",
        );
        let correct_layer = builder
            .init(&spec(NormParity::ParityCorrect), ".g", 0)
            .unwrap();
        let mut correct = layer_leaves(&correct_layer, ".g");
        let pseudo_bias = ".g.vanilla_norm[((), 1)].bias";
        // The same leaves as ginjax's, less the pseudoscalar's bias.
        let want: Vec<&NamedParam> = ginjax.iter().filter(|l| l.path != pseudo_bias).collect();
        assert_eq!(ginjax.len(), 6);
        assert_eq!(correct.iter().collect::<Vec<_>>(), want);
        // Loading: nonzero values come back; a ginjax leaf set has a leaf too many.
        for (i, leaf) in correct.iter_mut().enumerate() {
            leaf.data
                .iter_mut()
                .for_each(|v| *v = 0.25 * i as f32 + 0.5);
        }
        let mut set = ParamSet::new(&correct).unwrap();
        let back = builder
            .load(&spec(NormParity::ParityCorrect), ".g", &mut set)
            .unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&back, ".g"), correct);
        let BuiltLayer::LayerNorm(norm) = &back else {
            panic!("a layer norm")
        };
        assert_eq!(norm.parity(), NormParity::ParityCorrect);
        assert_eq!(norm.bias(&TensorKey::new(0, 1)), None);
        let mut set = ParamSet::new(&ginjax).unwrap();
        builder
            .load(&spec(NormParity::ParityCorrect), ".g", &mut set)
            .unwrap();
        assert!(set.finish().is_err());
        let mut set = ParamSet::new(&correct).unwrap();
        assert!(matches!(
            builder.load(&spec(NormParity::Ginjax), ".g", &mut set),
            Err(ModelError::Missing { path, .. }) if path == pseudo_bias
        ));
    }

    #[test]
    fn norms_and_nonlinearities_use_ginjax_leaf_names() {
        let mut builder = LayerBuilder::new(2);
        let norm = LayerSpec::Norm {
            keys: scalars_and_vectors(2),
            equivariant: true,
            parity: NormParity::Ginjax,
        };
        let layer = builder.init(&norm, ".g", 0).unwrap();
        let paths: Vec<String> = layer_leaves(&layer, ".g")
            .into_iter()
            .map(|l| l.path)
            .collect();
        assert_eq!(
            paths,
            [
                ".g.scale[((False,), 0)]",
                ".g.bias[((False,), 0)]",
                ".g.vanilla_norm[((), 0)].weight",
                ".g.vanilla_norm[((), 0)].bias",
            ]
        );
        let baseline = LayerSpec::Norm {
            keys: Signature::new(vec![(TensorKey::scalar(), 3)]).unwrap(),
            equivariant: false,
            parity: NormParity::Ginjax,
        };
        let path = ".b.group_norm.modules[((), 0)]";
        let layer = builder.init(&baseline, path, 0).unwrap();
        let leaves = layer_leaves(&layer, path);
        assert_eq!(leaves[0].path, format!("{path}.weight"));
        assert_eq!(leaves[1].data, [0.0; 3]);
        let act = LayerSpec::Activation {
            keys: scalars_and_vectors(2),
            activation: Activation::Gelu,
            equivariant: true,
        };
        let layer = builder.init(&act, ".n", 3).unwrap();
        let leaves = layer_leaves(&layer, ".n");
        assert_eq!(leaves.len(), 1);
        assert_eq!(leaves[0].path, ".n.weights[((False,), 0)]");
        assert_eq!(leaves[0].shape, [2, 2]);
        let back = builder
            .load(&act, ".n", &mut ParamSet::new(&leaves).unwrap())
            .unwrap();
        let BuiltLayer::VectorNeuronNonlinear(back) = back else {
            panic!("vector neurons")
        };
        assert_eq!(back.activation(), &Activation::Gelu);
    }
}
