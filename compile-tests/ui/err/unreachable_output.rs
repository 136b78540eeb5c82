use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 3, filter_size = 3, input = [scalar: 4],
                    output = [scalar: 4, pseudoscalar: 1], allow_missing)]
struct Block;

fn main() {}
