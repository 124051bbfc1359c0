//! The edits `mediamatch eval` applies to a photo, each producing encoded bytes as a
//! platform would receive them.
//!
//! A [`Transform`] is a pixel edit ([`Transform::pixels`]) followed by an encoding
//! ([`Transform::encoding`]); [`Transform::apply`] does both. Unless a transform says
//! otherwise the result is a baseline JPEG at quality 90 written by the `image` crate
//! (4:2:2 chroma subsampling for colour, one component for grey images). This module
//! is the encoder side only; reading images back goes through [`crate::decode`].
//!
//! Everything is deterministic: the same image gives the same bytes on every run.
//! Randomness (the noise transform) comes from a fixed-seed generator, and the pixel
//! arithmetic avoids library transcendental functions where their last-bit results could
//! differ between platforms.
//!
//! | name | pixels | encoding |
//! | --- | --- | --- |
//! | `jpeg-q50`, `jpeg-q75` | unchanged | JPEG at quality 50 / 75 |
//! | `webp` | unchanged | WebP **lossless** (VP8L): the `image` crate has no lossy WebP encoder |
//! | `png` | unchanged | PNG |
//! | `resize-0.5`, `resize-0.25` | each side scaled by 1/2, 1/4 (Lanczos3, rounded, at least 1 px) | JPEG q90 |
//! | `upscale-1.5` | each side scaled by 3/2 (Lanczos3, rounded) | JPEG q90 |
//! | `crop-5`, `crop-10` | centred crop removing 5% / 10% of the width from the left and from the right, and of the height from the top and from the bottom (90% / 80% of each side kept, 81% / 64% of the area) | JPEG q90 |
//! | `pad-10` | a black border of 10% of the width on the left and on the right, and of the height on top and bottom (1.2 times each side) | JPEG q90 |
//! | `screenshot` | a phone-style frame: dark status bar, blue title bar, light-grey side and bottom frame, a one-pixel grey outline around the photo | JPEG q90 |
//! | `rotate-90`, `rotate-180`, `rotate-270` | rotated counter-clockwise (like Pillow's `ROTATE_90` etc.) | JPEG q90 |
//! | `mirror` | flipped left to right | JPEG q90 |
//! | `flip` | flipped top to bottom | JPEG q90 |
//! | `exif-rotated` | stored rotated 90 degrees counter-clockwise | JPEG q90 with EXIF Orientation 6 (a viewer rotates 90 degrees clockwise to show it upright) |
//! | `rotate-3` | rotated 3 degrees counter-clockwise about the centre, bilinear, same canvas size, corners filled black (like Pillow's `rotate(3, BILINEAR)`) | JPEG q90 |
//! | `grey` | Pillow's `convert("L")` weights (0.299, 0.587, 0.114) | grey JPEG q90 |
//! | `brightness` | every sample times 1.2 (Pillow `ImageEnhance.Brightness(1.2)`) | JPEG q90 |
//! | `contrast` | samples pushed 20% away from the mean grey level (Pillow `ImageEnhance.Contrast(1.2)`) | JPEG q90 |
//! | `blur` | Gaussian blur, sigma 1.5 (the `image` crate's blur) | JPEG q90 |
//! | `noise` | Gaussian noise, sigma 8, per sample, fixed seed | JPEG q90 |
//! | `watermark` | the text `@USER42` in a blocky 5x7 font, white at 80% opacity, bottom right, about 7% of the shorter side tall | JPEG q90 |

use std::fmt;
use std::str::FromStr;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ExtendedColorType, ImageBuffer, ImageEncoder};

use crate::pixels::{Image, Pixels};

/// Why a transform could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The image's pixel buffer does not match its size.
    #[error("pixel buffer of {len} samples does not match a {width}x{height} image")]
    BadImage {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Number of samples in the buffer.
        len: usize,
    },
    /// The result would have a side of zero or be too large to hold in memory.
    #[error("{transform}: the result would be {width}x{height} pixels")]
    BadSize {
        /// The transform's name.
        transform: &'static str,
        /// Resulting width.
        width: u64,
        /// Resulting height.
        height: u64,
    },
    /// The encoder refused the result (for example JPEG's 65,535-pixel side limit).
    #[error("{transform}: encoding a {width}x{height} image as {format} failed")]
    Encode {
        /// The transform's name.
        transform: &'static str,
        /// The output format.
        format: &'static str,
        /// Width of the encoded image.
        width: u32,
        /// Height of the encoded image.
        height: u32,
        /// The encoder's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// How a transformed image is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Baseline JPEG from the `image` crate.
    Jpeg {
        /// Quality, 1 to 100.
        quality: u8,
        /// The EXIF Orientation tag (1-8) to write in an APP1 segment, if any.
        orientation: Option<u8>,
    },
    /// PNG (lossless).
    Png,
    /// WebP, lossless (VP8L); the `image` crate has no lossy WebP encoder.
    WebpLossless,
}

impl Encoding {
    /// The default encoding of the transforms: JPEG at quality 90 without EXIF.
    pub const JPEG_90: Encoding = Encoding::Jpeg { quality: 90, orientation: None };

    fn format_name(self) -> &'static str {
        match self {
            Encoding::Jpeg { .. } => "JPEG",
            Encoding::Png => "PNG",
            Encoding::WebpLossless => "WebP",
        }
    }
}

/// One edit `mediamatch eval` applies to a photo; see the [module docs](self) for what
/// each does exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Transform {
    /// Re-encoded as JPEG at quality 50.
    JpegQ50,
    /// Re-encoded as JPEG at quality 75.
    JpegQ75,
    /// Re-encoded as lossless WebP.
    Webp,
    /// Re-encoded as PNG.
    Png,
    /// Each side halved.
    Resize50,
    /// Each side quartered.
    Resize25,
    /// Each side times 1.5.
    Upscale150,
    /// 5% cut from every side (centred).
    Crop5,
    /// 10% cut from every side (centred).
    Crop10,
    /// A black border of 10% of the side added on every side.
    Pad10,
    /// Framed like a phone screenshot.
    Screenshot,
    /// Rotated 90 degrees counter-clockwise.
    Rotate90,
    /// Rotated 180 degrees.
    Rotate180,
    /// Rotated 270 degrees counter-clockwise (90 clockwise).
    Rotate270,
    /// Flipped left to right.
    Mirror,
    /// Flipped top to bottom.
    Flip,
    /// Stored rotated, with an EXIF Orientation tag (6) that makes viewers show it upright.
    ExifRotated,
    /// Rotated 3 degrees counter-clockwise on the same canvas.
    Rotate3,
    /// Converted to grey.
    Grey,
    /// Brightness +20%.
    Brightness,
    /// Contrast +20%.
    Contrast,
    /// Gaussian blur, sigma 1.5.
    Blur,
    /// Gaussian noise, sigma 8.
    Noise,
    /// A small text watermark.
    Watermark,
}

impl Transform {
    /// Every transform, in a fixed order.
    pub const ALL: [Transform; 24] = [
        Transform::JpegQ50,
        Transform::JpegQ75,
        Transform::Webp,
        Transform::Png,
        Transform::Resize50,
        Transform::Resize25,
        Transform::Upscale150,
        Transform::Crop5,
        Transform::Crop10,
        Transform::Pad10,
        Transform::Screenshot,
        Transform::Rotate90,
        Transform::Rotate180,
        Transform::Rotate270,
        Transform::Mirror,
        Transform::Flip,
        Transform::ExifRotated,
        Transform::Rotate3,
        Transform::Grey,
        Transform::Brightness,
        Transform::Contrast,
        Transform::Blur,
        Transform::Noise,
        Transform::Watermark,
    ];

    /// The transform's stable name (used on the command line and in reports).
    pub fn name(self) -> &'static str {
        match self {
            Transform::JpegQ50 => "jpeg-q50",
            Transform::JpegQ75 => "jpeg-q75",
            Transform::Webp => "webp",
            Transform::Png => "png",
            Transform::Resize50 => "resize-0.5",
            Transform::Resize25 => "resize-0.25",
            Transform::Upscale150 => "upscale-1.5",
            Transform::Crop5 => "crop-5",
            Transform::Crop10 => "crop-10",
            Transform::Pad10 => "pad-10",
            Transform::Screenshot => "screenshot",
            Transform::Rotate90 => "rotate-90",
            Transform::Rotate180 => "rotate-180",
            Transform::Rotate270 => "rotate-270",
            Transform::Mirror => "mirror",
            Transform::Flip => "flip",
            Transform::ExifRotated => "exif-rotated",
            Transform::Rotate3 => "rotate-3",
            Transform::Grey => "grey",
            Transform::Brightness => "brightness",
            Transform::Contrast => "contrast",
            Transform::Blur => "blur",
            Transform::Noise => "noise",
            Transform::Watermark => "watermark",
        }
    }

    /// How the result of [`Transform::pixels`] is written.
    pub fn encoding(self) -> Encoding {
        match self {
            Transform::JpegQ50 => Encoding::Jpeg { quality: 50, orientation: None },
            Transform::JpegQ75 => Encoding::Jpeg { quality: 75, orientation: None },
            Transform::Webp => Encoding::WebpLossless,
            Transform::Png => Encoding::Png,
            Transform::ExifRotated => Encoding::Jpeg { quality: 90, orientation: Some(6) },
            _ => Encoding::JPEG_90,
        }
    }

    /// The edited pixels, before encoding (a copy of `img` for the transforms that only
    /// re-encode).
    pub fn pixels(self, img: &Image) -> Result<Image, TransformError> {
        let r = Raster::from_image(img)?;
        let name = self.name();
        let out = match self {
            Transform::JpegQ50 | Transform::JpegQ75 | Transform::Webp | Transform::Png => r,
            Transform::Resize50 => resize(&r, name, 1, 2)?,
            Transform::Resize25 => resize(&r, name, 1, 4)?,
            Transform::Upscale150 => resize(&r, name, 3, 2)?,
            Transform::Crop5 => crop_centred(&r, 5),
            Transform::Crop10 => crop_centred(&r, 10),
            Transform::Pad10 => pad(&r, name, 10)?,
            Transform::Screenshot => screenshot(&r, name)?,
            Transform::Rotate90 | Transform::ExifRotated => rotate90_ccw(&r),
            Transform::Rotate180 => rotate180(&r),
            Transform::Rotate270 => rotate90_ccw(&rotate180(&r)),
            Transform::Mirror => mirror(&r),
            Transform::Flip => flip(&r),
            Transform::Rotate3 => rotate_small(&r, COS_3_DEG, SIN_3_DEG),
            Transform::Grey => grey(&r),
            Transform::Brightness => brightness(&r, 1.2),
            Transform::Contrast => contrast(&r, 1.2),
            Transform::Blur => blur(&r, 1.5),
            Transform::Noise => noise(&r, 8.0, NOISE_SEED),
            Transform::Watermark => watermark(&r, WATERMARK_TEXT),
        };
        Ok(out.into_image())
    }

    /// The encoded bytes of the transformed image.
    pub fn apply(self, img: &Image) -> Result<Vec<u8>, TransformError> {
        encode(&self.pixels(img)?, self.encoding()).map_err(|e| e.for_transform(self.name()))
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Transform {
    type Err = String;
    fn from_str(s: &str) -> Result<Transform, String> {
        Transform::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown transform {s:?}"))
    }
}

impl TransformError {
    fn for_transform(self, name: &'static str) -> TransformError {
        match self {
            TransformError::Encode { format, width, height, source, .. } => {
                TransformError::Encode { transform: name, format, width, height, source }
            }
            TransformError::BadSize { width, height, .. } => {
                TransformError::BadSize { transform: name, width, height }
            }
            other => other,
        }
    }
}

/// Encodes `img` as `encoding`.
///
/// Errors name the transform as `"encode"`; [`Transform::apply`] puts its own name in.
pub fn encode(img: &Image, encoding: Encoding) -> Result<Vec<u8>, TransformError> {
    let r = Raster::from_image(img)?;
    let colour = if r.ch == 1 { ExtendedColorType::L8 } else { ExtendedColorType::Rgb8 };
    let (w, h) = (img.width, img.height);
    let mut out = Vec::new();
    let result = match encoding {
        Encoding::Jpeg { quality, orientation } => {
            let mut enc = JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
            if let Some(o) = orientation {
                // The JPEG encoder always accepts EXIF; it wraps the TIFF block in APP1.
                let _ = enc.set_exif_metadata(exif_orientation_tiff(o).to_vec());
            }
            enc.write_image(&r.data, w, h, colour)
        }
        Encoding::Png => PngEncoder::new(&mut out).write_image(&r.data, w, h, colour),
        Encoding::WebpLossless => WebPEncoder::new_lossless(&mut out).write_image(&r.data, w, h, colour),
    };
    match result {
        Ok(()) => Ok(out),
        Err(e) => Err(TransformError::Encode {
            transform: "encode",
            format: encoding.format_name(),
            width: w,
            height: h,
            source: Box::new(e),
        }),
    }
}

/// The TIFF block of a minimal EXIF segment holding only IFD0 with one entry, the
/// Orientation tag (0x0112, type SHORT, count 1). Big-endian ("MM"), as cameras often
/// write it; `image` adds the `Exif\0\0` header and the APP1 marker around it.
fn exif_orientation_tiff(orientation: u8) -> [u8; 26] {
    [
        b'M',
        b'M',
        0x00,
        0x2A, // byte order, TIFF magic 42
        0x00,
        0x00,
        0x00,
        0x08, // offset of IFD0 from the start of the TIFF block
        0x00,
        0x01, // one directory entry
        0x01,
        0x12, // tag 0x0112 Orientation
        0x00,
        0x03, // type 3 = SHORT
        0x00,
        0x00,
        0x00,
        0x01, // count 1
        0x00,
        orientation,
        0x00,
        0x00, // the value, left-justified in the 4-byte field
        0x00,
        0x00,
        0x00,
        0x00, // no next IFD
    ]
}

const COS_3_DEG: f64 = 0.998_629_534_754_573_8;
const SIN_3_DEG: f64 = 0.052_335_956_242_943_83;
const NOISE_SEED: u64 = 0x6d65_6469_616d_6174;
const WATERMARK_TEXT: &str = "@USER42";

/// Samples with their layout, the working form of every edit.
#[derive(Clone, Debug)]
struct Raster {
    w: usize,
    h: usize,
    ch: usize,
    data: Vec<u8>,
}

impl Raster {
    fn from_image(img: &Image) -> Result<Raster, TransformError> {
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

    fn into_image(self) -> Image {
        // Every edit keeps both sides at least 1 and below u32::MAX (checked by `new_size`).
        let (width, height) = (self.w as u32, self.h as u32);
        let pixels = if self.ch == 1 { Pixels::Gray(self.data) } else { Pixels::Rgb(self.data) };
        Image { width, height, pixels }
    }

    fn filled(w: usize, h: usize, colour: &[u8]) -> Raster {
        let mut data = Vec::with_capacity(w * h * colour.len());
        for _ in 0..w * h {
            data.extend_from_slice(colour);
        }
        Raster { w, h, ch: colour.len(), data }
    }

    fn to_rgb(&self) -> Raster {
        if self.ch == 3 {
            return self.clone();
        }
        Raster { w: self.w, h: self.h, ch: 3, data: self.data.iter().flat_map(|&v| [v, v, v]).collect() }
    }

    fn px(&self, x: usize, y: usize) -> &[u8] {
        let at = (y * self.w + x) * self.ch;
        &self.data[at..at + self.ch]
    }

    /// Copies `src` (same channel count) with its top-left corner at (`x`, `y`).
    fn paste(&mut self, src: &Raster, x: usize, y: usize) {
        let row = src.w * self.ch;
        for sy in 0..src.h {
            let d = ((y + sy) * self.w + x) * self.ch;
            self.data[d..d + row].copy_from_slice(&src.data[sy * row..(sy + 1) * row]);
        }
    }

    fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, colour: &[u8]) {
        for yy in y..y + h {
            for xx in x..x + w {
                let at = (yy * self.w + xx) * self.ch;
                self.data[at..at + self.ch].copy_from_slice(colour);
            }
        }
    }

    /// A new raster of `w` x `h` whose pixel (x, y) is `self`'s pixel `at(x, y)`.
    fn remap(&self, w: usize, h: usize, at: impl Fn(usize, usize) -> (usize, usize)) -> Raster {
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
fn share(side: usize, percent: usize) -> usize {
    (side * percent + 50) / 100
}

/// Checks a result size: both sides at least 1 and the sample count addressable.
fn new_size(name: &'static str, w: u64, h: u64, ch: usize) -> Result<(usize, usize), TransformError> {
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

fn to_dynamic(r: &Raster) -> DynamicImage {
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

fn from_dynamic(img: DynamicImage, ch: usize) -> Raster {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = if ch == 1 { img.into_luma8().into_raw() } else { img.into_rgb8().into_raw() };
    Raster { w, h, ch, data }
}

/// Scales each side by `num / den` (rounded, at least 1) with a Lanczos3 filter.
fn resize(r: &Raster, name: &'static str, num: u64, den: u64) -> Result<Raster, TransformError> {
    let scale = |side: usize| ((side as u64 * num + den / 2) / den).max(1);
    let (w, h) = new_size(name, scale(r.w), scale(r.h), r.ch)?;
    // `new_size` keeps both below u32::MAX.
    let out = to_dynamic(r).resize_exact(w as u32, h as u32, FilterType::Lanczos3);
    Ok(from_dynamic(out, r.ch))
}

/// Cuts `percent` of the width from the left and from the right, and of the height
/// from the top and from the bottom.
fn crop_centred(r: &Raster, percent: usize) -> Raster {
    let mx = share(r.w, percent).min((r.w - 1) / 2);
    let my = share(r.h, percent).min((r.h - 1) / 2);
    r.remap(r.w - 2 * mx, r.h - 2 * my, |x, y| (x + mx, y + my))
}

/// Adds a black border of `percent` of the width on the left and on the right, and of
/// the height on top and bottom.
fn pad(r: &Raster, name: &'static str, percent: usize) -> Result<Raster, TransformError> {
    let (mx, my) = (share(r.w, percent), share(r.h, percent));
    let (w, h) = new_size(name, (r.w + 2 * mx) as u64, (r.h + 2 * my) as u64, r.ch)?;
    let mut out = Raster::filled(w, h, &vec![0; r.ch]);
    out.paste(r, mx, my);
    Ok(out)
}

/// Frames the photo like a phone screenshot of an app showing it.
fn screenshot(r: &Raster, name: &'static str) -> Result<Raster, TransformError> {
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

fn rotate90_ccw(r: &Raster) -> Raster {
    // Source column w-1-y' becomes row y'; source row x' becomes column x'.
    r.remap(r.h, r.w, |x, y| (r.w - 1 - y, x))
}

fn rotate180(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (r.w - 1 - x, r.h - 1 - y))
}

fn mirror(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (r.w - 1 - x, y))
}

fn flip(r: &Raster) -> Raster {
    r.remap(r.w, r.h, |x, y| (x, r.h - 1 - y))
}

/// Rotates counter-clockwise (as seen) by the angle with the given cosine and sine
/// about the image centre, sampling bilinearly; outside the source is black.
fn rotate_small(r: &Raster, cos: f64, sin: f64) -> Raster {
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

fn clamp_u8(v: f64) -> u8 {
    // Saturating cast after rounding: NaN never occurs here (all inputs are finite).
    v.round().clamp(0.0, 255.0) as u8
}

/// Pillow's `convert("L")`: L = (19595 R + 38470 G + 7471 B + 32768) >> 16.
fn luma(px: &[u8]) -> u8 {
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

fn grey(r: &Raster) -> Raster {
    let data = r.data.chunks_exact(r.ch).map(luma).collect();
    Raster { w: r.w, h: r.h, ch: 1, data }
}

fn brightness(r: &Raster, factor: f64) -> Raster {
    let data = r.data.iter().map(|&v| clamp_u8(f64::from(v) * factor)).collect();
    Raster { data, ..r.clone() }
}

/// Pushes every sample away from the image's mean grey level by `factor`.
fn contrast(r: &Raster, factor: f64) -> Raster {
    let sum: u64 = r.data.chunks_exact(r.ch).map(|px| u64::from(luma(px))).sum();
    let n = (r.w * r.h) as u64;
    let mean = ((sum + n / 2) / n) as f64;
    let data = r.data.iter().map(|&v| clamp_u8(mean + (f64::from(v) - mean) * factor)).collect();
    Raster { data, ..r.clone() }
}

fn blur(r: &Raster, sigma: f32) -> Raster {
    from_dynamic(to_dynamic(r).blur(sigma), r.ch)
}

/// splitmix64: a tiny, well-mixed generator, plenty for test noise.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A standard normal sample approximated by the sum of 12 uniforms minus 6
    /// (Irwin-Hall): only additions, so the same on every platform.
    fn normal(&mut self) -> f64 {
        let sum: f64 = (0..12).map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64).sum();
        sum - 6.0
    }
}

fn noise(r: &Raster, sigma: f64, seed: u64) -> Raster {
    let mut rng = SplitMix64(seed);
    let data = r.data.iter().map(|&v| clamp_u8(f64::from(v) + sigma * rng.normal())).collect();
    Raster { data, ..r.clone() }
}

/// A 5x7 glyph: seven rows, bit 4 is the left-most column.
fn glyph(c: char) -> Option<[u8; 7]> {
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
fn watermark(r: &Raster, text: &str) -> Raster {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut names: Vec<_> = Transform::ALL.iter().map(|t| t.name()).collect();
        for t in Transform::ALL {
            assert_eq!(t.name().parse::<Transform>(), Ok(t));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Transform::ALL.len());
        assert!("nope".parse::<Transform>().is_err());
    }

    #[test]
    fn exif_block_layout() {
        let t = exif_orientation_tiff(6);
        assert_eq!(&t[..4], b"MM\0\x2a");
        assert_eq!(u16::from_be_bytes([t[10], t[11]]), 0x0112);
        assert_eq!(u16::from_be_bytes([t[18], t[19]]), 6);
    }

    #[test]
    fn bad_buffer_is_an_error() {
        let img = Image { width: 4, height: 4, pixels: Pixels::Rgb(vec![0; 5]) };
        assert!(matches!(Transform::Mirror.apply(&img), Err(TransformError::BadImage { .. })));
    }

    #[test]
    fn noise_is_roughly_the_asked_sigma() {
        let mut rng = SplitMix64(1);
        let xs: Vec<f64> = (0..100_000).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }
}
