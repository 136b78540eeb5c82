//! ginjax's model activations (`ACTIVATION_REGISTRY` in `ginjax/models.py`: relu, gelu, tanh)
//! as differentiable tensor functions, and [`Elementwise`], the baseline's activation layer
//! (ginjax's `LayerWrapper(activation, keys)`: the function on every value of every block).

use burn::module::Module;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::Tensor;
use ginrs_runtime::Activation;

use crate::error::TrainError;
use crate::image::TensorImage;

/// √(2/π), the constant of `jax.nn.gelu`'s tanh approximation.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// A scalar activation burn differentiates: one of ginjax's registered activations (a custom
/// runtime [`Activation`] has no tensor form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScalarActivation {
    /// `jax.nn.relu`.
    #[default]
    Relu,
    /// `jax.nn.gelu` with its default `approximate=True`:
    /// `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    Gelu,
    /// `jax.nn.tanh`.
    Tanh,
}

impl ScalarActivation {
    /// The activation of a runtime layer; a custom function is [`TrainError::Unsupported`].
    pub fn from_runtime(activation: &Activation) -> Result<Self, TrainError> {
        match activation {
            Activation::Relu => Ok(Self::Relu),
            Activation::Gelu => Ok(Self::Gelu),
            Activation::Tanh => Ok(Self::Tanh),
            Activation::Custom(_) => Err(TrainError::Unsupported(
                "a custom activation function (relu, gelu and tanh are trainable)".into(),
            )),
        }
    }

    /// The runtime's activation of the same name.
    pub fn to_runtime(self) -> Activation {
        match self {
            Self::Relu => Activation::Relu,
            Self::Gelu => Activation::Gelu,
            Self::Tanh => Activation::Tanh,
        }
    }

    /// Applies the function to every value of `x`.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Relu => relu(x),
            Self::Gelu => {
                // (1 + tanh(z))/2 = sigmoid(2z): one exp per value instead of tanh's expm1
                // and the cube as products instead of powf (burn's flex backend computes
                // `powi_scalar(3)` with powf).
                let cubic = x.clone() * x.clone() * x.clone() * 0.044_715 + x.clone();
                x * sigmoid(cubic * (2.0 * SQRT_2_OVER_PI))
            }
            Self::Tanh => x.tanh(),
        }
    }
}

/// The baseline's activation layer: the function applied to every value of every block (no
/// parameters).
#[derive(Module, Debug)]
pub struct Elementwise {
    #[module(skip)]
    activation: ScalarActivation,
}

impl Elementwise {
    /// The layer applying `activation`.
    pub fn new(activation: ScalarActivation) -> Self {
        Self { activation }
    }

    /// The function.
    pub fn activation(&self) -> ScalarActivation {
        self.activation
    }

    /// Applies the function to every block of `input`.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let mut out = TensorImage::new(input.geometry().clone(), input.batch());
        for (key, x) in input.blocks() {
            out.push(key.clone(), self.activation.apply(x.clone()))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn activations_match_the_runtime_scalar_functions() {
        let values = [-3.0f32, -1.2, -0.3, 0.0, 0.4, 1.1, 2.5];
        let device = Device::flex();
        for activation in [
            ScalarActivation::Relu,
            ScalarActivation::Gelu,
            ScalarActivation::Tanh,
        ] {
            let x = Tensor::<1>::from_data(TensorData::new(values.to_vec(), [7]), &device);
            let got = activation.apply(x).into_data().try_to_vec::<f32>().unwrap();
            let runtime = activation.to_runtime();
            for (g, v) in got.iter().zip(values) {
                let want = runtime.apply(v);
                assert!(
                    (g - want).abs() <= 1e-6,
                    "{activation:?}({v}) = {g}, want {want}"
                );
            }
        }
        assert!(ScalarActivation::from_runtime(&Activation::custom(|x| x)).is_err());
    }
}
