//! [`TypedLayer`]: layers whose input and output signatures are types
//! ([`SignatureType`]s), and [`Chain`], two of them chained with [`TypedLayer::then`].

use std::marker::PhantomData;

use crate::error::Error;
use crate::image::typed::{SameSignature, SignatureType};
use crate::image::MultiImage;
use crate::layers::layer::Layer;

/// A [`Layer`] whose input and output signatures are types.
pub trait TypedLayer: Layer + Sized {
    /// The input signature type.
    type Input: SignatureType;
    /// The output signature type.
    type Output: SignatureType;

    /// Chains `next` after this layer; compiles only if `next` takes this layer's output.
    fn then<N>(self, next: N) -> Chain<Self, N>
    where
        N: TypedLayer,
        N::Input: SameSignature<Self::Output>,
    {
        Chain {
            first: self,
            second: next,
            _signatures: PhantomData,
        }
    }
}

/// Two layers applied one after the other (built by [`TypedLayer::then`]).
#[derive(Debug, Clone)]
pub struct Chain<A, B> {
    first: A,
    second: B,
    _signatures: PhantomData<fn() -> (A, B)>,
}

impl<A, B> Chain<A, B> {
    /// The first layer.
    pub fn first(&self) -> &A {
        &self.first
    }

    /// The second layer.
    pub fn second(&self) -> &B {
        &self.second
    }
}

impl<A: TypedLayer, B: TypedLayer> Layer for Chain<A, B> {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.second.forward(&self.first.forward(input)?)
    }
}

impl<A: TypedLayer, B: TypedLayer> TypedLayer for Chain<A, B> {
    type Input = A::Input;
    type Output = B::Output;
}
