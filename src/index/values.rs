//! A kind's values section as a typed view ([`Values`]): build, validate, verify and
//! search (the scan for perceptual kinds, binary search for digests), plus the
//! [`Query`] every perceptual search takes.
//!
//! Values are sorted ascending. Perceptual values are `u64` words (one for pHash, four for
//! PDQ, most significant first), compared by Hamming distance; digests are raw bytes.

use std::ops::Range;

use crate::hash::{HashValue, Kind};
use crate::index::format::{decode_value, encode_value};
use crate::index::{digest, scan, IndexError};

/// A perceptual query: the hash as `u64` words (most significant first, unused words
/// zero) and the radius.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    pub words: [u64; 4],
    pub radius: u32,
}

impl Query {
    /// The query for a perceptual value (`None` for digests).
    pub fn of(v: &HashValue, radius: u32) -> Option<Query> {
        let words = match v {
            HashValue::Pdq(p) | HashValue::Vpdq(p) => p.words,
            HashValue::Phash(p) => [p.0, 0, 0, 0],
            _ => return None,
        };
        Some(Query { words, radius })
    }
}

/// `(position, distance)` of a value found by a search.
pub(crate) type Found = (u32, u32);

/// The values of one kind: sorted, [`Kind::byte_len`] bytes each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Values<'a> {
    bytes: &'a [u8],
    kind: Kind,
}

impl<'a> Values<'a> {
    /// The view of `bytes`, the values section of `kind` (checked by [`Values::validate`]).
    pub fn new(bytes: &'a [u8], kind: Kind) -> Values<'a> {
        Values { bytes, kind }
    }

    /// The section bytes of the `values` of `kind`, which the caller gives in sorted order.
    pub fn build<'v>(kind: Kind, values: impl ExactSizeIterator<Item = &'v HashValue>) -> Vec<u8> {
        let mut out = Vec::with_capacity(values.len() * kind.byte_len());
        values.for_each(|v| encode_value(v, &mut out));
        out
    }

    /// The number of values in a section of `len` bytes of `kind`, or an error if that is
    /// not a whole number.
    pub fn validate(len: usize, kind: Kind) -> Result<usize, IndexError> {
        let size = kind.byte_len();
        if !len.is_multiple_of(size) {
            return Err(IndexError::corrupt("values", format!("length {len} is not a multiple of {size}")));
        }
        Ok(len / size)
    }

    /// Checks that the values are sorted.
    pub fn verify(&self) -> Result<(), IndexError> {
        let len = self.kind.byte_len();
        let unsorted =
            |i: usize| IndexError::corrupt("values", format!("{} values not sorted at {i}", self.kind));
        if self.kind.is_perceptual() {
            // Perceptual values compare as their little-endian words, in order.
            let words = self.words();
            let at = |i: usize| read_words(self.bytes, i, words).unwrap_or_default();
            let mut last = at(0);
            for i in 1..self.len() {
                let v = at(i);
                if last > v {
                    return Err(unsorted(i));
                }
                last = v;
            }
        } else {
            // Digests compare as their bytes.
            for i in 1..self.len() {
                if self.bytes[(i - 1) * len..i * len] > self.bytes[i * len..(i + 1) * len] {
                    return Err(unsorted(i));
                }
            }
        }
        Ok(())
    }

    /// The section bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The kind of the values.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.kind.byte_len()
    }

    /// `u64` words per value (0 for digests of fewer than 8 bytes, never used).
    pub fn words(&self) -> usize {
        self.kind.byte_len() / 8
    }

    /// Value `pos` as words (perceptual kinds).
    #[inline]
    pub fn words_at(&self, pos: usize) -> Option<[u64; 4]> {
        read_words(self.bytes, pos, self.words())
    }

    /// Value `pos`.
    pub fn value(&self, pos: usize) -> Result<HashValue, IndexError> {
        let len = self.kind.byte_len();
        let raw = pos.checked_mul(len).and_then(|at| self.bytes.get(at..at + len)).unwrap_or(&[]);
        decode_value(self.kind, raw)
    }

    /// The raw bytes of value `pos` (empty when out of range).
    pub fn raw(&self, pos: usize) -> &'a [u8] {
        let len = self.kind.byte_len();
        pos.checked_mul(len).and_then(|at| self.bytes.get(at..at + len)).unwrap_or(&[])
    }

    /// Pushes every value within the query's radius (perceptual kinds).
    pub fn scan(&self, q: &Query, out: &mut Vec<Found>) {
        scan::scan(self.bytes, self.words(), &q.words, q.radius, out);
    }

    /// [`Values::scan`] for many queries of one radius, tiled; `out[i]` receives the hits of
    /// `queries[i]`.
    pub fn scan_many(&self, queries: &[[u64; 4]], radius: u32, out: &mut [Vec<Found>]) {
        scan::scan_many(self.bytes, self.words(), queries, radius, out);
    }

    /// The positions of the digest `v` (digest kinds).
    pub fn lookup(&self, v: &HashValue) -> Range<u32> {
        let mut key = Vec::new();
        encode_value(v, &mut key);
        digest::lookup(self.bytes, key.len(), &key)
    }
}

/// Reads value `pos` (of `words` words) from a values section.
#[inline]
pub(crate) fn read_words(values: &[u8], pos: usize, words: usize) -> Option<[u64; 4]> {
    // One fixed-size read per kind: a copy of `words * 8` bytes, its length unknown to the
    // compiler, became a call to `memcpy` per value (half of `verify`'s time).
    let word = |b: &[u8], i: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[i * 8..i * 8 + 8]);
        u64::from_le_bytes(x)
    };
    match words {
        1 => {
            let at = pos.checked_mul(8)?;
            let b: &[u8; 8] = values.get(at..at.checked_add(8)?)?.try_into().ok()?;
            Some([u64::from_le_bytes(*b), 0, 0, 0])
        }
        4 => {
            let at = pos.checked_mul(32)?;
            let b: &[u8; 32] = values.get(at..at.checked_add(32)?)?.try_into().ok()?;
            Some([word(b, 0), word(b, 1), word(b, 2), word(b, 3)])
        }
        _ => {
            let mut w = [0u64; 4];
            let at = pos.checked_mul(words * 8)?;
            let b = values.get(at..at.checked_add(words * 8)?)?;
            for (i, slot) in w.iter_mut().enumerate().take(words.min(4)) {
                *slot = word(b, i);
            }
            Some(w)
        }
    }
}

/// Hamming distance over the first `words` words.
#[inline]
pub(crate) fn distance(a: &[u64; 4], b: &[u64; 4], words: usize) -> u32 {
    a.iter().zip(b.iter()).take(words).map(|(x, y)| (x ^ y).count_ones()).sum()
}
