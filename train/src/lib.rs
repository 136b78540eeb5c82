//! # ginrs-train
//!
//! Trainable versions of the ginrs equivariant layers (ginjax 0.1.8's seed layers) as
//! burn 0.22 modules, ginjax's losses, Adam/AdamW, a training step, an
//! autoregressive rollout helper, weight exchange with `ginrs-runtime`, [`data`]: datasets of
//! trajectories of geometric images in the community's formats (The Well, PDEBench, and
//! [`simulate`]'s 2-D decaying turbulence), and the `ginrs` command line tool.
//!
//! ## Three parts, each readable alone
//!
//! - **The library** (everything but `data`, `simulate` and `cli`): layers, models, losses,
//!   optimisers, training step, rollout, weights. It knows nothing of files of trajectories.
//! - **The datasets** ([`data`], with [`simulate`] writing one format): schemas, readers,
//!   splits, windows and symmetry subgroups, on the runtime's images only — no burn type.
//! - **The binary** ([`cli`](mod@cli), feature `cli`): the `ginrs` tool, the only module
//!   that uses both; nothing else depends on it.
//!
//! ## Crate rules
//!
//! - **Dependencies**: `ginrs-train` → `ginrs-runtime`, `ginrs-generator`, `burn`. The
//!   runtime never depends on this crate. Layers are configured with the runtime's types
//!   (`ConvContractConfig`, `Signature`, `DenseBank`, …) and built *through* the runtime
//!   layer, which validates the configuration, fixes the pair order and ginjax's initial
//!   weights, and is what a trained layer exports to.
//! - **No unsafe code** (`#![forbid(unsafe_code)]`).
//! - **One concept per module**: [`data`] (datasets; see above), [`image`] (batches of
//!   multi-images as tensors), [`layers`]
//!   (one file per layer, plus the padding of the convolution input, the [`Route`]s and the
//!   burn operations of the fused route), [`eigen`] (the differentiable spectral function behind the
//!   norm's whitening), [`models`] (ginjax's UNet, ResNet and DilResNet executing the runtime's
//!   model plans), [`loss`], [`optim`],
//!   [`step`], [`distributed`] (data-parallel training over MPI ranks, feature `mpi`),
//!   [`rollout`](mod@rollout), [`params`] (ginjax parameter names), [`weights`]
//!   (runtime `LayerWeights` exchange), [`error`], [`simulate`] (the turbulence solver and
//!   its datasets; no burn), [`spectrum`] (ginjax's binned isotropic power and energy
//!   spectra; no burn), [`cli`](mod@cli) (the `ginrs` command line tool, feature `cli`, on
//!   by default).
//! - **Typed errors** ([`TrainError`]): bad input is reported, never a panic.
//!
//! ## burn 0.22 facts this crate relies on
//!
//! - Tensors are `Tensor<D>` (rank in the type, no backend generic); the backend is chosen by
//!   the [`Device`](burn::tensor::Device): `Device::flex()` is the pure-Rust CPU backend
//!   (this crate's default feature `flex`), `wgpu`/`cuda` add GPU devices. Autodiff is a
//!   device decorator: tensors created on `device.autodiff()` record a graph.
//! - `#[derive(Module)]` treats `Param<Tensor<_>>` fields as trainable parameters, plain
//!   `Tensor` fields as constants (the invariant filter basis lives there) and
//!   `#[module(skip)]` fields as configuration.
//! - burn's padding has no circular mode and `conv3d` has no asymmetric padding, so the
//!   convolution input is padded by slices and concatenation ([`layers::padding`]) and the
//!   convolutions run unpadded.
//! - burn has no differentiable `eigh`: see [`eigen`].
//! - A custom operation with its own backward pass is a `#[backend_extension(Flex, Autodiff)]`
//!   trait (burn's `extension` feature) implemented on `Flex` and on burn-autodiff's
//!   `Autodiff<Flex, C>` (a `Backward` node, `OpsKind`, checkpointed operands), called through
//!   `Dispatch` on `Tensor::into_dispatch`; the fused [`Route`] of ConvContract (bias
//!   included), GroupNorm, VectorNeuronNonlinear and MaxNormPool is one per layer
//!   (`layers::host`), or one for a whole model whose every layer takes that route
//!   ([`Model::runs_fused`]), and a [`TensorImage`] a host operation produced keeps its packed
//!   tensor, which the next host operation takes as it is.
//! - Images are carried as rank-4 tensors `[batch, channels, pixels, d^k]` whatever d and k
//!   ([`TensorImage`]), and reshaped to `conv{1,2,3}d`'s ranks inside the convolution.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
pub mod distributed;
pub mod eigen;
pub mod error;
pub mod image;
pub mod layers;
pub mod loss;
pub mod models;
pub mod optim;
pub mod params;
pub mod rollout;
pub mod simulate;
pub mod spectrum;
pub mod step;
pub mod weights;

pub use error::{FusedUnsupported, TrainError};
pub use image::TensorImage;
pub use layers::{
    BlockModule, ConvContract, GroupNorm, ImageModule, LayerWrapper, MaxNormPool, Route,
    VectorNeuronNonlinear,
};
pub use loss::{Loss, Reduce};
pub use models::{Model, ModelLayer};
pub use optim::Optimizer;
pub use params::{GinjaxParams, NamedArray};
pub use rollout::{rollout, shift_window, shift_window_after};
pub use step::Trainer;
