//! The scalar activations of [`super::VectorNeuronNonlinear`] (ginjax's `scalar_activation`)
//! and the derivatives of the named ones, for the layer's backward pass.

use std::fmt;
use std::sync::Arc;

use super::NonlinearError;
use crate::kernels::simd::widest;

/// The scalar activation: applied elementwise to `((), 0)` blocks and to the signed lengths
/// of every other block.
#[derive(Clone, Default)]
pub enum Activation {
    /// `max(x, 0)` (ginjax's default, `jax.nn.relu`).
    #[default]
    Relu,
    /// `jax.nn.gelu` with its default `approximate=True`:
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    Gelu,
    /// `tanh(x)` (`jax.nn.tanh`).
    Tanh,
    /// Any function of one f32.
    Custom(Arc<dyn Fn(f32) -> f32 + Send + Sync>),
}

impl Activation {
    /// A custom activation from a function.
    pub fn custom(f: impl Fn(f32) -> f32 + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }

    /// Applies the activation to one value.
    #[inline]
    pub fn apply(&self, x: f32) -> f32 {
        match self {
            // Keeps NaN, like jax.nn.relu.
            Self::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Self::Gelu => gelu(x),
            Self::Tanh => fast_tanh(x),
            Self::Custom(f) => f(x),
        }
    }

    /// Applies the activation to every value of `values`, in place (one dispatch, so the
    /// named activations vectorise).
    pub fn apply_slice(&self, values: &mut [f32]) {
        widest(
            #[inline(always)]
            || self.apply_slice_inlined(values),
        )
    }

    /// [`Self::apply_slice`] inlined into the caller, for callers already compiled for wide
    /// vectors (inside [`widest`]).
    #[inline(always)]
    pub(super) fn apply_slice_inlined(&self, values: &mut [f32]) {
        match self {
            // A select rather than a conditional store, so that it vectorises.
            Self::Relu => values
                .iter_mut()
                .for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v }),
            Self::Gelu => values.iter_mut().for_each(|v| *v = gelu(*v)),
            Self::Tanh => values.iter_mut().for_each(|v| *v = fast_tanh(*v)),
            Self::Custom(f) => values.iter_mut().for_each(|v| *v = f(*v)),
        }
    }

    /// Writes the activation of every value of `src` into `dst` (the shorter length), in one
    /// vectorised pass (no copy first, as [`Self::apply_slice`] on a copy would need).
    pub fn apply_into(&self, src: &[f32], dst: &mut [f32]) {
        widest(
            #[inline(always)]
            || {
                let pairs = dst.iter_mut().zip(src);
                match self {
                    Self::Relu => pairs.for_each(|(d, &v)| *d = if v < 0.0 { 0.0 } else { v }),
                    Self::Gelu => pairs.for_each(|(d, &v)| *d = gelu(v)),
                    Self::Tanh => pairs.for_each(|(d, &v)| *d = fast_tanh(v)),
                    Self::Custom(f) => pairs.for_each(|(d, &v)| *d = f(v)),
                }
            },
        )
    }

    /// `f′(x)` for the named activations, as `jax.grad` of the jax function gives it: ReLU
    /// `1` for `x > 0`, else `0` (the `custom_jvp` of `jax.nn.relu`); GELU the derivative of
    /// its tanh approximation (with the forward's [`fast_tanh`]); tanh `(1 + tanh)(1 − tanh)`
    /// (jax's `tanh` rule). `None` for a custom activation.
    pub fn derivative(&self, x: f32) -> Option<f32> {
        self.differentiable().map(|d| d.value_and_derivative(x).1)
    }

    /// Replaces every value of `values` by the activation's derivative there (as
    /// [`Self::derivative`]), in one vectorised loop; an error for a custom activation.
    pub fn derivative_slice(&self, values: &mut [f32]) -> Result<(), NonlinearError> {
        let d = self.differentiable().ok_or(NonlinearError::NoDerivative)?;
        widest(
            #[inline(always)]
            || match d {
                Differentiable::Relu => derivative_loop::<Relu>(values),
                Differentiable::Gelu => derivative_loop::<Gelu>(values),
                Differentiable::Tanh => derivative_loop::<Tanh>(values),
            },
        );
        Ok(())
    }

    /// The named activation, whose derivative is known; `None` for a custom one.
    pub(super) fn differentiable(&self) -> Option<Differentiable> {
        match self {
            Self::Relu => Some(Differentiable::Relu),
            Self::Gelu => Some(Differentiable::Gelu),
            Self::Tanh => Some(Differentiable::Tanh),
            Self::Custom(_) => None,
        }
    }

    /// The name ginjax's models use for the activation (`ACTIVATION_REGISTRY` in
    /// `ginjax/models.py`), `None` for a custom one.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Self::Relu => Some("relu"),
            Self::Gelu => Some("gelu"),
            Self::Tanh => Some("tanh"),
            Self::Custom(_) => None,
        }
    }

    /// The activation ginjax's models register under `name` (`relu`, `gelu`, `tanh`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "relu" => Some(Self::Relu),
            "gelu" => Some(Self::Gelu),
            "tanh" => Some(Self::Tanh),
            _ => None,
        }
    }
}

/// √(2/π), the constant of the tanh approximation of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// `jax.nn.gelu(x, approximate=True)`: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
#[inline]
fn gelu(x: f32) -> f32 {
    let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    0.5 * x * (1.0 + fast_tanh(inner))
}

/// A named activation, for the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Differentiable {
    /// `jax.nn.relu`.
    Relu,
    /// `jax.nn.gelu(approximate=True)`.
    Gelu,
    /// `jax.nn.tanh`.
    Tanh,
}

impl Differentiable {
    /// `(f(x), f′(x))`; `f(x)` is bit-identical to [`Activation::apply`].
    #[inline(always)]
    pub(super) fn value_and_derivative(self, x: f32) -> (f32, f32) {
        match self {
            Self::Relu => Relu::value_and_derivative(x),
            Self::Gelu => Gelu::value_and_derivative(x),
            Self::Tanh => Tanh::value_and_derivative(x),
        }
    }
}

/// A named activation as a type, so that loops over values are compiled (and vectorised) once
/// per activation with no match inside: callers match a [`Differentiable`] once and call code
/// generic over this trait.
pub(super) trait ValueAndDerivative {
    /// `(f(x), f′(x))`.
    fn value_and_derivative(x: f32) -> (f32, f32);
}

/// [`Differentiable::Relu`] as a type.
pub(super) struct Relu;
/// [`Differentiable::Gelu`] as a type.
pub(super) struct Gelu;
/// [`Differentiable::Tanh`] as a type.
pub(super) struct Tanh;

/// Every value of `values` replaced by `A`'s derivative there.
#[inline(always)]
fn derivative_loop<A: ValueAndDerivative>(values: &mut [f32]) {
    values
        .iter_mut()
        .for_each(|v| *v = A::value_and_derivative(*v).1);
}

/// `jax.nn.relu` and the derivative its `custom_jvp` gives: `1` where `x > 0`, else `0`
/// (so `0` at the kink and for NaN).
impl ValueAndDerivative for Relu {
    #[inline(always)]
    fn value_and_derivative(x: f32) -> (f32, f32) {
        (
            if x < 0.0 { 0.0 } else { x },
            if x > 0.0 { 1.0 } else { 0.0 },
        )
    }
}

/// [`gelu`] and its derivative: with `t = tanh(u)`, `u = √(2/π)(x + 0.044715 x³)`,
/// `f = x/2 · (1 + t)` and `f′ = (1 + t)/2 + x/2 · (1 + t)(1 − t) · √(2/π)(1 + 3 · 0.044715 x²)`.
impl ValueAndDerivative for Gelu {
    #[inline(always)]
    fn value_and_derivative(x: f32) -> (f32, f32) {
        // The same operations as `gelu`, so the value is bit-identical.
        let inner = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
        let t = fast_tanh(inner);
        let value = 0.5 * x * (1.0 + t);
        let du = SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x);
        let derivative = 0.5 * (1.0 + t) + 0.5 * x * ((1.0 + t) * (1.0 - t)) * du;
        (value, derivative)
    }
}

/// [`fast_tanh`] and jax's derivative of tanh from its value, `(1 + t)(1 − t)`.
impl ValueAndDerivative for Tanh {
    #[inline(always)]
    fn value_and_derivative(x: f32) -> (f32, f32) {
        let t = fast_tanh(x);
        (t, (1.0 + t) * (1.0 - t))
    }
}

/// tanh in f32 by the rational approximation of XLA's CPU backend (Eigen's
/// `generic_fast_tanh_float`: `x·P(x²)/Q(x²)`, P of degree 6 and Q of degree 3 in x², the input
/// clamped to ±7.9053), within 5e-7 of tanh; branch-free arithmetic, so loops over slices
/// vectorise (libm's `tanhf` does not).
#[inline]
pub fn fast_tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = ALPHA.iter().rev().fold(0.0, |acc, &a| acc * x2 + a) * x;
    let q = BETA.iter().rev().fold(0.0, |acc, &b| acc * x2 + b);
    p / q
}

/// Named activations are equal by name; custom ones only to themselves (the same function
/// object).
impl PartialEq for Activation {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Custom(a), Self::Custom(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.name().is_some() && a.name() == b.name(),
        }
    }
}

impl fmt::Debug for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Relu => f.write_str("Relu"),
            Self::Gelu => f.write_str("Gelu"),
            Self::Tanh => f.write_str("Tanh"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_activations_match_jax() {
        // jax.nn.gelu (approximate=True) and jax.nn.tanh at -2, -0.5, 0, 1, 3, in float32.
        let x = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
        let gelu = [-0.045_402_35f32, -0.154_286, 0.0, 0.841_192, 2.996_362_7];
        let tanh = [
            -0.964_027_6f32,
            -0.462_117_16,
            0.0,
            0.761_594_2,
            0.995_054_7,
        ];
        for (i, &v) in x.iter().enumerate() {
            assert!(
                (Activation::Gelu.apply(v) - gelu[i]).abs() < 1e-6,
                "gelu({v})"
            );
            assert!(
                (Activation::Tanh.apply(v) - tanh[i]).abs() < 1e-6,
                "tanh({v})"
            );
        }
        for name in ["relu", "gelu", "tanh"] {
            assert_eq!(Activation::from_name(name).unwrap().name(), Some(name));
        }
        assert!(Activation::from_name("swish").is_none());
    }

    #[test]
    fn fast_tanh_is_within_5e7_of_tanh() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            let err = (f64::from(fast_tanh(x)) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "{worst}");
        assert_eq!(fast_tanh(100.0), fast_tanh(7.905_311));
        assert!((fast_tanh(100.0) - 1.0).abs() < 1e-6);
        let mut values = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
        let each: Vec<f32> = values.iter().map(|&v| Activation::Gelu.apply(v)).collect();
        let mut into = [0.0f32; 5];
        Activation::Gelu.apply_into(&values, &mut into);
        Activation::Gelu.apply_slice(&mut values);
        assert_eq!(values.to_vec(), each);
        assert_eq!(into.to_vec(), each);
    }

    #[test]
    fn derivatives_match_central_differences() {
        // Central differences of the f32 `apply` in f64, with a dyadic step so that x ± step is
        // exact: the rounding of f (≤ 6e-8 · |f|, |f| ≤ 4 here) over 2 · step = 2⁻⁷ adds at most
        // 3e-5, the truncation step²/6 · |f‴| (|f‴| ≤ 2 for these) about 5e-6, and fast_tanh's
        // error has a slope under 1e-5; 1e-4 bounds their sum.
        let step = 2f64.powi(-8);
        for activation in [Activation::Relu, Activation::Gelu, Activation::Tanh] {
            let mut worst = 0f64;
            // x from -4 to 4 by 1/32 + 1/128, which never hits relu's kink at 0.
            for i in -100..=100 {
                let x = i as f64 * (1.0 / 32.0 + 1.0 / 128.0) + 1.0 / 256.0;
                let f = |v: f64| f64::from(activation.apply(v as f32));
                let numeric = (f(x + step) - f(x - step)) / (2.0 * step);
                let analytic = f64::from(activation.derivative(x as f32).unwrap());
                worst = worst.max((numeric - analytic).abs());
            }
            assert!(worst < 1e-4, "{activation:?}: {worst}");
        }
        // jax.grad(jax.nn.relu)(0.0) is 0; tanh′(0) = 1, gelu′(0) = 1/2.
        assert_eq!(Activation::Relu.derivative(0.0), Some(0.0));
        assert_eq!(Activation::Relu.derivative(-1.0), Some(0.0));
        assert_eq!(Activation::Relu.derivative(2.0), Some(1.0));
        assert_eq!(Activation::Tanh.derivative(0.0), Some(1.0));
        assert_eq!(Activation::Gelu.derivative(0.0), Some(0.5));
        // Far out, tanh′ → 0 and gelu′ → 1 (x > 0) or 0 (x < 0).
        assert!(Activation::Tanh.derivative(20.0).unwrap().abs() < 1e-6);
        assert!((Activation::Gelu.derivative(20.0).unwrap() - 1.0).abs() < 1e-6);
        assert!(Activation::Gelu.derivative(-20.0).unwrap().abs() < 1e-6);
        // The slice form agrees with the scalar one; a custom activation has no derivative.
        let mut values = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
        let each: Vec<f32> = values
            .iter()
            .map(|&v| Activation::Gelu.derivative(v).unwrap())
            .collect();
        Activation::Gelu.derivative_slice(&mut values).unwrap();
        assert_eq!(values.to_vec(), each);
        let custom = Activation::custom(|x| x * x);
        assert_eq!(custom.derivative(1.0), None);
        assert_eq!(
            custom.derivative_slice(&mut values),
            Err(NonlinearError::NoDerivative)
        );
    }
}
