//! Tensor types up to k = 3, pseudo-tensors, explicit padding and dropped mappings.
use ginrs_runtime::{equivariant_layer, Layer};

#[equivariant_layer(dim = 2, filter_size = 3, input = [(3, 0): 1, (2, 1): 2],
                    output = [pseudovector: 2, (3, 1): 1], padding = [(1, 1), (2, 0)],
                    bias = none, convention = canonical)]
struct HigherOrder;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 1, pseudoscalar: 1],
                    output = [scalar: 1, pseudoscalar: 1], allow_missing)]
struct DropsScalarToPseudoscalar;

fn main() {
    assert_eq!(HigherOrder::INPUT_SIGNATURE, &[(3, 0, 1), (2, 1, 2)]);
    let _ = HigherOrder::new(3);
    let layer = DropsScalarToPseudoscalar::new(0);
    // scalar → pseudoscalar and pseudoscalar → scalar have no 3×3 filter: two pairs remain.
    assert_eq!(layer.contract().dropped_pairs().len(), 2);
    let _: &dyn Layer = &layer;
}
