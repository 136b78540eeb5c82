//! ginjax's `GroupNorm(input_keys, D, groups, eps)` and `LayerNorm` (one group).
//!
//! Channels of a block are split into `groups` consecutive groups.
//! - k = 0 blocks (scalars and pseudoscalars) are normalised like `equinox.nn.GroupNorm`:
//!   `(x − μ)/√(σ² + eps)·weight[c] + bias[c]`, with the group mean μ and biased variance σ²
//!   over (channels in the group × pixels).
//! - k = 1 blocks are whitened per group: subtract the group mean vector, form the biased
//!   covariance `C = XᵀX/rows` of the centred vectors, `C = UΛUᵀ`, and map
//!   `x ↦ U diag(1/√(λ + eps)) Uᵀ x`; then `out = scale[c]·whitened + bias[c]·m_c` with `m_c`
//!   the channel's own spatial mean vector.
//! - k ≥ 2 is rejected (ginjax raises `NotImplementedError`).
//!
//! # Pseudoscalar biases: [`NormParity`]
//!
//! A reflection (an element `g` of B_d with det −1) acts on a pseudoscalar (k = 0, parity 1)
//! image by moving its pixels *and negating every value*: `(g·x)(p) = −x(g⁻¹p)`. Through the
//! k = 0 normalisation:
//! - the group mean μ is an average over channels and pixels, so the pixel permutation leaves
//!   it alone and the sign flips it: `μ(g·x) = −μ(x)` (odd), and the centred values
//!   `x − μ` are odd too;
//! - the biased variance σ² is a mean of squared centred values: `σ²(g·x) = σ²(x)` (even), so
//!   `(x − μ)/√(σ² + eps)` is odd;
//! - the per-channel weight multiplies an odd quantity by a constant (channels are not moved
//!   by the group): still odd;
//! - the per-channel bias β is a constant: `f(g·x) = −a·x̂(g⁻¹p) + β` but
//!   `g·f(x) = −a·x̂(g⁻¹p) − β`. They differ by `2β`: **a learned bias on a pseudoscalar key
//!   is not equivariant under reflections** (under rotations, det +1, it is).
//!
//! ginjax (equinox's `GroupNorm` on every k = 0 key) has that bias; [`NormParity::Ginjax`],
//! the default, keeps it, so imported ginjax models compute exactly what ginjax computes.
//! [`NormParity::ParityCorrect`] gives parity-1 scalar keys **no bias parameter at all** (no
//! flat parameter, no `.vanilla_norm[KEY].bias` leaf, no gradient), and every other key the
//! same parameters as ginjax. Nothing else in the layer breaks oddness: scalar keys of parity
//! 0 are acted on by permutation only (a bias is fine there), and for k = 1 keys the whitening
//! map of the moved image is `W(g·x) = G W(x) Gᵀ` (`G` the orthogonal matrix of `g`, `W` a
//! spectral function of the covariance `G C Gᵀ`, which the parity sign leaves alone), the
//! mean vectors μ and `m_c` transform like the vectors themselves (parity sign included), so
//! `scale·W(x − μ) + bias·m_c` is equivariant for vectors and pseudovectors alike.
//!
//! Statistics are accumulated in f64; constant or zero inputs give finite output (the
//! variance or eigenvalue is 0 and `eps` keeps the division finite).
//!
//! The gradients of the forward pass, for training, are [`GroupNorm::backward`]; the trainable
//! parameters travel flat ([`GroupNorm::flat_params`]): per key in signature order, the
//! key's weight (one value per channel), then its bias (where the key has one: see
//! [`NormParity`]).

mod backward;

use ginrs_generator::group::MAX_DIM;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::Error;
use crate::image::{
    each_block_into, same_shape_image, BlockView, MultiImage, Signature, TensorKey,
};
use crate::io::layer_params::{GroupNormParams, VanillaNormJson};
use crate::io::params::{
    match_keys, signature_from_json, signature_to_json, ArrayJson, KeyJson, KeyedArrayJson,
};
use crate::kernels::simd::widest;
use crate::layers::layer::Layer;
use crate::ops::sym_eigen::spectral_map;
use crate::ops::GINJAX_EPS;

const LAYER: &str = "GroupNorm";

/// Whether the k = 0 normalisation of a pseudoscalar key (k = 0, parity 1) has equinox's
/// learned bias. See the module docs: a constant bias is not odd, so with it the layer is not
/// equivariant under reflections when the data has pseudoscalars.
///
/// In JSON (a [`GroupNorm`]'s parameters, a model file's `config.norm_parity`) it is written
/// `"ginjax"` or `"parity_correct"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormParity {
    /// ginjax's layer: every k = 0 key, pseudoscalars included, has a learned bias (the
    /// default; what imported ginjax models use).
    #[default]
    Ginjax,
    /// Parity-1 scalar keys have no bias (their learned weight stays); every other key is
    /// ginjax's. Equivariant under all of B_d, reflections included.
    ParityCorrect,
}

impl NormParity {
    /// The JSON name: `"ginjax"` or `"parity_correct"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ginjax => "ginjax",
            Self::ParityCorrect => "parity_correct",
        }
    }

    /// The mode called `name` ([`Self::name`]); `None` for any other text.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ginjax" => Some(Self::Ginjax),
            "parity_correct" => Some(Self::ParityCorrect),
            _ => None,
        }
    }

    /// Whether a norm in this mode has a bias for `key`: always in ginjax's mode; in the
    /// parity-correct mode for every key but the pseudoscalars (k = 0, parity 1).
    pub fn has_bias(self, key: &TensorKey) -> bool {
        match self {
            Self::Ginjax => true,
            Self::ParityCorrect => !(key.k() == 0 && key.parity() % 2 == 1),
        }
    }
}

/// Errors from building or applying a [`GroupNorm`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NormError {
    /// `groups` is 0.
    #[error("GroupNorm needs at least one group, got groups = 0")]
    ZeroGroups,
    /// `eps` is negative, NaN or infinite.
    #[error("GroupNorm: eps must be finite and non-negative, got {eps}")]
    Eps {
        /// The value given, as text (an f32 is not `Eq`).
        eps: String,
    },
    /// The number of groups does not divide a key's channel count.
    #[error("GroupNorm: groups must divide the channels, but got groups = {groups} and {channels} channels for {key}")]
    GroupsDivide {
        /// The key.
        key: String,
        /// The number of groups.
        groups: usize,
        /// The key's channels.
        channels: usize,
    },
    /// A key of tensor order k ≥ 2 (ginjax implements k = 0 and k = 1 only).
    #[error("GroupNorm is implemented for k = 0 and k = 1 only, got {key} with k = {k}")]
    UnsupportedOrder {
        /// The key.
        key: String,
        /// Its order.
        k: usize,
    },
    /// The input has a key the layer was not built for.
    #[error(
        "GroupNorm: the input has key {key}, which is not in the layer's signature {signature}"
    )]
    UnknownKey {
        /// The key.
        key: String,
        /// The layer's signature.
        signature: String,
    },
    /// The input block has another channel count than the layer's signature.
    #[error("GroupNorm: {key} has {got} channels, the layer expects {expected}")]
    Channels {
        /// The key.
        key: String,
        /// The layer's channels for it.
        expected: usize,
        /// The input's channels.
        got: usize,
    },
    /// A flat parameter vector ([`GroupNorm::set_flat_params`]) of the wrong length.
    #[error("GroupNorm: expected {expected} flat parameter values (weight and bias per channel of every key), got {got}")]
    FlatParams {
        /// [`GroupNorm::param_len`].
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An output gradient on another geometry than the input it is the gradient for.
    #[error("GroupNorm: the output gradient has geometry {got}, the input has {expected}")]
    GradientGeometry {
        /// The input's geometry.
        expected: String,
        /// The gradient's geometry.
        got: String,
    },
    /// A bias for a key that has none in the layer's [`NormParity`] (a pseudoscalar key in the
    /// parity-correct mode).
    #[error("GroupNorm: {key} has no bias in the {parity} mode (a constant bias on a pseudoscalar is not equivariant under reflections)")]
    NoBias {
        /// The key.
        key: String,
        /// The mode's name.
        parity: &'static str,
    },
    /// No bias for a key that has one in the layer's [`NormParity`].
    #[error("GroupNorm: {key} needs a bias in the {parity} mode")]
    MissingBias {
        /// The key.
        key: String,
        /// The mode's name.
        parity: &'static str,
    },
    /// An affine parameter vector of the wrong length.
    #[error("GroupNorm: {what} for {key} needs {expected} values (one per channel), got {got}")]
    ParamLength {
        /// Which parameter.
        what: &'static str,
        /// The key.
        key: String,
        /// The channel count.
        expected: usize,
        /// The length given.
        got: usize,
    },
}

/// Per-key trainable parameters: `weight`/`bias` of the equinox norm for k = 0, the vector
/// `scale`/`bias` for k = 1; no bias where the layer's [`NormParity`] gives the key none.
#[derive(Debug, Clone, PartialEq)]
struct NormBlock {
    key: TensorKey,
    channels: usize,
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl NormBlock {
    /// The bias of channel `c` (0 for a key without bias).
    #[inline(always)]
    fn bias_at(&self, c: usize) -> f64 {
        self.bias.as_ref().map_or(0.0, |b| f64::from(b[c]))
    }

    /// The number of flat parameters of the key: the weight and, where it has one, the bias.
    fn param_len(&self) -> usize {
        self.channels * if self.bias.is_some() { 2 } else { 1 }
    }
}

/// ginjax's `GroupNorm` (and `LayerNorm` = one group); see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNorm {
    input_keys: Signature,
    groups: usize,
    eps: f32,
    parity: NormParity,
    blocks: Vec<NormBlock>,
}

impl GroupNorm {
    /// A group norm for `input_keys` with ginjax's initial parameters (weight/scale 1,
    /// bias 0), `eps = 1e-5` and ginjax's [`NormParity::Ginjax`] (see [`Self::with_parity`]).
    /// Every channel count must be divisible by `groups` and every key must have k ≤ 1.
    pub fn new(input_keys: &Signature, groups: usize) -> Result<Self, NormError> {
        if groups == 0 {
            return Err(NormError::ZeroGroups);
        }
        let blocks = input_keys
            .entries()
            .iter()
            .map(|(key, channels)| {
                if key.k() > 1 {
                    return Err(NormError::UnsupportedOrder {
                        key: format!("{key:?}"),
                        k: key.k(),
                    });
                }
                if channels % groups != 0 {
                    return Err(NormError::GroupsDivide {
                        key: format!("{key:?}"),
                        groups,
                        channels: *channels,
                    });
                }
                Ok(NormBlock {
                    key: key.clone(),
                    channels: *channels,
                    weight: vec![1.0; *channels],
                    bias: Some(vec![0.0; *channels]),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            input_keys: input_keys.clone(),
            groups,
            eps: GINJAX_EPS,
            parity: NormParity::Ginjax,
            blocks,
        })
    }

    /// ginjax's `LayerNorm` in the given [`NormParity`] mode: one group.
    pub fn layer_norm_with_parity(
        input_keys: &Signature,
        parity: NormParity,
    ) -> Result<Self, NormError> {
        Ok(Self::layer_norm(input_keys)?.with_parity(parity))
    }

    /// Switches the layer to `parity` (see [`NormParity`] and the module docs): keys that have
    /// no bias in the new mode lose theirs, keys that gain one get ginjax's initial bias 0;
    /// other parameters are kept.
    pub fn with_parity(mut self, parity: NormParity) -> Self {
        self.parity = parity;
        for b in &mut self.blocks {
            b.bias = match (parity.has_bias(&b.key), b.bias.take()) {
                (true, Some(bias)) => Some(bias),
                (true, None) => Some(vec![0.0; b.channels]),
                (false, _) => None,
            };
        }
        self
    }

    /// Whether pseudoscalar keys have a bias ([`NormParity`]).
    pub fn parity(&self) -> NormParity {
        self.parity
    }

    /// ginjax's `LayerNorm(input_keys, D)`: a group norm with one group.
    pub fn layer_norm(input_keys: &Signature) -> Result<Self, NormError> {
        Self::new(input_keys, 1)
    }

    /// Replaces `eps` (added to variances and eigenvalues).
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// The signature the layer accepts.
    pub fn input_keys(&self) -> &Signature {
        &self.input_keys
    }

    /// The number of channel groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The `eps` added to variances and eigenvalues.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// The per-channel multiplier of `key` (equinox `weight` for k = 0, `scale` for k = 1).
    pub fn weight(&self, key: &TensorKey) -> Option<&[f32]> {
        self.block(key).map(|b| b.weight.as_slice())
    }

    /// The per-channel bias of `key` (added for k = 0, times the channel mean for k = 1);
    /// `None` for a key the layer does not have or a key without bias (a pseudoscalar in
    /// [`NormParity::ParityCorrect`]).
    pub fn bias(&self, key: &TensorKey) -> Option<&[f32]> {
        self.block(key).and_then(|b| b.bias.as_deref())
    }

    /// Sets the per-channel multiplier and bias of `key` (one value per channel each); an
    /// error ([`NormError::NoBias`]) for a key without bias (use [`Self::set_weight`]).
    pub fn set_affine(
        &mut self,
        key: &TensorKey,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<(), NormError> {
        let block = self.block_mut(key)?;
        check_len("weight", key, block.channels, &weight)?;
        check_len("bias", key, block.channels, &bias)?;
        self.set_bias(key, bias)?;
        self.set_weight(key, weight)
    }

    /// Sets the per-channel multiplier of `key` (one value per channel).
    pub fn set_weight(&mut self, key: &TensorKey, weight: Vec<f32>) -> Result<(), NormError> {
        let block = self.block_mut(key)?;
        check_len("weight", key, block.channels, &weight)?;
        block.weight = weight;
        Ok(())
    }

    /// Sets the per-channel bias of `key` (one value per channel); an error
    /// ([`NormError::NoBias`]) for a key without bias in the layer's [`NormParity`].
    pub fn set_bias(&mut self, key: &TensorKey, bias: Vec<f32>) -> Result<(), NormError> {
        let parity = self.parity.name();
        let block = self.block_mut(key)?;
        check_len("bias", key, block.channels, &bias)?;
        match &mut block.bias {
            Some(values) => *values = bias,
            None => {
                return Err(NormError::NoBias {
                    key: format!("{key:?}"),
                    parity,
                })
            }
        }
        Ok(())
    }

    fn block_mut(&mut self, key: &TensorKey) -> Result<&mut NormBlock, NormError> {
        let signature = self.input_keys.to_string();
        self.blocks
            .iter_mut()
            .find(|b| &b.key == key)
            .ok_or_else(|| NormError::UnknownKey {
                key: format!("{key:?}"),
                signature,
            })
    }

    fn block(&self, key: &TensorKey) -> Option<&NormBlock> {
        self.blocks.iter().find(|b| &b.key == key)
    }

    /// The number of flat parameter values: `Σ_keys 2 · channels`, less the channels of keys
    /// without bias (see [`Self::flat_params`]).
    pub fn param_len(&self) -> usize {
        self.blocks.iter().map(NormBlock::param_len).sum()
    }

    /// Every trainable value, flat: per key in signature order, the weight (one value per
    /// channel), then the bias where the key has one ([`NormParity`]). The order of
    /// [`Self::backward`]'s parameter gradients.
    pub fn flat_params(&self) -> Vec<f32> {
        let mut flat = Vec::with_capacity(self.param_len());
        for b in &self.blocks {
            flat.extend_from_slice(&b.weight);
            if let Some(bias) = &b.bias {
                flat.extend_from_slice(bias);
            }
        }
        flat
    }

    /// Sets every key's weight and bias from a flat vector in [`Self::flat_params`]'s order.
    pub fn set_flat_params(&mut self, params: &[f32]) -> Result<(), NormError> {
        let expected = self.param_len();
        if params.len() != expected {
            return Err(NormError::FlatParams {
                expected,
                got: params.len(),
            });
        }
        let mut rest = params;
        for b in &mut self.blocks {
            let (weight, mut tail) = rest.split_at(b.channels);
            b.weight.copy_from_slice(weight);
            if let Some(bias) = &mut b.bias {
                let (values, after) = tail.split_at(b.channels);
                bias.copy_from_slice(values);
                tail = after;
            }
            rest = tail;
        }
        Ok(())
    }

    /// The parameters of `block`'s key and their offset in the flat parameters, checking that
    /// the layer knows the key and that the channel count matches.
    fn checked_block(&self, block: BlockView<'_>) -> Result<(&NormBlock, usize), NormError> {
        let mut offset = 0;
        for params in &self.blocks {
            if &params.key == block.key() {
                if block.channels() != params.channels {
                    return Err(NormError::Channels {
                        key: format!("{:?}", block.key()),
                        expected: params.channels,
                        got: block.channels(),
                    });
                }
                return Ok((params, offset));
            }
            offset += params.param_len();
        }
        Err(NormError::UnknownKey {
            key: format!("{:?}", block.key()),
            signature: self.input_keys.to_string(),
        })
    }

    /// The parameters in their JSON form (a key without bias has no `bias` entry, and the
    /// parity-correct mode is recorded as `"norm_parity": "parity_correct"`).
    pub fn params(&self) -> GroupNormParams {
        let affine = |b: &NormBlock, values: &[f32]| KeyedArrayJson {
            key: KeyJson::from(&b.key),
            array: ArrayJson::new(vec![b.channels], values.to_vec()),
        };
        let scalars = self.blocks.iter().filter(|b| b.key.k() == 0);
        let vectors = self.blocks.iter().filter(|b| b.key.k() == 1);
        GroupNormParams {
            groups: self.groups,
            eps: self.eps,
            norm_parity: self.parity,
            input_keys: signature_to_json(&self.input_keys),
            vanilla_norm: scalars
                .map(|b| VanillaNormJson {
                    key: KeyJson::from(&b.key),
                    weight: ArrayJson::new(vec![b.channels], b.weight.clone()),
                    bias: b
                        .bias
                        .as_ref()
                        .map(|bias| ArrayJson::new(vec![b.channels], bias.clone())),
                })
                .collect(),
            vector_scale: vectors.clone().map(|b| affine(b, &b.weight)).collect(),
            vector_bias: vectors
                .map(|b| affine(b, b.bias.as_deref().expect("k = 1 keys always have a bias")))
                .collect(),
        }
    }

    /// Builds the layer from its JSON form, checking groups, orders, keys and shapes; a
    /// scalar key has a `bias` exactly when the form's `norm_parity` gives it one
    /// ([`NormError::MissingBias`], [`NormError::NoBias`]).
    pub fn from_params(params: &GroupNormParams) -> Result<Self, Error> {
        let signature = signature_from_json(LAYER, &params.input_keys)?;
        if !(params.eps.is_finite() && params.eps >= 0.0) {
            return Err(NormError::Eps {
                eps: params.eps.to_string(),
            }
            .into());
        }
        let keys_of_order = |k: usize| -> Vec<TensorKey> {
            signature
                .entries()
                .iter()
                .filter(|(key, _)| key.k() == k)
                .map(|(key, _)| key.clone())
                .collect()
        };
        let (scalars, vectors) = (keys_of_order(0), keys_of_order(1));
        let vanilla = match_keys(LAYER, "vanilla_norm", &scalars, &params.vanilla_norm, |e| {
            &e.key
        })?;
        let scale = match_keys(LAYER, "vector_scale", &vectors, &params.vector_scale, |e| {
            &e.key
        })?;
        let bias = match_keys(LAYER, "vector_bias", &vectors, &params.vector_bias, |e| {
            &e.key
        })?;
        // Every array is checked against the signature before the layer allocates its
        // per-channel parameters, so a channel count the file does not back is an error.
        let mut affine = Vec::with_capacity(scalars.len() + vectors.len());
        let parity = params.norm_parity;
        for (key, entry) in scalars.iter().zip(vanilla) {
            let shape = [signature.channels(key).unwrap_or(0)];
            let w = entry
                .weight
                .checked(LAYER, "vanilla_norm weight", key, &shape)?;
            let b = match (&entry.bias, parity.has_bias(key)) {
                (Some(b), true) => Some(b.checked(LAYER, "vanilla_norm bias", key, &shape)?),
                (None, false) => None,
                (Some(_), false) => {
                    return Err(NormError::NoBias {
                        key: format!("{key:?}"),
                        parity: parity.name(),
                    }
                    .into())
                }
                (None, true) => {
                    return Err(NormError::MissingBias {
                        key: format!("{key:?}"),
                        parity: parity.name(),
                    }
                    .into())
                }
            };
            affine.push((key, w, b));
        }
        for ((key, s), b) in vectors.iter().zip(scale).zip(bias) {
            let shape = [signature.channels(key).unwrap_or(0)];
            let s = s.array.checked(LAYER, "vector_scale", key, &shape)?;
            let b = b.array.checked(LAYER, "vector_bias", key, &shape)?;
            affine.push((key, s, Some(b)));
        }
        let mut layer = Self::new(&signature, params.groups)?
            .with_eps(params.eps)
            .with_parity(parity);
        for (key, w, b) in affine {
            layer.set_weight(key, w)?;
            if let Some(b) = b {
                layer.set_bias(key, b)?;
            }
        }
        Ok(layer)
    }

    /// Normalises `input` (blocks of the layer's keys, each with its channel count) into
    /// `out`, one slice per block of the block's length: [`Layer::forward`] on borrowed
    /// values.
    ///
    /// Errors: a key the layer lacks or a channel count that differs from the layer's
    /// ([`NormError`]), and `out` slices that do not match the blocks.
    pub fn forward_into(
        &self,
        input: &[BlockView<'_>],
        out: &mut [&mut [f32]],
    ) -> Result<(), Error> {
        each_block_into(input, out, |block, out| {
            let (params, _) = self.checked_block(block)?;
            if block.key().k() == 0 {
                self.norm_scalars(block, params, out);
            } else {
                self.whiten_vectors(block, params, out);
            }
            Ok(())
        })
    }

    /// equinox GroupNorm on a k = 0 block.
    fn norm_scalars(&self, block: BlockView<'_>, params: &NormBlock, out: &mut [f32]) {
        widest(
            #[inline(always)]
            || self.norm_scalars_body(block, params, out),
        )
    }

    #[inline(always)]
    fn norm_scalars_body(&self, block: BlockView<'_>, params: &NormBlock, out: &mut [f32]) {
        let per_group = block.channels() / self.groups;
        let channel_len = block.channel_len();
        let group_len = per_group * channel_len;
        let eps = f64::from(self.eps);
        for (g, (group, out_group)) in block
            .data()
            .chunks(group_len)
            .zip(out.chunks_mut(group_len))
            .enumerate()
        {
            let n = group.len() as f64;
            let mean = component_sums::<1>(1, group)[0] / n;
            let var = centred_moments::<1>(1, group, &[mean])[0][0] / n;
            let inv = 1.0 / (var.max(0.0) + eps).sqrt();
            for (i, (channel, out_channel)) in group
                .chunks(channel_len)
                .zip(out_group.chunks_mut(channel_len))
                .enumerate()
            {
                let c = g * per_group + i;
                let a = inv * f64::from(params.weight[c]);
                let b = params.bias_at(c);
                for (o, &x) in out_channel.iter_mut().zip(channel) {
                    *o = ((f64::from(x) - mean) * a + b) as f32;
                }
            }
        }
    }

    /// Eigenvalue whitening of a k = 1 block, then scale and mean-bias per channel.
    fn whiten_vectors(&self, block: BlockView<'_>, params: &NormBlock, out: &mut [f32]) {
        // The passes with the component count a constant for d = 2 and 3, so that their
        // per-pixel loops unroll and the lanes of sums stay in registers.
        widest(
            #[inline(always)]
            || match block.components() {
                2 => self.whiten_vectors_body::<2>(2, block, params, out),
                3 => self.whiten_vectors_body::<3>(3, block, params, out),
                d => self.whiten_vectors_body::<MAX_DIM>(d, block, params, out),
            },
        )
    }

    #[inline(always)]
    fn whiten_vectors_body<const N: usize>(
        &self,
        d: usize,
        block: BlockView<'_>,
        params: &NormBlock,
        out: &mut [f32],
    ) {
        let d = fixed_components::<N>(d);
        let per_group = block.channels() / self.groups;
        let channel_len = block.channel_len();
        let group_len = per_group * channel_len;
        let eps = f64::from(self.eps);
        let mut channel_means = vec![[0f64; N]; per_group];
        for (g, (group, out_group)) in block
            .data()
            .chunks(group_len)
            .zip(out.chunks_mut(group_len))
            .enumerate()
        {
            let (mean, cov) = vector_statistics(d, group, channel_len, &mut channel_means);
            let whiten = spectral_map(&cov, d, |lambda| 1.0 / (lambda.max(0.0) + eps).sqrt());
            for (i, ((channel, out_channel), channel_mean)) in group
                .chunks(channel_len)
                .zip(out_group.chunks_mut(channel_len))
                .zip(&channel_means)
                .enumerate()
            {
                let c = g * per_group + i;
                let scale = f64::from(params.weight[c]);
                let bias = params.bias_at(c);
                // out = scale · whiten · (x − mean) + bias · channel mean.
                let mut map = [[0f64; N]; N];
                let mut shift = [0f64; N];
                for r in 0..d {
                    for a in 0..d {
                        map[r][a] = scale * whiten[r * d + a];
                    }
                    shift[r] = bias * channel_mean[r];
                }
                for (o, x) in out_channel.chunks_exact_mut(d).zip(channel.chunks_exact(d)) {
                    let mut centred = [0f64; N];
                    for a in 0..d {
                        centred[a] = f64::from(x[a]) - mean[a];
                    }
                    for r in 0..d {
                        let mut v = shift[r];
                        for a in 0..d {
                            v += map[r][a] * centred[a];
                        }
                        o[r] = v as f32;
                    }
                }
            }
        }
    }
}

/// Checks that `values` has one value per channel.
fn check_len(
    what: &'static str,
    key: &TensorKey,
    channels: usize,
    values: &[f32],
) -> Result<(), NormError> {
    if values.len() != channels {
        return Err(NormError::ParamLength {
            what,
            key: format!("{key:?}"),
            expected: channels,
            got: values.len(),
        });
    }
    Ok(())
}

/// The statistics of one group of a k = 1 block (pixels of `d` components, channels of
/// `channel_len` values): the group's mean vector μ and biased covariance
/// `C = Σ_rows (x − μ)(x − μ)ᵀ / rows` (row-major `d × d`), in f64; writes each channel's own
/// mean vector into `channel_means`. The forward and backward passes share it.
#[inline(always)]
fn vector_statistics<const N: usize>(
    d: usize,
    group: &[f32],
    channel_len: usize,
    channel_means: &mut [[f64; N]],
) -> ([f64; N], Vec<f64>) {
    let d = fixed_components::<N>(d);
    let rows = (group.len() / d) as f64;
    let pixels = (channel_len / d) as f64;
    let mut mean = [0f64; N];
    for (channel, channel_mean) in group.chunks(channel_len).zip(channel_means) {
        let sums = component_sums::<N>(d, channel);
        for a in 0..d {
            mean[a] += sums[a];
            channel_mean[a] = sums[a] / pixels;
        }
    }
    mean[..d].iter_mut().for_each(|m| *m /= rows);
    let moments = centred_moments(d, group, &mean);
    let cov = (0..d * d).map(|i| moments[i / d][i % d] / rows).collect();
    (mean, cov)
}

/// The component count `d` of pixels held in arrays of `N` entries: `N` itself, a compile-time
/// constant, for the dimensions compiled apart (`N < MAX_DIM`, always called with `d = N`),
/// the given `d` otherwise. Every per-pixel helper starts with it: the optimiser does not carry
/// a caller's constant `d` into an `#[inline(always)]` helper's loops before vectorising them
/// (measured: masked loops over a run-time `d`, the d = 2 forward pass 7× slower).
#[inline(always)]
fn fixed_components<const N: usize>(d: usize) -> usize {
    debug_assert!(d <= N && (N == MAX_DIM || d == N));
    if N == MAX_DIM {
        d
    } else {
        N
    }
}

/// Adds the products `(x_a − m_a)(x_b − m_b)` of one pixel `x` of `d` components to `lane`
/// (arrays of `N ≥ d` entries: `N = d` for the dimensions compiled apart, so that they stay in
/// registers).
#[inline(always)]
fn add_moments<const N: usize>(d: usize, lane: &mut [[f64; N]; N], x: &[f32], mean: &[f64; N]) {
    let d = fixed_components::<N>(d);
    let mut c = [0f64; N];
    for a in 0..d {
        c[a] = f64::from(x[a]) - mean[a];
    }
    for a in 0..d {
        for b in 0..d {
            lane[a][b] += c[a] * c[b];
        }
    }
}

/// Independent partial sums per component in [`component_sums`] and [`centred_moments`], so
/// that the f64 sums vectorise rather than wait on one another.
const LANES: usize = 4;

/// Per-component sums `Σ x_a` (f64) over `values`, pixels of `d` components.
#[inline(always)]
fn component_sums<const N: usize>(d: usize, values: &[f32]) -> [f64; N] {
    let d = fixed_components::<N>(d);
    let mut lanes = [[0f64; N]; 2 * LANES];
    let mut chunks = values.chunks_exact(2 * LANES * d);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk.chunks_exact(d)) {
            for a in 0..d {
                lane[a] += f64::from(x[a]);
            }
        }
    }
    let mut sums = [0f64; N];
    for lane in &lanes {
        for a in 0..d {
            sums[a] += lane[a];
        }
    }
    for x in chunks.remainder().chunks_exact(d) {
        for a in 0..d {
            sums[a] += f64::from(x[a]);
        }
    }
    sums
}

/// The centred second moments `Σ (x_a − m_a)(x_b − m_b)` (f64) over `values`, pixels of `d`
/// components, with means `mean`.
#[inline(always)]
fn centred_moments<const N: usize>(d: usize, values: &[f32], mean: &[f64; N]) -> [[f64; N]; N] {
    let d = fixed_components::<N>(d);
    let mut lanes = [[[0f64; N]; N]; LANES];
    let mut chunks = values.chunks_exact(LANES * d);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk.chunks_exact(d)) {
            add_moments(d, lane, x, mean);
        }
    }
    let (first, rest) = lanes.split_first_mut().expect("LANES > 0");
    for x in chunks.remainder().chunks_exact(d) {
        add_moments(d, first, x, mean);
    }
    for lane in rest.iter() {
        for a in 0..d {
            for b in 0..d {
                first[a][b] += lane[a][b];
            }
        }
    }
    *first
}

impl Layer for GroupNorm {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let (output, ()) = same_shape_image(input, |x, out| self.forward_into(x, out))?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock};

    fn image(key: TensorKey, channels: usize, spatial: Vec<usize>, data: Vec<f32>) -> MultiImage {
        let torus = vec![true; spatial.len()];
        let geometry = Geometry::new(spatial, torus).unwrap();
        let block = ImageBlock::new(geometry.clone(), key, channels, data).unwrap();
        MultiImage::from_blocks(geometry, vec![block]).unwrap()
    }

    fn sig(entries: Vec<(TensorKey, usize)>) -> Signature {
        Signature::new(entries).unwrap()
    }

    #[test]
    fn scalar_layer_norm_worked_example() {
        // 2 channels × 2 pixels [1, 2 | 3, 6]: μ = 3, σ² = 3.5, so y = (x − 3)/√(3.5 + 1e-5).
        let layer = GroupNorm::layer_norm(&sig(vec![(TensorKey::scalar(), 2)])).unwrap();
        let x = image(TensorKey::scalar(), 2, vec![1, 2], vec![1.0, 2.0, 3.0, 6.0]);
        let y = layer.forward(&x).unwrap();
        let want = [-1.06904, -0.53452, 0.0, 1.60357];
        for (g, w) in y.blocks()[0].data().iter().zip(want) {
            assert!((g - w).abs() < 2e-5, "{g} vs {w}");
        }
    }

    #[test]
    fn vector_layer_norm_worked_example() {
        // One channel, pixels (1, 0), (3, 0): mean (2, 0), covariance diag(1, 0), so the
        // whitened pixels are (∓1/√(1 + 1e-5), 0) = (∓0.999995, 0).
        let layer = GroupNorm::layer_norm(&sig(vec![(TensorKey::vector(), 1)])).unwrap();
        let x = image(TensorKey::vector(), 1, vec![1, 2], vec![1.0, 0.0, 3.0, 0.0]);
        let y = layer.forward(&x).unwrap();
        let want = [-0.999995, 0.0, 0.999995, 0.0];
        for (g, w) in y.blocks()[0].data().iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn whitened_groups_have_identity_covariance() {
        // Two groups of two 2-D vector channels on 3 pixels; each group's output covariance
        // is C (C + eps)^{-1} ≈ I.
        let data: Vec<f32> = (0..24)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let layer = GroupNorm::new(&sig(vec![(TensorKey::vector(), 4)]), 2).unwrap();
        let y = layer
            .forward(&image(TensorKey::vector(), 4, vec![3, 1], data))
            .unwrap();
        let out = y.blocks()[0].data();
        for group in out.chunks(12) {
            let mut cov = [0f64; 4];
            for row in group.chunks(2) {
                cov[0] += f64::from(row[0] * row[0]) / 6.0;
                cov[1] += f64::from(row[0] * row[1]) / 6.0;
                cov[3] += f64::from(row[1] * row[1]) / 6.0;
            }
            assert!((cov[0] - 1.0).abs() < 1e-3 && (cov[3] - 1.0).abs() < 1e-3);
            assert!(cov[1].abs() < 1e-3);
        }
    }

    #[test]
    fn one_dimensional_vectors_normalise_like_scalars() {
        // For d = 1 the whitening is (x − μ)/√(σ² + eps), the scalar formula.
        let data: Vec<f32> = (0..12).map(|i| ((i * 5 % 7) as f32) * 0.7 - 1.0).collect();
        let scalar = GroupNorm::new(&sig(vec![(TensorKey::scalar(), 4)]), 2).unwrap();
        let vector = GroupNorm::new(&sig(vec![(TensorKey::vector(), 4)]), 2).unwrap();
        let s = scalar
            .forward(&image(TensorKey::scalar(), 4, vec![3], data.clone()))
            .unwrap();
        let v = vector
            .forward(&image(TensorKey::vector(), 4, vec![3], data))
            .unwrap();
        for (a, b) in s.blocks()[0].data().iter().zip(v.blocks()[0].data()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn constant_and_zero_inputs_are_finite() {
        let layer = GroupNorm::layer_norm(&sig(vec![
            (TensorKey::scalar(), 2),
            (TensorKey::vector(), 2),
        ]))
        .unwrap();
        let geometry = Geometry::square(2, 3, true).unwrap();
        let scalars = ImageBlock::new(geometry.clone(), TensorKey::scalar(), 2, vec![7.0; 18]);
        let vectors = ImageBlock::zeros(geometry.clone(), TensorKey::vector(), 2);
        let x = MultiImage::from_blocks(geometry, vec![scalars.unwrap(), vectors]).unwrap();
        let y = layer.forward(&x).unwrap();
        for block in y.blocks() {
            assert!(block.data().iter().all(|v| *v == 0.0));
        }
    }

    #[test]
    fn construction_errors() {
        let six = sig(vec![(TensorKey::scalar(), 6)]);
        assert_eq!(
            GroupNorm::new(&six, 4),
            Err(NormError::GroupsDivide {
                key: "scalar".into(),
                groups: 4,
                channels: 6
            })
        );
        assert!(GroupNorm::new(&six, 4)
            .unwrap_err()
            .to_string()
            .contains("groups = 4 and 6 channels"));
        assert_eq!(GroupNorm::new(&six, 0), Err(NormError::ZeroGroups));
        let matrix = sig(vec![(TensorKey::new(2, 0), 2)]);
        assert!(matches!(
            GroupNorm::new(&matrix, 1),
            Err(NormError::UnsupportedOrder { k: 2, .. })
        ));
    }

    /// Pseudoscalars (3 channels), scalars (2) and vectors (2) on a 5×5 torus.
    fn mixed_with_pseudoscalars() -> (Signature, MultiImage) {
        let keys = crate::test_support::sig(&[(0, 1, 3), (0, 0, 2), (1, 0, 2)]);
        let geometry = Geometry::square(2, 5, true).unwrap();
        let mut x = crate::test_support::random_image(&geometry, &keys, 11);
        // An offset, so that the pseudoscalar mean is far from 0 (centring matters).
        for v in x.blocks_mut().next().unwrap().data_mut() {
            *v += 0.75;
        }
        (keys, x)
    }

    /// Nonzero learned weights and biases for every parameter the layer has.
    fn learned(mut layer: GroupNorm) -> GroupNorm {
        let params: Vec<f32> = crate::test_support::noise(layer.param_len(), 5)
            .into_iter()
            .map(|v| v + 0.5 * v.signum())
            .collect();
        layer.set_flat_params(&params).unwrap();
        layer
    }

    #[test]
    fn parity_correct_norm_is_equivariant_under_reflections() {
        use crate::check::equivariance::{check_layer, Elements};
        let (keys, x) = mixed_with_pseudoscalars();
        let pseudo = TensorKey::new(0, 1);

        let correct =
            learned(GroupNorm::layer_norm_with_parity(&keys, NormParity::ParityCorrect).unwrap());
        // No bias for the pseudoscalar key: 3 values fewer than ginjax's layer.
        assert_eq!(correct.param_len(), 2 * (3 + 2 + 2) - 3);
        assert_eq!(correct.bias(&pseudo), None);
        assert!(correct.bias(&TensorKey::scalar()).is_some());
        assert!(correct.weight(&pseudo).unwrap().iter().all(|w| *w != 1.0));
        let report = check_layer(&correct, &x, &Elements::All).unwrap();
        assert_eq!(report.per_element.len(), 8);
        assert!(
            report.holds(1e-5),
            "parity-correct: {}",
            report.relative_error
        );

        // ginjax's layer with the same parameters and a nonzero pseudoscalar bias: reflections
        // move the pseudoscalar output by twice the bias.
        let mut ginjax = correct.clone().with_parity(NormParity::Ginjax);
        ginjax.set_bias(&pseudo, vec![0.5, -0.75, 1.0]).unwrap();
        let report = check_layer(&ginjax, &x, &Elements::All).unwrap();
        assert!(
            report.relative_error > 0.1,
            "ginjax: {}",
            report.relative_error
        );
        // ... but not rotations (det +1 elements act on pseudoscalars by permutation only).
        let failing: Vec<_> = report
            .per_element
            .iter()
            .filter(|e| e.max_abs_error > 1e-4 * report.output_scale)
            .collect();
        assert_eq!(failing.len(), 4, "exactly the 4 reflections of B_2 fail");

        // The parity-correct layer is ginjax's with a zero pseudoscalar bias.
        ginjax.set_bias(&pseudo, vec![0.0; 3]).unwrap();
        assert_eq!(ginjax.forward(&x).unwrap(), correct.forward(&x).unwrap());
    }

    #[test]
    fn parity_modes_switch_and_keep_ginjax_parameters() {
        let (keys, x) = mixed_with_pseudoscalars();
        let pseudo = TensorKey::new(0, 1);
        let ginjax = learned(GroupNorm::layer_norm(&keys).unwrap());
        assert_eq!(ginjax.parity(), NormParity::Ginjax);
        let correct = ginjax.clone().with_parity(NormParity::ParityCorrect);
        assert_eq!(correct.parity(), NormParity::ParityCorrect);
        // Flat order: weight (and bias where present) per key in signature order.
        let mut want = ginjax.flat_params();
        want.drain(3..6);
        assert_eq!(correct.flat_params(), want);
        // Back to ginjax's mode: the pseudoscalar bias returns at ginjax's initial 0.
        let back = correct.clone().with_parity(NormParity::Ginjax);
        assert_eq!(back.bias(&pseudo), Some(&[0.0; 3][..]));
        assert_eq!(back.forward(&x).unwrap(), correct.forward(&x).unwrap());
        let mut correct = correct;
        assert!(matches!(
            correct.set_bias(&pseudo, vec![0.0; 3]),
            Err(NormError::NoBias { .. })
        ));
        assert!(matches!(
            correct.set_affine(&pseudo, vec![1.0; 3], vec![0.0; 3]),
            Err(NormError::NoBias { .. })
        ));
        assert_eq!(correct.flat_params(), want, "a refused set changes nothing");
        assert_eq!(
            correct.set_flat_params(&ginjax.flat_params()),
            Err(NormError::FlatParams {
                expected: want.len(),
                got: want.len() + 3
            })
        );
        for name in ["ginjax", "parity_correct"] {
            assert_eq!(NormParity::from_name(name).unwrap().name(), name);
        }
        assert_eq!(NormParity::from_name("odd"), None);
        assert_eq!(NormParity::default(), NormParity::Ginjax);
    }

    #[test]
    fn parity_correct_gradients_skip_the_missing_bias() {
        // The backward pass of the parity-correct layer is ginjax's with the pseudoscalar
        // bias gradient left out.
        let (keys, x) = mixed_with_pseudoscalars();
        let ginjax = learned(GroupNorm::layer_norm(&keys).unwrap());
        let mut ginjax_zero = ginjax.clone();
        ginjax_zero
            .set_bias(&TensorKey::new(0, 1), vec![0.0; 3])
            .unwrap();
        let correct = ginjax.clone().with_parity(NormParity::ParityCorrect);
        let cot = crate::test_support::random_image(x.geometry(), &keys, 3);
        let (dx_correct, dp_correct) = correct.backward(&x, &cot).unwrap();
        let (dx_ginjax, mut dp_ginjax) = ginjax_zero.backward(&x, &cot).unwrap();
        dp_ginjax.drain(3..6);
        assert_eq!(dx_correct, dx_ginjax);
        assert_eq!(dp_correct, dp_ginjax);
    }

    #[test]
    fn forward_errors() {
        let layer = GroupNorm::layer_norm(&sig(vec![(TensorKey::scalar(), 2)])).unwrap();
        let x = image(TensorKey::vector(), 1, vec![2, 1], vec![0.0; 4]);
        assert!(matches!(
            layer.forward(&x),
            Err(Error::Norm(NormError::UnknownKey { .. }))
        ));
        let x = image(TensorKey::scalar(), 1, vec![2, 1], vec![0.0; 2]);
        assert!(matches!(
            layer.forward(&x),
            Err(Error::Norm(NormError::Channels {
                expected: 2,
                got: 1,
                ..
            }))
        ));
    }
}
