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

use super::record::{each_line, Fields, Sink};
use super::reject::{cut, RejectReason};

/// Reads `text` line by line into `sink`.
pub(crate) fn read(text: &[u8], sink: &mut Sink) {
    each_line(text, sink, |sink, line, s| {
        if s.starts_with('#') {
            return;
        }
        let (first, rest) = match s.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((a, b)) => (a, b.trim()),
            None => (s, ""),
        };
        let fields = if rest.is_empty() || rest.starts_with('#') {
            Fields { hash: Some(first), ..Fields::default() }
        } else if first.contains(':') {
            sink.reject(line, RejectReason::TrailingText(cut(rest)));
            return;
        } else {
            Fields { hash: Some(rest), kind: Some(first), ..Fields::default() }
        };
        sink.fields(fields, line);
    });
}
