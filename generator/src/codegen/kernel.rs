//! Tokens of one generated response kernel: a unit struct implementing the runtime's
//! `ResponseKernel` with the taps and tensor components of its [`Stencil`] fully unrolled.
//!
//! The loop structure is kept apart from the mathematics: the runtime walks output rows
//! (`rows::for_each_row`), and the generated `row` function loops over the contiguous pixels of
//! one row, so every input read is a slice indexed by the loop counter and LLVM can vectorise.
//! Stride 1 gets its own call with a constant step.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::stencil::{Response, Stencil, Term, Var};

/// The alias of `::ginrs_runtime::__private` inside the generated `const _: () = { ... };`
/// block (the only path generated code names).
pub fn private() -> TokenStream {
    quote!(__p)
}

fn var_ident(v: Var) -> Ident {
    match v {
        Var::Load(i) => format_ident!("l{}", i),
        Var::Temp(i) => format_ident!("t{}", i),
    }
}

/// `±a ± b ± …`, starting with a positive term when there is one.
fn signed_sum(terms: &[Term]) -> TokenStream {
    let mut ordered: Vec<Term> = terms.to_vec();
    if let Some(first_positive) = ordered.iter().position(|t| t.0 > 0) {
        let t = ordered.remove(first_positive);
        ordered.insert(0, t);
    }
    let mut out = TokenStream::new();
    for (i, &(sign, var)) in ordered.iter().enumerate() {
        let id = var_ident(var);
        out.extend(match (i, sign > 0) {
            (0, true) => quote!(#id),
            (0, false) => quote!(-#id),
            (_, true) => quote!(+ #id),
            (_, false) => quote!(- #id),
        });
    }
    out
}

fn response_expr(response: &Response) -> TokenStream {
    if response.groups.is_empty() {
        return quote!(0.0f32);
    }
    let parts = response.groups.iter().map(|g| {
        let sum = signed_sum(&g.terms);
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

/// The struct `name` and its `ResponseKernel` impl for `stencil`, with `filter_count` filters,
/// `filter_size`^d taps.
pub fn kernel_tokens(
    name: &Ident,
    stencil: &Stencil,
    filter_count: usize,
    filter_size: usize,
    dim: usize,
) -> TokenStream {
    let p = private();
    let taps = filter_size.pow(dim as u32);
    let outputs = stencil.responses.len();
    let out_names: Vec<Ident> = (0..outputs).map(|i| format_ident!("o{}", i)).collect();
    let slices = stencil.loads.iter().enumerate().map(|(i, &(tap, a))| {
        let id = format_ident!("x{}", i);
        let comp = if a == 0 {
            quote!()
        } else if a == 1 {
            quote!(pp+)
        } else {
            let a = Literal::usize_unsuffixed(a);
            quote!(#a * pp +)
        };
        let tap = Literal::usize_unsuffixed(tap);
        quote!(let #id = &input[#comp base + taps[#tap]..][..len];)
    });
    let loads = (0..stencil.loads.len()).map(|i| {
        let (x, l) = (format_ident!("x{}", i), format_ident!("l{}", i));
        quote!(let #l = #x[s];)
    });
    let temps = stencil.temps.iter().enumerate().map(|(i, t)| {
        let (id, a, b) = (format_ident!("t{}", i), var_ident(t.a), var_ident(t.b));
        if t.sign > 0 {
            quote!(let #id = #a + #b;)
        } else {
            quote!(let #id = #a - #b;)
        }
    });
    let stores = stencil.responses.iter().zip(&out_names).map(|(r, o)| {
        let expr = response_expr(r);
        quote!(#o[i] = #expr;)
    });
    let reslice = out_names
        .iter()
        .map(|o| quote!(let #o = &mut #o[q..q + n];));
    let taps_lit = Literal::usize_unsuffixed(taps);
    let outputs_lit = Literal::usize_unsuffixed(outputs);
    let count_lit = Literal::usize_unsuffixed(filter_count);
    let size_lit = Literal::usize_unsuffixed(filter_size);
    let (unused, index) = if stencil.loads.is_empty() {
        (quote!(let _ = (input, pp, base, taps, len);), quote!())
    } else {
        (quote!(), quote!(let s = i * step;))
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
                taps: &[usize; #taps_lit],
                outs: &mut [&mut [f32]; #outputs_lit],
                q: usize,
                n: usize,
                step: usize,
            ) {
                let len = (n - 1) * step + 1;
                #unused
                #(#slices)*
                let [#(#out_names),*] = outs;
                #(#reslice)*
                for i in 0..n {
                    #index
                    #(#loads)*
                    #(#temps)*
                    #(#stores)*
                }
            }
        }

        impl #p::ResponseKernel for #name {
            fn filter_count(&self) -> usize {
                #count_lit
            }

            fn responses(&self, g: &#p::StencilGeometry, input: &[f32], out: &mut [f32]) {
                let pp: usize = g.padded.iter().product();
                let op: usize = g.out.iter().product();
                let taps: [usize; #taps_lit] = #p::tap_offsets(&g.padded, &g.rhs_dilation, #size_lit);
                let mut outs: [&mut [f32]; #outputs_lit] = #p::split_outputs(out, op);
                #p::for_each_row(&g.padded, &g.out, &g.stride, |base, q, n, step| {
                    if step == 1 {
                        Self::row(input, pp, base, &taps, &mut outs, q, n, 1);
                    } else {
                        Self::row(input, pp, base, &taps, &mut outs, q, n, step);
                    }
                });
            }
        }
    }
}

/// A kernel identifier from its pair index (`__Kernel0`, …), spanned at the call site.
pub fn kernel_ident(index: usize) -> Ident {
    Ident::new(&format!("__Kernel{index}"), Span::call_site())
}
