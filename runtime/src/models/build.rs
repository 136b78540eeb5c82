//! Runtime layers from a model's [`LayerSpec`]s and named parameters: [`LayerBuilder`] makes a
//! [`BuiltLayer`] from a spec, either initialised by the runtime layers' own rules
//! ([`LayerBuilder::init`]) or from the leaves under its ginjax tree path
//! ([`LayerBuilder::load`]; the leaves are listed in [`crate::models::leaves`]).
//!
//! An equivariant convolution multiplies the invariant filter bank its configuration names,
//! built once per builder by the generator in ginjax's convention, unless its model file
//! records ginjax's own bank for it, which [`crate::models::filters`] checks and then uses.

use std::sync::Arc;

use crate::error::Error;
use crate::layers::conv_contract::ConvContract;
use crate::layers::group_norm::GroupNorm;
use crate::layers::max_norm_pool::MaxNormPool;
use crate::layers::nonlinear::VectorNeuronNonlinear;
use crate::models::baseline::{one_hot_bank, BaselineConvLayer};
use crate::models::built::{BuiltLayer, ModelConv};
use crate::models::config::FilterSpec;
use crate::models::error::ModelError;
use crate::models::filters::recorded_bank;
use crate::models::leaves::Leaves;
use crate::models::param_set::ParamSet;
use crate::models::plan::LayerSpec;
use crate::ops::bank::DenseBank;
use crate::BankOptions;

/// Builds [`BuiltLayer`]s of one spatial dimension, building each filter bank once.
#[derive(Debug)]
pub struct LayerBuilder {
    dim: usize,
    banks: Vec<(FilterSpec, Arc<DenseBank>)>,
    one_hot: Vec<(usize, DenseBank)>,
}

impl LayerBuilder {
    /// A builder for models of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            banks: Vec::new(),
            one_hot: Vec::new(),
        }
    }

    /// The spatial dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// ginjax's bank `get_invariant_filters([M], ks, [0, 1], D, make_all_operators(D))` for
    /// `spec`, built by the generator on first use.
    pub fn bank(&mut self, spec: &FilterSpec) -> Result<&DenseBank, Error> {
        let at = self.bank_index(spec)?;
        Ok(&self.banks[at].1)
    }

    fn bank_index(&mut self, spec: &FilterSpec) -> Result<usize, Error> {
        if let Some(at) = self.banks.iter().position(|(s, _)| s == spec) {
            return Ok(at);
        }
        let bank = DenseBank::invariant(self.dim, spec.size, &spec.ks, &BankOptions::default())?;
        self.banks.push((spec.clone(), Arc::new(bank)));
        Ok(self.banks.len() - 1)
    }

    /// The `K^D` one-hot filters of side `K` of the baseline convolutions.
    fn one_hot_bank(&mut self, side: usize) -> Result<&DenseBank, Error> {
        let at = match self.one_hot.iter().position(|(s, _)| *s == side) {
            Some(at) => at,
            None => {
                self.one_hot.push((side, one_hot_bank(self.dim, side)?));
                self.one_hot.len() - 1
            }
        };
        Ok(&self.one_hot[at].1)
    }

    /// The layer of `spec` at `path`, initialised by the runtime layers' own rules from
    /// `seed` (ginjax's bounds, not JAX's random stream; norms start at weight 1, bias 0).
    pub fn init(
        &mut self,
        spec: &LayerSpec,
        path: &str,
        seed: u64,
    ) -> Result<BuiltLayer, ModelError> {
        let layer_error = |e: Error| ModelError::layer(path, e);
        Ok(match spec {
            LayerSpec::ConvContract { config, filters } => {
                let at = self.bank_index(filters).map_err(layer_error)?;
                let bank = Arc::clone(&self.banks[at].1);
                let conv = ConvContract::from_bank(config.clone(), &bank, seed)
                    .map_err(|e| layer_error(e.into()))?;
                BuiltLayer::ConvContract(Box::new(ModelConv::new(conv, bank, Vec::new())))
            }
            LayerSpec::Conv(conv) => {
                let dim = self.dim;
                let bank = self.one_hot_bank(conv.kernel_size).map_err(layer_error)?;
                BuiltLayer::BaselineConv(Box::new(BaselineConvLayer::new(
                    dim, path, conv, bank, seed,
                )?))
            }
            LayerSpec::Norm {
                keys,
                equivariant,
                parity,
            } => {
                let norm = GroupNorm::layer_norm_with_parity(keys, *parity)
                    .map_err(|e| layer_error(e.into()))?;
                if *equivariant {
                    BuiltLayer::LayerNorm(norm)
                } else {
                    BuiltLayer::BaselineNorm(norm)
                }
            }
            LayerSpec::Activation {
                keys,
                activation,
                equivariant,
            } => {
                if *equivariant {
                    BuiltLayer::VectorNeuronNonlinear(
                        VectorNeuronNonlinear::new(keys, seed).with_activation(activation.clone()),
                    )
                } else {
                    BuiltLayer::Elementwise(activation.clone())
                }
            }
            LayerSpec::Pool {
                patch_len,
                use_norm,
            } => BuiltLayer::MaxNormPool(
                MaxNormPool::new(*patch_len, *use_norm).map_err(|e| layer_error(e.into()))?,
            ),
        })
    }

    /// The layer of `spec` at `path` with the leaves under `path` taken from `params`.
    /// Missing leaves and leaves of the wrong shape are errors naming their path. A
    /// convolution's recorded invariant filters, where `params` has them, are checked to be a
    /// basis of the invariant filters of the bank its spec names and then used in place of
    /// that bank ([`crate::models::filters`]).
    pub fn load(
        &mut self,
        spec: &LayerSpec,
        path: &str,
        params: &mut ParamSet<'_>,
    ) -> Result<BuiltLayer, ModelError> {
        let mut layer = match spec {
            LayerSpec::ConvContract { config, filters } => {
                let at = self
                    .bank_index(filters)
                    .map_err(|e| ModelError::layer(path, e))?;
                let (bank, recorded) = recorded_bank(path, &self.banks[at].1, params)?;
                let conv = ConvContract::from_bank(config.clone(), &bank, 0)
                    .map_err(|e| ModelError::layer(path, e))?;
                BuiltLayer::ConvContract(Box::new(ModelConv::new(conv, bank, recorded)))
            }
            _ => self.init(spec, path, 0)?,
        };
        let mut leaves = Leaves::of(&layer);
        for (leaf_path, shape, array) in leaves.slots(path) {
            array.data = params.take(&leaf_path, &shape)?.to_vec();
        }
        leaves.apply(&mut layer, path)?;
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, MultiImage};
    use crate::io::model_file::NamedParam;
    use crate::layers::conv_contract::ConvContractConfig;
    use crate::layers::layer::Layer;
    use crate::models::leaves::layer_leaves;
    use crate::test_support::scalars_and_vectors;

    fn conv_spec() -> LayerSpec {
        LayerSpec::ConvContract {
            config: ConvContractConfig::new(scalars_and_vectors(1), scalars_and_vectors(2)),
            filters: FilterSpec::up_to(3, 2),
        }
    }

    #[test]
    fn conv_contract_leaves_round_trip_and_name_errors() {
        let mut builder = LayerBuilder::new(2);
        let spec = conv_spec();
        let layer = builder.init(&spec, ".decode", 7).unwrap();
        let leaves = layer_leaves(&layer, ".decode");
        let paths: Vec<&str> = leaves.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".decode.weights[((), 0)][((), 0)]",
                ".decode.weights[((), 0)][((False,), 0)]",
                ".decode.weights[((False,), 0)][((), 0)]",
                ".decode.weights[((False,), 0)][((False,), 0)]",
                ".decode.bias[((), 0)]",
                ".decode.bias[((False,), 0)]",
            ]
        );
        // D = 2, M = 3: 3 scalar filters, 2 vector filters, 5 filters of order 2.
        assert_eq!(leaves[3].shape, [2, 1, 5]);
        let mut set = ParamSet::new(&leaves).unwrap();
        let back = builder.load(&spec, ".decode", &mut set).unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&back, ".decode"), leaves);
        let x = MultiImage::zeros(
            Geometry::square(2, 4, true).unwrap(),
            &scalars_and_vectors(1),
        );
        assert_eq!(back.forward(&x).unwrap(), layer.forward(&x).unwrap());

        let mut wrong = leaves.clone();
        wrong[1].shape = vec![2, 1, 3];
        wrong[1].data = vec![0.0; 6];
        let err = builder
            .load(&spec, ".decode", &mut ParamSet::new(&wrong).unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter `.decode.weights[((), 0)][((False,), 0)]`: shape [2, 1, 3], expected [2, 1, 2]"
        );
        let missing = &leaves[..5];
        let err = builder
            .load(&spec, ".decode", &mut ParamSet::new(missing).unwrap())
            .unwrap_err();
        assert!(
            matches!(&err, ModelError::Missing { path, .. } if path == ".decode.bias[((False,), 0)]"),
            "{err}"
        );
        let mut extra = leaves.clone();
        extra.push(NamedParam::new(".decode.gain", vec![1], vec![1.0]));
        let mut set = ParamSet::new(&extra).unwrap();
        builder.load(&spec, ".decode", &mut set).unwrap();
        assert_eq!(
            set.finish(),
            Err(ModelError::Unknown {
                paths: vec![".decode.gain".into()]
            })
        );
    }
}
