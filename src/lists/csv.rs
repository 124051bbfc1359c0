//! CSV (RFC 4180) and TSV lists with a header row.
//!
//! Columns are found by their header, case-insensitively, with `_`, `-` and spaces
//! ignored (so `hashValue`, `hash_value` and `Hash Value` are one name):
//!
//! | role | header names, the first present wins |
//! | --- | --- |
//! | hash (required) | `hash`, `hash_value`, `value`, `hash_digest`, `signal` |
//! | kind | `kind`, `algorithm`, `signal_type`, `hash_type` |
//! | id | `id`, `external_id`, `content_id` |
//! | label | `label`, `classification`, `category`, `tags`, `ideology` |
//! | status | `status`, `hash_status`, `deleted` (see [`super::status`]) |
//! | variant | `variant` |
//!
//! Other columns are ignored. Without a kind column (or with an empty cell) the hash may
//! be written `KIND:HEX`, or the default kind (`--kind`) is used.
//!
//! The CSV of `mediamatch hash --format csv` (`kind,hash,quality,variant,id`) is read
//! the same way: the id is the hashed file's path; rows whose `variant` is neither empty
//! nor `orig` are the 7 rotated and mirrored variants of a perceptual hash and are
//! skipped (counted under [`super::record::SKIP_VARIANT`]), because the matcher hashes
//! the 8 variants of every upload and so finds rotated copies from the original alone.
//!
//! In CSV, fields may be quoted (`"a, b"`, `""` for a quote) and span lines; line numbers
//! are those of the row's first line. TSV has no quoting. Lines starting with `#` are
//! comments.

use super::record::{role_of, Fields, LineCounter, Role, Sink};
use super::reject::RejectReason;
use super::ListError;

/// Reads a CSV (`delimiter` `,`) or TSV (`\t`) document into `sink`.
pub(crate) fn read(text: &[u8], delimiter: u8, sink: &mut Sink) -> Result<(), ListError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(delimiter != b'\t')
        .comment(Some(b'#'))
        .from_reader(text);
    let mut row = csv::ByteRecord::new();
    // The header: the first row that is not blank.
    let header = loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) if row.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) => continue,
            Ok(true) => break row.clone(),
            Err(e) => return Err(ListError::Csv(e.to_string())),
        }
    };
    let mut columns: [Option<(usize, usize)>; 6] = [None; 6];
    for (i, name) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(name) else { continue };
        if let Some((role, rank)) = role_of(name) {
            let slot = &mut columns[role as usize];
            match slot {
                Some((_, r)) if *r <= rank => {}
                _ => *slot = Some((i, rank)),
            }
        }
    }
    if columns[Role::Hash as usize].is_none() {
        return Err(ListError::NoHashColumn {
            header: String::from_utf8_lossy(header.as_slice()).chars().take(200).collect(),
        });
    }
    let mut lines = LineCounter::new(text);
    let col = |role: Role| columns[role as usize].map(|(i, _)| i);
    let (hash, kind, id, label, status, variant) = (
        col(Role::Hash),
        col(Role::Kind),
        col(Role::Id),
        col(Role::Label),
        col(Role::Status),
        col(Role::Variant),
    );
    loop {
        if sink.full() {
            return Ok(());
        }
        match reader.read_byte_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(ListError::Csv(e.to_string())),
        }
        // The reader's own line number lags by one after a CRLF; count from the row's
        // first byte instead.
        let mut start = row.position().map_or(0, |p| p.byte()) as usize;
        while text.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let line = lines.line_at(start);
        if row.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let get = |c: Option<usize>| -> Result<Option<&str>, ()> {
            match c.and_then(|c| row.get(c)) {
                None => Ok(None),
                Some(b) => std::str::from_utf8(b).map(Some).map_err(|_| ()),
            }
        };
        let fields = (|| {
            Ok::<_, ()>(Fields {
                hash: get(hash)?,
                kind: get(kind)?,
                id: get(id)?,
                label: get(label)?,
                status: get(status)?,
                variant: get(variant)?,
            })
        })();
        match fields {
            Ok(f) => sink.fields(f, line),
            Err(()) => sink.reject(line, RejectReason::NotUtf8),
        }
    }
}
