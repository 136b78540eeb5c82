use ginrs_runtime::{equivariant_layer, TypedLayer};

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                    output = [scalar: 8, vector: 4])]
struct First;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                    output = [vector: 1])]
struct Second;

fn main() {
    let _chain = First::new(0).then(Second::new(1));
}
