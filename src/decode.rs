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
pub fn decode(_bytes: &[u8], _limits: &Limits) -> Result<Decoded, DecodeError> {
    todo!("decode")
}
