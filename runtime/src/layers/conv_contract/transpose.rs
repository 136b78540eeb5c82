//! The input gradient of a convolution computed as a convolution: the *transposed layer*.
//!
//! The adjoint of `y[o, j] = Σ_{i,f} w[o, i, f] · (C_f ⋆ x_i)[j]` is
//! `dx[i, a] = Σ_{o,f} w[o, i, f] · (C_fᵀ ⋆ g_o)[a]`, where `C_fᵀ` is filter `f` flipped in
//! space with its tensor indices swapped (`ResponseKernel::transposed`). That is the forward
//! pass of another basis-first layer: from the output signature to the input signature, with
//! every pair reversed, its kernel transposed and its weights `w'[i, o, f] = w[o, i, f]`. Run as
//! a layer, the input gradient takes the forward pass's schedule (tiles, row chunks whose
//! responses stay in L1, the register-blocked mix) instead of writing the mixed planes
//! `H = Wᵀ · G` of every filter to memory before the stencil (the `grad` module's route).
//!
//! The transposed layer reads the output gradient through its own padding plan. It is used
//! only where that plan is exactly the adjoint's (the same source tables and stencil geometry
//! as the `grad` module's adjoint plan): torus axes with stride 1, and zero-padded axes whose
//! padding is at most the filter's window. Elsewhere (generated kernels without a transposed
//! kernel, wider zero padding) the input gradient takes the `grad` module's route.

use super::chunked::{sparse_chunks_apply, sparse_chunks_with_products};
use super::{BiasMode, ConvContract, ConvContractConfig, ConvContractError};
use crate::error::Error;
use crate::image::{buffers, Geometry, ImageBlock, MultiImage};
use crate::ops::padding::{AxisPlan, ConvOptions, ConvPlan, Padding, PerAxis};

use super::build::PairKernel;

/// The input gradient of one [`ConvContract`] on inputs of one geometry (see the module docs):
/// [`ConvContract::adjoint_for`] makes it, [`AdjointConv::apply`] runs it.
#[derive(Debug)]
pub struct AdjointConv {
    input_geometry: Geometry,
    /// The transposed layer and, per pair of it, the layer's pair it reverses; `None` where
    /// the input gradient takes the mix-then-stencil route.
    transposed: Option<(Box<ConvContract>, Vec<usize>)>,
}

impl AdjointConv {
    /// Whether the input gradient runs as a transposed layer in the forward schedule (rather
    /// than the mix-then-stencil route).
    pub fn is_transposed(&self) -> bool {
        self.transposed.is_some()
    }

    /// The input gradient of `⟨output_grad, layer.convolve_with(x, weights)⟩`, as
    /// [`ConvContract::convolve_adjoint`] defines it; `layer` must be the layer this was made
    /// from.
    pub fn apply(
        &self,
        layer: &ConvContract,
        output_grad: &MultiImage,
        weights: &[f32],
    ) -> Result<MultiImage, Error> {
        let Some((transposed, source)) = &self.transposed else {
            return layer.convolve_adjoint_mixed(output_grad, &self.input_geometry, weights);
        };
        self.check(layer, output_grad)?;
        let reversed = reversed_weights(layer, source, weights)?;
        let reversed: Vec<&[f32]> = reversed.iter().map(Vec::as_slice).collect();
        let dx = transposed.convolve_tiled(&output_grad.as_view(), &reversed)?;
        self.in_input_order(layer, dx)
    }

    /// [`AdjointConv::apply`] and the weight gradient
    /// ([`ConvContract::weight_gradient`]`(x, output_grad)`) together, for the layer's input
    /// `x` given as the values of its blocks (input signature order, ginjax's layout; a
    /// [`MultiImage`]'s `blocks()` data, or a training framework's buffers without a copy).
    /// Where the transposed layer runs in the row-chunk schedule, the weight gradient is read
    /// off its response panels, `∂L/∂w[o, i, f] = Σ_{a,p} x[i, a, p] · (C_fᵀ ⋆ g_o)[a, p]`,
    /// so the input's responses are not computed again.
    pub fn apply_with_weight_gradient(
        &self,
        layer: &ConvContract,
        output_grad: &MultiImage,
        input: &[&[f32]],
        weights: &[f32],
    ) -> Result<(MultiImage, Vec<f32>), Error> {
        let mut data: Vec<Vec<f32>> = self
            .input_lengths(layer)
            .into_iter()
            .map(buffers::take)
            .collect();
        let mut outs: Vec<&mut [f32]> = data.iter_mut().map(Vec::as_mut_slice).collect();
        let dw =
            self.apply_with_weight_gradient_into(layer, output_grad, input, weights, &mut outs)?;
        Ok((self.input_image(layer, data)?, dw))
    }

    /// [`AdjointConv::apply_with_weight_gradient`] with the input gradient written into
    /// `grad_input` (one slice per block of the layer's input signature, of the block's
    /// length; every value overwritten) instead of a new image; returns the weight gradient.
    ///
    /// Errors: as [`AdjointConv::apply_with_weight_gradient`], and `input` or `grad_input`
    /// slices that are not the input blocks' lengths.
    pub fn apply_with_weight_gradient_into(
        &self,
        layer: &ConvContract,
        output_grad: &MultiImage,
        input: &[&[f32]],
        weights: &[f32],
        grad_input: &mut [&mut [f32]],
    ) -> Result<Vec<f32>, Error> {
        let expected = self.input_lengths(layer);
        for given in [
            input.iter().map(|b| b.len()).collect::<Vec<_>>(),
            grad_input.iter().map(|b| b.len()).collect(),
        ] {
            if given != expected {
                return Err(ConvContractError::InputBlocks {
                    expected,
                    got: given,
                }
                .into());
            }
        }
        let fused = self
            .transposed
            .as_ref()
            .filter(|(transposed, _)| sparse_chunks_apply(transposed, output_grad.dim()));
        let Some((transposed, source)) = fused else {
            let dx = self.apply(layer, output_grad, weights)?;
            for (block, out) in dx.blocks().iter().zip(grad_input.iter_mut()) {
                out.copy_from_slice(block.data());
            }
            let copies = input.iter().map(|values| {
                let mut data = buffers::take(values.len());
                data.copy_from_slice(values);
                data
            });
            let x = self.input_image(layer, copies.collect())?;
            return layer.weight_gradient(&x, output_grad);
        };
        self.check(layer, output_grad)?;
        let reversed = reversed_weights(layer, source, weights)?;
        let reversed: Vec<&[f32]> = reversed.iter().map(Vec::as_slice).collect();
        // The transposed layer's outputs are input blocks of `layer` (its target signature is
        // the layer's input signature); the blocks no pair reaches have a zero gradient.
        let mut slots: Vec<Option<&mut [f32]>> =
            grad_input.iter_mut().map(|out| Some(&mut **out)).collect();
        let mut outs: Vec<&mut [f32]> = transposed
            .outputs
            .iter()
            .map(|&b| {
                slots[b]
                    .take()
                    .expect("a layer's outputs are distinct blocks")
            })
            .collect();
        let sums = sparse_chunks_with_products(
            transposed,
            &reversed,
            &output_grad.as_view(),
            input,
            &mut outs,
        )?;
        slots.into_iter().flatten().for_each(|out| out.fill(0.0));
        // The sums of target `t` (an input block of `layer`) have a row `(o, f)` per output
        // channel and filter of every transposed pair reaching it and a column per input
        // channel `i`: the weight gradient `dw[o, i, f]` of the pair it reverses.
        let offsets = layer.pair_offsets();
        let mut dw = vec![0.0; layer.weight_len()];
        let mut rows = vec![0usize; sums.len()];
        for (reversed_pair, &p) in transposed.pairs.iter().zip(source) {
            let pair = &layer.pairs[p];
            let t = reversed_pair.target;
            let in_c = layer.config.input.entries()[pair.input].1;
            let out_c = layer.config.target.entries()[pair.target].1;
            let n_f = pair.n_f;
            for o in 0..out_c {
                for f in 0..n_f {
                    let row = rows[t] + o * n_f + f;
                    for i in 0..in_c {
                        dw[offsets[p] + (o * in_c + i) * n_f + f] = sums[t][row * in_c + i];
                    }
                }
            }
            rows[t] += out_c * n_f;
        }
        Ok(dw)
    }

    /// The image of the layer's input signature on this geometry with the values `data`, one
    /// vector per block (of [`Self::input_lengths`]).
    fn input_image(&self, layer: &ConvContract, data: Vec<Vec<f32>>) -> Result<MultiImage, Error> {
        let blocks = layer
            .config
            .input
            .entries()
            .iter()
            .zip(data)
            .map(|((key, channels), data)| {
                ImageBlock::new(self.input_geometry.clone(), key.clone(), *channels, data)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultiImage::from_blocks(
            self.input_geometry.clone(),
            blocks,
        )?)
    }

    /// The values of each block of the layer's input on this geometry.
    fn input_lengths(&self, layer: &ConvContract) -> Vec<usize> {
        let dim = self.input_geometry.dim();
        layer
            .config
            .input
            .entries()
            .iter()
            .map(|(key, c)| c * key.components(dim) * self.input_geometry.pixels())
            .collect()
    }

    /// Checks `output_grad` against `layer`'s output on this geometry.
    fn check(&self, layer: &ConvContract, output_grad: &MultiImage) -> Result<(), Error> {
        let plan = layer
            .config
            .options
            .resolve(&self.input_geometry, &layer.sides)?;
        layer.check_output_grad(&plan, output_grad)
    }

    /// The transposed layer's output in the input signature's order, zeros for the blocks no
    /// pair reads.
    fn in_input_order(&self, layer: &ConvContract, dx: MultiImage) -> Result<MultiImage, Error> {
        let mut blocks = dx.into_blocks();
        let mut output = MultiImage::new(self.input_geometry.clone());
        for (key, channels) in layer.config.input.entries() {
            let block = match blocks.iter().position(|b| b.key() == key) {
                Some(at) => blocks.swap_remove(at),
                None => ImageBlock::zeros(self.input_geometry.clone(), key.clone(), *channels),
            };
            output.insert(block)?;
        }
        Ok(output)
    }
}

/// The transposed layer's weights, one array per transposed pair (`source`: the pair of
/// `layer` it reverses): `w'[i, o, f] = w[o, i, f]`.
fn reversed_weights(
    layer: &ConvContract,
    source: &[usize],
    weights: &[f32],
) -> Result<Vec<Vec<f32>>, Error> {
    let pair_weights = layer.split_weights(weights)?;
    let inputs = layer.config.input.entries();
    let targets = layer.config.target.entries();
    Ok(source
        .iter()
        .map(|&p| {
            let pair = &layer.pairs[p];
            let (out_c, in_c, n_f) = (targets[pair.target].1, inputs[pair.input].1, pair.n_f);
            let w = pair_weights[p];
            let mut t = vec![0.0; w.len()];
            for o in 0..out_c {
                for i in 0..in_c {
                    let (src, dst) = ((o * in_c + i) * n_f, (i * out_c + o) * n_f);
                    t[dst..dst + n_f].copy_from_slice(&w[src..src + n_f]);
                }
            }
            t
        })
        .collect())
}

impl ConvContract {
    /// The input gradient of this layer on inputs of `input_geometry` (see the module docs):
    /// an error where [`ConvContract::adjoint_support`] is one.
    pub fn adjoint_for(&self, input_geometry: &Geometry) -> Result<AdjointConv, Error> {
        self.adjoint_support(input_geometry)?;
        let plan = self.config.options.resolve(input_geometry, &self.sides)?;
        Ok(AdjointConv {
            input_geometry: input_geometry.clone(),
            transposed: self.transposed_layer(&plan, input_geometry),
        })
    }

    /// The transposed layer whose forward pass on the output gradient is exactly the adjoint
    /// of `plan`, with the source pair of each of its pairs, when there is one.
    fn transposed_layer(
        &self,
        plan: &ConvPlan,
        input_geometry: &Geometry,
    ) -> Option<(Box<ConvContract>, Vec<usize>)> {
        let kernels: Vec<PairKernel> = self
            .pairs
            .iter()
            .map(|p| {
                let input = self.config.input.entries()[p.input].0.clone();
                let target = self.config.target.entries()[p.target].0.clone();
                Some(((target, input), p.kernel.transposed()?))
            })
            .collect::<Option<_>>()?;
        let adjoint = self.adjoint_plan(plan).ok()?;
        let output_geometry = plan.output_geometry();
        let options = transposed_options(plan).into_iter().find(|options| {
            options
                .resolve(&output_geometry, &self.sides)
                .is_ok_and(|p| {
                    p.source_tables() == adjoint.tables
                        && p.padded_spatial() == adjoint.geometry.padded
                        && p.output_spatial() == adjoint.geometry.out
                        && p.axes().iter().map(|a| a.stride).eq(adjoint
                            .geometry
                            .stride
                            .iter()
                            .copied())
                        && &p.output_geometry() == input_geometry
                })
        })?;
        let config = ConvContractConfig::new(self.output_signature(), self.config.input.clone())
            .bias(BiasMode::None)
            .options(options)
            .allow_missing(true);
        let layer = Self::assemble(config, self.dim, self.sides.clone(), kernels, None).ok()?;
        let source = layer
            .pairs
            .iter()
            .map(|t| {
                let (input, target) = (
                    &layer.config.input.entries()[t.input].0,
                    &layer.config.target.entries()[t.target].0,
                );
                self.pairs.iter().position(|p| {
                    &self.config.input.entries()[p.input].0 == target
                        && &self.config.target.entries()[p.target].0 == input
                })
            })
            .collect::<Option<Vec<usize>>>()?;
        (source.len() == self.pairs.len()).then(|| (Box::new(layer), source))
    }
}

/// The options a transposed layer may run with for `plan`: stride and lhs dilation exchanged,
/// with `plan`'s own padding (torus axes) or the complementary zero padding `(D − lo, ·)` of
/// each axis (`D` the filter's window). The caller keeps the one whose plan is the adjoint's.
fn transposed_options(plan: &ConvPlan) -> Vec<ConvOptions> {
    let axes = plan.axes();
    let per_axis = |f: fn(&AxisPlan) -> usize| PerAxis::Each(axes.iter().map(f).collect());
    let swapped = |padding: Padding| ConvOptions {
        padding,
        stride: per_axis(|a| a.lhs_dilation),
        lhs_dilation: per_axis(|a| a.stride),
        rhs_dilation: per_axis(|a| a.rhs_dilation),
    };
    let mut options = vec![swapped(Padding::Torus)];
    let complementary: Option<Vec<(usize, usize)>> = axes
        .iter()
        .map(|a| {
            let window = (a.filter_len - 1) * a.rhs_dilation;
            // The adjoint reads `(N − 1)·l + 1 + D` positions; `D − lo` zeros come first.
            let lo = window.checked_sub(a.zero_lo)?;
            let read = (a.output_len - 1) * a.stride + 1;
            let hi = ((a.input_len - 1) * a.lhs_dilation + 1 + window).checked_sub(lo + read)?;
            Some((lo, hi))
        })
        .collect();
    options.extend(complementary.map(|pairs| swapped(Padding::Explicit(pairs))));
    options
}

#[cfg(test)]
mod tests {
    use ginrs_generator::BankOptions;

    use super::*;
    use crate::ops::bank::DenseBank;
    use crate::test_support::{noise, random_image, sig};

    /// Both routes of the input gradient agree, and the transposed one serves torus and
    /// zero-padded layers alike.
    #[test]
    fn transposed_layer_matches_the_mixed_adjoint() {
        /// (spatial, torus, options, whether the transposed route applies)
        type Case = (Vec<usize>, Vec<bool>, ConvOptions, bool);
        let cases: Vec<Case> = vec![
            (vec![6, 5], vec![true, true], ConvOptions::default(), true),
            (
                vec![7, 9],
                vec![true, true],
                ConvOptions::default().rhs_dilation(vec![2, 1]),
                true,
            ),
            (
                vec![7, 6],
                vec![false, false],
                ConvOptions::with_padding(Padding::Same).stride(vec![2, 3]),
                true,
            ),
            (
                vec![5, 6],
                vec![false, true],
                ConvOptions::with_padding(Padding::Explicit(vec![(1, 0), (2, 1)])).lhs_dilation(2),
                true,
            ),
            (
                vec![5, 6],
                vec![true, true],
                ConvOptions::with_padding(Padding::Uniform(3)),
                false,
            ),
        ];
        let input = sig(&[(0, 0, 2), (1, 0, 3), (0, 1, 1)]);
        let target = sig(&[(1, 0, 2), (0, 0, 3), (2, 0, 1)]);
        let bank = DenseBank::invariant(2, 3, &[0, 1, 2, 3], &BankOptions::default()).unwrap();
        for (spatial, torus, options, transposes) in cases {
            let config = ConvContractConfig::new(input.clone(), target.clone())
                .options(options.clone())
                .allow_missing(true);
            let layer = ConvContract::from_bank(config, &bank, 5).unwrap();
            let geometry = Geometry::new(spatial, torus).unwrap();
            let adjoint = layer.adjoint_for(&geometry).unwrap();
            assert_eq!(adjoint.is_transposed(), transposes, "{options:?}");
            let x = random_image(&geometry, &input, 1);
            let w = noise(layer.weight_len(), 2);
            let y = layer.convolve_with(&x, &w).unwrap();
            let g = random_image(y.geometry(), &layer.output_signature(), 3);
            let got = adjoint.apply(&layer, &g, &w).unwrap();
            let mixed = layer.convolve_adjoint_mixed(&g, &geometry, &w).unwrap();
            let blocks: Vec<&[f32]> = x.blocks().iter().map(ImageBlock::data).collect();
            let (both, dw) = adjoint
                .apply_with_weight_gradient(&layer, &g, &blocks, &w)
                .unwrap();
            assert_eq!(both, got);
            assert!(matches!(
                adjoint.apply_with_weight_gradient(&layer, &g, &blocks[1..], &w),
                Err(Error::ConvContract(ConvContractError::InputBlocks { .. }))
            ));
            // Into given slices, every value overwritten (the blocks no pair reaches with
            // zeros); a slice of another length is refused.
            let mut dx: Vec<Vec<f32>> = both
                .blocks()
                .iter()
                .map(|b| vec![f32::NAN; b.data().len()])
                .collect();
            let mut outs: Vec<&mut [f32]> = dx.iter_mut().map(Vec::as_mut_slice).collect();
            let dw_into = adjoint
                .apply_with_weight_gradient_into(&layer, &g, &blocks, &w, &mut outs)
                .unwrap();
            // Tiles add their sums in the order they finish: equal up to rounding.
            let dw_scale = dw.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(dw_into
                .iter()
                .zip(&dw)
                .all(|(u, v)| (u - v).abs() <= 1e-6 * dw_scale));
            let dx_scale = both
                .blocks()
                .iter()
                .flat_map(|b| b.data())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(dx.iter().zip(both.blocks()).all(|(d, b)| d
                .iter()
                .zip(b.data())
                .all(|(u, v)| (u - v).abs() <= 1e-6 * dx_scale)));
            let mut short: Vec<&mut [f32]> = dx.iter_mut().map(|d| &mut d[1..]).collect();
            assert!(matches!(
                adjoint.apply_with_weight_gradient_into(&layer, &g, &blocks, &w, &mut short),
                Err(Error::ConvContract(ConvContractError::InputBlocks { .. }))
            ));
            let expected = layer.weight_gradient(&x, &g).unwrap();
            let dw_scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(dw_scale > 0.1);
            for (u, v) in dw.iter().zip(&expected) {
                assert!(
                    (u - v).abs() <= 1e-5 * dw_scale,
                    "{options:?}: dw {u} vs {v}"
                );
            }
            assert_eq!(got.signature(), mixed.signature());
            let scale = mixed
                .blocks()
                .iter()
                .flat_map(|b| b.data())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(scale > 0.1);
            for (a, b) in got.blocks().iter().zip(mixed.blocks()) {
                for (u, v) in a.data().iter().zip(b.data()) {
                    assert!((u - v).abs() <= 1e-5 * scale, "{options:?}: {u} vs {v}");
                }
            }
        }
    }
}
