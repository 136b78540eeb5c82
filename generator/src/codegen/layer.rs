//! Tokens of a generated layer: the struct (a `ConvContract` whose per-pair kernels are the
//! generated ones), its constants, constructors, forward passes and trait impls.
//!
//! Everything except the struct itself is wrapped in `const _: () = { ... };`, so the kernels add
//! no names to the user's scope; generated code names only `::ginrs_runtime::__private`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::chunk::{chunk_tokens, chunks_ident};
use super::kernel::{kernel_ident, kernel_tokens, private};
use super::plan::LayerPlan;
use super::spec::{BiasSpec, BlockSpec, PaddingSpec};

fn signature_type(blocks: &[BlockSpec]) -> TokenStream {
    let p = private();
    let entries = blocks.iter().map(|b| {
        let (k, parity, c) = (
            Literal::usize_unsuffixed(b.ty.k),
            Literal::u8_unsuffixed(b.ty.parity),
            Literal::usize_unsuffixed(b.channels),
        );
        quote!(#p::SignatureBlock<#k, #parity, #c>)
    });
    quote!((#(#entries,)*))
}

fn doc(text: String) -> TokenStream {
    quote!(#[doc = #text])
}

fn signature_text(blocks: &[BlockSpec]) -> String {
    let entries: Vec<String> = blocks
        .iter()
        .map(|b| format!("{}: {}", b.ty.name(), b.channels))
        .collect();
    format!("[{}]", entries.join(", "))
}

/// The full expansion for `item` (a unit struct) declared with `plan`.
pub fn layer_tokens(item: &syn::ItemStruct, plan: &LayerPlan) -> TokenStream {
    let p = private();
    let spec = &plan.spec;
    let (attrs, vis, name) = (&item.attrs, &item.vis, &item.ident);
    let dim = spec.dim.value;
    let m = spec.filter_size.value;

    let kernels = plan.pairs.iter().enumerate().map(|(i, pair)| {
        kernel_tokens(
            &kernel_ident(i),
            &pair.stencil,
            pair.filters.filters.len(),
            m,
            dim,
            spec.dilation,
        )
    });
    let kernel_list = plan.pairs.iter().enumerate().map(|(i, pair)| {
        let (a, b) = (&spec.input[pair.input].ty, &spec.output[pair.output].ty);
        let (ka, pa, kb, pb) = (
            Literal::usize_unsuffixed(a.k),
            Literal::u8_unsuffixed(a.parity),
            Literal::usize_unsuffixed(b.k),
            Literal::u8_unsuffixed(b.parity),
        );
        let kernel = kernel_ident(i);
        quote! {
            (
                (#p::TensorKey::new(#ka, #pa), #p::TensorKey::new(#kb, #pb)),
                ::std::boxed::Box::new(#kernel) as ::std::boxed::Box<dyn #p::ResponseKernel>,
            )
        }
    });

    let chunks = chunk_tokens(plan);
    let chunks_name = chunks_ident();
    let input_type = signature_type(&spec.input);
    let output_type = signature_type(&spec.output);
    let bias = match spec.bias {
        BiasSpec::Auto => quote!(#p::BiasMode::Auto),
        BiasSpec::Mean => quote!(#p::BiasMode::Mean),
        BiasSpec::Scalar => quote!(#p::BiasMode::Scalar),
        BiasSpec::None => quote!(#p::BiasMode::None),
    };
    let padding = match &spec.padding.value {
        PaddingSpec::Torus => quote!(#p::Padding::Torus),
        PaddingSpec::Same => quote!(#p::Padding::Same),
        PaddingSpec::Valid => quote!(#p::Padding::Valid),
        PaddingSpec::Explicit(pairs) => {
            let pairs = pairs.iter().map(|&(lo, hi)| {
                let (lo, hi) = (Literal::usize_unsuffixed(lo), Literal::usize_unsuffixed(hi));
                quote!((#lo, #hi))
            });
            quote!(#p::Padding::Explicit(::std::vec![#(#pairs),*]))
        }
    };
    let stride = Literal::usize_unsuffixed(spec.stride);
    let dilation = Literal::usize_unsuffixed(spec.dilation);
    let allow_missing = spec.allow_missing;
    let dim_lit = Literal::usize_unsuffixed(dim);
    let m_lit = Literal::usize_unsuffixed(m);
    let flops = plan.flop_count();
    let stencil = Literal::usize_unsuffixed(
        flops
            .stencil_flops
            .expect("every generated kernel counts its flops"),
    );
    let gemm = Literal::usize_unsuffixed(flops.gemm_muladds);
    let dense = Literal::usize_unsuffixed(flops.dense_muladds);
    let (in_text, out_text) = (signature_text(&spec.input), signature_text(&spec.output));
    let struct_doc = doc(format!(
        "Generated equivariant layer: d = {dim}, filter_size = {m}, {in_text} → {out_text}."
    ));
    let input_doc = doc(format!("The input signature {in_text}."));
    let output_doc = doc(format!("The output signature {out_text}."));

    quote! {
        #(#attrs)*
        #struct_doc
        #vis struct #name {
            inner: ::ginrs_runtime::__private::ConvContract,
        }

        const _: () = {
            use ::ginrs_runtime::__private as __p;

            #(#kernels)*

            #chunks

            impl #name {
                /// Spatial dimension d.
                pub const DIM: usize = #dim_lit;
                /// Filter side length M.
                pub const FILTER_SIZE: usize = #m_lit;
                #input_doc
                pub const INPUT_SIGNATURE: &'static [(usize, u8, usize)] =
                    <#input_type as #p::SignatureType>::ENTRIES;
                #output_doc
                pub const OUTPUT_SIGNATURE: &'static [(usize, u8, usize)] =
                    <#output_type as #p::SignatureType>::ENTRIES;
                /// Adds, subtracts and multiplies of the unrolled stencils per output pixel.
                pub const STENCIL_FLOPS_PER_PIXEL: usize = #stencil;
                /// Multiply-adds of the channel-mixing GEMMs per output pixel.
                pub const GEMM_MULADDS_PER_PIXEL: usize = #gemm;
                /// Multiply-adds per output pixel of the dense route (ginjax's).
                pub const DENSE_MULADDS_PER_PIXEL: usize = #dense;

                fn __build(seed: u64) -> ::std::result::Result<#p::ConvContract, #p::ConvContractError> {
                    let config = #p::ConvContractConfig::new(
                        <#input_type as #p::SignatureType>::signature(),
                        <#output_type as #p::SignatureType>::signature(),
                    )
                    .bias(#bias)
                    .options(
                        #p::ConvOptions::with_padding(#padding)
                            .stride(#stride)
                            .rhs_dilation(#dilation),
                    )
                    .allow_missing(#allow_missing);
                    let kernels: ::std::vec::Vec<#p::PairKernel> = ::std::vec![#(#kernel_list),*];
                    #p::ConvContract::with_kernels(config, #dim_lit, ::std::vec![#m_lit; #dim_lit], kernels, seed)
                }

                /// A layer with weights and biases drawn from `seed` (ginjax's bounds).
                pub fn new(seed: u64) -> Self {
                    Self {
                        inner: Self::__build(seed)
                            .expect("the declaration was validated when the layer was generated"),
                    }
                }

                /// A layer with the given weights (the JSON form shared with `ConvContract`).
                pub fn from_weights(weights: &#p::LayerWeights) -> ::std::result::Result<Self, #p::Error> {
                    let mut layer = Self::new(0);
                    layer.inner.load_weights(weights).map_err(#p::Error::from)?;
                    ::std::result::Result::Ok(layer)
                }

                /// The layer's weights and biases.
                pub fn to_weights(&self) -> #p::LayerWeights {
                    self.inner.to_weights()
                }

                /// Applies the layer to one multi-image.
                pub fn forward(&self, input: &#p::MultiImage) -> ::std::result::Result<#p::MultiImage, #p::Error> {
                    #p::forward_chunked(&self.inner, &#chunks_name, input)
                }

                /// Applies the layer to every image of a batch, in parallel.
                pub fn forward_batch(
                    &self,
                    inputs: &[#p::MultiImage],
                ) -> ::std::result::Result<::std::vec::Vec<#p::MultiImage>, #p::Error> {
                    #p::Layer::forward_batch(self, inputs)
                }

                /// The underlying `ConvContract`.
                pub fn contract(&self) -> &#p::ConvContract {
                    &self.inner
                }
            }

            impl #p::Layer for #name {
                fn forward(&self, input: &#p::MultiImage) -> ::std::result::Result<#p::MultiImage, #p::Error> {
                    #p::forward_chunked(&self.inner, &#chunks_name, input)
                }

                fn forward_into(
                    &self,
                    input: &#p::MultiImage,
                    output: &mut #p::MultiImage,
                ) -> ::std::result::Result<(), #p::Error> {
                    #p::forward_chunked_into(&self.inner, &#chunks_name, input, output)
                }
            }

            impl #p::TypedLayer for #name {
                type Input = #input_type;
                type Output = #output_type;
            }
        };
    }
}

/// The struct of a declaration that failed, with the layer's API as a stub, so that uses of the
/// layer add no second error (such as E0599 "no function `new`") after the real one.
///
/// The stub's bodies are `unreachable!()`: it exists only in builds that already failed.
/// `signatures` are the declared input and output blocks when both parsed to non-empty lists;
/// only then is `TypedLayer` implemented (its signature types need them). Generic structs (an
/// error already) and non-unit structs get the struct as written and the same stub.
pub fn stub_tokens(
    item: &syn::ItemStruct,
    signatures: Option<(&[BlockSpec], &[BlockSpec])>,
) -> TokenStream {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        return quote!(#item);
    }
    let p = private();
    let name = &item.ident;
    let why = "#[equivariant_layer] failed: this stub exists only in builds that report its error";
    let (input_entries, output_entries, typed) = match signatures {
        Some((input, output)) if !input.is_empty() && !output.is_empty() => {
            let (input_type, output_type) = (signature_type(input), signature_type(output));
            (
                quote!(<#input_type as #p::SignatureType>::ENTRIES),
                quote!(<#output_type as #p::SignatureType>::ENTRIES),
                quote! {
                    impl #p::TypedLayer for #name {
                        type Input = #input_type;
                        type Output = #output_type;
                    }
                },
            )
        }
        _ => (quote!(&[]), quote!(&[]), TokenStream::new()),
    };
    quote! {
        #item

        const _: () = {
            use ::ginrs_runtime::__private as __p;

            #[allow(dead_code, missing_docs)]
            impl #name {
                pub const DIM: usize = 0;
                pub const FILTER_SIZE: usize = 0;
                pub const INPUT_SIGNATURE: &'static [(usize, u8, usize)] = #input_entries;
                pub const OUTPUT_SIGNATURE: &'static [(usize, u8, usize)] = #output_entries;
                pub const STENCIL_FLOPS_PER_PIXEL: usize = 0;
                pub const GEMM_MULADDS_PER_PIXEL: usize = 0;
                pub const DENSE_MULADDS_PER_PIXEL: usize = 0;

                pub fn new(_seed: u64) -> Self {
                    ::std::unreachable!(#why)
                }

                pub fn from_weights(_weights: &#p::LayerWeights) -> ::std::result::Result<Self, #p::Error> {
                    ::std::unreachable!(#why)
                }

                pub fn to_weights(&self) -> #p::LayerWeights {
                    ::std::unreachable!(#why)
                }

                pub fn forward(&self, _input: &#p::MultiImage) -> ::std::result::Result<#p::MultiImage, #p::Error> {
                    ::std::unreachable!(#why)
                }

                pub fn forward_batch(
                    &self,
                    _inputs: &[#p::MultiImage],
                ) -> ::std::result::Result<::std::vec::Vec<#p::MultiImage>, #p::Error> {
                    ::std::unreachable!(#why)
                }

                pub fn contract(&self) -> &#p::ConvContract {
                    ::std::unreachable!(#why)
                }
            }

            impl #p::Layer for #name {
                fn forward(&self, _input: &#p::MultiImage) -> ::std::result::Result<#p::MultiImage, #p::Error> {
                    ::std::unreachable!(#why)
                }
            }

            #typed
        };
    }
}
