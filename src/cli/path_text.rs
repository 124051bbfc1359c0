//! Printing file paths losslessly.
//!
//! Unix file names are bytes: two files whose names differ only in bytes that are not
//! UTF-8 must not print as the same name, and a name holding a newline or a tab must not
//! break a line-oriented output. So:
//!
//! * text and CSV output print [`PathText::text`]: the name with `\` written `\\`, tab,
//!   newline and carriage return written `\t`, `\n`, `\r`, other control characters and
//!   every byte that is not part of valid UTF-8 written `\xNN`. The escaping is reversible,
//!   so two different names never print alike;
//! * JSON output prints `path` as a JSON string (JSON escapes control characters itself) and,
//!   only when the name is not valid UTF-8, adds `path_bytes`: the name's raw bytes in
//!   base64 (what ripgrep's JSON does with `{"bytes": ...}`), with `path` then holding the
//!   escaped text form.

use std::path::Path;

/// A path ready for printing in every output format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathText {
    /// The escaped text form (for text and CSV output, and `path` in JSON when not UTF-8).
    pub(crate) text: String,
    /// The unescaped name when it is valid UTF-8 (`path` in JSON).
    pub(crate) utf8: Option<String>,
    /// The raw bytes in base64 when the name is not valid UTF-8 (`path_bytes` in JSON).
    pub(crate) bytes_base64: Option<String>,
}

impl PathText {
    /// The printable forms of `path`.
    pub(crate) fn new(path: &Path) -> PathText {
        let raw = path_bytes(path);
        match std::str::from_utf8(&raw) {
            Ok(s) => PathText { text: escape_str(s), utf8: Some(s.to_string()), bytes_base64: None },
            Err(_) => PathText {
                text: escape_bytes(&raw),
                utf8: None,
                bytes_base64: Some(mediamatch::base64::encode(&raw)),
            },
        }
    }

    /// `path` in JSON records: the name itself when UTF-8, else the escaped text form.
    pub(crate) fn json(&self) -> &str {
        self.utf8.as_deref().unwrap_or(&self.text)
    }
}

/// In a record (flattened): `path`, then `path_bytes` only when the name is not UTF-8.
impl serde::Serialize for PathText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("path", self.json())?;
        if let Some(b) = &self.bytes_base64 {
            map.serialize_entry("path_bytes", b)?;
        }
        map.end()
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

/// Escapes one character of valid text into `out`.
fn escape_char(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

fn escape_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        escape_char(c, &mut out);
    }
    out
}

/// Escapes valid UTF-8 runs character by character and every invalid byte as `\xNN`.
fn escape_bytes(mut raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    while !raw.is_empty() {
        match std::str::from_utf8(raw) {
            Ok(s) => {
                out.push_str(&escape_str(s));
                break;
            }
            Err(e) => {
                let (good, rest) = raw.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction.
                out.push_str(&escape_str(std::str::from_utf8(good).unwrap_or_default()));
                let bad = e.error_len().unwrap_or(rest.len()).max(1);
                for b in &rest[..bad] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                raw = &rest[bad..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_print_as_they_are() {
        let p = PathText::new(Path::new("photos/a b.jpg"));
        assert_eq!(p.text, "photos/a b.jpg");
        assert_eq!(p.json(), "photos/a b.jpg");
        assert_eq!(p.bytes_base64, None);
    }

    #[test]
    fn line_breaks_tabs_and_backslashes_are_escaped_in_text() {
        let p = PathText::new(Path::new("a\nb\tc\\d\re\u{1}"));
        assert_eq!(p.text, "a\\nb\\tc\\\\d\\re\\x01");
        // JSON keeps the real name: serde escapes it.
        assert_eq!(p.json(), "a\nb\tc\\d\re\u{1}");
    }

    #[cfg(unix)]
    #[test]
    fn names_that_differ_only_in_invalid_bytes_print_differently() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let a = PathText::new(Path::new(OsStr::from_bytes(b"bad-\xff.jpg")));
        let b = PathText::new(Path::new(OsStr::from_bytes(b"bad-\xfe.jpg")));
        assert_eq!(a.text, "bad-\\xff.jpg");
        assert_eq!(b.text, "bad-\\xfe.jpg");
        assert_ne!(a.text, b.text);
        assert_eq!(a.bytes_base64.as_deref(), Some("YmFkLf8uanBn"));
        assert_eq!(b.bytes_base64.as_deref(), Some("YmFkLf4uanBn"));
        // An escaped backslash-x in a valid name cannot be confused with a raw byte.
        let c = PathText::new(Path::new("bad-\\xff.jpg"));
        assert_ne!(c.text, a.text);
    }
}
