//! Hash lists: reading the formats lists come in, and applying them to a [`Catalog`].
//!
//! Reading turns the bytes of one list file into a [`ParsedList`]: [`Record`]s (a hash,
//! the provider's id, a label, a deleted flag, the line), [`Tombstone`]s (remove every
//! entry with this id), [`Reject`]s (line and reason, for `file:line: reason`) and counts
//! of skipped records (kinds mediamatch cannot compute, such as PhotoDNA). One bad line
//! never stops the others, unless [`ParseOptions::strict`] asks to stop at the first.
//!
//! | format | module | shape |
//! | --- | --- | --- |
//! | [`ListFormat::Text`], [`ListFormat::Pytx`] | [`text`] | `KIND:HEX`, bare `HEX` with a default kind, or `SIGNAL_TYPE VALUE` |
//! | [`ListFormat::Csv`], [`ListFormat::Tsv`] | [`csv`] | a header naming the columns; also `mediamatch hash --format csv` |
//! | [`ListFormat::Jsonl`] | [`jsonl`] | one JSON object a line (StopNCII, Tech Against Terrorism shapes) |
//! | [`ListFormat::Json`], [`ListFormat::Stopncii`] | [`jsonl`] | JSON documents: StopNCII `FetchHashes` pages, arrays of records |
//! | [`ListFormat::Ncmec`] | [`ncmec`] | NCMEC hash-sharing v2 `queryResult` XML |
//!
//! Any of them may be gzip-compressed ([`detect`]); kinds are named by any alias in
//! [`kind`]; statuses by any spelling in [`status`]. A value without a kind is rejected,
//! never guessed: 64 hex digits could be PDQ or SHA-256.
//!
//! Applying ([`delta::apply`]) merges parsed lists into a catalog for one list name;
//! [`update::plan`] applies them to an opened index as the delta a commit writes;
//! [`build::ListBuilder`] turns list files into a new index file with bounded memory,
//! with `apply`'s rules but without a catalog (what `mediamatch build` runs).
//!
//! ```
//! use mediamatch::catalog::Catalog;
//! use mediamatch::lists::{self, delta, ParseOptions};
//!
//! let file = b"# our own list\nmd5:d41d8cd98f00b204e9800998ecf8427e\n";
//! let source = lists::ListFile::from_bytes("local.txt", file, &ParseOptions::default()).unwrap();
//! assert_eq!(source.list.records.len(), 1);
//!
//! let mut catalog = Catalog::default();
//! let opts = delta::ApplyOptions { mode: delta::Mode::Delta, imported_at: 1_700_000_000 };
//! let outcome = delta::apply(&mut catalog, "local", std::slice::from_ref(&source), &opts);
//! assert_eq!(outcome.counts.added, 1);
//! assert_eq!(catalog.lists[0].version, 1);
//! // The same file again changes nothing.
//! let again = delta::apply(&mut catalog, "local", std::slice::from_ref(&source), &opts);
//! assert_eq!((again.counts.unchanged, again.changed, catalog.lists[0].version), (1, false, 1));
//! ```
//!
//! [`Catalog`]: crate::catalog::Catalog

pub mod build;
pub mod csv;
pub mod delta;
pub mod detect;
pub mod jsonl;
pub mod kind;
pub mod ncmec;
mod record;
pub mod reject;
pub mod status;
pub mod text;
pub mod update;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::Digest;

use crate::hash::Kind;
use record::skip_kind;
pub use record::{
    Record, Tombstone, SKIP_TMK_LINK, SKIP_VARIANT, SKIP_VPDQ_DUPLICATE, SKIP_VPDQ_EMPTY, SKIP_VPDQ_QUALITY,
};

/// The most frames one vPDQ value may hold: a day of video at one hash a second. A value
/// with more is rejected.
pub const MAX_VPDQ_FRAMES: usize = 86_400;
pub use reject::{Reject, RejectReason};

/// Why a hash list could not be read at all. (A bad line is not an error: it becomes a
/// [`Reject`] and the others are read.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The list file could not be read.
    #[error("cannot read list: {0}")]
    Io(#[from] std::io::Error),
    /// A list file could not be read or parsed; wraps the cause with the path.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<ListError>,
    },
    /// The file starts with the gzip magic but does not decompress.
    #[error("corrupt gzip data: {0}")]
    Gzip(String),
    /// The list (as stored, or once decompressed) is larger than [`ParseOptions::max_bytes`].
    /// Reading stops at the limit: memory never grows past it.
    #[error("list is larger than the limit of {limit} bytes (as stored or once decompressed)")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file is UTF-16; lists must be UTF-8.
    #[error("the file is UTF-16; convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")]
    Utf16,
    /// The file is an HTML page (an error or login page saved instead of the list), read
    /// with `--format auto` or `ncmec`; see [`detect::html_start`].
    #[error("looks like an HTML page, not a hash list: it starts with {start} (an error or login page saved instead of the list?)")]
    Html {
        /// The page's opening tag, as written.
        start: String,
    },
    /// A JSON document or XML page is not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A CSV/TSV header names no hash column.
    #[error("the header names no hash column (expected one of hash, hash_value, value, hash_digest, signal): {header:?}")]
    NoHashColumn {
        /// The header line.
        header: String,
    },
    /// The CSV reader failed.
    #[error("bad CSV: {0}")]
    Csv(String),
    /// A JSON document is malformed (JSON cannot be resynchronised after an error).
    #[error("line {line}: bad JSON: {message}")]
    Json {
        /// 1-based line of the error.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// An XML page is malformed or is not an NCMEC `queryResult`.
    #[error("line {line}: bad NCMEC XML: {message}")]
    Xml {
        /// 1-based line of the error.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// `--format` names no format.
    #[error(
        "unknown list format {0:?} (expected auto, text, csv, tsv, jsonl, json, pytx, stopncii or ncmec)"
    )]
    UnknownFormat(String),
}

/// A list file format (`--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// Detect from the content ([`detect::detect`]).
    #[default]
    Auto,
    /// One hash a line ([`text`]).
    Text,
    /// Comma-separated with a header ([`csv`]).
    Csv,
    /// Tab-separated with a header ([`csv`]).
    Tsv,
    /// JSON Lines ([`jsonl`]).
    Jsonl,
    /// JSON documents ([`jsonl`]).
    Json,
    /// python-threatexchange file lines `SIGNAL_TYPE VALUE` (read by the [`text`] reader).
    Pytx,
    /// Saved StopNCII `FetchHashes` pages (read as [`ListFormat::Json`]).
    Stopncii,
    /// NCMEC hash-sharing v2 XML pages ([`ncmec`]).
    Ncmec,
}

impl ListFormat {
    /// The name used by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Auto => "auto",
            ListFormat::Text => "text",
            ListFormat::Csv => "csv",
            ListFormat::Tsv => "tsv",
            ListFormat::Jsonl => "jsonl",
            ListFormat::Json => "json",
            ListFormat::Pytx => "pytx",
            ListFormat::Stopncii => "stopncii",
            ListFormat::Ncmec => "ncmec",
        }
    }

    /// Every format, `Auto` first.
    pub const ALL: [ListFormat; 9] = [
        ListFormat::Auto,
        ListFormat::Text,
        ListFormat::Csv,
        ListFormat::Tsv,
        ListFormat::Jsonl,
        ListFormat::Json,
        ListFormat::Pytx,
        ListFormat::Stopncii,
        ListFormat::Ncmec,
    ];
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ListFormat {
    type Err = ListError;
    fn from_str(s: &str) -> Result<ListFormat, ListError> {
        ListFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ListError::UnknownFormat(s.to_string()))
    }
}

/// How to read a list.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// The format, or [`ListFormat::Auto`].
    pub format: ListFormat,
    /// The kind of values written without one (`--kind`). Kinds written in the file win.
    pub kind: Option<Kind>,
    /// Stop at the first rejected record (`--strict`); the [`ParsedList`] then holds one
    /// reject and the caller must not apply it.
    pub strict: bool,
    /// The most bytes a list file may hold, and a gzip list decompress to
    /// ([`DEFAULT_MAX_BYTES`] by default; `--max-list-size`). A larger list is refused with
    /// [`ListError::TooLarge`] after reading at most one byte over the limit.
    pub max_bytes: u64,
}

/// The default of [`ParseOptions::max_bytes`]: 4 GiB, above the largest clearing-house
/// lists (tens of millions of hashes) and below what a gzip bomb or `/dev/zero` needs to
/// exhaust memory.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { format: ListFormat::Auto, kind: None, strict: false, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// What was read from one list file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedList {
    /// The format read (never [`ListFormat::Auto`]).
    pub format: ListFormat,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// The records, in file order.
    pub records: Vec<Record>,
    /// The id tombstones, in file order.
    pub tombstones: Vec<Tombstone>,
    /// The rejected records, in file order (at most one when strict).
    pub rejects: Vec<Reject>,
    /// Records skipped on purpose, by reason (`unsupported kind photodna`,
    /// [`SKIP_VARIANT`], ...).
    pub skipped: BTreeMap<String, u64>,
    /// The TMK+PDQF signatures that the `tmk` records name by their SHA-256.
    pub signatures: crate::catalog::Signatures,
}

impl ParsedList {
    /// The number of skipped records, all reasons together.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// The skipped records by kind (`photodna`, `tmk`, ...; `variant` for dihedral-variant
    /// rows, any other reason under its own text); the counts add up to [`ParsedList::skipped_total`].
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mediamatch::lists::{self, ParseOptions};
    ///
    /// let file = b"photodna:0a1b\npdna:2c3d\nssvh:4e5f\nmd5:d41d8cd98f00b204e9800998ecf8427e\n";
    /// let list = lists::parse(file, &ParseOptions::default()).unwrap();
    /// assert_eq!(list.skipped_kinds(), BTreeMap::from([("photodna", 2), ("ssvh", 1)]));
    /// assert_eq!(list.skipped_total(), 3);
    /// ```
    pub fn skipped_kinds(&self) -> BTreeMap<&str, u64> {
        let mut kinds = BTreeMap::new();
        for (reason, n) in &self.skipped {
            *kinds.entry(skip_kind(reason)).or_insert(0) += n;
        }
        kinds
    }
}

/// Reads a list from its bytes (gzip or not); bytes (or their decompressed form) over
/// [`ParseOptions::max_bytes`] are [`ListError::TooLarge`].
pub fn parse(bytes: &[u8], opts: &ParseOptions) -> Result<ParsedList, ListError> {
    parse_into(bytes, opts, record::Sink::new(opts.kind, opts.strict))
}

/// Like [`parse`], but hands the records to `spill` in batches, in file order, instead of
/// keeping them (a streaming build): the [`ParsedList`] returned has no records, only the
/// tombstones, rejects, skips and signatures. When `spill` returns `false` the reading
/// stops early.
pub(crate) fn parse_spilling(
    bytes: &[u8],
    opts: &ParseOptions,
    spill: record::Spill<'_>,
) -> Result<ParsedList, ListError> {
    parse_into(bytes, opts, record::Sink::spilling(opts.kind, opts.strict, spill))
}

fn parse_into(
    bytes: &[u8],
    opts: &ParseOptions,
    mut sink: record::Sink<'_>,
) -> Result<ParsedList, ListError> {
    if bytes.len() as u64 > opts.max_bytes {
        return Err(ListError::TooLarge { limit: opts.max_bytes });
    }
    let gzip = detect::is_gzip(bytes);
    let inflated;
    let bytes = if gzip {
        inflated = detect::gunzip(bytes, opts.max_bytes)?;
        &inflated[..]
    } else {
        bytes
    };
    let text = detect::strip_bom(bytes)?;
    let format = match opts.format {
        ListFormat::Auto => detect::detect(text),
        f => f,
    };
    if matches!(format, ListFormat::Ncmec) {
        if let Some(start) = detect::html_start(text) {
            return Err(ListError::Html { start });
        }
    }
    let utf8 = || std::str::from_utf8(text).map_err(|_| ListError::NotUtf8);
    match format {
        ListFormat::Auto | ListFormat::Text | ListFormat::Pytx => text::read(text, &mut sink),
        ListFormat::Csv => csv::read(text, b',', &mut sink)?,
        ListFormat::Tsv => csv::read(text, b'\t', &mut sink)?,
        ListFormat::Jsonl => jsonl::read_lines(text, &mut sink),
        ListFormat::Json | ListFormat::Stopncii => jsonl::read_document(utf8()?, &mut sink)?,
        ListFormat::Ncmec => ncmec::read(utf8()?, &mut sink)?,
    }
    sink.finish_spill();
    Ok(ParsedList {
        format,
        gzip,
        records: sink.records,
        tombstones: sink.tombstones,
        rejects: sink.rejects,
        skipped: sink.skipped,
        signatures: sink.signatures,
    })
}

/// One parsed list file with its provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFile {
    /// The file name (without directories), kept as the list's provenance.
    pub name: String,
    /// SHA-256 (lowercase hex) of the file's bytes as stored (compressed if gzip).
    pub sha256: String,
    /// What was read.
    pub list: ParsedList,
}

impl ListFile {
    /// Parses `bytes` read from a file called `name`.
    pub fn from_bytes(name: &str, bytes: &[u8], opts: &ParseOptions) -> Result<ListFile, ListError> {
        Ok(ListFile { name: name.to_string(), sha256: sha256_hex(bytes), list: parse(bytes, opts)? })
    }

    /// Reads and parses the file at `path`; errors name the path.
    ///
    /// The file must be a regular file: a FIFO or a device (`/dev/zero`) is refused at
    /// once, without blocking. At most [`ParseOptions::max_bytes`] + 1 bytes are read: a
    /// longer file is [`ListError::TooLarge`].
    pub fn read(path: &Path, opts: &ParseOptions) -> Result<ListFile, ListError> {
        let (name, bytes) = read_file(path, opts)?;
        ListFile::from_bytes(&name, &bytes, opts).map_err(|e| wrap(path, e))
    }

    /// Like [`ListFile::read`], but hands the records to `spill` (see [`parse_spilling`]).
    pub(crate) fn read_spilling(
        path: &Path,
        opts: &ParseOptions,
        spill: record::Spill<'_>,
    ) -> Result<ListFile, ListError> {
        let (name, bytes) = read_file(path, opts)?;
        let sha256 = sha256_hex(&bytes);
        let list = parse_spilling(&bytes, opts, spill).map_err(|e| wrap(path, e))?;
        Ok(ListFile { name, sha256, list })
    }
}

fn wrap(path: &Path, e: ListError) -> ListError {
    ListError::File { path: path.to_path_buf(), source: Box::new(e) }
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The name (without directories) and bytes of the list file at `path`, read with the
/// checks [`ListFile::read`] names.
fn read_file(path: &Path, opts: &ParseOptions) -> Result<(String, Vec<u8>), ListError> {
    use std::io::Read;
    let wrap = |e: ListError| wrap(path, e);
    let file = crate::regular::open_regular(path).map_err(|e| wrap(e.into()))?;
    if file.metadata().map_err(|e| wrap(e.into()))?.len() > opts.max_bytes {
        return Err(wrap(ListError::TooLarge { limit: opts.max_bytes }));
    }
    let mut bytes = Vec::new();
    file.take(opts.max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| wrap(e.into()))?;
    if bytes.len() as u64 > opts.max_bytes {
        return Err(wrap(ListError::TooLarge { limit: opts.max_bytes }));
    }
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
    Ok((name, bytes))
}
