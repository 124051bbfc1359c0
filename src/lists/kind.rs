//! Kind names as hash lists spell them, and the kinds mediamatch cannot compute.
//!
//! Lists name their algorithms in many ways: `pdq`, `PDQ`, `ImagePDQ` (StopNCII),
//! `photo_pdq`, `video_md5` (python-threatexchange), `HASH_PDQ` (ThreatExchange indicator
//! types), `<pdq>` (NCMEC fingerprint elements). Names are compared after lowering ASCII
//! case and dropping `_`, `-`, `.` and spaces, so `video_md5`, `VideoMD5` and `video-md5`
//! are one name.
//!
//! | kind | accepted names (after normalising) |
//! | --- | --- |
//! | `pdq` | `pdq`, `imagepdq`, `photopdq`, `hashpdq` |
//! | `phash` | `phash`, `imagephash`, `photophash` |
//! | `md5` | `md5`, `videomd5`, `photomd5`, `imagemd5`, `filemd5`, `hashmd5`, `hashvideomd5` |
//! | `sha1` | `sha1`, `videosha1`, `photosha1`, `imagesha1`, `filesha1`, `hashsha1` |
//! | `sha256` | `sha256`, `videosha256`, `photosha256`, `imagesha256`, `filesha256`, `hashsha256`, `hashvideosha256` |
//! | `vpdq` | `vpdq`, `videopdq`, `videovpdq` |
//! | `tmk` | `tmk`, `tmkpdqf` (NCMEC's `tmk-pdqf`), `videotmk` (StopNCII), `videotmkpdqf`, `hashtmk` (ThreatExchange) |
//!
//! A `vpdq` value is one frame's 64 hex digits, or a whole video as python-threatexchange
//! writes it (a JSON array of `"hex,quality,timestamp"`): its distinct frames of quality
//! 50 or more become one `vpdq` entry each, with the video's id.
//!
//! A `tmk` value is a whole TMK+PDQF signature: ThreatExchange's text form
//! (`TMK1FVECPDQF|` and base64) or the base64 of a `.tmk` file. Its entry's value is the
//! SHA-256 of the `.tmk` bytes (what `sha256sum` prints for the file), which alone (64 hex
//! digits) can only withdraw an entry.
//!
//! Known kinds that mediamatch cannot compute are [`KindName::Unsupported`]: records of
//! these kinds are counted as skipped, never as errors (see [`UNSUPPORTED`]). Any other
//! name is unknown and the record is rejected: an algorithm is never guessed.

use crate::hash::Kind;

/// What a kind name in a list means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindName {
    /// A kind mediamatch computes and indexes.
    Known(Kind),
    /// A known algorithm mediamatch cannot compute; the value is its canonical name
    /// (`photodna`, `netclean`, `videntifier`, `ssvh`, ...).
    Unsupported(&'static str),
    /// A name nobody we know uses.
    Unknown,
}

const KNOWN: &[(&str, Kind)] = &[
    ("pdq", Kind::Pdq),
    ("imagepdq", Kind::Pdq),
    ("photopdq", Kind::Pdq),
    ("hashpdq", Kind::Pdq),
    ("phash", Kind::Phash),
    ("imagephash", Kind::Phash),
    ("photophash", Kind::Phash),
    ("md5", Kind::Md5),
    ("videomd5", Kind::Md5),
    ("photomd5", Kind::Md5),
    ("imagemd5", Kind::Md5),
    ("filemd5", Kind::Md5),
    ("hashmd5", Kind::Md5),
    ("hashvideomd5", Kind::Md5),
    ("sha1", Kind::Sha1),
    ("videosha1", Kind::Sha1),
    ("photosha1", Kind::Sha1),
    ("imagesha1", Kind::Sha1),
    ("filesha1", Kind::Sha1),
    ("hashsha1", Kind::Sha1),
    ("sha256", Kind::Sha256),
    ("videosha256", Kind::Sha256),
    ("photosha256", Kind::Sha256),
    ("imagesha256", Kind::Sha256),
    ("filesha256", Kind::Sha256),
    ("hashsha256", Kind::Sha256),
    ("hashvideosha256", Kind::Sha256),
    ("vpdq", Kind::Vpdq),
    ("videopdq", Kind::Vpdq),
    ("videovpdq", Kind::Vpdq),
    ("tmk", Kind::Tmk),
    ("tmkpdqf", Kind::Tmk),
    ("videotmk", Kind::Tmk),
    ("videotmkpdqf", Kind::Tmk),
    ("hashtmk", Kind::Tmk),
];

/// Known algorithms and signal types mediamatch cannot compute, as (normalised name,
/// canonical name). Records of these kinds are counted as `skipped (unsupported kind)`.
///
/// PhotoDNA (`pdna` in NCMEC's XML), NetClean, Videntifier, SSVH, and the
/// non-media signal types of python-threatexchange, StopNCII and
/// ThreatExchange (URLs, text, TLSH, `DEBUG_STRING`, ...).
pub const UNSUPPORTED: &[(&str, &str)] = &[
    ("photodna", "photodna"),
    ("pdna", "photodna"),
    ("hashphotodna", "photodna"),
    ("netclean", "netclean"),
    ("videntifier", "videntifier"),
    ("ssvh", "ssvh"),
    ("pdqocr", "pdq_ocr"),
    ("tlsh", "tlsh"),
    ("tlshpdf", "tlsh"),
    ("url", "url"),
    ("uri", "url"),
    ("rawuri", "url"),
    ("unclickableurl", "url"),
    ("hashpdqocr", "pdq_ocr"),
    ("hashtexttlsh", "tlsh"),
    ("debugstring", "debug_string"),
    ("urlmd5", "url_md5"),
    ("hashurlmd5", "url_md5"),
    ("text", "text"),
    ("rawtext", "text"),
    ("trendquery", "trend_query"),
    ("clip", "clip"),
];

/// The longest normalised name in the tables; longer names are unknown.
const MAX_NAME: usize = 32;

/// Looks a kind name up (case-insensitive; `_`, `-`, `.` and spaces ignored).
///
/// ```
/// use mediamatch::lists::kind::{lookup, KindName};
/// use mediamatch::Kind;
/// assert_eq!(lookup("ImagePDQ"), KindName::Known(Kind::Pdq));
/// assert_eq!(lookup("video_md5"), KindName::Known(Kind::Md5));
/// assert_eq!(lookup("PDNA"), KindName::Unsupported("photodna"));
/// assert_eq!(lookup("crc32"), KindName::Unknown);
/// ```
pub fn lookup(name: &str) -> KindName {
    let mut buf = [0u8; MAX_NAME];
    let mut len = 0;
    for b in name.trim().bytes() {
        if matches!(b, b'_' | b'-' | b'.' | b' ') {
            continue;
        }
        if len == MAX_NAME {
            return KindName::Unknown;
        }
        buf[len] = b.to_ascii_lowercase();
        len += 1;
    }
    let norm = &buf[..len];
    if let Some((_, k)) = KNOWN.iter().find(|(n, _)| n.as_bytes() == norm) {
        return KindName::Known(*k);
    }
    if let Some((_, c)) = UNSUPPORTED.iter().find(|(n, _)| n.as_bytes() == norm) {
        return KindName::Unsupported(c);
    }
    KindName::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_name_is_short_enough() {
        for n in KNOWN.iter().map(|(n, _)| n).chain(UNSUPPORTED.iter().map(|(n, _)| n)) {
            assert!(n.len() <= MAX_NAME, "{n}");
            assert_ne!(lookup(n), KindName::Unknown, "{n}");
        }
    }

    #[test]
    fn canonical_names_resolve_to_themselves() {
        for k in Kind::ALL {
            assert_eq!(lookup(k.name()), KindName::Known(k));
        }
    }
}
