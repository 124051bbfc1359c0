//! The Jarosz filter: PDQ's blur before decimating to 64x64.
//!
//! Two rounds of a box filter along the rows then along the columns approximate a tent
//! filter. Meta computes each box filter with a running `f32` sum in four phases (fill,
//! grow, slide, shrink) and divides by the number of samples in the window; the sum's
//! rounding depends on the exact sequence of additions and subtractions, so every lane
//! here repeats that sequence exactly. Along columns, all columns advance together row by
//! row (each column keeps its own sum), which reads memory in order instead of striding.

/// Meta's box window for shrinking `old` samples to `new`: half of `old / new`, rounded up,
/// because two passes each cover half of the footprint of one output sample.
pub(crate) fn window_size(old: usize, new: usize) -> usize {
    (old + 2 * new - 1) / (2 * new)
}

/// The phase lengths of Meta's 1-D box filter over `len` samples with window `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Phases {
    /// Samples added before the first output.
    pub fill: usize,
    /// Outputs written while the window still grows (add, no subtract).
    pub grow: usize,
    /// Outputs written with a full window (add and subtract).
    pub slide: usize,
    /// Outputs written while the window shrinks at the end (subtract only).
    pub shrink: usize,
}

impl Phases {
    /// The phases for a vector of `len` samples; `window` must be in `1..=len`.
    pub fn new(len: usize, window: usize) -> Phases {
        debug_assert!(window >= 1 && window <= len);
        let half = (window + 2) / 2;
        Phases { fill: half - 1, grow: window - half + 1, slide: len - window, shrink: half - 1 }
    }
}

/// One box pass along a single vector (stride 1), `out[i]` = mean of the window around `i`.
pub(crate) fn box_1d(input: &[f32], out: &mut [f32], window: usize) {
    debug_assert_eq!(input.len(), out.len());
    let p = Phases::new(input.len(), window);
    let mut sum = 0.0f32;
    let mut count = 0u32;
    let (mut left, mut right, mut o) = (0usize, 0usize, 0usize);
    for _ in 0..p.fill {
        sum += input[right];
        count += 1;
        right += 1;
    }
    for _ in 0..p.grow {
        sum += input[right];
        count += 1;
        out[o] = sum / count as f32;
        right += 1;
        o += 1;
    }
    for _ in 0..p.slide {
        sum += input[right];
        sum -= input[left];
        out[o] = sum / count as f32;
        left += 1;
        right += 1;
        o += 1;
    }
    for _ in 0..p.shrink {
        sum -= input[left];
        count -= 1;
        out[o] = sum / count as f32;
        left += 1;
        o += 1;
    }
}

/// Box filter along every row of a `width`-wide row-major matrix.
pub(crate) fn box_rows(input: &[f32], out: &mut [f32], width: usize, window: usize) {
    for (row_in, row_out) in input.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        box_1d(row_in, row_out, window);
    }
}

/// Box filter along every column of a `width`-wide row-major matrix. All columns advance
/// together; `sums` is scratch space of at least `width` values.
pub(crate) fn box_cols(input: &[f32], out: &mut [f32], width: usize, window: usize, sums: &mut Vec<f32>) {
    let height = input.len() / width;
    let p = Phases::new(height, window);
    sums.clear();
    sums.resize(width, 0.0);
    let sums = &mut sums[..width];
    let row = |r: usize| &input[r * width..(r + 1) * width];
    let mut count = 0u32;
    let (mut left, mut right, mut o) = (0usize, 0usize, 0usize);
    for _ in 0..p.fill {
        for (s, &x) in sums.iter_mut().zip(row(right)) {
            *s += x;
        }
        count += 1;
        right += 1;
    }
    for _ in 0..p.grow {
        count += 1;
        let c = count as f32;
        let dst = &mut out[o * width..(o + 1) * width];
        for ((s, &x), d) in sums.iter_mut().zip(row(right)).zip(dst) {
            *s += x;
            *d = *s / c;
        }
        right += 1;
        o += 1;
    }
    let c = count as f32;
    for _ in 0..p.slide {
        let dst = &mut out[o * width..(o + 1) * width];
        for (((s, &add), &sub), d) in sums.iter_mut().zip(row(right)).zip(row(left)).zip(dst) {
            *s += add;
            *s -= sub;
            *d = *s / c;
        }
        left += 1;
        right += 1;
        o += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        let c = count as f32;
        let dst = &mut out[o * width..(o + 1) * width];
        for ((s, &x), d) in sums.iter_mut().zip(row(left)).zip(dst) {
            *s -= x;
            *d = *s / c;
        }
        left += 1;
        o += 1;
    }
}

/// The source index Meta samples for output `i` of `new` when decimating `old` samples:
/// the centre of the output cell, truncated.
pub(crate) fn sample_index(i: usize, old: usize, new: usize) -> usize {
    (((i as f64 + 0.5) * old as f64) / new as f64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_size_is_half_the_footprint_rounded_up() {
        // PDQ shrinks to 64: window = ceil(old / 128).
        for (old, want) in [(1, 1), (64, 1), (128, 1), (129, 2), (256, 2), (257, 3), (1004, 8), (1600, 13)] {
            assert_eq!(window_size(old, 64), want, "old = {old}");
        }
        assert_eq!(window_size(1024, 64), 8);
    }

    #[test]
    fn phases_cover_every_output_once() {
        for len in 1..40 {
            for window in 1..=len {
                let p = Phases::new(len, window);
                assert_eq!(p.grow + p.slide + p.shrink, len, "len {len} window {window}");
                assert_eq!(p.fill + p.grow + p.slide, len, "reads, len {len} window {window}");
            }
        }
        // Meta's worked examples: window 7 -> half 4, window 8 -> half 5.
        assert_eq!(Phases::new(16, 7), Phases { fill: 3, grow: 4, slide: 9, shrink: 3 });
        assert_eq!(Phases::new(16, 8), Phases { fill: 4, grow: 4, slide: 8, shrink: 4 });
    }

    /// The window of output `i`: Meta's comments list it (e.g. window 7: out[0] = 0+1+2+3).
    fn naive_box(input: &[f32], window: usize) -> Vec<f32> {
        let half = (window + 2) / 2;
        let n = input.len() as isize;
        (0..n)
            .map(|i| {
                let lo = (i - (window - half) as isize).max(0);
                let hi = (i + half as isize - 1).min(n - 1);
                let s: f32 = input[lo as usize..=hi as usize].iter().sum();
                s / (hi - lo + 1) as f32
            })
            .collect()
    }

    #[test]
    fn box_matches_naive_window_sums() {
        // Meta's worked examples: input 0..16, window 7 and window 8.
        let input: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut out = vec![0.0; 16];
        box_1d(&input, &mut out, 7);
        let sums7 = [6., 10., 15., 21., 28., 35., 42., 49., 56., 63., 70., 77., 84., 75., 65., 54.];
        let counts7 = [4., 5., 6., 7., 7., 7., 7., 7., 7., 7., 7., 7., 7., 6., 5., 4.];
        for i in 0..16 {
            assert_eq!(out[i], sums7[i] / counts7[i], "window 7, out[{i}]");
        }
        box_1d(&input, &mut out, 8);
        assert_eq!(out[0], 10.0 / 5.0);
        assert_eq!(out[11], 92.0 / 8.0);
        assert_eq!(out[15], 54.0 / 4.0);

        // Small integers sum exactly in f32, so the running sum equals the naive sum.
        let input: Vec<f32> = (0..23u32).map(|v| ((v * 37 + 11) % 251) as f32).collect();
        for window in 1..=input.len() {
            let mut got = vec![0.0; input.len()];
            box_1d(&input, &mut got, window);
            assert_eq!(got, naive_box(&input, window), "window {window}");
        }
    }

    #[test]
    fn column_pass_equals_row_pass_on_the_transpose() {
        let (w, h) = (7usize, 11usize);
        let m: Vec<f32> = (0..w * h).map(|v| ((v * 7919) % 1000) as f32 / 7.0).collect();
        let mut t = vec![0.0; w * h];
        for r in 0..h {
            for c in 0..w {
                t[c * h + r] = m[r * w + c];
            }
        }
        for window in 1..=h {
            let mut by_cols = vec![0.0; w * h];
            box_cols(&m, &mut by_cols, w, window, &mut Vec::new());
            let mut by_rows_t = vec![0.0; w * h];
            box_rows(&t, &mut by_rows_t, h, window);
            for r in 0..h {
                for c in 0..w {
                    assert_eq!(by_cols[r * w + c].to_bits(), by_rows_t[c * h + r].to_bits());
                }
            }
        }
    }

    #[test]
    fn sample_index_takes_cell_centres() {
        assert_eq!((0..64).map(|i| sample_index(i, 64, 64)).collect::<Vec<_>>(), (0..64).collect::<Vec<_>>());
        assert_eq!(sample_index(0, 1004, 64), 7);
        assert_eq!(sample_index(63, 1004, 64), 996);
        assert_eq!(sample_index(0, 5, 64), 0);
        assert_eq!(sample_index(63, 5, 64), 4);
    }
}
