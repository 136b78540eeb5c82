use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                    output = [scalar: 8, pseudoscalar: 2])]
struct Block;

fn main() {}
