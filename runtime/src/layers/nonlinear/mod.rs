//! ginjax's `VectorNeuronNonlinear` (the Vector Neurons nonlinearity, arXiv:2104.12229).
//!
//! The plain scalar key `((), 0)` goes through the scalar activation elementwise. Every other
//! block `x` (vectors, pseudoscalars, tensors; `c` channels) is mixed over channels by a
//! `(c, c)` weight `W` into a direction `q = W·x`, and per channel and pixel
//!
//! ```text
//! n = q / (‖q‖ + eps)       ‖·‖ the Frobenius norm over the tensor axes
//! s = ⟨x, n⟩                full contraction over the tensor axes
//! out = act(s)/(|s| + eps) · s·n + (x − s·n)
//! ```
//!
//! so the part of `x` along `n` is scaled by the activation of its signed length and the rest
//! passes unchanged. Because `W` only mixes channels, the layer is equivariant for any `W`.

use std::fmt;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::error::Error;
use crate::image::{buffers, ImageBlock, MultiImage, Signature, TensorKey};
use crate::io::layer_params::NonlinearParams;
use crate::io::params::{
    match_keys, signature_from_json, signature_to_json, ArrayJson, KeyJson, KeyedArrayJson,
};
use crate::kernels::simd::widest;
use crate::layers::layer::Layer;
use crate::ops::GINJAX_EPS;

const LAYER: &str = "VectorNeuronNonlinear";

/// Errors from building or applying a [`VectorNeuronNonlinear`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NonlinearError {
    /// `eps` is negative, NaN or infinite.
    #[error("VectorNeuronNonlinear: eps must be finite and non-negative, got {eps}")]
    Eps {
        /// The value given, as text (an f32 is not `Eq`).
        eps: String,
    },
    /// The input has a non-scalar key the layer has no weights for.
    #[error(
        "VectorNeuronNonlinear: no weights for key {key} (the layer's signature is {signature})"
    )]
    UnknownKey {
        /// The key.
        key: String,
        /// The layer's signature.
        signature: String,
    },
    /// The input block's channel count differs from the weights'.
    #[error(
        "VectorNeuronNonlinear: {key} has {got} channels, the weights are {expected} × {expected}"
    )]
    Channels {
        /// The key.
        key: String,
        /// The weights' channel count.
        expected: usize,
        /// The input's channel count.
        got: usize,
    },
    /// A weight matrix of the wrong size.
    #[error("VectorNeuronNonlinear: weights for {key} need {expected} values ({channels} × {channels}), got {got}")]
    WeightLength {
        /// The key.
        key: String,
        /// The key's channel count.
        channels: usize,
        /// channels².
        expected: usize,
        /// Values given.
        got: usize,
    },
}

/// The scalar activation: applied elementwise to `((), 0)` blocks and to the signed lengths
/// of every other block.
#[derive(Clone, Default)]
pub enum Activation {
    /// `max(x, 0)` (ginjax's default, `jax.nn.relu`).
    #[default]
    Relu,
    /// `jax.nn.gelu` with its default `approximate=True`:
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    Gelu,
    /// `tanh(x)` (`jax.nn.tanh`).
    Tanh,
    /// Any function of one f32.
    Custom(Arc<dyn Fn(f32) -> f32 + Send + Sync>),
}

impl Activation {
    /// A custom activation from a function.
    pub fn custom(f: impl Fn(f32) -> f32 + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }

    /// Applies the activation to one value.
    #[inline]
    pub fn apply(&self, x: f32) -> f32 {
        match self {
            // Keeps NaN, like jax.nn.relu.
            Self::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Self::Gelu => gelu(x),
            Self::Tanh => fast_tanh(x),
            Self::Custom(f) => f(x),
        }
    }

    /// Applies the activation to every value of `values`, in place (one dispatch, so the
    /// named activations vectorise).
    pub fn apply_slice(&self, values: &mut [f32]) {
        widest(
            #[inline(always)]
            || self.apply_slice_body(values),
        )
    }

    #[inline(always)]
    fn apply_slice_body(&self, values: &mut [f32]) {
        match self {
            // A select rather than a conditional store, so that it vectorises.
            Self::Relu => values
                .iter_mut()
                .for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v }),
            Self::Gelu => values.iter_mut().for_each(|v| *v = gelu(*v)),
            Self::Tanh => values.iter_mut().for_each(|v| *v = fast_tanh(*v)),
            Self::Custom(f) => values.iter_mut().for_each(|v| *v = f(*v)),
        }
    }

    /// The name ginjax's models use for the activation (`ACTIVATION_REGISTRY` in
    /// `ginjax/models.py`), `None` for a custom one.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Self::Relu => Some("relu"),
            Self::Gelu => Some("gelu"),
            Self::Tanh => Some("tanh"),
            Self::Custom(_) => None,
        }
    }

    /// The activation ginjax's models register under `name` (`relu`, `gelu`, `tanh`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Self::Relu),
            "gelu" => Some(Self::Gelu),
            "tanh" => Some(Self::Tanh),
            _ => None,
        }
    }
}

/// √(2/π), the constant of the tanh approximation of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// `jax.nn.gelu(x, approximate=True)`: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
#[inline]
fn gelu(x: f32) -> f32 {
    let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    0.5 * x * (1.0 + fast_tanh(inner))
}

/// tanh in f32 by the rational approximation of XLA's CPU backend (Eigen's
/// `generic_fast_tanh_float`: `x·P(x²)/Q(x²)`, P of degree 6 and Q of degree 3 in x², the input
/// clamped to ±7.9053), within 5e-7 of tanh; branch-free arithmetic, so loops over slices
/// vectorise (libm's `tanhf` does not).
#[inline]
pub fn fast_tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = ALPHA.iter().rev().fold(0.0, |acc, &a| acc * x2 + a) * x;
    let q = BETA.iter().rev().fold(0.0, |acc, &b| acc * x2 + b);
    p / q
}

/// Named activations are equal by name; custom ones only to themselves (the same function
/// object).
impl PartialEq for Activation {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.name().is_some() && a.name() == b.name(),
        }
    }
}

impl fmt::Debug for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Relu => f.write_str("Relu"),
            Self::Gelu => f.write_str("Gelu"),
            Self::Tanh => f.write_str("Tanh"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The `(c, c)` channel-mixing weights of one non-scalar key.
#[derive(Debug, Clone, PartialEq)]
struct KeyWeights {
    key: TensorKey,
    channels: usize,
    weights: Vec<f32>,
}

/// ginjax's `VectorNeuronNonlinear`; see the module docs.
#[derive(Debug, Clone)]
pub struct VectorNeuronNonlinear {
    input_keys: Signature,
    activation: Activation,
    eps: f32,
    weights: Vec<KeyWeights>,
}

impl VectorNeuronNonlinear {
    /// A layer for `input_keys` with ReLU, `eps = 1e-5`, and, like ginjax, weights drawn
    /// uniformly from `[−1/√c, 1/√c)` for every key other than `((), 0)`, in signature order.
    /// The draws come from a ChaCha8 generator seeded with `seed` (jax's generator is not
    /// reproduced: import trained weights with [`Self::from_params`]).
    pub fn new(input_keys: &Signature, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weights = input_keys
            .entries()
            .iter()
            .filter(|(key, _)| !key.is_scalar())
            .map(|(key, channels)| {
                let bound = 1.0 / (*channels as f32).sqrt();
                KeyWeights {
                    key: key.clone(),
                    channels: *channels,
                    weights: (0..channels * channels)
                        .map(|_| rng.random_range(-bound..bound))
                        .collect(),
                }
            })
            .collect();
        Self {
            input_keys: input_keys.clone(),
            activation: Activation::Relu,
            eps: GINJAX_EPS,
            weights,
        }
    }

    /// Replaces the scalar activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Replaces `eps`.
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// The signature the layer was built for.
    pub fn input_keys(&self) -> &Signature {
        &self.input_keys
    }

    /// The scalar activation.
    pub fn activation(&self) -> &Activation {
        &self.activation
    }

    /// The `eps` of the normalisation and of the activation ratio.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// The row-major `(c, c)` weights of `key`, if it has any (every key but `((), 0)`).
    pub fn weights(&self, key: &TensorKey) -> Option<&[f32]> {
        self.weights
            .iter()
            .find(|w| &w.key == key)
            .map(|w| w.weights.as_slice())
    }

    /// Replaces the weights of `key` (row-major, `c · c` values).
    pub fn set_weights(
        &mut self,
        key: &TensorKey,
        weights: Vec<f32>,
    ) -> Result<(), NonlinearError> {
        let signature = self.input_keys.to_string();
        let entry = self
            .weights
            .iter_mut()
            .find(|w| &w.key == key)
            .ok_or_else(|| NonlinearError::UnknownKey {
                key: format!("{key:?}"),
                signature,
            })?;
        if weights.len() != entry.channels * entry.channels {
            return Err(NonlinearError::WeightLength {
                key: format!("{key:?}"),
                channels: entry.channels,
                expected: entry.channels * entry.channels,
                got: weights.len(),
            });
        }
        entry.weights = weights;
        Ok(())
    }

    /// The parameters in their JSON form.
    pub fn params(&self) -> NonlinearParams {
        NonlinearParams {
            eps: self.eps,
            input_keys: signature_to_json(&self.input_keys),
            weights: self
                .weights
                .iter()
                .map(|w| KeyedArrayJson {
                    key: KeyJson::from(&w.key),
                    array: ArrayJson::new(vec![w.channels, w.channels], w.weights.clone()),
                })
                .collect(),
        }
    }

    /// Builds the layer from its JSON form with the given activation, checking that exactly
    /// the non-scalar keys have weights of shape `(c, c)`.
    pub fn from_params(params: &NonlinearParams, activation: Activation) -> Result<Self, Error> {
        let signature = signature_from_json(LAYER, &params.input_keys)?;
        if !(params.eps.is_finite() && params.eps >= 0.0) {
            return Err(NonlinearError::Eps {
                eps: params.eps.to_string(),
            }
            .into());
        }
        let keys: Vec<TensorKey> = signature
            .entries()
            .iter()
            .filter(|(key, _)| !key.is_scalar())
            .map(|(key, _)| key.clone())
            .collect();
        let entries = match_keys(LAYER, "weights", &keys, &params.weights, |e| &e.key)?;
        // Built from the checked arrays (not from `new`'s random ones), so a channel count that
        // the file does not back is an error rather than a `c²` allocation.
        let weights = keys
            .iter()
            .zip(entries)
            .map(|(key, entry)| {
                let channels = signature.channels(key).unwrap_or(0);
                let weights = entry
                    .array
                    .checked(LAYER, "weights", key, &[channels, channels])?;
                Ok(KeyWeights {
                    key: key.clone(),
                    channels,
                    weights,
                })
            })
            .collect::<Result<_, crate::io::params::ParamsError>>()?;
        Ok(Self {
            input_keys: signature,
            activation,
            eps: params.eps,
            weights,
        })
    }

    fn apply_block(&self, block: &ImageBlock) -> Result<ImageBlock, NonlinearError> {
        let data = if block.key().is_scalar() {
            let mut data = buffers::take(block.data().len());
            data.copy_from_slice(block.data());
            self.activation.apply_slice(&mut data);
            data
        } else {
            let entry = self
                .weights
                .iter()
                .find(|w| &w.key == block.key())
                .ok_or_else(|| NonlinearError::UnknownKey {
                    key: format!("{:?}", block.key()),
                    signature: self.input_keys.to_string(),
                })?;
            if entry.channels != block.channels() {
                return Err(NonlinearError::Channels {
                    key: format!("{:?}", block.key()),
                    expected: entry.channels,
                    got: block.channels(),
                });
            }
            self.vector_neuron(block, &entry.weights)
        };
        Ok(ImageBlock::new(
            block.geometry().clone(),
            block.key().clone(),
            block.channels(),
            data,
        )
        .expect("the nonlinearity keeps the block's shape"))
    }

    /// The vector-neuron map of one non-scalar block, compiled for the CPU's widest vectors.
    fn vector_neuron(&self, block: &ImageBlock, weights: &[f32]) -> Vec<f32> {
        widest(
            #[inline(always)]
            || self.vector_neuron_body(block, weights),
        )
    }

    #[inline(always)]
    fn vector_neuron_body(&self, block: &ImageBlock, weights: &[f32]) -> Vec<f32> {
        let c = block.channels();
        let len = block.channel_len();
        let comps = block.components();
        // q = W·x over channels, `MIX_BLOCK` values of a channel at a time: the sum over
        // input channels j (in order, from 0) stays in registers.
        let mut q = buffers::take(c * len);
        let channels: Vec<&[f32]> = (0..c).map(|j| block.channel(j)).collect();
        for (i, q_i) in q.chunks_mut(len).enumerate() {
            let w_i = &weights[i * c..(i + 1) * c];
            let mut start = 0;
            for q_block in q_i.chunks_mut(MIX_BLOCK) {
                if let Ok(q_block) = <&mut [f32; MIX_BLOCK]>::try_from(&mut *q_block) {
                    let mut acc = [0f32; MIX_BLOCK];
                    for (&w, x) in w_i.iter().zip(&channels) {
                        let x: &[f32; MIX_BLOCK] = x[start..start + MIX_BLOCK]
                            .try_into()
                            .expect("a block of MIX_BLOCK values");
                        for (a, &xv) in acc.iter_mut().zip(x) {
                            *a += w * xv;
                        }
                    }
                    *q_block = acc;
                } else {
                    q_block.fill(0.0);
                    for (&w, x) in w_i.iter().zip(&channels) {
                        for (a, &xv) in q_block.iter_mut().zip(&x[start..]) {
                            *a += w * xv;
                        }
                    }
                }
                start += MIX_BLOCK;
            }
        }
        let eps = self.eps;
        let x = block.data();
        let pixels = c * len / comps;
        let mut scale = vec![0f32; pixels];
        let mut s = vec![0f32; pixels];
        // The per-pixel passes with the component count a constant for vectors and
        // pseudovectors (d = 2, 3), so their inner loops unroll.
        match comps {
            2 => lengths(2, x, &q, eps, &mut scale, &mut s),
            3 => lengths(3, x, &q, eps, &mut scale, &mut s),
            n => lengths(n, x, &q, eps, &mut scale, &mut s),
        }
        // h = act(s)/(|s| + eps), the activation over the whole block at once.
        let mut h = s.clone();
        self.activation.apply_slice(&mut h);
        for (h, s) in h.iter_mut().zip(&s) {
            *h /= s.abs() + eps;
        }
        // Every value is overwritten.
        let mut out = buffers::take(c * len);
        match comps {
            2 => combine(2, &mut out, x, &q, &s, &h, &scale),
            3 => combine(3, &mut out, x, &q, &s, &h, &scale),
            n => combine(n, &mut out, x, &q, &s, &h, &scale),
        }
        buffers::keep(q);
        out
    }
}

/// Values of one channel mixed at a time by [`VectorNeuronNonlinear`]'s `q = W·x` (four
/// AVX-512 registers of sums).
const MIX_BLOCK: usize = 64;

/// Per pixel of `n` components: `scale = 1/(‖q‖ + eps)` and the signed length
/// `s = ⟨x, q⟩·scale`. The sums and the scaling are separate loops so that the second
/// (square root, division) vectorises.
#[inline(always)]
fn lengths(n: usize, x: &[f32], q: &[f32], eps: f32, scale: &mut [f32], s: &mut [f32]) {
    for (((x_px, q_px), qq), xq) in x
        .chunks_exact(n)
        .zip(q.chunks_exact(n))
        .zip(scale.iter_mut())
        .zip(s.iter_mut())
    {
        *qq = q_px.iter().map(|v| v * v).sum::<f32>();
        *xq = x_px.iter().zip(q_px).map(|(x, q)| x * q).sum::<f32>();
    }
    for (scale, s) in scale.iter_mut().zip(s) {
        *scale = 1.0 / (scale.sqrt() + eps);
        *s *= *scale;
    }
}

/// Per pixel of `n` components: `out = h·p + (x − p)` with `p = s·scale·q`, the part of `x`
/// along `q`.
#[inline(always)]
fn combine(n: usize, out: &mut [f32], x: &[f32], q: &[f32], s: &[f32], h: &[f32], scale: &[f32]) {
    for ((((out_px, x_px), q_px), (&s, &h)), &scale) in out
        .chunks_exact_mut(n)
        .zip(x.chunks_exact(n))
        .zip(q.chunks_exact(n))
        .zip(s.iter().zip(h))
        .zip(scale)
    {
        let along = s * scale;
        for ((o, &x), &qv) in out_px.iter_mut().zip(x_px).zip(q_px) {
            let parallel = along * qv;
            *o = h * parallel + (x - parallel);
        }
    }
}

impl Layer for VectorNeuronNonlinear {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let blocks = input
            .blocks()
            .iter()
            .map(|block| self.apply_block(block))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultiImage::from_blocks(input.geometry().clone(), blocks)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    fn one_pixel(channels: usize, data: Vec<f32>) -> MultiImage {
        let geometry = Geometry::square(2, 1, true).unwrap();
        let block = ImageBlock::new(geometry.clone(), TensorKey::vector(), channels, data);
        MultiImage::from_blocks(geometry, vec![block.unwrap()]).unwrap()
    }

    #[test]
    fn named_activations_match_jax() {
        // jax.nn.gelu (approximate=True) and jax.nn.tanh at -2, -0.5, 0, 1, 3, in float32.
        let x = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
        let gelu = [-0.045_402_35f32, -0.154_286, 0.0, 0.841_192, 2.996_362_7];
        let tanh = [
            -0.964_027_6f32,
            -0.462_117_16,
            0.0,
            0.761_594_2,
            0.995_054_7,
        ];
        for (i, &v) in x.iter().enumerate() {
            assert!(
                (Activation::Gelu.apply(v) - gelu[i]).abs() < 1e-6,
                "gelu({v})"
            );
            assert!(
                (Activation::Tanh.apply(v) - tanh[i]).abs() < 1e-6,
                "tanh({v})"
            );
        }
        for name in ["relu", "gelu", "tanh"] {
            assert_eq!(Activation::from_name(name).unwrap().name(), Some(name));
        }
        assert!(Activation::from_name("swish").is_none());
    }

    #[test]
    fn fast_tanh_is_within_5e7_of_tanh() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            let err = (f64::from(fast_tanh(x)) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "{worst}");
        assert_eq!(fast_tanh(100.0), fast_tanh(7.905_311));
        assert!((fast_tanh(100.0) - 1.0).abs() < 1e-6);
        let mut values = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
        let each: Vec<f32> = values.iter().map(|&v| Activation::Gelu.apply(v)).collect();
        Activation::Gelu.apply_slice(&mut values);
        assert_eq!(values.to_vec(), each);
    }

    fn layer(channels: usize, weights: Vec<f32>) -> VectorNeuronNonlinear {
        let sig = Signature::new(vec![(TensorKey::vector(), channels)]).unwrap();
        let mut layer = VectorNeuronNonlinear::new(&sig, 1);
        layer.set_weights(&TensorKey::vector(), weights).unwrap();
        layer
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn worked_examples() {
        // D = 2, one pixel, ReLU: x = (3, 4) with W = [0.5] gives q = (1.5, 2), ⟨x, q̂⟩ > 0,
        // so x is kept (up to eps); with W = [−0.5], ⟨x, q̂⟩ < 0 and x loses its q component.
        let y = layer(1, vec![0.5]).forward(&one_pixel(1, vec![3.0, 4.0]));
        assert_close(y.unwrap().blocks()[0].data(), &[2.999994, 3.999992]);
        let y = layer(1, vec![-0.5]).forward(&one_pixel(1, vec![3.0, 4.0]));
        assert_close(y.unwrap().blocks()[0].data(), &[2.4e-5, 3.2e-5]);
        let y =
            layer(2, vec![0.0, 1.0, 1.0, 0.0]).forward(&one_pixel(2, vec![1.0, 0.0, -1.0, 1.0]));
        assert_close(
            y.unwrap().blocks()[0].data(),
            &[0.500007, 0.499993, -0.00002, 1.0],
        );
    }

    #[test]
    fn init_bounds_and_seed() {
        let sig = Signature::new(vec![
            (TensorKey::scalar(), 3),
            (TensorKey::vector(), 4),
            (TensorKey::new(0, 1), 9),
        ])
        .unwrap();
        let a = VectorNeuronNonlinear::new(&sig, 5);
        assert!(a.weights(&TensorKey::scalar()).is_none());
        let w = a.weights(&TensorKey::vector()).unwrap();
        assert_eq!(w.len(), 16);
        assert!(w.iter().all(|v| v.abs() <= 0.5));
        let p = a.weights(&TensorKey::new(0, 1)).unwrap();
        assert!(p.iter().all(|v| v.abs() <= 1.0 / 3.0));
        assert_eq!(
            VectorNeuronNonlinear::new(&sig, 5).weights(&TensorKey::vector()),
            Some(w)
        );
        assert_ne!(
            VectorNeuronNonlinear::new(&sig, 6).weights(&TensorKey::vector()),
            Some(w)
        );
    }

    #[test]
    fn custom_activation_on_scalars() {
        let sig = Signature::new(vec![(TensorKey::scalar(), 1)]).unwrap();
        let layer =
            VectorNeuronNonlinear::new(&sig, 0).with_activation(Activation::custom(|x| 2.0 * x));
        let geometry = Geometry::square(1, 3, true).unwrap();
        let block = ImageBlock::new(
            geometry.clone(),
            TensorKey::scalar(),
            1,
            vec![-1.0, 0.5, 2.0],
        );
        let x = MultiImage::from_blocks(geometry, vec![block.unwrap()]).unwrap();
        assert_eq!(
            layer.forward(&x).unwrap().blocks()[0].data(),
            &[-2.0, 1.0, 4.0]
        );
    }

    #[test]
    fn errors() {
        let mut l = layer(2, vec![0.0; 4]);
        assert!(matches!(
            l.set_weights(&TensorKey::vector(), vec![0.0; 3]),
            Err(NonlinearError::WeightLength {
                expected: 4,
                got: 3,
                ..
            })
        ));
        assert!(matches!(
            l.forward(&one_pixel(1, vec![1.0, 0.0])),
            Err(Error::Nonlinear(NonlinearError::Channels {
                expected: 2,
                got: 1,
                ..
            }))
        ));
        let geometry = Geometry::square(2, 1, true).unwrap();
        let block = ImageBlock::zeros(geometry.clone(), TensorKey::new(1, 1), 2);
        let x = MultiImage::from_blocks(geometry, vec![block]).unwrap();
        assert!(matches!(
            l.forward(&x),
            Err(Error::Nonlinear(NonlinearError::UnknownKey { .. }))
        ));
    }
}
