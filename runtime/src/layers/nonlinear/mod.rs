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
//!
//! The activations (and their derivatives) are in `activation`; the gradients of a loss with
//! respect to the input and the weights ([`VectorNeuronNonlinear::backward`]) in `backward`.

mod activation;
mod backward;

pub use activation::{fast_tanh, Activation};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::error::Error;
use crate::image::{
    buffers, each_block_into, same_shape_image, BlockView, MultiImage, Signature, TensorKey,
};
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
    /// A flat weight vector of the wrong length.
    #[error("VectorNeuronNonlinear: the flat weights need {expected} values, got {got}")]
    FlatWeightLength {
        /// Σ c² over the non-scalar keys.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// The backward pass of a layer with a custom activation, whose derivative is unknown.
    #[error("VectorNeuronNonlinear: a custom activation has no derivative, so no backward pass")]
    NoDerivative,
    /// `grad_output` does not have the input's geometry and blocks.
    #[error(
        "VectorNeuronNonlinear: grad_output must have the input's geometry and signature \
         ({expected}), got {got}"
    )]
    GradientShape {
        /// The input's geometry and signature.
        expected: String,
        /// grad_output's.
        got: String,
    },
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

    /// The number of flat weight values: `Σ c²` over the non-scalar keys.
    pub fn weight_len(&self) -> usize {
        self.weights.iter().map(|w| w.weights.len()).sum()
    }

    /// The weights as one flat vector: every non-scalar key in signature order, its `(c, c)`
    /// matrix row-major (the order of [`Self::backward`]'s weight gradients).
    pub fn flat_weights(&self) -> Vec<f32> {
        self.weights
            .iter()
            .flat_map(|w| w.weights.iter().copied())
            .collect()
    }

    /// Sets every non-scalar key's weights from one flat vector in [`Self::flat_weights`]'
    /// order.
    pub fn set_flat_weights(&mut self, weights: &[f32]) -> Result<(), NonlinearError> {
        if weights.len() != self.weight_len() {
            return Err(NonlinearError::FlatWeightLength {
                expected: self.weight_len(),
                got: weights.len(),
            });
        }
        let mut rest = weights;
        for entry in &mut self.weights {
            let (head, tail) = rest.split_at(entry.weights.len());
            entry.weights.copy_from_slice(head);
            rest = tail;
        }
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

    /// The flat offset (in [`Self::flat_weights`]) and the `(c, c)` weights of a non-scalar
    /// block, checking that the layer has its key with its channel count.
    fn block_weights(&self, block: BlockView<'_>) -> Result<(usize, &[f32]), NonlinearError> {
        let mut offset = 0;
        for entry in &self.weights {
            if &entry.key == block.key() {
                if entry.channels != block.channels() {
                    return Err(NonlinearError::Channels {
                        key: format!("{:?}", block.key()),
                        expected: entry.channels,
                        got: block.channels(),
                    });
                }
                return Ok((offset, &entry.weights));
            }
            offset += entry.weights.len();
        }
        Err(NonlinearError::UnknownKey {
            key: format!("{:?}", block.key()),
            signature: self.input_keys.to_string(),
        })
    }

    /// The layer on `input` (blocks of the layer's keys, each with its channel count),
    /// written into `out`, one slice per block of the block's length: [`Layer::forward`] on
    /// borrowed values.
    ///
    /// Errors: a non-scalar key the layer lacks or a channel count that differs from its
    /// weights' ([`NonlinearError`]), and `out` slices that do not match the blocks.
    pub fn forward_into(
        &self,
        input: &[BlockView<'_>],
        out: &mut [&mut [f32]],
    ) -> Result<(), Error> {
        each_block_into(input, out, |block, out| {
            if block.key().is_scalar() {
                self.activation.apply_into(block.data(), out);
            } else {
                let (_, weights) = self.block_weights(block)?;
                self.vector_neuron(block, weights, out);
            }
            Ok(())
        })
    }

    /// The vector-neuron map of one non-scalar block, compiled for the CPU's widest vectors.
    fn vector_neuron(&self, block: BlockView<'_>, weights: &[f32], out: &mut [f32]) {
        widest(
            #[inline(always)]
            || self.vector_neuron_body(block, weights, out),
        )
    }

    /// The tiled pass: per tile of [`TILE_PIXELS`] pixels of every channel, `q` is mixed into
    /// a small buffer and each channel's pixels are finished while the tile is in L1 (the
    /// per-pixel scalars live on the stack), so `x` is read once and `out` written once.
    #[inline(always)]
    fn vector_neuron_body(&self, block: BlockView<'_>, weights: &[f32], out: &mut [f32]) {
        let c = block.channels();
        let len = block.channel_len();
        let n = block.components();
        let x = block.data();
        let tile = TILE_PIXELS * n;
        // Every value of `q`'s rows is written by the mix before it is read.
        let mut q = buffers::take(c * tile);
        for m0 in (0..len).step_by(tile) {
            let width = tile.min(len - m0);
            mix::<false>(weights, c, width, &x[m0..], len, &mut q, tile);
            for i in 0..c {
                let row = i * len + m0..i * len + m0 + width;
                let (x, q) = (&x[row.clone()], &q[i * tile..i * tile + width]);
                let out = &mut out[row];
                // The component count a constant for vectors and pseudovectors (d = 2, 3),
                // so the per-pixel loops unroll.
                match n {
                    2 => self.pixels_forward(2, x, q, out),
                    3 => self.pixels_forward(3, x, q, out),
                    n => self.pixels_forward(n, x, q, out),
                }
            }
        }
        buffers::keep(q);
    }

    /// The per-pixel part of the forward pass over at most [`TILE_PIXELS`] pixels of `n`
    /// components of one channel: `scale = 1/(‖q‖ + eps)`, `s = ⟨x, q⟩·scale`,
    /// `h = act(s)/(|s| + eps)` and `out = h·p + (x − p)` with `p = s·scale·q`. The sums, the
    /// per-pixel scalars and the combination are separate loops so that the middle ones
    /// (square root, divisions, the activation) vectorise.
    #[inline(always)]
    fn pixels_forward(&self, n: usize, x: &[f32], q: &[f32], out: &mut [f32]) {
        let eps = self.eps;
        let pixels = x.len() / n;
        let mut scale = [0f32; TILE_PIXELS];
        let mut s = [0f32; TILE_PIXELS];
        for (((x_px, q_px), qq), xq) in x
            .chunks_exact(n)
            .zip(q.chunks_exact(n))
            .zip(scale.iter_mut())
            .zip(s.iter_mut())
        {
            *qq = q_px.iter().map(|v| v * v).sum::<f32>();
            *xq = x_px.iter().zip(q_px).map(|(x, q)| x * q).sum::<f32>();
        }
        for (scale, s) in scale.iter_mut().zip(s.iter_mut()) {
            *scale = 1.0 / (scale.sqrt() + eps);
            *s *= *scale;
        }
        let mut h = s;
        self.activation.apply_slice_inlined(&mut h[..pixels]);
        for (h, s) in h.iter_mut().zip(&s) {
            *h /= s.abs() + eps;
        }
        for ((((out_px, x_px), q_px), (&s, &h)), &scale) in out
            .chunks_exact_mut(n)
            .zip(x.chunks_exact(n))
            .zip(q.chunks_exact(n))
            .zip(s.iter().zip(&h))
            .zip(&scale)
        {
            let along = s * scale;
            for ((o, &x), &qv) in out_px.iter_mut().zip(x_px).zip(q_px) {
                let parallel = along * qv;
                *o = h * parallel + (x - parallel);
            }
        }
    }
}

/// Pixels of every channel handled together by the forward and backward passes of a
/// non-scalar block.
const TILE_PIXELS: usize = 64;

/// Values of one channel mixed at a time by [`mix`] (four AVX-512 registers of sums).
const MIX_BLOCK: usize = 64;

/// Channel mixing over `width` values of each of `c` channels: row `i` of `out` is set to
/// (`ADD` false) or increased by (`ADD` true) `Σ_j w[i·c + j] · (row j of src)`, the rows of
/// `src` (`out`) starting every `src_stride` (`out_stride`) values. `MIX_BLOCK` values of a row
/// at a time, so the sum over `j` (in order, from 0 or from the old value) stays in registers.
///
/// Panics if a slice is shorter than its rows (a caller bug: the callers size them).
#[inline(always)]
fn mix<const ADD: bool>(
    w: &[f32],
    c: usize,
    width: usize,
    src: &[f32],
    src_stride: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    for i in 0..c {
        let w_i = &w[i * c..(i + 1) * c];
        let out_i = &mut out[i * out_stride..i * out_stride + width];
        let mut start = 0;
        for block in out_i.chunks_mut(MIX_BLOCK) {
            if let Ok(block) = <&mut [f32; MIX_BLOCK]>::try_from(&mut *block) {
                let mut acc = if ADD { *block } else { [0f32; MIX_BLOCK] };
                for (j, &w) in w_i.iter().enumerate() {
                    let x: &[f32; MIX_BLOCK] = src[j * src_stride + start..][..MIX_BLOCK]
                        .try_into()
                        .expect("a block of MIX_BLOCK values");
                    for (a, &xv) in acc.iter_mut().zip(x) {
                        *a += w * xv;
                    }
                }
                *block = acc;
            } else {
                if !ADD {
                    block.fill(0.0);
                }
                for (j, &w) in w_i.iter().enumerate() {
                    let x = &src[j * src_stride + start..][..block.len()];
                    for (a, &xv) in block.iter_mut().zip(x) {
                        *a += w * xv;
                    }
                }
            }
            start += MIX_BLOCK;
        }
    }
}

impl Layer for VectorNeuronNonlinear {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let (output, ()) = same_shape_image(input, |x, out| self.forward_into(x, out))?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock};

    fn one_pixel(channels: usize, data: Vec<f32>) -> MultiImage {
        let geometry = Geometry::square(2, 1, true).unwrap();
        let block = ImageBlock::new(geometry.clone(), TensorKey::vector(), channels, data);
        MultiImage::from_blocks(geometry, vec![block.unwrap()]).unwrap()
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
