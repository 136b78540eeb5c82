//! Parsing the tokens of `#[equivariant_layer(...)]` into a [`LayerSpec`].
//!
//! The attribute is split at top-level commas and every option is parsed on its own, so one bad
//! option does not hide the errors of the others.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::spanned::Spanned as _;

use super::errors::Errors;
use super::spec::{
    BiasSpec, BlockSpec, ConventionSpec, LayerSpec, PaddingSpec, Spanned, TensorType,
};

/// The option names, in documentation order.
const OPTIONS: &str = "dim, filter_size, input, output, bias, padding, stride, dilation, \
                       convention, allow_missing";

/// Parses the attribute's tokens; all problems are recorded in `errors`.
///
/// Returns `None` when a required option is missing or unusable (errors were recorded then).
pub fn parse_spec(attr: TokenStream, errors: &mut Errors) -> Option<LayerSpec> {
    let mut dim = None;
    let mut filter_size = None;
    let mut input = None;
    let mut output = None;
    let mut bias = None;
    let mut padding = None;
    let mut stride = None;
    let mut dilation = None;
    let mut convention = None;
    let mut allow_missing = None;

    for segment in split_commas(attr) {
        let mut tokens = segment.into_iter();
        let key = match tokens.next() {
            Some(TokenTree::Ident(key)) => key,
            Some(other) => {
                errors.push(
                    other.span(),
                    format!("expected an option name: one of {OPTIONS}"),
                );
                continue;
            }
            None => continue,
        };
        let name = key.to_string();
        let rest: Vec<TokenTree> = tokens.collect();
        if name == "allow_missing" {
            if let Some(extra) = rest.first() {
                errors.push(extra.span(), "`allow_missing` is a flag and takes no value");
            }
            set_once(&mut allow_missing, &key, true, errors);
            continue;
        }
        let value: TokenStream = match rest.split_first() {
            Some((TokenTree::Punct(eq), value)) if eq.as_char() == '=' => {
                if value.is_empty() {
                    errors.push(eq.span(), format!("expected a value after `{name} =`"));
                    continue;
                }
                value.iter().cloned().collect()
            }
            _ => {
                let known = matches!(
                    name.as_str(),
                    "dim"
                        | "filter_size"
                        | "input"
                        | "output"
                        | "bias"
                        | "padding"
                        | "stride"
                        | "dilation"
                        | "convention"
                );
                if known {
                    errors.push(key.span(), format!("expected `{name} = ...`"));
                } else {
                    errors.push(key.span(), unknown_option(&name));
                }
                continue;
            }
        };
        let parsed = match name.as_str() {
            "dim" => parse_usize(&value).map(|v| set_once(&mut dim, &key, v, errors)),
            "filter_size" => {
                parse_usize(&value).map(|v| set_once(&mut filter_size, &key, v, errors))
            }
            "stride" => parse_bounded(&value, "stride", MAX_STEP)
                .map(|v| set_once(&mut stride, &key, v.value, errors)),
            "dilation" => parse_bounded(&value, "dilation", MAX_STEP)
                .map(|v| set_once(&mut dilation, &key, v.value, errors)),
            "input" => {
                parse_signature(&value, errors).map(|v| set_once(&mut input, &key, v, errors))
            }
            "output" => {
                parse_signature(&value, errors).map(|v| set_once(&mut output, &key, v, errors))
            }
            "bias" => parse_bias(&value).map(|v| set_once(&mut bias, &key, v, errors)),
            "padding" => parse_padding(&value).map(|v| set_once(&mut padding, &key, v, errors)),
            "convention" => {
                parse_convention(&value).map(|v| set_once(&mut convention, &key, v, errors))
            }
            _ => Err(syn::Error::new(key.span(), unknown_option(&name))),
        };
        if let Err(error) = parsed {
            errors.push_error(error);
        }
    }

    let mut require = |present: bool, what: &str| {
        if !present {
            errors.push(
                Span::call_site(),
                format!("missing required option `{what}`"),
            );
        }
    };
    require(dim.is_some(), "dim = <d>");
    require(filter_size.is_some(), "filter_size = <M>");
    require(input.is_some(), "input = [<type>: <channels>, ...]");
    require(output.is_some(), "output = [<type>: <channels>, ...]");
    Some(LayerSpec {
        dim: dim?,
        filter_size: filter_size?,
        input: input?,
        output: output?,
        bias: bias.unwrap_or(BiasSpec::Auto),
        padding: padding.unwrap_or(Spanned {
            value: PaddingSpec::Torus,
            span: Span::call_site(),
        }),
        stride: stride.unwrap_or(1),
        dilation: dilation.unwrap_or(1),
        convention: convention.unwrap_or(ConventionSpec::Ginjax),
        allow_missing: allow_missing.unwrap_or(false),
    })
}

fn unknown_option(name: &str) -> String {
    format!("unknown option `{name}`: expected one of {OPTIONS}")
}

/// Stores `value` unless the option was already given (then records a duplicate error).
fn set_once<T>(slot: &mut Option<T>, key: &proc_macro2::Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(key.span(), format!("option `{key}` is given twice"));
    } else {
        *slot = Some(value);
    }
}

/// Splits a token stream at its top-level commas (groups keep their commas).
fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => {
                segments.push(current.drain(..).collect());
            }
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        segments.push(current.into_iter().collect());
    }
    segments
}

fn parse_usize(value: &TokenStream) -> syn::Result<Spanned<usize>> {
    let lit: syn::LitInt = syn::parse2(value.clone())
        .map_err(|e| syn::Error::new(e.span(), "expected a non-negative integer"))?;
    Ok(Spanned {
        value: lit.base10_parse()?,
        span: lit.span(),
    })
}

/// Largest `stride` or `dilation`.
pub const MAX_STEP: usize = 1 << 16;
/// Largest channel count of one block.
pub const MAX_CHANNELS: usize = 1 << 16;
/// Largest explicit padding amount on one side of an axis.
pub const MAX_PADDING: usize = 1 << 16;
// These limits keep every count and offset the generated code computes (e.g. the per-pixel
// multiply-adds Σ c_out · c_in · M^d · d^(k_in + k_out), with M^d · d^(k_in + k_out) ≤
// `MAX_PAIR_ENTRIES`) far from `usize` overflow.

/// An integer in `1..=max`; `what` names the option in the error.
fn parse_bounded(value: &TokenStream, what: &str, max: usize) -> syn::Result<Spanned<usize>> {
    let parsed = parse_usize(value)?;
    if parsed.value == 0 {
        return Err(syn::Error::new(
            parsed.span,
            format!("`{what}` must be at least 1"),
        ));
    }
    if parsed.value > max {
        return Err(syn::Error::new(
            parsed.span,
            format!(
                "`{what}` = {} is too large: use at most {max}",
                parsed.value
            ),
        ));
    }
    Ok(parsed)
}

fn parse_ident_choice(value: &TokenStream, what: &str, choices: &[&str]) -> syn::Result<String> {
    let expected = choices.join(" | ");
    let ident: syn::Ident = syn::parse2(value.clone())
        .map_err(|_| syn::Error::new(value.span(), format!("expected `{what} = {expected}`")))?;
    let name = ident.to_string();
    if choices.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(syn::Error::new(
            ident.span(),
            format!("unknown {what} `{name}`: expected one of {expected}"),
        ))
    }
}

fn parse_bias(value: &TokenStream) -> syn::Result<BiasSpec> {
    let name = parse_ident_choice(value, "bias", &["auto", "mean", "scalar", "none"])?;
    Ok(match name.as_str() {
        "auto" => BiasSpec::Auto,
        "mean" => BiasSpec::Mean,
        "scalar" => BiasSpec::Scalar,
        _ => BiasSpec::None,
    })
}

fn parse_convention(value: &TokenStream) -> syn::Result<ConventionSpec> {
    let name = parse_ident_choice(value, "convention", &["ginjax", "canonical"])?;
    Ok(if name == "ginjax" {
        ConventionSpec::Ginjax
    } else {
        ConventionSpec::Canonical
    })
}

/// The single group of `value` with delimiter `delimiter`, if `value` is exactly that.
fn single_group(value: &TokenStream, delimiter: Delimiter) -> Option<proc_macro2::Group> {
    let mut iter = value.clone().into_iter();
    match (iter.next(), iter.next()) {
        (Some(TokenTree::Group(g)), None) if g.delimiter() == delimiter => Some(g),
        _ => None,
    }
}

fn parse_padding(value: &TokenStream) -> syn::Result<Spanned<PaddingSpec>> {
    let span = value.span();
    if let Some(group) = single_group(value, Delimiter::Bracket) {
        let mut pairs = Vec::new();
        for entry in split_commas(group.stream()) {
            let pair = single_group(&entry, Delimiter::Parenthesis).ok_or_else(|| {
                syn::Error::new(entry.span(), "expected a padding pair `(lo, hi)`")
            })?;
            let parts = split_commas(pair.stream());
            if parts.len() != 2 {
                return Err(syn::Error::new(
                    pair.span(),
                    "expected a padding pair `(lo, hi)` of two non-negative integers",
                ));
            }
            let amount = |part: &TokenStream| -> syn::Result<usize> {
                let parsed = parse_usize(part)?;
                if parsed.value > MAX_PADDING {
                    return Err(syn::Error::new(
                        parsed.span,
                        format!(
                            "padding {} is too large: use at most {MAX_PADDING}",
                            parsed.value
                        ),
                    ));
                }
                Ok(parsed.value)
            };
            pairs.push((amount(&parts[0])?, amount(&parts[1])?));
        }
        return Ok(Spanned {
            value: PaddingSpec::Explicit(pairs),
            span,
        });
    }
    let name = parse_ident_choice(value, "padding", &["torus", "same", "valid"]).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}, or a list `[(lo, hi), ...]` with one pair per spatial axis"),
        )
    })?;
    let value = match name.as_str() {
        "torus" => PaddingSpec::Torus,
        "same" => PaddingSpec::Same,
        _ => PaddingSpec::Valid,
    };
    Ok(Spanned { value, span })
}

const TYPES: &str = "scalar, pseudoscalar, vector, pseudovector or (k, p)";

/// Parses `[type: channels, ...]`; entry errors are recorded and the entry skipped.
fn parse_signature(value: &TokenStream, errors: &mut Errors) -> syn::Result<Vec<BlockSpec>> {
    let group = single_group(value, Delimiter::Bracket).ok_or_else(|| {
        syn::Error::new(
            value.span(),
            format!("expected a signature `[<type>: <channels>, ...]` with <type> one of {TYPES}"),
        )
    })?;
    let mut blocks: Vec<BlockSpec> = Vec::new();
    let entries = split_commas(group.stream());
    if entries.is_empty() {
        return Err(syn::Error::new(
            group.span(),
            "a signature needs at least one `<type>: <channels>` entry",
        ));
    }
    for entry in entries {
        match parse_block(&entry) {
            Ok(block) => {
                if let Some(first) = blocks.iter().find(|b| b.ty == block.ty) {
                    let mut error = syn::Error::new(
                        block.span,
                        format!(
                            "tensor type `{}` appears twice in this signature",
                            block.ty.name()
                        ),
                    );
                    error.combine(syn::Error::new(first.span, "first given here"));
                    errors.push_error(error);
                } else {
                    blocks.push(block);
                }
            }
            Err(error) => errors.push_error(error),
        }
    }
    Ok(blocks)
}

fn parse_block(entry: &TokenStream) -> syn::Result<BlockSpec> {
    let tokens: Vec<TokenTree> = entry.clone().into_iter().collect();
    let colon = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ':'))
        .ok_or_else(|| {
            syn::Error::new(
                entry.span(),
                "expected `<type>: <channels>`, e.g. `vector: 8`",
            )
        })?;
    let ty_tokens: TokenStream = tokens[..colon].iter().cloned().collect();
    let count: TokenStream = tokens[colon + 1..].iter().cloned().collect();
    let span = ty_tokens.span();
    let ty = parse_type(&ty_tokens)?;
    let channels = parse_usize(&count).map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a channel count (a positive integer) after `:`",
        )
    })?;
    if channels.value == 0 {
        return Err(syn::Error::new(
            channels.span,
            "a block needs at least one channel",
        ));
    }
    if channels.value > MAX_CHANNELS {
        return Err(syn::Error::new(
            channels.span,
            format!(
                "{} channels is too many: use at most {MAX_CHANNELS} per block",
                channels.value
            ),
        ));
    }
    Ok(BlockSpec {
        ty,
        channels: channels.value,
        span,
    })
}

/// Largest tensor order accepted in a signature.
pub const MAX_K: usize = 4;

fn parse_type(tokens: &TokenStream) -> syn::Result<TensorType> {
    if let Some(group) = single_group(tokens, Delimiter::Parenthesis) {
        let parts = split_commas(group.stream());
        if parts.len() != 2 {
            return Err(syn::Error::new(
                group.span(),
                "expected a tensor type `(k, p)`: order k and parity p (0 or 1)",
            ));
        }
        let k = parse_usize(&parts[0])?;
        let p = parse_usize(&parts[1])?;
        if k.value > MAX_K {
            return Err(syn::Error::new(
                k.span,
                format!(
                    "tensor order {} is not supported: use k in 0..={MAX_K}",
                    k.value
                ),
            ));
        }
        if p.value > 1 {
            return Err(syn::Error::new(p.span, "parity must be 0 or 1"));
        }
        return Ok(TensorType {
            k: k.value,
            parity: p.value as u8,
        });
    }
    let ident: syn::Ident = syn::parse2(tokens.clone())
        .map_err(|_| syn::Error::new(tokens.span(), format!("expected a tensor type: {TYPES}")))?;
    let (k, parity) = match ident.to_string().as_str() {
        "scalar" => (0, 0),
        "pseudoscalar" => (0, 1),
        "vector" => (1, 0),
        "pseudovector" => (1, 1),
        other => {
            return Err(syn::Error::new(
                ident.span(),
                format!("unknown tensor type `{other}`: expected {TYPES}"),
            ))
        }
    };
    Ok(TensorType { k, parity })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(attr: TokenStream) -> Result<LayerSpec, Vec<String>> {
        let mut errors = Errors::new();
        let spec = parse_spec(attr, &mut errors);
        match errors.finish(()) {
            Ok(()) => Ok(spec.expect("no error means a spec")),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    #[test]
    fn defaults_and_tensor_types() {
        let spec = parse(quote!(dim = 3, filter_size = 5,
                                input = [scalar: 1, pseudovector: 2, (2, 1): 3],
                                output = [pseudoscalar: 4]))
        .unwrap();
        assert_eq!((spec.dim.value, spec.filter_size.value), (3, 5));
        let types: Vec<_> = spec
            .input
            .iter()
            .map(|b| (b.ty.k, b.ty.parity, b.channels))
            .collect();
        assert_eq!(types, vec![(0, 0, 1), (1, 1, 2), (2, 1, 3)]);
        assert_eq!(spec.output[0].ty, TensorType { k: 0, parity: 1 });
        assert_eq!(spec.bias, BiasSpec::Auto);
        assert_eq!(spec.padding.value, PaddingSpec::Torus);
        assert_eq!((spec.stride, spec.dilation), (1, 1));
        assert_eq!(spec.convention, ConventionSpec::Ginjax);
        assert!(!spec.allow_missing);
    }

    #[test]
    fn every_option() {
        let spec = parse(quote!(dim = 2, filter_size = 2, input = [vector: 1],
                                output = [vector: 1], bias = scalar,
                                padding = [(1, 0), (0, 1)], stride = 2, dilation = 3,
                                convention = canonical, allow_missing))
        .unwrap();
        assert_eq!(spec.bias, BiasSpec::Scalar);
        assert_eq!(
            spec.padding.value,
            PaddingSpec::Explicit(vec![(1, 0), (0, 1)])
        );
        assert_eq!((spec.stride, spec.dilation), (2, 3));
        assert_eq!(spec.convention, ConventionSpec::Canonical);
        assert!(spec.allow_missing);
    }

    #[test]
    fn errors_are_collected_in_order() {
        let errors = parse(
            quote!(dim = x, filter_size = 3, input = [vector 1, vector: 1],
                                  output = [vector: 1, vector: 2], padding = wrap,
                                  allow_missing = yes),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "expected a non-negative integer".to_string(),
                "expected `<type>: <channels>`, e.g. `vector: 8`".to_string(),
                "tensor type `vector` appears twice in this signature".to_string(),
                "first given here".to_string(),
                "unknown padding `wrap`: expected one of torus | same | valid, or a list \
                 `[(lo, hi), ...]` with one pair per spatial axis"
                    .to_string(),
                "`allow_missing` is a flag and takes no value".to_string(),
                "missing required option `dim = <d>`".to_string(),
            ]
        );
    }
}
