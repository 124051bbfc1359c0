//! HMA's names for hash kinds ("signal types") and its integer content ids.
//!
//! HMA calls a hash kind a *signal type* and a list a *bank*; every banked item has an
//! integer `bank_content_id`. mediamatch's lists are the banks, and an item's id is
//! derived from the list provider's id ([`bank_content_id`]) so that it is the same in
//! every answer, on every replica and across reloads.

use crate::hash::{HashValue, Kind};

/// The signal types the service answers to, in the order `/c/signal_type` lists them.
/// `video_md5` is HMA's name for the MD5 of a video file: the same MD5 entries as `md5`.
pub const SIGNAL_TYPES: [&str; 6] = ["pdq", "video_md5", "phash", "md5", "sha1", "sha256"];

/// The kind of an HMA signal type name (`None` for a name the service does not know).
pub fn kind_of(signal_type: &str) -> Option<Kind> {
    Some(match signal_type {
        "pdq" => Kind::Pdq,
        "phash" => Kind::Phash,
        "md5" | "video_md5" => Kind::Md5,
        "sha1" => Kind::Sha1,
        "sha256" => Kind::Sha256,
        _ => return None,
    })
}

/// Parses a signal the way HMA validates one: lowercase hex of the kind's exact length
/// (HMA refuses upper case), so that a client sees the same 400s as from HMA. `None`
/// when `text` is not such a value ([`invalid_text`] says so in HMA's words).
pub fn parse_signal(kind: Kind, text: &str) -> Option<HashValue> {
    let strict =
        text.len() == kind.byte_len() * 2 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if strict {
        HashValue::parse(kind, text).ok()
    } else {
        None
    }
}

/// HMA's text for a kind's parse failure, e.g. `invalid PDQ hash`.
pub fn invalid_text(kind: Kind) -> String {
    let name = match kind {
        Kind::Pdq => "PDQ",
        Kind::Phash => "pHash",
        Kind::Md5 => "MD5",
        Kind::Sha1 => "SHA-1",
        Kind::Sha256 => "SHA-256",
        Kind::Vpdq => "vPDQ",
        Kind::Tmk => "TMK+PDQF",
    };
    format!("invalid {name} hash")
}

/// Ids of this many or more are never used as they are: they are the range hashed ids
/// are put in, so the two kinds of id cannot collide.
pub const HASHED_ID_BASE: u64 = 1 << 52;

/// The stable integer id of an item: the list provider's id itself when it is a decimal
/// number below 2^52 without leading zeros (HMA exports, NCMEC and most exchanges use
/// numbers), otherwise a 52-bit FNV-1a hash of the id put in [2^52, 2^53) (exact in a
/// JavaScript number). An entry without an id is its own item, hashed from its kind and
/// value. Two different non-numeric ids share an id with probability about n^2 / 2^53 for
/// n such items (about 1 in 90,000 for a million); `/v1` answers name the list's own id.
pub fn bank_content_id(id: &str, value: &HashValue) -> u64 {
    if let Some(n) = plain_number(id) {
        if n < HASHED_ID_BASE {
            return n;
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    if id.is_empty() {
        eat(value.kind().name().as_bytes());
        eat(b":");
        eat(&value.to_bytes());
    } else {
        eat(id.as_bytes());
    }
    HASHED_ID_BASE | (h & (HASHED_ID_BASE - 1))
}

fn plain_number(id: &str) -> Option<u64> {
    let ok = !id.is_empty()
        && id.len() <= 16
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    if ok {
        id.parse().ok()
    } else {
        None
    }
}

/// HMA's text of a distance: the number for perceptual kinds, `-` for exact ones.
pub fn distance_text(kind: Kind, distance: u32) -> String {
    if kind.is_perceptual() {
        distance.to_string()
    } else {
        "-".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_are_kept_and_others_hashed_apart() {
        let v: HashValue = "md5:d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
        assert_eq!(bank_content_id("250001", &v), 250001);
        assert_eq!(bank_content_id("0", &v), 0);
        for id in ["0250001", "abc", "", "4503599627370496", "12345678901234567"] {
            let n = bank_content_id(id, &v);
            assert!((HASHED_ID_BASE..2 * HASHED_ID_BASE).contains(&n), "{id}: {n}");
        }
        assert_ne!(bank_content_id("abc", &v), bank_content_id("abd", &v));
        assert_eq!(bank_content_id("abc", &v), bank_content_id("abc", &v));
    }

    #[test]
    fn signals_are_checked_like_hma() {
        let hex = "30d74e8d46e107f2ebf41e5bee592529f189dba4de79a62049ddc2f808683ba1";
        assert!(parse_signal(Kind::Pdq, hex).is_some());
        assert!(parse_signal(Kind::Pdq, &hex.to_uppercase()).is_none());
        assert!(parse_signal(Kind::Pdq, &hex[..60]).is_none());
        assert!(parse_signal(Kind::Pdq, "not-a-hash").is_none());
        assert_eq!(kind_of("video_md5"), Some(Kind::Md5));
        assert_eq!(kind_of("nosuch"), None);
    }
}
