//! A small reader of HDF5 attributes by object path, for the attributes rust-hdf5 cannot
//! return whole.
//!
//! rust-hdf5 0.2.28 gives a group's attributes only through `H5Group::attr_string`, which
//! decodes the first element of a variable-length string array (`attr_string_value` in its
//! `io/reader.rs` reads one global-heap reference) and reads numbers as text. The Well stores
//! lists of names on groups (`field_names`, `spatial_dims`, `associated_dims`, written by h5py
//! as arrays of variable-length strings) and numbers on the root group (`n_spatial_dims`).
//! This module walks the file's metadata with the crate's public decoders
//! (`rust_hdf5::format`: superblock, object headers, symbol tables, link messages, fractal
//! heaps, global heaps) to the object's header and returns its attribute messages, which
//! [`super::AttrValue`] decodes.
//!
//! It follows the HDF5 file format specification
//! (<https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html>): version 0/1 superblocks with
//! symbol-table groups (h5py's default) and version 2/3 superblocks with link messages,
//! compact or dense (fractal heap); attributes stored in the object header (dense attribute
//! storage, used above 8 attributes with `libver="latest"`, is reported as unsupported, as it
//! is by rust-hdf5's own group-attribute reader). Every read is bounded by the file's length
//! and by [`MAX_READ`], so a damaged size field cannot ask for a large allocation.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rust_hdf5::format::fractal_heap::{self, BlockReader, FractalHeapHeader};
use rust_hdf5::format::global_heap::GlobalHeapCollection;
use rust_hdf5::format::local_heap::{local_heap_get_string, LocalHeapHeader};
use rust_hdf5::format::messages::attribute::AttributeMessage;
use rust_hdf5::format::messages::filter::FilterPipeline;
use rust_hdf5::format::messages::link::{LinkMessage, LinkTarget};
use rust_hdf5::format::messages::link_info::LinkInfoMessage;
use rust_hdf5::format::messages::{
    MSG_ATTRIBUTE, MSG_ATTR_INFO, MSG_FILTER_PIPELINE, MSG_LINK, MSG_LINK_INFO,
    MSG_OBJ_HEADER_CONTINUATION, MSG_SYMBOL_TABLE,
};
use rust_hdf5::format::object_header::{ObjectHeader, ObjectHeaderMessage, OHDR_SIGNATURE};
use rust_hdf5::format::superblock::{detect_superblock_version, SuperblockV0V1, SuperblockV2V3};
use rust_hdf5::format::symbol_table::SymbolTableNode;
use rust_hdf5::format::{FormatContext, FormatError, UNDEF_ADDR};

/// The most bytes one metadata read may ask for: object headers, heaps and tree nodes of
/// the files ginrs reads are kilobytes; this bounds what a damaged length field can
/// allocate.
pub(super) const MAX_READ: usize = 16 << 20;
/// Object-header continuation blocks followed per object at most.
const MAX_CONTINUATIONS: usize = 1024;
/// Symbol-table B-tree nodes visited per group at most.
const MAX_TREE_NODES: usize = 4096;
/// Depth of a symbol-table B-tree at most (its level counts down to 0 at the leaves).
const MAX_TREE_DEPTH: usize = 64;

/// An open file's metadata: the context (address and length widths) and the root group's
/// object header address.
#[derive(Debug)]
pub(super) struct Meta {
    file: File,
    len: u64,
    ctx: FormatContext,
    root: u64,
    /// A v0/v1 superblock's cached symbol table of the root group (B-tree, local heap).
    root_table: Option<(u64, u64)>,
    /// Global heap collections read so far, by address (a list of strings shares one).
    heaps: HashMap<u64, GlobalHeapCollection>,
}

/// What went wrong, in words.
pub(super) type MetaResult<T> = Result<T, String>;

fn format_error(what: &str, e: FormatError) -> String {
    format!("{what}: {e}")
}

impl Meta {
    /// Opens `path` and reads its superblock.
    pub(super) fn open(path: &Path) -> MetaResult<Self> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut meta = Self {
            file,
            len,
            ctx: FormatContext {
                sizeof_addr: 8,
                sizeof_size: 8,
            },
            root: UNDEF_ADDR,
            root_table: None,
            heaps: HashMap::new(),
        };
        let head = meta.read_most(0, 1024)?;
        let version =
            detect_superblock_version(&head).map_err(|e| format_error("superblock", e))?;
        let (sizeof_addr, sizeof_size) = match version {
            0 | 1 => {
                let sb =
                    SuperblockV0V1::decode(&head).map_err(|e| format_error("superblock", e))?;
                let entry = &sb.root_symbol_table_entry;
                meta.root = entry.obj_header_addr;
                if entry.cache_type == 1 {
                    meta.root_table = Some((entry.btree_addr, entry.heap_addr));
                }
                (sb.sizeof_offsets, sb.sizeof_lengths)
            }
            2 | 3 => {
                let sb =
                    SuperblockV2V3::decode(&head).map_err(|e| format_error("superblock", e))?;
                meta.root = sb.root_group_object_header_address;
                (sb.sizeof_offsets, sb.sizeof_lengths)
            }
            v => return Err(format!("unsupported superblock version {v}")),
        };
        // The specification allows 2, 4 or 8 bytes; the decoders index by these widths.
        for width in [sizeof_addr, sizeof_size] {
            if !matches!(width, 2 | 4 | 8) {
                return Err(format!("superblock: address or length width {width} bytes"));
            }
        }
        meta.ctx = FormatContext {
            sizeof_addr,
            sizeof_size,
        };
        Ok(meta)
    }

    /// The file's address and length widths.
    pub(super) fn ctx(&self) -> FormatContext {
        self.ctx
    }

    /// Exactly `len` bytes at `addr`, refused when they lie past the end of the file or
    /// exceed [`MAX_READ`].
    fn read(&mut self, addr: u64, len: usize) -> MetaResult<Vec<u8>> {
        let end = addr.checked_add(len as u64);
        if len > MAX_READ || end.is_none_or(|end| end > self.len) {
            return Err(format!(
                "a metadata block of {len} bytes at offset {addr} lies past the end of the \
                 file ({} bytes)",
                self.len
            ));
        }
        let mut buf = vec![0; len];
        self.file
            .seek(SeekFrom::Start(addr))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| format!("reading {len} bytes at offset {addr}: {e}"))?;
        Ok(buf)
    }

    /// Up to `max` bytes at `addr`, fewer at the end of the file.
    fn read_most(&mut self, addr: u64, max: usize) -> MetaResult<Vec<u8>> {
        if addr >= self.len {
            return Err(format!(
                "offset {addr} lies past the end of the file ({} bytes)",
                self.len
            ));
        }
        let len = (self.len - addr).min(max.min(MAX_READ) as u64) as usize;
        self.read(addr, len)
    }

    /// The object header at `addr` with the messages of its continuation blocks.
    fn header(&mut self, addr: u64) -> MetaResult<ObjectHeader> {
        let mut buf = self.read_most(addr, 8192)?;
        if let Err(FormatError::BufferTooShort { needed, .. }) = ObjectHeader::decode_any(&buf) {
            if needed > buf.len() {
                buf = self.read_most(addr, needed)?;
            }
        }
        let (mut header, _) =
            ObjectHeader::decode_any(&buf).map_err(|e| format_error("object header", e))?;
        let v2 = buf.starts_with(&OHDR_SIGNATURE);
        // Version-2 headers that track attribute creation order give every message a 2-byte
        // creation index (flag bit 2).
        let creation_order = v2 && header.flags & 0x04 != 0;
        let (sa, ss) = (self.ctx.sizeof_addr as usize, self.ctx.sizeof_size as usize);
        let continuations = |messages: &[ObjectHeaderMessage], out: &mut Vec<(u64, u64)>| {
            for m in messages {
                if m.msg_type == MSG_OBJ_HEADER_CONTINUATION && m.data.len() >= sa + ss {
                    out.push((read_uint(&m.data, sa), read_uint(&m.data[sa..], ss)));
                }
            }
        };
        let mut pending = Vec::new();
        continuations(&header.messages, &mut pending);
        let mut seen = HashSet::new();
        while let Some((at, len)) = pending.pop() {
            if at == UNDEF_ADDR || len == 0 || !seen.insert(at) {
                continue;
            }
            if seen.len() > MAX_CONTINUATIONS {
                return Err("object header: too many continuation blocks".into());
            }
            let len = usize::try_from(len).map_err(|_| "continuation length".to_string())?;
            let block = self.read(at, len)?;
            let messages = continuation_messages(&block, v2, creation_order);
            continuations(&messages, &mut pending);
            header.messages.extend(messages);
        }
        Ok(header)
    }

    /// The hard links of the group whose object header is `header`: (name, object header
    /// address). `root` marks the root group, whose symbol table a v0/v1 superblock caches.
    fn links(&mut self, header: &ObjectHeader, root: bool) -> MetaResult<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let mut found = false;
        for m in &header.messages {
            match m.msg_type {
                MSG_LINK => {
                    found = true;
                    let (link, _) = LinkMessage::decode(&m.data, &self.ctx)
                        .map_err(|e| format_error("link message", e))?;
                    if let LinkTarget::Hard { address } = link.target {
                        out.push((link.name, address));
                    }
                }
                MSG_LINK_INFO => {
                    found = true;
                    let (info, _) = LinkInfoMessage::decode(&m.data, &self.ctx)
                        .map_err(|e| format_error("link info message", e))?;
                    if info.fractal_heap_address != UNDEF_ADDR {
                        out.extend(self.dense_links(info.fractal_heap_address)?);
                    }
                }
                _ => {}
            }
        }
        if found {
            return Ok(out);
        }
        let table = header
            .messages
            .iter()
            .find(|m| m.msg_type == MSG_SYMBOL_TABLE)
            .map(|m| {
                let sa = self.ctx.sizeof_addr as usize;
                if m.data.len() < 2 * sa {
                    return Err("symbol table message too short".to_string());
                }
                Ok((read_uint(&m.data, sa), read_uint(&m.data[sa..], sa)))
            })
            .transpose()?;
        match table.or(if root { self.root_table } else { None }) {
            Some((tree, heap)) => self.symbol_table(tree, heap),
            None => Ok(out),
        }
    }

    /// The links stored in a fractal heap (a group's dense link storage).
    fn dense_links(&mut self, heap: u64) -> MetaResult<Vec<(String, u64)>> {
        let head = self.read_most(heap, 512)?;
        let header = FractalHeapHeader::decode(&head, &self.ctx)
            .map_err(|e| format_error("fractal heap", e))?;
        let ctx = self.ctx;
        let payloads = fractal_heap::collect_managed_objects(&header, &ctx, &mut Blocks(self))
            .map_err(|e| format_error("fractal heap", e))?;
        let mut out = Vec::new();
        for payload in payloads {
            // Managed objects are packed link messages (version byte 1) followed by free space.
            let mut pos = 0;
            while pos < payload.len() && payload[pos] == 1 {
                match LinkMessage::decode(&payload[pos..], &ctx) {
                    Ok((link, used)) if used > 0 => {
                        if let LinkTarget::Hard { address } = link.target {
                            out.push((link.name, address));
                        }
                        pos += used;
                    }
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    /// The entries of a symbol-table group (version-1 B-tree of symbol nodes, names in a
    /// local heap).
    fn symbol_table(&mut self, tree: u64, heap: u64) -> MetaResult<Vec<(String, u64)>> {
        let (sa, ss) = (self.ctx.sizeof_addr as usize, self.ctx.sizeof_size as usize);
        let head = self.read_most(heap, 64)?;
        let heap =
            LocalHeapHeader::decode(&head, sa, ss).map_err(|e| format_error("local heap", e))?;
        let heap_len =
            usize::try_from(heap.data_size).map_err(|_| "local heap size".to_string())?;
        let names = self.read(heap.data_addr, heap_len)?;
        let mut nodes = Vec::new();
        let mut seen = HashSet::new();
        self.tree_leaves(tree, 0, &mut seen, &mut nodes)?;
        let mut out = Vec::new();
        for node in nodes {
            let buf = self.read_most(node, 64 * 1024)?;
            let node = SymbolTableNode::decode(&buf, sa, ss)
                .map_err(|e| format_error("symbol table node", e))?;
            for entry in node.entries {
                let name = local_heap_get_string(&names, entry.name_offset)
                    .map_err(|e| format_error("local heap", e))?;
                if !name.is_empty() {
                    out.push((name, entry.obj_header_addr));
                }
            }
        }
        Ok(out)
    }

    /// The symbol-node addresses under the group B-tree node at `addr`.
    fn tree_leaves(
        &mut self,
        addr: u64,
        depth: usize,
        seen: &mut HashSet<u64>,
        out: &mut Vec<u64>,
    ) -> MetaResult<()> {
        if depth > MAX_TREE_DEPTH || seen.len() > MAX_TREE_NODES {
            return Err("symbol table B-tree too deep or too large".into());
        }
        if !seen.insert(addr) {
            return Err("symbol table B-tree has a cycle".into());
        }
        let (sa, ss) = (self.ctx.sizeof_addr as usize, self.ctx.sizeof_size as usize);
        let buf = self.read_most(addr, 64 * 1024)?;
        let node = rust_hdf5::format::btree_v1::BTreeV1Node::decode(&buf, sa, ss)
            .map_err(|e| format_error("symbol table B-tree", e))?;
        if node.node_type != 0 {
            return Err("symbol table B-tree node is not a group node".into());
        }
        if node.level == 0 {
            out.extend(node.children);
        } else {
            for child in node.children {
                self.tree_leaves(child, depth + 1, seen, out)?;
            }
        }
        Ok(())
    }

    /// The object header of the object at `path` (`/`-separated, from the root).
    fn locate(&mut self, path: &str) -> MetaResult<ObjectHeader> {
        let mut header = self.header(self.root)?;
        let mut root = true;
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let links = self.links(&header, root)?;
            let addr = links
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| *a)
                .ok_or_else(|| format!("no object named `{name}`"))?;
            header = self.header(addr)?;
            root = false;
        }
        Ok(header)
    }

    /// The attributes of the object at `path`, by name, each decoded or with the reason it
    /// could not be (an attribute the readers never ask for does not stop them).
    pub(super) fn attributes(
        &mut self,
        path: &str,
    ) -> MetaResult<Vec<(String, MetaResult<AttributeMessage>)>> {
        let header = self.locate(path)?;
        let mut out = Vec::new();
        for m in &header.messages {
            if m.msg_type != MSG_ATTRIBUTE {
                continue;
            }
            let Some(name) = attribute_name(&m.data) else {
                continue;
            };
            let attr = match AttributeMessage::decode(&m.data, &self.ctx) {
                Ok((attr, _)) => Ok(attr),
                Err(FormatError::InvalidVersion(v @ (4 | 5))) => {
                    let mut data = m.data.clone();
                    if downgrade_enum(&mut data) {
                        AttributeMessage::decode(&data, &self.ctx)
                            .map(|(attr, _)| attr)
                            .map_err(|e| format_error("attribute message", e))
                    } else {
                        Err(format!(
                            "attribute message: unsupported datatype version {v}"
                        ))
                    }
                }
                Err(e) => Err(format_error("attribute message", e)),
            };
            out.push((name, attr));
        }
        if out.is_empty() && header.messages.iter().any(|m| m.msg_type == MSG_ATTR_INFO) {
            return Err(
                "the attributes are in dense storage (a fractal heap), which this reader \
                 does not support"
                    .into(),
            );
        }
        Ok(out)
    }

    /// The filter identifiers of the dataset at `path`'s filter pipeline (none when its chunks
    /// are stored raw).
    pub(super) fn filters(&mut self, path: &str) -> MetaResult<Vec<u16>> {
        let header = self.locate(path)?;
        let mut ids = Vec::new();
        for m in &header.messages {
            if m.msg_type == MSG_FILTER_PIPELINE {
                let (pipeline, _) = FilterPipeline::decode(&m.data)
                    .map_err(|e| format_error("filter pipeline message", e))?;
                ids.extend(pipeline.filters.iter().map(|f| f.id));
            }
        }
        Ok(ids)
    }

    /// Object `index` of the global heap collection at `addr` (a variable-length value).
    pub(super) fn heap_object(&mut self, addr: u64, index: u32) -> MetaResult<Vec<u8>> {
        if !self.heaps.contains_key(&addr) {
            let ss = self.ctx.sizeof_size as usize;
            // Collection header: "GCOL", version, 3 reserved bytes, collection size.
            let head = self.read(addr, 8 + ss)?;
            if &head[..4] != b"GCOL" {
                return Err(format!("no global heap collection at offset {addr}"));
            }
            let size = usize::try_from(read_uint(&head[8..], ss))
                .map_err(|_| "global heap collection size".to_string())?;
            let buf = self.read(addr, size)?;
            let (collection, _) = GlobalHeapCollection::decode(&buf, &self.ctx)
                .map_err(|e| format_error("global heap", e))?;
            self.heaps.insert(addr, collection);
        }
        let index = u16::try_from(index).map_err(|_| format!("global heap index {index}"))?;
        self.heaps
            .get(&addr)
            .and_then(|c| c.get_object(index))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("global heap object {index} at offset {addr} is missing"))
    }
}

/// [`BlockReader`] over [`Meta::read`], for the fractal-heap walker.
struct Blocks<'a>(&'a mut Meta);

impl BlockReader for Blocks<'_> {
    fn read_block(&mut self, offset: u64, len: usize) -> rust_hdf5::format::FormatResult<Vec<u8>> {
        self.0.read(offset, len).map_err(FormatError::InvalidData)
    }
}

/// Where an attribute message's name and datatype start, and the name's length: version,
/// flags (reserved in version 1), name size (2 bytes, with the terminating NUL), datatype size
/// (2), dataspace size (2), [version 3: name encoding (1)], the name (padded to 8 bytes in
/// version 1), then the datatype (the specification's Attribute Message).
fn attribute_layout(message: &[u8]) -> Option<(usize, usize, usize)> {
    if message.len() < 8 {
        return None;
    }
    let name = usize::from(u16::from_le_bytes([message[2], message[3]]));
    let (at, datatype) = match message[0] {
        1 => (8, 8 + name.div_ceil(8) * 8),
        2 => (8, 8 + name),
        3 => (9, 9 + name),
        _ => return None,
    };
    Some((at, name, datatype))
}

/// An attribute message's name, read without decoding its datatype.
fn attribute_name(message: &[u8]) -> Option<String> {
    let (at, len, _) = attribute_layout(message)?;
    let bytes = message.get(at..at + len)?;
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec()).ok()
}

/// Rewrites the version of an enumeration datatype inside an attribute message from 4 or 5
/// to 3; returns whether it found one to rewrite.
///
/// HDF5 1.12 and later write datatype messages of version 4 when the file's upper format
/// bound is v112 or later (h5py's `libver="latest"`), and HDF5 2.0 version 5; h5py's booleans
/// are enumerations, and rust-hdf5 0.2.28 decodes enumerations of versions 1 to 3 only. The
/// specification changes nothing in an enumeration's encoding after version 3 (version 4
/// revised reference types, version 5 added complex numbers), so the rewritten message
/// decodes to the same type.
fn downgrade_enum(message: &mut [u8]) -> bool {
    let Some((_, _, start)) = attribute_layout(message) else {
        return false;
    };
    // Datatype: class in the low nibble of its first byte, version in the high nibble; an
    // enumeration's base integer type follows its 8-byte header.
    let mut changed = false;
    for at in [start, start + 8] {
        let Some(byte) = message.get_mut(at) else {
            break;
        };
        let (class, version) = (*byte & 0x0f, *byte >> 4);
        if at == start && class != 8 {
            return false;
        }
        if matches!(version, 4 | 5) {
            *byte = (3 << 4) | class;
            changed = true;
        }
    }
    changed
}

/// A little-endian unsigned integer of `width` bytes (at most 8) at the start of `buf`, 0
/// past its end.
pub(super) fn read_uint(buf: &[u8], width: usize) -> u64 {
    buf.iter()
        .take(width.min(8))
        .enumerate()
        .fold(0, |acc, (i, &b)| acc | (u64::from(b) << (8 * i)))
}

/// The messages of one continuation block: version 2 ("OCHK", messages, checksum; message
/// headers of type u8, size u16, flags u8 [, creation order u16]) or version 1 (messages of
/// type u16, size u16, flags u8, 3 reserved bytes, data padded to 8 bytes).
fn continuation_messages(block: &[u8], v2: bool, creation_order: bool) -> Vec<ObjectHeaderMessage> {
    let mut out = Vec::new();
    if v2 {
        if block.len() < 8 || &block[..4] != b"OCHK" {
            return out;
        }
        let end = block.len() - 4;
        let head = if creation_order { 6 } else { 4 };
        let mut pos = 4;
        while pos + head <= end {
            let msg_type = block[pos];
            let size = usize::from(u16::from_le_bytes([block[pos + 1], block[pos + 2]]));
            let flags = block[pos + 3];
            pos += head;
            if pos + size > end {
                break;
            }
            if msg_type != 0 {
                out.push(ObjectHeaderMessage {
                    msg_type,
                    flags,
                    data: block[pos..pos + size].to_vec(),
                });
            }
            pos += size;
        }
    } else {
        let mut pos = 0;
        while pos + 8 <= block.len() {
            let msg_type = u16::from_le_bytes([block[pos], block[pos + 1]]);
            let size = usize::from(u16::from_le_bytes([block[pos + 2], block[pos + 3]]));
            let flags = block[pos + 4];
            pos += 8;
            if pos + size > block.len() {
                break;
            }
            // Message types above 255 do not exist in the format; skip rather than truncate.
            if let Ok(msg_type) = u8::try_from(msg_type) {
                if msg_type != 0 {
                    out.push(ObjectHeaderMessage {
                        msg_type,
                        flags,
                        data: block[pos..pos + size].to_vec(),
                    });
                }
            }
            pos = (pos + size + 7) & !7;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attribute message of version 3 named `name` whose datatype begins with `datatype`.
    fn message(name: &str, datatype: &[u8]) -> Vec<u8> {
        let mut m = vec![3, 0];
        m.extend(((name.len() + 1) as u16).to_le_bytes());
        m.extend((datatype.len() as u16).to_le_bytes());
        m.extend(0u16.to_le_bytes());
        m.push(0);
        m.extend(name.as_bytes());
        m.push(0);
        m.extend(datatype);
        m
    }

    #[test]
    fn attribute_names_are_read_without_the_datatype() {
        assert_eq!(
            attribute_name(&message("bc_type", &[])).as_deref(),
            Some("bc_type")
        );
        // Version 1 pads the name to 8 bytes; the name still ends at its NUL.
        let mut v1 = vec![1, 0, 3, 0, 0, 0, 0, 0];
        v1.extend(b"ab\0\0\0\0\0\0");
        assert_eq!(attribute_name(&v1).as_deref(), Some("ab"));
        assert_eq!(attribute_name(&[3, 0, 200, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(attribute_name(&[9; 12]), None);
    }

    #[test]
    fn only_enumerations_of_versions_4_and_5_are_rewritten() {
        // Class 8 (enumeration), version 4, with a base integer of version 1 after 8 bytes.
        let mut enumeration = message("b", &[0x48, 2, 0, 0, 1, 0, 0, 0, 0x10, 8, 0, 0]);
        assert!(downgrade_enum(&mut enumeration));
        assert_eq!(enumeration[11], 0x38);
        assert_eq!(enumeration[19], 0x10);
        let mut float = message("f", &[0x41, 0, 0, 0, 4, 0, 0, 0]);
        assert!(!downgrade_enum(&mut float));
        assert_eq!(float[11], 0x41);
        let mut v3 = message("b", &[0x38, 2, 0, 0, 1, 0, 0, 0]);
        assert!(!downgrade_enum(&mut v3));
        assert!(!downgrade_enum(&mut [3, 0, 255, 255, 0, 0, 0, 0]));
    }

    #[test]
    fn continuation_blocks_of_both_versions_are_split_into_messages() {
        // Version 2: "OCHK", type 12 of 2 bytes, a null message, checksum.
        let v2 = [
            b'O', b'C', b'H', b'K', 12, 2, 0, 0, 7, 8, 0, 0, 0, 0, 1, 2, 3, 4,
        ];
        let messages = continuation_messages(&v2, true, false);
        assert_eq!(messages.len(), 1);
        assert_eq!(
            (messages[0].msg_type, messages[0].data.as_slice()),
            (12, &[7, 8][..])
        );
        // A size past the end stops the walk.
        let cut = [b'O', b'C', b'H', b'K', 12, 200, 0, 0, 1, 2, 3, 4];
        assert!(continuation_messages(&cut, true, false).is_empty());
        // Version 1: 8-byte message headers, data padded to 8 bytes.
        let mut v1 = vec![12, 0, 3, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0];
        v1.extend([17, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        let messages = continuation_messages(&v1, false, false);
        let types: Vec<u8> = messages.iter().map(|m| m.msg_type).collect();
        assert_eq!(types, [12, 17]);
        assert_eq!(messages[0].data, [1, 2, 3]);
    }

    #[test]
    fn integers_are_read_little_endian_within_their_width() {
        assert_eq!(read_uint(&[1, 2, 3], 2), 0x0201);
        assert_eq!(read_uint(&[1], 8), 1);
        assert_eq!(read_uint(&[0xff; 9], 8), u64::MAX);
    }
}
