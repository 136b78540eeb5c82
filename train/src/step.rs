//! The training step a user calls in a loop.
//!
//! burn 0.22's autodiff: a module built on an autodiff device (`device.autodiff()`) records
//! its graph; `loss.backward()` returns the gradients, `GradientsParams::from_grads` keeps
//! those of the module's parameters, and `ModuleOptimizer::step` returns the updated module.
//! [`Trainer::step`] does exactly that, after checking that the loss is finite;
//! [`Trainer::step_shared`] is its data-parallel form (see [`crate::distributed`]).

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::distributed::{gradients, Ranks};
use crate::error::TrainError;
use crate::image::{read_f64, TensorImage};
use crate::layers::ImageModule;
use crate::loss::{Loss, Reduce};
use crate::optim::Optimizer;

/// A module, its optimiser state, the learning rate and a step counter.
pub struct Trainer<M: Module> {
    module: M,
    optimizer: ModuleOptimizer,
    learning_rate: f64,
    step: usize,
}

impl<M: Module> Trainer<M> {
    /// A trainer for `module` (whose parameters live on an autodiff device).
    pub fn new(module: M, optimizer: Optimizer, learning_rate: f64) -> Self {
        Self {
            module,
            optimizer: optimizer.init(),
            learning_rate,
            step: 0,
        }
    }

    /// A trainer that continues a saved run: `module` and `optimizer` restored from their
    /// records (burn's module record restores the parameter ids the optimiser state is keyed
    /// by), `steps` the number of steps already taken.
    pub fn resume(module: M, optimizer: ModuleOptimizer, learning_rate: f64, steps: usize) -> Self {
        Self {
            module,
            optimizer,
            learning_rate,
            step: steps,
        }
    }

    /// The optimiser and its state (e.g. to save it with `ModuleOptimizer::save`).
    pub fn optimizer(&self) -> &ModuleOptimizer {
        &self.optimizer
    }

    /// The module with its current parameters.
    pub fn module(&self) -> &M {
        &self.module
    }

    /// Consumes the trainer, returning the module.
    pub fn into_module(self) -> M {
        self.module
    }

    /// The number of steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Changes the learning rate for the next steps.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// One step: evaluates `loss` (a tensor of shape `[1]`) on the module, backpropagates and
    /// updates the parameters. Returns the loss before the update. A NaN or infinite loss
    /// stops with [`TrainError::NonFiniteLoss`] naming the step, leaving the module unchanged.
    pub fn step(
        &mut self,
        loss: impl FnOnce(&M) -> Result<Tensor<1>, TrainError>,
    ) -> Result<f64, TrainError> {
        let loss = loss(&self.module)?;
        let value = read_f64(&loss)?.first().copied().ok_or_else(|| {
            TrainError::Unsupported("the loss must be a tensor of shape [1]".into())
        })?;
        if !value.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: self.step,
                loss: value,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.module);
        self.apply(grads);
        Ok(value)
    }

    /// One data-parallel step of `ranks` (every rank calls it): `loss` is the mean loss of
    /// this rank's share of the global batch, `share` that share's fraction of the batch
    /// (`b_r / B`; 0 for a rank without windows, whose `loss` is then any loss of the same
    /// model, e.g. on one window of the batch). The gradients of `share × loss` and the
    /// losses are summed over the ranks, so every replica takes the step of the global
    /// batch's mean loss, which is returned. With one rank this is [`Trainer::step`].
    ///
    /// A non-finite loss on any rank stops every rank with [`TrainError::NonFiniteLoss`].
    pub fn step_shared(
        &mut self,
        loss: impl FnOnce(&M) -> Result<Tensor<1>, TrainError>,
        share: f64,
        ranks: &Ranks,
    ) -> Result<f64, TrainError> {
        if ranks.size() == 1 {
            return self.step(loss);
        }
        let loss = loss(&self.module)?.mul_scalar(share);
        let mut value = [read_f64(&loss)?.first().copied().ok_or_else(|| {
            TrainError::Unsupported("the loss must be a tensor of shape [1]".into())
        })? as f32];
        let grads = GradientsParams::from_grads(loss.backward(), &self.module);
        let grads = gradients::all_reduce(&self.module, grads, &mut value, ranks)?;
        let value = f64::from(value[0]);
        if !value.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: self.step,
                loss: value,
            });
        }
        self.apply(grads);
        Ok(value)
    }

    /// The optimiser's update with `grads`, counted as a step.
    fn apply(&mut self, grads: GradientsParams) {
        self.module = self
            .optimizer
            .step(self.learning_rate, self.module.clone(), grads);
        self.step += 1;
    }
}

impl<M: ImageModule> Trainer<M> {
    /// One supervised step: `loss(module(input), target)` reduced by the batch mean.
    pub fn fit_batch(
        &mut self,
        input: &TensorImage,
        target: &TensorImage,
        loss: Loss,
    ) -> Result<f64, TrainError> {
        self.step(|module| {
            let prediction = module.forward_image(input)?;
            loss.compute(&prediction, target, Reduce::Mean)
        })
    }
}
