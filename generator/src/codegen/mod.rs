//! The code generator behind `#[equivariant_layer(...)]` (feature `codegen`).
//!
//! [`expand`] turns the attribute and the annotated unit struct into a layer: parsing
//! ([`parse`]), validation against the exact invariant filter counts ([`plan`]), the plan of each
//! unrolled response kernel ([`stencil`]) and its tokens ([`kernel`]), and the layer's struct,
//! constructors, constants and trait impls ([`layer`]). Every problem becomes a
//! `compile_error!` at the offending token; all of them are reported at once.

pub mod bank;
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
    let planned = spec.and_then(|spec| plan::plan(spec, &mut errors));
    match (item, planned) {
        (Some(item), Some(planned)) if errors.is_empty() => layer::layer_tokens(&item, &planned),
        (item, _) => {
            let errors = errors.into_compile_errors();
            // Keep the struct so that its uses do not add unrelated errors.
            let item = item.map(|i| quote!(#i));
            quote!(#errors #item)
        }
    }
}
