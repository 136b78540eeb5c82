//! The gradients of a [`ConvContract`]'s convolution, basis-first, for training: the
//! convolution with caller-given weights ([`ConvContract::convolve_with`]), its adjoint (the
//! input gradient, [`ConvContract::convolve_adjoint`]) and the weight gradient
//! ([`ConvContract::weight_gradient`]). The bias is not part of them: its step and that
//! step's gradient are in the `bias` module.
//!
//! Weights travel flat: every pair's `(out_c, in_c, n_f)` array, row-major, concatenated in
//! pair order ([`ConvContract::pairs`]); [`ConvContract::weight_len`] values in all.
//!
//! **Weight gradient.** With the responses `R[i, f, j, q]` of the forward pass (input channel
//! `i`, filter `f`, output component `j`, output pixel `q`), the output is
//! `y[o, j, q] = Σ_{i,f} w[o, i, f] · R[i, f, j, q]`, so
//! `∂L/∂w[o, i, f] = Σ_{j,q} g[o, j, q] · R[i, f, j, q]`: one GEMM `G · Rᵀ` per pair
//! ([`add_row_dots`] for fewer than [`FEW_ROWS`] output channels, matrixmultiply above). The
//! responses are recomputed tile by tile (the forward pass's tiles; they stay in cache) rather
//! than kept from the forward pass.
//!
//! The `transpose` module runs both faster where it applies (every kernel sparse, an adjoint
//! plan a forward plan can express): the input gradient as the forward pass of the transposed
//! layer ([`AdjointConv`](super::AdjointConv)), the weight gradient read off that pass's
//! response panels. The routes below are the reference and the fallback.
//!
//! **Input gradient.** The adjoint first mixes the output gradient with the weights,
//! `H[i, f, j, q] = Σ_o w[o, i, f] · g[o, j, q]` (one GEMM `Wᵀ · G` per pair), then runs the
//! pair kernel's adjoint stencil ([`ResponseKernel::adjoint`]: every filter flipped in space,
//! its tensor indices swapped) over `H`, summing over `f` and `j`. Per spatial axis with input
//! side `N`, filter side `M`, rhs dilation `d`, window `D = (M − 1)·d`, the stencil reads `H`
//! through a source table, as the forward pass reads its padded input:
//!
//! - a **zero-padded** axis (padding `lo` before the input, lhs dilation `l`, stride `s`): the
//!   adjoint of "insert zeros, correlate, subsample" is "insert zeros, correlate with the
//!   flipped filter, subsample" with the roles of `s` and `l` exchanged: adjoint position `u`
//!   (`0 ≤ u < (N − 1)·l + 1 + D`) holds `H[v / s]` for `v = u + lo − D` when `s` divides
//!   `v ≥ 0` and `v / s` is an output pixel, else zero, and the stencil runs with stride `l`
//!   (the complementary padding `D − lo`, `D − hi` for `s = l = 1`);
//! - a **wrap-padded** (torus) axis: the adjoint of a circular correlation is the circular
//!   correlation with the flipped filter, so `H` is wrap-padded by `D/2` exactly as the input
//!   was. Only stride 1 without lhs dilation is supported there
//!   ([`ConvContractError::AdjointUnsupported`]).

use rayon::prelude::*;

use super::tiles::{grow, with_scratch, Scratch, Tiling, TILE_PIXELS};
use super::{ConvContract, ConvContractError};
use crate::error::Error;
use crate::image::{buffers, Geometry, ImageBlock, ImageView, MultiImage};
use crate::kernels::gemm::{add_row_dots, gemm_transposed, Transposed, FEW_ROWS};
use crate::kernels::layout::row_major_strides;
use crate::kernels::stencil::{ResponseKernel, StencilGeometry};
use crate::kernels::transpose::{deinterleave, interleave};
use crate::ops::padding::fill::{fill_padded, pad_block};
use crate::ops::padding::{AxisPlan, ConvPlan};

/// The adjoint stencil's view of the output gradient: one source table per axis and the
/// stencil geometry that produces the input gradient.
pub(super) struct AdjointPlan {
    pub(super) tables: Vec<Vec<isize>>,
    pub(super) geometry: StencilGeometry,
}

/// What every tile of a weight gradient reads: the input, the output gradient and the
/// offset of every pair's weights in the flat gradient.
struct Operands<'a> {
    input: &'a MultiImage,
    output_grad: &'a MultiImage,
    offsets: &'a [usize],
}

impl ConvContract {
    /// The number of weight values of all pairs: `Σ out_c · in_c · n_f`.
    pub fn weight_len(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| self.pair_weight_len(p.input, p.target, p.n_f))
            .sum()
    }

    pub(super) fn pair_weight_len(&self, input: usize, target: usize, n_f: usize) -> usize {
        self.config.target.entries()[target].1 * self.config.input.entries()[input].1 * n_f
    }

    /// Where each pair's weights start in the flat weights (see the module docs).
    pub(super) fn pair_offsets(&self) -> Vec<usize> {
        self.pairs
            .iter()
            .scan(0, |offset, p| {
                let start = *offset;
                *offset += self.pair_weight_len(p.input, p.target, p.n_f);
                Some(start)
            })
            .collect()
    }

    /// Cuts flat weights into one array per pair (see the module docs).
    pub(super) fn split_weights<'a>(
        &self,
        weights: &'a [f32],
    ) -> Result<Vec<&'a [f32]>, ConvContractError> {
        let expected = self.weight_len();
        if weights.len() != expected {
            return Err(ConvContractError::WeightLength {
                expected,
                got: weights.len(),
            });
        }
        let mut rest = weights;
        Ok(self
            .pairs
            .iter()
            .map(|p| {
                let (head, tail) = rest.split_at(self.pair_weight_len(p.input, p.target, p.n_f));
                rest = tail;
                head
            })
            .collect())
    }

    /// The layer's convolution without bias, with `weights` (flat, see the module docs) in
    /// place of the layer's own. The output has [`ConvContract::output_signature`].
    pub fn convolve_with(&self, input: &MultiImage, weights: &[f32]) -> Result<MultiImage, Error> {
        let weights = self.split_weights(weights)?;
        self.convolve_tiled(&input.as_view(), &weights)
    }

    /// [`ConvContract::convolve_with`] on borrowed input blocks, into `out`: one slice per
    /// output block in [`ConvContract::output_signature`]'s order, of the block's length on
    /// the output geometry. Every value is overwritten.
    pub fn convolve_with_into(
        &self,
        input: &ImageView<'_>,
        weights: &[f32],
        out: &mut [&mut [f32]],
    ) -> Result<(), Error> {
        let weights = self.split_weights(weights)?;
        self.convolve_into(input, &weights, out)
    }

    /// Checks that [`ConvContract::convolve_adjoint`] serves inputs of `geometry`: the options
    /// resolve, no wrap-padded axis has a stride or lhs dilation, and every pair's kernel
    /// has an adjoint.
    pub fn adjoint_support(&self, geometry: &Geometry) -> Result<(), Error> {
        self.check_dim(geometry)?;
        let plan = self.config.options.resolve(geometry, &self.sides)?;
        self.adjoint_plan(&plan)?;
        self.adjoint_kernels()?;
        Ok(())
    }

    /// The input gradient of `⟨output_grad, convolve_with(x, weights)⟩` for inputs `x` of
    /// `input_geometry`: the adjoint convolution (see the module docs). `output_grad` must
    /// have the output signature and the convolution's output geometry; the result has the
    /// input signature (zeros for blocks no pair reads).
    ///
    /// Where it can, this runs as the transposed layer's forward pass (the `transpose`
    /// module); [`ConvContract::adjoint_for`] keeps that layer for repeated calls.
    pub fn convolve_adjoint(
        &self,
        output_grad: &MultiImage,
        input_geometry: &Geometry,
        weights: &[f32],
    ) -> Result<MultiImage, Error> {
        self.adjoint_for(input_geometry)?
            .apply(self, output_grad, weights)
    }

    /// [`ConvContract::convolve_adjoint`] by mixing, then the adjoint stencil (see the module
    /// docs).
    pub(super) fn convolve_adjoint_mixed(
        &self,
        output_grad: &MultiImage,
        input_geometry: &Geometry,
        weights: &[f32],
    ) -> Result<MultiImage, Error> {
        let weights = self.split_weights(weights)?;
        self.check_dim(input_geometry)?;
        let plan = self.config.options.resolve(input_geometry, &self.sides)?;
        self.check_output_grad(&plan, output_grad)?;
        let adjoint = self.adjoint_plan(&plan)?;
        let kernels = self.adjoint_kernels()?;
        let dim = self.dim;
        let op = plan.output_pixels();
        let ip = input_geometry.pixels();
        let targets = self.config.target.entries();
        let out_strides = row_major_strides(&plan.output_spatial());
        let tables: Vec<&[isize]> = adjoint.tables.iter().map(Vec::as_slice).collect();
        let pp = adjoint.geometry.padded_pixels();
        // The output gradient per target, component-major (out_c, d^k, pixels).
        let mut grads: Vec<Vec<f32>> = vec![Vec::new(); targets.len()];
        for block in output_grad.blocks() {
            let o = self.target_index(block.key());
            let comps = block.components();
            // Every value is written below.
            let mut planar = buffers::take(block.data().len());
            for (c, dst) in planar.chunks_exact_mut(comps * op).enumerate() {
                deinterleave(block.channel(c), comps, dst, op);
            }
            grads[o] = planar;
        }
        let mut output = MultiImage::new(input_geometry.clone());
        for (bi, (key, in_c)) in self.config.input.entries().iter().enumerate() {
            let comps_in = key.components(dim);
            // Every value is written below (zeros for a block no pair reads).
            let mut data = buffers::take(in_c * comps_in * ip);
            let pairs: Vec<usize> = (0..self.pairs.len())
                .filter(|&p| self.pairs[p].input == bi)
                .collect();
            // H = Wᵀ · G per pair (the pairs in parallel): (in_c · n_f) × (d^k_out · pixels).
            let mixed: Vec<Vec<f32>> = pairs
                .par_iter()
                .map(|&p| {
                    let pair = &self.pairs[p];
                    let (out_key, out_c) = &targets[pair.target];
                    let (m, n) = (in_c * pair.n_f, out_key.components(dim) * op);
                    // β = 0: the GEMM writes every value.
                    let mut h = buffers::take(m * n);
                    gemm_transposed(
                        Transposed::A,
                        [m, *out_c, n],
                        weights[p],
                        &grads[pair.target],
                        0.0,
                        &mut h,
                    );
                    h
                })
                .collect();
            if pairs.is_empty() {
                data.fill(0.0);
            } else {
                // Per input channel (in parallel): its planes of every pair's H, wrap- or
                // zero-padded, through the adjoint stencil, summed over the pairs.
                data.par_chunks_mut(comps_in * ip)
                    .enumerate()
                    .for_each(|(i, dst)| {
                        // The thread's scratch buffers: the padded planes, one pair's
                        // responses and their sum over the pairs.
                        with_scratch(|scratch| {
                            let Scratch {
                                inputs: padded,
                                responses: response,
                                acc,
                                ..
                            } = scratch;
                            let n = comps_in * ip;
                            grow(acc, n);
                            grow(response, n);
                            let (acc, response) = (&mut acc[..n], &mut response[..n]);
                            acc.fill(0.0);
                            for (&p, h) in pairs.iter().zip(&mixed) {
                                let planes = h.len() / in_c / op;
                                grow(padded, planes * pp);
                                let padded = &mut padded[..planes * pp];
                                let channel = &h[i * planes * op..(i + 1) * planes * op];
                                for (src, dst) in
                                    channel.chunks_exact(op).zip(padded.chunks_exact_mut(pp))
                                {
                                    fill_padded(src, 1, &out_strides, &tables, dst);
                                }
                                kernels[p].responses(&adjoint.geometry, padded, response);
                                acc.iter_mut().zip(&*response).for_each(|(a, r)| *a += r);
                            }
                            interleave(acc, ip, dst, comps_in);
                        })
                    });
            }
            mixed.into_iter().for_each(buffers::keep);
            output.insert(ImageBlock::new(
                input_geometry.clone(),
                key.clone(),
                *in_c,
                data,
            )?)?;
        }
        grads.into_iter().for_each(buffers::keep);
        Ok(output)
    }

    /// The gradient of `⟨output_grad, convolve_with(input, w)⟩` with respect to `w`, flat (see
    /// the module docs; it does not depend on `w`). `output_grad` must have the output
    /// signature and the convolution's output geometry.
    pub fn weight_gradient(
        &self,
        input: &MultiImage,
        output_grad: &MultiImage,
    ) -> Result<Vec<f32>, Error> {
        self.check_dim(input.geometry())?;
        input.expect_signature(&self.config.input)?;
        let plan = self.config.options.resolve(input.geometry(), &self.sides)?;
        self.check_output_grad(&plan, output_grad)?;
        let tiling = Tiling::new(&plan, TILE_PIXELS);
        let tables = plan.source_tables();
        let len = self.weight_len();
        let offsets = self.pair_offsets();
        let grad = (0..tiling.n_tiles)
            .into_par_iter()
            .map(|t| {
                let (geometry, tile_tables) = tiling.region(&plan, &tables, t);
                let mut dw = vec![0.0; len];
                let operands = Operands {
                    input,
                    output_grad,
                    offsets: &offsets,
                };
                let q0 = tiling.rows_of(t).0 * tiling.row_pixels;
                with_scratch(|scratch| {
                    self.weight_gradient_tile(
                        &geometry,
                        &tile_tables,
                        q0,
                        &operands,
                        &mut dw,
                        scratch,
                    )
                });
                dw
            })
            .reduce(
                || vec![0.0; len],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        Ok(grad)
    }

    /// Adds one tile's share of the weight gradient into `dw`: the tile's responses (as the
    /// forward pass computes them) times the tile's output gradient, one GEMM per pair.
    /// `q0` is the tile's first output pixel.
    fn weight_gradient_tile(
        &self,
        geometry: &StencilGeometry,
        tables: &[&[isize]],
        q0: usize,
        operands: &Operands<'_>,
        dw: &mut [f32],
        scratch: &mut Scratch,
    ) {
        let Operands {
            input,
            output_grad,
            offsets,
        } = *operands;
        let Scratch {
            inputs,
            responses,
            acc,
            ..
        } = scratch;
        let dim = self.dim;
        let tpp = geometry.padded_pixels();
        let top = geometry.out_pixels();
        let targets = self.config.target.entries();
        // The tile's output gradient per target, component-major (out_c, d^k_out, tile pixels).
        let mut starts = vec![0usize; targets.len() + 1];
        for (o, (key, out_c)) in targets.iter().enumerate() {
            let reached = self.outputs.contains(&o);
            starts[o + 1] = starts[o]
                + if reached {
                    out_c * key.components(dim) * top
                } else {
                    0
                };
        }
        grow(acc, starts[targets.len()]);
        for block in output_grad.blocks() {
            let o = self.target_index(block.key());
            let comps = block.components();
            let dst = &mut acc[starts[o]..starts[o + 1]];
            for c in 0..block.channels() {
                let src = &block.channel(c)[q0 * comps..(q0 + top) * comps];
                deinterleave(src, comps, &mut dst[c * comps * top..], top);
            }
        }
        for (bi, block) in input.blocks().iter().enumerate() {
            if !self.reads_input(bi) {
                continue;
            }
            let in_c = block.channels();
            let chan_len = block.components() * tpp;
            grow(inputs, in_c * chan_len);
            pad_block(block.as_view(), tables, &mut inputs[..in_c * chan_len]);
            for (p, pair) in self.pairs.iter().enumerate().filter(|(_, p)| p.input == bi) {
                let (out_key, out_c) = &targets[pair.target];
                let comps_out = out_key.components(dim);
                let per_channel = pair.n_f * comps_out * top;
                grow(responses, in_c * per_channel);
                for c in 0..in_c {
                    pair.kernel.responses(
                        geometry,
                        &inputs[c * chan_len..(c + 1) * chan_len],
                        &mut responses[c * per_channel..(c + 1) * per_channel],
                    );
                }
                let (m, k, n) = (*out_c, comps_out * top, in_c * pair.n_f);
                let (g, r) = (
                    &acc[starts[pair.target]..starts[pair.target + 1]],
                    &responses[..in_c * per_channel],
                );
                let dw = &mut dw[offsets[p]..offsets[p] + m * n];
                if m < FEW_ROWS {
                    add_row_dots([m, k, n], g, r, dw);
                } else {
                    gemm_transposed(Transposed::B, [m, k, n], g, r, 1.0, dw);
                }
            }
        }
    }

    fn check_dim(&self, geometry: &Geometry) -> Result<(), ConvContractError> {
        if geometry.dim() != self.dim {
            return Err(ConvContractError::InputDimension {
                expected: self.dim,
                got: geometry.dim(),
            });
        }
        Ok(())
    }

    /// Checks that `output_grad` has the output signature and `plan`'s output geometry.
    pub(super) fn check_output_grad(
        &self,
        plan: &ConvPlan,
        output_grad: &MultiImage,
    ) -> Result<(), Error> {
        output_grad.expect_signature(&self.output_signature())?;
        let expected = plan.output_geometry();
        if output_grad.geometry() != &expected {
            return Err(ConvContractError::GradientGeometry {
                expected: expected.spatial().to_vec(),
                got: output_grad.geometry().spatial().to_vec(),
            }
            .into());
        }
        Ok(())
    }

    /// The index in the target signature of a key of the output signature.
    fn target_index(&self, key: &crate::image::TensorKey) -> usize {
        self.config
            .target
            .entries()
            .iter()
            .position(|(k, _)| k == key)
            .expect("output keys are target keys")
    }

    /// Every pair's adjoint kernel, in pair order.
    fn adjoint_kernels(&self) -> Result<Vec<Box<dyn ResponseKernel>>, ConvContractError> {
        self.pairs
            .iter()
            .map(|p| {
                p.kernel
                    .adjoint()
                    .ok_or_else(|| ConvContractError::NoAdjointKernel {
                        input: self.config.input.entries()[p.input].0.clone(),
                        output: self.config.target.entries()[p.target].0.clone(),
                    })
            })
            .collect()
    }

    /// The adjoint's source tables and stencil geometry (see the module docs).
    pub(super) fn adjoint_plan(&self, plan: &ConvPlan) -> Result<AdjointPlan, ConvContractError> {
        let mut tables = Vec::with_capacity(plan.dim());
        let mut stride = Vec::with_capacity(plan.dim());
        for (axis, a) in plan.axes().iter().enumerate() {
            let (table, step) = adjoint_axis(a).ok_or(ConvContractError::AdjointUnsupported {
                axis,
                stride: a.stride,
                lhs_dilation: a.lhs_dilation,
            })?;
            tables.push(table);
            stride.push(step);
        }
        let geometry = StencilGeometry {
            padded: tables.iter().map(Vec::len).collect(),
            out: plan.input_spatial(),
            stride,
            rhs_dilation: plan.axes().iter().map(|a| a.rhs_dilation).collect(),
        };
        Ok(AdjointPlan { tables, geometry })
    }
}

/// One axis of the adjoint: the source table into the output gradient (-1: zero) and the
/// stencil's stride, or `None` for a wrap-padded axis with a stride, lhs dilation or zero
/// padding (see the module docs).
fn adjoint_axis(a: &AxisPlan) -> Option<(Vec<isize>, usize)> {
    let window = (a.filter_len - 1) * a.rhs_dilation;
    let n = a.input_len;
    if a.wrap > 0 {
        let plain = a.stride == 1 && a.lhs_dilation == 1 && a.zero_lo + a.zero_hi == 0;
        if !plain || 2 * a.wrap != window {
            return None;
        }
        let table = (0..n + window)
            .map(|u| ((u + n * (a.wrap / n + 1) - a.wrap) % n) as isize)
            .collect();
        return Some((table, 1));
    }
    let len = (n - 1) * a.lhs_dilation + 1 + window;
    let table = (0..len)
        .map(|u| {
            let v = (u + a.zero_lo) as isize - window as isize;
            let s = a.stride as isize;
            if v >= 0 && v % s == 0 && ((v / s) as usize) < a.output_len {
                v / s
            } else {
                -1
            }
        })
        .collect();
    Some((table, a.lhs_dilation))
}

#[cfg(test)]
mod tests {
    use ginrs_generator::BankOptions;

    use super::*;
    use crate::layers::conv_contract::ConvContractConfig;
    use crate::ops::bank::DenseBank;
    use crate::ops::padding::{ConvOptions, Padding};
    use crate::test_support::{image_dot as dot, noise, random_image, sig};

    /// `⟨conv(x, w), g⟩ = ⟨x, adjoint(g, w)⟩ = ⟨w, weight_gradient(x, g)⟩` (the convolution is
    /// bilinear in `x` and `w`).
    #[test]
    fn gradients_are_adjoints_of_the_convolution() {
        /// (dim, side, spatial, torus, options)
        type Case = (usize, usize, Vec<usize>, Vec<bool>, ConvOptions);
        let cases: Vec<Case> = vec![
            (2, 3, vec![6, 5], vec![true, true], ConvOptions::default()),
            (
                2,
                3,
                vec![5, 7],
                vec![true, false],
                ConvOptions::default().rhs_dilation(vec![2, 1]),
            ),
            (
                2,
                3,
                vec![7, 6],
                vec![false, false],
                ConvOptions::with_padding(Padding::Same).stride(vec![2, 3]),
            ),
            (
                2,
                2,
                vec![3, 4],
                vec![true, true],
                ConvOptions::with_padding(Padding::Explicit(vec![(1, 0), (2, 1)])).lhs_dilation(2),
            ),
            (
                1,
                3,
                vec![9],
                vec![false],
                ConvOptions::with_padding(Padding::Valid)
                    .rhs_dilation(2)
                    .stride(2),
            ),
            (
                3,
                3,
                vec![4, 3, 5],
                vec![true, false, true],
                ConvOptions::default(),
            ),
        ];
        let input = sig(&[(0, 0, 2), (1, 0, 2), (0, 1, 1)]);
        let target = sig(&[(0, 0, 2), (1, 0, 1), (2, 0, 1)]);
        for (dim, side, spatial, torus, options) in cases {
            let bank =
                DenseBank::invariant(dim, side, &[0, 1, 2, 3], &BankOptions::default()).unwrap();
            let config = ConvContractConfig::new(input.clone(), target.clone())
                .options(options.clone())
                .allow_missing(true);
            let layer = ConvContract::from_bank(config, &bank, 3).unwrap();
            let geometry = Geometry::new(spatial, torus).unwrap();
            layer.adjoint_support(&geometry).unwrap();
            let x = random_image(&geometry, &input, 1);
            let w = noise(layer.weight_len(), 2);
            let y = layer.convolve_with(&x, &w).unwrap();
            let g = random_image(y.geometry(), &layer.output_signature(), 3);
            let dx = layer.convolve_adjoint(&g, &geometry, &w).unwrap();
            let dw = layer.weight_gradient(&x, &g).unwrap();
            let yg = dot(&y, &g);
            let xdx = dot(&x, &dx);
            let wdw: f64 = w
                .iter()
                .zip(&dw)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            let tol = 1e-4 * (1.0 + yg.abs());
            assert!(
                (yg - xdx).abs() <= tol,
                "{options:?}: ⟨y, g⟩ = {yg}, ⟨x, dx⟩ = {xdx}"
            );
            assert!(
                (yg - wdw).abs() <= tol,
                "{options:?}: ⟨y, g⟩ = {yg}, ⟨w, dw⟩ = {wdw}"
            );
            // The convolution with the layer's own weights is its forward pass without bias.
            let own: Vec<f32> = layer.own_weights().concat();
            let plain = layer.forward_impl(&x.as_view(), false, None).unwrap();
            assert_eq!(layer.convolve_with(&x, &own).unwrap(), plain);
        }
    }

    #[test]
    fn wrap_padding_with_stride_has_no_adjoint() {
        let s = sig(&[(0, 0, 1)]);
        let bank = DenseBank::invariant(2, 3, &[0], &BankOptions::default()).unwrap();
        let config =
            ConvContractConfig::new(s.clone(), s).options(ConvOptions::default().stride(2));
        let layer = ConvContract::from_bank(config, &bank, 0).unwrap();
        let geometry = Geometry::new(vec![6, 6], vec![true, false]).unwrap();
        assert_eq!(
            layer.adjoint_support(&geometry),
            Err(Error::from(ConvContractError::AdjointUnsupported {
                axis: 0,
                stride: 2,
                lhs_dilation: 1
            }))
        );
        assert_eq!(
            layer.convolve_with(&random_image(&geometry, layer.input_signature(), 0), &[0.0]),
            Err(Error::from(ConvContractError::WeightLength {
                expected: 3,
                got: 1
            }))
        );
    }
}
