//! ginjax's `GroupNorm` and `LayerNorm` (= `GroupNorm` with one group) as a burn module.
//!
//! Per key, with the channels split into `groups` consecutive groups:
//! - k = 0 (scalars, pseudoscalars): equinox's GroupNorm,
//!   `y = (x − μ)·(σ² + eps)^(−1/2)·γ_c + β_c`, mean and biased variance over the group's
//!   channels and all pixels;
//! - k = 1: eigen-whitening. Per group the centred rows `X` (`(c/G)·pixels` rows of length d),
//!   `Σ = XᵀX / n`, `W = U·diag((λ + eps)^(−1/2))·Uᵀ`, `x' = W·x`, then
//!   `out_c = s_c·x'_c + b_c·m_c` with `m_c` the channel's mean vector of the *input*.
//!   `W` is [`crate::eigen::spectral_map`] of `Σ` (burn has no differentiable `eigh`).
//!
//! A [`NormParity::ParityCorrect`] layer has no bias for pseudoscalar keys (k = 0, parity 1):
//! a constant bias is not odd under reflections, which negate pseudoscalars (see the
//! runtime's [`ginrs_runtime::layers::group_norm`]). Such a key has no bias parameter (no
//! leaf, no gradient, nothing in the fused route's flat parameters); ginjax's mode, the
//! default, keeps equinox's bias on every k = 0 key.
//!
//! The configuration and initial parameters come from the runtime's
//! [`RuntimeGroupNorm`], which also validates it (k ≥ 2 and groups not dividing the channels
//! are errors there).

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
#[cfg(feature = "flex")]
use ginrs_runtime::Geometry;
use ginrs_runtime::GroupNorm as RuntimeGroupNorm;
use ginrs_runtime::{NormParity, Signature, TensorKey};

use crate::eigen::spectral_map;
#[cfg(not(feature = "flex"))]
use crate::error::FusedUnsupported;
use crate::error::TrainError;
use crate::image::{read_f32, TensorImage};
#[cfg(feature = "flex")]
use crate::layers::host::{same_shape::SameShape, FusedLayer};
use crate::layers::route::Route;
use crate::params::{key_repr, GinjaxParams, NamedTensor};

/// Everything about the layer that is not a tensor.
#[derive(Debug, Clone)]
struct NormSpec {
    input_keys: Signature,
    groups: usize,
    eps: f32,
    parity: NormParity,
    route: Route,
    /// The runtime layer of the same configuration: the fused route runs it with the module's
    /// parameters.
    #[cfg(feature = "flex")]
    runtime: RuntimeGroupNorm,
}

/// ginjax's `GroupNorm` / `LayerNorm` as a burn module (see the module docs).
#[derive(Module, Debug)]
pub struct GroupNorm {
    /// Per key in signature order: γ (k = 0) or the vector scale s (k = 1), `(channels,)`.
    weight: Vec<Param<Tensor<1>>>,
    /// Per key in signature order: β (k = 0) or the vector mean-bias b (k = 1), `(channels,)`;
    /// `None` for a pseudoscalar key in [`NormParity::ParityCorrect`].
    bias: Vec<Option<Param<Tensor<1>>>>,
    #[module(skip)]
    spec: NormSpec,
}

impl GroupNorm {
    /// A group norm over `input_keys` with `groups` groups, at ginjax's initial parameters
    /// (weights 1, biases 0), eps `1e-5` and ginjax's [`NormParity::Ginjax`].
    pub fn new(input_keys: &Signature, groups: usize, device: &Device) -> Result<Self, TrainError> {
        Self::new_with_parity(input_keys, groups, NormParity::Ginjax, device)
    }

    /// [`GroupNorm::new`] in the given [`NormParity`] mode.
    pub fn new_with_parity(
        input_keys: &Signature,
        groups: usize,
        parity: NormParity,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let runtime = RuntimeGroupNorm::new(input_keys, groups)
            .map_err(ginrs_runtime::Error::from)?
            .with_parity(parity);
        Ok(Self::from_runtime(&runtime, device))
    }

    /// ginjax's `LayerNorm`: [`GroupNorm::new`] with one group.
    pub fn layer_norm(input_keys: &Signature, device: &Device) -> Result<Self, TrainError> {
        Self::new(input_keys, 1, device)
    }

    /// A trainable copy of a runtime layer (configuration, [`NormParity`] and current
    /// parameters).
    pub fn from_runtime(runtime: &RuntimeGroupNorm, device: &Device) -> Self {
        let param = |values: &[f32]| {
            Param::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
        };
        let keys = runtime.input_keys().entries();
        Self {
            weight: keys
                .iter()
                .map(|(k, _)| {
                    param(
                        runtime
                            .weight(k)
                            .expect("the runtime layer has a weight for each of its keys"),
                    )
                })
                .collect(),
            bias: keys
                .iter()
                .map(|(k, _)| runtime.bias(k).map(param))
                .collect(),
            spec: NormSpec {
                input_keys: runtime.input_keys().clone(),
                groups: runtime.groups(),
                eps: runtime.eps(),
                parity: runtime.parity(),
                route: Route::default(),
                #[cfg(feature = "flex")]
                runtime: runtime.clone(),
            },
        }
    }

    /// Selects the [`Route`]: burn's ops (`Dense`) or the runtime's normalisation and its
    /// backward pass as one operation (`Fused`).
    pub fn with_route(mut self, route: Route) -> Self {
        self.spec.route = route;
        self
    }

    /// The route.
    pub fn route(&self) -> Route {
        self.spec.route
    }

    /// Whether pseudoscalar keys have a bias.
    pub fn parity(&self) -> NormParity {
        self.spec.parity
    }

    /// A runtime layer with the current parameters; its forward pass reproduces this module's.
    pub fn to_runtime(&self) -> Result<RuntimeGroupNorm, TrainError> {
        let mut runtime = RuntimeGroupNorm::new(&self.spec.input_keys, self.spec.groups)
            .map_err(ginrs_runtime::Error::from)?
            .with_eps(self.spec.eps)
            .with_parity(self.spec.parity);
        for (((key, _), w), b) in self
            .spec
            .input_keys
            .entries()
            .iter()
            .zip(&self.weight)
            .zip(&self.bias)
        {
            runtime
                .set_weight(key, read_f32(&w.val())?)
                .map_err(ginrs_runtime::Error::from)?;
            if let Some(b) = b {
                runtime
                    .set_bias(key, read_f32(&b.val())?)
                    .map_err(ginrs_runtime::Error::from)?;
            }
        }
        Ok(runtime)
    }

    /// The `(weight, bias)` parameters of each key, in signature order (no bias for a
    /// pseudoscalar key in [`NormParity::ParityCorrect`]).
    pub(crate) fn affine(
        &self,
    ) -> impl Iterator<Item = (&Param<Tensor<1>>, Option<&Param<Tensor<1>>>)> {
        self.weight.iter().zip(self.bias.iter().map(Option::as_ref))
    }

    /// The input signature.
    pub fn input_keys(&self) -> &Signature {
        &self.spec.input_keys
    }

    /// Normalises every block of `input` (keys in the input's order; each must be one of the
    /// layer's keys with its channel count).
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        for (key, x) in input.blocks() {
            self.index_of(key, x.dims()[1])?;
        }
        #[cfg(feature = "flex")]
        if let Some(out) = SameShape::forward(self.spec.route, &self.spec.runtime, input, || {
            self.flat_params()
        })? {
            return Ok(out);
        }
        #[cfg(not(feature = "flex"))]
        self.spec
            .route
            .pick(|| Err::<(), _>(FusedUnsupported::WithoutFlex))?;
        let mut out = TensorImage::new(input.geometry().clone(), input.batch());
        for (key, x) in input.blocks() {
            let index = self.index_of(key, x.dims()[1])?;
            let w = self.weight[index].val();
            let b = self.bias[index].as_ref().map(Param::val);
            let y = if key.k() == 0 {
                self.norm_scalars(x.clone(), w, b)
            } else {
                let b = b.expect("k = 1 keys always have a bias");
                self.whiten_vectors(x.clone(), w, b)?
            };
            out.push(key.clone(), y)?;
        }
        Ok(out)
    }

    /// The parameters in the runtime layer's flat order: per key, the weight, then the bias
    /// where the key has one.
    #[cfg(feature = "flex")]
    fn flat_params(&self) -> Vec<Tensor<1>> {
        self.weight
            .iter()
            .zip(&self.bias)
            .flat_map(|(w, b)| std::iter::once(w.val()).chain(b.as_ref().map(Param::val)))
            .collect()
    }

    /// The fused route's kernel for inputs of `signature` on `geometry` (checked as
    /// [`GroupNorm::forward`] checks them), with its parameters.
    #[cfg(feature = "flex")]
    pub(crate) fn fused_layer(
        &self,
        signature: &Signature,
        geometry: &Geometry,
    ) -> Result<FusedLayer, TrainError> {
        let check = |key: &TensorKey, channels| self.index_of(key, channels);
        SameShape::checked(
            &self.spec.runtime,
            signature,
            geometry,
            check,
            self.flat_params(),
        )
    }

    fn index_of(&self, key: &TensorKey, channels: usize) -> Result<usize, TrainError> {
        let entries = self.spec.input_keys.entries();
        match entries.iter().position(|(k, _)| k == key) {
            Some(i) if entries[i].1 == channels => Ok(i),
            _ => Err(TrainError::UnknownKey {
                layer: "GroupNorm",
                key: key.clone(),
            }),
        }
    }

    /// equinox's GroupNorm on `[batch, c, pixels, 1]` (without the bias where `bias` is
    /// `None`).
    fn norm_scalars(&self, x: Tensor<4>, weight: Tensor<1>, bias: Option<Tensor<1>>) -> Tensor<4> {
        let [n, c, p, q] = x.dims();
        let g = self.spec.groups;
        let grouped: Tensor<3> = x.reshape([n, g, c / g * p * q]);
        let mean = grouped.clone().mean_dim(2);
        let centred = grouped - mean;
        let var = centred.clone().powi_scalar(2).mean_dim(2);
        let normed = centred / (var + f64::from(self.spec.eps)).sqrt();
        let scaled = normed.reshape([n, c, p, q]) * weight.reshape([1, c, 1, 1]);
        match bias {
            Some(bias) => scaled + bias.reshape([1, c, 1, 1]),
            None => scaled,
        }
    }

    /// Eigen-whitening of `[batch, c, pixels, d]`, then scale and mean-bias per channel.
    fn whiten_vectors(
        &self,
        x: Tensor<4>,
        scale: Tensor<1>,
        bias: Tensor<1>,
    ) -> Result<Tensor<4>, TrainError> {
        let [n, c, p, d] = x.dims();
        let g = self.spec.groups;
        let rows = c / g * p;
        let grouped: Tensor<4> = x.clone().reshape([n, g, rows, d]);
        let centred = grouped.clone() - grouped.mean_dim(2);
        let cov = centred.clone().swap_dims(2, 3).matmul(centred.clone()) / rows as f64;
        let eps = f64::from(self.spec.eps);
        let whiten = spectral_map(
            cov,
            |l| 1.0 / (l.max(0.0) + eps).sqrt(),
            |l| {
                if l < 0.0 {
                    0.0
                } else {
                    -0.5 * (l + eps).powf(-1.5)
                }
            },
        )?;
        let white = centred.matmul(whiten.swap_dims(2, 3)).reshape([n, c, p, d]);
        let channel_mean = x.mean_dim(2);
        Ok(white * scale.reshape([1, c, 1, 1]) + channel_mean * bias.reshape([1, c, 1, 1]))
    }
}

impl GinjaxParams for GroupNorm {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        let keys = self.spec.input_keys.entries();
        let mut out = Vec::with_capacity(2 * keys.len());
        // ginjax's leaf order: `scale`, `bias` (k = 1 keys), then `vanilla_norm` (k = 0 keys).
        for ((key, _), w) in keys.iter().zip(&self.weight) {
            if key.k() == 1 {
                out.push((format!(".scale[{}]", key_repr(key)), NamedTensor::from(w)));
            }
        }
        for ((key, _), b) in keys.iter().zip(&self.bias) {
            if let (1, Some(b)) = (key.k(), b) {
                out.push((format!(".bias[{}]", key_repr(key)), NamedTensor::from(b)));
            }
        }
        for ((key, _), (w, b)) in keys.iter().zip(self.weight.iter().zip(&self.bias)) {
            if key.k() == 0 {
                let name = format!(".vanilla_norm[{}]", key_repr(key));
                out.push((format!("{name}.weight"), NamedTensor::from(w)));
                // No bias leaf for a pseudoscalar key of a parity-correct norm.
                if let Some(b) = b {
                    out.push((format!("{name}.bias"), NamedTensor::from(b)));
                }
            }
        }
        out
    }
}
