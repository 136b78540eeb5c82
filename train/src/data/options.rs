//! [`DataOptions`]: what the user tells a reader that the file cannot say.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::source::DEFAULT_CACHE_BYTES;

/// A dataset's on-disk format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// A `ginrs simulate` directory (`dataset.json` and `.npy` arrays).
    Turbulence,
    /// The Well's HDF5 files (Polymathic AI): `t0_fields`, `t1_fields`, `t2_fields`.
    Well,
    /// PDEBench's compressible Navier–Stokes HDF5 files: `density`, `pressure`, `Vx`, `Vy`
    /// [, `Vz`].
    Pdebench,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Turbulence => "turbulence",
            Self::Well => "well",
            Self::Pdebench => "pdebench",
        })
    }
}

/// The boundary of a PDEBench file's domain, which its file name records
/// (`…_periodic_…`, `…_trans_…`) and its attributes do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Boundary {
    /// Periodic on every axis: a torus.
    Periodic,
    /// Outgoing (transmissive) on every axis: ginjax's zero padding.
    Outgoing,
}

/// What a reader needs beyond the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataOptions {
    /// The format; detected from the path when absent.
    pub format: Option<Format>,
    /// Parity per field name (1: the field changes sign under reflections). HDF5 files cannot
    /// record it; fields not listed get 0.
    pub parity: BTreeMap<String, u8>,
    /// PDEBench: the boundary, overriding what the file name says.
    pub boundary: Option<Boundary>,
    /// Bytes of frames each reader keeps in memory at most.
    pub cache_bytes: usize,
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            format: None,
            parity: BTreeMap::new(),
            boundary: None,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// One `--parity NAME=P` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParityOverride {
    /// The field's name.
    pub field: String,
    /// Its parity, 0 or 1.
    pub parity: u8,
}

impl FromStr for ParityOverride {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (field, parity) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected FIELD=PARITY, e.g. vorticity=1"))?;
        let parity = match parity.trim() {
            "0" => 0,
            "1" => 1,
            other => return Err(format!("`{s}`: parity must be 0 or 1, not `{other}`")),
        };
        if field.trim().is_empty() {
            return Err(format!("`{s}`: the field name is empty"));
        }
        Ok(Self {
            field: field.trim().to_owned(),
            parity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_overrides_parse_and_refuse_bad_values() {
        let p: ParityOverride = "vorticity=1".parse().unwrap();
        assert_eq!((p.field.as_str(), p.parity), ("vorticity", 1));
        assert!("vorticity".parse::<ParityOverride>().is_err());
        assert!("vorticity=2"
            .parse::<ParityOverride>()
            .unwrap_err()
            .contains("0 or 1"));
        assert!("=1".parse::<ParityOverride>().is_err());
    }
}
