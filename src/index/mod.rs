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
//! [`write_atomic`] replaces an index file safely; [`Index::open`] maps a file and
//! [`Index::from_bytes`] takes any buffer. Opening checks the header and every section's
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

pub mod bktree;
pub mod builder;
pub mod digest;
pub mod format;
mod legacy;
pub mod mih;
pub mod popcount;
pub mod scan;

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::catalog::{Catalog, Entry, ImportCounts, ListInfo};
use crate::hash::{HashValue, Kind, Md5, Pdq, Phash, Sha1, Sha256, Variant};
pub use builder::{build, write_to, BuildOptions, Structure};
pub use format::FORMAT_VERSION;
use format::{string_ref, u32_at, u64_at};
pub use legacy::LegacyIndex;

/// Why an index could not be built, opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The bytes do not start with the index magic.
    #[error("not a mediamatch index (bad magic)")]
    BadMagic,
    /// The file was written by a different version of the format. The message says what
    /// to do: run `mediamatch upgrade INDEX` for a version in
    /// [`format::UPGRADABLE_VERSIONS`], rebuild the index from its lists for any other.
    #[error("index format version {found}, this mediamatch reads version {expected}: {}", version_advice(*.found))]
    Version {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// [`LegacyIndex`] was given a file of the current version: there is nothing to upgrade.
    #[error("index is already format version {version}: nothing to upgrade")]
    AlreadyCurrent {
        /// The version in the file.
        version: u32,
    },
    /// The file is shorter than it says.
    #[error("index is truncated: {what} needs {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// A part of the file is inconsistent.
    #[error("index is damaged: {what}: {detail}")]
    Corrupt {
        /// The part of the file.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The checksum does not match the contents.
    #[error("index is damaged: checksum mismatch")]
    Checksum,
    /// More entries or lists than the format can hold.
    #[error("too many {what} (at most {max})")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// The limit.
        max: u64,
    },
    /// The catalog handed to the builder is inconsistent.
    #[error("invalid catalog: {0}")]
    BadCatalog(String),
    /// An entry or list number beyond the index.
    #[error("no {what} number {number} in the index")]
    OutOfRange {
        /// `entry` or `list`.
        what: &'static str,
        /// The number asked for.
        number: u32,
    },
    /// Reading or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What to do about a file of format version `found`.
fn version_advice(found: u32) -> &'static str {
    if format::UPGRADABLE_VERSIONS.contains(&found) {
        "run `mediamatch upgrade INDEX` to carry it forward to the current version"
    } else {
        "rebuild the index with `mediamatch build`"
    }
}

impl IndexError {
    pub(crate) fn corrupt(what: &'static str, detail: String) -> IndexError {
        IndexError::Corrupt { what, detail }
    }
}

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

/// A description of an index, for `mediamatch info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The format version of the file.
    pub format_version: u32,
    /// The file's length in bytes.
    pub file_bytes: u64,
    /// Number of entries of all kinds.
    pub entries: u64,
    /// Bytes of the string table.
    pub string_bytes: u64,
    /// Bytes of the entries table, the items section, lists and list sets.
    pub table_bytes: u64,
    /// One per kind present, in [`Kind::ALL`] order.
    pub kinds: Vec<KindInfo>,
    /// The lists, with provenance.
    pub lists: Vec<ListInfo>,
}

/// One hash kind of an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: Kind,
    /// Number of entries.
    pub entries: u64,
    /// The search structure, e.g. `mih 4x16`, `bk-tree 812 nodes`, `scan`, `sorted`.
    pub structure: String,
    /// Bytes of the hash values.
    pub value_bytes: u64,
    /// Bytes of the search structure beyond the values.
    pub structure_bytes: u64,
}

#[derive(Clone, Debug)]
enum Search {
    Scan,
    Mih(Vec<mih::Table>),
    BkTree { nodes: Range<usize>, count: usize },
    Digest,
}

#[derive(Clone, Debug)]
struct KindSection {
    kind: Kind,
    first: u32,
    n: u32,
    values: Range<usize>,
    search: Search,
    structure_bytes: u64,
}

impl KindSection {
    fn words(&self) -> usize {
        self.kind.byte_len() / 8
    }
}

#[derive(Clone, Debug)]
struct Layout {
    strings: Range<usize>,
    lists: Range<usize>,
    sets: Range<usize>,
    members: Range<usize>,
    entries: Range<usize>,
    /// Empty in a version 1 file, which has no items section.
    items: Range<usize>,
    n_entries: u32,
    kinds: Vec<KindSection>,
    /// The format version of the file.
    version: u32,
}

/// An opened index over any bytes: a `Vec<u8>`, a `&[u8]`, or a memory map.
///
/// `Index` is `Send + Sync` when `D` is; share one between threads.
#[derive(Clone, Debug)]
pub struct Index<D> {
    data: D,
    layout: Layout,
}

impl Index<memmap2::Mmap> {
    /// Maps the index file at `path` and checks its header and layout.
    ///
    /// Takes milliseconds whatever the size: pages are read when queries touch them, and
    /// every process mapping the file shares them through the page cache. A path that is
    /// not a regular file (a FIFO, a device) is refused at once, without blocking.
    #[allow(unsafe_code)]
    pub fn open(path: impl AsRef<Path>) -> Result<Index<memmap2::Mmap>, IndexError> {
        let path = path.as_ref();
        let io = |source| IndexError::Io { what: format!("opening index {}", path.display()), source };
        let file = crate::regular::open_regular(path).map_err(io)?;
        // SAFETY: the mapping is read-only and mediamatch never modifies an index file in
        // place: indexes are only ever replaced by writing a new file and renaming it over
        // the old one (`write_atomic`), which leaves this mapping on the old inode. Another
        // program truncating or writing the file in place while it is mapped would break
        // this contract; the index documentation says not to.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Index::from_bytes(map)
    }
}

impl<D: AsRef<[u8]>> Index<D> {
    /// Checks the header and layout of `data` and opens it as an index.
    pub fn from_bytes(data: D) -> Result<Index<D>, IndexError> {
        let layout = read_layout(data.as_ref(), &[FORMAT_VERSION])?;
        Ok(Index { data, layout })
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

    fn string(&self, (off, len): (u64, u32), what: &'static str) -> Result<&str, IndexError> {
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
        let pos = (entry - sec.first) as usize;
        let len = sec.kind.byte_len();
        let raw = self.bytes(&sec.values).get(pos * len..pos * len + len).unwrap_or(&[]);
        let value = decode_value(sec.kind, raw)?;
        let records = self.bytes(&self.layout.entries);
        let at = entry as usize * format::ENTRY_RECORD_LEN;
        let rec = records
            .get(at..at + format::ENTRY_RECORD_LEN)
            .ok_or(IndexError::OutOfRange { what: "entry", number: entry })?;
        let bad = || IndexError::corrupt("entries", format!("entry {entry} is damaged"));
        let id = self.string(string_ref(rec, 0).ok_or_else(bad)?, "entry id")?;
        let label = self.string(string_ref(rec, 12).ok_or_else(bad)?, "entry label")?;
        let set = u32_at(rec, 24).ok_or_else(bad)?;
        let lists = self.list_set(set)?;
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
        if target.1 == 0 {
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

    /// The id string ref of `entry`, as stored in the entries section.
    fn id_ref(&self, entry: u32) -> Result<(u64, u32), IndexError> {
        let records = self.bytes(&self.layout.entries);
        let at = (entry as usize).checked_mul(format::ENTRY_RECORD_LEN);
        at.and_then(|at| records.get(at..at.checked_add(format::ENTRY_RECORD_LEN)?))
            .and_then(|rec| string_ref(rec, 0))
            .ok_or(IndexError::OutOfRange { what: "entry", number: entry })
    }

    /// The entry at position `pos` of the items section, with its id ref.
    fn item(&self, pos: usize) -> Result<((u64, u32), u32), IndexError> {
        let items = self.bytes(&self.layout.items);
        let bad = |detail: String| IndexError::corrupt("items", detail);
        let at = pos.checked_mul(format::ITEM_RECORD_LEN).ok_or_else(|| bad(format!("position {pos}")))?;
        let entry = u32_at(items, at).ok_or_else(|| bad(format!("position {pos} is beyond the section")))?;
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
        let mut prev: Option<((u64, u32), u32)> = None;
        let mut ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for pos in 0..self.layout.n_entries as usize {
            let cur = self.item(pos)?;
            if prev.is_some_and(|p| p >= cur) {
                return Err(IndexError::corrupt("items", format!("not sorted by id at position {pos}")));
            }
            let (id, _) = cur;
            if id.1 > 0 && prev.is_none_or(|(p, _)| p != id) {
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
        let at = (set as usize).checked_mul(format::LIST_SET_RECORD_LEN).ok_or_else(bad)?;
        let (start, len) = (u32_at(sets, at).ok_or_else(bad)?, u32_at(sets, at + 4).ok_or_else(bad)?);
        let members = self.bytes(&self.layout.members);
        let from = (start as usize).checked_mul(4).ok_or_else(bad)?;
        let to = (len as usize).checked_mul(4).and_then(|l| l.checked_add(from)).ok_or_else(bad)?;
        let raw = members.get(from..to).ok_or_else(bad)?;
        let n_lists = self.list_count();
        let mut lists = Vec::new();
        for c in raw.chunks_exact(4) {
            let l = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
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
        let at = list as usize * format::LIST_RECORD_LEN;
        let rec = lists
            .get(at..at + format::LIST_RECORD_LEN)
            .ok_or(IndexError::OutOfRange { what: "list", number: list })?;
        let bad = || IndexError::corrupt("lists", format!("list {list} is damaged"));
        let s = |i: usize| -> Result<String, IndexError> {
            Ok(self.string(string_ref(rec, i * 12).ok_or_else(bad)?, "list")?.to_string())
        };
        let n = |i: usize| u64_at(rec, 36 + i * 8).ok_or_else(bad);
        Ok(ListInfo {
            name: s(0)?,
            source: s(1)?,
            source_sha256: s(2)?,
            imported_at: n(0)?,
            version: n(1)?,
            counts: ImportCounts {
                added: n(2)?,
                updated: n(3)?,
                removed: n(4)?,
                unchanged: n(5)?,
                rejected: n(6)?,
                skipped: n(7)?,
            },
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

    /// Kinds, counts, structures, sizes, format version and lists.
    pub fn info(&self) -> Result<Info, IndexError> {
        let kinds = self
            .layout
            .kinds
            .iter()
            .map(|s| KindInfo {
                kind: s.kind,
                entries: u64::from(s.n),
                structure: match &s.search {
                    Search::Scan => "scan".to_string(),
                    Search::Digest => "sorted".to_string(),
                    Search::BkTree { count, .. } => format!("bk-tree {count} nodes"),
                    Search::Mih(tables) => {
                        let bits: Vec<String> = tables.iter().map(|t| t.spec.bits.to_string()).collect();
                        format!("mih {} substrings of {} bits", tables.len(), bits.join("/"))
                    }
                },
                value_bytes: s.values.len() as u64,
                structure_bytes: s.structure_bytes,
            })
            .collect();
        let l = &self.layout;
        Ok(Info {
            format_version: FORMAT_VERSION,
            file_bytes: self.data.as_ref().len() as u64,
            entries: u64::from(l.n_entries),
            string_bytes: l.strings.len() as u64,
            table_bytes: (l.entries.len() + l.items.len() + l.lists.len() + l.sets.len() + l.members.len())
                as u64,
            kinds,
            lists: (0..self.list_count()).map(|i| self.list(i)).collect::<Result<_, _>>()?,
        })
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
            verify_section(data, sec)?;
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
        let mut found = Vec::new();
        match query_words(value) {
            Some(q) => {
                if !self.structure_search(sec, &q, radius, method, &mut found)? {
                    scan::scan(self.bytes(&sec.values), sec.words(), &q, radius, &mut found);
                }
            }
            None => {
                let mut key = Vec::new();
                builder::encode_value(value, &mut key);
                let r = digest::lookup(self.bytes(&sec.values), key.len(), &key);
                found.extend(r.map(|p| (p, 0)));
            }
        }
        Ok(to_hits(sec, found))
    }

    /// Runs the section's structure; `Ok(false)` when the caller should scan instead.
    fn structure_search(
        &self,
        sec: &KindSection,
        q: &[u64; 4],
        radius: u32,
        method: Method,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<bool, IndexError> {
        if method == Method::Scan {
            return Ok(false);
        }
        let values = self.bytes(&sec.values);
        match &sec.search {
            Search::Mih(tables) => {
                let data = self.data.as_ref();
                let bounded = method != Method::Structure;
                mih::search(data, values, sec.words(), tables, q, radius, bounded, out)
            }
            Search::BkTree { nodes, count } => {
                bktree::search(self.bytes(nodes), *count, values, sec.words(), q, radius, out)?;
                Ok(true)
            }
            Search::Scan | Search::Digest => Ok(false),
        }
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
                    match (sec, query_words(v)) {
                        (Some(sec), Some(q)) => {
                            let mut found = Vec::new();
                            match self.structure_search(sec, &q, radius, Method::Auto, &mut found) {
                                Ok(true) => results.push(Some(Ok(to_hits(sec, found)))),
                                Ok(false) => {
                                    results.push(None);
                                    pending.push((i, q));
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
                    scan::scan_many(self.bytes(&sec.values), sec.words(), &queries, radius, &mut out);
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
        let mut per = vec![Vec::new(); 8];
        let values = self.bytes(&sec.values);
        let words = sec.words();
        match &sec.search {
            Search::Mih(tables) => {
                // One decision for all 8 variants: count what each would read on the tables,
                // then take the cheapest split between the tables and one tiled scan.
                let data = self.data.as_ref();
                let n = sec.n as usize;
                let budget = mih::scan_cost(n, words);
                let mut planned: Vec<(u64, usize, mih::Ranges)> = Vec::new();
                let mut scanned: Vec<usize> = Vec::new();
                for (v, q) in qs.iter().enumerate() {
                    let mut ranges = Vec::new();
                    match mih::probe(data, n, words, tables, q, radius, budget, &mut ranges)? {
                        Some(cost) => planned.push((cost, v, ranges)),
                        None => scanned.push(v),
                    }
                }
                planned.sort_by_key(|p| (p.0, p.1));
                let mut best = (u64::MAX, 0);
                let mut sum = 0u64;
                for k in 0..=planned.len() {
                    let total = sum.saturating_add(mih::tiled_cost(n, words, 8 - k));
                    if total < best.0 {
                        best = (total, k);
                    }
                    if let Some(p) = planned.get(k) {
                        sum = sum.saturating_add(p.0);
                    }
                }
                scanned.extend(planned[best.1..].iter().map(|p| p.1));
                for (_, v, ranges) in &planned[..best.1] {
                    mih::collect(data, values, words, tables, &qs[*v], radius, ranges, &mut per[*v])?;
                }
                if !scanned.is_empty() {
                    scanned.sort_unstable();
                    let group: Vec<[u64; 4]> = scanned.iter().map(|&v| qs[v]).collect();
                    let mut out = vec![Vec::new(); group.len()];
                    scan::scan_many(values, words, &group, radius, &mut out);
                    for (v, found) in scanned.into_iter().zip(out) {
                        per[v] = found;
                    }
                }
            }
            _ => {
                let mut scanned = false;
                for (v, q) in qs.iter().enumerate() {
                    if !self.structure_search(sec, q, radius, Method::Auto, &mut per[v])? {
                        scanned = true;
                        break;
                    }
                }
                if scanned {
                    per.iter_mut().for_each(Vec::clear);
                    scan::scan_many(values, words, &qs, radius, &mut per);
                }
            }
        }
        let mut all: Vec<(u32, u32, usize)> = Vec::new();
        for (v, found) in per.into_iter().enumerate() {
            all.extend(found.into_iter().map(|(p, d)| (p, d, v)));
        }
        all.sort_unstable();
        all.dedup_by_key(|h| h.0);
        Ok(all
            .into_iter()
            .map(|(p, d, v)| DihedralHit { entry: sec.first + p, distance: d, variant: Variant::ALL[v] })
            .collect())
    }
}

/// The query as `u64` words, most significant first, for the perceptual kinds.
fn query_words(v: &HashValue) -> Option<[u64; 4]> {
    match v {
        HashValue::Pdq(p) => Some(p.words),
        HashValue::Phash(p) => Some([p.0, 0, 0, 0]),
        _ => None,
    }
}

fn to_hits(sec: &KindSection, mut found: Vec<(u32, u32)>) -> Vec<Hit> {
    found.sort_unstable();
    found.into_iter().map(|(p, d)| Hit { entry: sec.first + p, distance: d }).collect()
}

fn decode_value(kind: Kind, raw: &[u8]) -> Result<HashValue, IndexError> {
    let bad = || IndexError::corrupt("values", "value out of range".to_string());
    let word = |i: usize| -> Result<u64, IndexError> { u64_at(raw, i * 8).ok_or_else(bad) };
    Ok(match kind {
        Kind::Phash => HashValue::Phash(Phash(word(0)?)),
        Kind::Pdq => HashValue::Pdq(Pdq { words: [word(0)?, word(1)?, word(2)?, word(3)?] }),
        Kind::Md5 => HashValue::Md5(Md5(raw.try_into().map_err(|_| bad())?)),
        Kind::Sha1 => HashValue::Sha1(Sha1(raw.try_into().map_err(|_| bad())?)),
        Kind::Sha256 => HashValue::Sha256(Sha256(raw.try_into().map_err(|_| bad())?)),
    })
}

/// The checked layout of `b`, a file of one of `versions`. Version 1 is version 2 without
/// the items section: there a tag 6 is an unknown section, and `items` is left empty.
fn read_layout(b: &[u8], versions: &[u32]) -> Result<Layout, IndexError> {
    let header = format::read_header(b, versions)?;
    let has_items = header.version >= 2;
    let mut global: [Option<Range<usize>>; 6] = Default::default();
    let mut per_kind: Vec<(Kind, Vec<format::Section>)> = Vec::new();
    for s in header.sections {
        if s.kind == 0 {
            let slot = match s.tag {
                format::TAG_STRINGS => 0,
                format::TAG_LISTS => 1,
                format::TAG_LIST_SETS => 2,
                format::TAG_LIST_MEMBERS => 3,
                format::TAG_ENTRIES => 4,
                format::TAG_ITEMS if has_items => 5,
                t => return Err(IndexError::corrupt("section table", format!("unknown global section {t}"))),
            };
            if global[slot].replace(s.range).is_some() {
                return Err(IndexError::corrupt("section table", format!("section {} twice", s.tag)));
            }
        } else {
            let kind =
                Kind::from_code(s.kind).ok_or_else(|| IndexError::corrupt("section table", "kind".into()))?;
            match per_kind.last_mut() {
                Some((k, v)) if *k == kind => v.push(s),
                Some((k, _)) if *k > kind => {
                    return Err(IndexError::corrupt("section table", "kinds out of order".to_string()))
                }
                _ => per_kind.push((kind, vec![s])),
            }
        }
    }
    let [Some(strings), Some(lists), Some(sets), Some(members), Some(entries), items] = global else {
        return Err(IndexError::corrupt("section table", "a global section is missing".to_string()));
    };
    let items = match (items, has_items) {
        (Some(items), true) => items,
        (None, false) => 0..0,
        _ => return Err(IndexError::corrupt("section table", "a global section is missing".to_string())),
    };
    let check = |r: &Range<usize>, size: usize, what: &'static str| {
        if !r.len().is_multiple_of(size) {
            return Err(IndexError::corrupt(what, format!("length {} is not a multiple of {size}", r.len())));
        }
        Ok(r.len() / size)
    };
    check(&lists, format::LIST_RECORD_LEN, "lists")?;
    check(&sets, format::LIST_SET_RECORD_LEN, "list sets")?;
    check(&members, 4, "list set members")?;
    let n_entries = check(&entries, format::ENTRY_RECORD_LEN, "entries")?;
    let n_entries =
        u32::try_from(n_entries).map_err(|_| IndexError::corrupt("entries", "too many".to_string()))?;
    if has_items && check(&items, format::ITEM_RECORD_LEN, "items")? != n_entries as usize {
        return Err(IndexError::corrupt("items", format!("{} bytes for {n_entries} entries", items.len())));
    }
    let mut kinds = Vec::new();
    let mut next_first = 0u64;
    for (kind, sections) in per_kind {
        let values = sections
            .iter()
            .find(|s| s.tag == format::TAG_VALUES)
            .ok_or_else(|| IndexError::corrupt("section table", format!("{kind} section without values")))?;
        let n = check(&values.range, kind.byte_len(), "values")?;
        if values.param != next_first || n == 0 {
            return Err(IndexError::corrupt(
                "values",
                format!("{kind} entries do not follow the previous kind"),
            ));
        }
        next_first += n as u64;
        if next_first > u64::from(n_entries) {
            return Err(IndexError::corrupt("values", "more values than entries".to_string()));
        }
        let first = values.param as u32;
        let n32 = n as u32;
        let mut tables: Vec<mih::Table> = Vec::new();
        let mut bk = None;
        let mut structure_bytes = 0u64;
        for s in &sections {
            match s.tag {
                format::TAG_VALUES if s.range == values.range => {}
                format::TAG_MIH if kind.is_perceptual() => {
                    let spec = mih::Spec::from_param(s.param)
                        .ok_or_else(|| IndexError::corrupt("MIH table", "bad substring".to_string()))?;
                    let expected_start = tables.last().map_or(0, |t| t.spec.start + t.spec.bits);
                    if spec.start != expected_start {
                        return Err(IndexError::corrupt(
                            "MIH table",
                            "substrings do not tile the hash".into(),
                        ));
                    }
                    tables.push(mih::table_layout(spec, s.range.clone(), n)?);
                }
                format::TAG_BKTREE if kind.is_perceptual() && bk.is_none() => {
                    let count = format::to_usize(s.param, "BK-tree node count")?;
                    bktree::validate(&b[s.range.clone()], count, n)?;
                    bk = Some((s.range.clone(), count));
                }
                t => {
                    return Err(IndexError::corrupt(
                        "section table",
                        format!("unexpected {kind} section {t}"),
                    ))
                }
            }
            if s.tag != format::TAG_VALUES {
                structure_bytes += s.range.len() as u64;
            }
        }
        let search = match (kind.is_perceptual(), tables.is_empty(), bk) {
            (false, _, _) => Search::Digest,
            (true, true, None) => Search::Scan,
            (true, true, Some((nodes, count))) => Search::BkTree { nodes, count },
            (true, false, None) => {
                let end = tables.last().map_or(0, |t| t.spec.start + t.spec.bits);
                if end != kind.bits() {
                    return Err(IndexError::corrupt("MIH table", "substrings do not tile the hash".into()));
                }
                Search::Mih(tables)
            }
            (true, false, Some(_)) => {
                return Err(IndexError::corrupt("section table", "both MIH and BK-tree".to_string()))
            }
        };
        kinds.push(KindSection {
            kind,
            first,
            n: n32,
            values: values.range.clone(),
            search,
            structure_bytes,
        });
    }
    if next_first != u64::from(n_entries) {
        return Err(IndexError::corrupt("entries", "entry count does not match the values".to_string()));
    }
    Ok(Layout { strings, lists, sets, members, entries, items, n_entries, kinds, version: header.version })
}

fn verify_section(data: &[u8], sec: &KindSection) -> Result<(), IndexError> {
    let values = &data[sec.values.clone()];
    let len = sec.kind.byte_len();
    let n = sec.n as usize;
    // Big-endian bytes compare like the values; perceptual words are little-endian.
    let key = |i: usize| -> Vec<u8> {
        let raw = &values[i * len..i * len + len];
        if sec.kind.is_perceptual() {
            raw.chunks_exact(8).flat_map(|c| c.iter().rev().copied()).collect()
        } else {
            raw.to_vec()
        }
    };
    for i in 1..n {
        if key(i - 1) > key(i) {
            return Err(IndexError::corrupt("values", format!("{} values not sorted at {i}", sec.kind)));
        }
    }
    let words = sec.words();
    match &sec.search {
        Search::Mih(tables) => {
            for t in tables {
                let offsets = &data[t.offsets.clone()];
                let bad = |why: &str| {
                    IndexError::corrupt(
                        "MIH table",
                        format!("{} table at bit {}: {why}", sec.kind, t.spec.start),
                    )
                };
                let buckets = 1usize << t.spec.bits;
                if u32_at(offsets, 0) != Some(0) || u32_at(offsets, buckets * 4) != Some(sec.n) {
                    return Err(bad("offsets do not span the values"));
                }
                let mut seen = vec![false; n];
                for bucket in 0..buckets {
                    let (a, z) = (u32_at(offsets, bucket * 4), u32_at(offsets, bucket * 4 + 4));
                    let (Some(a), Some(z)) = (a, z) else { return Err(bad("truncated")) };
                    if a > z || z > sec.n {
                        return Err(bad("offsets out of order"));
                    }
                    for k in a..z {
                        let pos = match &t.positions {
                            None => k,
                            Some(p) => {
                                u32_at(&data[p.clone()], k as usize * 4).ok_or_else(|| bad("truncated"))?
                            }
                        };
                        let v = mih::read_words(values, pos as usize, words)
                            .ok_or_else(|| bad("position out of range"))?;
                        if mih::substring(&v, words, t.spec) as usize != bucket || seen[pos as usize] {
                            return Err(bad("value in the wrong bucket or twice"));
                        }
                        seen[pos as usize] = true;
                    }
                }
            }
        }
        Search::BkTree { nodes, count } => {
            let nodes = &data[nodes.clone()];
            let field = |i: usize, f: usize| u32_at(nodes, i * format::BK_NODE_LEN + f * 4).unwrap_or(0);
            let bad =
                |i: usize| IndexError::corrupt("BK-tree", format!("{} node {i} is inconsistent", sec.kind));
            let mut covered = 0u64;
            for i in 0..*count {
                let (pos, dup) = (field(i, 0) as usize, field(i, 1) as usize);
                let v = mih::read_words(values, pos, words).ok_or_else(|| bad(i))?;
                if (pos..pos + dup).any(|p| mih::read_words(values, p, words) != Some(v)) {
                    return Err(bad(i));
                }
                covered += dup as u64;
                let (start, children) = (field(i, 3) as usize, field(i, 4) as usize);
                let mut prev = 0;
                for c in start..start + children {
                    let cd = field(c, 2);
                    let cv = mih::read_words(values, field(c, 0) as usize, words).ok_or_else(|| bad(c))?;
                    if cd <= prev || mih::distance(&v, &cv, words) != cd {
                        return Err(bad(c));
                    }
                    prev = cd;
                }
            }
            if covered != u64::from(sec.n) {
                return Err(IndexError::corrupt("BK-tree", "nodes do not cover the values".to_string()));
            }
        }
        Search::Scan | Search::Digest => {}
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, renamed over `path`, then the directory flushed, so a reader (or a crash) sees the
/// old file or the new one, never a mix; processes that mapped the old file keep it.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IndexError> {
    let path = path.as_ref();
    let io = |what: &str, source| IndexError::Io { what: format!("{what} {}", path.display()), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}-{attempt}", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(io("creating a temporary file beside", e)),
        }
    };
    let result =
        file.write_all(bytes).and_then(|_| file.sync_all()).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing", e));
    }
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("flushing the directory of", e))?;
    Ok(())
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
    }
}
