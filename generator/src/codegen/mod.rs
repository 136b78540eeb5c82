//! The code generator behind `#[equivariant_layer(...)]` (feature `codegen`).
//!
//! [`expand`] turns the attribute and the annotated unit struct into a layer: parsing
//! ([`parse`] into a [`spec::LayerSpec`]), validation against the generator's exact invariant
//! filter counts and banks ([`plan`], [`bank`]), the plan of each unrolled response kernel
//! ([`stencil`]: which inputs it reads, scales factored out, zeros skipped, shared sub-sums) and
//! its tokens ([`kernel`]), the per-chunk driver of the layer's kernels ([`chunk`]), and the
//! layer's struct, constants, constructors and trait impls ([`layer`]). Every problem becomes a
//! `compile_error!` at the offending token, all of them reported at once ([`errors`]); the
//! struct is then still emitted with a stub of the layer's API ([`layer::stub_tokens`]), so the
//! real errors are the only ones.
//!
//! # The attribute
//!
//! ```text
//! #[equivariant_layer(dim = 2, filter_size = 3,
//!                     input = [scalar: 8, vector: 8],
//!                     output = [scalar: 8, vector: 8])]
//! pub struct Block;
//! ```
//!
//! Tensor types: `scalar`, `pseudoscalar`, `vector`, `pseudovector` or `(k, p)` (k ≤ 4).
//! Optional: `bias = auto | mean | scalar | none` (auto), `padding = torus | same | valid |
//! [(lo, hi), ...]` (torus), `stride = N`, `dilation = N` (filter dilation), `convention =
//! ginjax | canonical` (ginjax), `allow_missing` (drop mappings without an invariant filter, as
//! ginjax does, instead of failing). The declared output order must be the order in which
//! inputs first reach the outputs (ginjax's order); the error names the order to declare.
//!
//! # What is generated
//!
//! A struct wrapping the runtime's `ConvContract` (weights, biases, initialisation, padding
//! plans and bias are the runtime's). Per block pair, a generated kernel ([`kernel`]) holds the
//! unrolled stencil as a `row` function and implements the runtime's `ResponseKernel`; per
//! layer, a `ChunkKernel` ([`chunk`]) runs, for each chunk of an output row and each output
//! block, the stencils of the pairs reaching the block and one channel mix with a constant
//! row count. `forward` runs the runtime's row-chunk schedule with it (one AVX-512 copy,
//! compiled into the user's crate, hence at the user crate's opt-level: a default dev build is
//! 30–40× slower, see the README's "Build profile"); CPUs without AVX-512 and strided layers
//! take the `ConvContract` tile schedule with the generated `ResponseKernel`s. Also generated:
//! constants `DIM`, `FILTER_SIZE`, `INPUT_SIGNATURE`, `OUTPUT_SIGNATURE`,
//! `STENCIL_FLOPS_PER_PIXEL`, `GEMM_MULADDS_PER_PIXEL`, `DENSE_MULADDS_PER_PIXEL`;
//! `new(seed)`, `from_weights`, `to_weights`, `forward`, `forward_batch`, `contract`; impls of
//! `Layer` (with `forward_into`, which reuses output storage) and `TypedLayer` (signature types
//! `(Block<k, p, c>, ...)`, so `then` chains only matching layers). Everything but the struct
//! sits in `const _: () = { ... };` and names only `::ginrs_runtime::__private`.

pub mod bank;
pub mod chunk;
pub mod errors;
pub mod kernel;
pub mod layer;
pub mod parse;
pub mod plan;
pub mod spec;
pub mod stencil;

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

use errors::Errors;

/// Expands `#[equivariant_layer(attr)] item`; errors become `compile_error!`s at their spans.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let item: Option<syn::ItemStruct> = match syn::parse2(item.clone()) {
        Ok(item) => Some(item),
        Err(_) => {
            errors.push(
                item.span(),
                "#[equivariant_layer] applies to a unit struct, e.g. `pub struct Block;`",
            );
            None
        }
    };
    if let Some(item) = &item {
        if !matches!(item.fields, syn::Fields::Unit) {
            errors.push(
                item.fields.span(),
                "#[equivariant_layer] generates the struct's fields: declare a unit struct, \
                 e.g. `pub struct Block;`",
            );
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.push(
                item.generics.span(),
                "#[equivariant_layer] structs cannot be generic",
            );
        }
    }
    let spec = parse::parse_spec(attr, &mut errors);
    let signatures = spec.as_ref().map(|s| (s.input.clone(), s.output.clone()));
    let planned = spec.and_then(|spec| plan::plan(spec, &mut errors));
    match (item, planned) {
        (Some(item), Some(planned)) if errors.is_empty() => layer::layer_tokens(&item, &planned),
        (item, _) => {
            let errors = errors.into_compile_errors();
            // The struct and a stub of its API, so that its uses do not add unrelated errors.
            let signatures = signatures
                .as_ref()
                .map(|(i, o)| (i.as_slice(), o.as_slice()));
            let stub = item.map(|item| layer::stub_tokens(&item, signatures));
            quote!(#errors #stub)
        }
    }
}
