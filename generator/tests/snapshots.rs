//! Snapshot tests of the code generator: whole annotated items in, prettyplease-formatted
//! expansions (or error messages) out, reviewed as insta snapshots.
#![cfg(feature = "codegen")]

use ginrs_generator::codegen::expand;
use quote::quote;

fn expand_pretty(attr: proc_macro2::TokenStream) -> String {
    let tokens = expand(
        attr,
        quote!(
            pub struct Block;
        ),
    );
    let file: syn::File = syn::parse2(tokens).expect("expansion parses as a file");
    prettyplease::unparse(&file)
}

#[test]
fn d2_scalar_to_vector() {
    insta::assert_snapshot!(expand_pretty(quote!(
        dim = 2, filter_size = 3, input = [scalar: 2], output = [vector: 3]
    )));
}

#[test]
fn d2_vector_to_vector_same_padding_stride() {
    insta::assert_snapshot!(expand_pretty(quote!(
        dim = 2, filter_size = 3, input = [vector: 8], output = [vector: 8],
        padding = same, stride = 2, bias = mean
    )));
}

#[test]
fn d3_vector_to_scalar_canonical() {
    insta::assert_snapshot!(expand_pretty(quote!(
        dim = 3, filter_size = 3, input = [vector: 4], output = [scalar: 4],
        convention = canonical, padding = [(1, 1), (0, 2), (1, 0)], bias = none
    )));
}

#[test]
fn errors_are_collected() {
    insta::assert_snapshot!(expand_pretty(quote!(
        dim = 2, filter_size = 3, input = [scalar: 8, spinor: 2],
        output = [pseudoscalar: 1], stride = 0, colour = red
    )));
}

#[test]
fn mapping_without_filter() {
    insta::assert_snapshot!(expand_pretty(quote!(
        dim = 3, filter_size = 3, input = [vector: 1], output = [pseudovector: 1]
    )));
}
