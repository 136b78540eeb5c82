use ginrs_runtime::equivariant_layer;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 1], output = [scalar: 1])]
struct Block {
    weights: Vec<f32>,
}

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 1], output = [scalar: 1])]
fn not_a_struct() {}

fn main() {}
