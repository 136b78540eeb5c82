use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 1, pseudoscalar: 1],
                    output = [pseudoscalar: 1, scalar: 1], allow_missing)]
struct Block;

fn main() {}
