//! The filter banks a generated layer is built from: the generator's exact invariant counts and
//! banks ([`crate::filters`]), arranged per block pair.

use crate::filters::{self, BankOptions, Convention, FilterError};
use crate::group::Group;
use crate::pairs;

use super::spec::ConventionSpec;
use super::stencil::PairFilters;

/// The exact number of invariant filters of order `k`, parity `parity`, side `m` under `group`
/// (the character formula).
pub fn invariant_count(group: &Group, m: usize, k: usize, parity: u8) -> u64 {
    filters::invariant_count(group, m, k, parity)
}

/// The filters of a block pair `(k_in, p_in) → (k_out, p_out)`: the bank of order
/// `k_in + k_out` and parity `p_in + p_out` in `convention`, dense, in ginjax layout (the first
/// `k_in` tensor indices contract with the input).
pub fn pair_filters(
    group: &Group,
    m: usize,
    (k_in, p_in): (usize, u8),
    (k_out, p_out): (usize, u8),
    convention: ConventionSpec,
) -> Result<PairFilters, FilterError> {
    let options = BankOptions {
        convention: match convention {
            ConventionSpec::Ginjax => Convention::Ginjax,
            ConventionSpec::Canonical => Convention::Canonical,
        },
        ..BankOptions::default()
    };
    let (order, parity) = pairs::filter_type((k_in, p_in), (k_out, p_out));
    let bank = filters::invariant_bank(group, m, order, parity, &options)?;
    Ok(PairFilters {
        dim: group.dim(),
        filter_size: m,
        k_in,
        k_out,
        filters: bank.filters().to_vec(),
    })
}
