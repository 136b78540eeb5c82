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
