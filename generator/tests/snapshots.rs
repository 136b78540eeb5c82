//! Snapshot tests of the code generator: whole annotated items in, prettyplease-formatted
//! expansions (or error messages) out, reviewed as insta snapshots.

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

/// Expanded size of the four benchmark layers (prettyplease lines), kept bounded.
#[test]
fn benchmark_layers_expand_to_bounded_code() {
    let cases = [
        (
            "d2_n64_m3_b8_s8v8",
            quote!(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                   output = [scalar: 8, vector: 8]),
        ),
        (
            "d2_n128_m3_b4_s16v16",
            quote!(dim = 2, filter_size = 3, input = [scalar: 16, vector: 16],
                   output = [scalar: 16, vector: 16]),
        ),
        (
            "d2_n64_m5_b8_v8",
            quote!(dim = 2, filter_size = 5, input = [vector: 8], output = [vector: 8]),
        ),
        (
            "d3_n16_m3_b4_s4v4",
            quote!(dim = 3, filter_size = 3, input = [scalar: 4, vector: 4],
                   output = [scalar: 4, vector: 4]),
        ),
    ];
    for (name, attr) in cases {
        let lines = expand_pretty(attr).lines().count();
        println!("{name}: {lines} lines");
        assert!(lines < 1500, "{name}: {lines} lines of generated code");
    }
}
