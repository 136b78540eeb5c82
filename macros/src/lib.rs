//! # ginrs-macros
//!
//! The proc-macro entry point of ginrs: `#[equivariant_layer(...)]`, a thin adapter over
//! `ginrs_generator::codegen` (parsing, validation and code generation all live there). Use it
//! through `ginrs-runtime`, which re-exports it as `ginrs_runtime::equivariant_layer`.
//!
//! # Rules
//!
//! - This crate depends only on `ginrs-generator` with its `codegen` feature and without default
//!   features (so no resvg, clap or indicatif); it holds no logic of its own.
//! - No unsafe code: `#![forbid(unsafe_code)]`. The generated code contains no `unsafe` either.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;

/// Generates an equivariant convolution layer for a unit struct.
///
/// ```ignore
/// #[ginrs_runtime::equivariant_layer(dim = 2, filter_size = 3,
///                                    input = [scalar: 8, vector: 8],
///                                    output = [scalar: 8, vector: 8])]
/// pub struct Block;
/// ```
///
/// Tensor types: `scalar`, `pseudoscalar`, `vector`, `pseudovector` or `(k, p)`. Optional:
/// `bias = auto | mean | scalar | none`, `padding = torus | same | valid | [(lo, hi), ...]`,
/// `stride = N`, `dilation = N`, `convention = ginjax | canonical`, `allow_missing`.
/// Invalid declarations are compile errors at the offending token; the struct then gets a stub
/// of the layer's API, so uses of the layer add no second error.
///
/// # Build profile
///
/// The layer's unrolled kernels are compiled into *your* crate, at your crate's opt-level, and
/// the runtime's hot loops at your dependencies' opt-level. A default dev build (opt-level 0)
/// runs a layer 30–40× slower than a build with the lines below (measured for an 8 + 8 → 8 + 8
/// channel 3×3 layer on a batch of eight 64×64 images). Add to your `Cargo.toml`:
///
/// ```toml
/// [profile.dev]
/// opt-level = 3
/// ```
///
/// or, to keep the rest of a workspace at opt-level 0, `[profile.dev.package.<your-crate>]` and
/// `[profile.dev.package."*"]` with `opt-level = 3` each (your crate alone leaves the runtime
/// unoptimised: generated layers stay about 2× slower, dynamic layers stay slow). The README's
/// "Build profile" section has the numbers.
#[proc_macro_attribute]
pub fn equivariant_layer(attr: TokenStream, item: TokenStream) -> TokenStream {
    ginrs_generator::codegen::expand(attr.into(), item.into()).into()
}
