//! Turning a [`Catalog`] into index bytes.
//!
//! The builder sorts the entries canonically (by kind, value, id, label, lists),
//! deduplicates strings and list sets, orders the entries by id for the items section, and
//! derives each kind's search structure, so the same catalog always gives the same bytes.
//! Sorting and the MIH tables use rayon. Every record is written by its encoder in
//! [`format`](mod@super::format), the structures by their views' `build`.

use std::collections::HashMap;
use std::io::Write;

use rayon::prelude::*;

use crate::catalog::{Catalog, Entry};
use crate::hash::{HashValue, Kind};
use crate::index::bktree::BkTree;
use crate::index::format::{
    self, EntryRecord, Header, ItemRecord, ListRecord, ListSetRecord, SectionRecord, StringRef,
};
use crate::index::mih::MihTables;
use crate::index::values::Values;
use crate::index::wire::put_u32;
use crate::index::IndexError;

/// The search structure of a perceptual section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Structure {
    /// Multi-index hashing: the hash is cut into substrings, each with a table from
    /// substring value to entries; queries probe the buckets near the query's substrings.
    /// Queries whose radius would make it slower than a scan fall back to the scan.
    Mih {
        /// Number of substrings; `None` picks it from the hash width and the entry count
        /// (about `log2(entries)` bits per substring), and builds no tables for sections of
        /// fewer than [`SMALL_SECTION`] values.
        substrings: Option<u8>,
    },
    /// A BK-tree laid out flat, breadth first (kept as a selectable structure and baseline).
    BkTree,
    /// No structure: every query scans all values.
    Scan,
}

impl Default for Structure {
    fn default() -> Structure {
        Structure::Mih { substrings: None }
    }
}

/// How to build an index: the search structure for each perceptual kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Structure of the PDQ section.
    pub pdq: Structure,
    /// Structure of the pHash section.
    pub phash: Structure,
}

impl BuildOptions {
    /// The same structure for both perceptual kinds.
    pub fn with_structure(structure: Structure) -> BuildOptions {
        BuildOptions { pdq: structure, phash: structure }
    }
}

/// Below this many values, [`Structure::Mih`] with automatic substrings builds no
/// tables: a scan of so few values takes about as long as probing the tables.
pub const SMALL_SECTION: usize = 1024;

/// Builds the bytes of an index holding `catalog`.
///
/// Fails if an entry names a list that does not exist or there are more than `u32::MAX`
/// entries or lists.
pub fn build(catalog: &Catalog, options: &BuildOptions) -> Result<Vec<u8>, IndexError> {
    Builder::new(catalog, options)?.finish()
}

/// Builds an index holding `catalog` and writes it to `w`.
pub fn write_to<W: Write>(catalog: &Catalog, options: &BuildOptions, mut w: W) -> Result<(), IndexError> {
    let bytes = build(catalog, options)?;
    w.write_all(&bytes).map_err(|source| IndexError::Io { what: "writing the index".to_string(), source })
}

struct Builder<'a> {
    catalog: &'a Catalog,
    options: BuildOptions,
    order: Vec<&'a Entry>,
    strings: Vec<u8>,
    interned: HashMap<&'a str, StringRef, FastState>,
    /// The string interned last (labels repeat from entry to entry).
    last: Option<(&'a str, StringRef)>,
}

impl<'a> Builder<'a> {
    fn new(catalog: &'a Catalog, options: &BuildOptions) -> Result<Builder<'a>, IndexError> {
        let n_lists = catalog.lists.len();
        if u32::try_from(n_lists).is_err() || u32::try_from(catalog.entries.len()).is_err() {
            return Err(IndexError::TooLarge { what: "entries or lists", max: u64::from(u32::MAX) });
        }
        for e in &catalog.entries {
            if let Some(&bad) = e.lists.iter().find(|&&l| l as usize >= n_lists) {
                return Err(IndexError::BadCatalog(format!(
                    "entry {} (id {:?}) names list {bad}, but there are {n_lists} lists",
                    e.value, e.id
                )));
            }
        }
        let order = canonical_order(&catalog.entries);
        let mut interned = HashMap::with_hasher(FastState::new());
        interned.reserve(order.len().saturating_add(3 * n_lists));
        Ok(Builder { catalog, options: *options, order, strings: Vec::new(), interned, last: None })
    }

    /// The ref of `s` in the string section, appending it the first time. Every string
    /// (id, label or list field) goes through here, so equal strings always share one ref:
    /// the items section relies on it to group entries by id.
    fn string(&mut self, s: &'a str) -> StringRef {
        if let Some((l, r)) = self.last {
            if l == s {
                return r;
            }
        }
        let strings = &mut self.strings;
        let r = *self.interned.entry(s).or_insert_with(|| {
            // Lengths above u32::MAX are cut; no id or label comes near it.
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            let r = StringRef { offset: strings.len() as u64, len };
            strings.extend_from_slice(&s.as_bytes()[..len as usize]);
            r
        });
        self.last = Some((s, r));
        r
    }

    fn finish(mut self) -> Result<Vec<u8>, IndexError> {
        let mut sections: Vec<(u32, u8, u64, Vec<u8>)> = Vec::new();

        let catalog = self.catalog;
        let mut lists = Vec::with_capacity(catalog.lists.len() * format::LIST_RECORD_LEN);
        for l in &catalog.lists {
            ListRecord::of(l, |s| self.string(s)).encode(&mut lists);
        }

        let mut set_ids: HashMap<&[u32], u32, FastState> = HashMap::with_hasher(FastState::new());
        let mut last_set: Option<(&[u32], u32)> = None;
        let mut sets = Vec::new();
        let mut members: Vec<u8> = Vec::new();
        let mut entries = Vec::with_capacity(self.order.len() * format::ENTRY_RECORD_LEN);
        let order = std::mem::take(&mut self.order);
        // (id ref, entry number) of every entry, sorted below into the items section.
        let mut by_id: Vec<(StringRef, u32)> = Vec::with_capacity(order.len());
        for (number, &e) in order.iter().enumerate() {
            let set = match last_set {
                Some((l, id)) if l == e.lists.as_slice() => id,
                _ => {
                    let next = set_ids.len() as u32;
                    let id = *set_ids.entry(e.lists.as_slice()).or_insert_with(|| {
                        let start = (members.len() / format::LIST_MEMBER_LEN) as u32;
                        ListSetRecord { start, len: e.lists.len() as u32 }.encode(&mut sets);
                        e.lists.iter().for_each(|&l| put_u32(&mut members, l));
                        next
                    });
                    last_set = Some((e.lists.as_slice(), id));
                    id
                }
            };
            let id = self.string(&e.id);
            let label = self.string(&e.label);
            EntryRecord { id, label, list_set: set }.encode(&mut entries);
            // `new` checked that the entry count fits in a u32.
            by_id.push((id, number as u32));
        }
        by_id.par_sort_unstable();
        let mut items = Vec::with_capacity(by_id.len() * format::ITEM_RECORD_LEN);
        by_id.iter().for_each(|&(_, entry)| ItemRecord { entry }.encode(&mut items));
        drop(by_id);

        let mut kind_sections = Vec::new();
        let mut start = 0usize;
        for kind in Kind::ALL {
            let end = start + order[start..].iter().take_while(|e| e.value.kind() == kind).count();
            if end > start {
                let values = Values::build(kind, order[start..end].iter().map(|e| &e.value));
                let code = kind.code();
                let structure = match kind {
                    // vPDQ frames are PDQ hashes: the same structure.
                    Kind::Pdq | Kind::Vpdq => Some(self.options.pdq),
                    Kind::Phash => Some(self.options.phash),
                    _ => None,
                };
                let n = end - start;
                let words = kind.byte_len() / 8;
                kind_sections.push((format::TAG_VALUES, code, start as u64, Vec::new()));
                let values_at = kind_sections.len() - 1;
                match structure {
                    Some(Structure::Mih { substrings: None }) if n < SMALL_SECTION => {}
                    Some(Structure::Mih { substrings }) => {
                        for (spec, table) in MihTables::build(&values, kind.bits(), words, substrings) {
                            kind_sections.push((format::TAG_MIH, code, spec.param(), table));
                        }
                    }
                    Some(Structure::BkTree) => {
                        let (count, nodes) = BkTree::build(&values, words);
                        kind_sections.push((format::TAG_BKTREE, code, count, nodes));
                    }
                    Some(Structure::Scan) | None => {}
                }
                kind_sections[values_at].3 = values;
                if crate::index::tmk::has_sections(kind) {
                    let run: Vec<&HashValue> = order[start..end].iter().map(|e| &e.value).collect();
                    let (count, signatures, averages) =
                        crate::index::tmk::build(&run, &self.catalog.signatures)?;
                    kind_sections.push((format::TAG_TMK_SIGNATURES, code, count, signatures));
                    kind_sections.push((format::TAG_TMK_AVERAGES, code, count, averages));
                }
            }
            start = end;
        }

        sections.push((format::TAG_STRINGS, 0, 0, std::mem::take(&mut self.strings)));
        sections.push((format::TAG_LISTS, 0, 0, lists));
        sections.push((format::TAG_LIST_SETS, 0, 0, sets));
        sections.push((format::TAG_LIST_MEMBERS, 0, 0, members));
        sections.push((format::TAG_ENTRIES, 0, 0, entries));
        sections.push((format::TAG_ITEMS, 0, 0, items));
        sections.extend(kind_sections);
        Ok(assemble(sections))
    }
}

/// The entries in canonical order (kind, value, id, label, lists): sorted by a compact key
/// of kind and value, then runs of equal values by the whole entry. Comparing the keys in
/// place is several times faster than following every entry's pointers.
fn canonical_order(entries: &[Entry]) -> Vec<&Entry> {
    let mut keys: Vec<(u8, [u64; 4], u32)> = entries
        .par_iter()
        .enumerate()
        .map(|(i, e)| (e.value.kind().code(), value_key(&e.value), i as u32))
        .collect();
    keys.par_sort_unstable_by_key(|k| (k.0, k.1));
    let mut order: Vec<&Entry> = keys.iter().map(|k| &entries[k.2 as usize]).collect();
    let mut start = 0;
    while start < keys.len() {
        let same = |k: &(u8, [u64; 4], u32)| k.0 == keys[start].0 && k.1 == keys[start].1;
        let end = start + keys[start..].iter().take_while(|k| same(k)).count();
        if end - start > 1 {
            order[start..end].sort_unstable();
        }
        start = end;
    }
    order
}

/// Four words ordered like the values of one kind: perceptual words as they are, digest
/// bytes big-endian, zero padded (all digests of a kind have the same length).
pub(crate) fn value_key(v: &HashValue) -> [u64; 4] {
    let bytes: &[u8] = match v {
        HashValue::Phash(p) => return [p.0, 0, 0, 0],
        HashValue::Pdq(p) | HashValue::Vpdq(p) => return p.words,
        HashValue::Md5(d) => &d.0,
        HashValue::Sha1(d) => &d.0,
        HashValue::Sha256(d) | HashValue::Tmk(d) => &d.0,
    };
    let mut key = [0u64; 4];
    for (k, c) in key.iter_mut().zip(bytes.chunks(8)) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        *k = u64::from_be_bytes(w);
    }
    key
}

/// A fast hasher for interning strings and list sets while building (SipHash, the default,
/// took most of the build time). The seed is random per build, so crafted ids cannot
/// force collisions in advance; the output bytes do not depend on it.
#[derive(Clone)]
pub(crate) struct FastState(u64);

impl FastState {
    pub(crate) fn new() -> FastState {
        use std::hash::BuildHasher;
        FastState(std::collections::hash_map::RandomState::new().hash_one(0x6d6d_u64) | 1)
    }
}

impl std::hash::BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A full avalanche (MurmurHash3's finalizer): hashbrown takes the bucket from the
        // low bits and a tag from the top 7, and the multiplications above only carry
        // upwards.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

fn pad8(x: usize) -> usize {
    x.div_ceil(8) * 8
}

/// Lays out the header, section table and sections, and fills in the checksum.
fn assemble(sections: Vec<(u32, u8, u64, Vec<u8>)>) -> Vec<u8> {
    let table_end = format::HEADER_LEN + sections.len() * format::SECTION_RECORD_LEN;
    let mut table: Vec<SectionRecord> = Vec::new();
    let mut at = pad8(table_end);
    for (tag, kind, param, body) in &sections {
        let (offset, len) = (at as u64, body.len() as u64);
        table.push(SectionRecord { tag: *tag, kind: *kind, reserved: [0; 3], param: *param, offset, len });
        at = pad8(at + body.len());
    }
    let file_len = at;
    let mut out = Vec::with_capacity(file_len);
    Header {
        version: format::FORMAT_VERSION,
        header_len: format::HEADER_LEN as u32,
        file_len: file_len as u64,
        section_count: sections.len() as u32,
        reserved: 0,
    }
    .encode(&mut out);
    table.iter().for_each(|s| s.encode(&mut out));
    for ((_, _, _, body), s) in sections.iter().zip(&table) {
        out.resize(s.offset as usize, 0);
        out.extend_from_slice(body);
    }
    out.resize(file_len, 0);
    let sum = format::checksum(&out);
    out[format::CHECKSUM_OFFSET..format::CHECKSUM_OFFSET + 32].copy_from_slice(&sum);
    out
}
