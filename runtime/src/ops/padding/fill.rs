//! Building the padded input: the one fill every convolution uses. Per spatial axis a table
//! gives the input index of every padded position (-1 for an inserted zero: zero padding or an
//! lhs-dilation hole; see [`ConvPlan::source_tables`](super::ConvPlan)), and the fill copies a
//! region of the padded input, component-major, run by run along the last axis.

use crate::image::{BlockView, MAX_DIM};
use crate::kernels::layout::row_major_strides;
use crate::kernels::transpose::deinterleave;

/// Fills `dst` with every channel of `block` over the padded region of `tables` (see
/// [`fill_padded`]): channel `c` at `c · comps · region_pixels`, component-major.
#[inline(always)]
pub(crate) fn pad_block(block: BlockView<'_>, tables: &[&[isize]], dst: &mut [f32]) {
    let in_strides = row_major_strides(block.geometry().spatial());
    let comps = block.components();
    let chan_len = dst.len() / block.channels().max(1);
    for (c, chan) in dst.chunks_exact_mut(chan_len.max(1)).enumerate() {
        fill_padded(block.channel(c), comps, &in_strides, tables, chan);
    }
}

/// Fills `dst` (component-major: `comps` planes of the region's pixels) with a region of the
/// padded input: `tables[axis][u]` is the source index along `axis` of region position `u`
/// (-1 for an inserted zero), as given by the padding plan. `src` is one channel,
/// pixel-major `(spatial…, comps)` with pixel strides `in_strides`.
#[inline(always)]
pub(crate) fn fill_padded(
    src: &[f32],
    comps: usize,
    in_strides: &[usize],
    tables: &[&[isize]],
    dst: &mut [f32],
) {
    let dim = tables.len();
    let last = dim - 1;
    let line_len = tables[last].len();
    let region: usize = tables.iter().map(|t| t.len()).product();
    let n_lines = region / line_len;
    // Runs of the last axis: consecutive source pixels, or inserted zeros.
    let mut runs: Vec<Run> = Vec::new();
    for (u, &s) in tables[last].iter().enumerate() {
        let src = (s >= 0).then_some(s as usize);
        match runs.last_mut() {
            Some(run)
                if match (run.src, src) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a + run.len == b,
                    _ => false,
                } =>
            {
                run.len += 1
            }
            _ => runs.push(Run {
                dst: u,
                src,
                len: 1,
            }),
        }
    }
    let mut idx = [0usize; MAX_DIM];
    for line in 0..n_lines {
        let mut base = Some(0usize);
        for ax in 0..last {
            let s = tables[ax][idx[ax]];
            if s < 0 {
                base = None;
                break;
            }
            base = base.map(|b| b + s as usize * in_strides[ax]);
        }
        let line_start = line * line_len;
        match base {
            None => {
                for a in 0..comps {
                    dst[a * region + line_start..a * region + line_start + line_len].fill(0.0);
                }
            }
            Some(b) => {
                for run in &runs {
                    let start = line_start + run.dst;
                    match run.src {
                        None => {
                            for a in 0..comps {
                                dst[a * region + start..a * region + start + run.len].fill(0.0);
                            }
                        }
                        Some(s) if comps == 1 => {
                            dst[start..start + run.len]
                                .copy_from_slice(&src[b + s..b + s + run.len]);
                        }
                        Some(s) => deinterleave(
                            &src[(b + s) * comps..(b + s + run.len) * comps],
                            comps,
                            &mut dst[start..],
                            region,
                        ),
                    }
                }
            }
        }
        for ax in (0..last).rev() {
            idx[ax] += 1;
            if idx[ax] < tables[ax].len() {
                break;
            }
            idx[ax] = 0;
        }
    }
}

/// A run of padded positions along the last axis: `len` positions from `dst` that read
/// consecutive source pixels from `src` (`None`: zeros).
struct Run {
    dst: usize,
    src: Option<usize>,
    len: usize,
}
