//! HDF5 datasets: The Well ([`WellFile`]) and PDEBench's compressible Navier–Stokes files
//! ([`PdebenchFile`]), read frame by frame with the pure-Rust `rust-hdf5` crate.
//!
//! Both readers check the whole file's layout when they open it (groups, attributes, ranks,
//! sides, element types) and read nothing else then; a frame is a hyperslab of each field's
//! dataset (only the chunks it touches are decompressed), checked finite, kept in the reader's
//! [`FrameCache`](super::FrameCache) within [`DataOptions::cache_bytes`].
//!
//! Untrusted bytes: an HDF5 file is parsed by a third-party library from whatever bytes it
//! holds, and a damaged file can make a parser panic. Every call into `rust-hdf5` (and into
//! this module's own metadata walker, which uses the crate's decoders) runs under
//! [`std::panic::catch_unwind`], and a panic becomes [`DataError::Hdf5`] naming the file and
//! the object. Before anything is read, a frame larger than
//! `max(cache_bytes, 64 MiB)` ([`MIN_FRAME_LIMIT`]), a chunk larger than that, or a dataset
//! whose element count overflows is refused with [`DataError::Shape`], so a damaged size
//! field cannot ask for a huge buffer; so is a dataset compressed with a filter other than
//! deflate (gzip), shuffle or fletcher32, whose rust-hdf5 decoders trust sizes stored in the
//! damaged bytes ([`DataError::Format`]). Not bounded: a deflate stream's output (rust-hdf5
//! inflates a chunk to its end: up to 1032 times its stored size, deflate's limit per the
//! zlib FAQ).
//!
//! Files are opened read-only with HDF5's file locking as `HDF5_USE_FILE_LOCKING` sets it
//! (rust-hdf5 follows libhdf5's variable; `FALSE` on file systems without locks).
//!
//! Attributes: rust-hdf5 0.2.28 returns a group's attribute only as one string (the first
//! element of a string array), so attributes are read by a small walker of the file's
//! metadata (`meta.rs`, built on the crate's public format decoders). h5py writes Python
//! lists of `str` as arrays of variable-length strings, `bool` as an enumeration over `i8`
//! (`FALSE` = 0, `TRUE` = 1), and numbers as scalars; each helper below also takes a
//! fixed-length string, a one-element array for a scalar, and 0/1 integers for booleans.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ginrs_runtime::{Geometry, ImageBlock, MultiImage, TensorKey};
use rust_hdf5::format::global_heap::decode_vlen_reference;
use rust_hdf5::format::messages::attribute::AttributeMessage;
use rust_hdf5::format::FormatContext;
use rust_hdf5::{ByteOrder, DatatypeMessage, H5Dataset, H5File};

use super::error::DataError;
use super::options::{DataOptions, Format};
use super::schema::FieldSpec;

mod meta;
pub mod pdebench;
pub mod well;

pub use pdebench::PdebenchFile;
pub use well::WellFile;

use meta::Meta;

/// The smallest limit on one frame's bytes (and one chunk's): 64 MiB. A reader refuses
/// larger frames unless [`DataOptions::cache_bytes`] is larger still.
pub const MIN_FRAME_LIMIT: usize = 64 << 20;

/// The format of the HDF5 file at `path`: The Well's when it has a `t0_fields`, `t1_fields`
/// or `t2_fields` group, PDEBench's when it has a root dataset `density` or `Vx`.
pub fn sniff(path: &Path) -> Result<Format, DataError> {
    let h5 = H5::open(path, 0)?;
    let groups = h5.group_names("/")?;
    if groups
        .iter()
        .any(|g| matches!(g.as_str(), "t0_fields" | "t1_fields" | "t2_fields"))
    {
        return Ok(Format::Well);
    }
    let datasets = h5.dataset_names("/")?;
    if datasets.iter().any(|d| d == "density" || d == "Vx") {
        return Ok(Format::Pdebench);
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    Err(DataError::Format {
        file: path.to_owned(),
        location: "/".into(),
        message: format!(
            "neither The Well's field groups (t0_fields, t1_fields, t2_fields) nor PDEBench's \
             datasets (density, Vx) at the root (groups: {}; datasets: {}); pass --format \
             well or --format pdebench if the file is one of them",
            list(&groups),
            list(&datasets)
        ),
    })
}

/// The panic payload's message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "no message".into())
}

/// Runs `call` (a call into rust-hdf5 or the metadata walker) and turns its error, or its
/// panic, into [`DataError::Hdf5`] at `location` of `file`.
fn guarded<T, E: std::fmt::Display>(
    file: &Path,
    location: &str,
    call: impl FnOnce() -> Result<T, E>,
) -> Result<T, DataError> {
    let hdf5 = |message: String| DataError::Hdf5 {
        file: file.to_owned(),
        location: location.to_owned(),
        message,
    };
    // AssertUnwindSafe: after a panic the library's handle may be inconsistent (its lock
    // poisoned); every later call is guarded too and reports its own error.
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(hdf5(e.to_string())),
        Err(payload) => Err(hdf5(format!(
            "the HDF5 parser failed on the file's contents (panic: {}); the file is \
             probably damaged",
            panic_message(&*payload)
        ))),
    }
}

/// `name` inside the group `group` (`/` for the root), as an absolute path.
fn join(group: &str, name: &str) -> String {
    if group == "/" {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

/// The library's spelling of an object path: no leading `/`.
fn relative(location: &str) -> &str {
    location.trim_start_matches('/')
}

/// The product of `sides`, `None` on overflow.
fn checked_product(sides: &[usize]) -> Option<usize> {
    sides.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n))
}

/// An open HDF5 file: every call guarded and its errors named by file and object.
struct H5 {
    path: PathBuf,
    file: H5File,
    /// Bytes one frame (and one chunk) may hold at most.
    frame_limit: usize,
}

impl std::fmt::Debug for H5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5")
            .field("path", &self.path)
            .field("frame_limit", &self.frame_limit)
            .finish_non_exhaustive()
    }
}

impl H5 {
    /// Opens `path`; frames of up to `max(cache_bytes, MIN_FRAME_LIMIT)` bytes may be read.
    fn open(path: &Path, cache_bytes: usize) -> Result<Self, DataError> {
        if !path.is_file() {
            let (kind, what) = if path.exists() {
                (std::io::ErrorKind::InvalidInput, "not a file")
            } else {
                (std::io::ErrorKind::NotFound, "no such file")
            };
            return Err(DataError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(kind, what),
            });
        }
        let file = guarded(path, "/", || H5File::open(path))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            frame_limit: cache_bytes.max(MIN_FRAME_LIMIT),
        })
    }

    fn missing(&self, location: &str, what: &'static str) -> DataError {
        DataError::Missing {
            file: self.path.clone(),
            location: location.to_owned(),
            what,
        }
    }

    fn format(&self, location: &str, message: String) -> DataError {
        DataError::Format {
            file: self.path.clone(),
            location: location.to_owned(),
            message,
        }
    }

    fn shape(&self, location: &str, expected: String, found: &[usize]) -> DataError {
        DataError::Shape {
            file: self.path.clone(),
            location: location.to_owned(),
            expected,
            found: found.to_vec(),
        }
    }

    /// Whether the group `location` exists.
    fn has_group(&self, location: &str) -> Result<bool, DataError> {
        let name = relative(location);
        if name.is_empty() {
            return Ok(true);
        }
        guarded(&self.path, location, || {
            match self.file.root_group().group(name) {
                Ok(_) => Ok(true),
                Err(rust_hdf5::Hdf5Error::NotFound(_)) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// The subgroups of the group `location`.
    fn group_names(&self, location: &str) -> Result<Vec<String>, DataError> {
        guarded(&self.path, location, || {
            let name = relative(location);
            if name.is_empty() {
                self.file.root_group().group_names()
            } else {
                self.file.root_group().group(name)?.group_names()
            }
        })
    }

    /// The datasets directly in the group `location`.
    fn dataset_names(&self, location: &str) -> Result<Vec<String>, DataError> {
        guarded(&self.path, location, || {
            let name = relative(location);
            if name.is_empty() {
                Ok(self
                    .file
                    .dataset_names()
                    .into_iter()
                    .filter(|n| !n.contains('/'))
                    .collect())
            } else {
                self.file.root_group().group(name)?.dataset_names()
            }
        })
    }

    /// The dataset at `location`, its shape and element type checked: float32 or float64,
    /// little-endian, an element count that does not overflow, and chunks within the frame
    /// limit. A dataset that is absent is [`DataError::Missing`].
    fn array(&self, location: &str) -> Result<Array, DataError> {
        let (parent, name) = location.rsplit_once('/').unwrap_or(("", location));
        let parent = if parent.is_empty() { "/" } else { parent };
        if !self.dataset_names(parent)?.iter().any(|n| n == name) {
            return Err(self.missing(location, "dataset"));
        }
        let dataset = guarded(&self.path, location, || {
            self.file.dataset(relative(location))
        })?;
        let shape = guarded(&self.path, location, || Ok::<_, String>(dataset.shape()))?;
        let datatype = guarded(&self.path, location, || dataset.datatype())?;
        let float = match &datatype {
            DatatypeMessage::FloatingPoint {
                size: 4,
                byte_order: ByteOrder::LittleEndian,
                ..
            } => Float::F32,
            DatatypeMessage::FloatingPoint {
                size: 8,
                byte_order: ByteOrder::LittleEndian,
                ..
            } => Float::F64,
            other => {
                return Err(DataError::Dtype {
                    file: self.path.clone(),
                    location: location.to_owned(),
                    found: describe_type(other),
                })
            }
        };
        self.check_filters(location)?;
        let element = float.size();
        if checked_product(&shape)
            .and_then(|n| n.checked_mul(element))
            .is_none()
        {
            return Err(self.shape(
                location,
                "a shape whose element count fits in memory addresses".into(),
                &shape,
            ));
        }
        let chunks = guarded(&self.path, location, || {
            Ok::<_, String>(dataset.chunk_dims())
        })?;
        if let Some(chunks) = chunks {
            let bytes = checked_product(&chunks).and_then(|n| n.checked_mul(element));
            if chunks.len() != shape.len()
                || chunks.contains(&0)
                || bytes.is_none_or(|b| b > self.frame_limit)
            {
                return Err(self.shape(
                    location,
                    format!(
                        "non-empty chunks of rank {} and at most {} bytes (the file's chunks are \
                         {:?}; raise --cache-mb (data.cache_bytes) or rechunk the file)",
                        shape.len(),
                        self.frame_limit,
                        chunks
                    ),
                    &shape,
                ));
            }
        }
        Ok(Array {
            location: location.to_owned(),
            dataset,
            shape,
            float,
        })
    }

    /// Refuses a dataset compressed by another filter than deflate (gzip), shuffle or
    /// fletcher32.
    ///
    /// rust-hdf5 0.2.28's decoders of the other filters it knows size their output from the
    /// chunk's own bytes or from the pipeline's parameters, not from the chunk's shape: its SZIP
    /// decoder reserves the length a chunk's 4-byte header claims (times the scanline padding),
    /// its n-bit decoder `element count × element size` from the pipeline message
    /// (`format/szip.rs`, `format/nbit_scaleoffset.rs`), so one damaged byte can ask for
    /// gigabytes. Neither The Well nor PDEBench uses them.
    fn check_filters(&self, location: &str) -> Result<(), DataError> {
        // HDF5's filter identifiers: 1 deflate, 2 shuffle, 3 fletcher32 (H5Zpublic.h).
        const BOUNDED: [u16; 3] = [1, 2, 3];
        let ids = guarded(&self.path, location, || {
            Meta::open(&self.path)?.filters(location)
        })?;
        if let Some(id) = ids.iter().find(|id| !BOUNDED.contains(id)) {
            let name = match id {
                4 => "SZIP".to_string(),
                5 => "n-bit".to_string(),
                6 => "scale-offset".to_string(),
                other => format!("filter {other}"),
            };
            return Err(self.format(
                location,
                format!(
                    "compressed with {name} (filter id {id}); ginrs reads datasets stored raw or \
                     with deflate (gzip), shuffle and fletcher32, whose decoders bound their \
                     buffers; repack the file, e.g. `h5repack -f GZIP=4 in.hdf5 out.hdf5`"
                ),
            ));
        }
        Ok(())
    }

    /// Refuses `array` when a selection of `counts` holds more than the frame limit.
    fn check_frame_bytes(&self, array: &Array, counts: &[usize]) -> Result<(), DataError> {
        let bytes = checked_product(counts).and_then(|n| n.checked_mul(array.float.size()));
        if bytes.is_none_or(|b| b > self.frame_limit) {
            return Err(self.shape(
                &array.location,
                format!(
                    "frames of at most {} bytes (the larger of 64 MiB and the cache budget, --cache-mb or data.cache_bytes); a frame of this \
                     dataset is {:?} elements",
                    self.frame_limit, counts
                ),
                &array.shape,
            ));
        }
        Ok(())
    }

    /// The hyperslab `starts`, `counts` of `array` as float32.
    fn read(
        &self,
        array: &Array,
        starts: &[usize],
        counts: &[usize],
    ) -> Result<Vec<f32>, DataError> {
        self.check_frame_bytes(array, counts)?;
        let location = array.location.as_str();
        let values = match array.float {
            Float::F32 => guarded(&self.path, location, || {
                array.dataset.read_slice::<f32>(starts, counts)
            })?,
            Float::F64 => guarded(&self.path, location, || {
                array.dataset.read_slice::<f64>(starts, counts)
            })?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        };
        let expected = checked_product(counts).unwrap_or(usize::MAX);
        if values.len() != expected {
            return Err(DataError::Hdf5 {
                file: self.path.clone(),
                location: location.to_owned(),
                message: format!("read {} values for a selection of {expected}", values.len()),
            });
        }
        Ok(values)
    }

    /// The whole of a one-dimensional `array` (a coordinate or time axis), as float64.
    fn read_axis(&self, array: &Array) -> Result<Vec<f64>, DataError> {
        if array.shape.len() != 1 {
            return Err(self.shape(
                &array.location,
                "one axis (a coordinate array)".into(),
                &array.shape,
            ));
        }
        let n = array.shape[0];
        self.check_frame_bytes(array, &[n])?;
        let location = array.location.as_str();
        Ok(match array.float {
            Float::F32 => guarded(&self.path, location, || {
                array.dataset.read_slice::<f32>(&[0], &[n])
            })?
            .into_iter()
            .map(f64::from)
            .collect(),
            Float::F64 => guarded(&self.path, location, || {
                array.dataset.read_slice::<f64>(&[0], &[n])
            })?,
        })
    }

    /// The attributes of the object (group or dataset) at `location`, decoded.
    fn attributes(&self, location: &str) -> Result<Attributes, DataError> {
        let decoded = guarded(&self.path, location, || -> Result<_, String> {
            let mut meta = Meta::open(&self.path)?;
            let messages = meta.attributes(location)?;
            let mut out = Vec::with_capacity(messages.len());
            for (name, message) in messages {
                let ctx = meta.ctx();
                let value = message.and_then(|m| {
                    decode_attribute(&m, &ctx, &mut |addr, index| meta.heap_object(addr, index))
                });
                out.push((name, value));
            }
            Ok(out)
        })?;
        Ok(Attributes {
            file: self.path.clone(),
            location: location.to_owned(),
            values: decoded,
        })
    }
}

/// Checks every value is finite.
fn check_finite(
    path: &Path,
    location: &str,
    trajectory: usize,
    frame: usize,
    values: &[f32],
) -> Result<(), DataError> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(DataError::NonFinite {
            file: path.to_owned(),
            location: location.to_owned(),
            trajectory,
            frame,
        })
    }
}

/// A dataset's stored element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Float {
    F32,
    F64,
}

impl Float {
    fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// An open float dataset.
struct Array {
    /// Its path in the file.
    location: String,
    dataset: H5Dataset,
    shape: Vec<usize>,
    float: Float,
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("location", &self.location)
            .field("shape", &self.shape)
            .field("float", &self.float)
            .finish_non_exhaustive()
    }
}

/// A datatype in words, for [`DataError::Dtype`].
fn describe_type(datatype: &DatatypeMessage) -> String {
    let order = |o: &ByteOrder| match o {
        ByteOrder::LittleEndian => "",
        ByteOrder::BigEndian => " (big-endian)",
    };
    match datatype {
        DatatypeMessage::FixedPoint {
            size,
            signed,
            byte_order,
            ..
        } => format!(
            "{}int{}{}",
            if *signed { "" } else { "u" },
            u64::from(*size) * 8,
            order(byte_order)
        ),
        DatatypeMessage::FloatingPoint {
            size, byte_order, ..
        } => format!("float{}{}", u64::from(*size) * 8, order(byte_order)),
        DatatypeMessage::FixedString { size, .. } => format!("fixed-length string ({size} bytes)"),
        DatatypeMessage::VarLenString { .. } => "variable-length string".into(),
        DatatypeMessage::Compound { .. } => "compound".into(),
        DatatypeMessage::Enum { .. } => "enumeration".into(),
        DatatypeMessage::VarLenSequence { .. } => "variable-length sequence".into(),
        DatatypeMessage::Array { .. } => "array".into(),
    }
}

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq)]
enum AttrValue {
    /// Strings (fixed- or variable-length).
    Text(Vec<String>),
    /// Integers.
    Int(Vec<i64>),
    /// Floats.
    Float(Vec<f64>),
    /// Booleans (h5py's enumeration `FALSE`/`TRUE`).
    Bool(Vec<bool>),
}

impl AttrValue {
    fn describe(&self) -> String {
        match self {
            Self::Text(v) => format!("strings {v:?}"),
            Self::Int(v) => format!("integers {v:?}"),
            Self::Float(v) => format!("floats {v:?}"),
            Self::Bool(v) => format!("booleans {v:?}"),
        }
    }
}

/// The attribute's elements: its dataspace's element count (1 for a scalar).
fn element_count(attr: &AttributeMessage, size: usize) -> Result<usize, String> {
    let dims: Vec<usize> = attr
        .dataspace
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| "dimension overflows".to_string()))
        .collect::<Result<_, _>>()?;
    let count = checked_product(&dims).ok_or("element count overflows")?;
    let bytes = count.checked_mul(size).ok_or("byte count overflows")?;
    if bytes > attr.data.len() {
        return Err(format!(
            "{count} elements of {size} bytes, but {} bytes stored",
            attr.data.len()
        ));
    }
    Ok(count)
}

/// One little-endian or big-endian unsigned integer of `bytes.len()` (≤ 8) bytes.
fn uint(bytes: &[u8], order: &ByteOrder) -> u64 {
    let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
    match order {
        ByteOrder::LittleEndian => bytes.iter().rev().fold(0, fold),
        ByteOrder::BigEndian => bytes.iter().fold(0, fold),
    }
}

/// Decodes an attribute's value; variable-length strings are read from the global heap.
fn decode_attribute(
    attr: &AttributeMessage,
    ctx: &FormatContext,
    heap: &mut dyn FnMut(u64, u32) -> Result<Vec<u8>, String>,
) -> Result<AttrValue, String> {
    match &attr.datatype {
        DatatypeMessage::FixedString { size, padding, .. } => {
            let size = *size as usize;
            if size == 0 {
                return Err("strings of 0 bytes".into());
            }
            let count = element_count(attr, size)?;
            Ok(AttrValue::Text(
                attr.data
                    .chunks_exact(size)
                    .take(count)
                    .map(|s| {
                        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                        let text = String::from_utf8_lossy(&s[..end]);
                        // Padding 2: space-padded (the specification's string padding type).
                        if *padding == 2 {
                            text.trim_end_matches(' ').to_string()
                        } else {
                            text.into_owned()
                        }
                    })
                    .collect(),
            ))
        }
        DatatypeMessage::VarLenString { .. } => {
            // A reference: sequence length (4 bytes), collection address, object index (4).
            let size = 4 + ctx.sizeof_addr as usize + 4;
            let count = element_count(attr, size)?;
            let mut out = Vec::with_capacity(count);
            for reference in attr.data.chunks_exact(size).take(count) {
                let (length, addr, index) =
                    decode_vlen_reference(reference, ctx).map_err(|e| e.to_string())?;
                if addr == 0 || addr == rust_hdf5::format::UNDEF_ADDR {
                    out.push(String::new());
                    continue;
                }
                let bytes = heap(addr, index)?;
                let end = (length as usize).min(bytes.len());
                let end = bytes[..end].iter().position(|&b| b == 0).unwrap_or(end);
                out.push(String::from_utf8_lossy(&bytes[..end]).into_owned());
            }
            Ok(AttrValue::Text(out))
        }
        DatatypeMessage::FixedPoint {
            size,
            signed,
            byte_order,
            ..
        } => {
            let size = *size as usize;
            if !matches!(size, 1 | 2 | 4 | 8) {
                return Err(format!("integers of {size} bytes"));
            }
            let count = element_count(attr, size)?;
            let values = attr
                .data
                .chunks_exact(size)
                .take(count)
                .map(|b| {
                    let raw = uint(b, byte_order);
                    if *signed {
                        // Sign-extend from `size` bytes.
                        let shift = 64 - 8 * size as u32;
                        Ok(((raw << shift) as i64) >> shift)
                    } else {
                        i64::try_from(raw).map_err(|_| format!("integer {raw} too large"))
                    }
                })
                .collect::<Result<_, String>>()?;
            Ok(AttrValue::Int(values))
        }
        DatatypeMessage::FloatingPoint {
            size, byte_order, ..
        } => {
            let size = *size as usize;
            let count = element_count(attr, size)?;
            let values = attr.data.chunks_exact(size).take(count).map(|b| {
                let raw = uint(b, byte_order);
                match size {
                    4 => Ok(f64::from(f32::from_bits(raw as u32))),
                    8 => Ok(f64::from_bits(raw)),
                    _ => Err(format!("floats of {size} bytes")),
                }
            });
            Ok(AttrValue::Float(values.collect::<Result<_, _>>()?))
        }
        DatatypeMessage::Enum { base, members } => {
            let size = base.element_size() as usize;
            if !matches!(size, 1 | 2 | 4 | 8) {
                return Err(format!("an enumeration over {size}-byte integers"));
            }
            let count = element_count(attr, size)?;
            let name_of = |bytes: &[u8]| {
                members
                    .iter()
                    .find(|m| m.value.as_slice() == bytes)
                    .map(|m| m.name.to_ascii_uppercase())
            };
            let names: Vec<Option<String>> = attr
                .data
                .chunks_exact(size)
                .take(count)
                .map(name_of)
                .collect();
            let is_bool = members.len() == 2
                && members
                    .iter()
                    .all(|m| matches!(m.name.to_ascii_uppercase().as_str(), "TRUE" | "FALSE"));
            if is_bool {
                names
                    .into_iter()
                    .map(|n| match n.as_deref() {
                        Some("TRUE") => Ok(true),
                        Some("FALSE") => Ok(false),
                        _ => Err("a boolean that is neither TRUE nor FALSE".to_string()),
                    })
                    .collect::<Result<_, _>>()
                    .map(AttrValue::Bool)
            } else {
                Ok(AttrValue::Text(
                    names.into_iter().map(Option::unwrap_or_default).collect(),
                ))
            }
        }
        other => Err(format!("unsupported type {}", describe_type(other))),
    }
}

/// The decoded attributes of one object, read by name.
#[derive(Debug)]
struct Attributes {
    file: PathBuf,
    location: String,
    /// Each attribute by name, decoded or with the reason it could not be.
    values: Vec<(String, Result<AttrValue, String>)>,
}

impl Attributes {
    /// The attribute's path in errors: the object, `@`, the attribute (The Well's notation
    /// for attributes).
    fn at(&self, name: &str) -> String {
        format!("{}@{name}", self.location)
    }

    /// Whether the attribute exists (decodable or not).
    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| n == name)
    }

    /// The attribute's value: [`DataError::Missing`] when absent, [`DataError::Hdf5`] when it
    /// could not be decoded.
    fn require(&self, name: &str) -> Result<&AttrValue, DataError> {
        match self.values.iter().find(|(n, _)| n == name) {
            Some((_, Ok(value))) => Ok(value),
            Some((_, Err(message))) => Err(DataError::Hdf5 {
                file: self.file.clone(),
                location: self.at(name),
                message: message.clone(),
            }),
            None => Err(DataError::Missing {
                file: self.file.clone(),
                location: self.at(name),
                what: "attribute",
            }),
        }
    }

    fn wrong(&self, name: &str, expected: &str, value: &AttrValue) -> DataError {
        DataError::Format {
            file: self.file.clone(),
            location: self.at(name),
            message: format!("expected {expected}, found {}", value.describe()),
        }
    }

    /// A list of strings (a single string is a list of one).
    fn strings(&self, name: &str) -> Result<Vec<String>, DataError> {
        match self.require(name)? {
            AttrValue::Text(v) => Ok(v.clone()),
            // h5py stores an empty Python list as an empty float64 array.
            AttrValue::Float(v) if v.is_empty() => Ok(Vec::new()),
            other => Err(self.wrong(name, "a list of strings", other)),
        }
    }

    /// One string.
    fn string(&self, name: &str) -> Result<String, DataError> {
        match self.require(name)? {
            AttrValue::Text(v) if v.len() == 1 => Ok(v[0].clone()),
            other => Err(self.wrong(name, "one string", other)),
        }
    }

    /// A list of booleans (also 0/1 integers).
    fn bools(&self, name: &str) -> Result<Vec<bool>, DataError> {
        match self.require(name)? {
            AttrValue::Bool(v) => Ok(v.clone()),
            AttrValue::Int(v) if v.iter().all(|&i| i == 0 || i == 1) => {
                Ok(v.iter().map(|&i| i == 1).collect())
            }
            other => Err(self.wrong(name, "booleans", other)),
        }
    }

    /// One boolean.
    fn bool(&self, name: &str) -> Result<bool, DataError> {
        match self.bools(name)?.as_slice() {
            [b] => Ok(*b),
            _ => Err(self.wrong(name, "one boolean", self.require(name)?)),
        }
    }

    /// One integer (also an integral float).
    fn int(&self, name: &str) -> Result<i64, DataError> {
        match self.require(name)? {
            AttrValue::Int(v) if v.len() == 1 => Ok(v[0]),
            AttrValue::Float(v) if v.len() == 1 && v[0].fract() == 0.0 && v[0].abs() < 9.0e15 => {
                Ok(v[0] as i64)
            }
            other => Err(self.wrong(name, "one integer", other)),
        }
    }
}

/// Fields grouped by tensor key, keys in order of first appearance: each key with the
/// indices (in `fields`) of its fields, which become its channels in that order.
fn blocks_by_key(fields: &[FieldSpec]) -> Vec<(TensorKey, Vec<usize>)> {
    let mut out: Vec<(TensorKey, Vec<usize>)> = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let key = field.key();
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => out.push((key, vec![i])),
        }
    }
    out
}

/// A multi-image of `geometry` whose blocks are `blocks` (from [`blocks_by_key`]) filled with
/// each field's values (`values[i]`, row-major `(spatial…, d…)`) as channels.
fn assemble(
    path: &Path,
    geometry: &Geometry,
    blocks: &[(TensorKey, Vec<usize>)],
    mut values: Vec<Vec<f32>>,
) -> Result<MultiImage, DataError> {
    let image_error = |source| DataError::Image {
        path: path.to_owned(),
        source,
    };
    let mut out = Vec::with_capacity(blocks.len());
    for (key, members) in blocks {
        let mut data = Vec::new();
        for &i in members {
            data.append(&mut values[i]);
        }
        out.push(
            ImageBlock::new(geometry.clone(), key.clone(), members.len(), data)
                .map_err(image_error)?,
        );
    }
    MultiImage::from_blocks(geometry.clone(), out).map_err(image_error)
}

/// The parity `options` give the field `name` (0 unless overridden).
fn parity(path: &Path, options: &DataOptions, name: &str) -> Result<u8, DataError> {
    match options.parity.get(name).copied().unwrap_or(0) {
        p @ (0 | 1) => Ok(p),
        p => Err(DataError::Options {
            path: path.to_owned(),
            message: format!("the parity of `{name}` must be 0 or 1, not {p}"),
        }),
    }
}

/// The key a constant trajectory's fields are cached under in a [`FrameCache`]
/// (`(trajectory, CONSTANTS_FRAME)`), a frame index no file reaches.
///
/// [`FrameCache`]: super::FrameCache
const CONSTANTS_FRAME: usize = usize::MAX;

#[cfg(test)]
mod tests {
    use super::*;
    use rust_hdf5::format::messages::dataspace::DataspaceMessage;
    use rust_hdf5::format::messages::datatype::EnumMember;

    fn attr(datatype: DatatypeMessage, dims: &[u64], data: Vec<u8>) -> AttributeMessage {
        AttributeMessage {
            name: "a".into(),
            datatype,
            dataspace: DataspaceMessage {
                dims: dims.to_vec(),
                max_dims: None,
            },
            data,
        }
    }

    fn decode(attr: &AttributeMessage) -> Result<AttrValue, String> {
        let ctx = FormatContext {
            sizeof_addr: 8,
            sizeof_size: 8,
        };
        decode_attribute(attr, &ctx, &mut |_, _| Err("no heap".into()))
    }

    fn int(size: u32, signed: bool, byte_order: ByteOrder) -> DatatypeMessage {
        DatatypeMessage::FixedPoint {
            size,
            byte_order,
            signed,
            bit_offset: 0,
            bit_precision: (size * 8) as u16,
        }
    }

    #[test]
    fn fixed_length_strings_drop_their_padding() {
        let text = |padding| DatatypeMessage::FixedString {
            size: 4,
            padding,
            charset: 0,
        };
        assert_eq!(
            decode(&attr(text(1), &[2], b"x\0\0\0wall".to_vec())),
            Ok(AttrValue::Text(vec!["x".into(), "wall".into()]))
        );
        assert_eq!(
            decode(&attr(text(2), &[], b"ab  ".to_vec())),
            Ok(AttrValue::Text(vec!["ab".into()]))
        );
        // More elements than bytes stored.
        assert!(decode(&attr(text(1), &[3], b"abcd".to_vec())).is_err());
    }

    #[test]
    fn integers_keep_their_sign_and_byte_order() {
        assert_eq!(
            decode(&attr(
                int(2, true, ByteOrder::LittleEndian),
                &[2],
                vec![0xfe, 0xff, 3, 0]
            )),
            Ok(AttrValue::Int(vec![-2, 3]))
        );
        assert_eq!(
            decode(&attr(
                int(4, false, ByteOrder::BigEndian),
                &[],
                vec![0, 0, 1, 2]
            )),
            Ok(AttrValue::Int(vec![258]))
        );
        assert!(decode(&attr(
            int(8, false, ByteOrder::LittleEndian),
            &[],
            vec![0xff; 8]
        ))
        .is_err());
        assert!(decode(&attr(
            int(3, true, ByteOrder::LittleEndian),
            &[],
            vec![0; 3]
        ))
        .is_err());
    }

    #[test]
    fn h5py_booleans_are_an_enumeration_and_other_enumerations_their_names() {
        let members = |names: [&str; 2]| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| EnumMember {
                    name: n.to_string(),
                    value: vec![i as u8],
                })
                .collect()
        };
        let boolean = DatatypeMessage::Enum {
            base: Box::new(int(1, true, ByteOrder::LittleEndian)),
            members: members(["FALSE", "TRUE"]),
        };
        assert_eq!(
            decode(&attr(boolean.clone(), &[3], vec![1, 0, 1])),
            Ok(AttrValue::Bool(vec![true, false, true]))
        );
        assert!(decode(&attr(boolean, &[], vec![7])).is_err());
        let colour = DatatypeMessage::Enum {
            base: Box::new(int(1, false, ByteOrder::LittleEndian)),
            members: members(["RED", "BLUE"]),
        };
        assert_eq!(
            decode(&attr(colour, &[], vec![1])),
            Ok(AttrValue::Text(vec!["BLUE".into()]))
        );
    }

    #[test]
    fn variable_length_strings_come_from_the_heap() {
        let ctx = FormatContext {
            sizeof_addr: 8,
            sizeof_size: 8,
        };
        let mut data = Vec::new();
        for (len, index) in [(1u32, 1u32), (2, 2)] {
            data.extend(len.to_le_bytes());
            data.extend(4096u64.to_le_bytes());
            data.extend(index.to_le_bytes());
        }
        let list = attr(DatatypeMessage::VarLenString { charset: 1 }, &[2], data);
        let mut heap = |addr: u64, index: u32| {
            assert_eq!(addr, 4096);
            Ok(if index == 1 {
                b"x".to_vec()
            } else {
                b"yz".to_vec()
            })
        };
        assert_eq!(
            decode_attribute(&list, &ctx, &mut heap),
            Ok(AttrValue::Text(vec!["x".into(), "yz".into()]))
        );
    }

    #[test]
    fn the_helpers_accept_h5py_spellings_and_name_the_attribute() {
        let attributes = Attributes {
            file: "f.hdf5".into(),
            location: "/g".into(),
            values: vec![
                ("dims".into(), Ok(AttrValue::Text(vec!["x".into()]))),
                ("empty".into(), Ok(AttrValue::Float(Vec::new()))),
                ("n".into(), Ok(AttrValue::Float(vec![3.0]))),
                ("flag".into(), Ok(AttrValue::Int(vec![1]))),
                ("bad".into(), Err("unsupported type compound".into())),
            ],
        };
        assert_eq!(attributes.strings("dims").unwrap(), ["x"]);
        assert_eq!(attributes.string("dims").unwrap(), "x");
        assert!(attributes.strings("empty").unwrap().is_empty());
        assert_eq!(attributes.int("n").unwrap(), 3);
        assert!(attributes.bool("flag").unwrap());
        assert!(attributes.has("bad"));
        let error = attributes.bool("bad").unwrap_err();
        assert!(matches!(error, DataError::Hdf5 { .. }), "{error:?}");
        assert!(error.to_string().contains("/g@bad"), "{error}");
        let error = attributes.int("missing").unwrap_err();
        assert!(matches!(
            error,
            DataError::Missing {
                what: "attribute",
                ..
            }
        ));
        assert!(error.to_string().contains("f.hdf5: /g@missing"), "{error}");
        assert!(matches!(
            attributes.int("dims").unwrap_err(),
            DataError::Format { .. }
        ));
    }

    #[test]
    fn fields_are_grouped_by_key_in_order_of_first_appearance() {
        let fields = [
            FieldSpec::new("a", 0, 0),
            FieldSpec::new("v", 1, 0),
            FieldSpec::new("b", 0, 1),
            FieldSpec::new("c", 0, 0),
        ];
        assert_eq!(
            blocks_by_key(&fields),
            [
                (TensorKey::new(0, 0), vec![0, 3]),
                (TensorKey::new(1, 0), vec![1]),
                (TensorKey::new(0, 1), vec![2]),
            ]
        );
    }
}
