//! Records, tombstones, and turning the fields of one record into either.

use std::collections::BTreeMap;

use super::kind::{lookup, KindName};
use super::reject::{cut, NoKind, Reject, RejectReason};
use super::status::is_deleted;
use crate::catalog::Signatures;
use crate::hash::{HashValue, Kind};

/// One hash read from a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The hash.
    pub value: HashValue,
    /// The provider's id for the item (empty when the list has none).
    pub id: String,
    /// A label or classification (empty when the list has none).
    pub label: String,
    /// The list says this hash is withdrawn: remove `(value, id)` from the list (with an
    /// empty id: every entry with this value).
    pub deleted: bool,
    /// 1-based line in the (decompressed) file.
    pub line: u64,
}

/// "Remove every entry with this id from the list" (NCMEC `<deletedImage>` and
/// `<deletedVideo>` name the id of the entry they withdraw, not its hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    /// The id whose entries are withdrawn.
    pub id: String,
    /// 1-based line in the file.
    pub line: u64,
}

/// The fields of one record, as found in a line, a CSV row, a JSON object or an XML
/// element. Empty strings count as absent.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fields<'a> {
    pub hash: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub id: Option<&'a str>,
    pub label: Option<&'a str>,
    pub status: Option<&'a str>,
    /// The dihedral variant of `mediamatch hash --format csv` rows (`orig`, `rot90`, ...).
    pub variant: Option<&'a str>,
}

/// Takes a batch of records off a [`Sink`] (draining the vector); `false` stops the
/// reading.
pub(crate) type Spill<'a> = &'a mut dyn FnMut(&mut Vec<Record>) -> bool;

/// Records a sink collects before handing them to its [`Spill`].
const SPILL_BATCH: usize = 1 << 14;

/// Where the readers put what they read. Stops taking input after the first reject when
/// strict, and when its spill says stop.
pub(crate) struct Sink<'a> {
    pub records: Vec<Record>,
    pub tombstones: Vec<Tombstone>,
    pub rejects: Vec<Reject>,
    pub skipped: BTreeMap<String, u64>,
    pub signatures: Signatures,
    pub default_kind: Option<Kind>,
    pub strict: bool,
    /// Where records go in batches instead of staying in `records` (a streaming build).
    spill: Option<Spill<'a>>,
    stopped: bool,
}

impl<'a> Sink<'a> {
    pub fn new(default_kind: Option<Kind>, strict: bool) -> Sink<'a> {
        Sink {
            records: Vec::new(),
            tombstones: Vec::new(),
            rejects: Vec::new(),
            skipped: BTreeMap::new(),
            signatures: Signatures::default(),
            default_kind,
            strict,
            spill: None,
            stopped: false,
        }
    }

    /// A sink that hands its records to `spill` in batches of file order instead of
    /// keeping them ([`Sink::finish_spill`] hands the last batch).
    pub fn spilling(default_kind: Option<Kind>, strict: bool, spill: Spill<'a>) -> Sink<'a> {
        Sink { spill: Some(spill), ..Sink::new(default_kind, strict) }
    }

    /// Whether the reader should stop (strict mode after a reject, or the spill said so).
    pub fn full(&self) -> bool {
        self.stopped || (self.strict && !self.rejects.is_empty())
    }

    /// Keeps a record, handing a full batch to the spill.
    fn push(&mut self, r: Record) {
        self.records.push(r);
        if self.records.len() >= SPILL_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if let Some(spill) = self.spill.as_mut() {
            if !self.stopped && !self.records.is_empty() && !spill(&mut self.records) {
                self.stopped = true;
            }
            self.records.clear();
        }
    }

    /// Hands the records still held to the spill (if there is one).
    pub fn finish_spill(&mut self) {
        self.flush();
    }

    pub fn reject(&mut self, line: u64, reason: RejectReason) {
        if !self.full() {
            self.rejects.push(Reject { line, reason });
        }
    }

    pub fn skip(&mut self, reason: &str) {
        match self.skipped.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.skipped.insert(reason.to_string(), 1);
            }
        }
    }

    pub fn tombstone(&mut self, id: &str, line: u64) {
        if !self.full() {
            self.tombstones.push(Tombstone { id: id.to_string(), line });
        }
    }

    /// Validates `f` and records the outcome: a record, a skip or a reject.
    pub fn fields(&mut self, f: Fields<'_>, line: u64) {
        if self.full() {
            return;
        }
        match self.build(f, line) {
            Ok(Some(r)) => self.push(r),
            Ok(None) => {}
            Err(reason) => self.reject(line, reason),
        }
    }

    fn build(&mut self, f: Fields<'_>, line: u64) -> Result<Option<Record>, RejectReason> {
        if let Some(v) = nonempty(f.variant) {
            if !v.eq_ignore_ascii_case("orig") {
                // The matcher hashes the 8 variants of each upload, so the original's hash
                // finds rotated and mirrored copies; indexing the variants too would only
                // multiply the entries.
                self.skip(SKIP_VARIANT);
                return Ok(None);
            }
        }
        let column = nonempty(f.kind);
        if let Some(KindName::Unsupported(canonical)) = column.map(lookup) {
            self.skip(&format!("{UNSUPPORTED_PREFIX}{canonical}"));
            return Ok(None);
        }
        let hash = nonempty(f.hash).ok_or(RejectReason::MissingHash)?;
        let deleted = match nonempty(f.status) {
            None => false,
            Some(s) => is_deleted(s).ok_or_else(|| RejectReason::UnknownStatus(cut(s)))?,
        };
        // A `kind:` prefix on the value (`pdq:...`), checked against the kind column.
        let (prefix, hex) = match hash.split_once(':') {
            Some((p, h)) => (Some(p.trim()), h.trim()),
            None => (None, hash),
        };
        let name = match (column, prefix) {
            (Some(c), Some(p)) => {
                if lookup(c) != lookup(p) {
                    return Err(RejectReason::KindConflict { column: cut(c), prefix: cut(p) });
                }
                Some(c)
            }
            (Some(c), None) => Some(c),
            (None, p) => p,
        };
        let kind = match name {
            Some(n) => match lookup(n) {
                KindName::Known(k) => k,
                KindName::Unsupported(canonical) => {
                    self.skip(&format!("{UNSUPPORTED_PREFIX}{canonical}"));
                    return Ok(None);
                }
                KindName::Unknown => return Err(RejectReason::UnknownKind(cut(n))),
            },
            None => match self.default_kind {
                Some(k) => k,
                None => return Err(RejectReason::NoKind(NoKind { digits: hex.chars().count() })),
            },
        };
        if kind == Kind::Tmk && hex.len() != 2 * Kind::Tmk.byte_len() {
            return self.tmk_signature(f, hex, deleted, line).map(Some);
        }
        if kind == Kind::Tmk && !deleted {
            // A digest alone names a signature but does not carry it: only a withdrawal
            // can use it.
            return Err(RejectReason::BadTmk(
                "a tmk value of 64 hex digits (a signature's SHA-256) can only withdraw an entry; \
                 adding one needs the signature itself"
                    .to_string(),
            ));
        }
        if kind == Kind::Vpdq && hex.len() != 2 * Kind::Vpdq.byte_len() {
            let (id, label) = (nonempty(f.id).unwrap_or(""), nonempty(f.label).unwrap_or(""));
            self.vpdq_video(hex, id, label, deleted, line)?;
            return Ok(None);
        }
        let value = HashValue::parse(kind, hex).map_err(|source| RejectReason::BadHash {
            kind,
            value: cut(hex),
            source,
        })?;
        Ok(Some(Record {
            value,
            id: nonempty(f.id).unwrap_or("").to_string(),
            label: nonempty(f.label).unwrap_or("").to_string(),
            deleted,
            line,
        }))
    }
}

impl Sink<'_> {
    /// A TMK+PDQF signature given whole: ThreatExchange's text form (`TMK1FVECPDQF|` and
    /// base64) or the standard base64 of the whole `.tmk` file. The record's value is the
    /// SHA-256 of the `.tmk` bytes; the bytes go to [`Sink::signatures`].
    fn tmk_signature(
        &mut self,
        f: Fields<'_>,
        text: &str,
        deleted: bool,
        line: u64,
    ) -> Result<Record, RejectReason> {
        use crate::video::tmk::{Signature, TEXT_PREFIX_LEN};
        let text = text.trim();
        let parsed = if text.as_bytes().get(TEXT_PREFIX_LEN) == Some(&b'|') {
            Signature::from_text(text)
        } else {
            let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 3);
            crate::base64::decode(text.as_bytes(), &mut bytes).map_err(|e| {
                RejectReason::BadTmk(format!("neither TMK text nor base64 of a .tmk file: {e}"))
            })?;
            Signature::read(&bytes)
        };
        let signature = parsed.map_err(|e| RejectReason::BadTmk(cut(&e.to_string())))?;
        let digest = self.signatures.insert(signature.write().into());
        Ok(Record {
            value: HashValue::Tmk(digest),
            id: nonempty(f.id).unwrap_or("").to_string(),
            label: nonempty(f.label).unwrap_or("").to_string(),
            deleted,
            line,
        })
    }

    /// A whole video's vPDQ (python-threatexchange's JSON array of `"hex,quality,timestamp"`
    /// frames, the form HMA banks and `mediamatch video hash --format json` give): one
    /// `vpdq` record per distinct frame of quality [`QUALITY_THRESHOLD`] or more, all with
    /// the video's id, as HMA's rule compares only those frames. A video without an id gets
    /// `vpdq-` and 16 hex digits of the SHA-256 of its frames' hashes, so its frames stay
    /// one item (the rule's compared share counts the item's frames) and a withdrawal of the
    /// same video names the same id.
    fn vpdq_video(
        &mut self,
        text: &str,
        id: &str,
        label: &str,
        deleted: bool,
        line: u64,
    ) -> Result<(), RejectReason> {
        use crate::video::vpdq::{from_pytx_json, QUALITY_THRESHOLD};
        use sha2::Digest;
        let frames = from_pytx_json(text).map_err(|e| RejectReason::BadVpdq(cut(&e)))?;
        if frames.len() > super::MAX_VPDQ_FRAMES {
            return Err(RejectReason::BadVpdq(format!(
                "{} frames, more than {}",
                frames.len(),
                super::MAX_VPDQ_FRAMES
            )));
        }
        let mut kept: Vec<crate::Pdq> = Vec::with_capacity(frames.len());
        let mut seen = std::collections::HashSet::with_capacity(frames.len());
        for f in &frames {
            if f.quality < QUALITY_THRESHOLD {
                self.skip(SKIP_VPDQ_QUALITY);
            } else if !seen.insert(f.hash) {
                self.skip(SKIP_VPDQ_DUPLICATE);
            } else {
                kept.push(f.hash);
            }
        }
        if kept.is_empty() {
            self.skip(SKIP_VPDQ_EMPTY);
            return Ok(());
        }
        let id = if id.is_empty() {
            let mut h = sha2::Sha256::new();
            for p in &kept {
                h.update(p.to_bytes());
            }
            let digest = h.finalize();
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("vpdq-{hex}")
        } else {
            id.to_string()
        };
        for hash in kept {
            self.push(Record {
                value: HashValue::Vpdq(hash),
                id: id.clone(),
                label: label.to_string(),
                deleted,
                line,
            });
        }
        Ok(())
    }
}

/// The skip reason of a vPDQ frame under HMA's quality threshold (50).
pub const SKIP_VPDQ_QUALITY: &str = "vpdq frame of quality under 50 (never compared)";
/// The skip reason of a vPDQ frame equal to an earlier frame of the same video.
pub const SKIP_VPDQ_DUPLICATE: &str = "vpdq frame repeating an earlier frame of its video";
/// The skip reason of a vPDQ video none of whose frames has quality 50.
pub const SKIP_VPDQ_EMPTY: &str = "vpdq video without a frame of quality 50";

/// The skip reason of a TMK+PDQF fingerprint given only as a link (NCMEC's
/// `<tmk-pdqf rel="self" href=".."/>` in `ENTRIES_LARGE_FINGERPRINTS` pages), which
/// mediamatch does not fetch.
pub const SKIP_TMK_LINK: &str = "tmk given only as a link (not fetched)";

/// The skip reason of the dihedral-variant rows of `mediamatch hash --format csv`.
pub const SKIP_VARIANT: &str = "dihedral variant (the matcher tries all 8 variants of each upload)";

/// How the skip reason of a record of a kind mediamatch cannot compute starts; the
/// kind's canonical name follows (`unsupported kind photodna`).
const UNSUPPORTED_PREFIX: &str = "unsupported kind ";

/// What a skip reason counts, for a summary by kind: the canonical name of an
/// uncomputable kind (`photodna`, `tmk`, ...), `variant` for [`SKIP_VARIANT`], else the
/// reason itself.
pub(crate) fn skip_kind(reason: &str) -> &str {
    if reason == SKIP_VARIANT {
        return "variant";
    }
    if reason == SKIP_TMK_LINK {
        return "tmk";
    }
    reason.strip_prefix(UNSUPPORTED_PREFIX).unwrap_or(reason)
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The roles of columns (CSV/TSV headers, JSON keys), matched case-insensitively with
/// `_`, `-` and spaces ignored; earlier names win when a record has several.
pub(crate) const HASH_NAMES: &[&str] = &["hash", "hashvalue", "value", "hashdigest", "signal"];
pub(crate) const KIND_NAMES: &[&str] = &["kind", "algorithm", "signaltype", "hashtype"];
pub(crate) const ID_NAMES: &[&str] = &["id", "externalid", "contentid"];
pub(crate) const LABEL_NAMES: &[&str] = &["label", "classification", "category", "tags", "ideology"];
pub(crate) const STATUS_NAMES: &[&str] = &["status", "hashstatus", "deleted"];
/// The `variant` column of `mediamatch hash --format csv`.
pub(crate) const VARIANT_NAMES: &[&str] = &["variant"];

/// Column roles, in [`Fields`] order plus the variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Hash,
    Kind,
    Id,
    Label,
    Status,
    Variant,
}

/// The role of a column or key name and its rank (lower wins), if any.
pub(crate) fn role_of(name: &str) -> Option<(Role, usize)> {
    let norm: String = name
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    for (role, names) in [
        (Role::Hash, HASH_NAMES),
        (Role::Kind, KIND_NAMES),
        (Role::Id, ID_NAMES),
        (Role::Label, LABEL_NAMES),
        (Role::Status, STATUS_NAMES),
        (Role::Variant, VARIANT_NAMES),
    ] {
        if let Some(rank) = names.iter().position(|n| *n == norm) {
            return Some((role, rank));
        }
    }
    None
}

/// Line numbers of byte offsets into one text, cheap when offsets grow.
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
    /// Whether a lone `\r` (old Mac line ends, which the CSV reader honours) ends a line.
    cr: bool,
}

impl<'a> LineCounter<'a> {
    /// Counts `\n` line ends (`\r\n` included).
    pub fn new(text: &'a [u8]) -> Self {
        LineCounter { text, pos: 0, line: 1, cr: false }
    }

    /// Counts `\n`, `\r\n` and lone `\r` line ends, as the CSV reader splits records.
    pub fn with_cr(text: &'a [u8]) -> Self {
        LineCounter { text, pos: 0, line: 1, cr: true }
    }

    /// The 1-based line of byte `offset` (clamped to the text).
    pub fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.text.len());
        if offset < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        let text = self.text;
        self.line += text[self.pos..offset]
            .iter()
            .enumerate()
            .filter(|&(i, &b)| {
                b == b'\n' || (self.cr && b == b'\r' && text.get(self.pos + i + 1) != Some(&b'\n'))
            })
            .count() as u64;
        self.pos = offset;
        self.line
    }
}

/// Calls `f(sink, line_number, line)` for every non-blank line of `text`, trimmed, with
/// 1-based line numbers; a line that is not UTF-8 is rejected; stops when the sink is full
/// (strict mode after a reject).
pub(crate) fn each_line(text: &[u8], sink: &mut Sink, mut f: impl FnMut(&mut Sink, u64, &str)) {
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        if sink.full() {
            return;
        }
        let line = i as u64 + 1;
        let Ok(s) = std::str::from_utf8(raw) else {
            sink.reject(line, RejectReason::NotUtf8);
            continue;
        };
        let s = s.trim();
        if !s.is_empty() {
            f(sink, line, s);
        }
    }
}
