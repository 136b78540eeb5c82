//! Generated layers are equivariant: `f(g·x) = g·f(x)` for every element g of B_d, for d = 2
//! and 3, torus and zero padding (square images, stride 1), tensors and pseudo-tensors.

use ginrs_runtime::check::equivariance::{check_layer, Elements};
use ginrs_runtime::group::Group;
use ginrs_runtime::ops::action::Action;
use ginrs_runtime::{equivariant_layer, Geometry, MultiImage, TypedLayer};
use ginrs_tests::data::random_image;

#[equivariant_layer(dim = 2, filter_size = 3, input = [scalar: 2, vector: 2, pseudoscalar: 1],
                    output = [scalar: 2, vector: 1, pseudovector: 1, (2, 1): 1], allow_missing)]
struct D2Mixed;

#[equivariant_layer(dim = 2, filter_size = 5, input = [vector: 2, (2, 0): 1],
                    output = [pseudoscalar: 1, vector: 2], padding = same, bias = mean)]
struct D2M5Same;

#[equivariant_layer(dim = 3, filter_size = 3, input = [scalar: 1, vector: 2],
                    output = [scalar: 2, vector: 1], dilation = 2)]
struct D3Torus;

#[equivariant_layer(dim = 3, filter_size = 3, input = [vector: 1, pseudovector: 1],
                    output = [vector: 1, pseudovector: 1], padding = same)]
struct D3Pseudo;

fn random_input<L: TypedLayer>(geometry: &Geometry) -> MultiImage {
    let signature = <L::Input as ginrs_runtime::__private::SignatureType>::signature();
    random_image(&signature, geometry, 0)
}

fn check<L: TypedLayer>(layer: &L, geometry: Geometry) {
    let x = random_input::<L>(&geometry);
    // The runtime's equivariance check agrees.
    let report = check_layer(layer, &x, &Elements::All).unwrap();
    assert_eq!(
        report.per_element.len(),
        Group::hyperoctahedral(geometry.dim()).unwrap().order()
    );
    assert!(
        report.holds(1e-5),
        "relative error {}",
        report.relative_error
    );
    let fx = layer.forward(&x).unwrap();
    let scale = fx
        .blocks()
        .iter()
        .flat_map(|b| b.data())
        .fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);
    let group = Group::hyperoctahedral(geometry.dim()).unwrap();
    for g in group.elements() {
        let on_input = Action::new(g, x.geometry()).unwrap();
        let on_output = Action::new(g, fx.geometry()).unwrap();
        let left = layer.forward(&on_input.apply(&x).unwrap()).unwrap();
        let right = on_output.apply(&fx).unwrap();
        assert_eq!(left.signature(), right.signature());
        for (a, b) in left.blocks().iter().zip(right.blocks()) {
            for (u, v) in a.data().iter().zip(b.data()) {
                assert!(
                    (u - v).abs() <= 1e-5 * scale,
                    "{g:?}, {:?}: f(g·x) = {u}, g·f(x) = {v}",
                    a.key()
                );
            }
        }
    }
}

#[test]
fn d2_torus_mixed_types() {
    check(&D2Mixed::new(1), Geometry::square(2, 7, true).unwrap());
}

#[test]
fn d2_m5_zero_padding() {
    check(&D2M5Same::new(2), Geometry::square(2, 8, false).unwrap());
}

#[test]
fn d3_torus_dilated() {
    check(&D3Torus::new(3), Geometry::square(3, 5, true).unwrap());
}

#[test]
fn d3_pseudovectors_zero_padding() {
    check(&D3Pseudo::new(4), Geometry::square(3, 4, false).unwrap());
}
