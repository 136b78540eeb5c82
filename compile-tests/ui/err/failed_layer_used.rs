use ginrs_runtime::{equivariant_layer, Geometry, Layer, MultiImage, TypedLayer};

// The attribute fails to parse: only its error is reported, not the uses below.
#[equivariant_layer(dim = 2, filter_size = 3, input = [scalr: 8], output = [scalar: 8])]
pub struct Misspelled;

// The attribute parses but fails validation: the declared signatures still type the chain.
#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8],
                    output = [scalar: 8, pseudoscalar: 2])]
pub struct Unmapped;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, pseudoscalar: 2],
                    output = [scalar: 8, pseudoscalar: 2], allow_missing)]
pub struct Next;

fn main() {
    let x = MultiImage::new(Geometry::square(2, 8, true).unwrap());
    let layer = Misspelled::new(0);
    let _ = layer.forward(&x);
    let _ = Layer::forward_batch(&layer, &[x.clone()]);
    let _ = (Misspelled::INPUT_SIGNATURE, Misspelled::DIM);
    let _ = Unmapped::new(0).then(Next::new(1)).forward(&x);
    let _ = Unmapped::from_weights(&layer.to_weights());
}
