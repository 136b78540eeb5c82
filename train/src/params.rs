//! Parameters and their gradients by ginjax's names: `jax.tree_util.keystr` of the leaf in the
//! ginjax layer, e.g. `.weights[((), 0)][((False,), 0)]` (a ConvContract pair weight),
//! `.bias[((False,), 0)]`, `.vanilla_norm[((), 0)].weight`, `.scale[((False,), 0)]`.
//!
//! This is how gradients are compared with `jax.grad` and how a user inspects a layer
//! without knowing its tensor layout.

use burn::module::Param;
use burn::tensor::{Gradients, Tensor};
use ginrs_runtime::TensorKey;

use crate::error::TrainError;
use crate::image::read_f64;

/// One parameter (or gradient) array: ginjax's path, shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    /// `jax.tree_util.keystr` of the leaf in ginjax's layer.
    pub path: String,
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
}

/// A module whose parameters have ginjax names.
pub trait GinjaxParams {
    /// `(path, parameter)` of every trainable tensor, in ginjax's leaf order.
    fn named_tensors(&self) -> Vec<(String, NamedTensor)>;

    /// The current parameter values.
    fn params(&self) -> Result<Vec<NamedArray>, TrainError> {
        self.named_tensors()
            .into_iter()
            .map(|(path, t)| {
                Ok(NamedArray {
                    path,
                    shape: t.shape(),
                    values: t.values()?,
                })
            })
            .collect()
    }

    /// The gradients of every parameter in `grads` (zeros for a parameter the loss does not
    /// reach).
    fn grads(&self, grads: &Gradients) -> Result<Vec<NamedArray>, TrainError> {
        self.named_tensors()
            .into_iter()
            .map(|(path, t)| {
                let shape = t.shape();
                let values = t
                    .grad(grads)?
                    .unwrap_or_else(|| vec![0.0; shape.iter().product()]);
                Ok(NamedArray {
                    path,
                    shape,
                    values,
                })
            })
            .collect()
    }
}

/// A parameter tensor of any rank a layer uses.
#[derive(Debug, Clone)]
pub enum NamedTensor {
    /// A vector (biases, norm scales).
    Rank1(Tensor<1>),
    /// A matrix (vector-neuron weights).
    Rank2(Tensor<2>),
    /// A ConvContract pair weight `(out_c, in_c, n_filters)`.
    Rank3(Tensor<3>),
    /// A tensor kept in another shape of the same row-major values, named with ginjax's
    /// shape (an equinox convolution's weight `(out, in, k, …, k)` kept as `(out, in, k^d)`).
    Reshaped(Box<NamedTensor>, Vec<usize>),
}

impl NamedTensor {
    /// `tensor`, named with `shape` (which must hold as many values).
    pub fn reshaped(tensor: impl Into<NamedTensor>, shape: Vec<usize>) -> Self {
        Self::Reshaped(Box::new(tensor.into()), shape)
    }

    /// ginjax's shape of the parameter.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Self::Rank1(t) => t.dims().to_vec(),
            Self::Rank2(t) => t.dims().to_vec(),
            Self::Rank3(t) => t.dims().to_vec(),
            Self::Reshaped(_, shape) => shape.clone(),
        }
    }

    fn values(&self) -> Result<Vec<f64>, TrainError> {
        match self {
            Self::Rank1(t) => read_f64(t),
            Self::Rank2(t) => read_f64(t),
            Self::Rank3(t) => read_f64(t),
            Self::Reshaped(t, _) => t.values(),
        }
    }

    fn grad(&self, grads: &Gradients) -> Result<Option<Vec<f64>>, TrainError> {
        match self {
            Self::Rank1(t) => t.grad(grads).as_ref().map(read_f64).transpose(),
            Self::Rank2(t) => t.grad(grads).as_ref().map(read_f64).transpose(),
            Self::Rank3(t) => t.grad(grads).as_ref().map(read_f64).transpose(),
            Self::Reshaped(t, _) => t.grad(grads),
        }
    }
}

impl From<&Param<Tensor<1>>> for NamedTensor {
    fn from(p: &Param<Tensor<1>>) -> Self {
        Self::Rank1(p.val())
    }
}

impl From<&Param<Tensor<2>>> for NamedTensor {
    fn from(p: &Param<Tensor<2>>) -> Self {
        Self::Rank2(p.val())
    }
}

impl From<&Param<Tensor<3>>> for NamedTensor {
    fn from(p: &Param<Tensor<3>>) -> Self {
        Self::Rank3(p.val())
    }
}

/// A key as Python prints ginjax's dict key: `((), 0)`, `((False,), 0)`, `((False, True), 1)`.
pub fn key_repr(key: &TensorKey) -> String {
    let flags: Vec<&str> = key
        .covariant()
        .iter()
        .map(|&c| if c { "True" } else { "False" })
        .collect();
    let tuple = match flags.len() {
        0 => "()".to_string(),
        1 => format!("({},)", flags[0]),
        _ => format!("({})", flags.join(", ")),
    };
    format!("({tuple}, {})", key.parity())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_like_python_tuples() {
        assert_eq!(key_repr(&TensorKey::scalar()), "((), 0)");
        assert_eq!(key_repr(&TensorKey::vector()), "((False,), 0)");
        assert_eq!(
            key_repr(&TensorKey::with_covariant(vec![false, true], 1)),
            "((False, True), 1)"
        );
    }
}
