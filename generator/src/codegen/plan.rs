//! Validating a [`LayerSpec`] against the exact invariant filter counts and planning every block
//! pair's kernel.

use crate::flops::{FlopCount, PairWork};
use crate::group::Group;
use crate::pairs as pair_rules;

use super::bank;
use super::errors::Errors;
use super::kernel::Schedule;
use super::spec::{BlockSpec, LayerSpec, PaddingSpec};
use super::stencil::{PairFilters, Stencil};

/// Largest spatial dimension accepted by the attribute.
pub const MAX_DIM: usize = crate::group::MAX_DIM;

/// Largest dense filter (`M^d · d^(k_in + k_out)` values) one pair may unroll; bounds the size of
/// generated code.
pub const MAX_PAIR_ENTRIES: usize = 8192;

/// One realisable block pair and its kernel plan.
#[derive(Debug, Clone)]
pub struct PairPlan {
    /// Index into the input signature.
    pub input: usize,
    /// Index into the output signature.
    pub output: usize,
    /// The pair's invariant filters.
    pub filters: PairFilters,
    /// The unrolled kernel.
    pub stencil: Stencil,
}

/// A validated layer: its spec and the kernels of its realisable pairs, in ginjax's pair order.
#[derive(Debug, Clone)]
pub struct LayerPlan {
    /// The declaration.
    pub spec: LayerSpec,
    /// Realisable pairs (input-major, output-minor).
    pub pairs: Vec<PairPlan>,
}

impl LayerPlan {
    /// Work per output pixel (stencil flops from the unrolled kernels).
    pub fn flop_count(&self) -> FlopCount {
        let mut count = FlopCount::default();
        for p in &self.pairs {
            let work = PairWork {
                dim: p.filters.dim,
                filter_pixels: p.filters.taps(),
                in_channels: self.spec.input[p.input].channels,
                out_channels: self.spec.output[p.output].channels,
                k_in: p.filters.k_in,
                k_out: p.filters.k_out,
                filters: p.filters.filters.len(),
            };
            count.add_pair(&work, Some(p.stencil.flops()));
        }
        count
    }
}

/// Checks `spec` and plans its kernels; every problem is recorded in `errors`.
pub fn plan(spec: LayerSpec, errors: &mut Errors) -> Option<LayerPlan> {
    let dim = spec.dim.value;
    let m = spec.filter_size.value;
    let mut usable = true;
    if dim == 0 || dim > MAX_DIM {
        errors.push(
            spec.dim.span,
            format!("spatial dimension d = {dim} is not supported: use d in 1..={MAX_DIM}"),
        );
        usable = false;
    }
    if m == 0 {
        errors.push(spec.filter_size.span, "filter_size must be at least 1");
        usable = false;
    } else if m.is_multiple_of(2) {
        if let PaddingSpec::Torus | PaddingSpec::Same = spec.padding.value {
            let mode = if spec.padding.value == PaddingSpec::Torus {
                "torus"
            } else {
                "same"
            };
            errors.push(
                spec.filter_size.span,
                format!(
                    "filter_size = {m} is even: `{mode}` padding centres the filter and needs an \
                     odd filter_size; use an odd size or explicit padding \
                     (`padding = valid` or `padding = [(lo, hi), ...]`)"
                ),
            );
        }
    }
    if let PaddingSpec::Explicit(pairs) = &spec.padding.value {
        if usable && pairs.len() != dim {
            errors.push(
                spec.padding.span,
                format!(
                    "padding lists {} (lo, hi) pairs but d = {dim}: give one pair per spatial axis",
                    pairs.len()
                ),
            );
        }
    }
    if !usable {
        return None;
    }
    let group = Group::hyperoctahedral(dim).expect("dimension checked above");

    let mut pairs = Vec::new();
    // Pairs with invariant filters, in pair order (they decide the output order).
    let mut realisable = Vec::new();
    for (i, o) in pair_rules::pair_order(spec.input.len(), spec.output.len()) {
        let (input, output) = (&spec.input[i], &spec.output[o]);
        let (order, parity) = pair_rules::filter_type(input.ty.pair_type(), output.ty.pair_type());
        // Checked: filter_size is any literal the user wrote (overflow means too large).
        let entries = m
            .checked_pow(dim as u32)
            .and_then(|pixels| pixels.checked_mul(dim.checked_pow(order as u32)?));
        if entries.is_none_or(|n| n > MAX_PAIR_ENTRIES) {
            let entries = entries.map_or("too many".to_string(), |n| n.to_string());
            errors.push(
                output.span,
                format!(
                    "mapping `{}` to `{}` needs filters of order {order} with {entries} \
                     entries (M^d · d^(k_in + k_out)), more than the {MAX_PAIR_ENTRIES} a \
                     generated kernel unrolls; use smaller tensor orders or filter_size",
                    input.ty.name(),
                    output.ty.name()
                ),
            );
            continue;
        }
        let count = bank::invariant_count(&group, m, order, parity);
        if count == 0 {
            if !spec.allow_missing {
                errors.push(output.span, missing_message(&spec, input, output));
            }
            continue;
        }
        realisable.push((i, o));
        let filters = match bank::pair_filters(
            &group,
            m,
            input.ty.pair_type(),
            output.ty.pair_type(),
            spec.convention,
        ) {
            Ok(filters) => filters,
            Err(error) => {
                errors.push(output.span, error);
                continue;
            }
        };
        // Shared sub-sums pay off when they stay in registers (fused schedule); the
        // streamed schedule reads every term from memory anyway.
        let mut stencil = Stencil::build(&filters);
        if Schedule::for_stencil(&stencil) == Schedule::Fused {
            stencil.share_partial_sums();
        }
        pairs.push(PairPlan {
            input: i,
            output: o,
            filters,
            stencil,
        });
    }
    let first_reach = pair_rules::output_order(realisable);
    if spec.allow_missing {
        for (_, output) in spec
            .output
            .iter()
            .enumerate()
            .filter(|(o, _)| !first_reach.contains(o))
        {
            errors.push(
                output.span,
                format!(
                    "output type `{}` is reached by no input: no invariant filter maps any \
                     input type to it for d = {dim}, filter_size = {m}; remove it or use a \
                     larger filter_size",
                    output.ty.name()
                ),
            );
        }
    }
    if errors.is_empty() && first_reach.iter().enumerate().any(|(pos, &o)| pos != o) {
        let produced: Vec<String> = first_reach
            .iter()
            .map(|&o| {
                let b = &spec.output[o];
                format!("{}: {}", b.ty.name(), b.channels)
            })
            .collect();
        errors.push(
            spec.output[first_reach[0]].span,
            format!(
                "the layer produces its outputs in the order in which input types first reach \
                 them (as ginjax): declare `output = [{}]`",
                produced.join(", ")
            ),
        );
    }
    Some(LayerPlan { spec, pairs })
}

fn missing_message(spec: &LayerSpec, input: &BlockSpec, output: &BlockSpec) -> String {
    format!(
        "{}; use a larger filter_size, or add `allow_missing` to drop this mapping (as ginjax \
         does)",
        pair_rules::missing_filter_message(
            input.ty.pair_type(),
            output.ty.pair_type(),
            spec.dim.value,
            spec.filter_size.value
        )
    )
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::codegen::parse::parse_spec;

    fn plan_of(attr: TokenStream) -> Result<LayerPlan, Vec<String>> {
        let mut errors = Errors::new();
        let planned = parse_spec(attr, &mut errors).and_then(|s| plan(s, &mut errors));
        match errors.finish(()) {
            Ok(()) => Ok(planned.expect("no error means a plan")),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    #[test]
    fn benchmark_pairs_use_the_exact_counts() {
        let plan = plan_of(
            quote!(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                                  output = [scalar: 8, vector: 8]),
        )
        .unwrap();
        let counts: Vec<_> = plan
            .pairs
            .iter()
            .map(|p| (p.input, p.output, p.filters.filters.len()))
            .collect();
        // k0p0: 3, k1p0: 2, k1p0: 2, k2p0: 5 (d = 2, M = 3).
        assert_eq!(counts, vec![(0, 0, 3), (0, 1, 2), (1, 0, 2), (1, 1, 5)]);
        assert_eq!(plan.flop_count().gemm_muladds, 64 * (3 + 2 * 2 + 2 + 5 * 2));
        assert_eq!(plan.flop_count().dense_muladds, 64 * 9 * (1 + 2 + 2 + 4));
    }

    #[test]
    fn missing_mappings_fail_or_are_dropped() {
        let errors = plan_of(quote!(dim = 2, filter_size = 3, input = [scalar: 1],
                                    output = [pseudoscalar: 1]))
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("order k_in + k_out = 0 and parity 1 is 0"),
            "{errors:?}"
        );
        // With M = 5 a pseudoscalar filter exists.
        let plan = plan_of(quote!(dim = 2, filter_size = 5, input = [scalar: 1],
                                  output = [pseudoscalar: 1]))
        .unwrap();
        assert_eq!(plan.pairs[0].filters.filters.len(), 1);
        let plan = plan_of(
            quote!(dim = 2, filter_size = 3, input = [scalar: 1, pseudoscalar: 1],
                                  output = [scalar: 1], allow_missing),
        )
        .unwrap();
        assert_eq!(plan.pairs.len(), 1);
    }

    #[test]
    fn geometry_errors() {
        let errors = plan_of(quote!(dim = 2, filter_size = 3, input = [scalar: 1],
                                    output = [scalar: 1], padding = [(1, 1)]))
        .unwrap_err();
        assert_eq!(
            errors,
            vec!["padding lists 1 (lo, hi) pairs but d = 2: give one pair per spatial axis"]
        );
        // d = 1 allows high orders: 3 · 1^8 entries.
        let plan = plan_of(quote!(dim = 1, filter_size = 3, input = [(4, 0): 1],
                                  output = [(4, 0): 1]))
        .unwrap();
        assert_eq!(plan.pairs.len(), 1);
        let errors = plan_of(quote!(dim = 3, filter_size = 5, input = [(3, 0): 1],
                                    output = [(2, 0): 1]))
        .unwrap_err();
        assert!(errors[0].contains("more than the 8192"), "{errors:?}");
    }
}
