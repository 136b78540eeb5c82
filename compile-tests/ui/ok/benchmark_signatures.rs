//! The four benchmark layers compile, run, and chain with themselves.
use ginrs_runtime::{equivariant_layer, Geometry, ImageBlock, Layer, MultiImage, TypedLayer};

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 8, vector: 8],
                    output = [scalar: 8, vector: 8])]
pub struct D2N64M3S8V8;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 16, vector: 16],
                    output = [scalar: 16, vector: 16])]
pub struct D2N128M3S16V16;

#[equivariant_layer(dim = 2, filter_size = 5, input = [vector: 8], output = [vector: 8])]
pub struct D2N64M5V8;

#[equivariant_layer(dim = 3, filter_size = 3, input = [scalar: 4, vector: 4],
                    output = [scalar: 4, vector: 4])]
pub struct D3N16M3S4V4;

fn ones(dim: usize, side: usize, entries: &[(usize, u8, usize)]) -> MultiImage {
    let geometry = Geometry::square(dim, side, true).unwrap();
    let mut image = MultiImage::new(geometry.clone());
    for &(k, p, c) in entries {
        let key = ginrs_runtime::TensorKey::new(k, p);
        let len = c * geometry.pixels() * key.components(dim);
        image.insert(ImageBlock::new(geometry.clone(), key, c, vec![1.0; len]).unwrap()).unwrap();
    }
    image
}

fn main() {
    let x = ones(2, 8, D2N64M3S8V8::INPUT_SIGNATURE);
    let y = D2N64M3S8V8::new(0).then(D2N64M3S8V8::new(1)).forward(&x).unwrap();
    assert_eq!(y.blocks().len(), 2);
    let x = ones(2, 8, D2N128M3S16V16::INPUT_SIGNATURE);
    assert_eq!(D2N128M3S16V16::new(0).forward(&x).unwrap().blocks()[1].channels(), 16);
    let x = ones(2, 8, D2N64M5V8::INPUT_SIGNATURE);
    assert_eq!(D2N64M5V8::new(0).forward(&x).unwrap().blocks().len(), 1);
    let x = ones(3, 4, D3N16M3S4V4::INPUT_SIGNATURE);
    assert_eq!(D3N16M3S4V4::new(0).forward_batch(&[x.clone(), x]).unwrap().len(), 2);
}
