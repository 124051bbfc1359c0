//! JSON Lines, JSON documents, and saved StopNCII `FetchHashes` pages.
//!
//! A record is a JSON object whose keys are matched like CSV headers (see
//! [`super::csv`]): StopNCII's `{"signalType": "ImagePDQ", "hashValue": "...",
//! "hashStatus": "Active"}` and Tech Against Terrorism's `{"algorithm": "MD5",
//! "hash_digest": "...", "deleted": false, "id": 2819, "ideology": "islamist"}` are both
//! read without configuration. Only the fields a record needs are parsed: another field
//! never rejects a record, whatever it holds (`1e999` included). Numbers are read as
//! written (an id beyond 64 bits stays exact), booleans as their JSON text, an array of
//! strings (tags) as its items joined by `,`, `null` as absent.
//!
//! * **JSON Lines** (`jsonl`): one JSON value a line. An object is a record, except an
//!   object with a `hashRecords` array (a StopNCII page saved on one line), whose items
//!   are the records; an array's items are records. A line that is not valid JSON is
//!   rejected and reading goes on.
//! * **JSON documents** (`json`, `stopncii`): one or more JSON values, pretty-printed or
//!   not, in the same shapes: a StopNCII `FetchHashes` page `{"count": .., "hashRecords":
//!   [..], "nextPageToken": .., ..}`, a Tech Against Terrorism array of records, or a
//!   record. Each record gets the line its `{` is on. A syntax error ends the document
//!   and fails the whole file (JSON cannot be resynchronised).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::record::{each_line, role_of, Fields, LineCounter, Role, Sink};
use super::reject::RejectReason;
use super::ListError;

/// A JSON object with its values still as JSON text: only the fields a record needs are
/// parsed, so that a field mediamatch does not read (a score of `1e999`, an integer
/// beyond 64 bits) can never reject an otherwise valid record.
type RawObject<'a> = BTreeMap<String, &'a RawValue>;

/// Reads JSON Lines.
pub(crate) fn read_lines(text: &[u8], sink: &mut Sink) {
    each_line(text, sink, |sink, line, s| value(s, line, sink));
}

/// One JSON value of a line: a record, a page, or an array of records.
fn value(s: &str, line: u64, sink: &mut Sink) {
    let body = s.trim_start();
    if body.starts_with('{') {
        match serde_json::from_str::<RawObject<'_>>(s) {
            Ok(mut o) => match o.remove("hashRecords") {
                Some(items) if items.get().trim_start().starts_with('[') => {
                    match serde_json::from_str::<Vec<&RawValue>>(items.get()) {
                        Ok(items) => items.into_iter().for_each(|r| item(r.get(), line, sink)),
                        Err(e) => sink.reject(line, RejectReason::BadJson(e.to_string())),
                    }
                }
                Some(other) => {
                    o.insert("hashRecords".into(), other);
                    object(&o, line, sink)
                }
                None => object(&o, line, sink),
            },
            Err(e) => sink.reject(line, RejectReason::BadJson(e.to_string())),
        }
    } else if body.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(s) {
            Ok(items) => items.into_iter().for_each(|r| item(r.get(), line, sink)),
            Err(e) => sink.reject(line, RejectReason::BadJson(e.to_string())),
        }
    } else {
        match serde_json::from_str::<serde::de::IgnoredAny>(s) {
            Ok(_) => sink.reject(line, RejectReason::BadJson("expected an object".into())),
            Err(e) => sink.reject(line, RejectReason::BadJson(e.to_string())),
        }
    }
}

/// One item of an array: a record object.
fn item(s: &str, line: u64, sink: &mut Sink) {
    if !s.trim_start().starts_with('{') {
        return sink.reject(line, RejectReason::BadJson("expected an object".into()));
    }
    match serde_json::from_str::<RawObject<'_>>(s) {
        Ok(o) => object(&o, line, sink),
        Err(e) => sink.reject(line, RejectReason::BadJson(e.to_string())),
    }
}

/// Reads one record object.
fn object(o: &RawObject<'_>, line: u64, sink: &mut Sink) {
    if sink.full() {
        return;
    }
    // Best (lowest-rank) key per role.
    let mut best: [Option<(&str, &RawValue, usize)>; 6] = [None; 6];
    for (k, v) in o {
        if let Some((role, rank)) = role_of(k) {
            let slot = &mut best[role as usize];
            match slot {
                Some((_, _, r)) if *r <= rank => {}
                _ => *slot = Some((k, v, rank)),
            }
        }
    }
    let mut texts: [Option<String>; 6] = Default::default();
    for (slot, text) in best.iter().zip(texts.iter_mut()) {
        if let Some((key, raw, _)) = slot {
            // A number is kept as written: an id beyond 64 bits or a `1e999` hash stays
            // exact (and a bad hash is rejected as one) instead of being rounded or failing.
            let t = raw.get().trim();
            if t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                *text = Some(t.to_string());
                continue;
            }
            // Any other field the record needs is parsed now, with the parser's reason.
            let parsed = match serde_json::from_str::<Value>(raw.get()) {
                Ok(v) => v,
                Err(e) => return sink.reject(line, RejectReason::BadJson(format!("field {key:?}: {e}"))),
            };
            match scalar(&parsed) {
                Ok(t) => *text = t,
                Err(()) => return sink.reject(line, RejectReason::BadField((*key).to_string())),
            }
        }
    }
    let get = |r: Role| texts[r as usize].as_deref();
    let fields = Fields {
        hash: get(Role::Hash),
        kind: get(Role::Kind),
        id: get(Role::Id),
        label: get(Role::Label),
        status: get(Role::Status),
        variant: get(Role::Variant),
    };
    sink.fields(fields, line);
}

/// The text of a scalar JSON value; an array of scalars joined by `,`.
fn scalar(v: &Value) -> Result<Option<String>, ()> {
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for i in items {
                if let Some(s) = scalar(i)? {
                    parts.push(s);
                }
            }
            Some(parts.join(","))
        }
        Value::Object(_) => return Err(()),
    })
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, rename = "hashRecords")]
    hash_records: Option<Vec<&'a RawValue>>,
}

/// Reads one or more JSON documents (StopNCII pages, arrays of records, records).
pub(crate) fn read_document(text: &str, sink: &mut Sink) -> Result<(), ListError> {
    let mut lines = Lines::new(text);
    let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for top in stream {
        let top = top.map_err(|e| ListError::Json { line: e.line() as u64, message: e.to_string() })?;
        let body = top.get().trim_start();
        let items: Vec<&RawValue> = if body.starts_with('[') {
            serde_json::from_str(top.get()).map_err(|e| json_error(&mut lines, top, e))?
        } else if body.starts_with('{') {
            let page: Page<'_> =
                serde_json::from_str(top.get()).map_err(|e| json_error(&mut lines, top, e))?;
            match page.hash_records {
                Some(items) => items,
                None => vec![top],
            }
        } else {
            let line = lines.line_of(top.get());
            sink.reject(line, RejectReason::BadJson("expected an object or an array".into()));
            continue;
        };
        for raw in items {
            if sink.full() {
                return Ok(());
            }
            let line = lines.line_of(raw.get());
            item(raw.get(), line, sink);
        }
    }
    Ok(())
}

fn json_error(lines: &mut Lines<'_>, top: &RawValue, e: serde_json::Error) -> ListError {
    let start = lines.line_of(top.get());
    ListError::Json { line: start + e.line().saturating_sub(1) as u64, message: e.to_string() }
}

/// Line numbers of slices of one text, for slices met in increasing order.
struct Lines<'a> {
    base: usize,
    counter: LineCounter<'a>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines { base: text.as_ptr() as usize, counter: LineCounter::new(text.as_bytes()) }
    }

    /// The 1-based line where `part` (a slice of the text) starts.
    fn line_of(&mut self, part: &str) -> u64 {
        self.counter.line_at((part.as_ptr() as usize).wrapping_sub(self.base))
    }
}
