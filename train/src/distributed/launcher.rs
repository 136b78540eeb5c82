//! Is this process one of several ranks? MPI launchers announce it in the environment of
//! every process they start: Open MPI's `mpirun` sets `OMPI_COMM_WORLD_SIZE`/`_RANK`, MPICH's
//! and Intel MPI's Hydra set `PMI_SIZE`/`PMI_RANK`, PMIx launchers set `PMIX_RANK`, and Slurm's
//! `srun` sets `SLURM_STEP_ID` with `SLURM_NTASKS`/`SLURM_PROCID`.

/// The variables whose presence means a launcher started this process.
pub const VARIABLES: [&str; 4] = [
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "PMIX_RANK",
    "SLURM_STEP_ID",
];

/// The launcher that started this process, as its environment tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launcher {
    /// Its name (`mpirun (Open MPI)`, `a Hydra launcher (MPICH, Intel MPI)`, …).
    pub name: &'static str,
    /// This process's rank, where the environment says it.
    pub rank: Option<usize>,
    /// The number of ranks, where the environment says it.
    pub size: Option<usize>,
}

impl Launcher {
    /// The launcher of this process, from its environment; `None` when it was started alone.
    pub fn detect() -> Option<Self> {
        Self::from_env(|name| std::env::var(name).ok())
    }

    /// The launcher that the variables `var` returns describe.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let number = |name: &str| var(name).and_then(|v| v.trim().parse().ok());
        let found = |name: &'static str, rank: &str, size: &str| Self {
            name,
            rank: number(rank),
            size: number(size),
        };
        if var("OMPI_COMM_WORLD_SIZE").is_some() {
            Some(found(
                "mpirun (Open MPI)",
                "OMPI_COMM_WORLD_RANK",
                "OMPI_COMM_WORLD_SIZE",
            ))
        } else if var("PMI_SIZE").is_some() {
            Some(found(
                "a Hydra launcher (MPICH, Intel MPI)",
                "PMI_RANK",
                "PMI_SIZE",
            ))
        } else if var("PMIX_RANK").is_some() {
            Some(found("a PMIx launcher", "PMIX_RANK", "PMIX_SIZE"))
        } else if var("SLURM_STEP_ID").is_some() && var("SLURM_PROCID").is_some() {
            Some(found("srun (Slurm)", "SLURM_PROCID", "SLURM_NTASKS"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn launchers_are_recognised_by_their_variables() {
        assert_eq!(Launcher::from_env(env(&[])), None);
        assert_eq!(
            Launcher::from_env(env(&[
                ("OMPI_COMM_WORLD_SIZE", "4"),
                ("OMPI_COMM_WORLD_RANK", "2")
            ])),
            Some(Launcher {
                name: "mpirun (Open MPI)",
                rank: Some(2),
                size: Some(4)
            })
        );
        let hydra = Launcher::from_env(env(&[("PMI_SIZE", "2"), ("PMI_RANK", "1")])).unwrap();
        assert_eq!((hydra.rank, hydra.size), (Some(1), Some(2)));
        let pmix = Launcher::from_env(env(&[("PMIX_RANK", "0")])).unwrap();
        assert_eq!((pmix.rank, pmix.size), (Some(0), None));
        // A Slurm batch script (no job step) is not a launch of ranks.
        assert_eq!(
            Launcher::from_env(env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "8")])),
            None
        );
        let srun = Launcher::from_env(env(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "3"),
            ("SLURM_NTASKS", "8"),
        ]))
        .unwrap();
        assert_eq!(
            (srun.name, srun.rank, srun.size),
            ("srun (Slurm)", Some(3), Some(8))
        );
    }
}
