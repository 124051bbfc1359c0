//! The known-hash index: one immutable, memory-mapped file.
//!
//! An index holds a [`Catalog`] (hash lists with their provenance, and entries: hash value,
//! external id, label, lists) plus a search structure per hash kind:
//!
//! * **PDQ and pHash**: exact Hamming-distance search, by [multi-index hashing](mih) for
//!   small radii and a [blocked popcount scan](scan) for large ones, chosen per query by
//!   counting the buckets a query would read; a [BK-tree](bktree) is selectable
//!   ([`Structure::BkTree`]) and kept as a benchmark baseline.
//! * **MD5, SHA-1, SHA-256**: exact lookup by binary search.
//!
//! Every query is exact: every entry within the radius is returned, with its distance, and
//! no other. Entries with equal hashes and different ids are separate entries and are all
//! returned. [`Index::same_id`] goes the other way, from an entry to every entry sharing
//! its id (its *item*: e.g. the PDQ, pHash and MD5 of one image), in `O(log n)`.
//!
//! [`build`] turns a catalog into bytes (the same catalog always gives the same bytes);
//! [`write_atomic`] replaces an index file safely under the writers' [`WriteLock`];
//! [`Index::open`] maps a file and [`Index::from_bytes`] takes any buffer. Opening checks the header and every section's
//! bounds in time independent of the entry count, so no query on any bytes can panic,
//! loop or read out of bounds; [`Index::verify`] checks the checksum and the structures in
//! full. The byte layout is specified in [`format`](mod@format). [`LegacyIndex`] reads a file
//! of an older format version, for its catalog only, so `mediamatch upgrade` can carry it
//! forward ([`LegacyIndex::upgrade`]); [`Index`] refuses such a file.
//!
//! ```
//! use mediamatch::catalog::{Catalog, Entry, ListInfo};
//! use mediamatch::index::{build, BuildOptions, Index};
//! use mediamatch::HashValue;
//!
//! let value: HashValue = "phash:8c563bb4622dd4e3".parse()?;
//! let catalog = Catalog {
//!     lists: vec![ListInfo { name: "local".into(), ..Default::default() }],
//!     entries: vec![Entry { value, id: "a1".into(), label: "known".into(), lists: vec![0] }],
//! };
//! let index = Index::from_bytes(build(&catalog, &BuildOptions::default())?)?;
//! let near: HashValue = "phash:8c563bb4622dd4e2".parse()?;
//! let hits = index.search(&near, 8)?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].distance, 1);
//! assert_eq!(index.entry(hits[0].entry)?.id, "a1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! ## Where things are
//!
//! | module | holds |
//! | --- | --- |
//! | this module | the query API: [`Index`], [`Hit`], [`DihedralHit`], [`Method`], [`EntryRef`] |
//! | [`info`](mod@info) | [`Info`] and [`KindInfo`], the description `mediamatch info` prints |
//! | [`error`](mod@error) | [`IndexError`] and the advice a version mismatch gives |
//! | [`format`](mod@format) | the byte layout (the spec), with each record's encoder and decoder side by side |
//! | `wire` | labelled, checked little-endian reads and the matching writes |
//! | `layout` | open-time parsing and checking of the header and sections |
//! | `values` | the typed view of a kind's values: build, validate, verify, scan, digest lookup |
//! | [`mih`] | multi-index hashing tables as a typed view: build, validate, verify, search |
//! | [`bktree`] | the flat BK-tree as a typed view: build, validate, verify, search |
//! | `plan` | the cost model, structure-or-scan choice (`Probe`) and the dihedral planner |
//! | [`scan`], [`popcount`], [`digest`] | the scan kernels and binary search |
//! | [`builder`] | [`build`]: catalog to bytes |
//! | [`store`] | the file's lifecycle: open and map, [`IndexData`], [`write_atomic`], [`WriteLock`], stale temporary files |
//! | `legacy` | [`LegacyIndex`], older format versions read to carry them forward |

pub mod bktree;
pub mod builder;
pub mod digest;
pub mod error;
pub mod format;
pub mod info;
mod items;
mod layout;
mod legacy;
pub mod mih;
mod plan;
pub mod popcount;
pub mod scan;
pub mod store;
mod values;
mod wire;

use std::ops::Range;

use rayon::prelude::*;

use crate::catalog::{Catalog, Entry, ListInfo};
use crate::hash::{HashValue, Kind, Pdq, Phash, Variant};
pub use builder::{build, write_to, BuildOptions, Structure};
pub use error::IndexError;
pub use format::FORMAT_VERSION;
use format::{EntryRecord, ItemRecord, ListRecord, ListSetRecord, StringRef};
pub use info::{Info, KindInfo};
use layout::{KindSection, Layout, Search, SearchView};
pub use legacy::LegacyIndex;
use plan::Probe;
pub use store::{write_atomic, IndexData, WriteLock};
use values::{Found, Query};
use wire::{read_u32, record};

/// One entry within the radius of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// The entry number, for [`Index::entry`].
    pub entry: u32,
    /// Hamming distance to the query (0 for digests).
    pub distance: u32,
}

/// One entry within the radius of any of a dihedral query's 8 variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DihedralHit {
    /// The entry number, for [`Index::entry`].
    pub entry: u32,
    /// The smallest distance over the variants.
    pub distance: u32,
    /// The first variant (in [`Variant::ALL`] order) at that distance.
    pub variant: Variant,
}

/// How a perceptual query is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// The section's structure, or a scan when the structure would read more than a scan.
    #[default]
    Auto,
    /// The section's structure even when a scan would be faster (for tests and benchmarks).
    Structure,
    /// A scan of all values.
    Scan,
}

/// An entry as stored in the index, borrowing its strings from the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The hash.
    pub value: HashValue,
    /// The list provider's id (may be empty).
    pub id: &'a str,
    /// The label (may be empty).
    pub label: &'a str,
    /// The lists holding the entry, for [`Index::list`].
    pub lists: Vec<u32>,
}

impl EntryRef<'_> {
    /// The owned catalog entry.
    pub fn to_entry(&self) -> Entry {
        Entry {
            value: self.value,
            id: self.id.to_string(),
            label: self.label.to_string(),
            lists: self.lists.clone(),
        }
    }
}

/// An opened index over any bytes: a `Vec<u8>`, a `&[u8]`, or a memory map.
///
/// `Index` is `Send + Sync` when `D` is; share one between threads.
#[derive(Clone, Debug)]
pub struct Index<D> {
    data: D,
    layout: Layout,
    /// [`Index::item_pairs`], counted on first use.
    item_pairs: std::sync::OnceLock<u64>,
}

impl<D: AsRef<[u8]>> Index<D> {
    /// Checks the header and layout of `data` and opens it as an index.
    pub fn from_bytes(data: D) -> Result<Index<D>, IndexError> {
        let layout = Layout::read(data.as_ref(), &[FORMAT_VERSION])?;
        Ok(Index { data, layout, item_pairs: std::sync::OnceLock::new() })
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Gives the underlying storage back (e.g. to re-wrap a validated mapping).
    pub fn into_data(self) -> D {
        self.data
    }

    /// Number of entries of all kinds.
    pub fn len(&self) -> u32 {
        self.layout.n_entries
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.layout.n_entries == 0
    }

    /// Number of lists.
    pub fn list_count(&self) -> u32 {
        (self.layout.lists.len() / format::LIST_RECORD_LEN) as u32
    }

    /// Options that rebuild this index's catalog with the same kind of search structures:
    /// BK-tree sections stay BK-trees; the others get the default (multi-index hashing,
    /// which is a plain scan for small sections). Used by imports, which rebuild the file.
    pub fn build_options(&self) -> BuildOptions {
        let of = |kind: Kind| match self.layout.kinds.iter().find(|s| s.kind == kind).map(|s| &s.search) {
            Some(Search::BkTree { .. }) => Structure::BkTree,
            _ => Structure::default(),
        };
        BuildOptions { pdq: of(Kind::Pdq), phash: of(Kind::Phash) }
    }

    /// Number of entries of `kind`.
    pub fn kind_len(&self, kind: Kind) -> u32 {
        self.section(kind).map_or(0, |s| s.n)
    }

    fn section(&self, kind: Kind) -> Option<&KindSection> {
        self.layout.kinds.iter().find(|s| s.kind == kind)
    }

    fn bytes(&self, r: &Range<usize>) -> &[u8] {
        // Ranges were checked against the data on open.
        self.data.as_ref().get(r.clone()).unwrap_or(&[])
    }

    fn string(&self, r: StringRef, what: &'static str) -> Result<&str, IndexError> {
        let (off, len) = (r.offset, r.len);
        let strings = self.bytes(&self.layout.strings);
        let start = usize::try_from(off).ok();
        let bytes = start
            .and_then(|s| strings.get(s..s.checked_add(len as usize)?))
            .ok_or_else(|| IndexError::corrupt(what, format!("string at {off}+{len} out of range")))?;
        std::str::from_utf8(bytes).map_err(|_| IndexError::corrupt(what, "string is not UTF-8".to_string()))
    }

    /// The entry numbered `entry` (as in [`Hit::entry`]).
    pub fn entry(&self, entry: u32) -> Result<EntryRef<'_>, IndexError> {
        let sec = self
            .layout
            .kinds
            .iter()
            .find(|s| entry >= s.first && entry - s.first < s.n)
            .ok_or(IndexError::OutOfRange { what: "entry", number: entry })?;
        let value = sec.values(self.as_bytes()).value((entry - sec.first) as usize)?;
        let rec = self.entry_record(entry)?;
        let id = self.string(rec.id, "entry id")?;
        let label = self.string(rec.label, "entry label")?;
        let lists = self.list_set(rec.list_set)?;
        Ok(EntryRef { value, id, label, lists })
    }

    /// Every entry whose id equals `entry`'s id, `entry` included, in ascending order: the
    /// *item* `entry` belongs to, across all hash kinds and all lists. An entry with an
    /// empty id belongs to no item, so the answer is just `[entry]`.
    ///
    /// Takes `O(log n + k)` for `k` entries with the id: a binary search of the items
    /// section (the entries ordered by id, see [`format`](mod@format)), then a walk of the
    /// run. Fails with [`IndexError::OutOfRange`] if there is no such entry, and with
    /// [`IndexError::Corrupt`] if the items section names an entry that does not exist or
    /// visibly disagrees with the entries ([`Index::verify`] checks it in full).
    ///
    /// ```
    /// use mediamatch::catalog::{Catalog, Entry, ListInfo};
    /// use mediamatch::index::{build, BuildOptions, Index};
    ///
    /// let entry = |value: &str, id: &str| Entry {
    ///     value: value.parse().unwrap(),
    ///     id: id.into(),
    ///     label: String::new(),
    ///     lists: vec![0],
    /// };
    /// let catalog = Catalog {
    ///     lists: vec![ListInfo { name: "local".into(), ..Default::default() }],
    ///     entries: vec![
    ///         entry("phash:8c563bb4622dd4e3", "case-7"),
    ///         entry(&format!("pdq:{}", "5a".repeat(32)), "case-7"),
    ///         entry("phash:0000000000000001", "case-8"),
    ///     ],
    /// };
    /// let index = Index::from_bytes(build(&catalog, &BuildOptions::default())?)?;
    /// let phash = index.search(&"phash:8c563bb4622dd4e3".parse()?, 0)?[0].entry;
    /// let item = index.same_id(phash)?;
    /// assert_eq!(item.len(), 2);
    /// assert!(item.iter().all(|&e| index.entry(e).map(|e| e.id == "case-7").unwrap_or(false)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn same_id(&self, entry: u32) -> Result<Vec<u32>, IndexError> {
        let target = self.id_ref(entry)?;
        if target.len == 0 {
            return Ok(vec![entry]);
        }
        let n = self.layout.n_entries as usize;
        // The first position whose id ref is not below the target.
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (id, _) = self.item(mid)?;
            if id < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut same: Vec<u32> = Vec::new();
        for pos in lo..n {
            let (id, e) = self.item(pos)?;
            if id != target {
                break;
            }
            if same.last().is_some_and(|&last| last >= e) {
                return Err(IndexError::corrupt("items", format!("entries out of order at position {pos}")));
            }
            same.push(e);
        }
        if same.binary_search(&entry).is_err() {
            return Err(IndexError::corrupt("items", format!("entry {entry} is missing from its id's run")));
        }
        Ok(same)
    }

    /// The record of `entry` in the entries section.
    fn entry_bytes(&self, entry: u32) -> Result<&[u8], IndexError> {
        record(self.bytes(&self.layout.entries), entry as usize, format::ENTRY_RECORD_LEN, "entry")
            .map_err(|_| IndexError::OutOfRange { what: "entry", number: entry })
    }

    /// The decoded record of `entry`.
    fn entry_record(&self, entry: u32) -> Result<EntryRecord, IndexError> {
        EntryRecord::decode(self.entry_bytes(entry)?)
    }

    /// The id string ref of `entry`, as stored in the entries section.
    fn id_ref(&self, entry: u32) -> Result<StringRef, IndexError> {
        EntryRecord::decode_id(self.entry_bytes(entry)?)
    }

    /// The entry at position `pos` of the items section, with its id ref.
    fn item(&self, pos: usize) -> Result<(StringRef, u32), IndexError> {
        let items = self.bytes(&self.layout.items);
        let bad = |detail: String| IndexError::corrupt("items", detail);
        let entry = record(items, pos, format::ITEM_RECORD_LEN, "item")
            .and_then(ItemRecord::decode)
            .map_err(|_| bad(format!("position {pos} is beyond the section")))?
            .entry;
        if entry >= self.layout.n_entries {
            return Err(bad(format!(
                "position {pos} names entry {entry}, but there are {} entries",
                self.layout.n_entries
            )));
        }
        Ok((self.id_ref(entry)?, entry))
    }

    /// Checks the whole items section: entries strictly ascending by (id ref, entry), which
    /// with one record per entry and every number below the entry count makes it a
    /// permutation of the entries (each entry has one id ref, so no key repeats); and no
    /// two refs holding the same non-empty id, which would split an item in two.
    fn verify_items(&self) -> Result<(), IndexError> {
        let mut prev: Option<(StringRef, u32)> = None;
        let mut ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for pos in 0..self.layout.n_entries as usize {
            let cur = self.item(pos)?;
            if prev.is_some_and(|p| p >= cur) {
                return Err(IndexError::corrupt("items", format!("not sorted by id at position {pos}")));
            }
            let (id, _) = cur;
            if id.len > 0 && prev.is_none_or(|(p, _)| p != id) {
                let s = self.string(id, "entry id")?;
                if !ids.insert(s) {
                    return Err(IndexError::corrupt("items", format!("id {s:?} is stored twice")));
                }
            }
            prev = Some(cur);
        }
        Ok(())
    }

    fn list_set(&self, set: u32) -> Result<Vec<u32>, IndexError> {
        let bad = || IndexError::corrupt("list sets", format!("list set {set} is damaged"));
        let sets = self.bytes(&self.layout.sets);
        let ListSetRecord { start, len } =
            record(sets, set as usize, format::LIST_SET_RECORD_LEN, "list set")
                .and_then(ListSetRecord::decode)
                .map_err(|_| bad())?;
        let members = self.bytes(&self.layout.members);
        let raw = (start as usize)
            .checked_mul(format::LIST_MEMBER_LEN)
            .zip((len as usize).checked_mul(format::LIST_MEMBER_LEN))
            .and_then(|(from, n)| wire::bytes(members, from, n, "list set members").ok())
            .ok_or_else(bad)?;
        let n_lists = self.list_count();
        let mut lists = Vec::new();
        for at in (0..raw.len()).step_by(format::LIST_MEMBER_LEN) {
            let l = read_u32(raw, at, "list set member")?;
            if l >= n_lists {
                return Err(bad());
            }
            lists.push(l);
        }
        Ok(lists)
    }

    /// The list numbered `list` (as in [`EntryRef::lists`]), with its provenance.
    pub fn list(&self, list: u32) -> Result<ListInfo, IndexError> {
        let lists = self.bytes(&self.layout.lists);
        let rec = record(lists, list as usize, format::LIST_RECORD_LEN, "list")
            .map_err(|_| IndexError::OutOfRange { what: "list", number: list })?;
        let rec = ListRecord::decode(rec)?;
        let s = |r: StringRef| -> Result<String, IndexError> { Ok(self.string(r, "list")?.to_string()) };
        Ok(ListInfo {
            name: s(rec.name)?,
            source: s(rec.source)?,
            source_sha256: s(rec.source_sha256)?,
            imported_at: rec.imported_at,
            version: rec.version,
            counts: rec.counts,
        })
    }

    /// Everything the index knows apart from its search structures; building from it gives
    /// the same bytes again (entries come back in canonical order).
    pub fn catalog(&self) -> Result<Catalog, IndexError> {
        let lists = (0..self.list_count()).map(|l| self.list(l)).collect::<Result<Vec<_>, _>>()?;
        let entries = (0..self.layout.n_entries)
            .map(|e| Ok(self.entry(e)?.to_entry()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Catalog { lists, entries })
    }

    /// Checks the whole file: the checksum, then every entry, string, list set, the items
    /// section, the sort order of the values and every search structure.
    pub fn verify(&self) -> Result<(), IndexError> {
        let data = self.data.as_ref();
        if format::checksum(data) != data[format::CHECKSUM_OFFSET..format::CHECKSUM_OFFSET + 32] {
            return Err(IndexError::Checksum);
        }
        self.catalog()?;
        if self.layout.version >= 2 {
            self.verify_items()?;
        }
        for sec in &self.layout.kinds {
            sec.values(data).verify()?;
            match sec.structure(data) {
                SearchView::Mih(tables) => tables.verify()?,
                SearchView::BkTree(tree) => tree.verify()?,
                SearchView::Scan | SearchView::Digest => {}
            }
        }
        Ok(())
    }

    /// All entries within `radius` of `value`, sorted by entry number. Digests match
    /// exactly whatever the radius.
    pub fn search(&self, value: &HashValue, radius: u32) -> Result<Vec<Hit>, IndexError> {
        self.search_with(value, radius, Method::Auto)
    }

    /// [`Index::search`] with a chosen [`Method`].
    pub fn search_with(
        &self,
        value: &HashValue,
        radius: u32,
        method: Method,
    ) -> Result<Vec<Hit>, IndexError> {
        let Some(sec) = self.section(value.kind()) else { return Ok(Vec::new()) };
        let found = match Query::of(value, radius) {
            Some(q) => plan::search(self.as_bytes(), sec, &q, method)?,
            None => sec.values(self.as_bytes()).lookup(value).map(|p| (p, 0)).collect(),
        };
        Ok(to_hits(sec, found))
    }

    /// [`Index::search`] for many values in parallel (rayon). Queries that would scan are
    /// grouped and answered by one tiled scan per chunk.
    pub fn search_batch(&self, values: &[HashValue], radius: u32) -> Vec<Result<Vec<Hit>, IndexError>>
    where
        D: Sync,
    {
        const CHUNK: usize = 32;
        values
            .par_chunks(CHUNK)
            .flat_map_iter(|chunk| {
                let mut results: Vec<Option<Result<Vec<Hit>, IndexError>>> = Vec::new();
                let mut pending: Vec<(usize, [u64; 4])> = Vec::new();
                for (i, v) in chunk.iter().enumerate() {
                    let sec = self.section(v.kind());
                    match (sec, Query::of(v, radius)) {
                        (Some(sec), Some(q)) => {
                            match plan::structure_search(self.as_bytes(), sec, &q, Method::Auto) {
                                Ok(Probe::Hits(found)) => results.push(Some(Ok(to_hits(sec, found)))),
                                Ok(Probe::ScanCheaper) => {
                                    results.push(None);
                                    pending.push((i, q.words));
                                }
                                Err(e) => results.push(Some(Err(e))),
                            }
                        }
                        _ => results.push(Some(self.search(v, radius))),
                    }
                }
                for kind in [Kind::Pdq, Kind::Phash] {
                    let group: Vec<&(usize, [u64; 4])> =
                        pending.iter().filter(|(i, _)| chunk[*i].kind() == kind).collect();
                    let Some(sec) = self.section(kind).filter(|_| !group.is_empty()) else { continue };
                    let queries: Vec<[u64; 4]> = group.iter().map(|g| g.1).collect();
                    let mut out = vec![Vec::new(); queries.len()];
                    sec.values(self.as_bytes()).scan_many(&queries, radius, &mut out);
                    for ((i, _), found) in group.into_iter().zip(out) {
                        results[*i] = Some(Ok(to_hits(sec, found)));
                    }
                }
                results.into_iter().map(|r| r.unwrap_or_else(|| Ok(Vec::new())))
            })
            .collect()
    }

    /// Entries within `radius` of any of the 8 dihedral variants of a PDQ hash (in
    /// [`Variant::ALL`] order), each once with its smallest distance and that variant.
    pub fn search_dihedral_pdq(
        &self,
        variants: &[Pdq; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(Kind::Pdq, variants.map(|p| p.words), radius)
    }

    /// [`Index::search_dihedral_pdq`] for pHash.
    pub fn search_dihedral_phash(
        &self,
        variants: &[Phash; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(Kind::Phash, variants.map(|p| [p.0, 0, 0, 0]), radius)
    }

    /// [`Index::search_dihedral_pdq`] for many images in parallel (rayon).
    pub fn search_dihedral_pdq_batch(
        &self,
        queries: &[[Pdq; 8]],
        radius: u32,
    ) -> Vec<Result<Vec<DihedralHit>, IndexError>>
    where
        D: Sync,
    {
        queries.par_iter().map(|q| self.search_dihedral_pdq(q, radius)).collect()
    }

    /// [`Index::search_dihedral_phash`] for many images in parallel (rayon).
    pub fn search_dihedral_phash_batch(
        &self,
        queries: &[[Phash; 8]],
        radius: u32,
    ) -> Vec<Result<Vec<DihedralHit>, IndexError>>
    where
        D: Sync,
    {
        queries.par_iter().map(|q| self.search_dihedral_phash(q, radius)).collect()
    }

    fn dihedral(&self, kind: Kind, qs: [[u64; 4]; 8], radius: u32) -> Result<Vec<DihedralHit>, IndexError> {
        let Some(sec) = self.section(kind) else { return Ok(Vec::new()) };
        plan::dihedral(self.as_bytes(), sec, qs, radius)
    }
}

fn to_hits(sec: &KindSection, mut found: Vec<Found>) -> Vec<Hit> {
    found.sort_unstable();
    found.into_iter().map(|(p, d)| Hit { entry: sec.first + p, distance: d }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Index<Vec<u8>>>();
        check::<Index<memmap2::Mmap>>();
        check::<Index<&[u8]>>();
        check::<Index<IndexData>>();
    }
}
