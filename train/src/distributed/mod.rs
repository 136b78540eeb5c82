//! Data-parallel training across processes and machines, on MPI.
//!
//! **The engine.** burn 0.22's own distributed support (`burn::tensor::distributed`'s
//! `DistributedContext`) synchronises several devices inside one process, through a server
//! thread and channels; it reaches no other process or machine. MPI is the engine that HPC
//! clusters run: ranks are started by `mpirun` or Slurm's `srun`, and its all-reduce runs
//! over shared memory, TCP or InfiniBand, whatever the cluster has. ginrs uses it through
//! rsmpi (the `mpi` crate, feature `mpi`) and adds no transport of its own.
//!
//! **The scheme.** Every rank holds a replica of the model and of the optimiser. The global
//! batch (`batch_size`, the same on every rank, from the same shuffled order: it is a
//! function of the seed and the epoch) is split into contiguous [`shard`]s; rank `r` computes
//! the mean loss of its `b_r` windows scaled by `b_r / B`, and one all-reduce sums the
//! gradients (and the loss) over the ranks before each optimiser step
//! ([`gradients::all_reduce`]). The sum is the gradient of the global batch's mean loss, so
//! every replica takes the step one process with the whole batch would take, to the
//! reordering of floating-point sums, and the replicas stay identical ([`check_replicas`]
//! compares them after every epoch).
//!
//! One concept per module: [`launcher`] (is this process one of several ranks?),
//! [`ranks`] (the process group and its collectives), [`gradients`] (the all-reduce of a
//! step), [`agreement`] (do the ranks run the same configuration on the same data?).

pub mod agreement;
pub mod gradients;
pub mod launcher;
pub mod ranks;

use std::hash::{Hash, Hasher};
use std::ops::Range;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use thiserror::Error;

pub use agreement::{check_agreement, Agreement};
pub use launcher::Launcher;
pub use ranks::Ranks;

use crate::image::read_f32;

/// Why data-parallel training cannot start or go on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DistributedError {
    /// `--mpi` was asked for, but this build has no MPI.
    #[error(
        "this build has no MPI: build ginrs-train with `--features mpi` (it needs an MPI \
         library, e.g. Debian's libopenmpi-dev and openmpi-bin, and libclang-dev for its bindings)"
    )]
    NotCompiled,
    /// `--mpi` was asked for, but no launcher started this process.
    #[error(
        "--mpi needs an MPI launcher: start the ranks with `mpirun -np N ginrs train --mpi …` \
         (or `srun` under Slurm); none of the launchers' variables ({}) is set",
        launcher::VARIABLES.join(", ")
    )]
    MissingLauncher,
    /// A launcher started several ranks, but without `--mpi`.
    #[error(
        "this process is rank {rank} of {size} started by {launcher}, but --mpi was not given: \
         every rank would train alone into the same run directory; pass --mpi"
    )]
    NotRequested {
        /// This process's rank.
        rank: usize,
        /// The number of ranks the launcher started.
        size: usize,
        /// The launcher's name.
        launcher: String,
    },
    /// MPI could not be initialised.
    #[error("MPI could not be initialised: it was initialised before in this process")]
    Initialization,
    /// The global batch cannot be split evenly over the ranks.
    #[error(
        "batch_size {batch} is not a multiple of the {ranks} ranks: each rank takes an equal \
         share of the global batch; choose a batch_size divisible by {ranks} (e.g. {suggestion}) \
         or another number of ranks"
    )]
    BatchNotDivisible {
        /// The global batch size.
        batch: usize,
        /// The number of ranks.
        ranks: usize,
        /// The nearest batch size that would do.
        suggestion: usize,
    },
    /// A rank runs another configuration or reads other data than rank 0.
    #[error(
        "rank {rank}'s {what} differs from rank 0's{detail}: start every rank with the same \
         command line, configuration file and dataset (on a shared filesystem, or identical \
         copies)"
    )]
    Disagreement {
        /// The first rank that differs.
        rank: usize,
        /// `configuration` or `data`.
        what: &'static str,
        /// The first difference, as that rank sees it (empty on the other ranks).
        detail: String,
    },
    /// The replicas' parameters are no longer identical.
    #[error(
        "after epoch {epoch} the ranks' parameters differ (digests {digests:?}): the replicas \
         diverged, so the run cannot go on; resume from the last checkpoint"
    )]
    ReplicasDiverged {
        /// The epoch after which they were compared.
        epoch: usize,
        /// Each rank's parameter digest.
        digests: Vec<u64>,
    },
}

/// Rank `rank`'s part of `len` items split over `ranks` ranks: contiguous, in rank order,
/// sizes differing by at most one (the first `len % ranks` ranks take one more).
pub fn shard(len: usize, ranks: usize, rank: usize) -> Range<usize> {
    let ranks = ranks.max(1);
    let (base, extra) = (len / ranks, len % ranks);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// Checks that a global batch of `batch` windows splits evenly over `ranks` ranks.
pub fn check_batch(batch: usize, ranks: usize) -> Result<(), DistributedError> {
    if ranks > 1 && !batch.is_multiple_of(ranks) {
        return Err(DistributedError::BatchNotDivisible {
            batch,
            ranks,
            suggestion: batch.div_ceil(ranks).max(1) * ranks,
        });
    }
    Ok(())
}

/// A digest of `module`'s parameter values (their bits, in the module's visiting order).
/// Replicas built by the same build hash alike exactly when their parameters are identical.
pub fn parameter_digest<M: Module>(module: &M) -> Result<u64, crate::error::TrainError> {
    struct Digest {
        hasher: std::collections::hash_map::DefaultHasher,
        error: Option<crate::error::TrainError>,
    }
    impl ModuleVisitor for Digest {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            match read_f32(&param.val()) {
                Ok(values) => values
                    .iter()
                    .for_each(|v| v.to_bits().hash(&mut self.hasher)),
                Err(e) => self.error = self.error.take().or(Some(e)),
            }
        }
    }
    let mut digest = Digest {
        hasher: Default::default(),
        error: None,
    };
    module.visit(&mut digest);
    match digest.error {
        Some(e) => Err(e),
        None => Ok(digest.hasher.finish()),
    }
}

/// Checks, after epoch `epoch`, that every rank's replica of `module` is identical.
pub fn check_replicas<M: Module>(
    ranks: &Ranks,
    module: &M,
    epoch: usize,
) -> Result<(), crate::error::TrainError> {
    if ranks.size() == 1 {
        return Ok(());
    }
    let digests = ranks.all_gather_u64(parameter_digest(module)?);
    if digests.iter().any(|&d| d != digests[0]) {
        return Err(DistributedError::ReplicasDiverged { epoch, digests }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_in_order_and_differ_by_at_most_one() {
        for len in 0..20 {
            for ranks in 1..6 {
                let parts: Vec<_> = (0..ranks).map(|r| shard(len, ranks, r)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[ranks - 1].end, len);
                for pair in parts.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len() >= pair[1].len());
                    assert!(pair[0].len() - pair[1].len() <= 1);
                }
            }
        }
        assert_eq!(shard(7, 3, 0), 0..3);
        assert_eq!(shard(7, 3, 1), 3..5);
        assert_eq!(shard(7, 3, 2), 5..7);
        assert_eq!(shard(1, 2, 1), 1..1);
    }

    #[test]
    fn a_batch_must_split_evenly() {
        assert_eq!(check_batch(8, 2), Ok(()));
        assert_eq!(check_batch(7, 1), Ok(()));
        assert_eq!(
            check_batch(6, 4),
            Err(DistributedError::BatchNotDivisible {
                batch: 6,
                ranks: 4,
                suggestion: 8
            })
        );
        let message = check_batch(3, 2).unwrap_err().to_string();
        assert!(message.contains("batch_size 3"), "{message}");
        assert!(message.contains("e.g. 4"), "{message}");
    }
}
