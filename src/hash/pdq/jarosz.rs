//! The Jarosz filter: PDQ's blur before decimating to 64x64.
//!
//! Two rounds of a box filter along the rows then along the columns approximate a tent
//! filter. Meta computes each box filter with a running `f32` sum in four phases (fill,
//! grow, slide, shrink) and divides by the number of samples in the window; the sum's
//! rounding depends on the exact sequence of additions and subtractions, so every lane
//! here repeats that sequence exactly. Along columns, all columns advance together row by
//! row (each column keeps its own sum), which reads memory in order instead of striding.
//! The loops are kernels (`simd::kernel!`), compiled per CPU path: each lane repeats the
//! scalar sequence of operations, so every path gives the same bits.

use crate::hash::simd::kernel;

/// Meta's box window for shrinking `old` samples to `new`: half of `old / new`, rounded up,
/// because two passes each cover half of the footprint of one output sample.
pub(crate) fn window_size(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
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

/// One box pass along a single vector (stride 1), `out[i]` = mean of the window around `i`:
/// Meta's `box1DFloat`, kept as the oracle for the vectorised passes.
#[cfg(test)]
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
#[cfg(test)]
pub(crate) fn box_rows(input: &[f32], out: &mut [f32], width: usize, window: usize) {
    for (row_in, row_out) in input.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        box_1d(row_in, row_out, window);
    }
}

/// Rows of a matrix, made available in order: [`box_cols_each`] calls `prepare(r)` before
/// it first reads row `r`, and afterwards reads no row more than `window` rows above `r`.
pub(crate) trait Rows {
    /// Number of rows.
    fn height(&self) -> usize;
    /// Makes row `r` readable.
    fn prepare(&mut self, r: usize);
    /// Row `r`, once prepared.
    fn row(&self, r: usize) -> &[f32];
}

/// A whole row-major matrix in memory.
pub(crate) struct Matrix<'a> {
    /// The samples.
    pub data: &'a [f32],
    /// Row length.
    pub width: usize,
}

impl Rows for Matrix<'_> {
    fn height(&self) -> usize {
        self.data.len() / self.width
    }
    fn prepare(&mut self, _r: usize) {}
    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.width..(r + 1) * self.width]
    }
}

/// Box filter along every column of a `width`-wide row-major matrix. All columns advance
/// together; `sums` is scratch space.
#[cfg(test)]
pub(crate) fn box_cols(input: &[f32], out: &mut [f32], width: usize, window: usize, sums: &mut Vec<f32>) {
    let mut row = Vec::new();
    let mut m = Matrix { data: input, width };
    box_cols_each(
        &mut m,
        width,
        window,
        sums,
        &mut row,
        |_| true,
        |o, r| out[o * width..(o + 1) * width].copy_from_slice(r),
    );
}

/// Box filter along every column of the `width`-wide rows of `input`, handing each output
/// row to `emit(row_index, row)` in order instead of storing it. `sums` and `row_buf` are
/// scratch space. Only the rows for which `wanted(row_index)` holds are divided and
/// emitted (the running sums still see every row).
pub(crate) fn box_cols_each<R: Rows>(
    input: &mut R,
    width: usize,
    window: usize,
    sums: &mut Vec<f32>,
    row_buf: &mut Vec<f32>,
    wanted: impl Fn(usize) -> bool,
    mut emit: impl FnMut(usize, &[f32]),
) {
    let p = Phases::new(input.height(), window);
    sums.clear();
    sums.resize(width, 0.0);
    row_buf.clear();
    row_buf.resize(width, 0.0);
    let (sums, dst) = (&mut sums[..width], &mut row_buf[..width]);
    let mut count = 0u32;
    let (mut left, mut right, mut o) = (0usize, 0usize, 0usize);
    for _ in 0..p.fill {
        input.prepare(right);
        col_add(sums, input.row(right));
        count += 1;
        right += 1;
    }
    for _ in 0..p.grow {
        input.prepare(right);
        count += 1;
        col_add(sums, input.row(right));
        if wanted(o) {
            col_div(sums, dst, count as f32);
            emit(o, dst);
        }
        right += 1;
        o += 1;
    }
    let c = count as f32;
    for _ in 0..p.slide {
        input.prepare(right);
        let (add_row, sub_row) = (input.row(right), input.row(left));
        if wanted(o) {
            col_slide(sums, add_row, sub_row, dst, c);
            emit(o, dst);
        } else {
            col_add_sub(sums, add_row, sub_row);
        }
        left += 1;
        right += 1;
        o += 1;
    }
    for _ in 0..p.shrink {
        count -= 1;
        col_sub(sums, input.row(left));
        if wanted(o) {
            col_div(sums, dst, count as f32);
            emit(o, dst);
        }
        left += 1;
        o += 1;
    }
}

kernel! {
    /// `sums[c] += row[c]` for every column.
    fn col_add(sums: &mut [f32], row: &[f32]) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s += x;
        }
    }
}

kernel! {
    /// `sums[c] -= row[c]` for every column.
    fn col_sub(sums: &mut [f32], row: &[f32]) {
        for (s, &x) in sums.iter_mut().zip(row) {
            *s -= x;
        }
    }
}

kernel! {
    /// `dst[c] = sums[c] / count` for every column.
    fn col_div(sums: &[f32], dst: &mut [f32], count: f32) {
        for (d, &s) in dst.iter_mut().zip(sums) {
            *d = s / count;
        }
    }
}

kernel! {
    /// One sliding step without output: add the entering row, then subtract the leaving one.
    fn col_add_sub(sums: &mut [f32], add: &[f32], sub: &[f32]) {
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s += a;
            *s -= b;
        }
    }
}

kernel! {
    /// One sliding step: add the entering row, subtract the leaving one, divide.
    fn col_slide(sums: &mut [f32], add: &[f32], sub: &[f32], dst: &mut [f32], count: f32) {
        for (((s, &a), &b), d) in sums.iter_mut().zip(add).zip(sub).zip(dst.iter_mut()) {
            *s += a;
            *s -= b;
            *d = *s / count;
        }
    }
}

/// Number of rows filtered side by side by [`box_lanes`]: one AVX2 register of `f32`, two
/// SSE2 ones (measured faster than 16, whose interleaving the compiler does with scalar
/// moves, on AVX-512 too).
pub(crate) const LANES: usize = 8;

/// A group of [`LANES`] samples, one per vector filtered side by side.
pub(crate) type Lane = [f32; LANES];

kernel! {
    /// Box filter along `LANES` independent vectors stored interleaved (`input[k][l]` is
    /// sample `k` of vector `l`), so that each step is one vector operation across the
    /// lanes and the lanes' running sums do not wait on each other. Each lane gets exactly
    /// the operations of [`box_1d`].
    pub(crate) fn box_lanes(input: &[Lane], out: &mut [Lane], window: usize) {
        debug_assert_eq!(input.len(), out.len());
        let p = Phases::new(input.len(), window);
        let mut sum = [0.0f32; LANES];
        let mut count = 0u32;
        let (mut left, mut right, mut o) = (0usize, 0usize, 0usize);
        for _ in 0..p.fill {
            for (s, &x) in sum.iter_mut().zip(&input[right]) {
                *s += x;
            }
            count += 1;
            right += 1;
        }
        for _ in 0..p.grow {
            count += 1;
            let c = count as f32;
            for ((s, &x), d) in sum.iter_mut().zip(&input[right]).zip(&mut out[o]) {
                *s += x;
                *d = *s / c;
            }
            right += 1;
            o += 1;
        }
        let c = count as f32;
        let slide_out = &mut out[o..o + p.slide];
        for ((add, sub), dst) in
            input[right..right + p.slide].iter().zip(&input[left..left + p.slide]).zip(slide_out)
        {
            for (((s, &a), &b), d) in sum.iter_mut().zip(add).zip(sub).zip(dst) {
                *s += a;
                *s -= b;
                *d = *s / c;
            }
        }
        left += p.slide;
        o += p.slide;
        for _ in 0..p.shrink {
            count -= 1;
            let c = count as f32;
            for ((s, &x), d) in sum.iter_mut().zip(&input[left]).zip(&mut out[o]) {
                *s -= x;
                *d = *s / c;
            }
            left += 1;
            o += 1;
        }
    }
}

kernel! {
    /// [`box_lanes`] computing only the outputs at `samples` (increasing indices), into
    /// `out[j]` for `samples[j]`: the running sums see every input as in [`box_lanes`], but
    /// only the sampled outputs are divided.
    pub(crate) fn box_lanes_sampled(input: &[Lane], window: usize, samples: &[usize], out: &mut [Lane]) {
        debug_assert_eq!(samples.len(), out.len());
        let p = Phases::new(input.len(), window);
        let mut sum = [0.0f32; LANES];
        let mut count = 0u32;
        let (mut left, mut right, mut o) = (0usize, 0usize, 0usize);
        let mut next = 0usize;
        let mut emit = |o: usize, sum: &Lane, c: f32| {
            while next < samples.len() && samples[next] == o {
                for (d, &s) in out[next].iter_mut().zip(sum) {
                    *d = s / c;
                }
                next += 1;
            }
        };
        for _ in 0..p.fill {
            for (s, &x) in sum.iter_mut().zip(&input[right]) {
                *s += x;
            }
            count += 1;
            right += 1;
        }
        for _ in 0..p.grow {
            count += 1;
            for (s, &x) in sum.iter_mut().zip(&input[right]) {
                *s += x;
            }
            emit(o, &sum, count as f32);
            right += 1;
            o += 1;
        }
        let c = count as f32;
        for (add, sub) in input[right..right + p.slide].iter().zip(&input[left..left + p.slide]) {
            for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
                *s += a;
                *s -= b;
            }
            emit(o, &sum, c);
            o += 1;
        }
        left += p.slide;
        for _ in 0..p.shrink {
            count -= 1;
            for (s, &x) in sum.iter_mut().zip(&input[left]) {
                *s -= x;
            }
            emit(o, &sum, count as f32);
            left += 1;
            o += 1;
        }
    }
}

/// Transposes an 8x8 tile: `out[i][l] = m[l][i]`, element by element (the portable path;
/// LLVM compiles it to scalar moves).
#[inline(always)]
fn transpose_portable(m: &[Lane; LANES]) -> [Lane; LANES] {
    std::array::from_fn(|i| std::array::from_fn(|l| m[l][i]))
}

/// [`transpose_portable`] with AVX shuffles: the three rounds of an AVX 8x8 transpose
/// (interleave pairs of rows, then pairs of pairs, per 128-bit half; then swap halves),
/// 24 shuffles instead of 64 scalar moves. Only moves samples, so it gives the same bits
/// as the portable path (tested on every path the CPU has).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn transpose_avx(m: &[Lane; LANES]) -> [Lane; LANES] {
    use std::arch::x86_64::{
        __m256, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };
    let r: [__m256; LANES] = bytemuck::cast(*m);
    // Round 1: t[2k] = (r[2k][0], r[2k+1][0], r[2k][1], r[2k+1][1] | same for 4, 5).
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    // Round 2: s[k] holds columns k and k + 4 of four rows (0-3, or 4-7 for s[k + 4]).
    let s = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    // Round 3: low halves are columns 0-3, high halves columns 4-7.
    let out: [__m256; LANES] = [
        _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
        _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
        _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
        _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
        _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
    ];
    bytemuck::cast(out)
}

/// `LANES` consecutive samples starting at `at`.
#[inline(always)]
fn lane_at(samples: &[f32], at: usize) -> Lane {
    let mut r = [0.0f32; LANES];
    r.copy_from_slice(&samples[at..at + LANES]);
    r
}

/// Whether the AVX transposes may run: the kernels' path is AVX2 or AVX-512, which
/// [`simd::current`](crate::hash::simd::current) names only on a CPU that has AVX2.
#[cfg(target_arch = "x86_64")]
fn avx() -> bool {
    crate::hash::simd::current() >= crate::hash::simd::Path::Avx2
}

/// Interleaves `rows` (row-major, `width` long, at most [`LANES`] of them) into lanes:
/// `lanes[x][l] = rows[l * width + x]`. Lanes past the last row keep what they held.
pub(crate) fn to_lanes(rows: &[f32], width: usize, lanes: &mut [Lane]) {
    #[cfg(target_arch = "x86_64")]
    if avx() {
        // SAFETY: `avx` holds only when this CPU has AVX2 (see `avx`), which `to_lanes_avx`
        // is compiled for.
        #[allow(unsafe_code)]
        unsafe {
            return to_lanes_avx(rows, width, lanes);
        }
    }
    to_lanes_with(rows, width, lanes, transpose_portable);
}

/// [`to_lanes`] with the AVX transpose.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn to_lanes_avx(rows: &[f32], width: usize, lanes: &mut [Lane]) {
    to_lanes_with(rows, width, lanes, |m| transpose_avx(m));
}

/// [`to_lanes`] with `transpose` for whole 8x8 tiles.
#[inline(always)]
fn to_lanes_with(
    rows: &[f32],
    width: usize,
    lanes: &mut [Lane],
    transpose: impl Fn(&[Lane; LANES]) -> [Lane; LANES],
) {
    let n = rows.len() / width;
    let lanes = &mut lanes[..width];
    if n == LANES {
        let tiles = width / LANES;
        for t in 0..tiles {
            let x0 = t * LANES;
            let tile: [Lane; LANES] = std::array::from_fn(|l| lane_at(rows, l * width + x0));
            let out: &mut [Lane; LANES] = (&mut lanes[x0..x0 + LANES]).try_into().expect("a whole tile");
            *out = transpose(&tile);
        }
        for x in tiles * LANES..width {
            lanes[x] = std::array::from_fn(|l| rows[l * width + x]);
        }
    } else {
        for (l, row) in rows.chunks_exact(width).enumerate() {
            for (lane, &v) in lanes.iter_mut().zip(row) {
                lane[l] = v;
            }
        }
    }
}

/// The inverse of [`to_lanes`]: `rows[l * width + x] = lanes[x][l]` for the
/// `rows.len() / width` rows of `rows`.
pub(crate) fn from_lanes(lanes: &[Lane], width: usize, rows: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx() {
        // SAFETY: as in `to_lanes`.
        #[allow(unsafe_code)]
        unsafe {
            return from_lanes_avx(lanes, width, rows);
        }
    }
    from_lanes_with(lanes, width, rows, transpose_portable);
}

/// [`from_lanes`] with the AVX transpose.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn from_lanes_avx(lanes: &[Lane], width: usize, rows: &mut [f32]) {
    from_lanes_with(lanes, width, rows, |m| transpose_avx(m));
}

/// [`from_lanes`] with `transpose` for whole 8x8 tiles.
#[inline(always)]
fn from_lanes_with(
    lanes: &[Lane],
    width: usize,
    rows: &mut [f32],
    transpose: impl Fn(&[Lane; LANES]) -> [Lane; LANES],
) {
    let n = rows.len() / width;
    let lanes = &lanes[..width];
    if n == LANES {
        let rows = &mut rows[..LANES * width];
        let tiles = width / LANES;
        for t in 0..tiles {
            let x0 = t * LANES;
            let tile: &[Lane; LANES] = (&lanes[x0..x0 + LANES]).try_into().expect("a whole tile");
            for (l, r) in transpose(tile).iter().enumerate() {
                rows[l * width + x0..l * width + x0 + LANES].copy_from_slice(r);
            }
        }
        for (x, lane) in lanes.iter().enumerate().skip(tiles * LANES) {
            for (l, &v) in lane.iter().enumerate() {
                rows[l * width + x] = v;
            }
        }
    } else {
        for (l, row) in rows.chunks_exact_mut(width).enumerate() {
            for (d, lane) in row.iter_mut().zip(lanes) {
                *d = lane[l];
            }
        }
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
    fn lanes_equal_separate_vectors() {
        let n = 37;
        let vectors: Vec<Vec<f32>> = (0..LANES)
            .map(|l| (0..n).map(|k| ((k * 7919 + l * 104729) % 1000) as f32 / 9.0).collect())
            .collect();
        let interleaved: Vec<[f32; LANES]> = (0..n).map(|k| std::array::from_fn(|l| vectors[l][k])).collect();
        for window in 1..=n {
            let mut out = vec![[0.0f32; LANES]; n];
            box_lanes(&interleaved, &mut out, window);
            for (l, v) in vectors.iter().enumerate() {
                let mut want = vec![0.0; n];
                box_1d(v, &mut want, window);
                let got: Vec<f32> = out.iter().map(|o| o[l]).collect();
                assert_eq!(got, want, "window {window} lane {l}");
            }
        }
    }

    #[test]
    fn lanes_interleave_and_deinterleave_rows_on_every_path() {
        let paths = crate::hash::simd::supported();
        assert!(!paths.is_empty());
        for path in paths {
            crate::hash::simd::force(path).unwrap();
            for width in [1usize, 7, 8, 9, 16, 23, 64, 67] {
                for n in 1..=LANES {
                    let rows: Vec<f32> = (0..n * width).map(|v| v as f32 * 0.5 - 3.0).collect();
                    let mut lanes = vec![[f32::NAN; LANES]; width + 3];
                    to_lanes(&rows, width, &mut lanes);
                    for x in 0..width {
                        for l in 0..n {
                            assert_eq!(lanes[x][l], rows[l * width + x], "{path:?} w {width} n {n}");
                        }
                    }
                    let mut back = vec![0.0f32; n * width];
                    from_lanes(&lanes, width, &mut back);
                    assert_eq!(back, rows, "{path:?} width {width} rows {n}");
                }
            }
        }
        crate::hash::simd::force(crate::hash::simd::detected()).unwrap();
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
