//! ginjax's `LayerWrapper`: one per-block module per input key, applied to every block.
//!
//! ginjax stores the *same* module under every key, and its parameter tree then sees separate
//! copies that receive separate gradients; here [`LayerWrapper::new`] clones the
//! module per key, which is that behaviour from the start. Like ginjax (and the runtime), the
//! output holds the input's keys in the input's order; a module must keep its block's key and
//! every output block must end up with the same geometry.

use burn::module::{Module, ModuleDisplay};
use ginrs_runtime::{Signature, TensorKey};

use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::pool::MaxNormPool;

/// A trainable computation on one block: a one-block image in, a one-block image of the same
/// key out.
pub trait BlockModule: Module + ModuleDisplay {
    /// Applies the module to `block`, an image with exactly one block.
    fn forward_block(&self, block: &TensorImage) -> Result<TensorImage, TrainError>;
}

impl BlockModule for MaxNormPool {
    fn forward_block(&self, block: &TensorImage) -> Result<TensorImage, TrainError> {
        self.forward(block)
    }
}

/// ginjax's `LayerWrapper(module, input_keys)` (see the module docs).
#[derive(Module, Debug)]
pub struct LayerWrapper<M: BlockModule> {
    modules: Vec<M>,
    #[module(skip)]
    keys: Vec<TensorKey>,
}

impl<M: BlockModule> LayerWrapper<M> {
    /// One clone of `module` per key of `input_keys`.
    pub fn new(module: M, input_keys: &Signature) -> Self {
        let keys: Vec<TensorKey> = input_keys
            .entries()
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        Self {
            modules: keys.iter().map(|_| module.clone()).collect(),
            keys,
        }
    }

    /// The module of `key`, if any.
    pub fn module(&self, key: &TensorKey) -> Option<&M> {
        self.keys
            .iter()
            .position(|k| k == key)
            .map(|i| &self.modules[i])
    }

    /// Applies each block's module.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let mut results = Vec::with_capacity(input.blocks().len());
        for (key, tensor) in input.blocks() {
            let module = self.module(key).ok_or_else(|| TrainError::UnknownKey {
                layer: "LayerWrapper",
                key: key.clone(),
            })?;
            let mut single = TensorImage::new(input.geometry().clone(), input.batch());
            single.push(key.clone(), tensor.clone())?;
            let result = module.forward_block(&single)?;
            let got = result.signature();
            if result.blocks().len() != 1 || &result.blocks()[0].0 != key {
                return Err(TrainError::SignatureMismatch {
                    what: "LayerWrapper block module output",
                    expected: single.signature(),
                    got,
                });
            }
            results.push(result);
        }
        let Some(first) = results.first() else {
            return Ok(TensorImage::new(input.geometry().clone(), input.batch()));
        };
        let mut out = TensorImage::new(first.geometry().clone(), input.batch());
        for result in results {
            if result.geometry() != out.geometry() {
                return Err(TrainError::BatchGeometry {
                    index: out.blocks().len(),
                    expected: out.geometry().spatial().to_vec(),
                    expected_torus: out.geometry().torus().to_vec(),
                    got: result.geometry().spatial().to_vec(),
                    got_torus: result.geometry().torus().to_vec(),
                });
            }
            for (key, tensor) in result.into_blocks() {
                out.push(key, tensor)?;
            }
        }
        Ok(out)
    }
}
