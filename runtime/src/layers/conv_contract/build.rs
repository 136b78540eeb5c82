//! Building a [`ConvContract`]: one response kernel per realisable block pair (from a dense
//! bank or supplied by generated code), and ginjax's initialisation of weights and biases.

use ginrs_generator::pairs as pair_rules;

use super::{ConvContract, ConvContractError, DroppedPair, MissingFilterCause, Pair};
use crate::error::Error;
use crate::image::{TensorKey, MAX_DIM};
use crate::io::weights::LayerWeights;
use crate::kernels::stencil::{ResponseKernel, SparseKernel};
use crate::ops::bank::DenseBank;

use super::ConvContractConfig;

/// The boxed kernel type a caller supplies per block pair.
pub type PairKernel = ((TensorKey, TensorKey), Box<dyn ResponseKernel>);

/// The key of the invariant filters that map `input` to `output` ([`pair_rules::filter_type`]).
fn filter_key(input: &TensorKey, output: &TensorKey) -> TensorKey {
    let (k, parity) =
        pair_rules::filter_type((input.k(), input.parity()), (output.k(), output.parity()));
    TensorKey::new(k, parity)
}

/// One [`SparseKernel`] per (input key, target key) pair of `config` whose filter key the
/// bank has.
fn bank_kernels(
    config: &ConvContractConfig,
    bank: &DenseBank,
) -> Result<Vec<PairKernel>, ConvContractError> {
    let (inputs, targets) = (config.input.entries(), config.target.entries());
    let mut kernels: Vec<PairKernel> = Vec::new();
    for (i, o) in pair_rules::pair_order(inputs.len(), targets.len()) {
        let (input, output) = (&inputs[i].0, &targets[o].0);
        let fk = filter_key(input, output);
        if let Some(block) = bank.get(fk.k(), fk.parity()) {
            let kernel = SparseKernel::new(
                bank.dim(),
                bank.sides(),
                input.k(),
                output.k(),
                block.count(),
                block.data(),
            )?;
            kernels.push(((input.clone(), output.clone()), Box::new(kernel)));
        }
    }
    Ok(kernels)
}

impl ConvContract {
    /// Builds the layer from a dense invariant bank (one [`SparseKernel`] per pair) and
    /// initialises weights and biases from `seed`.
    pub fn from_bank(
        config: ConvContractConfig,
        bank: &DenseBank,
        seed: u64,
    ) -> Result<Self, ConvContractError> {
        let kernels = bank_kernels(&config, bank)?;
        let sides = bank.sides().to_vec();
        let mut layer = Self::assemble(config, bank.dim(), sides, kernels, Some(bank.orders()))?;
        layer.initialise(seed);
        Ok(layer)
    }

    /// Builds the layer from a bank and loads `weights` (e.g. a ginjax layer's parameters).
    /// Nothing is allocated for the weights before their shapes are checked against the
    /// layer, so channel counts that `weights` does not back are an error, not an allocation.
    pub fn from_weights(
        config: ConvContractConfig,
        bank: &DenseBank,
        weights: &LayerWeights,
    ) -> Result<Self, Error> {
        let kernels = bank_kernels(&config, bank)?;
        let sides = bank.sides().to_vec();
        let mut layer = Self::assemble(config, bank.dim(), sides, kernels, Some(bank.orders()))?;
        layer.load_weights(weights)?;
        Ok(layer)
    }

    /// Builds the layer from caller-supplied kernels, one per realisable (input key, target
    /// key) pair (generated layers use this). `dim` and `sides` describe the filters (`M` per
    /// axis). A pair of the signatures without a kernel (or whose kernel has no filter) is a
    /// missing mapping: an error unless `config.allow_missing`. Weights and biases are
    /// initialised from `seed`.
    pub fn with_kernels(
        config: ConvContractConfig,
        dim: usize,
        sides: Vec<usize>,
        kernels: Vec<PairKernel>,
        seed: u64,
    ) -> Result<Self, ConvContractError> {
        let mut layer = Self::assemble(config, dim, sides, kernels, None)?;
        layer.initialise(seed);
        Ok(layer)
    }

    /// The layer's pairs and kernels, with no weights yet (the caller initialises or loads
    /// them). `bank_orders`: the filter orders of the bank the kernels come from, which tell a
    /// missing order from an order without invariant filters (`None` for supplied kernels).
    pub(super) fn assemble(
        config: ConvContractConfig,
        dim: usize,
        sides: Vec<usize>,
        kernels: Vec<PairKernel>,
        bank_orders: Option<&[usize]>,
    ) -> Result<Self, ConvContractError> {
        if dim == 0 || dim > MAX_DIM || sides.len() != dim || sides.contains(&0) {
            return Err(ConvContractError::Sides { dim, sides });
        }
        let mut slots: Vec<Option<Box<dyn ResponseKernel>>> = (0..config.input.entries().len()
            * config.target.entries().len())
            .map(|_| None)
            .collect();
        let n_targets = config.target.entries().len();
        for ((input, output), kernel) in kernels {
            let i = config.input.entries().iter().position(|(k, _)| *k == input);
            let o = config
                .target
                .entries()
                .iter()
                .position(|(k, _)| *k == output);
            match (i, o) {
                (Some(i), Some(o)) if slots[i * n_targets + o].is_none() => {
                    slots[i * n_targets + o] = Some(kernel);
                }
                _ => return Err(ConvContractError::UnknownPair { input, output }),
            }
        }
        let mut pairs = Vec::new();
        let mut dropped = Vec::new();
        for (i, o) in pair_rules::pair_order(config.input.entries().len(), n_targets) {
            let (input, output) = (&config.input.entries()[i].0, &config.target.entries()[o].0);
            let fk = filter_key(input, output);
            match slots[i * n_targets + o].take() {
                Some(kernel) if kernel.filter_count() > 0 => pairs.push(Pair {
                    input: i,
                    target: o,
                    filter_key: fk,
                    n_f: kernel.filter_count(),
                    kernel,
                    weights: Vec::new(),
                }),
                _ if config.allow_missing => dropped.push(DroppedPair {
                    input: input.clone(),
                    output: output.clone(),
                    filter_key: fk,
                }),
                _ => {
                    let cause = match bank_orders {
                        Some(orders) if !orders.contains(&fk.k()) => {
                            MissingFilterCause::OrderNotInBank
                        }
                        _ => MissingFilterCause::NoInvariantFilter,
                    };
                    return Err(ConvContractError::MissingFilter {
                        dim,
                        side: sides[0],
                        input: input.clone(),
                        output: output.clone(),
                        filter_key: fk,
                        cause,
                    });
                }
            }
        }
        let outputs = pair_rules::output_order(pairs.iter().map(|p| (p.input, p.target)));
        Ok(Self {
            biases: vec![None; n_targets],
            config,
            dim,
            sides,
            pairs,
            outputs,
            dropped,
        })
    }

    /// Redraws every weight and bias from `seed` with ginjax's bounds: uniform in `±β`,
    /// `β = 1/√(in_c · M^d · d^k_in)`, pairs in ginjax's order, the bias of a target drawn
    /// again by every pair that reaches it (the last one is kept).
    pub fn initialise(&mut self, seed: u64) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let pixels: usize = self.sides.iter().product();
        let bias_on = self.config.bias.is_enabled();
        for pair in &mut self.pairs {
            let (in_key, in_c) = &self.config.input.entries()[pair.input];
            let out_c = self.config.target.entries()[pair.target].1;
            let beta = 1.0 / ((in_c * pixels * in_key.components(self.dim)) as f64).sqrt();
            let beta = beta as f32;
            pair.weights = (0..out_c * in_c * pair.n_f)
                .map(|_| rng.random_range(-beta..=beta))
                .collect();
            if bias_on {
                self.biases[pair.target] =
                    Some((0..out_c).map(|_| rng.random_range(-beta..=beta)).collect());
            }
        }
    }
}
