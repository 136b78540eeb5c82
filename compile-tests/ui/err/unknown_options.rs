use ginrs_runtime::equivariant_layer;

// Every problem is reported at once, each at its token.
#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8], output = [scalar: 0],
                    paddding = torus, bias = always, convention = jax, stride = 0,
                    dim = 3)]
struct Block;

fn main() {}
