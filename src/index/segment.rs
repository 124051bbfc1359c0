//! One index file (a *segment*): the catalog part (lists, entries, items, strings) and
//! each kind's values and search structure, checked on open and searched in place.
//!
//! [`Segment`] is what a file holds; [`Index`](super::Index) is what a reader queries: one
//! segment, or the live segments a manifest names, with their tombstones. Entry numbers
//! here are local to the segment.

use std::ops::Range;

use rayon::prelude::*;

use super::format::{self, EntryRecord, ItemRecord, ListRecord, ListSetRecord, StringRef, FORMAT_VERSION};
use super::layout::{KindSection, Layout, Search, SearchView};
use super::plan::{self, Probe};
use super::tmk::{TmkHit, TmkSections};
use super::values::{Found, Query};
use super::wire::{self, read_u32, record};
use super::{BuildOptions, DihedralHit, EntryRef, Hit, IndexError, Method, Structure};
use crate::catalog::{Catalog, ListInfo, Signatures};
use crate::hash::{HashValue, Kind, Pdq, Phash, Sha256};
use crate::video::tmk::Signature;

/// One opened index file (segment) over any bytes: a `Vec<u8>`, a `&[u8]`, or a memory map.
///
/// `Segment` is `Send + Sync` when `D` is.
#[derive(Clone, Debug)]
pub struct Segment<D> {
    data: D,
    layout: Layout,
    /// [`Segment::item_pairs`], counted on first use.
    pub(super) item_pairs: std::sync::OnceLock<u64>,
}

impl<D: AsRef<[u8]>> Segment<D> {
    /// Checks the header and layout of `data` and opens it as an index.
    pub fn from_bytes(data: D) -> Result<Segment<D>, IndexError> {
        Segment::with_versions(data, &[FORMAT_VERSION])
    }

    /// [`Segment::from_bytes`] for a file of one of `versions` (older ones for
    /// [`LegacyIndex`](super::LegacyIndex)).
    pub(super) fn with_versions(data: D, versions: &[u32]) -> Result<Segment<D>, IndexError> {
        let layout = Layout::read(data.as_ref(), versions)?;
        Ok(Segment { data, layout, item_pairs: std::sync::OnceLock::new() })
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Gives the underlying storage back (e.g. to re-wrap a validated mapping).
    pub fn into_data(self) -> D {
        self.data
    }

    /// The same segment over storage of another type (e.g. a checked mapping wrapped as
    /// [`IndexData`](super::IndexData)); the layout checked on open is kept.
    pub fn map_data<E: AsRef<[u8]>>(self, f: impl Fn(D) -> E) -> Segment<E> {
        Segment { data: f(self.data), layout: self.layout, item_pairs: self.item_pairs }
    }

    /// The entry numbers of `kind`'s entries, if the segment has any.
    pub fn kind_range(&self, kind: Kind) -> Option<std::ops::Range<u32>> {
        self.section(kind).map(|s| s.first..s.first + s.n)
    }

    /// The checked layout.
    pub(super) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The format version of the file.
    pub fn format_version(&self) -> u32 {
        self.layout.version
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

    pub(super) fn section(&self, kind: Kind) -> Option<&KindSection> {
        self.layout.kinds.iter().find(|s| s.kind == kind)
    }

    fn bytes(&self, r: &Range<usize>) -> &[u8] {
        // Ranges were checked against the data on open.
        self.data.as_ref().get(r.clone()).unwrap_or(&[])
    }

    pub(super) fn string(&self, r: StringRef, what: &'static str) -> Result<&str, IndexError> {
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
        let sec = self.section_of(entry)?;
        let value = sec.values(self.as_bytes()).value((entry - sec.first) as usize)?;
        let rec = self.entry_record(entry)?;
        let id = self.string(rec.id, "entry id")?;
        let label = self.string(rec.label, "entry label")?;
        let lists = self.list_set(rec.list_set)?;
        Ok(EntryRef { value, id, label, lists })
    }

    /// The kind section holding entry `entry`.
    fn section_of(&self, entry: u32) -> Result<&KindSection, IndexError> {
        self.layout
            .kinds
            .iter()
            .find(|s| entry >= s.first && entry - s.first < s.n)
            .ok_or(IndexError::OutOfRange { what: "entry", number: entry })
    }

    /// What [`Segment::entry`] checks of `entry`, without building it: its value decodes,
    /// its strings lie in the strings section and are UTF-8, and its list set exists (the
    /// `n_sets` sets themselves are checked once by `verify`).
    fn check_entry(&self, entry: u32, n_sets: u32) -> Result<(), IndexError> {
        let sec = self.section_of(entry)?;
        sec.values(self.as_bytes()).value((entry - sec.first) as usize)?;
        let rec = self.entry_record(entry)?;
        self.string(rec.id, "entry id")?;
        self.string(rec.label, "entry label")?;
        if rec.list_set >= n_sets {
            return Err(IndexError::corrupt("list sets", format!("list set {} is damaged", rec.list_set)));
        }
        Ok(())
    }

    /// Every entry whose id equals `entry`'s id, `entry` included, in ascending order: the
    /// *item* `entry` belongs to, across all hash kinds and all lists. An entry with an
    /// empty id belongs to no item, so the answer is just `[entry]`.
    ///
    /// Takes `O(log n + k)` for `k` entries with the id: a binary search of the items
    /// section (the entries ordered by id, see [`format`](mod@format)), then a walk of the
    /// run. Fails with [`IndexError::OutOfRange`] if there is no such entry, and with
    /// [`IndexError::Corrupt`] if the items section names an entry that does not exist or
    /// visibly disagrees with the entries ([`Segment::verify`] checks it in full).
    ///
    /// ```
    /// use mediamatch::catalog::{Catalog, Entry, ListInfo};
    /// use mediamatch::index::{build, BuildOptions, Segment};
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
    /// let index = Segment::from_bytes(build(&catalog, &BuildOptions::default())?)?;
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

    /// Every entry whose id is `id` (none for an empty id), ascending.
    ///
    /// A walk of the items section, `O(n)`: the items are ordered by the position of
    /// their id in the string section, not by the id itself.
    pub fn with_id(&self, id: &str) -> Result<Vec<u32>, IndexError> {
        if id.is_empty() {
            return Ok(Vec::new());
        }
        for pos in 0..self.layout.n_entries as usize {
            let (r, e) = self.item(pos)?;
            if r.len as usize == id.len() && self.string(r, "entry id")? == id {
                return self.same_id(e);
            }
        }
        Ok(Vec::new())
    }

    /// Every entry whose id is one of `ids`, ascending: [`Segment::with_id`] for many
    /// ids in one walk of the items section (the walk a list's id deletions need once,
    /// not once per id).
    pub fn with_ids(&self, ids: &std::collections::HashSet<&str>) -> Result<Vec<u32>, IndexError> {
        let mut out = Vec::new();
        if ids.iter().all(|id| id.is_empty()) {
            return Ok(out);
        }
        let mut last: Option<StringRef> = None;
        for pos in 0..self.layout.n_entries as usize {
            let (r, e) = self.item(pos)?;
            // The items of one id are one run: decide once per run.
            if last == Some(r) {
                continue;
            }
            last = Some(r);
            if r.len > 0 && ids.contains(self.string(r, "entry id")?) {
                out.extend(self.same_id(e)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
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
    pub(super) fn item(&self, pos: usize) -> Result<(StringRef, u32), IndexError> {
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
        let signatures = self.signatures()?;
        Ok(Catalog { lists, entries, signatures })
    }

    /// Every TMK+PDQF signature the segment holds, by value.
    pub fn signatures(&self) -> Result<Signatures, IndexError> {
        match self.tmk_section() {
            Some((sec, tmk)) => tmk.all(self.as_bytes(), &sec.values(self.as_bytes()), sec.n),
            None => Ok(Signatures::default()),
        }
    }

    /// The `.tmk` bytes of the signature whose entries have the value `digest`.
    pub fn signature(&self, digest: &Sha256) -> Result<Option<&[u8]>, IndexError> {
        match self.tmk_section() {
            Some((sec, tmk)) => tmk.signature(self.as_bytes(), &sec.values(self.as_bytes()), sec.n, digest),
            None => Ok(None),
        }
    }

    /// Every `tmk` entry whose signature scores at least `level1` and `level2` against
    /// `query` ([`crate::video::tmk::Signature::matches`]'s rule, the indexed signature as
    /// `a`), sorted by entry number.
    pub fn search_tmk(&self, query: &Signature, level1: f32, level2: f32) -> Result<Vec<TmkHit>, IndexError> {
        let Some((sec, tmk)) = self.tmk_section() else { return Ok(Vec::new()) };
        let mut hits = Vec::new();
        for (positions, l1, l2) in tmk.search(self.as_bytes(), sec.n, query, level1, level2)? {
            hits.extend(positions.map(|p| TmkHit { entry: sec.first + p, level1: l1, level2: l2 }));
        }
        Ok(hits)
    }

    fn tmk_section(&self) -> Option<(&KindSection, &TmkSections)> {
        let sec = self.section(Kind::Tmk)?;
        Some((sec, sec.tmk.as_ref()?))
    }

    /// Checks the whole file: the checksum, then every entry, string, list set, the items
    /// section, the sort order of the values and every search structure.
    ///
    /// The checksum (one SHA-256 pass over the file) runs beside the other checks, and the
    /// entries are decoded in parallel chunks; the error reported is the checksum's when
    /// both fail, else the first in the order above.
    pub fn verify(&self) -> Result<(), IndexError>
    where
        D: Sync,
    {
        let data = self.data.as_ref();
        let (sum_ok, structure) = rayon::join(
            || format::checksum(data) == data[format::CHECKSUM_OFFSET..format::CHECKSUM_OFFSET + 32],
            || self.verify_structure(),
        );
        if !sum_ok {
            return Err(IndexError::Checksum);
        }
        structure
    }

    /// [`Segment::verify`] without the checksum.
    fn verify_structure(&self) -> Result<(), IndexError>
    where
        D: Sync,
    {
        const CHUNK: u32 = 1 << 16;
        let data = self.data.as_ref();
        // Every list and entry decodes (one at a time: a merge verifies segments of
        // millions of entries, which `catalog` would hold all at once).
        (0..self.list_count()).try_for_each(|l| self.list(l).map(drop))?;
        // Each list set once, then each entry without building it (no allocation each).
        let n_sets = (self.layout.sets.len() / format::LIST_SET_RECORD_LEN) as u32;
        (0..n_sets).try_for_each(|s| self.list_set(s).map(drop))?;
        let n = self.layout.n_entries;
        let chunks: Vec<Result<(), IndexError>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                (c * CHUNK..n.min(c.saturating_add(1).saturating_mul(CHUNK)))
                    .try_for_each(|e| self.check_entry(e, n_sets))
            })
            .collect();
        chunks.into_iter().collect::<Result<(), IndexError>>()?;
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
            if let Some(tmk) = &sec.tmk {
                tmk.verify(data, &sec.values(data), sec.n)?;
            }
        }
        Ok(())
    }

    /// All entries within `radius` of `value`, sorted by entry number. Digests match
    /// exactly whatever the radius.
    pub fn search(&self, value: &HashValue, radius: u32) -> Result<Vec<Hit>, IndexError> {
        self.search_with(value, radius, Method::Auto)
    }

    /// [`Segment::search`] with a chosen [`Method`].
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

    /// [`Segment::search`] for many values in parallel (rayon). Queries that would scan are
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
                let mut perceptual: Vec<(usize, Query)> = Vec::new();
                for (i, v) in chunk.iter().enumerate() {
                    match (self.section(v.kind()), Query::of(v, radius)) {
                        (Some(_), Some(q)) => {
                            results.push(None);
                            perceptual.push((i, q));
                        }
                        _ => results.push(Some(self.search(v, radius))),
                    }
                }
                // Each kind's structure takes its queries together (overlapping misses).
                for kind in [Kind::Pdq, Kind::Phash, Kind::Vpdq] {
                    let group: Vec<&(usize, Query)> =
                        perceptual.iter().filter(|(i, _)| chunk[*i].kind() == kind).collect();
                    let Some(sec) = self.section(kind).filter(|_| !group.is_empty()) else { continue };
                    let qs: Vec<Query> = group.iter().map(|g| g.1).collect();
                    let probes = plan::structure_search_many(self.as_bytes(), sec, &qs, Method::Auto);
                    for (&&(i, q), probe) in group.iter().zip(probes) {
                        match probe {
                            Ok(Probe::Hits(found)) => results[i] = Some(Ok(to_hits(sec, found))),
                            Ok(Probe::ScanCheaper) => pending.push((i, q.words)),
                            Err(e) => results[i] = Some(Err(e)),
                        }
                    }
                }
                for kind in [Kind::Pdq, Kind::Phash, Kind::Vpdq] {
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
    /// [`Variant::ALL`](crate::hash::Variant::ALL) order), each once with its smallest distance and that variant.
    pub fn search_dihedral_pdq(
        &self,
        variants: &[Pdq; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(Kind::Pdq, variants.map(|p| p.words), radius)
    }

    /// [`Segment::search_dihedral_pdq`] for pHash.
    pub fn search_dihedral_phash(
        &self,
        variants: &[Phash; 8],
        radius: u32,
    ) -> Result<Vec<DihedralHit>, IndexError> {
        self.dihedral(Kind::Phash, variants.map(|p| [p.0, 0, 0, 0]), radius)
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
        check::<Segment<Vec<u8>>>();
        check::<Segment<memmap2::Mmap>>();
        check::<Segment<&[u8]>>();
        check::<Segment<super::super::IndexData>>();
    }
}
