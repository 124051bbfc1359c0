//! The byte layout of an index file, and its validation on open.
//!
//! Everything is little-endian. Integers are unsigned. A *string ref* is 12 bytes: a `u64`
//! offset into the string section and a `u32` length.
//!
//! ```text
//! header (64 bytes)
//!   0  magic            8 bytes  "MMINDEX\0"
//!   8  format_version   u32      FORMAT_VERSION
//!  12  header_len       u32      64
//!  16  file_len         u64      total length of the file in bytes
//!  24  section_count    u32      number of 32-byte records in the section table
//!  28  reserved         u32      0
//!  32  checksum         32 bytes SHA-256 of the whole file with these 32 bytes zeroed
//! section table (section_count x 32 bytes, right after the header)
//!   0  tag              u32      what the section holds (below)
//!   4  kind             u8       hash kind code (`Kind::code`), 0 for global sections
//!   5  reserved         3 bytes  0
//!   8  param            u64      tag-specific parameter
//!  16  offset           u64      start of the section in the file
//!  24  len              u64      length of the section in bytes
//! section contents (in the order of the table, each 8-byte aligned, zero padded)
//! ```
//!
//! Global sections (kind 0, each at most once, all required):
//!
//! | tag | name | contents |
//! | --- | --- | --- |
//! | 1 | strings | UTF-8 bytes of all ids, labels and list fields (deduplicated) |
//! | 2 | lists | per list 100 bytes: name, source, source_sha256 (string refs), imported_at, version, then added, updated, removed, unchanged, rejected, skipped (`u64` each) |
//! | 3 | list sets | per distinct set of lists 8 bytes: start `u32`, length `u32` into the members |
//! | 4 | list set members | `u32` list numbers |
//! | 5 | entries | per entry 28 bytes: id (string ref), label (string ref), list set `u32` |
//! | 6 | items | per entry one `u32` entry number: all entries ordered by their id's string ref (offset, then length), then entry number |
//!
//! Per-kind sections (kind != 0, at most one of each per kind):
//!
//! | tag | name | param | contents |
//! | --- | --- | --- | --- |
//! | 16 | values | number of the kind's first entry | the hash values, sorted ascending. pHash: one `u64`; PDQ: four `u64` words, most significant first; digests: the raw big-endian bytes |
//! | 17 | MIH table | `start_bit << 8 \| bits` | multi-index hashing table for the substring of `bits` bits starting `start_bit` bits from the most significant end: `2^bits + 1` `u32` bucket offsets, then (unless `start_bit` is 0, whose table is the sorted values themselves) one `u32` value position per value, grouped by bucket |
//! | 18 | BK-tree | number of nodes | 20 bytes per node, breadth first from the root: first value position, number of equal values, distance to the parent, first child, child count (`u32` each); children sorted by distance |
//!
//! Strings are deduplicated: two entries have equal ids exactly when their id string refs
//! are equal. The items section therefore holds every *item* (the entries sharing one id,
//! of any kind and on any list) as one run of ascending entry numbers, found by a binary
//! search for the id's ref ([`crate::index::Index::same_id`]). Entries with an empty id
//! belong to no item; they are in the section like every other entry.
//!
//! The entries of all kinds form one table, sorted by (kind, value, id, label, lists); each
//! kind owns a contiguous range of it, in [`Kind::ALL`] order. A perceptual kind has either
//! MIH tables that exactly tile its bits, or a BK-tree, or neither (a scan). Digest kinds
//! have values only (binary search).
//!
//! Opening checks the magic, version, lengths, every section's bounds and the shapes that
//! can be checked in constant time per section (record sizes, counts, table sizes), plus the
//! whole BK-tree when one is present (so a traversal can never loop). The contents of MIH
//! buckets and of the items section are checked when a query reads them.
//! [`crate::index::Index::verify`] checks the checksum and all the rest, including that the
//! items section is a permutation of the entries in the order above and that distinct id
//! refs hold distinct ids.
//!
//! Versions: 1 had no items section; 2 added it (section 6). Version 1 is this layout
//! without section 6 (a tag 6 in a version 1 file is an unknown section), validated by the
//! same code and as strictly. [`crate::index::Index`] opens only [`FORMAT_VERSION`]: a
//! matcher never runs on a file without the items section. A version 1 file is refused
//! with [`crate::index::IndexError::Version`] saying to run `mediamatch upgrade INDEX`,
//! which reads it with [`crate::index::LegacyIndex`] (the versions in
//! [`UPGRADABLE_VERSIONS`]) and writes its catalog again in the current layout; a file of
//! any other version is refused with the advice to rebuild it from its lists.

use std::ops::Range;

use crate::hash::Kind;
use crate::index::IndexError;

/// The magic bytes an index file starts with.
pub const MAGIC: [u8; 8] = *b"MMINDEX\0";
/// The version of the byte layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 2;
/// Older versions that [`crate::index::LegacyIndex`] reads, to carry them forward.
pub const UPGRADABLE_VERSIONS: &[u32] = &[1];
/// Length of the header in bytes.
pub const HEADER_LEN: usize = 64;
/// Length of one section table record.
pub const SECTION_RECORD_LEN: usize = 32;
/// Offset of the checksum in the header.
pub const CHECKSUM_OFFSET: usize = 32;

pub(crate) const TAG_STRINGS: u32 = 1;
pub(crate) const TAG_LISTS: u32 = 2;
pub(crate) const TAG_LIST_SETS: u32 = 3;
pub(crate) const TAG_LIST_MEMBERS: u32 = 4;
pub(crate) const TAG_ENTRIES: u32 = 5;
pub(crate) const TAG_ITEMS: u32 = 6;
pub(crate) const TAG_VALUES: u32 = 16;
pub(crate) const TAG_MIH: u32 = 17;
pub(crate) const TAG_BKTREE: u32 = 18;

pub(crate) const LIST_RECORD_LEN: usize = 100;
pub(crate) const ENTRY_RECORD_LEN: usize = 28;
pub(crate) const LIST_SET_RECORD_LEN: usize = 8;
pub(crate) const ITEM_RECORD_LEN: usize = 4;
pub(crate) const BK_NODE_LEN: usize = 20;
/// Largest substring width of an MIH table (its bucket array has `2^bits + 1` entries).
pub(crate) const MAX_MIH_BITS: u32 = 28;

/// Reads a little-endian `u32` at `at`; the caller guarantees bounds.
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a little-endian `u64` at `at`.
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

/// A `u64` from the file as a `usize`, or an error naming the field.
pub(crate) fn to_usize(v: u64, what: &'static str) -> Result<usize, IndexError> {
    usize::try_from(v).map_err(|_| IndexError::corrupt(what, format!("{v} does not fit in memory")))
}

/// One record of the section table.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub tag: u32,
    pub kind: u8,
    pub param: u64,
    pub range: Range<usize>,
}

/// The checked header and section table.
pub(crate) struct Header {
    pub version: u32,
    pub sections: Vec<Section>,
}

/// The format version of the index in `b`, which need only hold the start of the file
/// (its first [`HEADER_LEN`] bytes): checks the magic and nothing else, so a caller can
/// tell a current file from an older one without reading all of it.
///
/// ```
/// use mediamatch::index::format::{version, FORMAT_VERSION};
///
/// let mut start = b"MMINDEX\0".to_vec();
/// start.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
/// assert_eq!(version(&start)?, FORMAT_VERSION);
/// assert!(version(b"GIF89a\0\0\x02\0\0\0").is_err());
/// # Ok::<(), mediamatch::index::IndexError>(())
/// ```
pub fn version(b: &[u8]) -> Result<u32, IndexError> {
    if b.len() < 8 || b[..8] != MAGIC {
        return Err(IndexError::BadMagic);
    }
    u32_at(b, 8).ok_or(IndexError::Truncated {
        what: "header",
        need: HEADER_LEN as u64,
        have: b.len() as u64,
    })
}

/// Parses and checks the header and section table of `b`, a file of one of `versions`.
pub(crate) fn read_header(b: &[u8], versions: &[u32]) -> Result<Header, IndexError> {
    if b.len() < 8 || b[..8] != MAGIC {
        return Err(IndexError::BadMagic);
    }
    if b.len() < HEADER_LEN {
        return Err(IndexError::Truncated { what: "header", need: HEADER_LEN as u64, have: b.len() as u64 });
    }
    let version = u32_at(b, 8).unwrap_or(0);
    if !versions.contains(&version) {
        return Err(IndexError::Version { found: version, expected: FORMAT_VERSION });
    }
    let header_len = u32_at(b, 12).unwrap_or(0);
    if header_len as usize != HEADER_LEN {
        return Err(IndexError::corrupt("header length", format!("{header_len}, expected {HEADER_LEN}")));
    }
    let file_len = u64_at(b, 16).unwrap_or(0);
    if file_len != b.len() as u64 {
        return Err(IndexError::Truncated { what: "file", need: file_len, have: b.len() as u64 });
    }
    let count = u32_at(b, 24).unwrap_or(0) as usize;
    if u32_at(b, 28) != Some(0) {
        return Err(IndexError::corrupt("header", "reserved field is not zero".to_string()));
    }
    let table_end = count
        .checked_mul(SECTION_RECORD_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .filter(|&end| end <= b.len())
        .ok_or_else(|| IndexError::corrupt("section table", format!("{count} sections overrun the file")))?;
    let mut sections = Vec::new();
    let mut prev_end = table_end;
    for i in 0..count {
        let at = HEADER_LEN + i * SECTION_RECORD_LEN;
        let rec = &b[at..at + SECTION_RECORD_LEN];
        let tag = u32_at(rec, 0).unwrap_or(0);
        let kind = rec[4];
        if rec[5..8] != [0, 0, 0] {
            return Err(IndexError::corrupt("section table", format!("record {i}: reserved bytes not zero")));
        }
        let param = u64_at(rec, 8).unwrap_or(0);
        let offset = to_usize(u64_at(rec, 16).unwrap_or(0), "section offset")?;
        let len = to_usize(u64_at(rec, 24).unwrap_or(0), "section length")?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| IndexError::corrupt("section table", format!("record {i} overruns the file")))?;
        if offset < prev_end || offset % 8 != 0 {
            return Err(IndexError::corrupt(
                "section table",
                format!("record {i}: sections must follow each other in order, 8-byte aligned"),
            ));
        }
        prev_end = end;
        if kind != 0 && Kind::from_code(kind).is_none() {
            return Err(IndexError::corrupt(
                "section table",
                format!("record {i}: unknown kind code {kind}"),
            ));
        }
        sections.push(Section { tag, kind, param, range: offset..end });
    }
    Ok(Header { version, sections })
}

/// The SHA-256 of `b` with the checksum field taken as zero.
pub(crate) fn checksum(b: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let end = (CHECKSUM_OFFSET + 32).min(b.len());
    h.update(&b[..CHECKSUM_OFFSET.min(b.len())]);
    h.update(&[0u8; 32][..end.saturating_sub(CHECKSUM_OFFSET)]);
    h.update(&b[end..]);
    h.finalize().into()
}

/// A string ref read from a record: (offset, length).
pub(crate) fn string_ref(rec: &[u8], at: usize) -> Option<(u64, u32)> {
    Some((u64_at(rec, at)?, u32_at(rec, at + 8)?))
}
