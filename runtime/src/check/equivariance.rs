//! Equivariance self-check: for a layer `f`, an input `x` and group elements `g`, measure
//! `max |f(g·x) − g·f(x)|` with the group action of [`crate::ops::action`].
//!
//! The error is reported per element, as a maximum over all of them, and relative to the
//! output scale `max |f(x)|`, together with the worst element. Elements are all of B_d or a
//! reproducible random sample.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use thiserror::Error;

use crate::error::Error;
use crate::group::{Group, SignedPermutation};
use crate::image::MultiImage;
use crate::layers::layer::Layer;
use crate::ops::action::Action;

/// Errors from the equivariance check itself (not from the layer under test).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EquivarianceError {
    /// `f(g·x)` and `g·f(x)` differ in keys, channels or geometry, so they cannot be compared.
    #[error("not comparable for g = {element}: f(g·x) has {got}, g·f(x) has {expected}")]
    Shape {
        /// The group element, as its matrix.
        element: String,
        /// Signature and geometry of `g·f(x)`.
        expected: String,
        /// Signature and geometry of `f(g·x)`.
        got: String,
    },
    /// A list of elements of another dimension than the image.
    #[error("group element {element} has dimension {element_dim}, the image has d = {image_dim}")]
    Dimension {
        /// The element.
        element: String,
        /// Its dimension.
        element_dim: usize,
        /// The image's dimension.
        image_dim: usize,
    },
}

/// Which group elements to check.
#[derive(Debug, Clone, PartialEq)]
pub enum Elements {
    /// Every element of the hyperoctahedral group B_d, in ginjax order.
    All,
    /// `count` elements of B_d drawn uniformly (with replacement) from a ChaCha8 generator
    /// seeded with `seed`.
    Sample {
        /// How many elements.
        count: usize,
        /// The generator's seed.
        seed: u64,
    },
    /// Exactly these elements.
    List(Vec<SignedPermutation>),
}

impl Elements {
    /// The elements for images of dimension `dim`.
    pub fn resolve(&self, dim: usize) -> Result<Vec<SignedPermutation>, Error> {
        let elements = match self {
            Self::All => Group::hyperoctahedral(dim)
                .map_err(|_| crate::image::ImageError::Dimension { dim })?
                .elements()
                .to_vec(),
            Self::Sample { count, seed } => {
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                (0..*count).map(|_| random_element(dim, &mut rng)).collect()
            }
            Self::List(list) => list.clone(),
        };
        if let Some(g) = elements.iter().find(|g| g.dim() != dim) {
            return Err(EquivarianceError::Dimension {
                element: format!("{g:?}"),
                element_dim: g.dim(),
                image_dim: dim,
            }
            .into());
        }
        Ok(elements)
    }
}

/// A uniformly random signed permutation of dimension `dim` (1..=MAX_DIM).
pub fn random_element(dim: usize, rng: &mut impl Rng) -> SignedPermutation {
    let mut cols: Vec<usize> = (0..dim).collect();
    cols.shuffle(rng);
    let signs: Vec<i8> = (0..dim)
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect();
    SignedPermutation::new(&cols, &signs).expect("a shuffled range with ±1 signs")
}

/// The error of one element: `max |f(g·x) − g·f(x)|` over all values.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementError {
    /// The element.
    pub element: SignedPermutation,
    /// The largest absolute difference.
    pub max_abs_error: f32,
}

/// The result of an equivariance check.
#[derive(Debug, Clone, PartialEq)]
pub struct EquivarianceReport {
    /// The error of each element checked, in order.
    pub per_element: Vec<ElementError>,
    /// The largest error over all elements.
    pub max_abs_error: f32,
    /// `max |f(x)|`, the output scale.
    pub output_scale: f32,
    /// `max |x|`, the input scale.
    pub input_scale: f32,
    /// `max_abs_error / output_scale` (0 when both are 0).
    pub relative_error: f32,
    /// The element with the largest error (the first one on ties), if any was checked.
    pub worst: Option<SignedPermutation>,
}

impl EquivarianceReport {
    /// True when the relative error (to the output scale) is at most `tolerance`.
    pub fn holds(&self, tolerance: f32) -> bool {
        self.relative_error <= tolerance
    }

    /// True when the error is at most `tolerance · max(input scale, output scale)`: the test
    /// for layers whose output can be much smaller than their input through cancellation
    /// (e.g. the vector-neuron nonlinearity removing almost all of a vector), where f32
    /// rounding is relative to the input.
    pub fn holds_for_input_scale(&self, tolerance: f32) -> bool {
        self.max_abs_error <= tolerance * self.input_scale.max(self.output_scale)
    }
}

/// Checks `f(g·x) = g·f(x)` for the chosen elements (in parallel over elements).
pub fn check_fn<F>(
    f: F,
    input: &MultiImage,
    elements: &Elements,
) -> Result<EquivarianceReport, Error>
where
    F: Fn(&MultiImage) -> Result<MultiImage, Error> + Sync,
{
    let elements = elements.resolve(input.dim())?;
    let output = f(input)?;
    let per_element = elements
        .par_iter()
        .map(|g| {
            let moved_input = Action::new(g, input.geometry())?.apply(input)?;
            let got = f(&moved_input)?;
            let want = Action::new(g, output.geometry())?.apply(&output)?;
            Ok(ElementError {
                element: *g,
                max_abs_error: max_difference(g, &got, &want)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let output_scale = max_abs(&output);
    let input_scale = max_abs(input);
    let mut max_abs_error = 0f32;
    let mut worst = None;
    for e in &per_element {
        if worst.is_none() || e.max_abs_error > max_abs_error || e.max_abs_error.is_nan() {
            max_abs_error = e.max_abs_error;
            worst = Some(e.element);
        }
    }
    let relative_error = if max_abs_error == 0.0 {
        0.0
    } else {
        max_abs_error / output_scale.max(f32::MIN_POSITIVE)
    };
    Ok(EquivarianceReport {
        per_element,
        max_abs_error,
        output_scale,
        input_scale,
        relative_error,
        worst,
    })
}

/// Checks a [`Layer`]: [`check_fn`] with `layer.forward`.
pub fn check_layer(
    layer: &dyn Layer,
    input: &MultiImage,
    elements: &Elements,
) -> Result<EquivarianceReport, Error> {
    check_fn(|x| layer.forward(x), input, elements)
}

/// The largest absolute value of an image (0 when empty).
fn max_abs(image: &MultiImage) -> f32 {
    image
        .blocks()
        .iter()
        .flat_map(|b| b.data())
        .fold(0f32, |m, v| m.max(v.abs()))
}

/// `max |got − want|` after checking that the two are comparable (NaN if any value is NaN).
fn max_difference(
    g: &SignedPermutation,
    got: &MultiImage,
    want: &MultiImage,
) -> Result<f32, EquivarianceError> {
    if got.signature() != want.signature() || got.geometry() != want.geometry() {
        return Err(EquivarianceError::Shape {
            element: format!("{g:?}"),
            expected: format!("{} on {:?}", want.signature(), want.geometry()),
            got: format!("{} on {:?}", got.signature(), got.geometry()),
        });
    }
    let mut max = 0f32;
    for (a, b) in got.blocks().iter().zip(want.blocks()) {
        for (x, y) in a.data().iter().zip(b.data()) {
            let diff = (x - y).abs();
            if diff.is_nan() {
                return Ok(f32::NAN);
            }
            max = max.max(diff);
        }
    }
    Ok(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Geometry, ImageBlock, TensorKey};

    fn vector_image() -> MultiImage {
        let geometry = Geometry::square(2, 3, true).unwrap();
        let data = (0..18).map(|i| i as f32 - 8.5).collect();
        let block = ImageBlock::new(geometry.clone(), TensorKey::vector(), 1, data).unwrap();
        MultiImage::from_blocks(geometry, vec![block]).unwrap()
    }

    #[test]
    fn identity_map_is_equivariant() {
        let report = check_fn(|x| Ok(x.clone()), &vector_image(), &Elements::All).unwrap();
        assert_eq!(report.per_element.len(), 8);
        assert_eq!(report.max_abs_error, 0.0);
        assert!(report.holds(0.0));
    }

    #[test]
    fn a_non_equivariant_map_is_caught() {
        // Adding a constant to the first vector component breaks every element that moves
        // or flips axis 0.
        let shift = |x: &MultiImage| -> Result<MultiImage, Error> {
            let mut y = x.clone();
            for block in y.blocks_mut() {
                block
                    .data_mut()
                    .iter_mut()
                    .step_by(2)
                    .for_each(|v| *v += 1.0);
            }
            Ok(y)
        };
        let report = check_fn(shift, &vector_image(), &Elements::All).unwrap();
        assert_eq!(report.per_element[0].max_abs_error, 0.0); // identity
        assert_eq!(report.per_element[1].max_abs_error, 0.0); // diag(1, −1) keeps component 0
        assert_eq!(report.max_abs_error, 2.0); // diag(−1, 1): v0 + 1 vs v0 − 1
        assert_eq!(
            report.worst,
            Some(Group::hyperoctahedral(2).unwrap().elements()[2])
        );
        assert!(!report.holds(0.1));
    }

    #[test]
    fn samples_are_reproducible_and_sized() {
        let a = Elements::Sample { count: 5, seed: 9 }.resolve(3).unwrap();
        let b = Elements::Sample { count: 5, seed: 9 }.resolve(3).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        assert!(a.iter().all(|g| g.dim() == 3));
        let wrong = Elements::List(a).resolve(2);
        assert!(matches!(
            wrong,
            Err(Error::Equivariance(EquivarianceError::Dimension { .. }))
        ));
    }
}
