//! The process group: one process alone, or the ranks of an MPI job, and the collectives
//! data-parallel training needs. Without the `mpi` feature only the single process exists.

use std::fmt;
#[cfg(feature = "mpi")]
use std::rc::Rc;

use super::{DistributedError, Launcher};

/// The ranks this process trains with: itself alone, or every rank of its MPI job.
///
/// Cloning shares the one MPI environment, which is finalised when the last clone is dropped.
#[derive(Clone, Default)]
pub struct Ranks {
    #[cfg(feature = "mpi")]
    mpi: Option<Rc<Mpi>>,
}

/// The numbers [`Ranks::all_reduce_sum`] sums: `f32` (gradients) and `f64` (statistics).
#[cfg(feature = "mpi")]
pub trait Summable: Copy + mpi::datatype::Equivalence {}
/// The numbers [`Ranks::all_reduce_sum`] sums: `f32` (gradients) and `f64` (statistics).
#[cfg(not(feature = "mpi"))]
pub trait Summable: Copy {}
impl Summable for f32 {}
impl Summable for f64 {}

/// MPI, initialised: the universe (finalised on drop) and this rank's place in it.
#[cfg(feature = "mpi")]
struct Mpi {
    universe: mpi::environment::Universe,
    rank: usize,
    size: usize,
    local_rank: usize,
}

impl fmt::Debug for Ranks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ranks(rank {} of {})", self.rank(), self.size())
    }
}

impl Ranks {
    /// This process alone.
    pub fn single() -> Self {
        Self::default()
    }

    /// The ranks of this process's job: with `mpi` (`--mpi`), MPI is initialised and the
    /// job's ranks are returned; without it, this process alone.
    ///
    /// Refused: `mpi` in a build without the feature ([`DistributedError::NotCompiled`]),
    /// `mpi` without a launcher ([`DistributedError::MissingLauncher`]), and a launch of
    /// several ranks without `mpi` ([`DistributedError::NotRequested`]), where each rank would
    /// train alone into the same run directory.
    pub fn init(mpi: bool) -> Result<Self, DistributedError> {
        let launcher = Launcher::detect();
        if !mpi {
            return match launcher {
                Some(Launcher {
                    name,
                    rank,
                    size: Some(size),
                }) if size > 1 => Err(DistributedError::NotRequested {
                    rank: rank.unwrap_or(0),
                    size,
                    launcher: name.to_string(),
                }),
                _ => Ok(Self::single()),
            };
        }
        if !cfg!(feature = "mpi") {
            return Err(DistributedError::NotCompiled);
        }
        if launcher.is_none() {
            return Err(DistributedError::MissingLauncher);
        }
        Self::init_mpi()
    }

    #[cfg(feature = "mpi")]
    fn init_mpi() -> Result<Self, DistributedError> {
        use mpi::traits::Communicator;
        // Only the main thread calls MPI; burn's worker threads never do.
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or(DistributedError::Initialization)?;
        let world = universe.world();
        let local_rank = world.split_shared(world.rank()).rank() as usize;
        Ok(Self {
            mpi: Some(Rc::new(Mpi {
                rank: world.rank() as usize,
                size: world.size() as usize,
                local_rank,
                universe,
            })),
        })
    }

    #[cfg(not(feature = "mpi"))]
    fn init_mpi() -> Result<Self, DistributedError> {
        Err(DistributedError::NotCompiled)
    }

    /// This process's rank, from 0.
    pub fn rank(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return m.rank;
        }
        0
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return m.size;
        }
        1
    }

    /// This process's rank among the ranks on its machine (the GPU it takes by default).
    pub fn local_rank(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            return m.local_rank;
        }
        0
    }

    /// Whether this is rank 0, the one that writes the run directory.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// Replaces `values` on every rank by their element-wise sum over the ranks.
    pub fn all_reduce_sum<T: Summable>(&self, values: &mut [T]) {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            use mpi::collective::SystemOperation;
            use mpi::traits::CommunicatorCollectives;
            let local = values.to_vec();
            m.universe
                .world()
                .all_reduce_into(&local[..], values, SystemOperation::sum());
        }
        #[cfg(not(feature = "mpi"))]
        let _ = values;
    }

    /// Every rank's `value`, in rank order.
    pub fn all_gather_u64(&self, value: u64) -> Vec<u64> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            use mpi::traits::CommunicatorCollectives;
            let mut all = vec![0u64; m.size];
            m.universe.world().all_gather_into(&value, &mut all[..]);
            return all;
        }
        vec![value]
    }

    /// Rank 0's `bytes`, on every rank (the other ranks' `bytes` are ignored).
    pub fn broadcast_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            use mpi::traits::{Communicator, Root};
            let world = m.universe.world();
            let root = world.process_at_rank(0);
            let mut len = bytes.len() as u64;
            root.broadcast_into(&mut len);
            let mut buffer = if m.rank == 0 {
                bytes.to_vec()
            } else {
                vec![0u8; len as usize]
            };
            root.broadcast_into(&mut buffer[..]);
            return buffer;
        }
        bytes.to_vec()
    }

    /// Ends the whole job with exit status `code`: every rank, not only this one (MPI_Abort),
    /// so that no rank waits forever for one that failed.
    pub fn abort(&self, code: i32) -> ! {
        #[cfg(feature = "mpi")]
        if let Some(m) = &self.mpi {
            use mpi::traits::Communicator;
            m.universe.world().abort(code);
        }
        std::process::exit(code)
    }
}
