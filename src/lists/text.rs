//! Plain text lists and python-threatexchange "file" exchange lines.
//!
//! One record a line, in one of these shapes:
//!
//! * `KIND:HEX`, e.g. `pdq:d709...` or `video_md5:cab0...` (any alias of [`super::kind`]);
//! * `HEX` alone, read with the default kind (`--kind`); without one it is rejected;
//! * `SIGNAL_TYPE VALUE`, python-threatexchange's `LocalFileSignalExchangeAPI` format,
//!   e.g. `pdq d709...` (the value is the rest of the line, trimmed).
//!
//! Blank lines and lines starting with `#` are ignored, as is a ` #` comment after a
//! single `KIND:HEX`. CRLF line ends and a UTF-8 byte order mark are accepted.

use super::record::{Fields, Sink};
use super::reject::{cut, RejectReason};

/// Reads `text` line by line into `sink`.
pub(crate) fn read(text: &[u8], sink: &mut Sink) {
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
        if s.is_empty() || s.starts_with('#') {
            continue;
        }
        let (first, rest) = match s.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((a, b)) => (a, b.trim()),
            None => (s, ""),
        };
        let fields = if rest.is_empty() || rest.starts_with('#') {
            Fields { hash: Some(first), ..Fields::default() }
        } else if first.contains(':') {
            sink.reject(line, RejectReason::TrailingText(cut(rest)));
            continue;
        } else {
            Fields { hash: Some(rest), kind: Some(first), ..Fields::default() }
        };
        sink.fields(fields, line);
    }
}
