//! Self-checks: numerical equivariance of layers and functions under the group action.

pub mod equivariance;
