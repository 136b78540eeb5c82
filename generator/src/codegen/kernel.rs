//! Tokens of one generated response kernel: a unit struct implementing the runtime's
//! `ResponseKernel` with the taps and tensor components of its [`Stencil`] fully unrolled.
//!
//! The loop structure is kept apart from the mathematics: the generated `row` function handles
//! `n` outputs of one row (writing response `r` to `out[r · plane + q..][..n]`), every input
//! read being a slice indexed by the pixel counter so that LLVM vectorises. Two callers inline
//! it: the layer's `ChunkKernel` ([`super::chunk`]) inside the runtime's AVX-512 chunk loop, and
//! the `ResponseKernel` impl, for which the runtime walks output rows (`for_each_row`) under
//! `try_simd` (an AVX2/FMA copy for stride 1, a portable copy for other strides and CPUs). Two schedules ([`Schedule`]):
//! - **fused**: one loop over the row computing every load, shared sum and response per pixel
//!   (everything stays in registers; best when few values are live);
//! - **streamed**: one loop per response (each loop reads only its own few streams; best for
//!   large stencils, whose plans share no sub-sums).

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::stencil::{Response, Stencil, Temp, Term, Var};

/// Largest number of loads plus responses for which the fused schedule is used.
pub const FUSED_STREAM_LIMIT: usize = 40;

/// How a kernel's row loop is organised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// One loop computing everything per pixel.
    Fused,
    /// One loop per response.
    Streamed,
}

impl Schedule {
    /// The schedule used for `stencil`: fused unless it has many live streams.
    pub fn for_stencil(stencil: &Stencil) -> Self {
        if stencil.loads.len() + stencil.responses.len() <= FUSED_STREAM_LIMIT {
            Self::Fused
        } else {
            Self::Streamed
        }
    }
}

/// The alias of `::ginrs_runtime::__private` inside the generated `const _: () = { ... };`
/// block (the only path generated code names).
pub fn private() -> TokenStream {
    quote!(__p)
}

/// How a value is read inside the pixel loop. The streamed schedule has no registers to keep a
/// shared sum in, so it expands a temp into its defining sum (plans for it share none).
fn read(v: Var, schedule: Schedule, temps: &[Temp]) -> TokenStream {
    match (v, schedule) {
        (Var::Load(i), Schedule::Fused) => format_ident!("l{}", i).into_token_stream(),
        (Var::Temp(i), Schedule::Fused) => format_ident!("t{}", i).into_token_stream(),
        (Var::Load(i), Schedule::Streamed) => {
            let x = format_ident!("x{}", i);
            quote!(#x[i * step])
        }
        (Var::Temp(i), Schedule::Streamed) => {
            let t = temps[i];
            let sum = temp_expr(t.a, t.sign, t.b, schedule, temps);
            quote!((#sum))
        }
    }
}

use quote::ToTokens as _;

/// `±a ± b ± …`, starting with a positive term when there is one.
fn signed_sum(terms: &[Term], schedule: Schedule, temps: &[Temp]) -> TokenStream {
    let mut ordered: Vec<Term> = terms.to_vec();
    if let Some(first_positive) = ordered.iter().position(|t| t.0 > 0) {
        let t = ordered.remove(first_positive);
        ordered.insert(0, t);
    }
    let mut out = TokenStream::new();
    for (i, &(sign, var)) in ordered.iter().enumerate() {
        let v = read(var, schedule, temps);
        out.extend(match (i, sign > 0) {
            (0, true) => quote!(#v),
            (0, false) => quote!(-#v),
            (_, true) => quote!(+ #v),
            (_, false) => quote!(- #v),
        });
    }
    out
}

fn response_expr(response: &Response, schedule: Schedule, temps: &[Temp]) -> TokenStream {
    if response.groups.is_empty() {
        return quote!(0.0f32);
    }
    let parts = response.groups.iter().map(|g| {
        let sum = signed_sum(&g.terms, schedule, temps);
        if g.scale == 1.0 {
            sum
        } else {
            let scale = Literal::f32_suffixed(g.scale);
            if g.terms.len() == 1 {
                quote!(#sum * #scale)
            } else {
                quote!((#sum) * #scale)
            }
        }
    });
    quote!(#(#parts)+*)
}

fn temp_expr(a: Var, sign: i8, b: Var, schedule: Schedule, temps: &[Temp]) -> TokenStream {
    let (a, b) = (read(a, schedule, temps), read(b, schedule, temps));
    if sign > 0 {
        quote!(#a + #b)
    } else {
        quote!(#a - #b)
    }
}

/// The slices of every load. Loads are grouped by input component `a` and filter row `r`
/// (taps `r·M .. r·M + M`, consecutive along the last axis): one bounds-checked slice per
/// group, `let y{a}_{r} = &input[a·pp + base + taps[r·M]..][..len + (M − 1)·dilation];`, and
/// per load a sub-slice at its constant column offset `m · dilation`, which LLVM proves in
/// bounds (a 3 × 3 vector stencil checks 6 slices instead of 18).
fn load_slices(stencil: &Stencil, filter_size: usize, dilation: usize) -> Vec<TokenStream> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &(tap, a) in &stencil.loads {
        if !groups.contains(&(a, tap / filter_size)) {
            groups.push((a, tap / filter_size));
        }
    }
    let rows = groups.iter().map(|&(a, r)| {
        let id = format_ident!("y{}_{}", a, r);
        let comp = match a {
            0 => quote!(),
            1 => quote!(pp+),
            _ => {
                let a = Literal::usize_unsuffixed(a);
                quote!(#a * pp +)
            }
        };
        let first = Literal::usize_unsuffixed(r * filter_size);
        let reach = Literal::usize_unsuffixed((filter_size - 1) * dilation);
        quote!(let #id = &input[#comp base + taps[#first]..][..len + #reach];)
    });
    let loads = stencil.loads.iter().enumerate().map(|(i, &(tap, a))| {
        let id = format_ident!("x{}", i);
        let row = format_ident!("y{}_{}", a, tap / filter_size);
        match tap % filter_size * dilation {
            0 => quote!(let #id = &#row[..len];),
            column => {
                let column = Literal::usize_unsuffixed(column);
                quote!(let #id = &#row[#column..][..len];)
            }
        }
    });
    rows.chain(loads).collect()
}

/// The pixel loop(s) of one row.
fn row_body(stencil: &Stencil, schedule: Schedule) -> TokenStream {
    let out_names: Vec<Ident> = (0..stencil.responses.len())
        .map(|i| format_ident!("o{}", i))
        .collect();
    match schedule {
        Schedule::Fused => {
            let index = if stencil.loads.is_empty() {
                quote!()
            } else {
                quote!(let s = i * step;)
            };
            let loads = (0..stencil.loads.len()).map(|i| {
                let (x, l) = (format_ident!("x{}", i), format_ident!("l{}", i));
                quote!(let #l = #x[s];)
            });
            let temps = stencil.temps.iter().enumerate().map(|(i, t)| {
                let id = format_ident!("t{}", i);
                let expr = temp_expr(t.a, t.sign, t.b, schedule, &stencil.temps);
                quote!(let #id = #expr;)
            });
            let stores = stencil.responses.iter().zip(&out_names).map(|(r, o)| {
                let expr = response_expr(r, schedule, &stencil.temps);
                quote!(#o[i] = #expr;)
            });
            quote! {
                for i in 0..n {
                    #index
                    #(#loads)*
                    #(#temps)*
                    #(#stores)*
                }
            }
        }
        Schedule::Streamed => {
            let stores = stencil.responses.iter().zip(&out_names).map(|(r, o)| {
                let expr = response_expr(r, schedule, &stencil.temps);
                quote!(for i in 0..n { #o[i] = #expr; })
            });
            quote!(#(#stores)*)
        }
    }
}

/// The struct `name` and its `ResponseKernel` impl for `stencil`, with `filter_count` filters,
/// `filter_size`^d taps `dilation` apart.
pub fn kernel_tokens(
    name: &Ident,
    stencil: &Stencil,
    filter_count: usize,
    filter_size: usize,
    dim: usize,
    dilation: usize,
) -> TokenStream {
    let p = private();
    let schedule = Schedule::for_stencil(stencil);
    let taps = Literal::usize_unsuffixed(filter_size.pow(dim as u32));
    let count = Literal::usize_unsuffixed(filter_count);
    let size = Literal::usize_unsuffixed(filter_size);
    let flops = Literal::usize_unsuffixed(stencil.flops());
    let out_names: Vec<Ident> = (0..stencil.responses.len())
        .map(|i| format_ident!("o{}", i))
        .collect();
    let slices = load_slices(stencil, filter_size, dilation);
    // Response r is plane r of `out`: `out[r * plane + q..][..n]`.
    let last = out_names.len().saturating_sub(1);
    let split = out_names.iter().enumerate().map(|(r, o)| {
        if r == last && last == 0 {
            quote!(let _ = plane; let #o = &mut out[q..q + n];)
        } else if r == last {
            quote!(let #o = &mut out[q..q + n];)
        } else {
            quote! {
                let (#o, out) = out.split_at_mut(plane);
                let #o = &mut #o[q..q + n];
            }
        }
    });
    let body = row_body(stencil, schedule);
    let unused = if stencil.loads.is_empty() {
        quote!(let _ = (input, pp, base, taps, len, step);)
    } else {
        quote!()
    };
    quote! {
        struct #name;

        impl #name {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn row(
                input: &[f32],
                pp: usize,
                base: usize,
                taps: &[usize; #taps],
                out: &mut [f32],
                plane: usize,
                q: usize,
                n: usize,
                step: usize,
            ) {
                let len = (n - 1) * step + 1;
                #unused
                #(#slices)*
                #(#split)*
                #body
            }
        }

        impl #p::ResponseKernel for #name {
            fn filter_count(&self) -> usize {
                #count
            }

            fn responses(&self, g: &#p::StencilGeometry, input: &[f32], out: &mut [f32]) {
                let pp: usize = g.padded.iter().product();
                let op: usize = g.out.iter().product();
                let taps: [usize; #taps] = #p::tap_offsets(&g.padded, &g.rhs_dilation, #size);
                // Contiguous rows run vectorised with AVX2/FMA where available; other strides
                // and other CPUs take the portable path.
                let contiguous = g.stride[g.stride.len() - 1] == 1;
                let done = contiguous
                    && #p::try_simd(
                        #[inline(always)]
                        || {
                            #p::for_each_row(&g.padded, &g.out, &g.stride, |base, q, n, _| {
                                Self::row(input, pp, base, &taps, out, op, q, n, 1)
                            })
                        },
                    );
                if !done {
                    #p::for_each_row(&g.padded, &g.out, &g.stride, |base, q, n, step| {
                        Self::row(input, pp, base, &taps, out, op, q, n, step)
                    });
                }
            }

            fn stencil_flops(&self) -> ::std::option::Option<usize> {
                ::std::option::Option::Some(#flops)
            }
        }
    }
}

/// A kernel identifier from its pair index (`__Kernel0`, …), spanned at the call site.
pub fn kernel_ident(index: usize) -> Ident {
    Ident::new(&format!("__Kernel{index}"), Span::call_site())
}
