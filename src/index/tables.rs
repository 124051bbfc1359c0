//! Writing multi-index hashing tables with bounded memory, byte for byte what
//! [`MihTables::build`](super::mih::MihTables::build) makes in memory.
//!
//! A table is its bucket offsets, then (for all but the first substring) each value's
//! check word and position in bucket order, positions ascending within a bucket. The
//! offsets come from one pass over the sorted values counting each substring. The
//! positions and check words are a counting sort by substring: rather than holding all of
//! them, each array is produced in slices of at most `budget` bytes, one pass over the
//! values per slice, each pass keeping only the values whose place in bucket order falls in
//! its slice. Memory is the slice plus two arrays of `2^bits` bucket cursors, whatever
//! the number of values; the values are read again from disk (the page cache) per slice.

use std::io::{Read, Write};

use crate::index::mih::{check_word, substring, Spec};

/// Reads the `words`-word values of one kind, one after another.
pub(crate) trait ValueSource {
    /// A fresh reader of all the values from the first.
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>>;
}

/// Calls `f(position, words)` on each of the `n` values of `source`.
fn each_value(
    source: &dyn ValueSource,
    n: usize,
    words: usize,
    mut f: impl FnMut(usize, &[u64; 4]),
) -> std::io::Result<()> {
    let mut r = source.open()?;
    let mut buf = [0u8; 32];
    let mut w = [0u64; 4];
    for p in 0..n {
        r.read_exact(&mut buf[..words * 8])?;
        for (slot, c) in w.iter_mut().zip(buf.chunks_exact(8)).take(words) {
            let mut x = [0u8; 8];
            x.copy_from_slice(c);
            *slot = u64::from_le_bytes(x);
        }
        f(p, &w);
    }
    Ok(())
}

/// The byte length of the table of `spec` over `n` values.
pub(crate) fn table_len(spec: Spec, n: usize) -> usize {
    ((1usize << spec.bits) + 1) * 4 + n * per_value(spec)
}

fn per_value(spec: Spec) -> usize {
    match (spec.start == 0, spec.checked) {
        (true, _) => 0,
        (false, false) => 4,
        (false, true) => 8,
    }
}

/// Writes the table of `spec` over the `n` sorted values of `source` to `out`, holding at
/// most about `budget` bytes of it at once.
pub(crate) fn write_table(
    source: &dyn ValueSource,
    n: usize,
    words: usize,
    spec: Spec,
    budget: usize,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let buckets = 1usize << spec.bits;
    let mut offsets = vec![0u32; buckets + 1];
    each_value(source, n, words, |_, w| offsets[substring(w, words, spec) as usize + 1] += 1)?;
    for i in 0..buckets {
        offsets[i + 1] += offsets[i];
    }
    write_u32s(out, &offsets)?;
    if spec.start == 0 {
        return Ok(());
    }
    let slice = (budget / 4).max(1);
    let fields: &[bool] = if spec.checked { &[true, false] } else { &[false] };
    let mut buf: Vec<u32> = Vec::new();
    for &checks in fields {
        let mut lo = 0;
        while lo < n {
            let hi = n.min(lo + slice);
            buf.clear();
            buf.resize(hi - lo, 0);
            let mut next = offsets[..buckets].to_vec();
            each_value(source, n, words, |p, w| {
                let k = substring(w, words, spec) as usize;
                let at = next[k] as usize;
                next[k] += 1;
                if (lo..hi).contains(&at) {
                    // Positions fit in a u32: the entry count does.
                    buf[at - lo] = if checks { check_word(w[0], spec) } else { p as u32 };
                }
            })?;
            write_u32s(out, &buf)?;
            lo = hi;
        }
    }
    Ok(())
}

fn write_u32s(out: &mut impl Write, xs: &[u32]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(xs.len().min(1 << 16) * 4);
    for chunk in xs.chunks(1 << 16) {
        bytes.clear();
        chunk.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        out.write_all(&bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::mih::{plan, MihTables};

    struct Mem<'a>(&'a [u8]);
    impl ValueSource for Mem<'_> {
        fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
            Ok(Box::new(self.0))
        }
    }

    #[test]
    fn sliced_tables_are_the_in_memory_tables() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for (words, n) in [(1usize, 3000usize), (4, 700)] {
            let mut vals: Vec<[u64; 4]> = (0..n)
                .map(|_| {
                    let mut w = [0u64; 4];
                    for slot in w.iter_mut().take(words) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Clustered, so buckets hold several values.
                        *slot = x & 0xf0f0_0000_ffff_00ff;
                    }
                    w
                })
                .collect();
            vals.sort_unstable();
            let bytes: Vec<u8> =
                vals.iter().flat_map(|w| w[..words].iter().flat_map(|x| x.to_le_bytes())).collect();
            let width = words as u32 * 64;
            let want = MihTables::build(&bytes, width, words, None);
            assert_eq!(want.len(), plan(width, n, None).len());
            for (spec, table) in want {
                for budget in [4, 100, 1 << 20] {
                    let mut got = Vec::new();
                    write_table(&Mem(&bytes), n, words, spec, budget, &mut got).unwrap();
                    assert_eq!(got.len(), table_len(spec, n));
                    assert!(got == table, "{spec:?} budget {budget}");
                }
            }
        }
    }
}
