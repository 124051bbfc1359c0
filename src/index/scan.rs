//! The blocked brute-force scan: every value's distance to the query, with the popcount
//! kernels of [`super::popcount`].
//!
//! One query streams the values once. Many queries (a batch, or the 8 dihedral variants
//! of one image) are *tiled*: each block of values is compared with every query while it
//! is in the L1 cache, so memory is read once for all of them.

use super::popcount;
use super::values::{distance, read_words};

/// Pushes `(position, distance)` of every value within `radius` of `query`.
pub(crate) fn scan(values: &[u8], words: usize, query: &[u64; 4], radius: u32, out: &mut Vec<(u32, u32)>) {
    let mut positions = Vec::new();
    match words {
        1 => popcount::scan_w1(values, query[0], radius, 0, &mut positions),
        _ => popcount::scan_w4(values, query, radius, 0, &mut positions),
    }
    out.extend(positions.into_iter().map(|p| {
        let d = read_words(values, p as usize, words).map_or(u32::MAX, |v| distance(&v, query, words));
        (p, d)
    }));
}

/// [`scan`] for many queries at once, tiled; `out[i]` receives the hits of `queries[i]`.
pub(crate) fn scan_many(
    values: &[u8],
    words: usize,
    queries: &[[u64; 4]],
    radius: u32,
    out: &mut [Vec<(u32, u32)>],
) {
    match words {
        1 => {
            let q: Vec<u64> = queries.iter().map(|q| q[0]).collect();
            popcount::tiled_w1(values, &q, radius, 0, out)
        }
        _ => popcount::tiled_w4(values, queries, radius, 0, out),
    }
}
