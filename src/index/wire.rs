//! Little-endian primitives for the records of [`format`](super::format): labelled,
//! checked reads and the matching writes.
//!
//! Every read names the field it reads (`what`), so a record too short for a field is an
//! [`IndexError::Truncated`] that says which field, and never a panic. Offsets are added
//! with checked arithmetic. The `Option` form [`u32_at`] is for the hot loops of the search
//! structures, which turn a miss into their own error.

use crate::index::IndexError;

/// The `len` bytes at `at` of `b`, the field `what`.
pub(crate) fn bytes<'a>(
    b: &'a [u8],
    at: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], IndexError> {
    at.checked_add(len).and_then(|end| b.get(at..end)).ok_or(IndexError::Truncated {
        what,
        need: (at as u64).saturating_add(len as u64),
        have: b.len() as u64,
    })
}

/// The little-endian `u32` at `at` of `b`, the field `what`.
pub(crate) fn read_u32(b: &[u8], at: usize, what: &'static str) -> Result<u32, IndexError> {
    let s = bytes(b, at, 4, what)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The little-endian `u64` at `at` of `b`, the field `what`.
pub(crate) fn read_u64(b: &[u8], at: usize, what: &'static str) -> Result<u64, IndexError> {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes(b, at, 8, what)?);
    Ok(u64::from_le_bytes(w))
}

/// Record `i` of `len` bytes in the table `b`, the record `what`.
pub(crate) fn record<'a>(
    b: &'a [u8],
    i: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], IndexError> {
    let at =
        i.checked_mul(len).ok_or(IndexError::Truncated { what, need: u64::MAX, have: b.len() as u64 })?;
    bytes(b, at, len, what)
}

/// A file field as a `usize`, or an error naming the field.
pub(crate) fn to_usize(v: u64, what: &'static str) -> Result<usize, IndexError> {
    usize::try_from(v).map_err(|_| IndexError::corrupt(what, format!("{v} does not fit in memory")))
}

/// The little-endian `u32` at `at`, if `b` holds it (for hot loops).
#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Appends `v` little-endian.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` little-endian.
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_record_names_the_field() {
        let rec = [1u8, 0, 0, 0, 2, 0];
        assert_eq!(read_u32(&rec, 0, "first").unwrap(), 1);
        match read_u32(&rec, 4, "list set length") {
            Err(IndexError::Truncated { what, need, have }) => {
                assert_eq!((what, need, have), ("list set length", 8, 6));
            }
            other => panic!("{other:?}"),
        }
        let err = read_u64(&rec, 0, "imported_at").unwrap_err();
        assert!(err.to_string().contains("imported_at needs 8 bytes, have 6"), "{err}");
    }

    #[test]
    fn offsets_that_overflow_are_errors_not_panics() {
        let b = [0u8; 16];
        assert!(matches!(
            read_u64(&b, usize::MAX - 3, "offset"),
            Err(IndexError::Truncated { what: "offset", .. })
        ));
        assert!(matches!(
            record(&b, usize::MAX / 2, 28, "entry"),
            Err(IndexError::Truncated { what: "entry", .. })
        ));
        assert_eq!(record(&b, 1, 8, "pair").unwrap(), &[0u8; 8]);
        assert_eq!(u32_at(&b, usize::MAX), None);
    }

    #[test]
    fn writes_read_back() {
        let mut out = Vec::new();
        put_u32(&mut out, 0xdead_beef);
        put_u64(&mut out, u64::MAX - 1);
        assert_eq!(read_u32(&out, 0, "a").unwrap(), 0xdead_beef);
        assert_eq!(read_u64(&out, 4, "b").unwrap(), u64::MAX - 1);
    }
}
