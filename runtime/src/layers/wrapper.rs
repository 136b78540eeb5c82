//! ginjax's `LayerWrapper` and `LayerWrapperAux`: apply a per-block module to every block of a
//! multi-image, keyed by the input keys.
//!
//! ginjax stores the *same* module under every input key; here [`LayerWrapper::new`] clones
//! it per key (what ginjax's parameters become after the first gradient step: the shared module's
//! parameters appear once per key in the model's pytree, and each copy gets its own update) and
//! [`LayerWrapper::from_modules`] takes one module per key. A module must keep the block's key
//! (tensor order, parity, covariant flags), as ginjax requires; it may change the channel count
//! or the spatial sides, as long as every output block ends up with the same geometry.
//! Like ginjax, the output holds the input's keys in the input's order.

use std::sync::Arc;

use thiserror::Error;

use crate::error::Error;
use crate::image::{ImageBlock, MultiImage, Signature, TensorKey};
use crate::layers::layer::Layer;

/// Errors from applying a wrapper.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WrapperError {
    /// The input has a key the wrapper has no module for.
    #[error("layer wrapper: no module for input key {key}")]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A module returned a block of another key.
    #[error("layer wrapper: the module for {key} returned a block of key {got}; modules must keep the key")]
    KeyChanged {
        /// The input key.
        key: String,
        /// The key returned.
        got: String,
    },
    /// A layer used as a block module returned no block or several.
    #[error(
        "layer wrapper: the layer applied to the {key} block returned {got} blocks, expected 1"
    )]
    BlockCount {
        /// The input key.
        key: String,
        /// The number of blocks returned.
        got: usize,
    },
    /// A key is given a module twice.
    #[error("layer wrapper: key {key} is given two modules")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

/// A per-block computation: one image block (channels, spatial…, tensor…) in, one out.
pub trait BlockModule: Send + Sync {
    /// Applies the module to one block.
    fn apply(&self, block: &ImageBlock) -> Result<ImageBlock, Error>;
}

impl<F> BlockModule for F
where
    F: Fn(&ImageBlock) -> Result<ImageBlock, Error> + Send + Sync,
{
    fn apply(&self, block: &ImageBlock) -> Result<ImageBlock, Error> {
        self(block)
    }
}

/// A per-block computation that threads auxiliary state (e.g. batch statistics).
pub trait AuxBlockModule<S>: Send + Sync {
    /// Applies the module to one block, consuming and returning the state.
    fn apply(&self, block: &ImageBlock, state: S) -> Result<(ImageBlock, S), Error>;
}

impl<F, S> AuxBlockModule<S> for F
where
    F: Fn(&ImageBlock, S) -> Result<(ImageBlock, S), Error> + Send + Sync,
{
    fn apply(&self, block: &ImageBlock, state: S) -> Result<(ImageBlock, S), Error> {
        self(block, state)
    }
}

/// An elementwise function as a [`BlockModule`] (e.g. an activation, as ginjax's
/// `LayerWrapper(jax.nn.relu, keys)`).
#[derive(Clone)]
pub struct Elementwise(Arc<dyn Fn(f32) -> f32 + Send + Sync>);

impl Elementwise {
    /// Wraps `f`, applied to every value of a block.
    pub fn new(f: impl Fn(f32) -> f32 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl std::fmt::Debug for Elementwise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Elementwise(..)")
    }
}

impl BlockModule for Elementwise {
    fn apply(&self, block: &ImageBlock) -> Result<ImageBlock, Error> {
        let mut out = block.clone();
        out.data_mut().iter_mut().for_each(|v| *v = (self.0)(*v));
        Ok(out)
    }
}

/// Any [`Layer`] as a [`BlockModule`]: the block is wrapped in a one-block multi-image, and
/// the layer must return exactly one block.
#[derive(Debug, Clone)]
pub struct BlockLayer<L>(pub L);

impl<L: Layer> BlockModule for BlockLayer<L> {
    fn apply(&self, block: &ImageBlock) -> Result<ImageBlock, Error> {
        let input = MultiImage::from_blocks(block.geometry().clone(), vec![block.clone()])?;
        let mut blocks = self.0.forward(&input)?.into_blocks();
        if blocks.len() != 1 {
            return Err(WrapperError::BlockCount {
                key: format!("{:?}", block.key()),
                got: blocks.len(),
            }
            .into());
        }
        Ok(blocks.pop().expect("exactly one block"))
    }
}

/// Pairs every key of `input_keys` with a clone of `module`.
fn per_key<M: Clone>(module: M, input_keys: &Signature) -> Vec<(TensorKey, M)> {
    input_keys
        .entries()
        .iter()
        .map(|(key, _)| (key.clone(), module.clone()))
        .collect()
}

/// Checks that no key appears twice.
fn distinct<M>(modules: Vec<(TensorKey, M)>) -> Result<Vec<(TensorKey, M)>, WrapperError> {
    for (i, (key, _)) in modules.iter().enumerate() {
        if modules[..i].iter().any(|(other, _)| other == key) {
            return Err(WrapperError::DuplicateKey {
                key: format!("{key:?}"),
            });
        }
    }
    Ok(modules)
}

fn module_for<'a, M>(
    modules: &'a [(TensorKey, M)],
    key: &TensorKey,
) -> Result<&'a M, WrapperError> {
    modules
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, m)| m)
        .ok_or_else(|| WrapperError::UnknownKey {
            key: format!("{key:?}"),
        })
}

/// Collects the output blocks into a multi-image (the input's geometry when there is none).
fn assemble(input: &MultiImage, blocks: Vec<ImageBlock>) -> Result<MultiImage, Error> {
    let geometry = blocks
        .first()
        .map_or_else(|| input.geometry().clone(), |b| b.geometry().clone());
    Ok(MultiImage::from_blocks(geometry, blocks)?)
}

fn check_key(input: &ImageBlock, output: &ImageBlock) -> Result<(), WrapperError> {
    if output.key() != input.key() {
        return Err(WrapperError::KeyChanged {
            key: format!("{:?}", input.key()),
            got: format!("{:?}", output.key()),
        });
    }
    Ok(())
}

/// ginjax's `LayerWrapper(module, input_keys)`: `out[key] = module(x[key])` for every block
/// of the input, in the input's order.
#[derive(Debug, Clone)]
pub struct LayerWrapper<M> {
    modules: Vec<(TensorKey, M)>,
}

impl<M: BlockModule + Clone> LayerWrapper<M> {
    /// One clone of `module` per key of `input_keys`.
    pub fn new(module: M, input_keys: &Signature) -> Self {
        Self {
            modules: per_key(module, input_keys),
        }
    }
}

impl<M: BlockModule> LayerWrapper<M> {
    /// One module per key (keys must be distinct).
    pub fn from_modules(modules: Vec<(TensorKey, M)>) -> Result<Self, WrapperError> {
        Ok(Self {
            modules: distinct(modules)?,
        })
    }

    /// The module of `key`.
    pub fn module(&self, key: &TensorKey) -> Option<&M> {
        module_for(&self.modules, key).ok()
    }
}

impl<M: BlockModule> Layer for LayerWrapper<M> {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let blocks = input
            .blocks()
            .iter()
            .map(|block| {
                let out = module_for(&self.modules, block.key())?.apply(block)?;
                check_key(block, &out)?;
                Ok(out)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        assemble(input, blocks)
    }
}

/// ginjax's `LayerWrapperAux(module, input_keys)`: like [`LayerWrapper`], but the module also
/// takes and returns a state, threaded through the blocks in the input's order.
#[derive(Debug, Clone)]
pub struct LayerWrapperAux<M> {
    modules: Vec<(TensorKey, M)>,
}

impl<M: Clone> LayerWrapperAux<M> {
    /// One clone of `module` per key of `input_keys`.
    pub fn new(module: M, input_keys: &Signature) -> Self {
        Self {
            modules: per_key(module, input_keys),
        }
    }
}

impl<M> LayerWrapperAux<M> {
    /// One module per key (keys must be distinct).
    pub fn from_modules(modules: Vec<(TensorKey, M)>) -> Result<Self, WrapperError> {
        Ok(Self {
            modules: distinct(modules)?,
        })
    }

    /// The module of `key`.
    pub fn module(&self, key: &TensorKey) -> Option<&M> {
        module_for(&self.modules, key).ok()
    }

    /// Applies the modules block by block, threading `state` through them in the input's
    /// order; returns the output and the final state.
    pub fn forward_aux<S>(&self, input: &MultiImage, mut state: S) -> Result<(MultiImage, S), Error>
    where
        M: AuxBlockModule<S>,
    {
        let mut blocks = Vec::with_capacity(input.blocks().len());
        for block in input.blocks() {
            let (out, next) = module_for(&self.modules, block.key())?.apply(block, state)?;
            check_key(block, &out)?;
            blocks.push(out);
            state = next;
        }
        Ok((assemble(input, blocks)?, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Geometry;

    fn input() -> MultiImage {
        let geometry = Geometry::square(1, 2, true).unwrap();
        let s = ImageBlock::new(geometry.clone(), TensorKey::scalar(), 1, vec![-1.0, 2.0]);
        let v = ImageBlock::new(geometry.clone(), TensorKey::vector(), 1, vec![3.0, -4.0]);
        MultiImage::from_blocks(geometry, vec![v.unwrap(), s.unwrap()]).unwrap()
    }

    fn keys() -> Signature {
        Signature::new(vec![(TensorKey::scalar(), 1), (TensorKey::vector(), 1)]).unwrap()
    }

    #[test]
    fn applies_per_block_in_input_order() {
        let relu = LayerWrapper::new(Elementwise::new(|x: f32| x.max(0.0)), &keys());
        let y = relu.forward(&input()).unwrap();
        assert_eq!(y.blocks()[0].key(), &TensorKey::vector());
        assert_eq!(y.blocks()[0].data(), &[3.0, 0.0]);
        assert_eq!(y.blocks()[1].data(), &[0.0, 2.0]);
    }

    #[test]
    fn state_is_threaded_in_order() {
        // The state counts the blocks seen; each block is scaled by the count so far.
        let module = |block: &ImageBlock, n: u32| -> Result<(ImageBlock, u32), Error> {
            let mut out = block.clone();
            out.data_mut().iter_mut().for_each(|v| *v *= (n + 1) as f32);
            Ok((out, n + 1))
        };
        let wrapper = LayerWrapperAux::new(module, &keys());
        let (y, n) = wrapper.forward_aux(&input(), 0u32).unwrap();
        assert_eq!(n, 2);
        assert_eq!(y.blocks()[0].data(), &[3.0, -4.0]);
        assert_eq!(y.blocks()[1].data(), &[-2.0, 4.0]);
    }

    #[test]
    fn layers_as_block_modules() {
        use crate::layers::max_norm_pool::MaxNormPool;
        // Pooling each block separately equals pooling the multi-image.
        let pool = MaxNormPool::new(2, true).unwrap();
        let wrapper = LayerWrapper::new(BlockLayer(pool.clone()), &keys());
        let x = input();
        assert_eq!(wrapper.forward(&x).unwrap(), pool.forward(&x).unwrap());
        // A layer that returns no block is reported.
        struct Empty;
        impl Layer for Empty {
            fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
                Ok(MultiImage::new(input.geometry().clone()))
            }
        }
        let empty = LayerWrapper::from_modules(vec![(TensorKey::vector(), BlockLayer(Empty))]);
        assert!(matches!(
            empty.unwrap().forward(&x),
            Err(Error::Wrapper(WrapperError::BlockCount { got: 0, .. }))
        ));
    }

    #[test]
    fn errors() {
        let scalar_only = Signature::new(vec![(TensorKey::scalar(), 1)]).unwrap();
        let wrapper = LayerWrapper::new(Elementwise::new(|x| x), &scalar_only);
        assert!(matches!(
            wrapper.forward(&input()),
            Err(Error::Wrapper(WrapperError::UnknownKey { .. }))
        ));
        let rekey = |block: &ImageBlock| -> Result<ImageBlock, Error> {
            Ok(ImageBlock::new(
                block.geometry().clone(),
                TensorKey::new(block.key().k(), 1),
                block.channels(),
                block.data().to_vec(),
            )?)
        };
        let wrapper = LayerWrapper::new(rekey, &keys());
        assert!(matches!(
            wrapper.forward(&input()),
            Err(Error::Wrapper(WrapperError::KeyChanged { .. }))
        ));
        let dup = LayerWrapper::from_modules(vec![
            (TensorKey::scalar(), Elementwise::new(|x| x)),
            (TensorKey::scalar(), Elementwise::new(|x| x)),
        ]);
        assert!(matches!(dup, Err(WrapperError::DuplicateKey { .. })));
    }
}
