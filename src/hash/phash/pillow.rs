//! Pillow's `convert("L")` and `resize(size, LANCZOS)`, reproduced to the bit.
//!
//! Python `imagehash.phash` hashes whatever Pillow hands it, so the 32x32 grey thumbnail
//! must be the one Pillow computes, not merely a good one. This module repeats Pillow's
//! arithmetic (`libImaging/Convert.c` and `libImaging/Resample.c`, Pillow 10 to 13):
//!
//! * **Luma**: `L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`, integer ITU-R 601-2.
//! * **Resampling**: separable, a horizontal pass over only the source rows that the vertical
//!   pass will read, then a vertical pass; except that Pillow 13 (the version the references
//!   were made with) runs the vertical pass first when the height shrinks by more than twice
//!   as many pixels as the width (python-pillow/Pillow#9549). A pass is skipped when its
//!   axis keeps its size (`Image.resize` returns a copy when neither changes). The filter is
//!   the 3-lobe Lanczos window, its support scaled by the downscale factor (never below 1).
//!   The taps of each output sample are computed in `f64` exactly as Pillow does (`center`,
//!   `xmin`, `xmax` and the filter argument, in the same order of operations), normalised to
//!   sum to one, then rounded to fixed point with 22 fractional bits. Each pass accumulates
//!   in 32-bit integers from a rounding offset of one half and clips to 0..=255, so the
//!   intermediate image is 8-bit, as in Pillow.
//! * `resize()` without `reducing_gap` (imagehash passes none) does **not** call `reduce()`
//!   first, so there is no box-filter pre-shrink to reproduce.

use std::cell::RefCell;
use std::rc::Rc;

use crate::hash::simd::kernel;
use crate::image::pixels::{Image, Pixels};

/// Fractional bits of Pillow's fixed-point filter taps (`PRECISION_BITS`, 32 - 8 - 2).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The rounding offset every fixed-point sum starts from (one half).
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Pillow's ITU-R 601-2 luma of one RGB pixel (`L24(rgb) >> 16` in `Convert.c`).
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    // The weights sum to 65536 and the result fits 24 bits, so the shift yields 0..=255.
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// Pillow's `lanczos_filter`: `sinc(x) * sinc(x / 3)` on `[-3, 3)`, zero elsewhere.
fn lanczos(x: f64) -> f64 {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            x.sin() / x
        }
    }
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The fixed-point taps that map `in_size` samples onto `out_size` along one axis.
struct Taps {
    /// Per output sample: first source index and number of taps.
    bounds: Vec<(usize, usize)>,
    /// Per output sample: the offset of its taps in `coeffs`.
    offsets: Vec<usize>,
    /// All taps, in Pillow's fixed point.
    coeffs: Vec<i32>,
}

impl Taps {
    /// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the full box
    /// `(0, in_size)`. Both sizes are at least 1.
    fn new(in_size: usize, out_size: usize) -> Taps {
        const SUPPORT: f64 = 3.0;
        // Pillow computes `in1 - in0` in `float` (the box is `float[4]`), then divides in
        // double. Image sides are far below 2^24, so the float holds them exactly.
        let scale = f64::from(in_size as f32 - 0.0f32) / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = SUPPORT * filterscale;
        let ss = 1.0 / filterscale;

        let mut bounds = Vec::with_capacity(out_size);
        let mut offsets = Vec::with_capacity(out_size);
        let mut coeffs = Vec::new();
        let mut weights = Vec::new();
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            // C's `(int)` truncates toward zero; a negative start is clamped to 0 anyway.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).clamp(0, in_size as i64) as usize;
            let len = xmax.saturating_sub(xmin);

            weights.clear();
            let mut ww = 0.0;
            for x in 0..len {
                let w = lanczos(((x + xmin) as f64 - center + 0.5) * ss);
                weights.push(w);
                ww += w;
            }
            offsets.push(coeffs.len());
            bounds.push((xmin, len));
            for &w in &weights {
                let k = if ww != 0.0 { w / ww } else { w };
                let scaled = k * f64::from(1u32 << PRECISION_BITS);
                // `as` truncates toward zero like C's `(int)`.
                coeffs.push(if k < 0.0 { (scaled - 0.5) as i32 } else { (scaled + 0.5) as i32 });
            }
        }
        Taps { bounds, offsets, coeffs }
    }

    /// The source start and the taps of output sample `i`.
    #[inline]
    fn get(&self, i: usize) -> (usize, &[i32]) {
        let (start, len) = self.bounds[i];
        let off = self.offsets[i];
        (start, &self.coeffs[off..off + len])
    }
}

/// The taps of `(in_size, out_size)`, from a small per-thread cache of the last sizes
/// seen: computing them costs two `sin` per tap (about 30,000 for a 1,600-pixel side into
/// 32, a large share of the whole resize), and a store's photos mostly share a few sizes.
/// The taps are a pure function of the two sizes, so a cached set is the set `Taps::new`
/// would compute.
fn cached_taps(in_size: usize, out_size: usize) -> Rc<Taps> {
    /// The cached taps, most recently used first: ((in, out), taps).
    type Cache = Vec<((usize, usize), Rc<Taps>)>;
    const KEEP: usize = 8;
    thread_local! {
        static CACHE: RefCell<Cache> = const { RefCell::new(Vec::new()) };
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (in_size, out_size);
        if let Some(i) = cache.iter().position(|(k, _)| *k == key) {
            let hit = cache.remove(i);
            let taps = Rc::clone(&hit.1);
            cache.insert(0, hit);
            return taps;
        }
        let taps = Rc::new(Taps::new(in_size, out_size));
        cache.insert(0, (key, Rc::clone(&taps)));
        cache.truncate(KEEP);
        taps
    })
}

/// Pillow's `clip8`: the fixed-point sum shifted down, clamped to 0..=255.
#[inline]
fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One grey row of `image` in Pillow 'L' samples, written to `out` (`width` long).
fn luma_row(image: &Image, y: usize, out: &mut [u8]) {
    let w = image.width as usize;
    match &image.pixels {
        Pixels::Gray(samples) => out.copy_from_slice(&samples[y * w..(y + 1) * w]),
        Pixels::Rgb(samples) => luma_rgb(&samples[y * w * 3..(y + 1) * w * 3], out),
    }
}

kernel! {
    /// [`luma`] of each RGB pixel of `rgb` (3 bytes a pixel) into `out`. A plain loop over
    /// `chunks_exact(3)` is what LLVM's loop vectoriser turns into byte shuffles that
    /// deinterleave R, G and B (a fixed-size unrolled block is not: it gathers bytes one
    /// by one).
    fn luma_rgb(rgb: &[u8], out: &mut [u8]) {
        for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
            *o = luma(p[0], p[1], p[2]);
        }
    }
}

/// `image.convert("L")` as Pillow computes it: `width * height` grey samples, row-major.
pub(super) fn grey(image: &Image) -> Vec<u8> {
    let w = image.width as usize;
    let mut out = vec![0u8; w * image.height as usize];
    for (y, row) in out.chunks_exact_mut(w).enumerate() {
        luma_row(image, y, row);
    }
    out
}

/// `image.convert("L").resize((out_w, out_h), Image.LANCZOS)` as Pillow computes it:
/// `out_w * out_h` grey samples, row-major.
///
/// `out_w` and `out_h` must be at least 1; the image sides are at least 1 by construction.
pub(crate) fn grey_lanczos(image: &Image, out_w: usize, out_h: usize) -> Vec<u8> {
    let (in_w, in_h) = (image.width as usize, image.height as usize);
    let need_horizontal = out_w != in_w;
    let need_vertical = out_h != in_h;
    if !need_horizontal && !need_vertical {
        return grey(image);
    }
    // Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height
    // shrinks by more than twice as many pixels as the width; earlier Pillows never do.
    let (dw, dh) = (in_w as i64 - out_w as i64, in_h as i64 - out_h as i64);
    let horizontal_first = !(dh > 0 && dh > 2 * dw);
    if horizontal_first {
        horizontal_then_vertical(image, out_w, out_h, need_horizontal, need_vertical)
    } else {
        vertical_then_horizontal(image, out_w, out_h, need_horizontal)
    }
}

/// Pillow's usual order. The horizontal pass covers only the source rows the vertical
/// pass reads (all of them, except at the edges of an upscale), converting each row to
/// grey on the way, so no full-size grey copy is made.
fn horizontal_then_vertical(
    image: &Image,
    out_w: usize,
    out_h: usize,
    need_horizontal: bool,
    need_vertical: bool,
) -> Vec<u8> {
    let (in_w, in_h) = (image.width as usize, image.height as usize);
    let vert = cached_taps(in_h, out_h);
    let (first_row, last_row) = if need_vertical {
        (vert.bounds.first().map_or(0, |b| b.0), vert.bounds.last().map_or(in_h, |b| b.0 + b.1))
    } else {
        (0, in_h)
    };
    let rows = last_row.saturating_sub(first_row);

    let mut temp = vec![0u8; rows * out_w];
    if need_horizontal {
        let horiz = cached_taps(in_w, out_w);
        let mut line = vec![0u8; in_w];
        for (r, out_row) in temp.chunks_exact_mut(out_w).enumerate() {
            luma_row(image, first_row + r, &mut line);
            horizontal_row(&line, &horiz, out_row);
        }
    } else {
        for (r, out_row) in temp.chunks_exact_mut(out_w).enumerate() {
            luma_row(image, first_row + r, out_row);
        }
    }
    if !need_vertical {
        return temp;
    }
    vertical(&temp, out_w, &vert, first_row)
}

/// Pillow 13's order for images whose height shrinks much more than their width: a
/// vertical pass over the whole grey image, then a horizontal pass over its `out_h` rows.
fn vertical_then_horizontal(image: &Image, out_w: usize, out_h: usize, need_horizontal: bool) -> Vec<u8> {
    let (in_w, in_h) = (image.width as usize, image.height as usize);
    let temp = vertical(&grey(image), in_w, &cached_taps(in_h, out_h), 0);
    if !need_horizontal {
        return temp;
    }
    let horiz = cached_taps(in_w, out_w);
    let mut out = vec![0u8; out_h * out_w];
    for (src, dst) in temp.chunks_exact(in_w).zip(out.chunks_exact_mut(out_w)) {
        horizontal_row(src, &horiz, dst);
    }
    out
}

kernel! {
    /// One row of the horizontal pass (Pillow's `ImagingResampleHorizontal_8bpc`). Integer
    /// sums are exact in any order, so the dot products may run many taps per instruction.
    fn horizontal_row(src: &[u8], taps: &Taps, out: &mut [u8]) {
        for (xx, o) in out.iter_mut().enumerate() {
            let (start, k) = taps.get(xx);
            let mut sum = HALF;
            for (&p, &c) in src[start..start + k.len()].iter().zip(k) {
                sum = sum.wrapping_add(i32::from(p).wrapping_mul(c));
            }
            *o = clip8(sum);
        }
    }
}

/// The vertical pass (Pillow's `ImagingResampleVertical_8bpc`) over `src`, whose first
/// row is source row `first_row`. Returns `taps.bounds.len()` rows of `width` samples.
fn vertical(src: &[u8], width: usize, taps: &Taps, first_row: usize) -> Vec<u8> {
    let out_h = taps.bounds.len();
    let mut out = vec![0u8; out_h * width];
    let mut sums = vec![0i32; width];
    for (yy, out_row) in out.chunks_exact_mut(width).enumerate() {
        let (start, k) = taps.get(yy);
        sums.fill(HALF);
        // Integer sums are exact, so accumulating row by row equals Pillow's per-pixel loop.
        for (t, &c) in k.iter().enumerate() {
            let row = &src[(start - first_row + t) * width..][..width];
            for (s, &p) in sums.iter_mut().zip(row) {
                *s = s.wrapping_add(i32::from(p).wrapping_mul(c));
            }
        }
        for (o, &s) in out_row.iter_mut().zip(&sums) {
            *o = clip8(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_keeps_grey_levels_and_rounds() {
        for v in 0..=255u8 {
            assert_eq!(luma(v, v, v), v);
        }
        // 0.299 * 255 = 76.245; 0.587 * 255 = 149.685; 0.114 * 255 = 29.07.
        assert_eq!(luma(255, 0, 0), 76);
        assert_eq!(luma(0, 255, 0), 150);
        assert_eq!(luma(0, 0, 255), 29);
    }

    #[test]
    fn taps_sum_to_one_in_fixed_point() {
        for (i, o) in [(1600, 32), (33, 32), (31, 32), (1, 32), (7, 32), (100_000, 32)] {
            let t = Taps::new(i, o);
            for xx in 0..o {
                let (start, taps) = t.get(xx);
                assert!(start + taps.len() <= i);
                let s: i64 = taps.iter().map(|&k| i64::from(k)).sum();
                assert!((s - (1 << PRECISION_BITS)).abs() <= taps.len() as i64, "{i}->{o} at {xx}: {s}");
            }
        }
    }

    #[test]
    fn same_size_is_a_copy() {
        let px: Vec<u8> = (0..32 * 32).map(|i| (i * 7 % 256) as u8).collect();
        let img = Image::gray(32, 32, px.clone()).unwrap();
        assert_eq!(grey_lanczos(&img, 32, 32), px);
    }

    #[test]
    fn flat_images_stay_flat() {
        for (w, h) in [(1, 1), (2, 3), (31, 33), (500, 40), (40, 500)] {
            let img = Image::rgb(w, h, vec![200; (w * h * 3) as usize]).unwrap();
            assert!(grey_lanczos(&img, 32, 32).iter().all(|&v| v == 200), "{w}x{h}");
        }
    }
}
