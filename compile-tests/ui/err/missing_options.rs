use ginrs_runtime::equivariant_layer;

#[equivariant_layer(filter_size = 3, input = [scalar: 8])]
struct Block;

fn main() {}
