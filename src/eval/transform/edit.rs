//! The pixel edits of the transforms, on a plain sample raster.

use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer};

use super::TransformError;
use crate::eval::negatives::SplitMix64;
use crate::image::pixels::{Image, Pixels};

pub(super) const COS_3_DEG: f64 = 0.998_629_534_754_573_8;
pub(super) const SIN_3_DEG: f64 = 0.052_335_956_242_943_83;
pub(super) const NOISE_SEED: u64 = 0x6d65_6469_616d_6174;
pub(super) const WATERMARK_TEXT: &str = "@USER42";

/// Samples with their layout, the working form of every edit.
#[derive(Clone, Debug)]
pub(super) struct Raster {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) ch: usize,
    pub(super) data: Vec<u8>,
}

impl Raster {
    pub(super) fn from_image(img: &Image) -> Result<Raster, TransformError> {
        let (ch, data) = match &img.pixels {
            Pixels::Gray(s) => (1, s),
            Pixels::Rgb(s) => (3, s),
        };
        let (w, h) = (img.width as usize, img.height as usize);
        let n = w.checked_mul(h).and_then(|n| n.checked_mul(ch));
        if n != Some(data.len()) || data.is_empty() {
            return Err(TransformError::BadImage { width: img.width, height: img.height, len: data.len() });
        }
        Ok(Raster { w, h, ch, data: data.clone() })
    }

    pub(super) fn into_image(self) -> Image {
        // Every edit keeps both sides at least 1 and below u32::MAX (checked by `new_size`).
        let (width, height) = (self.w as u32, self.h as u32);
        let pixels = if self.ch == 1 { Pixels::Gray(self.data) } else { Pixels::Rgb(self.data) };
        Image { width, height, pixels }
    }

    pub(super) fn filled(w: usize, h: usize, colour: &[u8]) -> Raster {
        let mut data = Vec::with_capacity(w * h * colour.len());
        for _ in 0..w * h {
            data.extend_from_slice(colour);
        }
        Raster { w, h, ch: colour.len(), data }
    }

    pub(super) fn to_rgb(&self) -> Raster {
        if self.ch == 3 {
            return self.clone();
        }
        Raster { w: self.w, h: self.h, ch: 3, data: self.data.iter().flat_map(|&v| [v, v, v]).collect() }
    }

    pub(super) fn px(&self, x: usize, y: usize) -> &[u8] {
        let at = (y * self.w + x) * self.ch;
        &self.data[at..at + self.ch]
    }

    /// Copies `src` (same channel count) with its top-left corner at (`x`, `y`).
    pub(super) fn paste(&mut self, src: &Raster, x: usize, y: usize) {
        let row = src.w * self.ch;
        for sy in 0..src.h {
            let d = ((y + sy) * self.w + x) * self.ch;
            self.data[d..d + row].copy_from_slice(&src.data[sy * row..(sy + 1) * row]);
        }
    }

    pub(super) fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, colour: &[u8]) {
        for yy in y..y + h {
            for xx in x..x + w {
                let at = (yy * self.w + xx) * self.ch;
                self.data[at..at + self.ch].copy_from_slice(colour);
            }
        }
    }

    /// A new raster of `w` x `h` whose pixel (x, y) is `self`'s pixel `at(x, y)`.
    pub(super) fn remap(&self, w: usize, h: usize, at: impl Fn(usize, usize) -> (usize, usize)) -> Raster {
        let mut data = Vec::with_capacity(w * h * self.ch);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = at(x, y);
                data.extend_from_slice(self.px(sx, sy));
            }
        }
        Raster { w, h, ch: self.ch, data }
    }
}

/// `side * percent / 100`, rounded to nearest.
pub(super) fn share(side: usize, percent: usize) -> usize {
    (side * percent + 50) / 100
}

/// Checks a result size: both sides at least 1 and the sample count addressable.
pub(super) fn new_size(
    name: &'static str,
    w: u64,
    h: u64,
    ch: usize,
) -> Result<(usize, usize), TransformError> {
    let ok = w >= 1
        && h >= 1
        && w < u64::from(u32::MAX)
        && h < u64::from(u32::MAX)
        && w.checked_mul(h).and_then(|n| n.checked_mul(ch as u64)).is_some_and(|n| n < (1 << 40));
    match (ok, usize::try_from(w), usize::try_from(h)) {
        (true, Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(TransformError::BadSize { transform: name, width: w, height: h }),
    }
}

pub(super) fn to_dynamic(r: &Raster) -> DynamicImage {
    // `Raster` keeps sides below u32::MAX and `data.len() == w * h * ch`, so the
    // buffers always fit; the fallback is never taken.
    let (w, h) = (r.w as u32, r.h as u32);
    let img = if r.ch == 1 {
        ImageBuffer::from_raw(w, h, r.data.clone()).map(DynamicImage::ImageLuma8)
    } else {
        ImageBuffer::from_raw(w, h, r.data.clone()).map(DynamicImage::ImageRgb8)
    };
    img.unwrap_or_else(|| DynamicImage::new_luma8(1, 1))
}

pub(super) fn from_dynamic(img: DynamicImage, ch: usize) -> Raster {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = if ch == 1 { img.into_luma8().into_raw() } else { img.into_rgb8().into_raw() };
    Raster { w, h, ch, data }
}

/// Scales each side by `num / den` (rounded, at least 1) with a Lanczos3 filter.
pub(super) fn resize(r: &Raster, name: &'static str, num: u64, den: u64) -> Result<Raster, TransformError> {
    let scale = |side: usize| ((side as u64 * num + den / 2) / den).max(1);
    let (w, h) = new_size(name, scale(r.w), scale(r.h), r.ch)?;
    // `new_size` keeps both below u32::MAX.
    let out = to_dynamic(r).resize_exact(w as u32, h as u32, FilterType::Lanczos3);
    Ok(from_dynamic(out, r.ch))
}

/// Cuts `percent` of the width from the left and from the right, and of the height
/// from the top and from the bottom.
pub(super) fn crop_centred(r: &Raster, percent: usize) -> Raster {
    let mx = share(r.w, percent).min((r.w - 1) / 2);
    let my = share(r.h, percent).min((r.h - 1) / 2);
    r.remap(r.w - 2 * mx, r.h - 2 * my, |x, y| (x + mx, y + my))
}

/// Adds a black border of `percent` of the width on the left and on the right, and of
/// the height on top and bottom.
pub(super) fn pad(r: &Raster, name: &'static str, percent: usize) -> Result<Raster, TransformError> {
    let (mx, my) = (share(r.w, percent), share(r.h, percent));
    let (w, h) = new_size(name, (r.w + 2 * mx) as u64, (r.h + 2 * my) as u64, r.ch)?;
    let mut out = Raster::filled(w, h, &vec![0; r.ch]);
    out.paste(r, mx, my);
    Ok(out)
}

/// Frames the photo like a phone screenshot of an app showing it.
pub(super) fn screenshot(r: &Raster, name: &'static str) -> Result<Raster, TransformError> {
    const STATUS: [u8; 3] = [20, 20, 20];
    const TITLE: [u8; 3] = [59, 89, 152];
    const FRAME: [u8; 3] = [245, 245, 245];
    const OUTLINE: [u8; 3] = [200, 200, 200];
    let src = r.to_rgb();
    let side = share(src.w, 3).max(4);
    let status = share(src.h, 4).max(6);
    let title = share(src.h, 8).max(10);
    let bottom = share(src.h, 5).max(4);
    let w = src.w as u64 + 2 * side as u64 + 2;
    let h = (status + title + bottom + 2) as u64 + src.h as u64;
    let (w, h) = new_size(name, w, h, 3)?;
    let mut out = Raster::filled(w, h, &FRAME);
    out.fill_rect(0, 0, w, status, &STATUS);
    out.fill_rect(0, status, w, title, &TITLE);
    out.fill_rect(side, status + title, src.w + 2, src.h + 2, &OUTLINE);
    out.paste(&src, side + 1, status + title + 1);
    Ok(out)
}

pub(super) fn rotate90_ccw(r: &Raster) -> Raster {
    // Source column w-1-y' becomes row y'; source row x' becomes column x'.
    r.remap(r.h, r.w, |x, y| (r.w - 1 - y, x))
}

pub(super) fn rotate180(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (r.w - 1 - x, r.h - 1 - y))
}

pub(super) fn mirror(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (r.w - 1 - x, y))
}

pub(super) fn flip(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (x, r.h - 1 - y))
}

/// Rotates counter-clockwise (as seen) by the angle with the given cosine and sine
/// about the image centre, sampling bilinearly; outside the source is black.
pub(super) fn rotate_small(r: &Raster, cos: f64, sin: f64) -> Raster {
    let (cx, cy) = (r.w as f64 / 2.0, r.h as f64 / 2.0);
    let fill = vec![0u8; r.ch];
    let fetch = |x: i64, y: i64| -> &[u8] {
        if x < 0 || y < 0 || x >= r.w as i64 || y >= r.h as i64 {
            &fill
        } else {
            r.px(x as usize, y as usize)
        }
    };
    let mut data = Vec::with_capacity(r.data.len());
    for y in 0..r.h {
        for x in 0..r.w {
            // Inverse mapping: where in the source does this output pixel's centre come from?
            let dx = x as f64 + 0.5 - cx;
            let dy = y as f64 + 0.5 - cy;
            let sx = cx + dx * cos - dy * sin - 0.5;
            let sy = cy + dx * sin + dy * cos - 0.5;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (p00, p10, p01, p11) =
                (fetch(x0, y0), fetch(x0 + 1, y0), fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1));
            for c in 0..r.ch {
                let top = f64::from(p00[c]) * (1.0 - fx) + f64::from(p10[c]) * fx;
                let bot = f64::from(p01[c]) * (1.0 - fx) + f64::from(p11[c]) * fx;
                data.push(clamp_u8(top * (1.0 - fy) + bot * fy));
            }
        }
    }
    Raster { w: r.w, h: r.h, ch: r.ch, data }
}

pub(super) fn clamp_u8(v: f64) -> u8 {
    // Saturating cast after rounding: NaN never occurs here (all inputs are finite).
    v.round().clamp(0.0, 255.0) as u8
}

/// Pillow's `convert("L")`: L = (19595 R + 38470 G + 7471 B + 32768) >> 16.
pub(super) fn luma(px: &[u8]) -> u8 {
    match *px {
        [r, g, b] => {
            let l = (19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + 32768) >> 16;
            // At most 255 because the weights sum to 65536.
            l.min(255) as u8
        }
        [v, ..] => v,
        [] => 0,
    }
}

pub(super) fn grey(r: &Raster) -> Raster {
    let data = r.data.chunks_exact(r.ch).map(luma).collect();
    Raster { w: r.w, h: r.h, ch: 1, data }
}

pub(super) fn brightness(r: &Raster, factor: f64) -> Raster {
    let data = r.data.iter().map(|&v| clamp_u8(f64::from(v) * factor)).collect();
    Raster { data, ..r.clone() }
}

/// Pushes every sample away from the image's mean grey level by `factor`.
pub(super) fn contrast(r: &Raster, factor: f64) -> Raster {
    let sum: u64 = r.data.chunks_exact(r.ch).map(|px| u64::from(luma(px))).sum();
    let n = (r.w * r.h) as u64;
    let mean = ((sum + n / 2) / n) as f64;
    let data = r.data.iter().map(|&v| clamp_u8(mean + (f64::from(v) - mean) * factor)).collect();
    Raster { data, ..r.clone() }
}

pub(super) fn blur(r: &Raster, sigma: f32) -> Raster {
    from_dynamic(to_dynamic(r).blur(sigma), r.ch)
}

pub(super) fn noise(r: &Raster, sigma: f64, seed: u64) -> Raster {
    let mut rng = SplitMix64(seed);
    let data = r.data.iter().map(|&v| clamp_u8(f64::from(v) + sigma * rng.normal())).collect();
    Raster { data, ..r.clone() }
}

/// A 5x7 glyph: seven rows, bit 4 is the left-most column.
pub(super) fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '@' => [0b01110, 0b10001, 0b10111, 0b10101, 0b10111, 0b10000, 0b01111],
        'U' => [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        'S' => [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        'E' => [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        'R' => [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        '4' => [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        '2' => [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        _ => return None,
    })
}

/// Draws `text` in white at 80% opacity at the bottom right, each font pixel a square
/// of about 1% of the shorter side; pixels that would fall outside are skipped.
pub(super) fn watermark(r: &Raster, text: &str) -> Raster {
    let mut out = r.clone();
    let s = (r.w.min(r.h) / 100).max(1);
    let chars = text.chars().count();
    let text_w = (chars * 6).saturating_sub(1) * s;
    let text_h = 7 * s;
    let margin = 2 * s;
    let x0 = r.w.saturating_sub(text_w + margin);
    let y0 = r.h.saturating_sub(text_h + margin);
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        for (gy, bits) in rows.iter().enumerate() {
            for gx in 0..5 {
                if bits & (0b10000 >> gx) == 0 {
                    continue;
                }
                let (px, py) = (x0 + (i * 6 + gx) * s, y0 + gy * s);
                for y in py..(py + s).min(r.h) {
                    for x in px..(px + s).min(r.w) {
                        let at = (y * r.w + x) * r.ch;
                        for v in &mut out.data[at..at + r.ch] {
                            *v = ((u32::from(*v) * 2 + 255 * 8 + 5) / 10) as u8;
                        }
                    }
                }
            }
        }
    }
    out
}
