use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalr: 8, (2, 3): 1, (9, 0): 1],
                    output = [vector: 8])]
struct Block;

fn main() {}
