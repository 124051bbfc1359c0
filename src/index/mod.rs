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
//! [`build_file`] writes those bytes to a file with bounded memory;
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
//!     ..Default::default()
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
//! | [`builder`] | [`build`]: catalog to bytes, in memory |
//! | [`writer`] | [`build_file`] and [`FileBuilder`]: the same bytes written to a file with bounded memory (external sort, sections streamed), what `build`, merges and `compact` use |
//! | `extsort` | sorted runs in temporary files and the k-way merge |
//! | `fingerprint` | multiset fingerprints: `verify` checks a table of positions against its values in two sequential passes |
//! | `tables` | MIH tables written in slices, one pass over the values per slice |
//! | `temp` | temporary files beside an index, removed on drop |
//! | [`store`] | the file's lifecycle: open and map, [`IndexData`], [`write_atomic`], [`WriteLock`], stale temporary files |
//! | `legacy` | [`LegacyIndex`], older format versions read to carry them forward |

pub mod bktree;
pub mod builder;
pub mod commit;
pub mod digest;
pub mod error;
pub(crate) mod extsort;
mod fingerprint;
pub mod format;
pub mod info;
mod items;
mod layout;
mod legacy;
pub mod manifest;
pub mod mih;
mod plan;
pub mod popcount;
pub mod scan;
pub mod segment;
pub mod store;
mod tables;
mod temp;
pub mod tmk;
mod values;
mod wire;
pub mod writer;

use std::sync::OnceLock;

use crate::catalog::{Catalog, Entry, ListInfo, Signatures};
use crate::hash::{HashValue, Kind, Pdq, Phash, Sha256, Variant};
use crate::video::tmk::Signature;
pub use builder::{build, write_to, BuildOptions, Structure};
pub use commit::{commit, compact, CommitOptions, Committed, MergePolicy, Update};
pub use error::IndexError;
pub use format::FORMAT_VERSION;
pub use info::{Info, KindInfo};
pub use legacy::LegacyIndex;
pub use manifest::Manifest;
pub use segment::Segment;
pub use store::{read_manifest, segments_dir, write_atomic, IndexData, WriteLock};
pub use tmk::TmkHit;
pub use writer::{build_file, FileBuilder, StreamOptions, Written};

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

/// One segment of an [`Index`], with where its entries start in the index's numbering and
/// its tombstones.
#[derive(Clone, Debug)]
struct Part<D> {
    segment: Segment<D>,
    /// The index's number of the segment's entry 0.
    first: u32,
    /// The segment's deleted entries (local numbers), sorted, distinct.
    dead: Vec<u32>,
    /// How many of `dead` are of each kind, in [`Kind::ALL`] order.
    dead_per_kind: [u32; Kind::ALL.len()],
}

impl<D: AsRef<[u8]>> Part<D> {
    fn new(segment: Segment<D>, first: u32, dead: Vec<u32>) -> Part<D> {
        let mut dead_per_kind = [0u32; Kind::ALL.len()];
        for (slot, kind) in dead_per_kind.iter_mut().zip(Kind::ALL) {
            if let Some(r) = segment.kind_range(kind) {
                let lo = dead.partition_point(|&d| d < r.start);
                let hi = dead.partition_point(|&d| d < r.end);
                *slot = (hi - lo) as u32;
            }
        }
        Part { segment, first, dead, dead_per_kind }
    }

    fn is_dead(&self, local: u32) -> bool {
        self.dead.binary_search(&local).is_ok()
    }

    /// The live entries of `hits` (local numbers) in the index's numbering.
    fn live(&self, hits: Vec<Hit>) -> impl Iterator<Item = Hit> + '_ {
        hits.into_iter()
            .filter(|h| !self.is_dead(h.entry))
            .map(|h| Hit { entry: self.first + h.entry, distance: h.distance })
    }

    fn live_count(&self) -> u32 {
        self.segment.len() - self.dead.len() as u32
    }
}

/// An opened index: one or more immutable [`Segment`]s, searched together, with
/// tombstones hiding the entries later imports removed.
///
/// [`Index::from_bytes`] opens one segment file from any bytes (a `Vec<u8>`, a `&[u8]`, a
/// memory map); [`Index::open`] opens a path, which holds either a manifest naming the
/// segments (what `mediamatch import` maintains, see [`manifest`](mod@manifest)) or one
/// segment. Entry numbers ([`Hit::entry`]) run over the segments in order; an entry removed
/// by a tombstone is never returned by a search and is out of range for
/// [`Index::entry`].
///
/// `Index` is `Send + Sync` when `D` is; share one between threads.
#[derive(Clone, Debug)]
pub struct Index<D> {
    parts: Vec<Part<D>>,
    lists: Vec<ListInfo>,
    /// One past the largest entry number.
    bound: u32,
    /// [`Index::item_pairs`], counted on first use.
    item_pairs: OnceLock<u64>,
}

impl<D: AsRef<[u8]>> Index<D> {
    /// Checks the header and layout of `data`, one index file, and opens it.
    pub fn from_bytes(data: D) -> Result<Index<D>, IndexError> {
        let segment = Segment::from_bytes(data)?;
        let lists = (0..segment.list_count()).map(|l| segment.list(l)).collect::<Result<_, _>>()?;
        Index::from_segments(vec![(segment, Vec::new())], lists)
    }

    /// The index of `segments` (in order, each with its sorted tombstones) and `lists`
    /// (whose numbers the segments' entries use).
    pub(crate) fn from_segments(
        segments: Vec<(Segment<D>, Vec<u32>)>,
        lists: Vec<ListInfo>,
    ) -> Result<Index<D>, IndexError> {
        let mut parts = Vec::with_capacity(segments.len());
        let mut first = 0u32;
        for (segment, dead) in segments {
            if dead.windows(2).any(|w| w[0] >= w[1]) || dead.last().is_some_and(|&d| d >= segment.len()) {
                return Err(IndexError::corrupt("tombstones", "not sorted or out of range".to_string()));
            }
            if segment.list_count() as usize > lists.len() {
                return Err(IndexError::corrupt(
                    "segment",
                    "names more lists than the index has".to_string(),
                ));
            }
            let n = segment.len();
            parts.push(Part::new(segment, first, dead));
            first = first
                .checked_add(n)
                .ok_or(IndexError::TooLarge { what: "entries", max: u64::from(u32::MAX) })?;
        }
        Ok(Index { parts, lists, bound: first, item_pairs: OnceLock::new() })
    }

    /// Gives the storage a new type (e.g. a checked mapping wrapped as [`IndexData`]),
    /// keeping everything opening checked.
    pub fn map_data<E: AsRef<[u8]>>(self, f: impl Fn(D) -> E) -> Index<E> {
        let parts = self
            .parts
            .into_iter()
            .map(|p| Part {
                segment: p.segment.map_data(&f),
                first: p.first,
                dead: p.dead,
                dead_per_kind: p.dead_per_kind,
            })
            .collect();
        Index { parts, lists: self.lists, bound: self.bound, item_pairs: self.item_pairs }
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment<D>> {
        self.parts.iter().map(|p| &p.segment)
    }

    /// The bytes of all segment files together.
    pub fn byte_len(&self) -> u64 {
        self.parts.iter().map(|p| p.segment.as_bytes().len() as u64).sum()
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.parts.len()
    }

    /// Number of entries removed by tombstones (still in their segments until a merge).
    pub fn tombstone_count(&self) -> u64 {
        self.parts.iter().map(|p| p.dead.len() as u64).sum()
    }

    /// Number of live entries of all kinds.
    pub fn len(&self) -> u32 {
        self.parts.iter().map(Part::live_count).sum()
    }

    /// One past the largest entry number (the number of entries when there are no
    /// tombstones).
    pub fn entry_bound(&self) -> u32 {
        self.bound
    }

    /// Whether the index has no live entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of lists.
    pub fn list_count(&self) -> u32 {
        self.lists.len() as u32
    }

    /// Options that rebuild this index's catalog with the same kind of search structures
    /// (those of its first segment): BK-tree sections stay BK-trees; the others get the
    /// default (multi-index hashing, which is a plain scan for small sections).
    pub fn build_options(&self) -> BuildOptions {
        self.parts.first().map_or_else(BuildOptions::default, |p| p.segment.build_options())
    }

    /// Number of live entries of `kind`.
    pub fn kind_len(&self, kind: Kind) -> u32 {
        let k = Kind::ALL.iter().position(|&x| x == kind).unwrap_or(0);
        self.parts.iter().map(|p| p.segment.kind_len(kind) - p.dead_per_kind[k]).sum()
    }

    /// The part holding entry number `entry`, and the entry's local number there.
    fn part_of(&self, entry: u32) -> Result<(&Part<D>, u32), IndexError> {
        let at = self.parts.partition_point(|p| p.first <= entry);
        let part = at.checked_sub(1).map(|i| &self.parts[i]);
        match part {
            Some(p) if entry - p.first < p.segment.len() && !p.is_dead(entry - p.first) => {
                Ok((p, entry - p.first))
            }
            _ => Err(IndexError::OutOfRange { what: "entry", number: entry }),
        }
    }

    /// The live entry numbered `entry` (as in [`Hit::entry`]).
    pub fn entry(&self, entry: u32) -> Result<EntryRef<'_>, IndexError> {
        let (p, local) = self.part_of(entry)?;
        p.segment.entry(local)
    }

    /// Every live entry whose id equals `entry`'s id, `entry` included, in ascending
    /// order: the *item* `entry` belongs to, across all hash kinds, lists and segments. An
    /// entry with an empty id belongs to no item, so the answer is just `[entry]`.
    ///
    /// Takes `O(s log n + k)` for `s` segments and `k` entries with the id (see
    /// [`Segment::same_id`]).
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
    ///     ..Default::default()
    /// };
    /// let index = Index::from_bytes(build(&catalog, &BuildOptions::default())?)?;
    /// let phash = index.search(&"phash:8c563bb4622dd4e3".parse()?, 0)?[0].entry;
    /// let item = index.same_id(phash)?;
    /// assert_eq!(item.len(), 2);
    /// assert!(item.iter().all(|&e| index.entry(e).map(|e| e.id == "case-7").unwrap_or(false)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn same_id(&self, entry: u32) -> Result<Vec<u32>, IndexError> {
        let (home, local) = self.part_of(entry)?;
        if self.parts.len() == 1 {
            let same = home.segment.same_id(local)?;
            return Ok(home
                .live(same.into_iter().map(|e| Hit { entry: e, distance: 0 }).collect())
                .map(|h| h.entry)
                .collect());
        }
        let id = home.segment.entry(local)?.id;
        if id.is_empty() {
            return Ok(vec![entry]);
        }
        let mut same = Vec::new();
        for p in &self.parts {
            let local =
                if std::ptr::eq(p, home) { p.segment.same_id(local)? } else { p.segment.with_id(id)? };
            same.extend(
                p.live(local.into_iter().map(|e| Hit { entry: e, distance: 0 }).collect()).map(|h| h.entry),
            );
        }
        Ok(same)
    }

    /// Every live entry whose id is `id` (none for an empty id), ascending.
    pub fn with_id(&self, id: &str) -> Result<Vec<u32>, IndexError> {
        if id.is_empty() {
            return Ok(Vec::new());
        }
        let mut same = Vec::new();
        for p in &self.parts {
            let local = p.segment.with_id(id)?;
            same.extend(
                p.live(local.into_iter().map(|e| Hit { entry: e, distance: 0 }).collect()).map(|h| h.entry),
            );
        }
        Ok(same)
    }

    /// The live entries whose id is one of `ids`, ascending: one walk of each segment's
    /// items for all of them.
    pub fn with_ids(&self, ids: &std::collections::HashSet<&str>) -> Result<Vec<u32>, IndexError> {
        let mut same = Vec::new();
        for p in &self.parts {
            let local = p.segment.with_ids(ids)?;
            same.extend(
                p.live(local.into_iter().map(|e| Hit { entry: e, distance: 0 }).collect()).map(|h| h.entry),
            );
        }
        Ok(same)
    }

    /// The list numbered `list` (as in [`EntryRef::lists`]), with its provenance.
    pub fn list(&self, list: u32) -> Result<ListInfo, IndexError> {
        self.lists.get(list as usize).cloned().ok_or(IndexError::OutOfRange { what: "list", number: list })
    }

    /// The lists, in number order.
    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// Every live entry, each with its entry number, segment by segment.
    pub fn live_entries(&self) -> impl Iterator<Item = Result<(u32, EntryRef<'_>), IndexError>> + '_ {
        self.parts.iter().flat_map(|p| {
            (0..p.segment.len())
                .filter(move |&l| !p.is_dead(l))
                .map(move |l| p.segment.entry(l).map(|e| (p.first + l, e)))
        })
    }

    /// Everything the index knows apart from its search structures: the lists and every
    /// live entry. Building from it gives one segment holding the same entries (in
    /// canonical order).
    pub fn catalog(&self) -> Result<Catalog, IndexError> {
        let entries =
            self.live_entries().map(|r| r.map(|(_, e)| e.to_entry())).collect::<Result<Vec<_>, _>>()?;
        let mut signatures = Signatures::default();
        for p in &self.parts {
            signatures.extend_from(&p.segment.signatures()?);
        }
        signatures.retain_used(&entries);
        Ok(Catalog { lists: self.lists.clone(), entries, signatures })
    }

    /// The `.tmk` bytes of the signature named `digest` (the value of `tmk` entries), from
    /// the first segment that holds it.
    pub fn signature(&self, digest: &Sha256) -> Result<Option<&[u8]>, IndexError> {
        for p in &self.parts {
            if let Some(b) = p.segment.signature(digest)? {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Every live `tmk` entry whose signature passes both thresholds against `query`
    /// ([`Segment::search_tmk`]), sorted by entry number.
    pub fn search_tmk(&self, query: &Signature, level1: f32, level2: f32) -> Result<Vec<TmkHit>, IndexError> {
        let mut out = Vec::new();
        for p in &self.parts {
            for h in p.segment.search_tmk(query, level1, level2)? {
                if !p.is_dead(h.entry) {
                    out.push(TmkHit { entry: p.first + h.entry, ..h });
                }
            }
        }
        Ok(out)
    }

    /// Checks every segment in full ([`Segment::verify`]).
    pub fn verify(&self) -> Result<(), IndexError>
    where
        D: Sync,
    {
        self.parts.iter().try_for_each(|p| p.segment.verify())
    }

    /// All live entries within `radius` of `value`, sorted by entry number. Digests match
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
        let mut out = Vec::new();
        for p in &self.parts {
            out.extend(p.live(p.segment.search_with(value, radius, method)?));
        }
        Ok(out)
    }

    /// [`Index::search`] for many values in parallel (rayon).
    pub fn search_batch(&self, values: &[HashValue], radius: u32) -> Vec<Result<Vec<Hit>, IndexError>>
    where
        D: Sync,
    {
        let mut out: Vec<Result<Vec<Hit>, IndexError>> = values.iter().map(|_| Ok(Vec::new())).collect();
        for p in &self.parts {
            for (slot, found) in out.iter_mut().zip(p.segment.search_batch(values, radius)) {
                if let Ok(hits) = slot {
                    match found {
                        Ok(found) => hits.extend(p.live(found)),
                        Err(e) => *slot = Err(e),
                    }
                }
            }
        }
        out
    }

    /// Live entries within `radius` of any of the 8 dihedral variants of a PDQ hash (in
    /// [`Variant::ALL`] order), each once with its smallest distance and that variant,
    /// sorted by entry number.
    pub fn search_dihedral_pdq(
        &self,
        variants: &[Pdq; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(|s| s.search_dihedral_pdq(variants, radius))
    }

    /// [`Index::search_dihedral_pdq`] for pHash.
    pub fn search_dihedral_phash(
        &self,
        variants: &[Phash; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(|s| s.search_dihedral_phash(variants, radius))
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
        use rayon::prelude::*;
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
        use rayon::prelude::*;
        queries.par_iter().map(|q| self.search_dihedral_phash(q, radius)).collect()
    }

    fn dihedral(
        &self,
        search: impl Fn(&Segment<D>) -> Result<Vec<DihedralHit>, IndexError>,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        let mut out = Vec::new();
        for p in &self.parts {
            for h in search(&p.segment)? {
                if !p.is_dead(h.entry) {
                    out.push(DihedralHit { entry: p.first + h.entry, ..h });
                }
            }
        }
        Ok(out)
    }
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
