//! The backward pass of [`VectorNeuronNonlinear`]: the gradients of a scalar loss with
//! respect to the input and the weights, given its gradient with respect to the output.
//!
//! Per channel and pixel of a non-scalar block (the forward's `q = W·x`, `a = ‖q‖`,
//! `scale = 1/(a + eps)`, `t = ⟨x, q⟩`, `s = t·scale`, `h = f(s)/(|s| + eps)` and
//! `out = x + (h − 1)·s·scale·q`), with `g = ∂L/∂out` and `γ = ⟨g, q⟩`:
//!
//! ```text
//! ∂h = s·scale·γ                         ∂(s·scale) = (h − 1)·γ
//! h′ = (f′(s) − h·sign(s))/(|s| + eps)   sign(0) = +1, as jax's `abs` rule (x ≥ 0 ? g : −g)
//! ∂s = γ·(s·scale·h′ + (h − 1)·scale)
//! ∂scale = (h − 1)·γ·s + ∂s·t            ∂t = ∂s·scale       ∂a = −∂scale·scale²
//! ∂x = g + ∂t·q
//! ∂q = (h − 1)·s·scale·g + ∂t·x + (∂a/a)·q
//! ```
//!
//! and then `∂x += Wᵀ·∂q`, `∂W = Σ_pixels ∂q ⊗ x` (summed over the tensor components). At
//! `q = 0` jax's gradient of the norm is NaN (`sqrt′(0) = ∞` times 0); here the `∂a/a` term is
//! taken as 0 there, so the gradients stay finite.
//!
//! The block is processed in tiles of [`TILE_PIXELS`] pixels of every channel: `q` is
//! recomputed for the tile, the per-pixel pass writes `∂x` and the tile's `∂q`, and the tile's
//! `Wᵀ·∂q` and `∂q·xᵀ` are added while it is still in cache, so the data is read once.

use super::activation::{Differentiable, Gelu, Relu, Tanh, ValueAndDerivative};
use super::{mix, NonlinearError, VectorNeuronNonlinear, TILE_PIXELS};
use crate::error::Error;
use crate::image::{buffers, check_outputs, same_shape_image, BlockView, MultiImage, Signature};
use crate::kernels::simd::widest;

impl VectorNeuronNonlinear {
    /// Gradients of a scalar loss `L` through [`crate::Layer::forward`] on `input`, given
    /// `grad_output = ∂L/∂output` (the input's geometry and blocks): `(∂L/∂input, ∂L/∂weights)`
    /// with the weight gradients flat, in [`Self::flat_weights`]' order (zero for keys the
    /// input lacks).
    ///
    /// Errors: a custom activation ([`NonlinearError::NoDerivative`]), a `grad_output` whose
    /// geometry, keys or channels differ from the input's ([`NonlinearError::GradientShape`]),
    /// and the forward's errors for an input the layer does not fit.
    pub fn backward(
        &self,
        input: &MultiImage,
        grad_output: &MultiImage,
    ) -> Result<(MultiImage, Vec<f32>), Error> {
        same_shape_image(input, |x, dx| {
            self.backward_into(x, grad_output.as_view().blocks(), dx)
        })
    }

    /// [`Self::backward`] on borrowed values: writes `∂L/∂input` into `grad_input` (one slice
    /// per block of `input`, of its length) and returns `∂L/∂weights`, flat.
    ///
    /// Errors: as [`Self::backward`], and `grad_input` slices that do not match the blocks.
    pub fn backward_into(
        &self,
        input: &[BlockView<'_>],
        grad_output: &[BlockView<'_>],
        grad_input: &mut [&mut [f32]],
    ) -> Result<Vec<f32>, Error> {
        let activation = self
            .activation
            .differentiable()
            .ok_or(NonlinearError::NoDerivative)?;
        let same_shape = input.len() == grad_output.len()
            && input.iter().zip(grad_output).all(|(x, g)| x.same_shape(g));
        if !same_shape {
            let describe = |views: &[BlockView<'_>]| {
                let spatial = views.first().map(|v| v.geometry().spatial());
                format!("{spatial:?} {}", Signature::of_views(views))
            };
            return Err(NonlinearError::GradientShape {
                expected: describe(input),
                got: describe(grad_output),
            }
            .into());
        }
        check_outputs(input, grad_input)?;
        let mut grad_weights = vec![0f32; self.weight_len()];
        for ((&x, g), dx) in input.iter().zip(grad_output).zip(grad_input.iter_mut()) {
            if x.key().is_scalar() {
                scalar_backward(activation, x.data(), g.data(), dx);
            } else {
                let (offset, weights) = self.block_weights(x)?;
                let c = x.channels();
                let grad_w = &mut grad_weights[offset..offset + c * c];
                vector_neuron_backward(activation, self.eps, x, g.data(), weights, grad_w, dx);
            }
        }
        Ok(grad_weights)
    }
}

/// `∂x = g · f′(x)` for a `((), 0)` block, compiled for the CPU's widest vectors.
fn scalar_backward(activation: Differentiable, x: &[f32], g: &[f32], dx: &mut [f32]) {
    widest(
        #[inline(always)]
        || match activation {
            Differentiable::Relu => scalar_loop::<Relu>(x, g, dx),
            Differentiable::Gelu => scalar_loop::<Gelu>(x, g, dx),
            Differentiable::Tanh => scalar_loop::<Tanh>(x, g, dx),
        },
    );
}

#[inline(always)]
fn scalar_loop<A: ValueAndDerivative>(x: &[f32], g: &[f32], dx: &mut [f32]) {
    for ((d, &x), &g) in dx.iter_mut().zip(x).zip(g) {
        *d = g * A::value_and_derivative(x).1;
    }
}

/// `∂x` of a non-scalar block into `dx`, adding `∂W` to `grad_w`, compiled for the CPU's
/// widest vectors.
fn vector_neuron_backward(
    activation: Differentiable,
    eps: f32,
    block: BlockView<'_>,
    g: &[f32],
    weights: &[f32],
    grad_w: &mut [f32],
    dx: &mut [f32],
) {
    widest(
        #[inline(always)]
        || match activation {
            Differentiable::Relu => block_backward::<Relu>(eps, block, g, weights, grad_w, dx),
            Differentiable::Gelu => block_backward::<Gelu>(eps, block, g, weights, grad_w, dx),
            Differentiable::Tanh => block_backward::<Tanh>(eps, block, g, weights, grad_w, dx),
        },
    )
}

/// The tiled backward pass of one non-scalar block (see the module docs).
#[inline(always)]
fn block_backward<A: ValueAndDerivative>(
    eps: f32,
    block: BlockView<'_>,
    g: &[f32],
    weights: &[f32],
    grad_w: &mut [f32],
    dx: &mut [f32],
) {
    let c = block.channels();
    let len = block.channel_len();
    let n = block.components();
    let x = block.data();
    let tile = TILE_PIXELS * n;
    let transposed: Vec<f32> = (0..c * c).map(|k| weights[(k % c) * c + k / c]).collect();
    // Every value of the tile buffers is written before it is read; every value of `dx` is
    // written by the per-pixel pass.
    let mut q = buffers::take(c * tile);
    let mut dq = buffers::take(c * tile);
    for m0 in (0..len).step_by(tile) {
        let width = tile.min(len - m0);
        mix::<false>(weights, c, width, &x[m0..], len, &mut q, tile);
        for i in 0..c {
            let row = i * len + m0..i * len + m0 + width;
            let t = i * tile..i * tile + width;
            let (x, q, g) = (&x[row.clone()], &q[t.clone()], &g[row.clone()]);
            let (dx, dq) = (&mut dx[row], &mut dq[t]);
            // The component count a constant for vectors and pseudovectors (d = 2, 3), so
            // the per-pixel loops unroll.
            match n {
                2 => pixel_grads::<A>(2, eps, x, q, g, dx, dq),
                3 => pixel_grads::<A>(3, eps, x, q, g, dx, dq),
                n => pixel_grads::<A>(n, eps, x, q, g, dx, dq),
            }
        }
        mix::<true>(&transposed, c, width, &dq, tile, &mut dx[m0..], len);
        for (i, grad_w_i) in grad_w.chunks_exact_mut(c).enumerate() {
            let dq_i = &dq[i * tile..i * tile + width];
            for (j, gw) in grad_w_i.iter_mut().enumerate() {
                *gw += dot(dq_i, &x[j * len + m0..j * len + m0 + width]);
            }
        }
    }
    buffers::keep(q);
    buffers::keep(dq);
}

/// The per-pixel part of the backward pass over at most [`TILE_PIXELS`] pixels of `n`
/// components of one channel: `dx = g + ∂t·q` and `dq = (h − 1)·s·scale·g + ∂t·x + (∂a/a)·q`
/// (see the module docs). The sums, the per-pixel scalars and the combination are separate
/// loops so that the middle one (square root, divisions, the activation) vectorises.
#[inline(always)]
fn pixel_grads<A: ValueAndDerivative>(
    n: usize,
    eps: f32,
    x: &[f32],
    q: &[f32],
    g: &[f32],
    dx: &mut [f32],
    dq: &mut [f32],
) {
    // At most a tile: bounding the loops by the arrays' length lets the per-pixel scalars'
    // loop below vectorise (with an unbounded count its indexing kept it scalar).
    let pixels = (x.len() / n).min(TILE_PIXELS);
    let mut qq = [0f32; TILE_PIXELS];
    let mut xq = [0f32; TILE_PIXELS];
    let mut gq = [0f32; TILE_PIXELS];
    for ((((x_px, q_px), g_px), (qq, xq)), gq) in x
        .chunks_exact(n)
        .zip(q.chunks_exact(n))
        .zip(g.chunks_exact(n))
        .zip(qq.iter_mut().zip(xq.iter_mut()))
        .zip(gq.iter_mut())
    {
        // The forward's expressions, so that s is bit-identical to the forward's.
        *qq = q_px.iter().map(|v| v * v).sum::<f32>();
        *xq = x_px.iter().zip(q_px).map(|(x, q)| x * q).sum::<f32>();
        *gq = g_px.iter().zip(q_px).map(|(g, q)| g * q).sum::<f32>();
    }
    // Per pixel: the coefficients of g (cg), of x in dq and of q in dx (cx = ∂t), of q in dq
    // (cq = ∂a/a).
    let mut cg = [0f32; TILE_PIXELS];
    let mut cx = [0f32; TILE_PIXELS];
    let mut cq = [0f32; TILE_PIXELS];
    for p in 0..pixels {
        let norm = qq[p].sqrt();
        let scale = 1.0 / (norm + eps);
        let t = xq[p];
        let s = t * scale;
        let (f, df) = A::value_and_derivative(s);
        let denominator = s.abs() + eps;
        let h = f / denominator;
        let sign = if s >= 0.0 { 1.0 } else { -1.0 };
        let dh = (df - h * sign) / denominator;
        let h_minus_1 = h - 1.0;
        let along = s * scale;
        let gamma = gq[p];
        let ds = gamma * (along * dh + h_minus_1 * scale);
        let dscale = h_minus_1 * gamma * s + ds * t;
        let dt = ds * scale;
        let dnorm = -dscale * scale * scale;
        cg[p] = h_minus_1 * along;
        cx[p] = dt;
        cq[p] = if norm > 0.0 { dnorm / norm } else { 0.0 };
    }
    for ((((((x_px, q_px), g_px), dx_px), dq_px), (&cg, &cx)), &cq) in x
        .chunks_exact(n)
        .zip(q.chunks_exact(n))
        .zip(g.chunks_exact(n))
        .zip(dx.chunks_exact_mut(n))
        .zip(dq.chunks_exact_mut(n))
        .zip(cg.iter().zip(&cx))
        .zip(&cq)
    {
        for k in 0..n {
            dx_px[k] = g_px[k] + cx * q_px[k];
            dq_px[k] = cg * g_px[k] + cx * x_px[k] + cq * q_px[k];
        }
    }
}

/// `Σ a·b` over equal-length slices, in 16 lanes so that it vectorises.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0f32; LANES];
    for (a, b) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for k in 0..LANES {
            lanes[k] += a[k] * b[k];
        }
    }
    let tail = a.len() / LANES * LANES;
    let rest: f32 = a[tail..].iter().zip(&b[tail..]).map(|(a, b)| a * b).sum();
    lanes.iter().sum::<f32>() + rest
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::image::{Geometry, Signature, TensorKey};
    use crate::layers::layer::Layer;
    use crate::Activation;

    /// Scalars, vectors, pseudoscalars and a k = 2 block, each with several channels.
    fn signature() -> Signature {
        Signature::new(vec![
            (TensorKey::scalar(), 2),
            (TensorKey::vector(), 3),
            (TensorKey::new(0, 1), 2),
            (TensorKey::new(2, 0), 2),
        ])
        .unwrap()
    }

    /// A layer with random weights and a random input whose every non-scalar pixel has
    /// `‖q‖ ≥ MARGIN` and `|s| ≥ MARGIN` in every channel, and whose scalars have
    /// `|x| ≥ 0.1`: the finite differences below then stay away from relu's kink and from the
    /// jump of `f(s)/(|s| + eps)` at `s = 0`.
    fn random_case(
        dim: usize,
        side: usize,
        activation: Activation,
        seed: u64,
    ) -> (VectorNeuronNonlinear, MultiImage, MultiImage) {
        const MARGIN: f64 = 0.3;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sig = signature();
        let mut layer = VectorNeuronNonlinear::new(&sig, seed).with_activation(activation);
        // Random matrices plus a diagonal of random signs, so that none is nearly singular (a
        // pseudoscalar pixel then always has a draw with every |q_i| ≥ MARGIN) and the signed
        // lengths s take both signs.
        for (key, c) in sig.entries().iter().filter(|(key, _)| !key.is_scalar()) {
            let w = (0..c * c)
                .map(|k| {
                    let diagonal = if k % (c + 1) != 0 {
                        0.0
                    } else if rng.random_bool(0.5) {
                        1.0
                    } else {
                        -1.0
                    };
                    rng.random_range(-0.6..0.6) + diagonal
                })
                .collect();
            layer.set_weights(key, w).unwrap();
        }
        let geometry = Geometry::square(dim, side, true).unwrap();
        let mut input = MultiImage::zeros(geometry.clone(), &sig);
        let mut signs = Vec::new();
        for block in input.blocks_mut() {
            let (c, n, len) = (block.channels(), block.components(), block.channel_len());
            let key = block.key().clone();
            let data = block.data_mut();
            if key.is_scalar() {
                for v in data.iter_mut() {
                    let magnitude: f32 = rng.random_range(0.1..1.0);
                    *v = if rng.random_bool(0.5) {
                        magnitude
                    } else {
                        -magnitude
                    };
                }
                continue;
            }
            let w = layer.weights(&key).unwrap();
            for pixel in 0..len / n {
                let at = |ch: usize, k: usize| ch * len + pixel * n + k;
                let mut tries = 0;
                loop {
                    for ch in 0..c {
                        for k in 0..n {
                            data[at(ch, k)] = rng.random_range(-1.0..1.0);
                        }
                    }
                    // Per channel: (‖q‖, s), in f64.
                    let lengths: Vec<(f64, f64)> = (0..c)
                        .map(|i| {
                            let q: Vec<f64> = (0..n)
                                .map(|k| {
                                    (0..c)
                                        .map(|j| {
                                            f64::from(w[i * c + j]) * f64::from(data[at(j, k)])
                                        })
                                        .sum()
                                })
                                .collect();
                            let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
                            let xq: f64 = (0..n).map(|k| f64::from(data[at(i, k)]) * q[k]).sum();
                            (norm, xq / norm)
                        })
                        .collect();
                    if lengths
                        .iter()
                        .all(|&(norm, s)| norm >= MARGIN && s.abs() >= MARGIN)
                    {
                        signs.extend(lengths.iter().map(|&(_, s)| s > 0.0));
                        break;
                    }
                    tries += 1;
                    assert!(tries < 10_000, "no pixel away from the kinks");
                }
            }
        }
        // Both branches of the activation (for relu: h = 1 − O(eps) and h = 0) are exercised.
        assert!(signs.contains(&true) && signs.contains(&false));
        let mut cotangent = MultiImage::zeros(geometry, &sig);
        for block in cotangent.blocks_mut() {
            for v in block.data_mut() {
                *v = rng.random_range(-1.0..1.0);
            }
        }
        (layer, input, cotangent)
    }

    /// `L = Σ output · cotangent`, summed in f64.
    fn loss(layer: &VectorNeuronNonlinear, input: &MultiImage, cotangent: &MultiImage) -> f64 {
        let output = layer.forward(input).unwrap();
        output
            .blocks()
            .iter()
            .zip(cotangent.blocks())
            .flat_map(|(o, c)| o.data().iter().zip(c.data()))
            .map(|(&o, &c)| f64::from(o) * f64::from(c))
            .sum()
    }

    /// Central differences of [`loss`] for every input value and weight against `backward`,
    /// Richardson-extrapolated: `(4·D(STEP/2) − D(STEP))/3` cancels the `STEP²` term of the
    /// truncation error of the central difference `D`.
    ///
    /// The forward is f32, so the differences carry the rounding of `L` (about 6e-8 per
    /// output term, the terms' sum over the changed outputs at most a few hundred: ≲ 1e-6,
    /// divided by the step and tripled by the extrapolation: ≲ 5e-4 absolute at worst) and the
    /// truncation `O(STEP⁴ · L⁽⁵⁾)` (plain central differences with STEP = 1e-2 were off by up
    /// to 0.7 %: ‖q‖ down to 0.3 makes L‴ large). The largest gradients are about 10-20 and the
    /// worst errors seen 3e-5 of them, so a tolerance of 1e-3 of the largest gradient leaves a
    /// wide margin, while a wrong term of the chain rule gives errors of percents or more.
    fn check_gradients(dim: usize, side: usize, activation: Activation, seed: u64) {
        const STEP: f32 = 1e-2;
        let (layer, input, cotangent) = random_case(dim, side, activation.clone(), seed);
        let (grad_input, grad_weights) = layer.backward(&input, &cotangent).unwrap();
        assert_eq!(grad_input.signature(), input.signature());
        assert_eq!(grad_weights.len(), layer.weight_len());
        // Richardson's extrapolation of the central differences of `at` (the loss and the
        // changed value after adding a step).
        let extrapolated = |at: &mut dyn FnMut(f32) -> (f64, f32)| {
            let mut central = |step: f32| {
                let ((up, v_up), (down, v_down)) = (at(step), at(-step));
                (up - down) / f64::from(v_up - v_down)
            };
            (4.0 * central(STEP / 2.0) - central(STEP)) / 3.0
        };
        let mut numeric = Vec::new();
        let mut analytic = Vec::new();
        for (b, block) in input.blocks().iter().enumerate() {
            for i in 0..block.data().len() {
                let value = block.data()[i];
                let mut shifted = input.clone();
                numeric.push(extrapolated(&mut |delta| {
                    let v = shifted.blocks_mut().nth(b).unwrap();
                    v.data_mut()[i] = value + delta;
                    (loss(&layer, &shifted, &cotangent), value + delta)
                }));
                analytic.push(f64::from(grad_input.blocks()[b].data()[i]));
            }
        }
        let flat = layer.flat_weights();
        let mut shifted = layer.clone();
        for i in 0..flat.len() {
            numeric.push(extrapolated(&mut |delta| {
                let mut w = flat.clone();
                w[i] += delta;
                shifted.set_flat_weights(&w).unwrap();
                (loss(&shifted, &input, &cotangent), w[i])
            }));
            analytic.push(f64::from(grad_weights[i]));
        }
        let largest = analytic.iter().fold(0f64, |m, v| m.max(v.abs()));
        let worst = numeric
            .iter()
            .zip(&analytic)
            .map(|(n, a)| (n - a).abs())
            .fold(0f64, f64::max);
        assert!(
            largest > 0.1,
            "{activation:?}: degenerate case, largest {largest}"
        );
        assert!(
            worst <= 1e-3 * largest,
            "{activation:?}, D = {dim}: worst error {worst} of largest {largest}"
        );
    }

    #[test]
    fn gradients_match_finite_differences_in_2d() {
        // 12² pixels: vectors (2 components) span 3 tiles, the k = 2 block (4) 3 tiles, with
        // full and partial MIX_BLOCKs.
        for (seed, activation) in [Activation::Relu, Activation::Gelu, Activation::Tanh]
            .into_iter()
            .enumerate()
        {
            check_gradients(2, 12, activation, seed as u64);
        }
    }

    #[test]
    fn gradients_match_finite_differences_in_3d() {
        // 5³ pixels: vectors (3 components) and the k = 2 block (9) span 2 tiles.
        for (seed, activation) in [Activation::Relu, Activation::Gelu, Activation::Tanh]
            .into_iter()
            .enumerate()
        {
            check_gradients(3, 5, activation, 10 + seed as u64);
        }
    }

    #[test]
    fn a_zero_direction_has_finite_gradients() {
        // W = 0 gives q = 0 everywhere: the output is x (s = 0, so relu's h = 0 and p = 0)
        // and ∂x = g; the weight gradient stays finite (jax's would be NaN).
        let (mut layer, input, cotangent) = random_case(2, 3, Activation::Relu, 3);
        layer
            .set_flat_weights(&vec![0.0; layer.weight_len()])
            .unwrap();
        let (grad_input, grad_weights) = layer.backward(&input, &cotangent).unwrap();
        assert!(grad_weights.iter().all(|v| v.is_finite()));
        for (b, g) in grad_input.blocks().iter().enumerate().skip(1) {
            assert_eq!(g.data(), cotangent.blocks()[b].data());
        }
    }

    #[test]
    fn mismatched_gradients_and_custom_activations_are_errors() {
        let (layer, input, cotangent) = random_case(2, 3, Activation::Gelu, 4);
        let shape_error = |grad: &MultiImage| {
            matches!(
                layer.backward(&input, grad),
                Err(Error::Nonlinear(NonlinearError::GradientShape { .. }))
            )
        };
        // Another geometry.
        let other = Geometry::square(2, 4, true).unwrap();
        assert!(shape_error(&MultiImage::zeros(other, &signature())));
        // A missing block, a block with other channels, a block with another key.
        let geometry = input.geometry().clone();
        let mut entries = signature().entries().to_vec();
        entries.pop();
        let fewer = Signature::new(entries.clone()).unwrap();
        assert!(shape_error(&MultiImage::zeros(geometry.clone(), &fewer)));
        entries.push((TensorKey::new(2, 0), 3));
        let wider = Signature::new(entries.clone()).unwrap();
        assert!(shape_error(&MultiImage::zeros(geometry.clone(), &wider)));
        entries.pop();
        entries.push((TensorKey::new(2, 1), 2));
        let odd = Signature::new(entries).unwrap();
        assert!(shape_error(&MultiImage::zeros(geometry.clone(), &odd)));
        // A custom activation.
        let custom = layer.clone().with_activation(Activation::custom(|x| x));
        assert!(matches!(
            custom.backward(&input, &cotangent),
            Err(Error::Nonlinear(NonlinearError::NoDerivative))
        ));
        // An input key the layer has no weights for.
        let unknown = Signature::new(vec![(TensorKey::new(1, 1), 2)]).unwrap();
        let x = MultiImage::zeros(geometry, &unknown);
        assert!(matches!(
            layer.backward(&x, &x),
            Err(Error::Nonlinear(NonlinearError::UnknownKey { .. }))
        ));
    }

    #[test]
    fn flat_weights_round_trip() {
        let mut layer = VectorNeuronNonlinear::new(&signature(), 7);
        // Σ c² over the non-scalar keys: 3² + 2² + 2².
        assert_eq!(layer.weight_len(), 17);
        let flat: Vec<f32> = (0..17).map(|i| i as f32).collect();
        layer.set_flat_weights(&flat).unwrap();
        assert_eq!(layer.flat_weights(), flat);
        // Signature order, each matrix row-major.
        assert_eq!(layer.weights(&TensorKey::vector()).unwrap(), &flat[..9]);
        assert_eq!(layer.weights(&TensorKey::new(0, 1)).unwrap(), &flat[9..13]);
        assert_eq!(layer.weights(&TensorKey::new(2, 0)).unwrap(), &flat[13..]);
        assert_eq!(
            layer.set_flat_weights(&flat[1..]),
            Err(NonlinearError::FlatWeightLength {
                expected: 17,
                got: 16
            })
        );
        assert_eq!(layer.flat_weights(), flat);
    }
}
