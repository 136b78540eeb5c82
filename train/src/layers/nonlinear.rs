//! ginjax's `VectorNeuronNonlinear` as a burn module.
//!
//! Per block `v` of key ≠ `((), 0)`: `q = W·v` (channel mixing, `W` is `c × c`),
//! `q̂ = q / (‖q‖ + eps)` per channel and pixel, `ip = ⟨v, q̂⟩`, `v∥ = ip·q̂`,
//! `h = f(ip) / (|ip| + eps)` and `out = h·v∥ + (v − v∥)`; the `((), 0)` block gets
//! `f` elementwise. `f` is relu (ginjax's default), gelu or tanh ([`ScalarActivation`]). The
//! configuration and initial weights come from the runtime's [`RuntimeVectorNeuron`].

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
#[cfg(feature = "flex")]
use ginrs_runtime::Geometry;
use ginrs_runtime::VectorNeuronNonlinear as RuntimeVectorNeuron;
use ginrs_runtime::{Signature, TensorKey};

#[cfg(not(feature = "flex"))]
use crate::error::FusedUnsupported;
use crate::error::TrainError;
use crate::image::{read_f32, TensorImage};
use crate::layers::activation::ScalarActivation;
#[cfg(feature = "flex")]
use crate::layers::host::{same_shape::SameShape, FusedLayer};
use crate::layers::route::Route;
use crate::params::{key_repr, GinjaxParams, NamedTensor};

/// Everything about the layer that is not a tensor.
#[derive(Debug, Clone)]
struct NonlinearSpec {
    input_keys: Signature,
    /// The key of each weight, in signature order (every key but `((), 0)`).
    weight_keys: Vec<TensorKey>,
    activation: ScalarActivation,
    eps: f32,
    route: Route,
    /// The runtime layer of the same configuration: the fused route runs it with the module's
    /// weights.
    #[cfg(feature = "flex")]
    runtime: RuntimeVectorNeuron,
}

/// ginjax's `VectorNeuronNonlinear` (see the module docs).
#[derive(Module, Debug)]
pub struct VectorNeuronNonlinear {
    /// Per non-scalar key in signature order: `W`, `(c, c)`.
    weights: Vec<Param<Tensor<2>>>,
    #[module(skip)]
    spec: NonlinearSpec,
}

impl VectorNeuronNonlinear {
    /// A layer over `input_keys`, with weights drawn from `seed` as the runtime layer
    /// [`RuntimeVectorNeuron::new`] draws them (ginjax's bounds `±1/√c`), and ginjax's
    /// default activation relu.
    pub fn new(input_keys: &Signature, seed: u64, device: &Device) -> Result<Self, TrainError> {
        Self::from_runtime(&RuntimeVectorNeuron::new(input_keys, seed), device)
    }

    /// A trainable copy of a runtime layer; its activation must be relu, gelu or tanh (a
    /// custom function is [`TrainError::Unsupported`]).
    pub fn from_runtime(
        runtime: &RuntimeVectorNeuron,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let activation = ScalarActivation::from_runtime(runtime.activation())?;
        let weight_keys: Vec<TensorKey> = runtime
            .input_keys()
            .entries()
            .iter()
            .filter(|(k, _)| !k.is_scalar())
            .map(|(k, _)| k.clone())
            .collect();
        let weights = weight_keys
            .iter()
            .map(|k| {
                let w = runtime
                    .weights(k)
                    .expect("the runtime layer has weights for each non-scalar key");
                let c = (w.len() as f64).sqrt().round() as usize;
                Param::from_data(TensorData::new(w.to_vec(), [c, c]), device)
            })
            .collect();
        Ok(Self {
            weights,
            spec: NonlinearSpec {
                input_keys: runtime.input_keys().clone(),
                weight_keys,
                activation,
                eps: runtime.eps(),
                route: Route::default(),
                #[cfg(feature = "flex")]
                runtime: runtime.clone(),
            },
        })
    }

    /// Selects the [`Route`]: burn's ops (`Dense`) or the runtime's nonlinearity and its
    /// backward pass as one operation (`Fused`). A layer without non-scalar keys (no weights)
    /// is the activation alone and runs on burn's ops on every route.
    pub fn with_route(mut self, route: Route) -> Self {
        self.spec.route = route;
        self
    }

    /// The route.
    pub fn route(&self) -> Route {
        self.spec.route
    }

    /// A runtime layer with the current weights; its forward pass reproduces this module's.
    pub fn to_runtime(&self) -> Result<RuntimeVectorNeuron, TrainError> {
        let mut runtime = RuntimeVectorNeuron::new(&self.spec.input_keys, 0)
            .with_activation(self.spec.activation.to_runtime())
            .with_eps(self.spec.eps);
        for (key, w) in self.spec.weight_keys.iter().zip(&self.weights) {
            runtime
                .set_weights(key, read_f32(&w.val())?)
                .map_err(ginrs_runtime::Error::from)?;
        }
        Ok(runtime)
    }

    /// The input signature.
    pub fn input_keys(&self) -> &Signature {
        &self.spec.input_keys
    }

    /// The scalar activation.
    pub fn activation(&self) -> ScalarActivation {
        self.spec.activation
    }

    /// Applies the nonlinearity to every block of `input` (keys in the input's order).
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let indices = input
            .blocks()
            .iter()
            .map(|(key, v)| self.weight_index(key, v.dims()[1]))
            .collect::<Result<Vec<_>, _>>()?;
        #[cfg(feature = "flex")]
        if !self.weights.is_empty() {
            let weights = || self.flat_weights();
            if let Some(out) =
                SameShape::forward(self.spec.route, &self.spec.runtime, input, weights)?
            {
                return Ok(out);
            }
        }
        #[cfg(not(feature = "flex"))]
        if !self.weights.is_empty() {
            self.spec
                .route
                .pick(|| Err::<(), _>(FusedUnsupported::WithoutFlex))?;
        }
        let mut out = TensorImage::new(input.geometry().clone(), input.batch());
        for ((key, v), index) in input.blocks().iter().zip(indices) {
            let y = match index {
                None => self.spec.activation.apply(v.clone()),
                Some(i) => self.vector_neuron(v.clone(), self.weights[i].val()),
            };
            out.push(key.clone(), y)?;
        }
        Ok(out)
    }

    /// The weights in the runtime layer's flat order: per non-scalar key, its `c × c`
    /// matrix, row-major.
    #[cfg(feature = "flex")]
    fn flat_weights(&self) -> Vec<Tensor<1>> {
        self.weights
            .iter()
            .map(|w| {
                let [rows, cols] = w.val().dims();
                w.val().reshape([rows * cols])
            })
            .collect()
    }

    /// The fused route's kernel for inputs of `signature` on `geometry` (checked as
    /// [`VectorNeuronNonlinear::forward`] checks them), with its parameters.
    #[cfg(feature = "flex")]
    pub(crate) fn fused_layer(
        &self,
        signature: &Signature,
        geometry: &Geometry,
    ) -> Result<FusedLayer, TrainError> {
        let check = |key: &TensorKey, channels| self.weight_index(key, channels);
        SameShape::checked(
            &self.spec.runtime,
            signature,
            geometry,
            check,
            self.flat_weights(),
        )
    }

    /// The index of `key`'s weights (`None` for the scalar key, which has none), checking
    /// that the layer knows the key with `channels` channels.
    fn weight_index(&self, key: &TensorKey, channels: usize) -> Result<Option<usize>, TrainError> {
        if key.is_scalar() {
            return Ok(None);
        }
        self.spec
            .weight_keys
            .iter()
            .position(|k| k == key)
            .filter(|&i| self.weights[i].val().dims()[0] == channels)
            .map(Some)
            .ok_or_else(|| TrainError::UnknownKey {
                layer: "VectorNeuronNonlinear",
                key: key.clone(),
            })
    }

    fn vector_neuron(&self, v: Tensor<4>, w: Tensor<2>) -> Tensor<4> {
        let [n, c, p, q] = v.dims();
        let eps = f64::from(self.spec.eps);
        let mixed: Tensor<3> = w
            .unsqueeze::<3>()
            .expand([n, c, c])
            .matmul(v.clone().reshape([n, c, p * q]));
        let mixed: Tensor<4> = mixed.reshape([n, c, p, q]);
        let norm = mixed.clone().powi_scalar(2).sum_dim(3).sqrt();
        let unit = mixed / (norm + eps);
        let ip = (v.clone() * unit.clone()).sum_dim(3);
        let parallel = unit * ip.clone();
        let h = self.spec.activation.apply(ip.clone()) / (ip.abs() + eps);
        parallel.clone() * h + (v - parallel)
    }
}

impl GinjaxParams for VectorNeuronNonlinear {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        self.spec
            .weight_keys
            .iter()
            .zip(&self.weights)
            .map(|(key, w)| (format!(".weights[{}]", key_repr(key)), NamedTensor::from(w)))
            .collect()
    }
}
