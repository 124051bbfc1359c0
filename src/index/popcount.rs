//! The hot Hamming-distance loops, compiled several times and picked at run time.
//!
//! Rust's default `x86_64` target has no `POPCNT` instruction, so `u64::count_ones` becomes
//! a dozen shifts and masks. Each kernel here is built for AVX-512 with `VPOPCNTDQ`, for
//! AVX2 + `POPCNT`, for plain `POPCNT` and for the baseline, and the
//! [`multiversion`](https://docs.rs/multiversion) crate picks the best one the CPU has the
//! first time it is called (one CPUID check, then a cached function pointer). Our code has
//! no `unsafe`: the dispatch lives in that crate.
//!
//! Values are read from the index bytes as little-endian `u64` words (`W` words per
//! value: 1 for pHash, 4 for PDQ). The kernels compute distances for a block of values
//! into a small buffer first and filter afterwards, which lets the compiler vectorise the
//! popcounts.

use multiversion::multiversion;

/// Values per inner block: distances for this many values are computed before filtering.
const BLOCK: usize = 64;

/// The CPU features the dispatched kernels use on this machine, for `info` and benchmarks.
pub fn selected_features() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            return "avx512vpopcntdq";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
            return "avx2+popcnt";
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            return "popcnt";
        }
        "baseline"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "baseline"
    }
}

#[inline(always)]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// Appends `base + i` for every 64-bit value `i` of `values` within `radius` of `query`.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vpopcntdq+popcnt",
    "x86_64+avx2+popcnt",
    "x86_64+popcnt",
    "aarch64+neon"
))]
pub(crate) fn scan_w1(values: &[u8], query: u64, radius: u32, base: u32, out: &mut Vec<u32>) {
    let mut d = [0u32; BLOCK];
    let mut pos = base;
    for block in values.chunks(BLOCK * 8) {
        let n = block.len() / 8;
        for (slot, v) in d.iter_mut().zip(block.chunks_exact(8)) {
            *slot = (word(v) ^ query).count_ones();
        }
        for (i, &dist) in d[..n].iter().enumerate() {
            if dist <= radius {
                out.push(pos.wrapping_add(i as u32));
            }
        }
        pos = pos.wrapping_add(n as u32);
    }
}

/// Appends `base + i` for every 256-bit value `i` of `values` within `radius` of `query`.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vpopcntdq+popcnt",
    "x86_64+avx2+popcnt",
    "x86_64+popcnt",
    "aarch64+neon"
))]
pub(crate) fn scan_w4(values: &[u8], query: &[u64; 4], radius: u32, base: u32, out: &mut Vec<u32>) {
    let mut d = [0u32; BLOCK];
    let mut pos = base;
    for block in values.chunks(BLOCK * 32) {
        let n = block.len() / 32;
        for (slot, v) in d.iter_mut().zip(block.chunks_exact(32)) {
            *slot = (word(&v[0..8]) ^ query[0]).count_ones()
                + (word(&v[8..16]) ^ query[1]).count_ones()
                + (word(&v[16..24]) ^ query[2]).count_ones()
                + (word(&v[24..32]) ^ query[3]).count_ones();
        }
        for (i, &dist) in d[..n].iter().enumerate() {
            if dist <= radius {
                out.push(pos.wrapping_add(i as u32));
            }
        }
        pos = pos.wrapping_add(n as u32);
    }
}

/// The tiled scan for many 64-bit queries: every block of values is compared with every
/// query while it is in the L1 cache. `out[q]` receives `(base + i, distance)` pairs.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vpopcntdq+popcnt",
    "x86_64+avx2+popcnt",
    "x86_64+popcnt",
    "aarch64+neon"
))]
pub(crate) fn tiled_w1(values: &[u8], queries: &[u64], radius: u32, base: u32, out: &mut [Vec<(u32, u32)>]) {
    let mut d = [0u32; BLOCK];
    let mut pos = base;
    for block in values.chunks(BLOCK * 8 * 16) {
        for (q, hits) in queries.iter().zip(out.iter_mut()) {
            let mut p = pos;
            for sub in block.chunks(BLOCK * 8) {
                let n = sub.len() / 8;
                for (slot, v) in d.iter_mut().zip(sub.chunks_exact(8)) {
                    *slot = (word(v) ^ q).count_ones();
                }
                for (i, &dist) in d[..n].iter().enumerate() {
                    if dist <= radius {
                        hits.push((p.wrapping_add(i as u32), dist));
                    }
                }
                p = p.wrapping_add(n as u32);
            }
        }
        pos = pos.wrapping_add((block.len() / 8) as u32);
    }
}

/// The tiled scan for many 256-bit queries; see [`tiled_w1`].
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vpopcntdq+popcnt",
    "x86_64+avx2+popcnt",
    "x86_64+popcnt",
    "aarch64+neon"
))]
pub(crate) fn tiled_w4(
    values: &[u8],
    queries: &[[u64; 4]],
    radius: u32,
    base: u32,
    out: &mut [Vec<(u32, u32)>],
) {
    let mut d = [0u32; BLOCK];
    let mut pos = base;
    for block in values.chunks(BLOCK * 32 * 4) {
        for (q, hits) in queries.iter().zip(out.iter_mut()) {
            let mut p = pos;
            for sub in block.chunks(BLOCK * 32) {
                let n = sub.len() / 32;
                for (slot, v) in d.iter_mut().zip(sub.chunks_exact(32)) {
                    *slot = (word(&v[0..8]) ^ q[0]).count_ones()
                        + (word(&v[8..16]) ^ q[1]).count_ones()
                        + (word(&v[16..24]) ^ q[2]).count_ones()
                        + (word(&v[24..32]) ^ q[3]).count_ones();
                }
                for (i, &dist) in d[..n].iter().enumerate() {
                    if dist <= radius {
                        hits.push((p.wrapping_add(i as u32), dist));
                    }
                }
                p = p.wrapping_add(n as u32);
            }
        }
        pos = pos.wrapping_add((block.len() / 32) as u32);
    }
}

/// The baseline build of [`scan_w1`] without runtime dispatch, for the benchmark that
/// measures what the dispatch gains.
#[doc(hidden)]
pub fn portable_scan_w1(values: &[u8], query: u64, radius: u32, out: &mut Vec<u32>) {
    let mut d = [0u32; BLOCK];
    let mut pos = 0u32;
    for block in values.chunks(BLOCK * 8) {
        let n = block.len() / 8;
        for (slot, v) in d.iter_mut().zip(block.chunks_exact(8)) {
            *slot = (word(v) ^ query).count_ones();
        }
        for (i, &dist) in d[..n].iter().enumerate() {
            if dist <= radius {
                out.push(pos.wrapping_add(i as u32));
            }
        }
        pos = pos.wrapping_add(n as u32);
    }
}

/// The dispatched [`scan_w1`], public for the benchmark.
#[doc(hidden)]
pub fn dispatched_scan_w1(values: &[u8], query: u64, radius: u32, out: &mut Vec<u32>) {
    scan_w1(values, query, radius, 0, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_agree_with_count_ones() {
        let vals: Vec<u64> = (0..300u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let q = 0x0123_4567_89ab_cdef;
        for r in [0, 20, 32, 64] {
            let want: Vec<u32> =
                (0..300u32).filter(|&i| (vals[i as usize] ^ q).count_ones() <= r).map(|i| i + 7).collect();
            let mut got = Vec::new();
            scan_w1(&bytes, q, r, 7, &mut got);
            assert_eq!(got, want);
            let mut tiled = vec![Vec::new()];
            tiled_w1(&bytes, &[q], r, 7, &mut tiled);
            assert_eq!(tiled[0].iter().map(|h| h.0).collect::<Vec<_>>(), want);
            let mut w4 = Vec::new();
            let bytes4: Vec<u8> = bytes.chunks(32).filter(|c| c.len() == 32).flatten().copied().collect();
            let q4 = [q, !q, q.rotate_left(7), 0];
            scan_w4(&bytes4, &q4, r * 4, 0, &mut w4);
            let want4: Vec<u32> = bytes4
                .chunks_exact(32)
                .enumerate()
                .filter(|(_, c)| {
                    (0..4).map(|k| (word(&c[k * 8..k * 8 + 8]) ^ q4[k]).count_ones()).sum::<u32>() <= r * 4
                })
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(w4, want4);
        }
    }
}
