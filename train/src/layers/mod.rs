//! The seed layers of ginjax as burn modules, and [`ImageModule`], the trait the training
//! step and the rollout helper drive them through.

pub mod activation;
pub mod baseline;
pub mod conv_contract;
#[cfg(feature = "flex")]
pub(crate) mod host;
pub mod nonlinear;
pub mod norm;
pub mod padding;
pub mod pool;
pub mod route;
pub mod wrapper;

use burn::module::Module;

use crate::error::TrainError;
use crate::image::TensorImage;

pub use activation::{Elementwise, ScalarActivation};
pub use baseline::{BaselineConv, BaselineNorm};
pub use conv_contract::ConvContract;
pub use nonlinear::VectorNeuronNonlinear;
pub use norm::GroupNorm;
pub use pool::MaxNormPool;
pub use route::Route;
pub use wrapper::{BlockModule, LayerWrapper};

/// A burn module that maps a batch of geometric images to another.
pub trait ImageModule: Module {
    /// Applies the module to a batch.
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError>;
}

impl ImageModule for ConvContract {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for GroupNorm {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for VectorNeuronNonlinear {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for Elementwise {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for BaselineConv {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for BaselineNorm {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl ImageModule for MaxNormPool {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}

impl<M: BlockModule> ImageModule for LayerWrapper<M> {
    fn forward_image(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(input)
    }
}
