//! Every record the CLI prints, as one enum: the JSON Lines schema.
//!
//! Each variant is one `type` (`{"type":"match",...}`); its fields serialize in the order
//! written here, which is the order of the JSON output. The text and CSV printers
//! (`super::print`) take the same records, so a command builds a record once and the
//! chosen format decides how it looks. Paths are [`PathText`]s, which serialize as `path`
//! plus `path_bytes` when the name is not UTF-8 (see `super::path_text`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::path_text::PathText;

/// One record of any command's output.
#[derive(Serialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Record<'a> {
    /// `scan`: a file matched a list entry.
    Match(ScanMatch<'a>),
    /// `scan --show-weak`: a candidate within a threshold cap whose E-value is over
    /// `--max-evalue`: not a match, for analysts (same fields as `match`).
    Weak(ScanMatch<'a>),
    /// `query`: a hash matched a list entry (also `"type":"match"`, with query fields).
    #[serde(rename = "match")]
    QueryMatch(QueryMatch<'a>),
    /// `scan`, `hash`: a file could not be read or checked.
    Error(FileError<'a>),
    /// `scan`: a file that is not an image (and matched no digest).
    NotImage(NotImage<'a>),
    /// `scan`: an image whose PDQ quality is below `--min-quality`.
    LowQuality(LowQuality<'a>),
    /// `scan`: the counts at the end of the run.
    Summary(ScanSummary),
    /// `scan`: the run stopped (the index changed while mapped). Written by the SIGBUS
    /// handler without allocating (`super::sigbus`); a test checks its bytes against this.
    #[cfg_attr(not(test), expect(dead_code, reason = "written byte by byte by the SIGBUS handler"))]
    Fatal(Fatal),
    /// `hash`: the hashes of one file.
    Hash(FileHashes<'a>),
    /// `info`: the description of an index.
    Info(IndexInfo),
    /// `import`: what one import did.
    Import(ImportSummary<'a>),
    /// `fetch`: what the fetch of one list did.
    #[cfg(feature = "fetch")]
    Fetch(&'a mediamatch::fetch::ListReport),
}

/// A scan match: the file, the entry and how it was found.
#[derive(Serialize, Debug)]
pub(crate) struct ScanMatch<'a> {
    /// The file.
    #[serde(flatten)]
    pub(crate) path: &'a PathText,
    /// The kind of hash that matched.
    pub(crate) kind: &'static str,
    /// Hamming distance (0 for digests).
    pub(crate) distance: u32,
    /// The E-value: unrelated entries expected this close by chance in this search.
    pub(crate) evalue: f64,
    /// The dihedral variant of the upload that matched (`null` for digests).
    pub(crate) variant: Option<&'static str>,
    /// The list of the entry.
    pub(crate) list: &'a str,
    /// The entry's id.
    pub(crate) id: &'a str,
    /// The entry's label.
    pub(crate) label: &'a str,
    /// The entry's hash, hex.
    pub(crate) hash: String,
    /// Found on the content inside a uniform border.
    pub(crate) trimmed: bool,
    /// Found on an edge-extended guess.
    pub(crate) extended: bool,
    /// Counted by corroboration of the item's kinds.
    pub(crate) corroborated: bool,
    /// The kinds of the item that matched.
    pub(crate) kinds: Vec<&'static str>,
    /// The frame of an animation the match came from; absent for frame 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) frame: Option<u32>,
    /// For a video (`scan --video`): the matched frame's time in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seconds: Option<f64>,
    /// For a vPDQ match: percent of the input's compared frames that matched the video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) query_percent: Option<f64>,
    /// For a vPDQ match: percent of the video's indexed frames that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compared_percent: Option<f64>,
    /// For a TMK+PDQF match: the level-1 score (cosine of the pure averages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) level1: Option<f32>,
    /// For a TMK+PDQF match: the level-2 score (the temporal match kernel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) level2: Option<f32>,
}

/// A query match: one hash, one entry, one list.
#[derive(Serialize, Debug)]
pub(crate) struct QueryMatch<'a> {
    /// The hash looked up, `KIND:HEX`.
    pub(crate) query: &'a str,
    /// Its kind.
    pub(crate) kind: &'static str,
    /// Hamming distance (0 for digests).
    pub(crate) distance: u32,
    /// The E-value: entries of the kind in the index times the chance an unrelated one
    /// comes this close ([`mediamatch::significance`]).
    pub(crate) evalue: f64,
    /// The entry's id.
    pub(crate) id: &'a str,
    /// The list.
    pub(crate) list: &'a str,
    /// The entry's label.
    pub(crate) label: &'a str,
}

/// A file that failed.
#[derive(Serialize, Debug)]
pub(crate) struct FileError<'a> {
    /// The file.
    #[serde(flatten)]
    pub(crate) path: &'a PathText,
    /// Why.
    pub(crate) error: &'a str,
}

/// A file that is not an image.
#[derive(Serialize, Debug)]
pub(crate) struct NotImage<'a> {
    /// The file.
    #[serde(flatten)]
    pub(crate) path: &'a PathText,
    /// What the decoder said.
    pub(crate) reason: &'a str,
}

/// An image whose PDQ hash was too unreliable to match.
#[derive(Serialize, Debug)]
pub(crate) struct LowQuality<'a> {
    /// The file.
    #[serde(flatten)]
    pub(crate) path: &'a PathText,
    /// Its PDQ quality (0-100).
    pub(crate) pdq_quality: u8,
}

/// The counts of a scan.
#[derive(Serialize, Debug, Clone, Copy)]
pub(crate) struct ScanSummary {
    /// Files reported.
    pub(crate) files: u64,
    /// Files decoded as images.
    pub(crate) images: u64,
    /// Files that are not images.
    pub(crate) not_images: u64,
    /// Files that failed.
    pub(crate) errors: u64,
    /// Matches.
    pub(crate) matches: u64,
    /// Files with at least one match.
    pub(crate) matched_files: u64,
    /// Weak candidates: within a threshold cap, over `--max-evalue` (not matches).
    pub(crate) weak: u64,
    /// Files with a weak candidate and no match.
    pub(crate) weak_files: u64,
    /// Images below `--min-quality`.
    pub(crate) low_quality: u64,
    /// FIFOs, sockets and devices passed over.
    pub(crate) skipped_special: u64,
    /// Symbolic links not followed.
    pub(crate) skipped_symlinks: u64,
    /// Wall time, seconds (3 decimals).
    pub(crate) elapsed_s: f64,
    /// Files per second (1 decimal).
    pub(crate) files_per_s: f64,
}

/// How far a scan got before it had to stop.
#[derive(Serialize, Debug)]
pub(crate) struct Fatal {
    /// What stopped it.
    pub(crate) error: &'static str,
    /// Files reported.
    pub(crate) files: u64,
    /// Matches reported.
    pub(crate) matches: u64,
    /// Files with a match.
    pub(crate) matched_files: u64,
    /// Files that failed.
    pub(crate) errors: u64,
}

/// The hashes of one file (hex), those computed.
#[derive(Serialize, Debug)]
pub(crate) struct FileHashes<'a> {
    /// The file.
    #[serde(flatten)]
    pub(crate) path: &'a PathText,
    /// PDQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pdq: Option<String>,
    /// PDQ quality (0-100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pdq_quality: Option<u8>,
    /// PDQ of the 8 dihedral variants, in `Variant::ALL` order (with `--dihedral`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pdq_dihedral: Option<Vec<String>>,
    /// pHash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phash: Option<String>,
    /// pHash of the 8 dihedral variants (with `--dihedral`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) phash_dihedral: Option<Vec<String>>,
    /// MD5 of the bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) md5: Option<String>,
    /// SHA-1 of the bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha1: Option<String>,
    /// SHA-256 of the bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    /// The EXIF orientation applied before hashing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) orientation: Option<u8>,
}

/// An index described. Fields in alphabetical order, as `info --json` always printed them.
#[derive(Serialize, Debug)]
pub(crate) struct IndexInfo {
    /// Entries over all kinds.
    pub(crate) entries: u64,
    /// The file's size.
    pub(crate) file_bytes: u64,
    /// The index format version.
    pub(crate) format_version: u32,
    /// The CPU path of the hashing kernels ([`mediamatch::hash::simd`]).
    pub(crate) hash_kernels: &'static str,
    /// The index path as given.
    pub(crate) index: String,
    /// Whether the JPEG decoder runs its SIMD code.
    pub(crate) jpeg_simd: bool,
    /// One section per kind.
    pub(crate) kinds: Vec<KindSection>,
    /// The lists with their provenance.
    pub(crate) lists: Vec<ListInfo>,
    /// The popcount code path selected on this CPU.
    pub(crate) popcount: &'static str,
    /// Segment files the index is made of (1 for a single file).
    pub(crate) segments: u64,
    /// Entries removed by tombstones and still in their segments until a merge.
    pub(crate) tombstones: u64,
    /// The thresholds in force at this index's size.
    pub(crate) significance: Effective,
    /// Bytes of strings (ids, labels, names).
    pub(crate) string_bytes: u64,
    /// Bytes of the entry and list tables.
    pub(crate) table_bytes: u64,
}

/// The effective thresholds of an index: what the E-value limit leaves of the caps, for
/// an upload that makes `queries`.
#[derive(Serialize, Debug)]
pub(crate) struct Effective {
    /// The E-value limit (`--max-evalue`).
    pub(crate) max_evalue: f64,
    /// The hashes per kind the upload queries (a still image with a border).
    pub(crate) queries_pdq: u32,
    /// pHash hashes queried.
    pub(crate) queries_phash: u32,
    /// Pairs of a pHash and a PDQ entry with the same id.
    pub(crate) item_pairs: u64,
    /// PDQ alone (cap: `--max-distance`).
    pub(crate) pdq: Capped,
    /// pHash alone.
    pub(crate) phash: Capped,
    /// Corroboration's pHash side, at its PDQ cap (cap: `--corroborate`).
    pub(crate) corroborate_phash: Capped,
    /// Corroboration's PDQ side, at its pHash cap.
    pub(crate) corroborate_pdq: Capped,
}

/// A threshold cap and what the E-value limit leaves of it.
#[derive(Serialize, Debug, Clone, Copy)]
pub(crate) struct Capped {
    /// The cap.
    pub(crate) cap: u32,
    /// The largest distance that counts (`null`: none).
    pub(crate) effective: Option<u32>,
}

/// One kind's section of an index.
#[derive(Serialize, Debug)]
pub(crate) struct KindSection {
    /// Entries of the kind.
    pub(crate) entries: u64,
    /// The kind.
    pub(crate) kind: &'static str,
    /// The search structure.
    pub(crate) structure: String,
    /// Bytes of the structure.
    pub(crate) structure_bytes: u64,
    /// Bytes of the values.
    pub(crate) value_bytes: u64,
}

/// One list of an index and its last import.
#[derive(Serialize, Debug)]
pub(crate) struct ListInfo {
    /// Entries added by the last import.
    pub(crate) added: u64,
    /// The list's fetch record (`mediamatch fetch`: source, checkpoint, last success and
    /// error), absent for a list never fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fetch: Option<serde_json::Value>,
    /// When (Unix time).
    pub(crate) imported_at: u64,
    /// The list's name.
    pub(crate) name: String,
    /// Lines rejected.
    pub(crate) rejected: u64,
    /// Entries removed.
    pub(crate) removed: u64,
    /// Records skipped (uncomputable kinds).
    pub(crate) skipped: u64,
    /// The file(s) imported.
    pub(crate) source: String,
    /// Their SHA-256.
    pub(crate) source_sha256: String,
    /// Entries unchanged.
    pub(crate) unchanged: u64,
    /// Entries updated.
    pub(crate) updated: u64,
    /// The list's version.
    pub(crate) version: u64,
}

/// What an import did to one list.
#[derive(Serialize, Debug)]
pub(crate) struct ImportSummary<'a> {
    /// The index path as given.
    pub(crate) index: String,
    /// The list.
    pub(crate) list: &'a str,
    /// The list's version after the import.
    pub(crate) version: u64,
    /// Entries added.
    pub(crate) added: u64,
    /// Entries updated.
    pub(crate) updated: u64,
    /// Entries removed.
    pub(crate) removed: u64,
    /// Entries unchanged.
    pub(crate) unchanged: u64,
    /// Lines rejected.
    pub(crate) rejected: u64,
    /// Records skipped, all kinds together.
    pub(crate) skipped: u64,
    /// Records skipped by kind (`photodna`, `tmk`, ...; `variant` for dihedral-variant rows).
    pub(crate) skipped_kinds: BTreeMap<String, u64>,
    /// Entries in the index after the import.
    pub(crate) entries: u64,
    /// Whether the list changed (else nothing was written).
    pub(crate) changed: bool,
    /// `--dry-run`: nothing was written.
    pub(crate) dry_run: bool,
}
