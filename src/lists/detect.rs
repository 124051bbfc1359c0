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
//! A UTF-16 byte order mark fails the file with a message to convert it to UTF-8. An HTML
//! page (an error or login page saved instead of the list; [`html_start`]) is refused,
//! whether detected or read as NCMEC XML, rather than read as a page with no entries.

use std::io::Read;

use super::record::{role_of, Role};
use super::{ListError, ListFormat};

/// Whether `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip `bytes` in one pass, failing when the result would exceed `limit`
/// bytes.
///
/// Inflating stops one byte past `limit`, and the buffer never grows past `limit` + 1
/// bytes, so a gzip bomb is refused after holding at most that much. The buffer starts at
/// the size the gzip trailer states (capped by `limit` and by the deflate ratio bound), so
/// an ordinary single-member file is inflated into one allocation of the exact size.
pub(crate) fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ListError> {
    let gzip_err = |e: std::io::Error| ListError::Gzip(e.to_string());
    let too_large = || ListError::TooLarge { limit };
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(stated_size(bytes).min(cap));
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
    loop {
        // Fill the spare capacity, never more (so `read_to_end` cannot grow the buffer).
        let spare = (out.capacity() - out.len()).min(cap - out.len());
        if spare > 0 && (&mut decoder).take(spare as u64).read_to_end(&mut out).map_err(gzip_err)? < spare {
            break;
        }
        if out.len() >= cap {
            return Err(too_large());
        }
        // The buffer is full: a small probe says whether there is more before growing it.
        let mut probe = [0u8; 4096];
        let n = loop {
            match decoder.read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r.map_err(gzip_err)?,
            }
        };
        if n == 0 {
            break;
        }
        let n = n.min(cap - out.len());
        out.reserve_exact(out.len().max(1 << 16).min(cap - out.len()).max(n));
        out.extend_from_slice(&probe[..n]);
    }
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// The decompressed size the last gzip member's trailer states (ISIZE, modulo 4 GiB),
/// bounded by deflate's largest ratio (1032:1) so a lying trailer cannot make a small
/// file reserve much; 0 for input too short to hold a trailer. Only a capacity hint.
fn stated_size(bytes: &[u8]) -> usize {
    let Some(trailer) =
        bytes.len().checked_sub(4).and_then(|at| bytes.get(at..)).filter(|_| bytes.len() >= 18)
    else {
        return 0;
    };
    let stated = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
    stated.min(bytes.len().saturating_mul(1032))
}

/// The opening tag, as written, when BOM-stripped `text` is an HTML page: after blanks,
/// an `<?xml ..?>` declaration and `<!-- -->` comments, it starts with `<!DOCTYPE html`,
/// `<html`, `<head` or `<body` in any case. NCMEC pages start with `<queryResult`.
///
/// ```
/// use mediamatch::lists::detect::html_start;
///
/// assert_eq!(html_start(b"\n  <!doctype HTML>\n<html>"), Some("<!doctype HTML>".into()));
/// assert_eq!(html_start(b"<?xml version=\"1.0\"?>\n<queryResult/>"), None);
/// ```
pub fn html_start(text: &[u8]) -> Option<String> {
    let mut rest = text.trim_ascii_start();
    loop {
        let skip = if rest.starts_with(b"<?") {
            b"?>".as_slice()
        } else if rest.starts_with(b"<!--") {
            b"-->".as_slice()
        } else {
            break;
        };
        let end = rest.windows(skip.len()).position(|w| w == skip)?;
        rest = rest[end + skip.len()..].trim_ascii_start();
    }
    let lower = |n: usize| rest.get(..n).map(<[u8]>::to_ascii_lowercase);
    let html = lower(14).is_some_and(|p| p == b"<!doctype html")
        || ["<html", "<head", "<body"].iter().any(|tag| {
            lower(tag.len()).is_some_and(|p| p == tag.as_bytes())
                && rest.get(tag.len()).is_none_or(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/')
        });
    if !html {
        return None;
    }
    let end = rest.iter().position(|&b| b == b'>').map_or(rest.len(), |p| p + 1).min(60);
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
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
