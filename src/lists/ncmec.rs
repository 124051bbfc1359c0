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
//! (`md5`, `sha1`, `pdq`, ...; `pdna`, `tmk-pdqf`, `videntifier` and other known
//! uncomputable kinds are skipped, unknown names rejected). A fingerprint given only as
//! a link (`<md5 rel="self" href=".."/>`) has no value and is rejected unless its kind is
//! uncomputable anyway. `<deletedImage>`/`<deletedVideo>` become [`super::Tombstone`]s
//! naming the id to remove. The member is not part of an entry's identity: as in
//! python-threatexchange, an entry is known by its id. Namespaces are ignored.

use super::kind::{lookup, KindName};
use super::record::{Fields, LineCounter, Sink};
use super::reject::RejectReason;
use super::ListError;

/// Reads one `queryResult` document.
pub(crate) fn read(text: &str, sink: &mut Sink) -> Result<(), ListError> {
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
