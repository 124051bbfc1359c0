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
use image::{ExtendedColorType, ImageEncoder};

use crate::image::pixels::Image;

mod edit;

use edit::*;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::negatives::SplitMix64;
    use crate::image::pixels::Pixels;

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
