//! Small rotations: a guess at a copy turned by a few degrees.
//!
//! A copy turned by a few degrees about its centre (same canvas, corners filled) moves
//! every low-frequency coefficient pHash and PDQ keep, and its filled corners add
//! strong edges the original never had: on the corpus a 3-degree turn is found by the
//! plain hashes about 59% of the time. The known side holds only hashes, so the input
//! is turned back instead: by each angle of [`ANGLES`] (both directions, since the copy
//! may have been turned either way), then cut to the largest centred rectangle of the
//! original's aspect ratio that holds only pixels both the copy and the original had
//! ([`inner_rect`], so the filled corners go), then extended at its edges back to the
//! original's framing ([`crate::image::extend::pad`] with [`Fill::Edge`]). What remains
//! is the original with a thin band around it replaced by a continuation of its edges,
//! close enough to the original for corroboration (see `docs/thresholds.md`, "Small
//! rotations", for what this finds and what it costs).
//!
//! Like the edge extension, the guess is computed on a reduced grey copy (see
//! [`crate::image::extend::reduce_grey`]); its hashes are queries, never list entries.

use crate::image::border::Rect;
use crate::image::extend::{self, Fill};
use crate::image::pixels::Image;

/// The angles (degrees, counter-clockwise as seen) the input is turned by, one guess
/// each: -3 undoes a copy turned 3 degrees counter-clockwise, +3 one turned clockwise.
pub const ANGLES: [i8; 2] = [-3, 3];

/// The pixels of the reduced copy given up at each side of the inner rectangle besides
/// what the geometry removes: the bilinear turn and the reduction blend the filled
/// corners into the pixels next to them.
const SAFETY: u32 = 1;

/// The largest rectangle with the aspect ratio of a `width` x `height` image, centred in
/// it, whose pixels lie inside the image both before and after a turn by `degrees` about
/// the centre (minus one pixel on each side for the blur of the reduction, and of the
/// same parity as each side, so equal margins extend it back): the pixels of an input
/// turned back that the original and the copy both had. At least 1x1; the whole image at
/// 0 degrees.
pub fn inner_rect(width: u32, height: u32, degrees: f64) -> Rect {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (sin, cos) = (sin.abs(), cos.abs());
    // A centred rectangle k*w x k*h turned by the angle stays inside w x h when its
    // corners do: k (w cos + h sin) <= w and k (w sin + h cos) <= h.
    let k = (w / (w * cos + h * sin)).min(h / (w * sin + h * cos)).min(1.0);
    let side = |len: u32, scaled: f64| -> (u32, u32) {
        // `scaled` is within 0..=len: truncating keeps the rectangle inside.
        let inner = (scaled.floor() as u32).min(len);
        let inner = if inner < len { inner.saturating_sub(2 * SAFETY) } else { inner };
        // The same parity as `len`, so equal margins on both sides extend it back to `len`.
        let inner = if (len - inner) % 2 == 1 { inner.saturating_sub(1) } else { inner };
        let inner = if inner == 0 { 2 - len % 2 } else { inner }.min(len);
        ((len - inner) / 2, inner)
    };
    let (x, w_in) = side(width.max(1), k * w);
    let (y, h_in) = side(height.max(1), k * h);
    Rect { x, y, width: w_in, height: h_in }
}

/// The pixels of `image` turned by `degrees` counter-clockwise (as seen) about its centre
/// that fall in `rect` (of the turned image, same canvas), sampled bilinearly; samples
/// outside the image repeat its nearest edge. The same mapping as the eval's `rotate-3`
/// transform, so turning by `-a` undoes a turn by `a`.
pub fn turn_crop(image: &Image, degrees: f64, rect: Rect) -> Image {
    let (w, h) = (image.width as usize, image.height as usize);
    let (ch, src) = (image.channels(), image.samples());
    if w == 0 || h == 0 || src.len() != w * h * ch || rect.width == 0 || rect.height == 0 {
        return image.clone();
    }
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let (max_x, max_y) = ((w - 1) as f64, (h - 1) as f64);
    let mut out = Vec::with_capacity(rect.width as usize * rect.height as usize * ch);
    for y in rect.y..rect.y + rect.height {
        let dy = f64::from(y) + 0.5 - cy;
        for x in rect.x..rect.x + rect.width {
            // Where in the source this output pixel's centre comes from (clamped in).
            let dx = f64::from(x) + 0.5 - cx;
            let sx = (cx + dx * cos - dy * sin - 0.5).clamp(0.0, max_x);
            let sy = (cy + dx * sin + dy * cos - 0.5).clamp(0.0, max_y);
            // Both are within 0..=max, so the casts are exact floors in range.
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let at = |x: usize, y: usize, c: usize| f64::from(src[(y * w + x) * ch + c]);
            for c in 0..ch {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x1, y0, c) * fx;
                let bottom = at(x0, y1, c) * (1.0 - fx) + at(x1, y1, c) * fx;
                // A blend of u8 samples lies within 0..=255.
                out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    image.same_mode(rect.width, rect.height, out)
}

/// The guess for one angle on an already reduced image: `grey` turned by `degrees`, cut
/// to its [`inner_rect`], then extended by edge repetition back to `grey`'s size.
pub fn unturned(grey: &Image, degrees: f64) -> Image {
    let rect = inner_rect(grey.width, grey.height, degrees);
    let inner = turn_crop(grey, degrees, rect);
    let (mx, my) = (rect.x, rect.y);
    extend::pad(&inner, Fill::Edge, mx, my)
}

/// `image` reduced to grey as [`extend::extended`] does, then one guess per angle of
/// [`ANGLES`], in that order.
pub fn rotated(image: &Image) -> [(i8, Image); ANGLES.len()] {
    let grey = extend::reduce_grey(image, extend::WORKING_SIDE);
    ANGLES.map(|a| (a, unturned(&grey, f64::from(a))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Image {
        let s = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect();
        Image::gray(w, h, s).expect("size matches")
    }

    /// A smooth pattern with structure in both directions.
    fn smooth(w: u32, h: u32) -> Image {
        gray(w, h, |x, y| {
            let v = 128.0 + 60.0 * (f64::from(x) / 9.0).sin() + 50.0 * (f64::from(y) / 7.0).cos();
            v.round() as u8
        })
    }

    #[test]
    fn inner_rect_keeps_the_aspect_and_stays_inside() {
        assert_eq!(inner_rect(128, 85, 0.0), Rect { x: 0, y: 0, width: 128, height: 85 });
        // 3 degrees on a 3:2 landscape: k = 85 / (128 sin 3 + 85 cos 3) = 0.928.
        let r = inner_rect(128, 85, 3.0);
        assert_eq!(r, inner_rect(128, 85, -3.0));
        assert_eq!((r.width, r.height), (116, 75));
        assert_eq!((r.x, r.y), (6, 5));
        // Every corner of the rectangle, turned back, lies inside the image.
        let (sin, cos) = 3f64.to_radians().sin_cos();
        for (cx, cy) in
            [(r.x, r.y), (r.x + r.width, r.y), (r.x, r.y + r.height), (r.x + r.width, r.y + r.height)]
        {
            let (dx, dy) = (f64::from(cx) - 64.0, f64::from(cy) - 42.5);
            let (sx, sy) = (dx * cos - dy * sin, dx * sin + dy * cos);
            assert!(sx.abs() <= 64.0 && sy.abs() <= 42.5, "corner ({cx}, {cy}) -> ({sx}, {sy})");
        }
        // Tiny and extreme images: at least one pixel, never larger than the image.
        for (w, h) in [(1, 1), (2, 1), (1, 3), (10_000, 1), (1, 10_000), (3, 3), (0, 0)] {
            let r = inner_rect(w, h, 3.0);
            assert!(r.width >= 1 && r.height >= 1, "{w}x{h}");
            assert!(r.x + r.width <= w.max(1) && r.y + r.height <= h.max(1), "{w}x{h}: {r:?}");
        }
    }

    #[test]
    fn turning_back_restores_the_pixels() {
        let img = smooth(120, 80);
        let turned = turn_crop(&img, 3.0, Rect { x: 0, y: 0, width: 120, height: 80 });
        let rect = inner_rect(120, 80, -3.0);
        let back = turn_crop(&turned, -3.0, rect);
        let (src, out) = (img.samples(), back.samples());
        let mut total = 0u64;
        for y in 0..rect.height {
            for x in 0..rect.width {
                let a = src[((y + rect.y) * 120 + x + rect.x) as usize];
                let b = out[(y * rect.width + x) as usize];
                total += u64::from(a.abs_diff(b));
            }
        }
        let mean = total as f64 / f64::from(rect.width * rect.height);
        assert!(mean < 3.0, "mean difference {mean}");
        // A turn the wrong way does not.
        let wrong = turn_crop(&turned, 3.0, rect);
        let off: u64 = (0..rect.height)
            .flat_map(|y| (0..rect.width).map(move |x| (x, y)))
            .map(|(x, y)| {
                let a = src[((y + rect.y) * 120 + x + rect.x) as usize];
                u64::from(a.abs_diff(wrong.samples()[(y * rect.width + x) as usize]))
            })
            .sum();
        assert!(off as f64 / f64::from(rect.width * rect.height) > 3.0 * mean);
    }

    #[test]
    fn guesses_have_the_reduced_size_and_never_panic() {
        let img = smooth(1800, 900);
        for (a, g) in rotated(&img) {
            // Reduced by 15 to 120x60; the guess is extended back to that size.
            assert_eq!((g.width, g.height), (120, 60), "{a}");
        }
        for (w, h) in [(1, 1), (2, 2), (3, 1), (1, 5000), (5000, 1), (7, 3)] {
            for (a, g) in rotated(&smooth(w, h)) {
                let reduced = extend::reduce_grey(&smooth(w, h), extend::WORKING_SIDE);
                assert_eq!((g.width, g.height), (reduced.width, reduced.height), "{w}x{h} at {a}");
                assert_eq!(g.samples().len(), g.pixel_count());
            }
        }
        let rgb = Image::rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).expect("size matches");
        assert_eq!(turn_crop(&rgb, 0.0, Rect { x: 0, y: 0, width: 2, height: 1 }), rgb);
    }
}
