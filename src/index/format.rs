//! The byte layout of an index file (the spec), and beside it the encoder and decoder of
//! each record: header, section table entry, list, list set, entry, item, BK-tree node,
//! string ref and value. The builder writes with these encoders and the reader decodes
//! with these decoders, so the two cannot disagree. Decoders read with the labelled,
//! checked reads of `wire`: a record too short for a field is an error
//! naming the field. What the fields must satisfy is checked by `layout`
//! on open and by [`Index::verify`](crate::index::Index::verify).
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
//! | 17 | MIH table | `start_bit << 8 \| bits` | multi-index hashing table for the substring of `bits` bits starting `start_bit` bits from the most significant end: `2^bits + 1` `u32` bucket offsets, then (unless `start_bit` is 0, whose table is the sorted values themselves) one `u32` value position per value, grouped by bucket. With bit 7 of the param set (a *checked* table: the later tables of pHash, never the first), the positions are preceded by one `u32` check word per value, in the same order: the 32 most significant bits of the value with the substring cut out, so a candidate whose check word alone is over the radius is rejected without reading its value. Tables without the bit (PDQ, and every table of files written before check words) are read as before |
//! | 18 | BK-tree | number of nodes | 20 bytes per node, breadth first from the root: first value position, number of equal values, distance to the parent, first child, child count (`u32` each); children sorted by distance |
//! | 19 | TMK signatures | number of distinct values | `tmk` kind only, required there: one record per distinct value and the `.tmk` bytes of each signature ([`crate::index::tmk`]) |
//! | 20 | TMK averages | number of distinct values | `tmk` kind only, required there: each signature's 256 `f32` pure-average features, for the level-1 scan |
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
//! have values only (binary search); the `tmk` kind's values are the SHA-256 digests of its
//! signatures, which its two extra sections hold.
//!
//! Opening checks the magic, version, lengths, every section's bounds and the shapes that
//! can be checked in constant time per section (record sizes, counts, table sizes), plus the
//! whole BK-tree when one is present (so a traversal can never loop). The contents of MIH
//! buckets and of the items section are checked when a query reads them.
//! [`crate::index::Index::verify`] checks the checksum and all the rest, including that the
//! items section is a permutation of the entries in the order above and that distinct id
//! refs hold distinct ids.
//!
//! Versions: 1 had no items section; 2 added it (section 6); 3 is the version of
//! segmented indexes, where a path holds a manifest ([`crate::index::manifest`]) naming
//! files of this layout as segments (a single file of version 3 is an index of one
//! segment). Version 1 is this layout without section 6 (a tag 6 in a version 1 file is an
//! unknown section), validated by the same code and as strictly. [`crate::index::Index`]
//! opens only [`FORMAT_VERSION`]. A file of an older version is refused with
//! [`crate::index::IndexError::Version`] saying to run `mediamatch upgrade INDEX`, which
//! reads it with [`crate::index::LegacyIndex`] (the versions in [`UPGRADABLE_VERSIONS`])
//! and writes its catalog again in the current layout; a file of any other version is
//! refused with the advice to rebuild it from its lists.

use crate::catalog::{ImportCounts, ListInfo};
use crate::hash::{HashValue, Kind, Md5, Pdq, Phash, Sha1, Sha256};
use crate::index::wire::{put_u32, put_u64, read_u32, read_u64};
use crate::index::IndexError;

/// The magic bytes an index file starts with.
pub const MAGIC: [u8; 8] = *b"MMINDEX\0";
/// The version of the byte layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 3;
/// Older versions that [`crate::index::LegacyIndex`] reads, to carry them forward.
pub const UPGRADABLE_VERSIONS: &[u32] = &[1, 2];
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
pub(crate) const TAG_TMK_SIGNATURES: u32 = 19;
pub(crate) const TAG_TMK_AVERAGES: u32 = 20;

pub(crate) const LIST_RECORD_LEN: usize = 100;
pub(crate) const ENTRY_RECORD_LEN: usize = 28;
pub(crate) const LIST_SET_RECORD_LEN: usize = 8;
pub(crate) const LIST_MEMBER_LEN: usize = 4;
pub(crate) const ITEM_RECORD_LEN: usize = 4;
pub(crate) const BK_NODE_LEN: usize = 20;
/// Largest substring width of an MIH table (its bucket array has `2^bits + 1` entries).
pub(crate) const MAX_MIH_BITS: u32 = 28;

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
    read_u32(b, 8, "header").map_err(|_| IndexError::Truncated {
        what: "header",
        need: HEADER_LEN as u64,
        have: b.len() as u64,
    })
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

/// The header's fields after the magic (the checksum is filled in over the whole file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub version: u32,
    pub header_len: u32,
    pub file_len: u64,
    pub section_count: u32,
    pub reserved: u32,
}

impl Header {
    /// Appends the header with a zero checksum.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        put_u32(out, self.version);
        put_u32(out, self.header_len);
        put_u64(out, self.file_len);
        put_u32(out, self.section_count);
        put_u32(out, self.reserved);
        out.extend_from_slice(&[0u8; 32]);
    }

    /// The header at the start of `b`: [`IndexError::BadMagic`] without the magic,
    /// [`IndexError::Truncated`] when `b` is shorter than a header.
    pub fn decode(b: &[u8]) -> Result<Header, IndexError> {
        if b.len() < 8 || b[..8] != MAGIC {
            return Err(IndexError::BadMagic);
        }
        if b.len() < HEADER_LEN {
            return Err(IndexError::Truncated {
                what: "header",
                need: HEADER_LEN as u64,
                have: b.len() as u64,
            });
        }
        Ok(Header {
            version: read_u32(b, 8, "format version")?,
            header_len: read_u32(b, 12, "header length")?,
            file_len: read_u64(b, 16, "file length")?,
            section_count: read_u32(b, 24, "section count")?,
            reserved: read_u32(b, 28, "header reserved field")?,
        })
    }
}

/// One record of the section table, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SectionRecord {
    pub tag: u32,
    pub kind: u8,
    pub reserved: [u8; 3],
    pub param: u64,
    pub offset: u64,
    pub len: u64,
}

impl SectionRecord {
    /// Appends the record.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.tag);
        out.push(self.kind);
        out.extend_from_slice(&self.reserved);
        put_u64(out, self.param);
        put_u64(out, self.offset);
        put_u64(out, self.len);
    }

    /// The record at the start of `rec`.
    pub fn decode(rec: &[u8]) -> Result<SectionRecord, IndexError> {
        let b = crate::index::wire::bytes(rec, 4, 4, "section kind")?;
        Ok(SectionRecord {
            tag: read_u32(rec, 0, "section tag")?,
            kind: b[0],
            reserved: [b[1], b[2], b[3]],
            param: read_u64(rec, 8, "section param")?,
            offset: read_u64(rec, 16, "section offset")?,
            len: read_u64(rec, 24, "section length")?,
        })
    }
}

/// A string in the string section: offset and length. Equal strings share one ref, and
/// refs order by offset, then length (the order of the items section).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StringRef {
    pub offset: u64,
    pub len: u32,
}

impl StringRef {
    /// Appends the ref (12 bytes).
    pub fn encode(self, out: &mut Vec<u8>) {
        put_u64(out, self.offset);
        put_u32(out, self.len);
    }

    /// The ref at `at` of `rec`, the field `what`.
    pub fn decode(rec: &[u8], at: usize, what: &'static str) -> Result<StringRef, IndexError> {
        Ok(StringRef { offset: read_u64(rec, at, what)?, len: read_u32(rec, at + 8, what)? })
    }
}

/// A list: its strings, then its provenance and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListRecord {
    pub name: StringRef,
    pub source: StringRef,
    pub source_sha256: StringRef,
    pub imported_at: u64,
    pub version: u64,
    pub counts: ImportCounts,
}

impl ListRecord {
    /// The record of `list`, its strings interned by `intern` (the builders' string tables).
    pub fn of<'a>(list: &'a ListInfo, mut intern: impl FnMut(&'a str) -> StringRef) -> ListRecord {
        ListRecord {
            name: intern(&list.name),
            source: intern(&list.source),
            source_sha256: intern(&list.source_sha256),
            imported_at: list.imported_at,
            version: list.version,
            counts: list.counts,
        }
    }

    /// Appends the record ([`LIST_RECORD_LEN`] bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for s in [self.name, self.source, self.source_sha256] {
            s.encode(out);
        }
        let c = &self.counts;
        for v in [
            self.imported_at,
            self.version,
            c.added,
            c.updated,
            c.removed,
            c.unchanged,
            c.rejected,
            c.skipped,
        ] {
            put_u64(out, v);
        }
    }

    /// The record `rec`.
    pub fn decode(rec: &[u8]) -> Result<ListRecord, IndexError> {
        let n = |i: usize, what| read_u64(rec, 36 + i * 8, what);
        Ok(ListRecord {
            name: StringRef::decode(rec, 0, "list name")?,
            source: StringRef::decode(rec, 12, "list source")?,
            source_sha256: StringRef::decode(rec, 24, "list source_sha256")?,
            imported_at: n(0, "list imported_at")?,
            version: n(1, "list version")?,
            counts: ImportCounts {
                added: n(2, "list added")?,
                updated: n(3, "list updated")?,
                removed: n(4, "list removed")?,
                unchanged: n(5, "list unchanged")?,
                rejected: n(6, "list rejected")?,
                skipped: n(7, "list skipped")?,
            },
        })
    }
}

/// A distinct set of lists: a run of the list set members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListSetRecord {
    pub start: u32,
    pub len: u32,
}

impl ListSetRecord {
    /// Appends the record ([`LIST_SET_RECORD_LEN`] bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.start);
        put_u32(out, self.len);
    }

    /// The record `rec`.
    pub fn decode(rec: &[u8]) -> Result<ListSetRecord, IndexError> {
        Ok(ListSetRecord {
            start: read_u32(rec, 0, "list set start")?,
            len: read_u32(rec, 4, "list set length")?,
        })
    }
}

/// An entry's strings and list set (its value is in its kind's values section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryRecord {
    pub id: StringRef,
    pub label: StringRef,
    pub list_set: u32,
}

impl EntryRecord {
    /// Appends the record ([`ENTRY_RECORD_LEN`] bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.id.encode(out);
        self.label.encode(out);
        put_u32(out, self.list_set);
    }

    /// The id ref alone, without reading the rest of `rec`.
    pub fn decode_id(rec: &[u8]) -> Result<StringRef, IndexError> {
        StringRef::decode(rec, 0, "entry id")
    }

    /// The record `rec`.
    pub fn decode(rec: &[u8]) -> Result<EntryRecord, IndexError> {
        Ok(EntryRecord {
            id: EntryRecord::decode_id(rec)?,
            label: StringRef::decode(rec, 12, "entry label")?,
            list_set: read_u32(rec, 24, "entry list set")?,
        })
    }
}

/// One position of the items section: an entry number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ItemRecord {
    pub entry: u32,
}

impl ItemRecord {
    /// Appends the record ([`ITEM_RECORD_LEN`] bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.entry);
    }

    /// The record `rec`.
    pub fn decode(rec: &[u8]) -> Result<ItemRecord, IndexError> {
        Ok(ItemRecord { entry: read_u32(rec, 0, "item entry")? })
    }
}

/// One BK-tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BkNode {
    /// The first position of the node's value in the values.
    pub pos: u32,
    /// How many equal values start there.
    pub dup: u32,
    /// The distance to the parent's value (0 for the root).
    pub parent_distance: u32,
    /// The node number of the first child.
    pub first_child: u32,
    /// The number of children.
    pub children: u32,
}

impl BkNode {
    /// Appends the node ([`BK_NODE_LEN`] bytes).
    pub fn encode(&self, out: &mut Vec<u8>) {
        for x in [self.pos, self.dup, self.parent_distance, self.first_child, self.children] {
            put_u32(out, x);
        }
    }

    /// Node `i` of `nodes`.
    pub fn decode(nodes: &[u8], i: usize) -> Result<BkNode, IndexError> {
        let rec = crate::index::wire::record(nodes, i, BK_NODE_LEN, "BK-tree node")?;
        Ok(BkNode {
            pos: read_u32(rec, 0, "BK-tree node position")?,
            dup: read_u32(rec, 4, "BK-tree node duplicates")?,
            parent_distance: read_u32(rec, 8, "BK-tree node distance")?,
            first_child: read_u32(rec, 12, "BK-tree node first child")?,
            children: read_u32(rec, 16, "BK-tree node child count")?,
        })
    }

    /// The distance to the parent of node `i` of `nodes` alone (the search's inner loop).
    pub fn decode_distance(nodes: &[u8], i: usize) -> Result<u32, IndexError> {
        let rec = crate::index::wire::record(nodes, i, BK_NODE_LEN, "BK-tree node")?;
        read_u32(rec, 8, "BK-tree node distance")
    }
}

/// Appends the encoding of a value: `u64` words little-endian for the perceptual kinds
/// (most significant word first), raw bytes for digests.
pub(crate) fn encode_value(v: &HashValue, out: &mut Vec<u8>) {
    match v {
        HashValue::Phash(p) => put_u64(out, p.0),
        HashValue::Pdq(p) | HashValue::Vpdq(p) => p.words.iter().for_each(|&w| put_u64(out, w)),
        HashValue::Md5(d) => out.extend_from_slice(&d.0),
        HashValue::Sha1(d) => out.extend_from_slice(&d.0),
        HashValue::Sha256(d) | HashValue::Tmk(d) => out.extend_from_slice(&d.0),
    }
}

/// The value of `kind` encoded in `raw` ([`Kind::byte_len`] bytes).
pub(crate) fn decode_value(kind: Kind, raw: &[u8]) -> Result<HashValue, IndexError> {
    let bad = || IndexError::corrupt("values", "value out of range".to_string());
    let word = |i: usize| read_u64(raw, i * 8, "value word").map_err(|_| bad());
    Ok(match kind {
        Kind::Phash => HashValue::Phash(Phash(word(0)?)),
        Kind::Pdq => HashValue::Pdq(Pdq { words: [word(0)?, word(1)?, word(2)?, word(3)?] }),
        Kind::Md5 => HashValue::Md5(Md5(raw.try_into().map_err(|_| bad())?)),
        Kind::Sha1 => HashValue::Sha1(Sha1(raw.try_into().map_err(|_| bad())?)),
        Kind::Sha256 => HashValue::Sha256(Sha256(raw.try_into().map_err(|_| bad())?)),
        Kind::Vpdq => HashValue::Vpdq(Pdq { words: [word(0)?, word(1)?, word(2)?, word(3)?] }),
        Kind::Tmk => HashValue::Tmk(Sha256(raw.try_into().map_err(|_| bad())?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_at_their_length() {
        let s = |offset, len| StringRef { offset, len };
        let list = ListRecord {
            name: s(1, 2),
            source: s(3, 4),
            source_sha256: s(5, 6),
            imported_at: 7,
            version: 8,
            counts: ImportCounts {
                added: 9,
                updated: 10,
                removed: 11,
                unchanged: 12,
                rejected: 13,
                skipped: 14,
            },
        };
        let mut out = Vec::new();
        list.encode(&mut out);
        assert_eq!(out.len(), LIST_RECORD_LEN);
        assert_eq!(ListRecord::decode(&out).unwrap(), list);

        let entry = EntryRecord { id: s(20, 3), label: s(0, 0), list_set: 5 };
        let mut out = Vec::new();
        entry.encode(&mut out);
        assert_eq!(out.len(), ENTRY_RECORD_LEN);
        assert_eq!(EntryRecord::decode(&out).unwrap(), entry);

        let section = SectionRecord { tag: 17, kind: 2, reserved: [0; 3], param: 9, offset: 128, len: 64 };
        let mut out = Vec::new();
        section.encode(&mut out);
        assert_eq!(out.len(), SECTION_RECORD_LEN);
        assert_eq!(SectionRecord::decode(&out).unwrap(), section);

        let node = BkNode { pos: 1, dup: 2, parent_distance: 3, first_child: 4, children: 5 };
        let mut out = Vec::new();
        node.encode(&mut out);
        assert_eq!(out.len(), BK_NODE_LEN);
        assert_eq!(BkNode::decode(&out, 0).unwrap(), node);

        let header = Header { version: 2, header_len: 64, file_len: 99, section_count: 3, reserved: 0 };
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(Header::decode(&out).unwrap(), header);
    }

    #[test]
    fn a_truncated_record_names_its_field() {
        let entry =
            EntryRecord { id: StringRef { offset: 1, len: 2 }, label: StringRef::default(), list_set: 5 };
        let mut out = Vec::new();
        entry.encode(&mut out);
        let cases: [(usize, &str); 3] = [(27, "entry list set"), (20, "entry label"), (10, "entry id")];
        for (len, field) in cases {
            match EntryRecord::decode(&out[..len]) {
                Err(IndexError::Truncated { what, .. }) => assert_eq!(what, field, "cut at {len}"),
                other => panic!("cut at {len}: {other:?}"),
            }
        }
        let mut list = Vec::new();
        ListRecord {
            name: StringRef::default(),
            source: StringRef::default(),
            source_sha256: StringRef::default(),
            imported_at: 0,
            version: 0,
            counts: ImportCounts::default(),
        }
        .encode(&mut list);
        let err = ListRecord::decode(&list[..95]).unwrap_err();
        assert!(err.to_string().contains("list skipped needs 100 bytes, have 95"), "{err}");
        assert!(matches!(
            BkNode::decode(&[0; 30], 1),
            Err(IndexError::Truncated { what: "BK-tree node", .. })
        ));
        assert!(matches!(
            Header::decode(b"MMINDEX\0short"),
            Err(IndexError::Truncated { what: "header", .. })
        ));
        assert!(matches!(Header::decode(b"NOTINDEX"), Err(IndexError::BadMagic)));
    }
}
