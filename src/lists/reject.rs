//! Rejected records: the line and the reason, printed by the CLI as `file:line: reason`.

use std::fmt;

use crate::hash::{Kind, ParseHashError};

/// One record that could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line of the record in the (decompressed) file.
    pub line: u64,
    /// Why it was rejected.
    pub reason: RejectReason,
}

impl fmt::Display for Reject {
    /// `LINE: REASON`; the CLI puts the file name in front.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.reason)
    }
}

/// Why a record was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// The hash value is not valid hex of the right length for its kind.
    #[error("bad {kind} hash {value:?}: {source}")]
    BadHash {
        /// The kind the value was read as.
        kind: Kind,
        /// The value as written (cut to 80 characters).
        value: String,
        /// What is wrong with it.
        source: ParseHashError,
    },
    /// The kind name is not one mediamatch knows (neither computable nor a known
    /// uncomputable kind).
    #[error("unknown hash kind {0:?} (expected pdq, phash, md5, sha1, sha256 or an alias)")]
    UnknownKind(String),
    /// A value without a kind, and no default kind given (`--kind`).
    #[error("{0}")]
    NoKind(NoKind),
    /// The kind column and a `kind:` prefix of the value disagree.
    #[error("kind {column:?} and value prefix {prefix:?} disagree")]
    KindConflict {
        /// The kind column's value.
        column: String,
        /// The value's `kind:` prefix.
        prefix: String,
    },
    /// The record has no hash value.
    #[error("no hash value")]
    MissingHash,
    /// The status is none of the spellings in [`crate::lists::status`].
    #[error("unknown status {0:?} (expected e.g. active, received, deleted, withdrawn, true, false)")]
    UnknownStatus(String),
    /// The line is not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// A JSON record could not be parsed or is not an object.
    #[error("bad JSON record: {0}")]
    BadJson(String),
    /// A field has a type that cannot hold the value (e.g. a JSON object as the hash).
    #[error("field {0:?} must be a string")]
    BadField(String),
    /// A text line with more than a hash on it, in a shape we do not know.
    #[error("unexpected text after the hash: {0:?} (expected `KIND:HEX`, `HEX` with --kind, or `SIGNAL_TYPE VALUE`)")]
    TrailingText(String),
    /// A CSV quoted field that does not close on its line (an unbalanced `"`). Hash lists
    /// never hold line breaks in a field, so the row is rejected and the next line is read
    /// as a row of its own, instead of the rest of the file becoming one field.
    #[error(
        "a quoted field runs past the end of the line (unbalanced '\"'); the next line is read on its own"
    )]
    UnclosedQuote,
    /// A vPDQ value that is neither one frame's 64 hex digits nor python-threatexchange's
    /// JSON array of `"hex,quality,timestamp"` frames, or has more frames than
    /// [`crate::lists::MAX_VPDQ_FRAMES`].
    #[error("bad vPDQ value: {0}")]
    BadVpdq(String),
    /// A `tmk` value that is not a TMK+PDQF signature (ThreatExchange's text form or the
    /// base64 of a `.tmk` file), or a bare digest that adds an entry.
    #[error("bad TMK value: {0}")]
    BadTmk(String),
    /// An NCMEC entry or tombstone without its `<id>`, or an entry without fingerprints.
    #[error("{0}")]
    BadEntry(&'static str),
}

/// A hash value without a kind: the number of hex digits, for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoKind {
    /// The length of the value.
    pub digits: usize,
}

impl fmt::Display for NoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits == 64 {
            f.write_str("64 hex digits without a kind: could be PDQ or SHA-256, never guessed; write pdq:HEX or sha256:HEX, or give --kind")
        } else {
            write!(f, "hash without a kind ({} characters); write KIND:HEX or give --kind", self.digits)
        }
    }
}

/// Cuts `s` to at most 80 characters for a message.
pub(crate) fn cut(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
