//! Convolutions in which every output pixel meets at most one filter tap that is not an
//! inserted zero, computed as one dense product per filter pixel.
//!
//! ginjax's UNet upsamples with lhs dilation 2, side-2 filters and padding `(1, 1)` per axis
//! (`ginjax/models.py`, `UNet`): the dilated input has a zero between every two pixels, so of
//! the two taps along an axis exactly one lands on a real pixel. Output pixel `y` then reads a
//! single input pixel `src(y)` through a single filter pixel `m(y)`, and the layer is
//!
//! ```text
//! out[y] = E_{m(y)} · x[src(y)],   E_m[(t, o, j), (b, i, a)] = Σ_f w[o, i, f] · C_f[m, a, j]
//! ```
//!
//! over every pair `(input block b, target t)`: one dense matrix per filter pixel, from the
//! output channels' components to the input channels' components. Output pixels are grouped
//! by `m`; each group is one GEMM of `E_m` with its source pixels' values. The general
//! schedules would pad the dilated input (mostly zeros) and run every tap's stencil over it,
//! three quarters of them on zeros in d = 2.
//!
//! The products are summed in another order than the stencil-then-mix schedules (the filter
//! coefficients are folded into the weights first), so results agree with them to rounding.

use rayon::prelude::*;

use super::ConvContract;
use crate::error::Error;
use crate::image::{buffers, ImageView};
use crate::kernels::gemm::gemm;
use crate::kernels::transpose::deinterleave;
use crate::ops::padding::ConvPlan;

/// The output pixels that read through one filter pixel.
struct TapClass {
    /// Filter pixel `m`, row-major over the filter's sides.
    tap: usize,
    /// Output pixels, row-major, ascending.
    outputs: Vec<usize>,
    /// The input pixel each output reads.
    sources: Vec<usize>,
}

/// Output pixels grouped by the one filter pixel they read through, for a plan in which no
/// output pixel meets more than one non-zero tap; `None` for any other plan.
fn tap_classes(plan: &ConvPlan) -> Option<Vec<TapClass>> {
    let axes = plan.axes();
    // Per axis and filter position along it: the output coordinates that read through it,
    // with the input coordinate they read (ascending).
    let mut per_axis: Vec<Vec<Vec<(usize, usize)>>> = Vec::with_capacity(axes.len());
    for axis in axes {
        let mut by_tap = vec![Vec::new(); axis.filter_len];
        for y in 0..axis.output_len {
            let mut real = (0..axis.filter_len).filter_map(|m| {
                axis.source(y * axis.stride + m * axis.rhs_dilation)
                    .map(|s| (m, s))
            });
            if let Some((m, s)) = real.next() {
                if real.next().is_some() {
                    return None;
                }
                by_tap[m].push((y, s));
            }
        }
        per_axis.push(by_tap);
    }
    // A filter pixel's outputs are the product of its positions' coordinate lists, row-major
    // (axis 0 outermost), so they come out ascending.
    let mut classes = Vec::new();
    for tap in 0..plan.filter_pixels() {
        let mut rest = tap;
        let mut lists = vec![&per_axis[0][0]; axes.len()];
        for a in (0..axes.len()).rev() {
            lists[a] = &per_axis[a][rest % axes[a].filter_len];
            rest /= axes[a].filter_len;
        }
        let count: usize = lists.iter().map(|l| l.len()).product();
        if count == 0 {
            continue;
        }
        let mut class = TapClass {
            tap,
            outputs: vec![0; count],
            sources: vec![0; count],
        };
        let mut len = 1;
        for (a, list) in lists.iter().enumerate() {
            // Extend every (output, source) prefix by this axis' coordinates, in place from
            // the back so that earlier prefixes are read before they are overwritten.
            for i in (0..len).rev() {
                let (y0, s0) = (class.outputs[i], class.sources[i]);
                for (j, &(y, s)) in list.iter().enumerate() {
                    class.outputs[i * list.len() + j] = y0 * axes[a].output_len + y;
                    class.sources[i * list.len() + j] = s0 * axes[a].input_len + s;
                }
            }
            len *= list.len();
        }
        classes.push(class);
    }
    Some(classes)
}

impl ConvContract {
    /// The layer's convolution through one dense product per filter pixel (see the module
    /// docs) with `weights` (one `(out_c, in_c, n_f)` array per pair) into `outs` (one slice
    /// per output block, in the layer's output order); `None` when it does not apply: a
    /// kernel without sparse taps, an input the layer rejects (the general schedule reports
    /// why), or a plan in which some output pixel meets two non-zero taps.
    pub(super) fn forward_single_tap(
        &self,
        weights: &[&[f32]],
        input: &ImageView<'_>,
        outs: &mut [&mut [f32]],
    ) -> Option<Result<(), Error>> {
        if input.dim() != self.dim
            || input.signature() != self.config.input
            || self.pairs.iter().any(|p| p.kernel.as_sparse().is_none())
        {
            return None;
        }
        let plan = self
            .config
            .options
            .resolve(input.geometry(), &self.sides)
            .ok()?;
        let classes = tap_classes(&plan)?;
        Some(
            self.check_outs(plan.output_pixels(), outs)
                .map(|()| self.single_tap(&plan, &classes, weights, input, outs)),
        )
    }

    fn single_tap(
        &self,
        plan: &ConvPlan,
        classes: &[TapClass],
        weights: &[&[f32]],
        input: &ImageView<'_>,
        outs: &mut [&mut [f32]],
    ) {
        let dim = self.dim;
        let inputs = self.config.input.entries();
        let targets = self.config.target.entries();
        let in_pixels = input.geometry().pixels();
        let out_pixels = plan.output_pixels();
        // Rows: every target's (channel, component); columns: every read input block's.
        let mut row_start = Vec::with_capacity(targets.len() + 1);
        row_start.push(0);
        for (key, c) in targets {
            row_start.push(row_start.last().expect("non-empty") + c * key.components(dim));
        }
        let mut col_start = Vec::with_capacity(inputs.len() + 1);
        col_start.push(0);
        for (b, (key, c)) in inputs.iter().enumerate() {
            let cols = if self.reads_input(b) {
                c * key.components(dim)
            } else {
                0
            };
            col_start.push(col_start.last().expect("non-empty") + cols);
        }
        let (rows, cols) = (row_start[targets.len()], col_start[inputs.len()]);
        // x as a (cols × in_pixels) matrix: one plane per input channel component.
        let mut x = buffers::take(cols * in_pixels);
        for (b, block) in input.blocks().iter().enumerate() {
            if !self.reads_input(b) {
                continue;
            }
            let comps = block.components();
            let planes = &mut x[col_start[b] * in_pixels..col_start[b + 1] * in_pixels];
            for (channel, dst) in block
                .data()
                .chunks_exact(in_pixels * comps)
                .zip(planes.chunks_exact_mut(in_pixels * comps))
            {
                if comps == 1 {
                    dst.copy_from_slice(channel);
                } else {
                    deinterleave(channel, comps, dst, in_pixels);
                }
            }
        }
        // One product per class: E_m (rows × cols) times the class's source columns.
        let products: Vec<Vec<f32>> = classes
            .par_iter()
            .map(|class| {
                let e = self.tap_matrix(class.tap, weights, &row_start, &col_start, cols);
                let n = class.outputs.len();
                let identity =
                    n == in_pixels && class.sources.iter().enumerate().all(|(q, &s)| q == s);
                let gathered = (!identity).then(|| {
                    let mut g = buffers::take(cols * n);
                    for (dst, plane) in g.chunks_exact_mut(n).zip(x.chunks_exact(in_pixels)) {
                        for (d, &s) in dst.iter_mut().zip(&class.sources) {
                            *d = plane[s];
                        }
                    }
                    g
                });
                let mut y = buffers::take(rows * n);
                let b = gathered.as_deref().unwrap_or(&x);
                gemm(rows, cols, n, &e, &b[..cols * n], 0.0, &mut y);
                if let Some(g) = gathered {
                    buffers::keep(g);
                }
                y
            })
            .collect();
        buffers::keep(x);
        let covered: usize = classes.iter().map(|c| c.outputs.len()).sum();
        for (&t, data) in self.outputs.iter().zip(outs.iter_mut()) {
            let comps = targets[t].0.components(dim);
            if covered < out_pixels {
                data.fill(0.0);
            }
            for (class, y) in classes.iter().zip(&products) {
                let n = class.outputs.len();
                for (r, values) in y[row_start[t] * n..row_start[t + 1] * n]
                    .chunks_exact(n)
                    .enumerate()
                {
                    let (o, j) = (r / comps, r % comps);
                    let channel = &mut data[o * out_pixels * comps..(o + 1) * out_pixels * comps];
                    for (&q, &v) in class.outputs.iter().zip(values) {
                        channel[q * comps + j] = v;
                    }
                }
            }
        }
        for y in products {
            buffers::keep(y);
        }
    }

    /// `E_m` (see the module docs), row-major `rows × cols`, for filter pixel `tap`.
    fn tap_matrix(
        &self,
        tap: usize,
        weights: &[&[f32]],
        row_start: &[usize],
        col_start: &[usize],
        cols: usize,
    ) -> Vec<f32> {
        let inputs = self.config.input.entries();
        let targets = self.config.target.entries();
        let rows = row_start[targets.len()];
        let mut e = vec![0f32; rows * cols];
        for (pair, w) in self.pairs.iter().zip(weights) {
            let kernel = pair
                .kernel
                .as_sparse()
                .expect("checked by forward_single_tap");
            let (in_c, out_c) = (inputs[pair.input].1, targets[pair.target].1);
            let (comps_in, comps_out) = (kernel.comps_in(), kernel.comps_out());
            for (g, group) in kernel.groups().enumerate() {
                let (f, j) = (g / comps_out, g % comps_out);
                for t in group.iter().filter(|t| t.pixel == tap) {
                    for o in 0..out_c {
                        let row = &mut e[(row_start[pair.target] + o * comps_out + j) * cols..];
                        for i in 0..in_c {
                            row[col_start[pair.input] + i * comps_in + t.comp_in] +=
                                w[(o * in_c + i) * pair.n_f + f] * t.coeff;
                        }
                    }
                }
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, Signature, TensorKey};
    use crate::ops::padding::{ConvOptions, Padding};
    use crate::test_support::random_image;
    use crate::{BiasMode, ConvContractConfig, DenseBank, Layer};
    use ginrs_generator::BankOptions;

    fn upsampling(dim: usize) -> ConvOptions {
        dilated(dim, (1, 1))
    }

    /// lhs dilation 2 and explicit `padding` on every axis.
    fn dilated(dim: usize, padding: (usize, usize)) -> ConvOptions {
        ConvOptions::with_padding(Padding::Explicit(vec![padding; dim])).lhs_dilation(2)
    }

    #[test]
    fn upsampling_reads_one_tap_per_output_pixel() {
        let geometry = Geometry::new(vec![3, 4], vec![true, true]).unwrap();
        let plan = upsampling(2).resolve(&geometry, &[2, 2]).unwrap();
        let classes = tap_classes(&plan).expect("one tap per output pixel");
        assert_eq!(plan.output_spatial(), vec![6, 8]);
        // Output (2i + a, 2j + b) reads input (i, j) through filter pixel (1 − a, 1 − b).
        assert_eq!(classes.len(), 4);
        for class in &classes {
            assert_eq!(class.outputs.len(), 12);
            for (&y, &s) in class.outputs.iter().zip(&class.sources) {
                let (yi, yj) = (y / 8, y % 8);
                assert_eq!(s, (yi / 2) * 4 + yj / 2);
                assert_eq!(class.tap, (1 - yi % 2) * 2 + (1 - yj % 2));
            }
        }
        // A same-size 3 × 3 convolution meets up to nine taps.
        let plan = ConvOptions::default().resolve(&geometry, &[3, 3]).unwrap();
        assert!(tap_classes(&plan).is_none());
    }

    /// The layer's output on the single-tap path equals the general tile schedule's.
    #[test]
    fn single_tap_path_matches_the_tile_schedule() {
        // Padding (2, 1): the first output pixel of every axis meets only zeros.
        for (dim, side, torus, padding) in [
            (2, 5, true, (1, 1)),
            (2, 4, false, (1, 1)),
            (3, 3, true, (1, 1)),
            (2, 4, true, (2, 1)),
        ] {
            let bank = DenseBank::invariant(dim, 2, &[0, 1, 2], &BankOptions::default()).unwrap();
            let keys = |c| {
                Signature::new(vec![
                    (TensorKey::scalar(), c),
                    (TensorKey::vector(), c),
                    (TensorKey::new(1, 1), 1),
                ])
                .unwrap()
            };
            for mode in [BiasMode::Auto, BiasMode::None] {
                let config = ConvContractConfig::new(keys(3), keys(2))
                    .bias(mode)
                    .options(dilated(dim, padding))
                    .allow_missing(true);
                let layer = ConvContract::from_bank(config, &bank, 7).unwrap();
                let geometry = Geometry::new(vec![side; dim], vec![torus; dim]).unwrap();
                let x = random_image(&geometry, &keys(3), 3);
                let view = x.as_view();
                let weights = layer.own_weights();
                let bias = mode != BiasMode::None;
                let fast = layer
                    .output_image(&view, bias, None, |outs| {
                        layer
                            .forward_single_tap(&weights, &view, outs)
                            .expect("upsampling has one tap per output pixel")
                    })
                    .unwrap();
                let general = layer
                    .output_image(&view, bias, None, |outs| {
                        layer.forward_tiled(&view, outs, 64, |g, t, b, o, s| {
                            layer.tile(g, t, b, &weights, o, s)
                        })
                    })
                    .unwrap();
                assert_eq!(fast.signature(), general.signature());
                for (a, b) in fast.blocks().iter().zip(general.blocks()) {
                    for (u, v) in a.data().iter().zip(b.data()) {
                        assert!((u - v).abs() <= 1e-5 * (1.0 + v.abs()), "{u} vs {v}");
                    }
                }
                assert_eq!(layer.forward(&x).unwrap(), fast);
            }
        }
    }
}
