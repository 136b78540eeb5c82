//! The JSON file format of filter banks, `ginrs-filters/1` (documented in `filters/README.md`).
//!
//! This is the only module of the crate that knows about serde. A file holds the banks of one
//! group and convention:
//!
//! ```json
//! {
//!   "schema": "ginrs-filters/1",
//!   "generator": {"name": "ginrs-generator", "version": "0.1.0"},
//!   "dimension": 2,
//!   "group": "hyperoctahedral",
//!   "group_order": 8,
//!   "convention": "ginjax",
//!   "scale": "normalize",
//!   "k2_irreps_basis": true,
//!   "banks": [
//!     {"size": 3, "k": 0, "parity": 0, "shape": [3, 3], "count": 3,
//!      "filters": [[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], ...]}
//!   ],
//!   "content_hash": "<sha256 hex>"
//! }
//! ```
//!
//! Each filter is flattened row-major over `shape = (M,)*d + (d,)*k`. Canonical banks also carry
//! `"orbits"`: per filter, its exact coefficients as `[coordinate, ±1]` pairs.
//!
//! `content_hash` is the SHA-256 (lower-case hex) of the `banks` array serialised compactly by
//! `serde_json` (no whitespace; keys in the order `size, k, parity, shape, count, filters`,
//! then `orbits` when present; numbers as `serde_json` prints `u64`/`i64`/`f64`, i.e. the
//! shortest representation that reads back to the same `f64`, with `.0` on whole numbers).
//! Readers recompute it from the parsed banks, so it checks the content, not the layout.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::filters::{BankOptions, Convention, ExactFilter, FilterBank, FilterError, Scale};
use crate::group::{Group, GroupError, GroupKind};

/// The schema identifier written in every file.
pub const SCHEMA: &str = "ginrs-filters/1";

/// Errors from reading a filters JSON file.
#[derive(Debug, Error)]
pub enum JsonError {
    /// The text is not JSON of the expected structure.
    #[error("not a valid ginrs filters file: {0}")]
    Parse(#[from] serde_json::Error),
    /// The `schema` field names another format.
    #[error("unsupported schema `{0}`: this reader understands `{SCHEMA}`")]
    Schema(String),
    /// The group or dimension is invalid.
    #[error(transparent)]
    Group(#[from] GroupError),
    /// A bank is inconsistent (lengths, parity, exact terms) or a name is unknown.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A field disagrees with what the rest of the file implies.
    #[error("field `{field}` is {found}, expected {expected}")]
    Mismatch {
        /// Which field.
        field: String,
        /// What the file says.
        found: String,
        /// What it should say.
        expected: String,
    },
    /// The stored content hash does not match the banks: the file was edited or truncated.
    #[error(
        "content_hash mismatch: the file says {stored} but its banks hash to {computed}; \
         regenerate the file with gen-filters"
    )]
    HashMismatch {
        /// The hash in the file.
        stored: String,
        /// The hash of the parsed banks.
        computed: String,
    },
}

/// Who wrote a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Crate name.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl GeneratorInfo {
    /// This crate.
    pub fn current() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// A filters file: the banks of one group, convention and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterFile {
    /// Who wrote it.
    pub generator: GeneratorInfo,
    /// Spatial dimension d.
    pub dimension: usize,
    /// The group.
    pub group: GroupKind,
    /// Its order.
    pub group_order: usize,
    /// The convention of every bank.
    pub convention: Convention,
    /// The scale of every bank.
    pub scale: Scale,
    /// ginjax's `k2_irreps_basis` option used for the banks.
    pub k2_irreps_basis: bool,
    /// The banks, in the order written.
    pub banks: Vec<FilterBank>,
}

/// A bank as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBank {
    size: usize,
    k: usize,
    parity: u8,
    shape: Vec<usize>,
    count: usize,
    filters: Vec<Vec<f64>>,
    #[serde(default)]
    orbits: Option<Vec<Vec<(usize, i8)>>>,
}

/// A bank as written and hashed, borrowing the filters.
#[derive(Serialize)]
struct BankRef<'a> {
    size: usize,
    k: usize,
    parity: u8,
    shape: Vec<usize>,
    count: usize,
    filters: &'a [Vec<f64>],
    #[serde(skip_serializing_if = "Option::is_none")]
    orbits: Option<Vec<&'a [(usize, i8)]>>,
}

impl<'a> BankRef<'a> {
    fn new(bank: &'a FilterBank) -> Self {
        Self {
            size: bank.size(),
            k: bank.k(),
            parity: bank.parity(),
            shape: bank.shape(),
            count: bank.len(),
            filters: bank.filters(),
            orbits: bank
                .exact()
                .map(|exact| exact.iter().map(|e| e.terms.as_slice()).collect()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    schema: String,
    generator: GeneratorInfo,
    dimension: usize,
    group: String,
    group_order: usize,
    convention: String,
    scale: String,
    k2_irreps_basis: bool,
    banks: Vec<JsonBank>,
    content_hash: String,
}

impl FilterFile {
    /// A file for banks built from `group` with `options`, written by this crate.
    pub fn new(group: &Group, options: &BankOptions, banks: Vec<FilterBank>) -> Self {
        Self {
            generator: GeneratorInfo::current(),
            dimension: group.dim(),
            group: group.kind(),
            group_order: group.order(),
            convention: options.convention,
            scale: options.scale,
            k2_irreps_basis: options.k2_irreps_basis,
            banks,
        }
    }

    /// The bank of side `size`, order `k` and parity `parity`, if the file has it.
    pub fn bank(&self, size: usize, k: usize, parity: u8) -> Option<&FilterBank> {
        self.banks
            .iter()
            .find(|b| b.size() == size && b.k() == k && b.parity() == parity)
    }

    /// The content hash of the banks (see the module documentation).
    pub fn content_hash(&self) -> String {
        hash_banks(&self.banks)
    }

    /// The file's JSON text: deterministic, one filter per line, ending with a newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out)
            .expect("writing to a Vec<u8> cannot fail");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Streams the text of [`FilterFile::to_json`] to `w` (wrap files in a `BufWriter`).
    pub fn write_json<W: Write>(&self, mut w: W) -> std::io::Result<()> {
        writeln!(w, "{{")?;
        writeln!(w, "  \"schema\": {},", compact(SCHEMA))?;
        writeln!(
            w,
            "  \"generator\": {{\"name\": {}, \"version\": {}}},",
            compact(&self.generator.name),
            compact(&self.generator.version)
        )?;
        writeln!(w, "  \"dimension\": {},", self.dimension)?;
        writeln!(w, "  \"group\": {},", compact(self.group.name()))?;
        writeln!(w, "  \"group_order\": {},", self.group_order)?;
        writeln!(w, "  \"convention\": {},", compact(self.convention.name()))?;
        writeln!(w, "  \"scale\": {},", compact(self.scale.name()))?;
        writeln!(w, "  \"k2_irreps_basis\": {},", self.k2_irreps_basis)?;
        write!(w, "  \"banks\": [")?;
        for (i, bank) in self.banks.iter().enumerate() {
            let bank = BankRef::new(bank);
            writeln!(w, "{}    {{", if i == 0 { "\n" } else { ",\n" })?;
            writeln!(
                w,
                "      \"size\": {}, \"k\": {}, \"parity\": {}, \"shape\": {}, \"count\": {},",
                bank.size,
                bank.k,
                bank.parity,
                compact(&bank.shape),
                bank.count
            )?;
            write!(w, "      \"filters\": [")?;
            write_lines(&mut w, bank.filters)?;
            if let Some(orbits) = &bank.orbits {
                write!(w, ",\n      \"orbits\": [")?;
                write_lines(&mut w, orbits)?;
            }
            write!(w, "\n    }}")?;
        }
        writeln!(
            w,
            "{}",
            if self.banks.is_empty() {
                "],"
            } else {
                "\n  ],"
            }
        )?;
        writeln!(w, "  \"content_hash\": {}", compact(&self.content_hash()))?;
        writeln!(w, "}}")?;
        w.flush()
    }

    /// Reads a file, checking the schema, the group order, every bank's shape and count, the
    /// exact coefficients and the content hash.
    pub fn from_json(text: &str) -> Result<Self, JsonError> {
        let file: JsonFile = serde_json::from_str(text)?;
        if file.schema != SCHEMA {
            return Err(JsonError::Schema(file.schema));
        }
        let group_kind: GroupKind = file.group.parse()?;
        let group = Group::new(group_kind, file.dimension)?;
        if group.order() != file.group_order {
            return Err(mismatch("group_order", file.group_order, group.order()));
        }
        let convention: Convention = file.convention.parse()?;
        let scale: Scale = file.scale.parse()?;
        let mut banks = Vec::with_capacity(file.banks.len());
        for (i, bank) in file.banks.into_iter().enumerate() {
            if bank.count != bank.filters.len() {
                return Err(mismatch(
                    &format!("banks[{i}].count"),
                    bank.count,
                    bank.filters.len(),
                ));
            }
            let exact = bank.orbits.map(|orbits| {
                orbits
                    .into_iter()
                    .map(|terms| ExactFilter { terms })
                    .collect::<Vec<_>>()
            });
            let parsed = FilterBank::from_parts(
                file.dimension,
                bank.size,
                bank.k,
                bank.parity,
                bank.filters,
                exact,
            )?;
            if bank.shape != parsed.shape() {
                return Err(mismatch(
                    &format!("banks[{i}].shape"),
                    format!("{:?}", bank.shape),
                    format!("{:?}", parsed.shape()),
                ));
            }
            banks.push(parsed);
        }
        let computed = hash_banks(&banks);
        if computed != file.content_hash {
            return Err(JsonError::HashMismatch {
                stored: file.content_hash,
                computed,
            });
        }
        Ok(Self {
            generator: file.generator,
            dimension: file.dimension,
            group: group_kind,
            group_order: file.group_order,
            convention,
            scale,
            k2_irreps_basis: file.k2_irreps_basis,
            banks,
        })
    }
}

fn mismatch(field: &str, found: impl ToString, expected: impl ToString) -> JsonError {
    JsonError::Mismatch {
        field: field.to_string(),
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

fn hash_banks(banks: &[FilterBank]) -> String {
    let refs: Vec<BankRef> = banks.iter().map(BankRef::new).collect();
    let mut hasher = HashWriter(Sha256::new());
    serde_json::to_writer(&mut hasher, &refs).expect("banks serialise to JSON");
    hasher
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Feeds written bytes to a SHA-256 hasher.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes each item as compact JSON on its own line inside an already opened `[`, and closes
/// the bracket.
fn write_lines<W: Write, T: Serialize>(w: &mut W, items: &[T]) -> std::io::Result<()> {
    for (i, item) in items.iter().enumerate() {
        w.write_all(if i == 0 {
            b"\n        "
        } else {
            b",\n        "
        })?;
        serde_json::to_writer(&mut *w, item)?;
    }
    w.write_all(if items.is_empty() { b"]" } else { b"\n      ]" })
}

/// Compact JSON of a serialisable value.
fn compact<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("value serialises to JSON")
}
