//! [`GroupNorm::backward`]: the gradients of a scalar loss `L` through the forward pass, given
//! `G = ∂L/∂y`, per item and group, with the forward pass's statistics recomputed in f64 as it
//! computes them.
//!
//! **Scalars** (k = 0). With `x̂ = (x − μ)·inv`, `inv = 1/√(σ² + eps)`, `y = a_c·x̂ + b_c`,
//! `g̃ = G·a_c` and `n` values in the group (the batch-norm gradient of Ioffe & Szegedy 2015,
//! over a group): `∂x = inv/n·(n·g̃ − Σg̃ − x̂·Σ(g̃·x̂))`, `∂a_c = Σ_pixels G·x̂`,
//! `∂b_c = Σ_pixels G`.
//!
//! **Vectors** (k = 1). The rows `r` of a group are its (channel, pixel) vectors, `n` of them,
//! `P` pixels per channel; `C = (X − μ)ᵀ(X − μ)/n = UΛUᵀ`, `W = f(C)` with
//! `f(λ) = 1/√(max(λ, 0) + eps)`, and `y_cp = s_c·W(x_cp − μ) + b_c·m_c`. Then
//! - `∂s_c = Σ_p ⟨G_cp, W(x_cp − μ)⟩` and `∂b_c = ⟨Σ_p G_cp, m_c⟩`;
//! - `∂x_cp = s_c·W G_cp` (W is symmetric) `− (1/n)·W Σ_c s_c Σ_p G_cp` (through μ)
//!   `+ b_c·(Σ_p G_cp)/P` (through `m_c`) `+ (2/n)·∂C (x_cp − μ)` (through C; μ's share of
//!   that term vanishes because the centred rows sum to 0);
//! - `∂C = U (F ∘ Uᵀ S U) Uᵀ`, with `S` the symmetric part of
//!   `A = ∂L/∂W = Σ_c s_c Σ_p G_cp (x_cp − μ)ᵀ` and `F_ij = (f(λ_i) − f(λ_j))/(λ_i − λ_j)`, or
//!   `f′` at their mean when `λ_i` and `λ_j` are equal to rounding ([`SAME_EIGENVALUE`]): the
//!   Daleckii–Krein derivative of a spectral function (Giles 2008, "An extended collection of
//!   matrix derivative results for forward and reverse mode algorithmic differentiation";
//!   Ionescu et al. 2015, "Matrix backpropagation for deep networks with structured layers").
//!   Unlike differentiating the eigen-decomposition itself (as `jax.grad` through `eigh`
//!   does), it stays finite for repeated eigenvalues.
//!
//! Each group takes the forward pass's two statistics passes, one pass for the per-channel sums
//! `Σ_p G` and `Σ_p G (x − μ)ᵀ`, and one pass writing `∂x`, an affine map of `(G, x − μ)` per
//! channel.

use ginrs_generator::group::MAX_DIM;

use super::{
    centred_moments, component_sums, fixed_components, vector_statistics, GroupNorm, NormBlock,
    NormError, LANES,
};
use crate::error::Error;
use crate::image::{check_outputs, check_same_shapes, same_shape_image, BlockView, MultiImage};
use crate::kernels::simd::widest;
use crate::ops::sym_eigen::symmetric_eigen;

/// Two eigenvalues closer than this, relative to `max(λ_i, λ_j, 0) + eps` (the argument of
/// `t ↦ t^{-1/2}`), take `f′` at their mean instead of the divided difference. With `h` that
/// relative gap, the divided difference has a rounding error of about `2·ε/h` relative
/// (ε = 2⁻⁵², and `f/|f′| = 2·(λ + eps)`), the midpoint derivative a truncation error of
/// `(5/32)·h²` (`f‴/f′ = (15/4)·(λ + eps)⁻²`, times `h²/24`): at `h = 1e-5` both stay below
/// 5e-11 relative, far under the f32 rounding of the output.
const SAME_EIGENVALUE: f64 = 1e-5;

impl GroupNorm {
    /// Gradients of a scalar loss `L` through [`forward(input)`](crate::Layer::forward), given
    /// `grad_output = ∂L/∂output` (same signature and geometry as the output): returns
    /// `(∂L/∂input, ∂L/∂params)`, the parameter gradients flat in
    /// [`Self::flat_params`]'s order (keys the input lacks get zeros; keys without bias,
    /// see [`super::NormParity`], have no bias gradient). See the module docs.
    pub fn backward(
        &self,
        input: &MultiImage,
        grad_output: &MultiImage,
    ) -> Result<(MultiImage, Vec<f32>), Error> {
        if grad_output.geometry() != input.geometry() {
            return Err(NormError::GradientGeometry {
                expected: format!("{:?}", input.geometry()),
                got: format!("{:?}", grad_output.geometry()),
            }
            .into());
        }
        grad_output.expect_signature(&input.signature())?;
        same_shape_image(input, |x, dx| {
            self.backward_into(x, grad_output.as_view().blocks(), dx)
        })
    }

    /// [`Self::backward`] on borrowed values: writes `∂L/∂input` into `grad_input` (one slice
    /// per block of `input`, of its length) and returns `∂L/∂params`.
    ///
    /// Errors: a `grad_output` whose blocks differ from `input`'s in geometry, key or
    /// channels, `grad_input` slices that do not match, and the forward pass's errors.
    pub fn backward_into(
        &self,
        input: &[BlockView<'_>],
        grad_output: &[BlockView<'_>],
        grad_input: &mut [&mut [f32]],
    ) -> Result<Vec<f32>, Error> {
        check_same_shapes(input, grad_output)?;
        check_outputs(input, grad_input)?;
        let mut param_grads = vec![0f32; self.param_len()];
        // The bias gradient of a key without bias is computed and dropped.
        let mut unused_bias_grad = Vec::new();
        for ((&x, &g), out) in input.iter().zip(grad_output).zip(grad_input.iter_mut()) {
            let (params, offset) = self.checked_block(x)?;
            let (weight_grad, rest) = param_grads[offset..].split_at_mut(params.channels);
            let bias_grad = if params.bias.is_some() {
                &mut rest[..params.channels]
            } else {
                unused_bias_grad.resize(params.channels, 0.0);
                &mut unused_bias_grad[..]
            };
            if x.key().k() == 0 {
                self.scalars_backward(x, g, params, weight_grad, bias_grad, out);
            } else {
                self.vectors_backward(x, g, params, weight_grad, bias_grad, out);
            }
        }
        Ok(param_grads)
    }

    /// The input gradient of a k = 0 block; writes its weight and bias gradients.
    fn scalars_backward(
        &self,
        x: BlockView<'_>,
        g: BlockView<'_>,
        params: &NormBlock,
        weight_grad: &mut [f32],
        bias_grad: &mut [f32],
        out: &mut [f32],
    ) {
        widest(
            #[inline(always)]
            || self.scalars_backward_body(x, g, params, weight_grad, bias_grad, out),
        )
    }

    #[inline(always)]
    fn scalars_backward_body(
        &self,
        x: BlockView<'_>,
        g: BlockView<'_>,
        params: &NormBlock,
        weight_grad: &mut [f32],
        bias_grad: &mut [f32],
        out: &mut [f32],
    ) {
        let per_group = x.channels() / self.groups;
        let channel_len = x.channel_len();
        let group_len = per_group * channel_len;
        let eps = f64::from(self.eps);
        let groups = x
            .data()
            .chunks(group_len)
            .zip(g.data().chunks(group_len))
            .zip(out.chunks_mut(group_len));
        for (gi, ((group, grad_group), out_group)) in groups.enumerate() {
            let n = group.len() as f64;
            let mean = component_sums::<1>(1, group)[0] / n;
            let var = centred_moments::<1>(1, group, &[mean])[0][0] / n;
            let inv = 1.0 / (var.max(0.0) + eps).sqrt();
            let first = gi * per_group;
            // Σ g̃ and Σ g̃·x̂ over the group, from Σ G and Σ G·(x − μ) per channel.
            let (mut sum_gt, mut sum_gt_xhat) = (0f64, 0f64);
            let channels = group
                .chunks(channel_len)
                .zip(grad_group.chunks(channel_len));
            for (i, (channel, grad)) in channels.enumerate() {
                let c = first + i;
                let (sum_g, sum_gx) = grad_moments::<1>(1, channel, grad, &[mean]);
                let a = f64::from(params.weight[c]);
                weight_grad[c] = (sum_gx[0][0] * inv) as f32;
                bias_grad[c] = sum_g[0] as f32;
                sum_gt += a * sum_g[0];
                sum_gt_xhat += a * sum_gx[0][0] * inv;
            }
            // ∂x = inv·a_c·G − inv·Σg̃/n − (x − μ)·inv²·Σ(g̃·x̂)/n.
            let shift = -inv * sum_gt / n;
            let slope = -inv * inv * sum_gt_xhat / n;
            let channels = group
                .chunks(channel_len)
                .zip(grad_group.chunks(channel_len))
                .zip(out_group.chunks_mut(channel_len));
            for (i, ((channel, grad), out_channel)) in channels.enumerate() {
                let alpha = inv * f64::from(params.weight[first + i]);
                for ((o, &xv), &gv) in out_channel.iter_mut().zip(channel).zip(grad) {
                    *o = (alpha * f64::from(gv) + slope * (f64::from(xv) - mean) + shift) as f32;
                }
            }
        }
    }

    /// The input gradient of a k = 1 block; writes its scale and bias gradients.
    fn vectors_backward(
        &self,
        x: BlockView<'_>,
        g: BlockView<'_>,
        params: &NormBlock,
        weight_grad: &mut [f32],
        bias_grad: &mut [f32],
        out: &mut [f32],
    ) {
        // The component count a constant for d = 2 and 3, as in the forward pass.
        widest(
            #[inline(always)]
            || match x.components() {
                2 => {
                    self.vectors_backward_body::<2>(2, [x, g], params, weight_grad, bias_grad, out)
                }
                3 => {
                    self.vectors_backward_body::<3>(3, [x, g], params, weight_grad, bias_grad, out)
                }
                d => self.vectors_backward_body::<MAX_DIM>(
                    d,
                    [x, g],
                    params,
                    weight_grad,
                    bias_grad,
                    out,
                ),
            },
        )
    }

    #[inline(always)]
    fn vectors_backward_body<const N: usize>(
        &self,
        d: usize,
        [x, g]: [BlockView<'_>; 2],
        params: &NormBlock,
        weight_grad: &mut [f32],
        bias_grad: &mut [f32],
        out: &mut [f32],
    ) {
        let d = fixed_components::<N>(d);
        let per_group = x.channels() / self.groups;
        let channel_len = x.channel_len();
        let group_len = per_group * channel_len;
        let eps = f64::from(self.eps);
        // Per channel of the group: its mean vector m_c and Σ_p G_cp.
        let mut channel_means = vec![[0f64; N]; per_group];
        let mut channel_grads = vec![[0f64; N]; per_group];
        let groups = x
            .data()
            .chunks(group_len)
            .zip(g.data().chunks(group_len))
            .zip(out.chunks_mut(group_len));
        for (gi, ((group, grad_group), out_group)) in groups.enumerate() {
            let rows = (group.len() / d) as f64;
            let pixels = (channel_len / d) as f64;
            let first = gi * per_group;
            // The forward pass's statistics: μ, m_c, C = UΛUᵀ and W = U f(Λ) Uᵀ.
            let (mean, cov) = vector_statistics(d, group, channel_len, &mut channel_means);
            let (values, vectors) = symmetric_eigen(&cov, d);
            let mut whiten = [[0f64; N]; N];
            for (i, &lambda) in values.iter().enumerate() {
                let f = inv_sqrt(lambda, eps);
                for r in 0..d {
                    let ur = vectors[r * d + i] * f;
                    for c in 0..d {
                        whiten[r][c] += ur * vectors[c * d + i];
                    }
                }
            }
            // The parameter gradients, A = ∂L/∂W and Σ_c s_c Σ_p G_cp, from the per-channel
            // sums Σ_p G and Σ_p G (x − μ)ᵀ.
            let mut whiten_grad = [[0f64; N]; N];
            let mut scaled_grad_sum = [0f64; N];
            let channels = group
                .chunks(channel_len)
                .zip(grad_group.chunks(channel_len))
                .zip(channel_means.iter().zip(&mut channel_grads));
            for (i, ((channel, grad), (channel_mean, channel_grad))) in channels.enumerate() {
                let c = first + i;
                let scale = f64::from(params.weight[c]);
                let (sum_g, sum_gx) = grad_moments::<N>(d, channel, grad, &mean);
                let (mut ds, mut db) = (0f64, 0f64);
                for a in 0..d {
                    db += sum_g[a] * channel_mean[a];
                    scaled_grad_sum[a] += scale * sum_g[a];
                    for b in 0..d {
                        ds += whiten[a][b] * sum_gx[a][b];
                        whiten_grad[a][b] += scale * sum_gx[a][b];
                    }
                }
                weight_grad[c] = ds as f32;
                bias_grad[c] = db as f32;
                *channel_grad = sum_g;
            }
            let cov_grad = covariance_gradient::<N>(d, &values, &vectors, &whiten_grad, eps);
            // ∂x = s_c·W G + (2/n)·∂C (x − μ) + shift_c, with
            // shift_c = −(1/n)·W Σ_c s_c Σ_p G_cp + b_c·(Σ_p G_cp)/P.
            let mut centred_map = [[0f64; N]; N];
            let mut mean_shift = [0f64; N];
            for r in 0..d {
                for a in 0..d {
                    centred_map[r][a] = 2.0 / rows * cov_grad[r][a];
                    mean_shift[r] -= whiten[r][a] * scaled_grad_sum[a] / rows;
                }
            }
            let channels = group
                .chunks(channel_len)
                .zip(grad_group.chunks(channel_len))
                .zip(out_group.chunks_mut(channel_len))
                .zip(&channel_grads);
            for (i, (((channel, grad), out_channel), channel_grad)) in channels.enumerate() {
                let c = first + i;
                let scale = f64::from(params.weight[c]);
                let bias = params.bias_at(c);
                let mut grad_map = [[0f64; N]; N];
                let mut shift = [0f64; N];
                for r in 0..d {
                    for a in 0..d {
                        grad_map[r][a] = scale * whiten[r][a];
                    }
                    shift[r] = mean_shift[r] + bias * channel_grad[r] / pixels;
                }
                let pixels = out_channel
                    .chunks_exact_mut(d)
                    .zip(channel.chunks_exact(d))
                    .zip(grad.chunks_exact(d));
                for ((o, xv), gv) in pixels {
                    let mut centred = [0f64; N];
                    let mut gg = [0f64; N];
                    for a in 0..d {
                        centred[a] = f64::from(xv[a]) - mean[a];
                        gg[a] = f64::from(gv[a]);
                    }
                    for r in 0..d {
                        let mut v = shift[r];
                        for a in 0..d {
                            v += grad_map[r][a] * gg[a] + centred_map[r][a] * centred[a];
                        }
                        o[r] = v as f32;
                    }
                }
            }
        }
    }
}

/// The whitening function `f(λ) = 1/√(max(λ, 0) + eps)` of the forward pass.
fn inv_sqrt(lambda: f64, eps: f64) -> f64 {
    1.0 / (lambda.max(0.0) + eps).sqrt()
}

/// `f′(λ) = −½·(max(λ, 0) + eps)^{−3/2}`: for λ ≤ 0 (a zero eigenvalue, negative only by
/// rounding) the derivative from the right, which is also ginjax's unclamped `f′` at 0.
fn inv_sqrt_derivative(lambda: f64, eps: f64) -> f64 {
    let t = lambda.max(0.0) + eps;
    -0.5 / (t * t.sqrt())
}

/// `∂L/∂C` (symmetric) for `W = f(C)`, `f` = [`inv_sqrt`], given `∂L/∂W = whiten_grad` and
/// `C = U diag(values) Uᵀ` (`vectors` = U, row-major `d × d`): the Daleckii–Krein formula of
/// the module docs.
fn covariance_gradient<const N: usize>(
    d: usize,
    values: &[f64],
    vectors: &[f64],
    whiten_grad: &[[f64; N]; N],
    eps: f64,
) -> [[f64; N]; N] {
    // The rows of U and of Uᵀ (U's columns, the eigenvectors), and S = (A + Aᵀ)/2.
    let mut rows = [[0f64; N]; N];
    let mut columns = [[0f64; N]; N];
    let mut sym = [[0f64; N]; N];
    for r in 0..d {
        for c in 0..d {
            rows[r][c] = vectors[r * d + c];
            columns[c][r] = vectors[r * d + c];
            sym[r][c] = 0.5 * (whiten_grad[r][c] + whiten_grad[c][r]);
        }
    }
    // pᵀ M q over the first d entries.
    let quadratic = |m: &[[f64; N]; N], p: &[f64; N], q: &[f64; N]| -> f64 {
        (0..d)
            .map(|a| p[a] * (0..d).map(|b| m[a][b] * q[b]).sum::<f64>())
            .sum()
    };
    // F ∘ (Uᵀ S U).
    let mut inner = [[0f64; N]; N];
    for (i, (row, &li)) in inner.iter_mut().zip(values).enumerate() {
        for (j, (v, &lj)) in row.iter_mut().zip(values).enumerate() {
            let scale = li.max(lj).max(0.0) + eps;
            let divided = if (li - lj).abs() <= SAME_EIGENVALUE * scale {
                inv_sqrt_derivative(0.5 * (li + lj), eps)
            } else {
                (inv_sqrt(li, eps) - inv_sqrt(lj, eps)) / (li - lj)
            };
            *v = divided * quadratic(&sym, &columns[i], &columns[j]);
        }
    }
    // U (F ∘ Uᵀ S U) Uᵀ.
    let mut out = [[0f64; N]; N];
    for (r, out_row) in out.iter_mut().enumerate().take(d) {
        for (c, v) in out_row.iter_mut().enumerate().take(d) {
            *v = quadratic(&inner, &rows[r], &rows[c]);
        }
    }
    out
}

/// Adds `g_a` to `sums` and `g_a (x_b − m_b)` to `products` for one pixel (`d` components).
#[inline(always)]
fn add_grad_moments<const N: usize>(
    d: usize,
    sums: &mut [f64; N],
    products: &mut [[f64; N]; N],
    x: &[f32],
    g: &[f32],
    mean: &[f64; N],
) {
    let d = fixed_components::<N>(d);
    let mut c = [0f64; N];
    for a in 0..d {
        c[a] = f64::from(x[a]) - mean[a];
    }
    for ((sum, row), &ga) in sums.iter_mut().zip(products.iter_mut()).zip(&g[..d]) {
        let ga = f64::from(ga);
        *sum += ga;
        for (product, cb) in row.iter_mut().zip(&c[..d]) {
            *product += ga * cb;
        }
    }
}

/// The per-component sums `Σ g_a` and the products `Σ g_a (x_b − m_b)` (f64) over pixels of `d`
/// components of `x` and `g`, in independent lanes like [`centred_moments`] (sums and products
/// in separate arrays, so that the lanes vectorise for scalars too).
#[inline(always)]
fn grad_moments<const N: usize>(
    d: usize,
    x: &[f32],
    g: &[f32],
    mean: &[f64; N],
) -> ([f64; N], [[f64; N]; N]) {
    let d = fixed_components::<N>(d);
    let mut sums = [[0f64; N]; LANES];
    let mut products = [[[0f64; N]; N]; LANES];
    let mut xs = x.chunks_exact(LANES * d);
    let mut gs = g.chunks_exact(LANES * d);
    for (xc, gc) in (&mut xs).zip(&mut gs) {
        let pixels = xc.chunks_exact(d).zip(gc.chunks_exact(d));
        for ((sum, product), (xv, gv)) in sums.iter_mut().zip(&mut products).zip(pixels) {
            add_grad_moments(d, sum, product, xv, gv, mean);
        }
    }
    let remainder = xs.remainder().chunks_exact(d);
    for (xv, gv) in remainder.zip(gs.remainder().chunks_exact(d)) {
        add_grad_moments(d, &mut sums[0], &mut products[0], xv, gv, mean);
    }
    let (mut sum, mut product) = (sums[0], products[0]);
    for (lane_sum, lane_product) in sums[1..].iter().zip(&products[1..]) {
        for a in 0..d {
            sum[a] += lane_sum[a];
            for b in 0..d {
                product[a][b] += lane_product[a][b];
            }
        }
    }
    (sum, product)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock, ImageError, Signature, TensorKey};
    use crate::layers::layer::Layer;
    use crate::test_support::{noise, sig};

    /// A random image whose components have different spreads and a non-zero mean, so that
    /// the vector covariances have distinct eigenvalues and the means matter.
    fn random_image(geometry: &Geometry, signature: &Signature, seed: u64) -> MultiImage {
        let mut image = MultiImage::new(geometry.clone());
        for (b, (key, c)) in signature.entries().iter().enumerate() {
            let d = key.components(geometry.dim());
            let len = c * geometry.pixels() * d;
            let data = noise(len, seed * 31 + b as u64)
                .iter()
                .enumerate()
                .map(|(i, v)| v * (1.0 + 0.6 * (i % d) as f32) + 0.4 - 0.3 * (i % d) as f32)
                .collect();
            let block = ImageBlock::new(geometry.clone(), key.clone(), *c, data).unwrap();
            image.insert(block).unwrap();
        }
        image
    }

    /// `L = Σ forward(x)·cot`, summed in f64.
    fn loss(layer: &GroupNorm, x: &MultiImage, cot: &MultiImage) -> f64 {
        let y = layer.forward(x).unwrap();
        y.blocks()
            .iter()
            .zip(cot.blocks())
            .flat_map(|(a, b)| a.data().iter().zip(b.data()))
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    }

    fn max_abs<'a>(values: impl IntoIterator<Item = &'a f32>) -> f64 {
        values
            .into_iter()
            .map(|v| f64::from(v.abs()))
            .fold(0.0, f64::max)
    }

    /// Central differences of `L = Σ forward(x)·cot` against `backward` for every input value
    /// and every parameter.
    ///
    /// Tolerance: 2e-3 of the largest gradient of each kind. The steps are 1e-2 of the
    /// block's spread (inputs) and 1e-2 (parameters, on which the output is affine, so only
    /// rounding remains); the truncation error of a central difference is `h²/6·L‴`, about
    /// 2e-5 relative for a loss curved on the scale of the spread; the f32 forward rounds
    /// each of the ≤ 150 output terms by ≲ 1e-7 of its size, ≲ 2e-5 in `L`, ≲ 1e-3 absolute
    /// after dividing by `2h` in the worst case (no cancellation), against gradients of
    /// order 1.
    fn check_gradients(signature: &Signature, spatial: Vec<usize>, groups: usize, seed: u64) {
        let torus = vec![true; spatial.len()];
        let geometry = Geometry::new(spatial, torus).unwrap();
        let mut layer = GroupNorm::new(signature, groups).unwrap();
        let params: Vec<f32> = noise(layer.param_len(), seed + 7)
            .iter()
            .map(|v| 0.8 * v + if *v > 0.0 { 0.4 } else { -0.4 })
            .collect();
        layer.set_flat_params(&params).unwrap();
        let x = random_image(&geometry, signature, seed);
        let cot = random_image(&geometry, signature, seed + 1000);
        let (input_grad, param_grads) = layer.backward(&x, &cot).unwrap();
        assert_eq!(input_grad.signature(), x.signature());
        assert_eq!(param_grads.len(), layer.param_len());

        let scale = max_abs(input_grad.blocks().iter().flat_map(|b| b.data()));
        assert!(scale > 0.1, "trivial input gradient {scale}");
        for (b, block) in x.blocks().iter().enumerate() {
            let spread = max_abs(block.data()) as f32;
            for i in 0..block.data().len() {
                let mut plus = x.clone();
                let mut minus = x.clone();
                let key = block.key();
                plus.get_mut(key).unwrap().data_mut()[i] += 1e-2 * spread;
                minus.get_mut(key).unwrap().data_mut()[i] -= 1e-2 * spread;
                let step = f64::from(plus.get(key).unwrap().data()[i])
                    - f64::from(minus.get(key).unwrap().data()[i]);
                let fd = (loss(&layer, &plus, &cot) - loss(&layer, &minus, &cot)) / step;
                let got = f64::from(input_grad.blocks()[b].data()[i]);
                assert!(
                    (fd - got).abs() <= 2e-3 * scale,
                    "{key:?} value {i}: finite difference {fd}, backward {got} (scale {scale})"
                );
            }
        }

        let scale = max_abs(&param_grads);
        assert!(scale > 0.1, "trivial parameter gradient {scale}");
        for j in 0..params.len() {
            let mut plus = params.clone();
            let mut minus = params.clone();
            plus[j] += 1e-2;
            minus[j] -= 1e-2;
            let step = f64::from(plus[j]) - f64::from(minus[j]);
            layer.set_flat_params(&plus).unwrap();
            let up = loss(&layer, &x, &cot);
            layer.set_flat_params(&minus).unwrap();
            let down = loss(&layer, &x, &cot);
            let fd = (up - down) / step;
            let got = f64::from(param_grads[j]);
            assert!(
                (fd - got).abs() <= 2e-3 * scale,
                "parameter {j}: finite difference {fd}, backward {got} (scale {scale})"
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences_2d() {
        // Scalars, pseudoscalars and 2-D vectors in one layer (flat offsets across keys).
        let signature = sig(&[(0, 0, 4), (1, 0, 4), (0, 1, 2)]);
        for groups in [1, 2] {
            check_gradients(&signature, vec![3, 4], groups, 11 + groups as u64);
        }
    }

    #[test]
    fn gradients_match_finite_differences_3d() {
        let signature = sig(&[(1, 0, 2), (0, 0, 2), (1, 1, 2)]);
        for groups in [1, 2] {
            check_gradients(&signature, vec![2, 3, 2], groups, 23 + groups as u64);
        }
    }

    #[test]
    fn gradients_match_finite_differences_1d() {
        // D = 1: scalars, and vectors of one component (the generic-d path).
        let signature = sig(&[(0, 0, 4), (1, 0, 2)]);
        for groups in [1, 2] {
            check_gradients(&signature, vec![7], groups, 37 + groups as u64);
        }
    }

    #[test]
    fn repeated_eigenvalues_match_finite_differences() {
        // One 2-D vector channel on the 4 pixels (±1, 0), (0, ±1): C = I/2, a repeated
        // eigenvalue, where the derivative at the mean replaces the divided difference.
        let dim2 = Geometry::new(vec![2, 2], vec![true, true]).unwrap();
        let data = vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let block = ImageBlock::new(dim2.clone(), TensorKey::vector(), 1, data).unwrap();
        let x = MultiImage::from_blocks(dim2.clone(), vec![block]).unwrap();
        let mut layer = GroupNorm::layer_norm(&x.signature()).unwrap();
        layer.set_flat_params(&[1.3, -0.7]).unwrap();
        let cot = random_image(&dim2, &x.signature(), 5);
        let (input_grad, _) = layer.backward(&x, &cot).unwrap();
        let got = input_grad.blocks()[0].data();
        let scale = max_abs(got);
        for (i, &value) in got.iter().enumerate() {
            let mut plus = x.clone();
            let mut minus = x.clone();
            plus.blocks_mut().next().unwrap().data_mut()[i] += 1e-3;
            minus.blocks_mut().next().unwrap().data_mut()[i] -= 1e-3;
            let fd = (loss(&layer, &plus, &cot) - loss(&layer, &minus, &cot)) / 2e-3;
            assert!(
                (fd - f64::from(value)).abs() <= 2e-3 * scale,
                "value {i}: finite difference {fd}, backward {value}"
            );
        }
    }

    #[test]
    fn constant_input_has_finite_gradients() {
        // Zero variance: x̂ = 0 and W = I/√eps, so (with n values or rows per group, P
        // pixels) ∂x = inv·(a_c·G − Σ a·G/n), ∂a = 0, ∂b = Σ G for scalars, and
        // ∂x = W·(s_c·G − Σ_c s_c Σ_p G/n) + b_c·Σ_p G/P, ∂s = 0, ∂b_c = ⟨Σ_p G, m⟩ for vectors.
        let geometry = Geometry::square(2, 3, true).unwrap();
        let signature = sig(&[(0, 0, 2), (1, 0, 2)]);
        let mut layer = GroupNorm::layer_norm(&signature).unwrap();
        let params = [1.5, -0.5, 0.3, 0.2, 0.7, 1.1, -0.4, 0.9];
        layer.set_flat_params(&params).unwrap();
        let scalars = ImageBlock::new(geometry.clone(), TensorKey::scalar(), 2, vec![7.0; 18]);
        let vectors: Vec<f32> = (0..36).map(|i| [1.0, -2.0][i % 2]).collect();
        let vectors = ImageBlock::new(geometry.clone(), TensorKey::vector(), 2, vectors);
        let x = MultiImage::from_blocks(geometry.clone(), vec![scalars.unwrap(), vectors.unwrap()])
            .unwrap();
        let cot = random_image(&geometry, &signature, 3);
        let (input_grad, param_grads) = layer.backward(&x, &cot).unwrap();

        let inv = 1.0 / f64::from(layer.eps()).sqrt();
        let g = cot.blocks()[0].data();
        let a = [params[0], params[1]].map(f64::from);
        let sum_g = [0, 1].map(|c| {
            g[c * 9..c * 9 + 9]
                .iter()
                .map(|v| f64::from(*v))
                .sum::<f64>()
        });
        let sum_ag = a[0] * sum_g[0] + a[1] * sum_g[1];
        let got = input_grad.blocks()[0].data();
        for (i, (v, gv)) in got.iter().zip(g).enumerate() {
            let want = inv * (a[i / 9] * f64::from(*gv) - sum_ag / 18.0);
            assert!(
                (f64::from(*v) - want).abs() <= 1e-5 * want.abs().max(inv),
                "{v} vs {want}"
            );
        }
        for c in 0..2 {
            assert_eq!(param_grads[c], 0.0);
            assert!((f64::from(param_grads[2 + c]) - sum_g[c]).abs() < 1e-5);
        }

        let g = cot.blocks()[1].data();
        let (s, b) = ([params[4], params[5]], [params[6], params[7]]);
        let mut channel_sums = [[0f64; 2]; 2];
        for (i, v) in g.iter().enumerate() {
            channel_sums[i / 18][i % 2] += f64::from(*v);
        }
        let scaled: [f64; 2] = [0, 1]
            .map(|a| f64::from(s[0]) * channel_sums[0][a] + f64::from(s[1]) * channel_sums[1][a]);
        let got = input_grad.blocks()[1].data();
        for (i, (v, gv)) in got.iter().zip(g).enumerate() {
            let (c, a) = (i / 18, i % 2);
            let want = inv * (f64::from(s[c]) * f64::from(*gv) - scaled[a] / 18.0)
                + f64::from(b[c]) * channel_sums[c][a] / 9.0;
            assert!(v.is_finite());
            assert!((f64::from(*v) - want).abs() <= 1e-5 * inv, "{v} vs {want}");
        }
        for c in 0..2 {
            assert_eq!(param_grads[4 + c], 0.0);
            let want = channel_sums[c][0] * 1.0 + channel_sums[c][1] * -2.0;
            assert!((f64::from(param_grads[6 + c]) - want).abs() < 1e-5);
        }
    }

    #[test]
    fn flat_params_round_trip_in_key_order() {
        let signature = sig(&[(0, 0, 2), (1, 0, 3)]);
        let mut layer = GroupNorm::layer_norm(&signature).unwrap();
        assert_eq!(layer.param_len(), 10);
        assert_eq!(
            layer.flat_params(),
            [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
        );
        let flat: Vec<f32> = (0..10).map(|i| i as f32 * 0.5 - 1.0).collect();
        layer.set_flat_params(&flat).unwrap();
        assert_eq!(layer.flat_params(), flat);
        assert_eq!(layer.weight(&TensorKey::scalar()).unwrap(), &flat[0..2]);
        assert_eq!(layer.bias(&TensorKey::scalar()).unwrap(), &flat[2..4]);
        assert_eq!(layer.weight(&TensorKey::vector()).unwrap(), &flat[4..7]);
        assert_eq!(layer.bias(&TensorKey::vector()).unwrap(), &flat[7..10]);
        assert_eq!(
            layer.set_flat_params(&flat[..9]),
            Err(NormError::FlatParams {
                expected: 10,
                got: 9
            })
        );
        assert_eq!(layer.flat_params(), flat);
    }

    #[test]
    fn keys_missing_from_the_input_get_zero_gradients() {
        let signature = sig(&[(0, 0, 2), (1, 0, 2)]);
        let layer = GroupNorm::layer_norm(&signature).unwrap();
        let geometry = Geometry::square(2, 3, true).unwrap();
        let only_vectors = sig(&[(1, 0, 2)]);
        let x = random_image(&geometry, &only_vectors, 1);
        let cot = random_image(&geometry, &only_vectors, 2);
        let (_, grads) = layer.backward(&x, &cot).unwrap();
        assert_eq!(&grads[..4], &[0.0; 4]);
        assert!(grads[4..].iter().all(|v| *v != 0.0));
    }

    #[test]
    fn mismatched_gradients_are_errors() {
        let signature = sig(&[(0, 0, 2), (1, 0, 2)]);
        let layer = GroupNorm::layer_norm(&signature).unwrap();
        let geometry = Geometry::square(2, 3, true).unwrap();
        let x = random_image(&geometry, &signature, 1);
        let other_channels = random_image(&geometry, &sig(&[(0, 0, 2), (1, 0, 4)]), 2);
        assert!(matches!(
            layer.backward(&x, &other_channels),
            Err(Error::Image(ImageError::SignatureMismatch { .. }))
        ));
        let other_keys = random_image(&geometry, &sig(&[(0, 0, 2), (1, 1, 2)]), 2);
        assert!(matches!(
            layer.backward(&x, &other_keys),
            Err(Error::Image(ImageError::SignatureMismatch { .. }))
        ));
        let missing = random_image(&geometry, &sig(&[(0, 0, 2)]), 2);
        assert!(matches!(
            layer.backward(&x, &missing),
            Err(Error::Image(ImageError::SignatureMismatch { .. }))
        ));
        let other_side = random_image(&Geometry::square(2, 4, true).unwrap(), &signature, 2);
        assert!(matches!(
            layer.backward(&x, &other_side),
            Err(Error::Norm(NormError::GradientGeometry { .. }))
        ));
        // An input the layer does not accept is the forward pass's error.
        let unknown = random_image(&geometry, &sig(&[(0, 1, 2)]), 3);
        assert!(matches!(
            layer.backward(&unknown, &unknown),
            Err(Error::Norm(NormError::UnknownKey { .. }))
        ));
    }
}
