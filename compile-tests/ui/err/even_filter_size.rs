use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 2, filter_size = 4, input = [scalar: 1], output = [scalar: 1])]
struct EvenTorus;

#[equivariant_layer(dim = 2, filter_size = 2, input = [scalar: 1], output = [scalar: 1],
                    padding = same)]
struct EvenSame;

#[equivariant_layer(dim = 2, filter_size = 0, input = [scalar: 1], output = [scalar: 1],
                    padding = valid)]
struct ZeroSize;

fn main() {}
