//! Exact lookup of cryptographic digests: binary search in the sorted values.

use std::cmp::Ordering;
use std::ops::Range;

/// The positions of the records of `len` bytes in the sorted `values` equal to `key`.
///
/// Records of 8 bytes or more are ordered by their first 8 bytes as a big-endian integer
/// first (the same order as the bytes'), so that most steps of the search compare one
/// integer instead of calling `memcmp`; a miss costs one binary search, not two.
pub(crate) fn lookup(values: &[u8], len: usize, key: &[u8]) -> Range<u32> {
    let n = values.len() / len.max(1);
    let record = |i: usize| &values[i * len..i * len + len];
    let head = |r: &[u8]| r.get(..8).map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")));
    let key_head = head(key).filter(|_| len >= 8);
    let cmp = |i: usize| {
        let r = record(i);
        if let (Some(k), Some(h)) = (key_head, head(r)) {
            if h != k {
                return h.cmp(&k);
            }
        }
        r.cmp(key)
    };
    // The first record >= key (strict: > key) in lo..n.
    let bound = |mut lo: usize, strict: bool| {
        let mut hi = n;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = match cmp(mid) {
                Ordering::Less => true,
                Ordering::Equal => strict,
                Ordering::Greater => false,
            };
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let a = bound(0, false);
    if a == n || cmp(a) != Ordering::Equal {
        return (a as u32)..(a as u32);
    }
    (a as u32)..(bound(a, true) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_runs_of_equal_records() {
        let values: Vec<u8> = [[1u8, 1], [2, 0], [2, 0], [2, 0], [9, 9]].concat();
        assert_eq!(lookup(&values, 2, &[2, 0]), 1..4);
        assert_eq!(lookup(&values, 2, &[1, 1]), 0..1);
        assert_eq!(lookup(&values, 2, &[5, 0]), 4..4);
        assert_eq!(lookup(&values, 2, &[0, 0]), 0..0);
        assert_eq!(lookup(&[], 2, &[0, 0]), 0..0);
    }

    #[test]
    fn long_records_order_as_their_bytes() {
        // 16-byte records that differ in the first 8 bytes, and only after them.
        let mut records: Vec<[u8; 16]> = Vec::new();
        for a in [0u8, 1, 0x80, 0xff] {
            for b in [0u8, 7, 0xff] {
                let mut r = [a; 16];
                r[15] = b;
                records.push(r);
                records.push(r);
            }
        }
        records.sort();
        let values = records.concat();
        for (i, r) in records.iter().enumerate() {
            let want = records.iter().position(|x| x == r).unwrap();
            let got = lookup(&values, 16, r);
            assert_eq!(got, want as u32..want as u32 + 2, "record {i}");
        }
        let mut absent = [0x80u8; 16];
        absent[15] = 3;
        let at = records.partition_point(|x| x < &absent) as u32;
        assert_eq!(lookup(&values, 16, &absent), at..at);
    }
}
