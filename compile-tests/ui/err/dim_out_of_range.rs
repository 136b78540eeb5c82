use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 7, filter_size = 3, input = [scalar: 1], output = [scalar: 1])]
struct TooManyAxes;

#[equivariant_layer(dim = 0, filter_size = 3, input = [scalar: 1], output = [scalar: 1])]
struct NoAxes;

fn main() {}
