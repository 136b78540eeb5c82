//! Tokens of a generated layer's `ChunkKernel`: per output block, the unrolled stencils of every
//! pair reaching it, run for each input channel on one chunk of an output row, then one
//! channel mix with a constant row count (`mix_chunk::<out_c>` over `K = Σ in_c · n_f`, the
//! depth of those pairs).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::kernel::{kernel_ident, private};
use super::plan::LayerPlan;

/// Name of the unit struct implementing the runtime's `ChunkKernel`.
pub fn chunks_ident() -> proc_macro2::Ident {
    proc_macro2::Ident::new("__Chunks", proc_macro2::Span::call_site())
}

/// The `__Chunks` struct and its `ChunkKernel` impl for `plan`.
pub fn chunk_tokens(plan: &LayerPlan) -> TokenStream {
    let p = private();
    let spec = &plan.spec;
    let name = chunks_ident();
    let taps = Literal::usize_unsuffixed(spec.filter_size.value.pow(spec.dim.value as u32));
    let arms = (0..spec.output.len()).filter_map(|t| {
        let pairs: Vec<usize> = (0..plan.pairs.len())
            .filter(|&i| plan.pairs[i].output == t)
            .collect();
        let first = plan.pairs.get(*pairs.first()?)?;
        let comps_out = first.filters.out_components();
        let mut k_offset = 0;
        let stencils = pairs.iter().map(|&i| {
            let pair = &plan.pairs[i];
            let kernel = kernel_ident(i);
            let block = Literal::usize_unsuffixed(pair.input);
            let in_c = spec.input[pair.input].channels;
            let n_f = pair.filters.filters.len();
            let planes = pair.filters.in_components();
            let len = if planes == 1 {
                quote!(pp)
            } else {
                let planes = Literal::usize_unsuffixed(planes);
                quote!(#planes * pp)
            };
            // First response row of channel `c`: `(k_offset + c · n_f) · d^k_out · width`.
            let row = match (k_offset, n_f) {
                (0, 1) => quote!(c),
                (0, _) => {
                    let n_f = Literal::usize_unsuffixed(n_f);
                    quote!(c * #n_f)
                }
                (k, 1) => {
                    let k = Literal::usize_unsuffixed(k);
                    quote!((#k + c))
                }
                (k, _) => {
                    let (k, n_f) = (Literal::usize_unsuffixed(k), Literal::usize_unsuffixed(n_f));
                    quote!((#k + c * #n_f))
                }
            };
            let first = if comps_out == 1 {
                quote!(#row * width)
            } else {
                let comps = Literal::usize_unsuffixed(comps_out);
                quote!(#row * #comps * width)
            };
            let channels = Literal::usize_unsuffixed(in_c);
            k_offset += in_c * n_f;
            quote! {
                {
                    let x = chunk.inputs[#block];
                    let len = #len;
                    for c in 0..#channels {
                        #kernel::row(
                            &x[c * len..(c + 1) * len], pp, chunk.base, taps,
                            &mut responses[#first..], width, 0, chunk.n, 1,
                        );
                    }
                }
            }
        });
        let stencils: Vec<TokenStream> = stencils.collect();
        let (target, out_c, depth) = (
            Literal::usize_unsuffixed(t),
            Literal::usize_unsuffixed(spec.output[t].channels),
            Literal::usize_unsuffixed(k_offset),
        );
        let cols = if comps_out == 1 {
            quote!(width)
        } else {
            let comps = Literal::usize_unsuffixed(comps_out);
            quote!(#comps * width)
        };
        Some(quote! {
            #target => {
                #(#stencils)*
                #p::mix_chunk::<#out_c>(weights, responses, #depth, #cols, out);
            }
        })
    });
    quote! {
        struct #name;

        impl #p::ChunkKernel for #name {
            #[inline(always)]
            fn output_chunk(
                &self,
                target: usize,
                chunk: &#p::Chunk<'_>,
                weights: &[f32],
                responses: &mut [f32],
                out: &mut [f32],
            ) {
                let taps: &[usize; #taps] = chunk.taps.try_into().expect("one offset per filter tap");
                let (pp, width) = (chunk.padded_pixels, chunk.width);
                match target {
                    #(#arms)*
                    _ => unreachable!("the runtime asks only for blocks that pairs reach"),
                }
            }
        }
    }
}
