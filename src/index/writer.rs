//! Writing an index file with bounded memory: the streaming counterpart of
//! [`build`](super::build), giving the same bytes.
//!
//! [`build_file`] sorts a catalog's entries externally (`extsort`:
//! sorted runs beside the output, then a k-way merge) and hands them in canonical order to
//! an `IndexWriter`, which is also what merges of segments feed directly (their entries
//! are sorted already). The writer makes one pass over the entries: their records go to a
//! spool file, their values to another, their (id, number) pairs to an external sort for
//! the items section; strings and list sets are interned as they come. `IndexWriter::finish`
//! then knows every section's length, writes the header and section table, copies the
//! spools, merges the items and derives each kind's search structure from the spooled
//! values (`tables`), hashing the bytes as they are written, and renames
//! the file into place.
//!
//! Memory is the budget of [`StreamOptions`] plus what grows with *distinct* strings (the
//! string section and its intern table: ids and labels, not entries) and list sets, and the
//! MIH bucket arrays (at most `2^24` cursors per table). The BK-tree baseline structure is
//! still built in memory from its kind's values.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::catalog::{Catalog, Entry, ImportCounts, ListInfo, Signatures};
use crate::hash::{HashValue, Kind};
use crate::index::bktree::BkTree;
use crate::index::builder::{value_key, FastState, SMALL_SECTION};
use crate::index::extsort::{Record, Sorter};
use crate::index::format::{
    self, decode_value, encode_value, EntryRecord, Header, ItemRecord, ListRecord, ListSetRecord,
    SectionRecord, StringRef,
};
use crate::index::mih::{self, Spec};
use crate::index::tables::{table_len, write_table, ValueSource};
use crate::index::temp::{io_error, TempFile};
use crate::index::wire::put_u32;
use crate::index::{BuildOptions, IndexError, Structure};

/// How much memory a streaming build may use for its sorts and tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Bytes of entries sorted in memory before a run is written to disk; also the size
    /// of the items sort's runs and of the slices MIH tables are built in.
    pub memory: usize,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions { memory: 256 << 20 }
    }
}

/// What [`build_file`] or `IndexWriter::finish` wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Entries in the file.
    pub entries: u32,
    /// Length of the file in bytes.
    pub file_len: u64,
    /// The checksum in its header.
    pub checksum: [u8; 32],
}

/// Writes the index holding `catalog` to `path` atomically (temporary file beside it,
/// sync, rename), with the bytes [`build`](super::build) gives, holding about
/// `stream.memory` bytes of entries at once beyond `catalog` itself (whose entries it
/// consumes). Sorted runs are temporary files beside `path`, removed before it returns.
pub fn build_file(
    catalog: Catalog,
    options: &BuildOptions,
    stream: &StreamOptions,
    path: &Path,
) -> Result<Written, IndexError> {
    let Catalog { lists, entries, signatures } = catalog;
    let mut builder = FileBuilder::new(path, lists, options, stream)?;
    builder.add_signatures(&signatures);
    entries.into_iter().try_for_each(|e| builder.push(e))?;
    builder.finish()
}

/// Builds an index file from entries pushed one at a time in any order, with bounded
/// memory: what [`build_file`] does for a whole catalog, for callers whose entries come
/// from a stream. Nothing is visible at the path before [`FileBuilder::finish`]; dropping
/// the builder removes its temporary files.
pub struct FileBuilder {
    writer: IndexWriter,
    sorter: Sorter<Canonical>,
}

impl FileBuilder {
    /// A builder of the index at `path` with `lists`, writing its runs beside `path`.
    pub fn new(
        path: &Path,
        lists: Vec<ListInfo>,
        options: &BuildOptions,
        stream: &StreamOptions,
    ) -> Result<FileBuilder, IndexError> {
        Ok(FileBuilder {
            writer: IndexWriter::new(path, lists, options, stream)?,
            sorter: Sorter::new(path, stream.memory),
        })
    }

    /// Adds the TMK+PDQF signatures that `tmk` entries pushed before [`FileBuilder::finish`]
    /// name (extra ones are ignored; a missing one fails the build).
    pub fn add_signatures(&mut self, signatures: &Signatures) {
        self.writer.add_signatures(signatures);
    }

    /// Adds an entry; fails if it names a list the builder was not given.
    pub fn push(&mut self, entry: Entry) -> Result<(), IndexError> {
        self.writer.check_lists(&entry)?;
        self.sorter.push(Canonical(entry))
    }

    /// Sorts the entries, writes the file and renames it into place.
    pub fn finish(self) -> Result<Written, IndexError> {
        let FileBuilder { mut writer, sorter } = self;
        for e in sorter.finish()? {
            writer.push(e?.0)?;
        }
        writer.finish()
    }
}

/// An entry ordered canonically: by kind, value, id, label, lists (the order of the
/// entries section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Canonical(pub Entry);

/// The canonical order of two entries.
pub(crate) fn canonical_cmp(a: &Entry, b: &Entry) -> Ordering {
    let key = |e: &Entry| (e.value.kind().code(), value_key(&e.value));
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

impl PartialOrd for Canonical {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Canonical {
    fn cmp(&self, other: &Self) -> Ordering {
        canonical_cmp(&self.0, &other.0)
    }
}

pub(crate) fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Writes a value to a sorted run: its kind's code, then its encoding.
pub(crate) fn put_value(w: &mut impl Write, v: &HashValue) -> std::io::Result<()> {
    let mut value = Vec::with_capacity(32);
    encode_value(v, &mut value);
    w.write_all(&[v.kind().code()])?;
    w.write_all(&value)
}

/// Reads a value [`put_value`] wrote.
pub(crate) fn read_value(r: &mut (impl Read + ?Sized)) -> std::io::Result<HashValue> {
    let mut code = [0u8; 1];
    r.read_exact(&mut code)?;
    let kind = Kind::from_code(code[0]).ok_or_else(|| invalid("kind code in a sorted run"))?;
    let raw = read_exact_vec(r, kind.byte_len() as u64)?;
    decode_value(kind, &raw).map_err(|_| invalid("value in a sorted run"))
}

/// Reads a string [`put_str`] wrote.
pub(crate) fn read_string(r: &mut (impl Read + ?Sized)) -> std::io::Result<String> {
    let len = read_u64(r)?;
    String::from_utf8(read_exact_vec(r, len)?).map_err(|_| invalid("string in a sorted run"))
}

pub(crate) fn read_exact_vec(r: &mut (impl Read + ?Sized), len: u64) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.take(len).read_to_end(&mut v)?;
    if v.len() as u64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(v)
}

pub(crate) fn read_u64(r: &mut (impl Read + ?Sized)) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub(crate) fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

impl Record for Canonical {
    fn memory(&self) -> usize {
        // The entry, its strings and lists, and an allocator's overhead for each.
        std::mem::size_of::<Canonical>() + self.0.id.len() + self.0.label.len() + self.0.lists.len() * 4 + 48
    }

    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        let e = &self.0;
        put_value(w, &e.value)?;
        put_str(w, &e.id)?;
        put_str(w, &e.label)?;
        w.write_all(&(e.lists.len() as u64).to_le_bytes())?;
        e.lists.iter().try_for_each(|l| w.write_all(&l.to_le_bytes()))
    }

    fn read(r: &mut impl BufRead) -> std::io::Result<Option<Canonical>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let value = read_value(r)?;
        let id = read_string(r)?;
        let label = read_string(r)?;
        let n = read_u64(r)?;
        let raw = read_exact_vec(r, n.checked_mul(4).ok_or_else(|| invalid("list count"))?)?;
        let lists = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(Some(Canonical(Entry { value, id, label, lists })))
    }
}

/// An entry's place in the items section: its id's string ref, then its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ItemKey(StringRef, u32);

impl Record for ItemKey {
    fn memory(&self) -> usize {
        std::mem::size_of::<ItemKey>()
    }

    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.0.offset.to_le_bytes())?;
        w.write_all(&self.0.len.to_le_bytes())?;
        w.write_all(&self.1.to_le_bytes())
    }

    fn read(r: &mut impl BufRead) -> std::io::Result<Option<ItemKey>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut b = [0u8; 16];
        r.read_exact(&mut b)?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let offset = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        Ok(Some(ItemKey(StringRef { offset, len: u32_at(8) }, u32_at(12))))
    }
}

/// The strings section being built: each distinct string once, in order of first use.
/// Strings are found by a 64-bit hash; the rare string whose hash another string already
/// has goes to a second, exact table.
struct Strings {
    bytes: Vec<u8>,
    by_hash: HashMap<u64, StringRef, FastState>,
    collided: HashMap<String, StringRef>,
    hasher: FastState,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            bytes: Vec::new(),
            by_hash: HashMap::with_hasher(FastState::new()),
            collided: HashMap::new(),
            hasher: FastState::new(),
        }
    }

    fn text(&self, r: StringRef) -> &[u8] {
        &self.bytes[r.offset as usize..r.offset as usize + r.len as usize]
    }

    /// The ref of `s`, appending it the first time (as the in-memory builder does).
    fn intern(&mut self, s: &str) -> StringRef {
        // Lengths above u32::MAX are cut; no id or label comes near it.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        let cut = &s.as_bytes()[..len as usize];
        let h = self.hasher.hash_one(s);
        match self.by_hash.get(&h) {
            Some(&r) if self.text(r) == cut => r,
            Some(_) => {
                if let Some(&r) = self.collided.get(s) {
                    return r;
                }
                let r = self.append(cut);
                self.collided.insert(s.to_string(), r);
                r
            }
            None => {
                let r = self.append(cut);
                self.by_hash.insert(h, r);
                r
            }
        }
    }

    fn append(&mut self, cut: &[u8]) -> StringRef {
        let r = StringRef { offset: self.bytes.len() as u64, len: cut.len() as u32 };
        self.bytes.extend_from_slice(cut);
        r
    }
}

/// One kind's run of entries: its first entry number, count and where its values start in
/// the values spool.
#[derive(Clone, Copy, Debug)]
struct KindRun {
    kind: Kind,
    first: u64,
    n: u64,
    at: u64,
}

/// A spool file: written once through a buffer, then read back.
struct Spool {
    file: TempFile,
    w: Option<BufWriter<std::fs::File>>,
    len: u64,
}

impl Spool {
    fn new(beside: &Path) -> Result<Spool, IndexError> {
        let file = TempFile::beside(beside)?;
        let handle = file.file().try_clone().map_err(|e| io_error(file.path(), "opening", e))?;
        let w = BufWriter::with_capacity(1 << 20, handle);
        Ok(Spool { file, w: Some(w), len: 0 })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.len += bytes.len() as u64;
        match &mut self.w {
            Some(w) => w.write_all(bytes).map_err(|e| io_error(self.file.path(), "writing", e)),
            None => Ok(()),
        }
    }

    fn close(&mut self) -> Result<(), IndexError> {
        if let Some(mut w) = self.w.take() {
            w.flush().map_err(|e| io_error(self.file.path(), "writing", e))?;
        }
        Ok(())
    }

    /// A reader of `len` bytes from `at`.
    fn range(&self, at: u64, len: u64) -> std::io::Result<impl Read> {
        let mut f = std::fs::File::open(self.file.path())?;
        f.seek(SeekFrom::Start(at))?;
        Ok(BufReader::with_capacity(1 << 20, f).take(len))
    }
}

/// A kind's values in the values spool, read from the start for each table.
struct SpoolValues<'a> {
    spool: &'a Spool,
    at: u64,
    len: u64,
}

impl ValueSource for SpoolValues<'_> {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(self.spool.range(self.at, self.len)?))
    }
}

/// Writes the entries of an index, given in canonical order, as an index file with bounded
/// memory (see the module docs).
pub(crate) struct IndexWriter {
    path: PathBuf,
    options: BuildOptions,
    budget: usize,
    n_lists: usize,
    strings: Strings,
    lists: Vec<ListRecord>,
    sets: Vec<u8>,
    members: Vec<u8>,
    set_ids: HashMap<Vec<u32>, u32, FastState>,
    last_set: Option<(Vec<u32>, u32)>,
    entries: Spool,
    values: Spool,
    items: Sorter<ItemKey>,
    kinds: Vec<KindRun>,
    n: u64,
    last: Option<Entry>,
    /// The signatures of the `tmk` entries (held in memory: 263 KB a video).
    signatures: Signatures,
}

impl IndexWriter {
    /// A writer of the index at `path` with `lists`, whose entries [`IndexWriter::push`]
    /// takes in canonical order.
    pub fn new(
        path: &Path,
        lists: Vec<ListInfo>,
        options: &BuildOptions,
        stream: &StreamOptions,
    ) -> Result<IndexWriter, IndexError> {
        if u32::try_from(lists.len()).is_err() {
            return Err(IndexError::TooLarge { what: "entries or lists", max: u64::from(u32::MAX) });
        }
        let mut strings = Strings::new();
        let records = lists.iter().map(|l| ListRecord::of(l, |s| strings.intern(s))).collect();
        Ok(IndexWriter {
            path: path.to_path_buf(),
            options: *options,
            budget: stream.memory.max(1),
            n_lists: lists.len(),
            strings,
            lists: records,
            sets: Vec::new(),
            members: Vec::new(),
            set_ids: HashMap::with_hasher(FastState::new()),
            last_set: None,
            entries: Spool::new(path)?,
            values: Spool::new(path)?,
            items: Sorter::new(path, stream.memory),
            kinds: Vec::new(),
            n: 0,
            last: None,
            signatures: Signatures::default(),
        })
    }

    /// Adds the signatures that `tmk` entries name ([`FileBuilder::add_signatures`]).
    pub fn add_signatures(&mut self, signatures: &Signatures) {
        self.signatures.extend_from(signatures);
    }

    /// Sets the import time, version and counts of list `list` (its strings stay those
    /// given to [`IndexWriter::new`]): a build from list files knows them only once it
    /// has written the entries.
    pub fn set_list_numbers(&mut self, list: usize, imported_at: u64, version: u64, counts: ImportCounts) {
        if let Some(r) = self.lists.get_mut(list) {
            r.imported_at = imported_at;
            r.version = version;
            r.counts = counts;
        }
    }

    /// Fails if `e` names a list the index does not have.
    pub fn check_lists(&self, e: &Entry) -> Result<(), IndexError> {
        let n_lists = self.n_lists;
        if let Some(&bad) = e.lists.iter().find(|&&l| l as usize >= n_lists) {
            return Err(IndexError::BadCatalog(format!(
                "entry {} (id {:?}) names list {bad}, but there are {n_lists} lists",
                e.value, e.id
            )));
        }
        Ok(())
    }

    /// Adds the next entry, which must not come before the previous one canonically.
    pub fn push(&mut self, e: Entry) -> Result<(), IndexError> {
        self.check_lists(&e)?;
        if let Some(last) = &self.last {
            if canonical_cmp(last, &e) == Ordering::Greater {
                return Err(IndexError::BadCatalog(format!(
                    "entry {} (id {:?}) is out of canonical order",
                    e.value, e.id
                )));
            }
        }
        let number = u32::try_from(self.n)
            .map_err(|_| IndexError::TooLarge { what: "entries or lists", max: u64::from(u32::MAX) })?;
        let set = self.list_set(&e.lists);
        let id = self.strings.intern(&e.id);
        let label = self.strings.intern(&e.label);
        let mut record = Vec::with_capacity(format::ENTRY_RECORD_LEN);
        EntryRecord { id, label, list_set: set }.encode(&mut record);
        self.entries.write(&record)?;
        self.items.push(ItemKey(id, number))?;
        let kind = e.value.kind();
        match self.kinds.last_mut() {
            Some(k) if k.kind == kind => k.n += 1,
            _ => self.kinds.push(KindRun { kind, first: self.n, n: 1, at: self.values.len }),
        }
        let mut value = Vec::with_capacity(32);
        encode_value(&e.value, &mut value);
        self.values.write(&value)?;
        self.n += 1;
        self.last = Some(e);
        Ok(())
    }

    /// The number of the set `lists`, recording it the first time.
    fn list_set(&mut self, lists: &[u32]) -> u32 {
        if let Some((l, id)) = &self.last_set {
            if l.as_slice() == lists {
                return *id;
            }
        }
        let next = self.set_ids.len() as u32;
        let (sets, members) = (&mut self.sets, &mut self.members);
        let id = *self.set_ids.entry(lists.to_vec()).or_insert_with(|| {
            let start = (members.len() / format::LIST_MEMBER_LEN) as u32;
            ListSetRecord { start, len: lists.len() as u32 }.encode(sets);
            lists.iter().for_each(|&l| put_u32(members, l));
            next
        });
        self.last_set = Some((lists.to_vec(), id));
        id
    }

    /// Writes the file and renames it into place.
    pub fn finish(mut self) -> Result<Written, IndexError> {
        self.entries.close()?;
        self.values.close()?;
        let n = self.n as usize;
        let mut list_bytes = Vec::with_capacity(self.lists.len() * format::LIST_RECORD_LEN);
        self.lists.iter().for_each(|r| r.encode(&mut list_bytes));
        let mut bodies: Vec<(u32, u8, u64, Body)> = vec![
            (format::TAG_STRINGS, 0, 0, Body::Bytes(std::mem::take(&mut self.strings.bytes))),
            (format::TAG_LISTS, 0, 0, Body::Bytes(list_bytes)),
            (format::TAG_LIST_SETS, 0, 0, Body::Bytes(std::mem::take(&mut self.sets))),
            (format::TAG_LIST_MEMBERS, 0, 0, Body::Bytes(std::mem::take(&mut self.members))),
            (format::TAG_ENTRIES, 0, 0, Body::Entries),
            (format::TAG_ITEMS, 0, 0, Body::Items),
        ];
        drop(std::mem::replace(&mut self.strings, Strings::new()));
        self.set_ids = HashMap::with_hasher(FastState::new());
        for (i, k) in self.kinds.iter().enumerate() {
            let code = k.kind.code();
            bodies.push((format::TAG_VALUES, code, k.first, Body::Values(i)));
            let structure = match k.kind {
                Kind::Pdq | Kind::Vpdq => Some(self.options.pdq),
                Kind::Phash => Some(self.options.phash),
                _ => None,
            };
            let kn = k.n as usize;
            let words = k.kind.byte_len() / 8;
            match structure {
                Some(Structure::Mih { substrings: None }) if kn < SMALL_SECTION => {}
                Some(Structure::Mih { substrings }) => {
                    for spec in mih::plan(k.kind.bits(), kn, substrings) {
                        bodies.push((format::TAG_MIH, code, spec.param(), Body::Mih(i, spec)));
                    }
                }
                Some(Structure::BkTree) => {
                    let mut values = Vec::new();
                    self.values
                        .range(k.at, k.n * k.kind.byte_len() as u64)
                        .and_then(|mut r| r.read_to_end(&mut values))
                        .map_err(|e| io_error(self.values.file.path(), "reading back", e))?;
                    let (count, nodes) = BkTree::build(&values, words);
                    bodies.push((format::TAG_BKTREE, code, count, Body::Bytes(nodes)));
                }
                Some(Structure::Scan) | None => {}
            }
            if crate::index::tmk::has_sections(k.kind) {
                // The values are digests, 32 bytes each: read back, then the signatures.
                let mut raw = Vec::new();
                self.values
                    .range(k.at, k.n * k.kind.byte_len() as u64)
                    .and_then(|mut r| r.read_to_end(&mut raw))
                    .map_err(|e| io_error(self.values.file.path(), "reading back", e))?;
                let values: Vec<HashValue> = raw
                    .chunks_exact(k.kind.byte_len())
                    .map(|c| format::decode_value(k.kind, c))
                    .collect::<Result<_, _>>()?;
                let refs: Vec<&HashValue> = values.iter().collect();
                let (count, signatures, averages) = crate::index::tmk::build(&refs, &self.signatures)?;
                bodies.push((format::TAG_TMK_SIGNATURES, code, count, Body::Bytes(signatures)));
                bodies.push((format::TAG_TMK_AVERAGES, code, count, Body::Bytes(averages)));
            }
        }
        let len = |b: &Body| -> u64 {
            match b {
                Body::Bytes(v) => v.len() as u64,
                Body::Entries => (n * format::ENTRY_RECORD_LEN) as u64,
                Body::Items => (n * format::ITEM_RECORD_LEN) as u64,
                Body::Values(i) => self.kinds[*i].n * self.kinds[*i].kind.byte_len() as u64,
                Body::Mih(i, spec) => table_len(*spec, self.kinds[*i].n as usize) as u64,
            }
        };
        let table_end = (format::HEADER_LEN + bodies.len() * format::SECTION_RECORD_LEN) as u64;
        let mut table = Vec::with_capacity(bodies.len());
        let mut at = pad8(table_end);
        for (tag, kind, param, body) in &bodies {
            let l = len(body);
            table.push(SectionRecord {
                tag: *tag,
                kind: *kind,
                reserved: [0; 3],
                param: *param,
                offset: at,
                len: l,
            });
            at = pad8(at + l);
        }
        let file_len = at;

        let out = TempFile::beside(&self.path)?;
        let err = |e| io_error(&self.path, "writing", e);
        let handle = out.file().try_clone().map_err(err)?;
        let mut w =
            Hashing { inner: BufWriter::with_capacity(1 << 20, handle), sha: sha2::Sha256::new(), at: 0 };
        let mut head = Vec::new();
        Header {
            version: format::FORMAT_VERSION,
            header_len: format::HEADER_LEN as u32,
            file_len,
            section_count: bodies.len() as u32,
            reserved: 0,
        }
        .encode(&mut head);
        table.iter().for_each(|s| s.encode(&mut head));
        w.write_all(&head).map_err(err)?;
        let items = std::mem::replace(&mut self.items, Sorter::new(&self.path, 1)).finish()?;
        let mut items = Some(items);
        for ((_, _, _, body), s) in bodies.iter().zip(&table) {
            w.pad_to(s.offset).map_err(err)?;
            match body {
                Body::Bytes(v) => w.write_all(v).map_err(err)?,
                Body::Entries => {
                    let mut r = self.entries.range(0, s.len).map_err(err)?;
                    copy_exact(&mut r, &mut w, s.len).map_err(err)?;
                }
                Body::Items => {
                    let mut buf = Vec::with_capacity(1 << 16);
                    for key in items.take().into_iter().flatten() {
                        ItemRecord { entry: key?.1 }.encode(&mut buf);
                        if buf.len() >= 1 << 16 {
                            w.write_all(&buf).map_err(err)?;
                            buf.clear();
                        }
                    }
                    w.write_all(&buf).map_err(err)?;
                }
                Body::Values(i) => {
                    let mut r = self.values.range(self.kinds[*i].at, s.len).map_err(err)?;
                    copy_exact(&mut r, &mut w, s.len).map_err(err)?;
                }
                Body::Mih(i, spec) => {
                    let k = self.kinds[*i];
                    let source =
                        SpoolValues { spool: &self.values, at: k.at, len: k.n * k.kind.byte_len() as u64 };
                    write_table(&source, k.n as usize, k.kind.byte_len() / 8, *spec, self.budget, &mut w)
                        .map_err(err)?;
                }
            }
            if w.at != s.offset + s.len {
                return Err(IndexError::BadCatalog(format!(
                    "section {} came out at {} bytes, {} were planned",
                    s.tag,
                    w.at - s.offset,
                    s.len
                )));
            }
        }
        w.pad_to(file_len).map_err(err)?;
        let Hashing { inner, sha, .. } = w;
        let mut file = inner.into_inner().map_err(|e| err(e.into_error()))?;
        let checksum: [u8; 32] = sha.finalize().into();
        file.seek(SeekFrom::Start(format::CHECKSUM_OFFSET as u64)).map_err(err)?;
        file.write_all(&checksum).map_err(err)?;
        drop(file);
        out.persist(&self.path)?;
        Ok(Written { entries: n as u32, file_len, checksum })
    }
}

/// Where a section's bytes come from.
enum Body {
    Bytes(Vec<u8>),
    Entries,
    Items,
    /// The values of `kinds[i]`.
    Values(usize),
    /// The MIH table of `kinds[i]` for a substring.
    Mih(usize, Spec),
}

fn pad8(x: u64) -> u64 {
    x.div_ceil(8) * 8
}

/// Copies exactly `len` bytes from `r` to `w`.
fn copy_exact(r: &mut impl Read, w: &mut impl Write, len: u64) -> std::io::Result<()> {
    let copied = std::io::copy(r, w)?;
    if copied != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// A writer hashing what it writes (the checksum is taken over the whole file with its
/// field zero, which is what the header holds while it is written).
struct Hashing<W> {
    inner: W,
    sha: sha2::Sha256,
    at: u64,
}

impl<W: Write> Hashing<W> {
    fn pad_to(&mut self, to: u64) -> std::io::Result<()> {
        let zeros = [0u8; 8];
        while self.at < to {
            let k = (to - self.at).min(8) as usize;
            self.write_all(&zeros[..k])?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.sha.update(&buf[..k]);
        self.at += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
