//! Saved pages of NCMEC's hash-sharing API v2 (`GET /v2/entries`): `queryResult` XML.
//!
//! ```text
//! <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
//!   <images count=".." maxTimestamp="..">
//!     <image>
//!       <member id="42">..</member> <timestamp>..</timestamp>
//!       <id>image1</id> <classification>A1</classification>
//!       <fingerprints> <md5>..</md5> <sha1>..</sha1> <pdna>..</pdna> </fingerprints>
//!       <feedback>..</feedback>
//!     </image>
//!     <deletedImage> <member id="43">..</member> <id>image4</id> .. </deletedImage>
//!   </images>
//!   <videos> <video>..</video> <deletedVideo>..</deletedVideo> </videos>
//!   <paging> <next>..</next> </paging>
//! </queryResult>
//! ```
//!
//! Each fingerprint of an `<image>` or `<video>` becomes one record with the entry's
//! `<id>` as id and its `<classification>` as label; the element name is the kind
//! (`md5`, `sha1`, `pdq`, `tmk-pdqf`, ...; `pdna`, `videntifier` and other known
//! uncomputable kinds are skipped, unknown names rejected). A fingerprint given only as
//! a link (`<md5 rel="self" href=".."/>`) has no value and is rejected unless its kind is
//! uncomputable anyway, or is `tmk-pdqf`, whose signatures NCMEC gives only as links
//! (skipped and counted: mediamatch does not follow them). `<deletedImage>`/`<deletedVideo>` become [`super::Tombstone`]s
//! naming the id to remove. The member is not part of an entry's identity: as in
//! python-threatexchange, an entry is known by its id. Namespaces are ignored.

use super::kind::{lookup, KindName};
use super::record::{Fields, LineCounter, Sink, SKIP_TMK_LINK};
use super::reject::RejectReason;
use super::ListError;
use crate::hash::Kind;

/// The deepest element nesting a page may have. A `queryResult` is 5 levels deep; the
/// XML parser recurses per level, and a page nested 20,000 deep (140 KB) overflowed the
/// stack and aborted the process, so deeper pages are refused before parsing.
pub const MAX_DEPTH: usize = 256;

/// Reads one `queryResult` document.
pub(crate) fn read(text: &str, sink: &mut Sink) -> Result<(), ListError> {
    if let Some(at) = too_deep(text.as_bytes(), MAX_DEPTH) {
        return Err(ListError::Xml {
            line: LineCounter::new(text.as_bytes()).line_at(at),
            message: format!("elements nested more than {MAX_DEPTH} levels deep; not an NCMEC page"),
        });
    }
    let options = roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| ListError::Xml { line: u64::from(e.pos().row), message: e.to_string() })?;
    let mut lines = LineCounter::new(text.as_bytes());
    let root = doc.root_element();
    if root.tag_name().name() != "queryResult" {
        return Err(ListError::Xml {
            line: lines.line_at(root.range().start),
            message: format!("expected an NCMEC <queryResult>, found <{}>", root.tag_name().name()),
        });
    }
    for group in root.children().filter(|n| n.is_element()) {
        if !matches!(group.tag_name().name(), "images" | "videos") {
            continue;
        }
        for entry in group.children().filter(|n| n.is_element()) {
            if sink.full() {
                return Ok(());
            }
            let at = lines.line_at(entry.range().start);
            match entry.tag_name().name() {
                "image" | "video" => read_entry(&mut lines, entry, sink),
                "deletedImage" | "deletedVideo" => match child_text(entry, "id") {
                    Some(id) => sink.tombstone(id, at),
                    None => sink.reject(at, RejectReason::BadEntry("deleted entry without an <id>")),
                },
                _ => {}
            }
        }
    }
    Ok(())
}

fn read_entry(lines: &mut LineCounter<'_>, entry: roxmltree::Node<'_, '_>, sink: &mut Sink) {
    let at = lines.line_at(entry.range().start);
    let Some(id) = child_text(entry, "id") else {
        return sink.reject(at, RejectReason::BadEntry("entry without an <id>"));
    };
    let label = child_text(entry, "classification");
    let Some(fingerprints) = child(entry, "fingerprints") else {
        return sink.reject(at, RejectReason::BadEntry("entry without <fingerprints>"));
    };
    let mut any = false;
    for fp in fingerprints.children().filter(|n| n.is_element()) {
        any = true;
        let kind = fp.tag_name().name();
        let value = fp.text().map(str::trim).unwrap_or("");
        let fp_line = lines.line_at(fp.range().start);
        if value.is_empty() && lookup(kind) == KindName::Known(Kind::Tmk) && fp.has_attribute("href") {
            sink.skip(SKIP_TMK_LINK);
            continue;
        }
        if value.is_empty() && matches!(lookup(kind), KindName::Known(_)) {
            sink.reject(fp_line, RejectReason::BadEntry("fingerprint without a value (only a link?)"));
            continue;
        }
        sink.fields(
            Fields { hash: Some(value), kind: Some(kind), id: Some(id), label, ..Fields::default() },
            fp_line,
        );
    }
    if !any {
        sink.reject(at, RejectReason::BadEntry("entry without fingerprints"));
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|n| n.text()).map(str::trim).filter(|s| !s.is_empty())
}

/// The offset of the first start tag nested deeper than `limit`, by a byte scan that
/// skips comments, CDATA, processing instructions, declarations and quoted attribute
/// values as the parser does. Linear, no allocation, no recursion. Close tags lower the
/// depth; the parser refuses a close tag that does not match, so they cannot hide depth.
pub(crate) fn too_deep(text: &[u8], limit: usize) -> Option<usize> {
    let find = |from: usize, pat: &[u8]| -> usize {
        text.get(from..)
            .and_then(|rest| rest.windows(pat.len()).position(|w| w == pat))
            .map_or(text.len(), |p| from + p + pat.len())
    };
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(p) = text.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        let at = i + p;
        let rest = &text[at..];
        if rest.starts_with(b"<!--") {
            i = find(at + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = find(at + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = find(at + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            i = find(at + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = find(at + 2, b">");
        } else {
            // A start tag: to its `>` outside quoted attribute values.
            let mut j = at + 1;
            let mut quote = None;
            while let Some(&b) = text.get(j) {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => break,
                    None => {}
                }
                j += 1;
            }
            if j >= text.len() || text[j - 1] != b'/' {
                depth += 1;
                if depth > limit {
                    return Some(at);
                }
            }
            i = j + 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn depth_scan_counts_elements_only() {
        assert_eq!(too_deep(b"<a><b/><c>x</c></a>", 2), None);
        assert_eq!(too_deep(b"<a><b><c>", 2), Some(6));
        assert_eq!(too_deep(b"<a x='>'><!-- <b><c> --><![CDATA[<b><c>]]><?p <b>?><b/></a>", 1), None);
        assert_eq!(too_deep(b"<a></a><a></a><a></a>", 1), None);
        let deep = "<a>".repeat(20_000);
        assert_eq!(too_deep(deep.as_bytes(), 256), Some(256 * 3));
    }
}
