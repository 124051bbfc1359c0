//! Hash values and the algorithms that compute them.
//!
//! * [`phash`]: the 64-bit DCT hash of Python `imagehash.phash` (bit-compatible).
//! * [`pdq`]: Meta's 256-bit PDQ hash with quality and the 8 dihedral variants.
//! * [`digest`]: MD5, SHA-1 and SHA-256 of the file bytes.
//!
//! The value types here ([`Phash`], [`Pdq`], [`Md5`], [`Sha1`], [`Sha256`], and the
//! kind-tagged [`HashValue`]) know how to parse and print their hex form and, for the
//! perceptual ones, their Hamming distance. They know nothing of files or indexes.

pub mod dct;
pub mod digest;
pub mod dihedral;
mod kind_set;
pub mod pdq;
pub mod phash;
pub mod simd;

use std::fmt;
use std::str::FromStr;

pub use dihedral::Variant;
pub use kind_set::KindSet;

/// The hash algorithms mediamatch computes and indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Meta's 256-bit perceptual hash.
    Pdq,
    /// The 64-bit DCT perceptual hash of Python `imagehash`.
    Phash,
    /// MD5 of the file bytes.
    Md5,
    /// SHA-1 of the file bytes.
    Sha1,
    /// SHA-256 of the file bytes.
    Sha256,
    /// One frame of a video's vPDQ (Meta's PDQ of video frames): a 256-bit PDQ hash whose
    /// entries of one item (one id) together are the video; see [`crate::video::vpdq`].
    Vpdq,
    /// A video's TMK+PDQF signature (Meta's temporal match kernel), named by the SHA-256 of
    /// its canonical `.tmk` bytes; the signature itself is stored beside the entry and
    /// matched by its level-1 and level-2 scores, not by Hamming distance; see
    /// [`crate::video::tmk`].
    Tmk,
}

impl Kind {
    /// All kinds, in the canonical order used in output and index sections.
    pub const ALL: [Kind; 7] =
        [Kind::Pdq, Kind::Phash, Kind::Md5, Kind::Sha1, Kind::Sha256, Kind::Vpdq, Kind::Tmk];

    /// The canonical lowercase name (`pdq`, `phash`, `md5`, `sha1`, `sha256`, `vpdq`,
    /// `tmk`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pdq => "pdq",
            Kind::Phash => "phash",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::Vpdq => "vpdq",
            Kind::Tmk => "tmk",
        }
    }

    /// Length of the value in bytes.
    pub fn byte_len(self) -> usize {
        match self {
            Kind::Pdq => 32,
            Kind::Phash => 8,
            Kind::Md5 => 16,
            Kind::Sha1 => 20,
            Kind::Sha256 => 32,
            Kind::Vpdq => 32,
            Kind::Tmk => 32,
        }
    }

    /// Length of the value in bits.
    pub fn bits(self) -> u32 {
        self.byte_len() as u32 * 8
    }

    /// Whether near matches (Hamming distance) are meaningful for this kind.
    pub fn is_perceptual(self) -> bool {
        matches!(self, Kind::Pdq | Kind::Phash | Kind::Vpdq)
    }

    /// Whether an image's pixels give this kind (pHash, PDQ); vPDQ and TMK come from a
    /// video's frames, digests from the bytes.
    pub fn is_image(self) -> bool {
        matches!(self, Kind::Pdq | Kind::Phash)
    }

    /// A small stable number used in files (index section tags).
    pub fn code(self) -> u8 {
        match self {
            Kind::Pdq => 1,
            Kind::Phash => 2,
            Kind::Md5 => 3,
            Kind::Sha1 => 4,
            Kind::Sha256 => 5,
            Kind::Vpdq => 6,
            Kind::Tmk => 7,
        }
    }

    /// The kind with the given [`Kind::code`].
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = ParseHashError;

    /// Parses a canonical kind name, case-insensitively. Aliases used by hash-sharing
    /// programs (`ImagePDQ`, `video_md5`, ...) are the list importer's business.
    fn from_str(s: &str) -> Result<Kind, ParseHashError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseHashError::UnknownKind(s.to_string()))
    }
}

/// Why a hash string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseHashError {
    /// The hex string has the wrong number of digits for its kind.
    #[error("{kind} hash must have {expected} hex digits, got {got}")]
    Length {
        /// The kind being parsed.
        kind: Kind,
        /// Digits expected.
        expected: usize,
        /// Digits found.
        got: usize,
    },
    /// A character is not a hex digit.
    #[error("invalid hex digit {0:?}")]
    Digit(char),
    /// The kind name is not one of `pdq`, `phash`, `md5`, `sha1`, `sha256`, `vpdq`, `tmk`.
    #[error("unknown hash kind {0:?} (expected pdq, phash, md5, sha1, sha256, vpdq or tmk)")]
    UnknownKind(String),
    /// A `KIND:HEX` string without the colon.
    #[error("expected KIND:HEX, e.g. pdq:<64 hex digits>")]
    MissingKind,
}

/// Decodes `hex` (either case) into exactly `N` bytes.
pub(crate) fn parse_hex<const N: usize>(kind: Kind, hex: &str) -> Result<[u8; N], ParseHashError> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * N {
        return Err(ParseHashError::Length { kind, expected: 2 * N, got: hex.len() });
    }
    let mut out = [0u8; N];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let hi = hex_digit(pair[0])?;
        let lo = hex_digit(pair[1])?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Result<u8, ParseHashError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(ParseHashError::Digit(c as char)),
    }
}

/// Writes `bytes` as lowercase hex.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// A 64-bit pHash, bit-compatible with Python `imagehash.phash`: the first hex digit
/// holds bits 0..4 of the row-major 8x8 boolean matrix, bit 0 most significant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Phash(pub u64);

impl Phash {
    /// Number of differing bits.
    pub fn distance(&self, other: &Phash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// The value as 8 big-endian bytes (the hex order).
    pub fn to_bytes(&self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for Phash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Phash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Phash, ParseHashError> {
        Ok(Phash(u64::from_be_bytes(parse_hex::<8>(Kind::Phash, s)?)))
    }
}

/// A 256-bit PDQ hash. `words[0]` holds the most significant 64 bits, i.e. the first 16
/// hex digits as Meta prints them (Meta's C++ `w[15]` first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pdq {
    /// The hash as four 64-bit words, most significant first.
    pub words: [u64; 4],
}

impl Pdq {
    /// Number of differing bits.
    pub fn distance(&self, other: &Pdq) -> u32 {
        self.words.iter().zip(other.words.iter()).map(|(a, b)| (a ^ b).count_ones()).sum()
    }

    /// The value as 32 big-endian bytes (the hex order).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, w) in self.words.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// The hash from 32 big-endian bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Pdq {
        let mut words = [0u64; 4];
        for (i, w) in words.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            *w = u64::from_be_bytes(b);
        }
        Pdq { words }
    }

    /// Bit `i` counted from the least significant end (Meta's bit numbering: bit `i`
    /// of the hash is DCT coefficient `i` in row-major order of the 16x16 block).
    pub fn bit(&self, i: usize) -> bool {
        debug_assert!(i < 256);
        let word = 3 - i / 64;
        (self.words[word] >> (i % 64)) & 1 == 1
    }

    /// Sets bit `i` counted from the least significant end.
    pub fn set_bit(&mut self, i: usize) {
        debug_assert!(i < 256);
        let word = 3 - i / 64;
        self.words[word] |= 1u64 << (i % 64);
    }
}

impl fmt::Display for Pdq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.to_bytes())
    }
}

impl FromStr for Pdq {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Pdq, ParseHashError> {
        Ok(Pdq::from_bytes(parse_hex::<32>(Kind::Pdq, s)?))
    }
}

macro_rules! digest_type {
    ($name:ident, $kind:expr, $len:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<$name, ParseHashError> {
                Ok($name(parse_hex::<$len>($kind, s)?))
            }
        }
    };
}

digest_type!(Md5, Kind::Md5, 16, "An MD5 digest of a file's bytes.");
digest_type!(Sha1, Kind::Sha1, 20, "A SHA-1 digest of a file's bytes.");
digest_type!(Sha256, Kind::Sha256, 32, "A SHA-256 digest of a file's bytes.");

/// A hash value tagged with its kind, as it appears in lists and queries (`KIND:HEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashValue {
    /// A PDQ hash.
    Pdq(Pdq),
    /// A pHash.
    Phash(Phash),
    /// An MD5 digest.
    Md5(Md5),
    /// A SHA-1 digest.
    Sha1(Sha1),
    /// A SHA-256 digest.
    Sha256(Sha256),
    /// One frame of a video's vPDQ (a PDQ hash).
    Vpdq(Pdq),
    /// A TMK+PDQF signature, by the SHA-256 of its canonical `.tmk` bytes
    /// ([`crate::video::tmk::Signature::digest`]).
    Tmk(Sha256),
}

impl HashValue {
    /// The kind of this value.
    pub fn kind(&self) -> Kind {
        match self {
            HashValue::Pdq(_) => Kind::Pdq,
            HashValue::Phash(_) => Kind::Phash,
            HashValue::Md5(_) => Kind::Md5,
            HashValue::Sha1(_) => Kind::Sha1,
            HashValue::Sha256(_) => Kind::Sha256,
            HashValue::Vpdq(_) => Kind::Vpdq,
            HashValue::Tmk(_) => Kind::Tmk,
        }
    }

    /// Parses the hex form of a value of the given kind.
    pub fn parse(kind: Kind, hex: &str) -> Result<HashValue, ParseHashError> {
        Ok(match kind {
            Kind::Pdq => HashValue::Pdq(hex.parse()?),
            Kind::Phash => HashValue::Phash(hex.parse()?),
            Kind::Md5 => HashValue::Md5(hex.parse()?),
            Kind::Sha1 => HashValue::Sha1(hex.parse()?),
            Kind::Sha256 => HashValue::Sha256(hex.parse()?),
            Kind::Vpdq => HashValue::Vpdq(Pdq::from_bytes(parse_hex::<32>(Kind::Vpdq, hex)?)),
            Kind::Tmk => HashValue::Tmk(Sha256(parse_hex::<32>(Kind::Tmk, hex)?)),
        })
    }

    /// The value's bytes in hex order (big-endian), `kind().byte_len()` long.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            HashValue::Pdq(h) => h.to_bytes().to_vec(),
            HashValue::Phash(h) => h.to_bytes().to_vec(),
            HashValue::Md5(h) => h.0.to_vec(),
            HashValue::Sha1(h) => h.0.to_vec(),
            HashValue::Sha256(h) => h.0.to_vec(),
            HashValue::Vpdq(h) => h.to_bytes().to_vec(),
            HashValue::Tmk(h) => h.0.to_vec(),
        }
    }

    /// The hex digits alone, without the kind.
    pub fn hex(&self) -> String {
        match self {
            HashValue::Pdq(h) => h.to_string(),
            HashValue::Phash(h) => h.to_string(),
            HashValue::Md5(h) => h.to_string(),
            HashValue::Sha1(h) => h.to_string(),
            HashValue::Sha256(h) => h.to_string(),
            HashValue::Vpdq(h) => h.to_string(),
            HashValue::Tmk(h) => h.to_string(),
        }
    }
}

impl fmt::Display for HashValue {
    /// `KIND:HEX`, e.g. `phash:8c563bb4622dd4e3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.hex())
    }
}

impl FromStr for HashValue {
    type Err = ParseHashError;
    /// Parses `KIND:HEX` with a canonical kind name.
    fn from_str(s: &str) -> Result<HashValue, ParseHashError> {
        let (kind, hex) = s.split_once(':').ok_or(ParseHashError::MissingKind)?;
        HashValue::parse(kind.trim().parse()?, hex.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let p: Phash = "8c563bb4622dd4e3".parse().unwrap();
        assert_eq!(p.0, 0x8c563bb4622dd4e3);
        assert_eq!(p.to_string(), "8c563bb4622dd4e3");
        let s = "d709ad9f7c76537015cd38934f46d14d5a1363619e95185a67219496b4e6e635";
        let q: Pdq = s.parse().unwrap();
        assert_eq!(q.words[0], 0xd709ad9f7c765370);
        assert_eq!(q.to_string(), s);
        let v: HashValue = format!("PDQ:{}", s.to_uppercase()).parse().unwrap();
        assert_eq!(v.to_string(), format!("pdq:{s}"));
    }

    #[test]
    fn distance_counts_bits() {
        let a = Pdq { words: [0, 0, 0, 0b1011] };
        let b = Pdq { words: [u64::MAX, 0, 0, 0] };
        assert_eq!(a.distance(&b), 67);
        assert_eq!(Phash(0xff).distance(&Phash(0x0f)), 4);
    }

    #[test]
    fn bit_numbering_is_lsb_of_last_word() {
        let mut p = Pdq::default();
        p.set_bit(0);
        assert_eq!(p.words, [0, 0, 0, 1]);
        p.set_bit(255);
        assert_eq!(p.words[0], 1 << 63);
        assert!(p.bit(255) && p.bit(0) && !p.bit(1));
    }

    #[test]
    fn bad_hex_is_rejected() {
        assert!(matches!("abc".parse::<Phash>(), Err(ParseHashError::Length { .. })));
        assert!(matches!("zz563bb4622dd4e3".parse::<Phash>(), Err(ParseHashError::Digit('z'))));
        assert!(matches!("foo:00".parse::<HashValue>(), Err(ParseHashError::UnknownKind(_))));
        assert!(matches!("00".parse::<HashValue>(), Err(ParseHashError::MissingKind)));
    }
}
