//! [`Route`]: how the equivariant layers compute, forward and backward.

use crate::error::{FusedUnsupported, TrainError};

/// How [`ConvContract`](crate::ConvContract), [`GroupNorm`](crate::GroupNorm),
/// [`VectorNeuronNonlinear`](crate::VectorNeuronNonlinear) and
/// [`MaxNormPool`](crate::MaxNormPool) compute their forward and backward passes. Every route gives the same numbers (up to f32 rounding).
///
/// - `Dense`: burn tensor operations that burn differentiates (for the convolution: dense
///   filters from the basis and one burn convolution). Runs on every burn device and dtype.
/// - `Fused`: the runtime's CPU kernels as one burn operation per layer with its own backward
///   pass. Serves f32 tensors on burn's flex device (and only when ginrs-train is built with
///   its `flex` feature, the default); a call it cannot serve is a
///   [`TrainError::Fused`] error.
/// - `Auto` (the default): the fused route where it serves the call, the dense route
///   otherwise (decided per call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Route {
    /// The fused route where it serves the call, the dense route otherwise (decided per call).
    #[default]
    Auto,
    /// burn tensor operations, differentiated by burn.
    Dense,
    /// The runtime's kernels as one burn operation with its own backward pass; a call it
    /// cannot serve is a [`TrainError::Fused`] error.
    Fused,
}

impl Route {
    /// The fused call `fused` makes, where this route takes it: `None` for the dense route,
    /// the call or its error for the fused route, and the call if there is one for `Auto`.
    pub(crate) fn pick<T>(
        self,
        fused: impl FnOnce() -> Result<T, FusedUnsupported>,
    ) -> Result<Option<T>, TrainError> {
        match self {
            Self::Dense => Ok(None),
            Self::Fused => Ok(Some(fused()?)),
            Self::Auto => Ok(fused().ok()),
        }
    }
}
