//! List format auto-detection and gzip.
//!
//! Gzip is recognised by its magic bytes (`1f 8b`), whatever the file is called, and
//! decompressed first (concatenated members too). Then the first line that is neither
//! blank nor a `#` comment decides:
//!
//! | first line | format |
//! | --- | --- |
//! | starts with `<` | NCMEC XML |
//! | starts with `{` or `[` and is a whole JSON value | JSON Lines |
//! | starts with `{` or `[` otherwise | JSON document (e.g. a pretty-printed StopNCII page) |
//! | tab-separated, one field a known hash column name | TSV |
//! | comma-separated, one field a known hash column name | CSV |
//! | anything else | plain text / python-threatexchange lines |
//!
//! A UTF-16 byte order mark fails the file with a message to convert it to UTF-8.

use std::io::Read;

use super::record::{role_of, Role};
use super::{ListError, ListFormat};

/// Whether `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip `bytes`, failing when the result would exceed `limit` bytes.
///
/// A first pass only counts the decompressed bytes (stopping one past `limit`), so a gzip
/// bomb is refused without holding any of it; the second decompresses into a buffer of
/// the exact size.
pub(crate) fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ListError> {
    let size = std::io::copy(
        &mut flate2::read::MultiGzDecoder::new(bytes).take(limit.saturating_add(1)),
        &mut std::io::sink(),
    )
    .map_err(|e| ListError::Gzip(e.to_string()))?;
    if size > limit {
        return Err(ListError::TooLarge { limit });
    }
    let mut out = Vec::with_capacity(usize::try_from(size).map_err(|_| ListError::TooLarge { limit })?);
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| ListError::Gzip(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(ListError::TooLarge { limit });
    }
    Ok(out)
}

/// Strips a UTF-8 byte order mark; fails on UTF-16 ones.
pub(crate) fn strip_bom(bytes: &[u8]) -> Result<&[u8], ListError> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(ListError::Utf16);
    }
    Ok(bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes))
}

/// Guesses the format of decompressed, BOM-stripped `text`. Never fails: text that fits
/// nothing else is read as plain text, whose reader rejects what it cannot read.
pub fn detect(text: &[u8]) -> ListFormat {
    let Some(first) =
        text.split(|&b| b == b'\n').map(|l| l.trim_ascii()).find(|l| !l.is_empty() && !l.starts_with(b"#"))
    else {
        return ListFormat::Text;
    };
    match first[0] {
        b'<' => return ListFormat::Ncmec,
        b'{' | b'[' => {
            return match serde_json::from_slice::<serde::de::IgnoredAny>(first) {
                Ok(_) => ListFormat::Jsonl,
                Err(_) => ListFormat::Json,
            }
        }
        _ => {}
    }
    let Ok(first) = std::str::from_utf8(first) else { return ListFormat::Text };
    let names_hash = |sep: char| {
        first.split(sep).any(|f| matches!(role_of(f.trim().trim_matches('"')), Some((Role::Hash, _))))
    };
    if first.contains('\t') && names_hash('\t') {
        ListFormat::Tsv
    } else if first.contains(',') && names_hash(',') {
        ListFormat::Csv
    } else {
        ListFormat::Text
    }
}
