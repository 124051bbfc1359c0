//! The only door to the image decoders.
//!
//! (Skeleton: the decoding helper fills this in.)

use crate::pixels::Image;

/// Limits applied before and while decoding untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted pixel count (width x height).
    pub max_pixels: u64,
    /// Largest number of bytes the decoder may allocate.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_width: 32_768, max_height: 32_768, max_pixels: 100_000_000, max_alloc: 1 << 30 }
    }
}

/// The container format, sniffed from the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (first frame).
    Gif,
    /// WebP.
    Webp,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
}

/// A decoded image with what the decoder learned about the file.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The stored pixels (EXIF orientation not applied).
    pub image: Image,
    /// The sniffed format.
    pub format: Format,
    /// The EXIF orientation tag (1-8) if the file carries one.
    pub orientation: Option<u8>,
}

/// Why an input could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input has no bytes.
    #[error("empty file")]
    Empty,
    /// The content is not a supported image format.
    #[error("not an image (unrecognised content)")]
    NotAnImage,
}

/// Decodes `bytes`, sniffing the format from the content.
///
/// Interim version over the `image` crate without limits or JPEG compatibility work;
/// the decoding issue replaces it.
pub fn decode(bytes: &[u8], _limits: &Limits) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| DecodeError::NotAnImage)?;
    let format = match reader.format() {
        Some(image::ImageFormat::Jpeg) => Format::Jpeg,
        Some(image::ImageFormat::Png) => Format::Png,
        Some(image::ImageFormat::Gif) => Format::Gif,
        Some(image::ImageFormat::WebP) => Format::Webp,
        Some(image::ImageFormat::Bmp) => Format::Bmp,
        Some(image::ImageFormat::Tiff) => Format::Tiff,
        _ => return Err(DecodeError::NotAnImage),
    };
    let img = reader.decode().map_err(|_| DecodeError::NotAnImage)?;
    let (w, h) = (img.width(), img.height());
    let image = if img.color().has_color() {
        Image::rgb(w, h, img.to_rgb8().into_raw())
    } else {
        Image::gray(w, h, img.to_luma8().into_raw())
    }
    .ok_or(DecodeError::NotAnImage)?;
    Ok(Decoded { image, format, orientation: None })
}
