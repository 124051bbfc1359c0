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
//! In CSV, fields may be quoted (`"a, b"`, `""` for a quote) but never span lines: RFC 4180
//! allows a line break inside quotes, hash lists never hold one, and a single unbalanced
//! `"` (`bad,"label`) would otherwise swallow the rest of the file into one field, so that
//! every later row is lost in silence. A line whose quoted field is still open at its end
//! is rejected ([`RejectReason::UnclosedQuote`]) and the next line is read as a row of its
//! own. Line ends are `\n`, `\r\n` or a lone `\r`, as the CSV reader splits rows, and line
//! numbers count all three. TSV has no quoting. Lines starting with `#` are comments.

use super::record::{role_of, Fields, LineCounter, Role, Sink};
use super::reject::RejectReason;
use super::ListError;

/// Reads a CSV (`delimiter` `,`) or TSV (`\t`) document into `sink`.
pub(crate) fn read(text: &[u8], delimiter: u8, sink: &mut Sink) -> Result<(), ListError> {
    let quoting = delimiter != b'\t';
    // Lines with an open quote at their end are blanked (same offsets, so the same line
    // numbers) before the CSV reader sees them, and rejected in file order below.
    let unclosed = if quoting { unclosed_quote_lines(text, delimiter) } else { Vec::new() };
    let blanked;
    let input = if unclosed.is_empty() {
        text
    } else {
        let mut copy = text.to_vec();
        for &(start, end) in &unclosed {
            copy[start..end].fill(b' ');
        }
        blanked = copy;
        &blanked[..]
    };
    let mut pending = unclosed.iter().map(|&(start, _)| start).peekable();
    let mut lines = LineCounter::with_cr(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(quoting)
        .comment(Some(b'#'))
        .from_reader(input);
    let mut row = csv::ByteRecord::new();
    // The header: the first row that is not blank.
    let (header, header_at) = loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) if pending.peek().is_none() => return Ok(()),
            Ok(false) => break (row.clone(), usize::MAX),
            Ok(true) if row.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) => continue,
            Ok(true) => break (row.clone(), row.position().map_or(0, |p| p.byte() as usize)),
            Err(e) => return Err(ListError::Csv(e.to_string())),
        }
    };
    if let Some(&bad) = pending.peek() {
        if bad <= header_at {
            return Err(ListError::Csv(format!(
                "line {}: a quoted field runs past the end of the line before the header (unbalanced '\"')",
                lines.line_at(bad)
            )));
        }
    }
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
        let more = match reader.read_byte_record(&mut row) {
            Ok(more) => more,
            Err(e) => return Err(ListError::Csv(e.to_string())),
        };
        // The reader's own line number lags by one after a CRLF, and its position is that
        // of the comment lines before the row; count from the row's first byte instead.
        let mut start = if more { row.position().map_or(0, |p| p.byte()) as usize } else { text.len() };
        loop {
            match text.get(start) {
                Some(b'\r' | b'\n') => start += 1,
                Some(b'#') => {
                    start += text[start..].iter().position(|&b| matches!(b, b'\r' | b'\n')).unwrap_or(0);
                    if text[start] == b'#' {
                        break;
                    }
                }
                _ => break,
            }
        }
        while let Some(bad) = pending.next_if(|&bad| bad < start || !more) {
            if sink.full() {
                return Ok(());
            }
            let line = lines.line_at(bad);
            sink.reject(line, RejectReason::UnclosedQuote);
        }
        if !more || sink.full() {
            return Ok(());
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

/// The byte ranges (start, end without the line end) of the lines on which a quoted field
/// is still open at the line end, read as the CSV reader reads them (non-strict RFC 4180:
/// a `"` opens a quoted field only at a field's start, `""` inside quotes is a quote, text
/// after a closing quote is kept). `#` comment lines are skipped, as the reader skips
/// them. One pass, no allocation unless a line is bad.
fn unclosed_quote_lines(text: &[u8], delimiter: u8) -> Vec<(usize, usize)> {
    let mut bad = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let end = text[i..].iter().position(|&b| b == b'\n' || b == b'\r').map_or(text.len(), |p| i + p);
        let line = &text[i..end];
        if !line.starts_with(b"#") && ends_quoted(line, delimiter) {
            bad.push((i, end));
        }
        i = end + 1;
    }
    bad
}

/// Whether a quoted field is open at the end of `line` (one physical line).
fn ends_quoted(line: &[u8], delimiter: u8) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    if !line.contains(&b'"') {
        return false;
    }
    let mut state = State::FieldStart;
    for &b in line {
        state = match state {
            _ if b == delimiter && state != State::Quoted => State::FieldStart,
            State::FieldStart if b == b'"' => State::Quoted,
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted => State::Unquoted,
        };
    }
    state == State::Quoted
}
