//! Writing the next version of a segmented index: an [`Update`] becomes a new segment and
//! tombstones under a new manifest ([`commit`]), small segments are merged by a
//! [`MergePolicy`], everything is merged by [`compact`], and segment files no manifest
//! names any more are removed.
//!
//! The order of the steps is what makes a crash (or `kill -9`) at any point harmless:
//!
//! 1. New segment files are written under new names ([`write_atomic`]: temporary file,
//!    sync, rename, directory sync): the update's new entries, then the merges the policy
//!    asks for (each merged segment verified in full before its entries are carried).
//!    Nothing names these files yet, so readers do not see them.
//! 2. The new manifest replaces the old one with [`write_atomic`]. This rename is the one
//!    commit point: before it the index is the old one, after it the new one, merged.
//! 3. Files the new manifest does not name are removed. A reader that mapped one keeps its
//!    mapping; a reader that read the old manifest and finds a file gone starts again from
//!    the new manifest ([`Index::open`]).
//!
//! A writer killed between 1 and 2 leaves unnamed segment files, which the next writer
//! removes in step 3. Every step runs under the index's [`WriteLock`](super::WriteLock),
//! which the caller holds.
//!
//! A single index file (what `mediamatch build` writes) becomes the first segment of a
//! manifest on its first update: it is hard-linked into the segments directory (copied
//! where links are not possible) before the manifest replaces it, so it is never rewritten.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::extsort::kway;
use super::manifest::{Manifest, SegmentRef};
use super::store::{map_file, segments_dir};
use super::writer::{build_file, Canonical, IndexWriter, StreamOptions, Written};
use super::{format, write_atomic, BuildOptions, Index, IndexError, Segment};
use crate::catalog::{Catalog, Entry, ListInfo, Signatures};

/// What one update changes: entries added (written as one new segment), entries removed
/// (numbers of the index the update was computed on, hidden by tombstones) and the lists
/// afterwards (provenance, counts, versions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Entries to add.
    pub add: Vec<Entry>,
    /// Entry numbers to remove.
    pub remove: Vec<u32>,
    /// The lists after the update; their numbers must extend the index's.
    pub lists: Vec<ListInfo>,
    /// The signatures of the `tmk` entries of `add`.
    pub signatures: Signatures,
}

/// When [`commit`] merges segments: the segments are kept in decreasing sizes, each at
/// least `ratio` times the live entries of all newer ones together; a segment breaking
/// that rule is merged with all newer ones. A merge writing more than `max_entries`
/// entries is left to [`compact`] (it would make one import slow), and a
/// segment with more than `max_dead` of its entries tombstoned is rewritten.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MergePolicy {
    /// Size ratio between a segment and all newer ones.
    pub ratio: u64,
    /// Largest merge done automatically, in entries.
    pub max_entries: u64,
    /// Share of tombstoned entries above which a segment is rewritten.
    pub max_dead: f64,
}

impl Default for MergePolicy {
    fn default() -> MergePolicy {
        MergePolicy { ratio: 4, max_entries: 8_000_000, max_dead: 0.5 }
    }
}

/// How to write segments and when to merge them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CommitOptions {
    /// The search structures of new segments.
    pub build: BuildOptions,
    /// When to merge.
    pub merge: MergePolicy,
}

/// What [`commit`] or [`compact`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// The generation of the manifest written last.
    pub generation: u64,
    /// Segments in the index now.
    pub segments: usize,
    /// Entries written to new segment files (the update's, plus merges').
    pub entries_written: u64,
    /// Segments that merges replaced.
    pub merged: usize,
    /// Files removed from the segments directory.
    pub removed_files: usize,
}

/// The index `old` (opened from `path` with its `manifest`, `None` for a single file or
/// for no index yet) changed by `update`, written next to it and committed by replacing
/// the manifest at `path`; then merges as `options.merge` says, and removes files no
/// longer named. The caller holds the index's [`WriteLock`](super::WriteLock).
pub fn commit<D: AsRef<[u8]>>(
    path: &Path,
    old: Option<(&Index<D>, Option<&Manifest>)>,
    update: &Update,
    options: &CommitOptions,
) -> Result<Committed, IndexError> {
    // Nothing to add, remove or merge: nothing is written. (`fetch` commits batches with
    // merges deferred, then an empty update under the normal policy to run them.)
    if let (true, Some((_, Some(m)))) = (update.add.is_empty() && update.remove.is_empty(), old) {
        let whole = m.segments.iter().all(|s| s.tombstones.len() < s.entries as usize);
        if m.lists == update.lists && whole && merge_range(&m.segments, &options.merge).is_none() {
            return Ok(Committed {
                generation: m.generation,
                segments: m.segments.len(),
                ..Committed::default()
            });
        }
    }
    let dir = segments_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, "creating", e))?;
    let (mut manifest, firsts) = starting_manifest(path, &dir, old)?;
    // Files of killed writers (under the lock, no other writer can be making them).
    remove_unnamed(&dir, &manifest);
    manifest.generation += 1;
    let mut done = Committed::default();

    // Tombstones, by segment.
    let mut remove = update.remove.clone();
    remove.sort_unstable();
    remove.dedup();
    for e in remove {
        let seg = firsts.partition_point(|&f| f <= e).checked_sub(1);
        let Some(seg) = seg.filter(|&s| e - firsts[s] < manifest.segments[s].entries) else {
            return Err(IndexError::OutOfRange { what: "entry", number: e });
        };
        let dead = &mut manifest.segments[seg].tombstones;
        if let Err(at) = dead.binary_search(&(e - firsts[seg])) {
            dead.insert(at, e - firsts[seg]);
        }
    }
    manifest.lists = update.lists.clone();
    if !update.add.is_empty() {
        let catalog = Catalog {
            lists: update.lists.clone(),
            entries: update.add.clone(),
            signatures: update.signatures.clone(),
        };
        manifest.segments.push(write_segment(&dir, &manifest, 0, catalog, &options.build)?);
        done.entries_written += update.add.len() as u64;
    }
    manifest.segments.retain(|s| s.tombstones.len() < s.entries as usize);
    let mut k = 1;
    while let Some(range) = merge_range(&manifest.segments, &options.merge) {
        done.entries_written += merge(&dir, &mut manifest, range.clone(), k, &options.build)?;
        done.merged += range.len();
        k += 1;
    }
    // The one commit point: everything before wrote only files no manifest names.
    write_manifest(path, &manifest)?;
    done.removed_files = remove_unnamed(&dir, &manifest);
    done.generation = manifest.generation;
    done.segments = manifest.segments.len();
    Ok(done)
}

/// Merges every segment of the index at `path` (opened as `index` with `manifest`) into
/// one, dropping tombstoned entries, and commits it; removes the files no longer named.
/// Streams the entries from the segments into the new one, with bounded memory.
pub fn compact<D: AsRef<[u8]>>(
    path: &Path,
    index: &Index<D>,
    manifest: Option<&Manifest>,
    build: &BuildOptions,
) -> Result<Committed, IndexError> {
    let dir = segments_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, "creating", e))?;
    let (mut manifest, _) = starting_manifest(path, &dir, Some((index, manifest)))?;
    remove_unnamed(&dir, &manifest);
    manifest.generation += 1;
    let mut done = Committed::default();
    let n = manifest.segments.len();
    if n > 1 || manifest.segments.iter().any(|s| !s.tombstones.is_empty()) {
        done.entries_written = merge(&dir, &mut manifest, 0..n, 1, build)?;
        done.merged = n;
    }
    manifest.segments.retain(|s| s.entries > 0);
    write_manifest(path, &manifest)?;
    done.removed_files = remove_unnamed(&dir, &manifest);
    done.generation = manifest.generation;
    done.segments = manifest.segments.len();
    Ok(done)
}

/// Removes the segments directory of the index at `path` once the file there is no
/// manifest (e.g. after `mediamatch build` replaced a segmented index with one file).
/// Returns the number of files removed.
pub fn remove_segments_of_single_file(path: &Path) -> usize {
    let dir = segments_dir(path);
    let removed = remove_unnamed(&dir, &Manifest::default());
    let _ = std::fs::remove_dir(&dir);
    removed
}

/// The manifest to start from and the first entry number of each of its segments.
fn starting_manifest<D: AsRef<[u8]>>(
    path: &Path,
    dir: &Path,
    old: Option<(&Index<D>, Option<&Manifest>)>,
) -> Result<(Manifest, Vec<u32>), IndexError> {
    let (manifest, index) = match old {
        None => return Ok((Manifest::default(), Vec::new())),
        Some((index, Some(m))) => (m.clone(), index),
        Some((index, None)) => {
            // A single file: linked in as the first segment, never rewritten.
            let seg = index.segments().next();
            let mut m = Manifest { generation: 0, lists: index.lists().to_vec(), segments: Vec::new() };
            if let Some(seg) = seg.filter(|s| !s.is_empty()) {
                let name = format!("{:010}-base.seg", 1);
                let to = dir.join(&name);
                let _ = std::fs::remove_file(&to);
                if std::fs::hard_link(path, &to).is_err() {
                    std::fs::copy(path, &to).map_err(|e| io(&to, "copying the index to", e))?;
                }
                sync_dir(dir)?;
                m.segments.push(segment_ref(name, seg, Vec::new()));
            }
            (m, index)
        }
    };
    if manifest.segments.len() != index.segment_count() {
        return Err(IndexError::BadCatalog("the manifest does not describe the opened index".to_string()));
    }
    let mut firsts = Vec::with_capacity(manifest.segments.len());
    let mut first = 0u32;
    for s in &manifest.segments {
        firsts.push(first);
        first += s.entries;
    }
    Ok((manifest, firsts))
}

fn segment_ref<D: AsRef<[u8]>>(file: String, seg: &Segment<D>, tombstones: Vec<u32>) -> SegmentRef {
    let bytes = seg.as_bytes();
    let mut checksum = [0u8; 32];
    checksum.copy_from_slice(&bytes[format::CHECKSUM_OFFSET..format::CHECKSUM_OFFSET + 32]);
    SegmentRef { file, file_len: bytes.len() as u64, checksum, entries: seg.len(), tombstones }
}

/// Builds `catalog` as a new segment file named for the manifest's generation and `k`.
fn write_segment(
    dir: &Path,
    manifest: &Manifest,
    k: usize,
    catalog: Catalog,
    options: &BuildOptions,
) -> Result<SegmentRef, IndexError> {
    let name = format!("{:010}-{k}.seg", manifest.generation);
    let written = build_file(catalog, options, &StreamOptions::default(), &dir.join(&name))?;
    Ok(written_ref(name, &written))
}

fn written_ref(file: String, w: &Written) -> SegmentRef {
    SegmentRef {
        file,
        file_len: w.file_len,
        checksum: w.checksum,
        entries: w.entries,
        tombstones: Vec::new(),
    }
}

fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), IndexError> {
    write_atomic(path, &manifest.encode()?)
}

/// The segments the policy merges next, if any: the oldest segment that is not `ratio`
/// times all newer ones together, with all newer ones; or one segment mostly tombstoned.
fn merge_range(segments: &[SegmentRef], policy: &MergePolicy) -> Option<std::ops::Range<usize>> {
    let live = |s: &SegmentRef| u64::from(s.entries) - s.tombstones.len() as u64;
    let n = segments.len();
    let mut newer = 0u64;
    let mut from = None;
    for i in (0..n).rev() {
        if i + 1 < n && live(&segments[i]) < policy.ratio.saturating_mul(newer) {
            from = Some(i);
        }
        newer += live(&segments[i]);
    }
    if let Some(i) = from {
        let total: u64 = segments[i..].iter().map(live).sum();
        if total <= policy.max_entries {
            return Some(i..n);
        }
        // Too big to merge here: merge the newer ones among themselves if they break it.
        let j = (i + 1..n).find(|&j| {
            let newer: u64 = segments[j + 1..].iter().map(live).sum();
            j + 1 < n && live(&segments[j]) < policy.ratio.saturating_mul(newer)
        })?;
        let total: u64 = segments[j..].iter().map(live).sum();
        return (total <= policy.max_entries).then_some(j..n);
    }
    segments
        .iter()
        .position(|s| {
            let dead = s.tombstones.len() as f64;
            dead > policy.max_dead * f64::from(s.entries.max(1)) && live(s) <= policy.max_entries
        })
        .map(|i| i..i + 1)
}

/// Replaces the segments `range` of `manifest` by one segment of their live entries
/// (each segment verified in full first, so no damaged entry is carried into a file with a
/// fresh checksum). Each segment's entries are in canonical order already, so they are
/// merged as they are read ([`kway`]) and streamed into the new file: memory does not grow
/// with the entries merged. Returns the number of entries written.
fn merge(
    dir: &Path,
    manifest: &mut Manifest,
    range: std::ops::Range<usize>,
    k: usize,
    options: &BuildOptions,
) -> Result<u64, IndexError> {
    let mut segments = Vec::with_capacity(range.len());
    for s in &manifest.segments[range.clone()] {
        let path = dir.join(&s.file);
        // Verified through a mapping of its own, dropped at once: the pages of its search
        // structures, which the merge never reads again, leave the process's RSS.
        Segment::from_bytes(map_file(&path)?)?.verify()?;
        segments.push((Segment::from_bytes(map_file(&path)?)?, &s.tombstones));
    }
    let live: u64 = segments.iter().map(|(seg, dead)| u64::from(seg.len()) - dead.len() as u64).sum();
    let merged = if live > 0 {
        let sources: Vec<_> = segments
            .iter()
            .map(|(seg, dead)| {
                (0..seg.len())
                    .filter(|l| dead.binary_search(l).is_err())
                    .map(|l| seg.entry(l).map(|e| Canonical(e.to_entry())))
            })
            .collect();
        let name = format!("{:010}-{k}.seg", manifest.generation);
        let path = dir.join(&name);
        let mut writer = IndexWriter::new(&path, manifest.lists.clone(), options, &StreamOptions::default())?;
        for (seg, _) in &segments {
            writer.add_signatures(&seg.signatures()?);
        }
        for e in kway(sources) {
            writer.push(e?.0)?;
        }
        Some(written_ref(name, &writer.finish()?))
    } else {
        None
    };
    drop(segments);
    manifest.segments.splice(range, merged);
    Ok(live)
}

/// Removes every file of `dir` that `manifest` does not name (segments of older
/// manifests, files of killed writers). Failures are ignored: a leftover costs disk space,
/// not correctness.
fn remove_unnamed(dir: &Path, manifest: &Manifest) -> usize {
    let named: HashSet<&str> = manifest.segments.iter().map(|s| s.file.as_str()).collect();
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let keep = entry.file_name().to_str().is_some_and(|n| named.contains(n));
        if !keep && entry.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

fn sync_dir(dir: &Path) -> Result<(), IndexError> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "flushing", e))?;
    Ok(())
}

fn io(path: &Path, what: &str, source: std::io::Error) -> IndexError {
    IndexError::Io { what: format!("{what} {}", PathBuf::from(path).display()), source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(entries: u32, dead: u32) -> SegmentRef {
        SegmentRef {
            file: format!("s{entries}"),
            file_len: 0,
            checksum: [0; 32],
            entries,
            tombstones: (0..dead).collect(),
        }
    }

    #[test]
    fn merges_keep_sizes_geometric() {
        let p = MergePolicy::default();
        assert_eq!(merge_range(&[seg(1000, 0), seg(100, 0), seg(10, 0)], &p), None);
        assert_eq!(merge_range(&[seg(1000, 0), seg(100, 0), seg(90, 0)], &p), Some(1..3));
        assert_eq!(merge_range(&[seg(100, 0), seg(30, 0)], &p), Some(0..2));
        assert_eq!(merge_range(&[seg(1000, 0)], &p), None);
        // Mostly tombstoned: rewritten alone.
        assert_eq!(merge_range(&[seg(1000, 600)], &p), Some(0..1));
    }

    #[test]
    fn big_merges_are_left_to_compact() {
        let p = MergePolicy { max_entries: 500, ..MergePolicy::default() };
        // The base and the deltas would be 1,300 entries: only the deltas merge.
        assert_eq!(merge_range(&[seg(1000, 0), seg(200, 0), seg(100, 0)], &p), Some(1..3));
        assert_eq!(merge_range(&[seg(1000, 0), seg(300, 0), seg(10, 0)], &p), None);
    }
}
