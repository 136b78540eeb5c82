//! Zero-copy conversions between image blocks and ndarray arrays.

use ginrs_runtime::{Geometry, ImageBlock, ImageError, TensorKey};
use ndarray::{ArrayD, IxDyn};

fn vector_block() -> ImageBlock {
    let geometry = Geometry::new(vec![2, 3], vec![true, false]).unwrap();
    let data: Vec<f32> = (0..2 * 2 * 3 * 2).map(|x| x as f32).collect();
    ImageBlock::new(geometry, TensorKey::vector(), 2, data).unwrap()
}

#[test]
fn views_index_in_ginjax_layout() {
    let block = vector_block();
    let view = block.view();
    assert_eq!(view.shape(), &[2, 2, 3, 2]);
    // Channel 1, pixel (1, 2), component 0 is at row-major offset ((1*2 + 1)*3 + 2)*2 = 22.
    assert_eq!(view[[1, 1, 2, 0]], 22.0);
    assert_eq!(
        view.as_ptr(),
        block.data().as_ptr(),
        "the view borrows the buffer"
    );
}

#[test]
fn mutable_view_writes_through() {
    let mut block = vector_block();
    block.view_mut()[[0, 0, 1, 1]] = -5.0;
    assert_eq!(block.data()[3], -5.0);
}

#[test]
fn round_trip_moves_the_buffer() {
    let block = vector_block();
    let expected = block.clone();
    let pointer = block.data().as_ptr();
    let array = block.into_ndarray();
    assert_eq!(array.as_ptr(), pointer, "into_ndarray moves the buffer");
    let back = ImageBlock::from_ndarray(array, TensorKey::vector(), vec![true, false]).unwrap();
    assert_eq!(
        back.data().as_ptr(),
        pointer,
        "from_ndarray moves the buffer"
    );
    assert_eq!(back, expected);
}

#[test]
fn non_standard_layout_is_copied_correctly() {
    let array = ArrayD::from_shape_vec(IxDyn(&[3, 2]), (0..6).map(|x| x as f32).collect()).unwrap();
    // The transpose, shape (2, 3) = (channels, spatial) of a d = 1 scalar image.
    let reversed = array.reversed_axes();
    assert!(!reversed.is_standard_layout());
    let block = ImageBlock::from_ndarray(reversed, TensorKey::scalar(), vec![true]).unwrap();
    assert_eq!(block.data(), &[0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
}

#[test]
fn bad_shapes_are_named() {
    let array = ArrayD::<f32>::zeros(IxDyn(&[2, 4, 4, 3]));
    let err = ImageBlock::from_ndarray(array, TensorKey::vector(), vec![true, true]).unwrap_err();
    assert_eq!(
        err,
        ImageError::TensorAxis {
            key: "vector".into(),
            axis: 3,
            side: 3,
            dim: 2
        }
    );
    let array = ArrayD::<f32>::zeros(IxDyn(&[2, 2]));
    let err = ImageBlock::from_ndarray(array, TensorKey::new(1, 0), vec![true]).unwrap_err();
    assert!(matches!(
        err,
        ImageError::ArrayRank {
            rank: 2,
            min: 3,
            ..
        }
    ));
    let array = ArrayD::<f32>::zeros(IxDyn(&[2, 4, 4]));
    let err = ImageBlock::from_ndarray(array, TensorKey::scalar(), vec![true]).unwrap_err();
    assert!(matches!(err, ImageError::TorusFlags { dim: 2, got: 1 }));
}
