//! What every list source gives the fetch loop: pages of list records in an import
//! format, each with the checkpoint that holds once it is applied.

use serde_json::Value;

use super::http::Client;
use super::FetchError;
use crate::lists::ListFormat;

/// One page of a source.
#[derive(Debug)]
pub struct Page {
    /// The page's bytes, in `format`.
    pub bytes: Vec<u8>,
    /// The import format of the bytes.
    pub format: ListFormat,
    /// How the page is named in the list's provenance (`ncmec page 3`).
    pub label: String,
    /// The checkpoint once this page (and every page before it) is applied.
    pub after: Value,
}

/// A source of pages, positioned at a checkpoint.
pub trait Source {
    /// What the list comes from (kind and base URL, never credentials), for reports.
    fn describe(&self) -> String;
    /// The next page, or `None` when the source has nothing more now.
    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError>;
    /// Whether pages are full snapshots of the list (applied with `--replace` rules).
    fn is_snapshot(&self) -> bool {
        false
    }
}

/// `s` percent-encoded for a query string (RFC 3986 unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A checkpoint field as an integer, or an error naming it.
pub fn u64_field(list: &str, checkpoint: &Value, key: &str) -> Result<Option<u64>, FetchError> {
    match checkpoint.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| FetchError::Checkpoint {
            list: list.to_string(),
            message: format!("`{key}` is not a non-negative integer: {v}"),
        }),
    }
}

/// A checkpoint field as a string.
pub fn str_field(list: &str, checkpoint: &Value, key: &str) -> Result<Option<String>, FetchError> {
    match checkpoint.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(FetchError::Checkpoint {
            list: list.to_string(),
            message: format!("`{key}` is not a string: {v}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("a+b/c=d e~"), "a%2Bb%2Fc%3Dd%20e~");
    }
}
