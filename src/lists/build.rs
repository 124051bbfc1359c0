//! Building an index straight from list files with bounded memory (`mediamatch build`).
//!
//! A build applies each list file, in order, with [`Mode::Replace`](super::delta::Mode) to
//! an empty catalog, as the list named for the file, and writes the catalog as an index.
//! Done that way, in memory, 10M records cost about 3 GB. [`ListBuilder`] gives the same
//! file without a catalog:
//!
//! 1. Each file is parsed in turn (`parse_spilling`: the parser hands its records over in
//!    batches); the records become *events* in an external sort (`index::extsort`) ordered
//!    by value (in the index's canonical order), id, file, line and position. Only the
//!    file's id tombstones, rejects, skips and TMK signatures stay in memory.
//! 2. The sorted events are read back one (value, id) key at a time. Each file's last
//!    word on the key decides whether the key is live in that file (a later tombstone of
//!    its id, or a later withdrawal of its value by a record without id, withdraws it: the
//!    value's empty-id events come first in the order, so those withdrawals are known
//!    before the value's other keys). The key's lists and label then follow the files in
//!    order with [`delta`](super::delta)'s rules, and so do each file's counts.
//! 3. The entries come out in canonical order and go to the streaming index writer
//!    (`index::writer`), which writes the file and renames it into place.
//!
//! The result is byte for byte the file that the in-memory path writes (tested). Memory is
//! one list file's bytes while it is parsed, the sort's budget, the id tombstones and
//! signatures, and the writer's own (see `index::writer`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::delta::merge_label;
use super::record::Spill;
use super::{parse_spilling, ListError, ListFile, ParseOptions, Record as ListRecord};
use crate::catalog::{Entry, ImportCounts, ListInfo, Signatures};
use crate::hash::HashValue;
use crate::index::builder::value_key;
use crate::index::extsort::{Record, Sorter};
use crate::index::writer::{put_str, put_value, read_string, read_u64, read_value, IndexWriter};
use crate::index::{BuildOptions, IndexError, StreamOptions, Written};

/// Why a [`ListBuilder`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A list file could not be read or parsed.
    #[error(transparent)]
    List(#[from] ListError),
    /// The index could not be written (or its temporary runs).
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Builds an index file from list files, holding a bounded amount of memory (see the
/// module docs). Nothing is visible at the output before [`ListBuilder::finish`]; dropping
/// the builder removes its temporary files.
pub struct ListBuilder {
    output: PathBuf,
    stream: StreamOptions,
    sorter: Sorter<Event>,
    files: Vec<FileState>,
    lists: Vec<ListInfo>,
    signatures: Signatures,
}

/// What [`ListBuilder`] keeps of one file besides its records.
struct FileState {
    /// The file's list.
    list: u32,
    /// The last line of each id's tombstones.
    tombstones: HashMap<String, u64>,
    rejected: u64,
    skipped: u64,
}

impl ListBuilder {
    /// A builder of the index at `output`, writing its temporary runs beside it.
    pub fn new(output: &Path, stream: &StreamOptions) -> ListBuilder {
        ListBuilder {
            output: output.to_path_buf(),
            stream: *stream,
            sorter: Sorter::new(output, stream.memory),
            files: Vec::new(),
            lists: Vec::new(),
            signatures: Signatures::default(),
        }
    }

    /// Reads the list file at `path` as the list `list` (replacing what earlier files gave
    /// that list) and returns what was read apart from its records: rejects, skips,
    /// tombstones (a caller that refuses rejects should not call [`ListBuilder::finish`]).
    pub fn add_file(&mut self, list: &str, path: &Path, opts: &ParseOptions) -> Result<ListFile, BuildError> {
        self.add(list, |spill| ListFile::read_spilling(path, opts, spill))
    }

    /// [`ListBuilder::add_file`] for the bytes of a file called `name`.
    pub fn add_bytes(
        &mut self,
        list: &str,
        name: &str,
        bytes: &[u8],
        opts: &ParseOptions,
    ) -> Result<ListFile, BuildError> {
        self.add(list, |spill| {
            let list = parse_spilling(bytes, opts, spill)?;
            Ok(ListFile { name: name.to_string(), sha256: super::sha256_hex(bytes), list })
        })
    }

    fn add(
        &mut self,
        list: &str,
        read: impl FnOnce(Spill<'_>) -> Result<ListFile, ListError>,
    ) -> Result<ListFile, BuildError> {
        let file = u32::try_from(self.files.len())
            .map_err(|_| IndexError::TooLarge { what: "entries or lists", max: u64::from(u32::MAX) })?;
        let (sorter, mut pos, mut failed) = (&mut self.sorter, 0u64, None);
        let mut spill = |records: &mut Vec<ListRecord>| -> bool {
            for r in records.drain(..) {
                let event = Event {
                    value: r.value,
                    id: r.id,
                    file,
                    line: r.line,
                    pos,
                    label: r.label,
                    deleted: r.deleted,
                };
                pos += 1;
                if let Err(e) = sorter.push(event) {
                    failed = Some(e);
                    return false;
                }
            }
            true
        };
        let read = read(&mut spill);
        if let Some(e) = failed {
            return Err(e.into());
        }
        let read = read?;
        let li = match self.lists.iter().position(|l| l.name == list) {
            Some(i) => i,
            None => {
                self.lists.push(ListInfo { name: list.to_string(), ..ListInfo::default() });
                self.lists.len() - 1
            }
        };
        // The last import of a list names its source.
        self.lists[li].source.clone_from(&read.name);
        self.lists[li].source_sha256.clone_from(&read.sha256);
        let mut tombstones: HashMap<String, u64> = HashMap::new();
        for t in &read.list.tombstones {
            let line = tombstones.entry(t.id.clone()).or_insert(t.line);
            *line = (*line).max(t.line);
        }
        self.signatures.extend_from(&read.list.signatures);
        self.files.push(FileState {
            list: li as u32,
            tombstones,
            rejected: read.list.rejects.len() as u64,
            skipped: read.list.skipped_total(),
        });
        Ok(read)
    }

    /// Writes the index, its lists imported at `imported_at` (seconds since the Unix
    /// epoch), and renames it into place.
    pub fn finish(self, options: &BuildOptions, imported_at: u64) -> Result<Built, BuildError> {
        let ListBuilder { output, stream, sorter, files, lists, signatures } = self;
        let n_lists = lists.len();
        let mut writer = IndexWriter::new(&output, lists, options, &stream)?;
        writer.add_signatures(&signatures);
        let mut reducer = Reducer::new(&files);
        let mut group: Vec<Event> = Vec::new();
        for event in sorter.finish()? {
            let event = event?;
            if group.first().is_some_and(|g| g.value != event.value || g.id != event.id) {
                if let Some(entry) = reducer.key(&group) {
                    writer.push(entry)?;
                }
                group.clear();
            }
            group.push(event);
        }
        if let Some(entry) = reducer.key(&group) {
            writer.push(entry)?;
        }
        let mut versions = vec![0u64; n_lists];
        let mut last_counts = vec![ImportCounts::default(); n_lists];
        let mut seen = vec![false; n_lists];
        for (f, state) in files.iter().enumerate() {
            let l = state.list as usize;
            let c = ImportCounts { rejected: state.rejected, skipped: state.skipped, ..reducer.counts[f] };
            if !seen[l] || c.added + c.updated + c.removed > 0 {
                versions[l] += 1;
            }
            seen[l] = true;
            last_counts[l] = c;
        }
        for l in 0..n_lists {
            writer.set_list_numbers(l, imported_at, versions[l], last_counts[l]);
        }
        let written = writer.finish()?;
        Ok(Built { written, lists: n_lists })
    }
}

/// What [`ListBuilder::finish`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Built {
    /// The file's entries, length and checksum.
    pub written: Written,
    /// Lists in the index.
    pub lists: usize,
}

/// Turns the sorted events of one key at a time into an entry (module docs, step 2).
struct Reducer<'a> {
    files: &'a [FileState],
    /// Per file, its import counts so far.
    counts: Vec<ImportCounts>,
    /// The value whose keys are being read, and per file the (line, position) of its
    /// last withdrawal of that value by a record without id.
    value: Option<HashValue>,
    value_withdrawn: Vec<Option<(u64, u64)>>,
    /// Per file, its last word on the key: live (with the label) or not.
    last: Vec<Option<(bool, usize)>>,
}

impl<'a> Reducer<'a> {
    fn new(files: &'a [FileState]) -> Reducer<'a> {
        Reducer {
            files,
            counts: vec![ImportCounts::default(); files.len()],
            value: None,
            value_withdrawn: vec![None; files.len()],
            last: vec![None; files.len()],
        }
    }

    /// The entry of the key whose events (sorted, not empty) are `group`, if it is on a
    /// list at the end.
    fn key(&mut self, group: &[Event]) -> Option<Entry> {
        let first = group.first()?;
        if self.value != Some(first.value) {
            self.value = Some(first.value);
            self.value_withdrawn.iter_mut().for_each(|w| *w = None);
        }
        if first.id.is_empty() {
            for e in group.iter().filter(|e| e.deleted) {
                let w = &mut self.value_withdrawn[e.file as usize];
                *w = (*w).max(Some((e.line, e.pos)));
            }
        }
        self.last.iter_mut().for_each(|l| *l = None);
        for (i, e) in group.iter().enumerate() {
            // Events of a file are in line order: the last one is its word.
            let f = e.file as usize;
            let by_id = !e.id.is_empty() && self.files[f].tombstones.get(&e.id).is_some_and(|&t| t >= e.line);
            let by_value = self.value_withdrawn[f].is_some_and(|w| w > (e.line, e.pos));
            self.last[f] = Some((!e.deleted && !by_id && !by_value, i));
        }
        let mut lists: Vec<u32> = Vec::new();
        let mut label = String::new();
        for (f, state) in self.files.iter().enumerate() {
            let l = state.list;
            let counts = &mut self.counts[f];
            match self.last[f] {
                Some((true, i)) => {
                    let new = &group[i].label;
                    if lists.is_empty() {
                        // A new entry (or one that every list had dropped).
                        new.clone_into(&mut label);
                        lists.push(l);
                        counts.added += 1;
                        continue;
                    }
                    match lists.binary_search(&l) {
                        Ok(_) => {
                            if merge_label(&mut label, new, lists.len() > 1) {
                                counts.updated += 1;
                            } else {
                                counts.unchanged += 1;
                            }
                        }
                        Err(at) => {
                            merge_label(&mut label, new, true);
                            lists.insert(at, l);
                            counts.added += 1;
                        }
                    }
                }
                // Not live in the file, or not in it: a replacement takes it off the list.
                _ => {
                    if let Ok(at) = lists.binary_search(&l) {
                        lists.remove(at);
                        counts.removed += 1;
                    }
                }
            }
        }
        if lists.is_empty() {
            return None;
        }
        Some(Entry { value: first.value, id: first.id.clone(), label, lists })
    }
}

/// One record of a list file, in the build's sort.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    value: HashValue,
    id: String,
    file: u32,
    line: u64,
    /// The record's position in its file (records of one line keep their order).
    pos: u64,
    label: String,
    deleted: bool,
}

impl Ord for Event {
    fn cmp(&self, other: &Event) -> Ordering {
        let key = |e: &Event| (e.value.kind().code(), value_key(&e.value));
        key(self)
            .cmp(&key(other))
            .then_with(|| self.value.cmp(&other.value))
            .then_with(|| self.id.cmp(&other.id))
            .then_with(|| (self.file, self.line, self.pos).cmp(&(other.file, other.line, other.pos)))
            .then_with(|| (&self.label, self.deleted).cmp(&(&other.label, other.deleted)))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Event) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Record for Event {
    fn memory(&self) -> usize {
        std::mem::size_of::<Event>() + self.id.len() + self.label.len() + 32
    }

    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        put_value(w, &self.value)?;
        put_str(w, &self.id)?;
        put_str(w, &self.label)?;
        w.write_all(&self.file.to_le_bytes())?;
        w.write_all(&self.line.to_le_bytes())?;
        w.write_all(&self.pos.to_le_bytes())?;
        w.write_all(&[u8::from(self.deleted)])
    }

    fn read(r: &mut impl BufRead) -> std::io::Result<Option<Event>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let value = read_value(r)?;
        let id = read_string(r)?;
        let label = read_string(r)?;
        let mut file = [0u8; 4];
        r.read_exact(&mut file)?;
        let line = read_u64(r)?;
        let pos = read_u64(r)?;
        let mut deleted = [0u8; 1];
        r.read_exact(&mut deleted)?;
        Ok(Some(Event {
            value,
            id,
            file: u32::from_le_bytes(file),
            line,
            pos,
            label,
            deleted: deleted[0] != 0,
        }))
    }
}
