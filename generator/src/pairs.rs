//! ginjax's rules for the block pairs of a `ConvContract`, on plain tensor types `(k, parity)`:
//! the filters a pair needs, the order of pairs and of outputs, and the message for a pair
//! without invariant filters. Used by the runtime's `ConvContract` and by the code generator.

/// A tensor type: order k and parity p (0 or 1).
pub type TensorType = (usize, u8);

/// The type of the invariant filters that map `input` to `output`: order `k_in + k_out`,
/// parity `(p_in + p_out) mod 2` (ginjax's `ConvContract` looks up
/// `(k_in + k_out, (p_in + p_out) % 2)` in its filter bank).
pub fn filter_type(input: TensorType, output: TensorType) -> TensorType {
    (input.0 + output.0, (input.1 + output.1) % 2)
}

/// Every (input index, output index) pair in ginjax's order: input-major, output-minor.
pub fn pair_order(inputs: usize, outputs: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..inputs).flat_map(move |i| (0..outputs).map(move |o| (i, o)))
}

/// The output order of a layer: output indices in the order in which the realisable pairs,
/// taken in [`pair_order`], first reach them (ginjax's output dictionary fills in that order).
pub fn output_order(realisable: impl IntoIterator<Item = (usize, usize)>) -> Vec<usize> {
    let mut order = Vec::new();
    for (_, o) in realisable {
        if !order.contains(&o) {
            order.push(o);
        }
    }
    order
}

/// The name of a tensor type: `scalar`, `pseudoscalar`, `vector`, `pseudovector`, else `(k, p)`.
pub fn type_name(ty: TensorType) -> String {
    match ty {
        (0, 0) => "scalar".into(),
        (0, 1) => "pseudoscalar".into(),
        (1, 0) => "vector".into(),
        (1, 1) => "pseudovector".into(),
        (k, p) => format!("({k}, {p})"),
    }
}

/// Why `input` cannot be mapped to `output` with filters of side `filter_size` in dimension
/// `dim`: there are no invariant filters of the pair's [`filter_type`]. Callers append how to
/// fix it.
pub fn missing_filter_message(
    input: TensorType,
    output: TensorType,
    dim: usize,
    filter_size: usize,
) -> String {
    let (order, parity) = filter_type(input, output);
    format!(
        "no invariant filter maps `{}` to `{}` for d = {dim}, filter_size = {filter_size}: the \
         number of invariant filters of order k_in + k_out = {order} and parity {parity} is 0",
        type_name(input),
        type_name(output)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_types_add_orders_and_parities() {
        assert_eq!(filter_type((1, 0), (1, 0)), (2, 0));
        assert_eq!(filter_type((1, 1), (2, 1)), (3, 0));
        assert_eq!(filter_type((0, 0), (0, 1)), (0, 1));
    }

    #[test]
    fn outputs_follow_first_reach_in_pair_order() {
        assert_eq!(
            pair_order(2, 3).collect::<Vec<_>>(),
            [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
        );
        // Input 0 reaches only output 2; input 1 reaches 0 and 2.
        let realisable = pair_order(2, 3).filter(|&p| [(0, 2), (1, 0), (1, 2)].contains(&p));
        assert_eq!(output_order(realisable), [2, 0]);
    }

    #[test]
    fn missing_message_names_types_and_filter_type() {
        assert_eq!(
            missing_filter_message((0, 0), (0, 1), 2, 3),
            "no invariant filter maps `scalar` to `pseudoscalar` for d = 2, filter_size = 3: the \
             number of invariant filters of order k_in + k_out = 0 and parity 1 is 0"
        );
        assert_eq!(type_name((2, 1)), "(2, 1)");
    }
}
