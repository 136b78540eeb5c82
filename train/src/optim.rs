//! Optimisers: burn's Adam and AdamW with optax's defaults.
//!
//! burn 0.22's `AdamConfig`/`AdamWConfig` build a type-erased `ModuleOptimizer` that steps a
//! whole module given `GradientsParams`. Its update `m̂ / (√v̂ + eps)` with bias-corrected
//! moments is optax's; only the defaults differ (burn's eps is 1e-5, optax's 1e-8), so
//! [`Optimizer`] carries optax's defaults (`optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)`,
//! `optax.adamw(..., weight_decay=1e-4)`).

use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};

/// An optimiser and its hyper-parameters (the learning rate is given per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Adam.
    Adam {
        /// Decay of the first moment.
        beta_1: f32,
        /// Decay of the second moment.
        beta_2: f32,
        /// Added to `√v̂`.
        epsilon: f32,
    },
    /// AdamW: Adam with decoupled weight decay.
    AdamW {
        /// Decay of the first moment.
        beta_1: f32,
        /// Decay of the second moment.
        beta_2: f32,
        /// Added to `√v̂`.
        epsilon: f32,
        /// Decoupled weight decay.
        weight_decay: f32,
    },
}

impl Optimizer {
    /// `optax.adam`'s defaults.
    pub fn adam() -> Self {
        Self::Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// `optax.adamw`'s defaults.
    pub fn adamw() -> Self {
        Self::AdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 1e-4,
        }
    }

    /// burn's optimiser for a whole module.
    pub fn init(self) -> ModuleOptimizer {
        match self {
            Self::Adam {
                beta_1,
                beta_2,
                epsilon,
            } => AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .init(),
            Self::AdamW {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
            } => AdamWConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .with_weight_decay(weight_decay)
                .init(),
        }
    }
}
