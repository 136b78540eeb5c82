//! Response kernels: the stencil half of a basis-first convolution.
//!
//! A `ConvContract` block pair from `(k_in, p_in)` to `(k_out, p_out)` uses `n_f` invariant
//! filters `C_f` of order `k_in + k_out`. Instead of summing the filters with the weights and
//! convolving with the dense result (ginjax's route), the layer first computes the *response*
//! of every input channel to every invariant filter — a [`ResponseKernel`] — and then mixes the
//! channels with one GEMM. Filters are sparse (orbit sums with few distinct non-zero taps), so
//! the responses are cheap.
//!
//! [`SparseKernel`] is the dynamic implementation built from a dense bank's non-zero taps; the
//! code generator emits fully unrolled implementations of the same trait.

use ginrs_generator::group::MAX_DIM;
use thiserror::Error;

use super::cpu::{level, SimdLevel};
use super::layout::{row_major_strides, tap_offsets};

/// Spatial geometry of one response computation, fixed for a layer call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StencilGeometry {
    /// Padded (and lhs-dilated) input sides, one per spatial axis.
    pub padded: Vec<usize>,
    /// Output sides.
    pub out: Vec<usize>,
    /// Stride per axis.
    pub stride: Vec<usize>,
    /// Filter dilation (rhs_dilation) per axis.
    pub rhs_dilation: Vec<usize>,
}

impl StencilGeometry {
    /// Number of padded input pixels.
    pub fn padded_pixels(&self) -> usize {
        self.padded.iter().product()
    }

    /// Number of output pixels.
    pub fn out_pixels(&self) -> usize {
        self.out.iter().product()
    }

    /// Row-major strides of the padded input, in pixels.
    pub fn padded_strides(&self) -> Vec<usize> {
        row_major_strides(&self.padded)
    }
}

/// Computes, for one input channel of one block pair, its response to every invariant filter.
pub trait ResponseKernel: Send + Sync {
    /// Number of invariant filters n_f of the block pair.
    fn filter_count(&self) -> usize;

    /// `input`: one padded input channel, component-major: `input[a * padded_pixels + p]`, `a`
    /// over the d^k_in input tensor components (row-major over tensor indices), `p` row-major
    /// over the padded pixels.
    /// `out`: `n_f × d^k_out × out_pixels`, component-major:
    /// `out[(f * d^k_out + j) * out_pixels + q]`; overwritten (not accumulated).
    /// Semantics: `out[f, j, q] = Σ_{m over filter pixels} Σ_a input[a, q·stride + m·rhs_dilation]
    /// · C_f[m, a, j]` where `C_f` is filter f of order k_in + k_out (first k_in indices contract
    /// with the image, as ginjax's convolve_contract) and positions are per-axis
    /// (cross-correlation, filter not flipped).
    fn responses(&self, geometry: &StencilGeometry, input: &[f32], out: &mut [f32]);

    /// Flops (adds, subtracts and multiplies) per output pixel and input channel of
    /// [`ResponseKernel::responses`], when known.
    fn stencil_flops(&self) -> Option<usize> {
        None
    }

    /// The kernel of the adjoint stencil, when this kernel can build it (the input gradient of
    /// a basis-first convolution): one filter whose input has the `n_f · d^k_out` components
    /// `(f, j)` (row-major) and whose output has the `d^k_in` components `a`, every filter
    /// flipped in space:
    /// `out[0, a, q] = Σ_m Σ_{f,j} input[(f, j), q·stride + m·rhs_dilation] · C_f[M − 1 − m, a, j]`
    /// (`M − 1 − m` per axis).
    fn adjoint(&self) -> Option<Box<dyn ResponseKernel>> {
        None
    }

    /// The kernel of the transposed pair, when this kernel can build it: `n_f` filters whose
    /// input has the `d^k_out` components `j` and whose output has the `d^k_in` components
    /// `a`, every filter flipped in space and its tensor indices swapped:
    /// `out[f, a, q] = Σ_m Σ_j input[j, q·stride + m·rhs_dilation] · C_f[M − 1 − m, a, j]`.
    /// Its responses, mixed with the transposed weights, are the adjoint of this kernel's
    /// convolution (the input gradient), computed in the forward pass's schedule.
    fn transposed(&self) -> Option<Box<dyn ResponseKernel>> {
        None
    }

    /// The kernel as a [`SparseKernel`] (a table of taps), when it is one: the dynamic
    /// `ConvContract` then runs its taps in its row-chunk schedule.
    fn as_sparse(&self) -> Option<&SparseKernel> {
        None
    }
}

/// Errors from building a [`SparseKernel`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KernelError {
    /// The filter values do not have the length the shape needs.
    #[error(
        "filter bank block: expected {expected} values (n_f · filter pixels · d^(k_in+k_out)), \
         got {got}"
    )]
    DataLength {
        /// Length the shape needs.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The filter sides do not give one side per spatial axis, or a side is 0.
    #[error("filter sides {sides:?} do not give one positive side per axis of a {dim}-d filter")]
    Sides {
        /// The spatial dimension.
        dim: usize,
        /// The sides given.
        sides: Vec<usize>,
    },
}

thread_local! {
    /// Per-thread buffer of [`SparseKernel`]'s unit-stride path (one filter component over
    /// the padded span of the output).
    static WIDE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One non-zero filter entry: where it reads (filter pixel, input component) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tap {
    /// Filter pixel, row-major over the filter's sides.
    pub(crate) pixel: usize,
    /// Input tensor component `a` (row-major over the k_in indices).
    pub(crate) comp_in: usize,
    /// The filter value.
    pub(crate) coeff: f32,
}

/// A [`ResponseKernel`] built from dense invariant filters, keeping only their non-zero taps.
///
/// The response of output component `j` of filter `f` is accumulated line by line (a line runs
/// along the last spatial axis): every tap adds `coeff · input line` into the output line, a
/// contiguous axpy when the last axis has stride 1 (compiled for AVX2+FMA when the CPU has it).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseKernel {
    dim: usize,
    /// Filter side per axis.
    sides: Vec<usize>,
    n_filters: usize,
    comps_out: usize,
    comps_in: usize,
    /// All taps, grouped by `(f, j)` in row-major order.
    taps: Vec<Tap>,
    /// `taps[starts[g]..starts[g + 1]]` are the taps of group `g = f * comps_out + j`.
    starts: Vec<usize>,
}

impl SparseKernel {
    /// Builds the kernel from `n_filters` dense filters of order `k_in + k_out` in `dim`
    /// dimensions with spatial sides `sides`: `filters` is row-major
    /// `(n_filters, sides…, (dim,)*(k_in + k_out))`, the first `k_in` tensor indices being the
    /// ones contracted with the image.
    pub fn new(
        dim: usize,
        sides: &[usize],
        k_in: usize,
        k_out: usize,
        n_filters: usize,
        filters: &[f32],
    ) -> Result<Self, KernelError> {
        if sides.len() != dim || dim == 0 || dim > MAX_DIM || sides.contains(&0) {
            return Err(KernelError::Sides {
                dim,
                sides: sides.to_vec(),
            });
        }
        let comps_in = dim.pow(k_in as u32);
        let comps_out = dim.pow(k_out as u32);
        let pixels: usize = sides.iter().product();
        let per_filter = pixels * comps_in * comps_out;
        if filters.len() != n_filters * per_filter {
            return Err(KernelError::DataLength {
                expected: n_filters * per_filter,
                got: filters.len(),
            });
        }
        let mut taps = Vec::new();
        let mut starts = vec![0];
        for f in 0..n_filters {
            for j in 0..comps_out {
                for m in 0..pixels {
                    for a in 0..comps_in {
                        let coeff = filters[f * per_filter + (m * comps_in + a) * comps_out + j];
                        if coeff != 0.0 {
                            taps.push(Tap {
                                pixel: m,
                                comp_in: a,
                                coeff,
                            });
                        }
                    }
                }
                starts.push(taps.len());
            }
        }
        Ok(Self {
            dim,
            sides: sides.to_vec(),
            n_filters,
            comps_out,
            comps_in,
            taps,
            starts,
        })
    }

    /// The taps of every response `g = f · d^k_out + j` (row-major over `(f, j)`), each
    /// group in the order the kernel sums it.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &[Tap]> + '_ {
        self.starts.windows(2).map(|s| &self.taps[s[0]..s[1]])
    }

    /// Number of input tensor components d^k_in.
    pub fn comps_in(&self) -> usize {
        self.comps_in
    }

    /// Number of output tensor components d^k_out.
    pub fn comps_out(&self) -> usize {
        self.comps_out
    }

    /// The stencil; `wide` is scratch for the unit-stride path. It takes no closure, so that
    /// when inlined into [`Self::run_avx2`] or [`Self::run_avx512`] every loop is compiled
    /// with those instructions.
    #[inline(always)]
    fn run<const FMA: bool>(
        &self,
        geometry: &StencilGeometry,
        offsets: &[(usize, f32)],
        input: &[f32],
        out: &mut [f32],
        wide: &mut Vec<f32>,
    ) {
        let dim = self.dim;
        let op = geometry.out_pixels();
        let pstrides = geometry.padded_strides();
        let last = dim - 1;
        let line_len = geometry.out[last];
        let s_last = geometry.stride[last];
        let n_lines = op / line_len;
        if geometry.stride.iter().all(|&s| s == 1) && n_lines > 1 {
            // Unit strides: output pixel y reads padded pixel y + m·dilation, so every tap is
            // one long axpy over the padded index range the output spans (in padded row
            // pitch, a few columns wider than the output), compacted to output rows after.
            let span: usize = (0..dim)
                .map(|ax| (geometry.out[ax] - 1) * pstrides[ax])
                .sum::<usize>()
                + 1;
            if wide.len() < span {
                wide.resize(span, 0.0);
            }
            let wide = &mut wide[..span];
            for g in 0..self.starts.len() - 1 {
                let taps = &offsets[self.starts[g]..self.starts[g + 1]];
                let dst = &mut out[g * op..(g + 1) * op];
                let Some((&(off, c), rest)) = taps.split_first() else {
                    dst.fill(0.0);
                    continue;
                };
                for (o, &x) in wide.iter_mut().zip(&input[off..off + span]) {
                    *o = c * x;
                }
                for &(off, c) in rest {
                    for (o, &x) in wide.iter_mut().zip(&input[off..off + span]) {
                        *o = if FMA { c.mul_add(x, *o) } else { *o + c * x };
                    }
                }
                let mut idx = [0usize; MAX_DIM];
                for row in dst.chunks_exact_mut(line_len) {
                    let base: usize = (0..last).map(|ax| idx[ax] * pstrides[ax]).sum();
                    row.copy_from_slice(&wide[base..base + line_len]);
                    next_line(&mut idx[..last], &geometry.out);
                }
            }
            return;
        }
        let mut idx = [0usize; MAX_DIM];
        for line in 0..n_lines {
            // Input position of the line's first output pixel.
            let base: usize = (0..last)
                .map(|ax| idx[ax] * geometry.stride[ax] * pstrides[ax])
                .sum();
            for g in 0..self.starts.len() - 1 {
                let taps = &offsets[self.starts[g]..self.starts[g + 1]];
                let dst = &mut out[g * op + line * line_len..g * op + (line + 1) * line_len];
                if s_last == 1 {
                    let Some((&(off, c), rest)) = taps.split_first() else {
                        dst.fill(0.0);
                        continue;
                    };
                    let src = &input[base + off..base + off + line_len];
                    for (o, &x) in dst.iter_mut().zip(src) {
                        *o = c * x;
                    }
                    for &(off, c) in rest {
                        let src = &input[base + off..base + off + line_len];
                        for (o, &x) in dst.iter_mut().zip(src) {
                            *o = if FMA { c.mul_add(x, *o) } else { *o + c * x };
                        }
                    }
                } else {
                    dst.fill(0.0);
                    for &(off, c) in taps {
                        let start = base + off;
                        for (q, o) in dst.iter_mut().enumerate() {
                            *o += c * input[start + q * s_last];
                        }
                    }
                }
            }
            next_line(&mut idx[..last], &geometry.out);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    unsafe fn run_avx2(
        &self,
        geometry: &StencilGeometry,
        offsets: &[(usize, f32)],
        input: &[f32],
        out: &mut [f32],
        wide: &mut Vec<f32>,
    ) {
        self.run::<true>(geometry, offsets, input, out, wide)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    unsafe fn run_avx512(
        &self,
        geometry: &StencilGeometry,
        offsets: &[(usize, f32)],
        input: &[f32],
        out: &mut [f32],
        wide: &mut Vec<f32>,
    ) {
        self.run::<true>(geometry, offsets, input, out, wide)
    }
}

/// Advances the multi-index `idx` over the leading output axes (an odometer over `out`'s sides).
#[inline(always)]
fn next_line(idx: &mut [usize], out: &[usize]) {
    for ax in (0..idx.len()).rev() {
        idx[ax] += 1;
        if idx[ax] < out[ax] {
            return;
        }
        idx[ax] = 0;
    }
}

impl SparseKernel {
    /// The kernel of `n_filters × comps_out` groups with `comps_in` input components whose
    /// taps are this kernel's flipped in space (flipping every axis of a row-major filter
    /// reverses its flat pixel index) and moved: filter `f`'s tap `(m, a) → j` becomes tap
    /// `(M − 1 − m, c) → g` for `(g, c) = place(f, j, a)`.
    fn flipped(
        &self,
        [n_filters, comps_out, comps_in]: [usize; 3],
        place: impl Fn(usize, usize, usize) -> (usize, usize),
    ) -> Self {
        let last_pixel = self.sides.iter().product::<usize>() - 1;
        let mut groups: Vec<Vec<Tap>> = vec![Vec::new(); n_filters * comps_out];
        for g in 0..self.starts.len() - 1 {
            let (f, j) = (g / self.comps_out, g % self.comps_out);
            for tap in &self.taps[self.starts[g]..self.starts[g + 1]] {
                let (group, comp_in) = place(f, j, tap.comp_in);
                groups[group].push(Tap {
                    pixel: last_pixel - tap.pixel,
                    comp_in,
                    coeff: tap.coeff,
                });
            }
        }
        let mut taps = Vec::with_capacity(self.taps.len());
        let mut starts = vec![0];
        for mut group in groups {
            group.sort_by_key(|t| (t.pixel, t.comp_in));
            taps.extend(group);
            starts.push(taps.len());
        }
        Self {
            dim: self.dim,
            sides: self.sides.clone(),
            n_filters,
            comps_out,
            comps_in,
            taps,
            starts,
        }
    }
}

impl ResponseKernel for SparseKernel {
    fn filter_count(&self) -> usize {
        self.n_filters
    }

    /// One multiply-add (2 flops) per non-zero tap, summed over every filter and output
    /// component.
    fn stencil_flops(&self) -> Option<usize> {
        Some(2 * self.taps.len())
    }

    /// Transposes every tap: filter `f`'s tap `(m, a) → j` becomes the adjoint's tap
    /// `(M − 1 − m, (f, j)) → a`.
    fn adjoint(&self) -> Option<Box<dyn ResponseKernel>> {
        let comps_out = self.comps_out;
        Some(Box::new(self.flipped(
            [1, self.comps_in, self.n_filters * comps_out],
            |f, j, a| (a, f * comps_out + j),
        )))
    }

    /// Transposes every tap: filter `f`'s tap `(m, a) → j` becomes its tap
    /// `(M − 1 − m, j) → a`.
    fn transposed(&self) -> Option<Box<dyn ResponseKernel>> {
        let comps_in = self.comps_in;
        Some(Box::new(self.flipped(
            [self.n_filters, comps_in, self.comps_out],
            |f, j, a| (f * comps_in + a, j),
        )))
    }

    fn as_sparse(&self) -> Option<&SparseKernel> {
        Some(self)
    }

    fn responses(&self, geometry: &StencilGeometry, input: &[f32], out: &mut [f32]) {
        let dim = self.dim;
        assert!(
            geometry.padded.len() == dim && geometry.out.len() == dim,
            "stencil geometry has the layer's dimension"
        );
        let pp = geometry.padded_pixels();
        assert!(
            input.len() >= self.comps_in * pp,
            "input holds every component"
        );
        assert!(
            out.len() >= self.n_filters * self.comps_out * geometry.out_pixels(),
            "output holds n_f · d^k_out · out_pixels values"
        );
        // Offset of every tap relative to the input position of an output pixel.
        let pixel_offsets = tap_offsets(&geometry.padded, &geometry.rhs_dilation, &self.sides);
        let offsets: Vec<(usize, f32)> = self
            .taps
            .iter()
            .map(|t| (pixel_offsets[t.pixel] + t.comp_in * pp, t.coeff))
            .collect();
        WIDE.with(|wide| {
            let wide = &mut wide.borrow_mut();
            #[cfg(target_arch = "x86_64")]
            match level() {
                SimdLevel::Avx512 => {
                    // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (`level()` never
                    // exceeds what it detects).
                    return unsafe { self.run_avx512(geometry, &offsets, input, out, wide) };
                }
                SimdLevel::Avx2 => {
                    // SAFETY: the CPU supports AVX2 and FMA (as above).
                    return unsafe { self.run_avx2(geometry, &offsets, input, out, wide) };
                }
                SimdLevel::Portable => {}
            }
            self.run::<false>(geometry, &offsets, input, out, wide);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct evaluation of the documented formula.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        dim: usize,
        sides: &[usize],
        k_in: usize,
        k_out: usize,
        n_f: usize,
        filters: &[f32],
        g: &StencilGeometry,
        input: &[f32],
    ) -> Vec<f32> {
        let ci = dim.pow(k_in as u32);
        let co = dim.pow(k_out as u32);
        let fp: usize = sides.iter().product();
        let pp = g.padded_pixels();
        let op = g.out_pixels();
        let ps = g.padded_strides();
        let mut out = vec![0.0f32; n_f * co * op];
        for f in 0..n_f {
            for j in 0..co {
                for q in 0..op {
                    let mut y = vec![0; dim];
                    let mut r = q;
                    for ax in (0..dim).rev() {
                        y[ax] = r % g.out[ax];
                        r /= g.out[ax];
                    }
                    let mut acc = 0.0f32;
                    for m in 0..fp {
                        let mut mi = vec![0; dim];
                        let mut r = m;
                        for ax in (0..dim).rev() {
                            mi[ax] = r % sides[ax];
                            r /= sides[ax];
                        }
                        let p: usize = (0..dim)
                            .map(|ax| (y[ax] * g.stride[ax] + mi[ax] * g.rhs_dilation[ax]) * ps[ax])
                            .sum();
                        for a in 0..ci {
                            acc += input[a * pp + p]
                                * filters[f * fp * ci * co + (m * ci + a) * co + j];
                        }
                    }
                    out[(f * co + j) * op + q] = acc;
                }
            }
        }
        out
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                if i % 3 == 0 {
                    0.0
                } else {
                    ((s >> 8) as f32 / (1u32 << 24) as f32) - 0.5
                }
            })
            .collect()
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn sparse_kernel_matches_formula() {
        // (dim, sides, k_in, k_out, n_f, padded, stride, dilation)
        let cases: &[(
            usize,
            &[usize],
            usize,
            usize,
            usize,
            &[usize],
            &[usize],
            &[usize],
        )] = &[
            (2, &[3, 3], 1, 1, 3, &[7, 8], &[1, 1], &[1, 1]),
            (2, &[3, 3], 0, 1, 2, &[9, 8], &[2, 3], &[1, 2]),
            (2, &[2, 3], 1, 0, 2, &[6, 6], &[1, 2], &[2, 1]),
            (3, &[3, 3, 3], 1, 1, 2, &[5, 6, 5], &[1, 1, 1], &[1, 1, 1]),
            (1, &[5], 2, 1, 2, &[11], &[2], &[1]),
        ];
        for &(dim, sides, k_in, k_out, n_f, padded, stride, dil) in cases {
            let ci = dim.pow(k_in as u32);
            let co = dim.pow(k_out as u32);
            let fp: usize = sides.iter().product();
            let filters = pseudo(n_f * fp * ci * co, 7);
            let out: Vec<usize> = (0..dim)
                .map(|ax| (padded[ax] - ((sides[ax] - 1) * dil[ax] + 1)) / stride[ax] + 1)
                .collect();
            let g = StencilGeometry {
                padded: padded.to_vec(),
                out,
                stride: stride.to_vec(),
                rhs_dilation: dil.to_vec(),
            };
            let input = pseudo(ci * g.padded_pixels(), 3);
            let kernel = SparseKernel::new(dim, sides, k_in, k_out, n_f, &filters).unwrap();
            assert_eq!(kernel.filter_count(), n_f);
            assert_eq!(
                kernel.stencil_flops(),
                Some(2 * filters.iter().filter(|&&x| x != 0.0).count())
            );
            let mut got = vec![f32::NAN; n_f * co * g.out_pixels()];
            kernel.responses(&g, &input, &mut got);
            let want = naive(dim, sides, k_in, k_out, n_f, &filters, &g, &input);
            for (x, y) in got.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn adjoint_kernel_is_the_transposed_stencil() {
        // <responses(x), g> = <x, adjoint(g)> for the adjoint's full correlation: the
        // forward reads x over `padded`, the adjoint reads g zero-padded by (M − 1)·d.
        let (dim, sides, k_in, k_out, n_f) = (2, [3usize, 2], 1, 1, 3);
        let (ci, co) = (2, 2);
        let fp: usize = sides.iter().product();
        let filters = pseudo(n_f * fp * ci * co, 11);
        let kernel = SparseKernel::new(dim, &sides, k_in, k_out, n_f, &filters).unwrap();
        let adjoint = kernel.adjoint().unwrap();
        assert_eq!(adjoint.filter_count(), 1);
        let dil = [2usize, 1];
        let padded = [8usize, 6];
        let out: Vec<usize> = (0..dim)
            .map(|ax| padded[ax] - (sides[ax] - 1) * dil[ax])
            .collect();
        let forward = StencilGeometry {
            padded: padded.to_vec(),
            out: out.clone(),
            stride: vec![1, 1],
            rhs_dilation: dil.to_vec(),
        };
        let x = pseudo(ci * forward.padded_pixels(), 5);
        let mut y = vec![0.0; n_f * co * forward.out_pixels()];
        kernel.responses(&forward, &x, &mut y);
        let g = pseudo(y.len(), 9);
        // g zero-padded by (M − 1)·d per side, per (f, j) plane.
        let gp: Vec<usize> = (0..dim)
            .map(|ax| out[ax] + 2 * (sides[ax] - 1) * dil[ax])
            .collect();
        let backward = StencilGeometry {
            padded: gp.clone(),
            out: padded.to_vec(),
            stride: vec![1, 1],
            rhs_dilation: dil.to_vec(),
        };
        let plane = backward.padded_pixels();
        let mut g_padded = vec![0.0; n_f * co * plane];
        for (p, src) in g.chunks_exact(forward.out_pixels()).enumerate() {
            for r in 0..out[0] {
                for c in 0..out[1] {
                    let (u, v) = (r + (sides[0] - 1) * dil[0], c + (sides[1] - 1) * dil[1]);
                    g_padded[p * plane + u * gp[1] + v] = src[r * out[1] + c];
                }
            }
        }
        let mut gx = vec![0.0; ci * forward.padded_pixels()];
        adjoint.responses(&backward, &g_padded, &mut gx);
        let lhs: f64 = y.iter().zip(&g).map(|(a, b)| f64::from(a * b)).sum();
        let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| f64::from(a * b)).sum();
        assert!(
            (lhs - rhs).abs() <= 1e-4 * (1.0 + lhs.abs()),
            "{lhs} vs {rhs}"
        );
    }

    /// `Σ_f c_f · transposed(g)[f]` is the adjoint's response to the planes `c_f · g[j]`.
    #[test]
    fn transposed_kernel_splits_the_adjoint_by_filter() {
        let (dim, sides, k_in, k_out, n_f) = (2, [3usize, 2], 1, 2, 3);
        let (ci, co) = (2, 4);
        let fp: usize = sides.iter().product();
        let filters = pseudo(n_f * fp * ci * co, 13);
        let kernel = SparseKernel::new(dim, &sides, k_in, k_out, n_f, &filters).unwrap();
        let (adjoint, transposed) = (kernel.adjoint().unwrap(), kernel.transposed().unwrap());
        assert_eq!(transposed.filter_count(), n_f);
        let geometry = StencilGeometry {
            padded: vec![9, 7],
            out: vec![3, 6],
            stride: vec![2, 1],
            rhs_dilation: vec![2, 1],
        };
        let (pp, op) = (geometry.padded_pixels(), geometry.out_pixels());
        let g = pseudo(co * pp, 3);
        let c = [0.5f32, -1.25, 2.0];
        let mut scaled = Vec::with_capacity(n_f * co * pp);
        for cf in c {
            scaled.extend(g.iter().map(|v| cf * v));
        }
        let mut expected = vec![0.0; ci * op];
        adjoint.responses(&geometry, &scaled, &mut expected);
        let mut per_filter = vec![0.0; n_f * ci * op];
        transposed.responses(&geometry, &g, &mut per_filter);
        for (q, e) in expected.iter().enumerate() {
            let got: f32 = (0..n_f).map(|f| c[f] * per_filter[f * ci * op + q]).sum();
            assert!(
                (got - e).abs() <= 1e-4 * (1.0 + e.abs()),
                "{q}: {got} vs {e}"
            );
        }
        assert!(expected.iter().any(|v| v.abs() > 0.1));
    }

    #[test]
    fn sparse_kernel_rejects_bad_shapes() {
        assert_eq!(
            SparseKernel::new(2, &[3, 3], 0, 0, 2, &[0.0; 17]),
            Err(KernelError::DataLength {
                expected: 18,
                got: 17
            })
        );
        assert!(matches!(
            SparseKernel::new(2, &[3], 0, 0, 1, &[0.0; 3]),
            Err(KernelError::Sides { dim: 2, .. })
        ));
    }
}
