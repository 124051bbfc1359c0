//! Exact lookup of cryptographic digests: binary search in the sorted values.

use std::cmp::Ordering;
use std::ops::Range;

/// The positions of the records of `len` bytes in the sorted `values` equal to `key`.
pub(crate) fn lookup(values: &[u8], len: usize, key: &[u8]) -> Range<u32> {
    let n = values.len() / len.max(1);
    let record = |i: usize| &values[i * len..i * len + len];
    // First record >= key, then first record > key.
    let bound = |strict: bool| {
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = match record(mid).cmp(key) {
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
    let (a, b) = (bound(false), bound(true));
    (a as u32)..(b.max(a) as u32)
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
}
