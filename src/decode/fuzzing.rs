//! Entry points for the fuzz targets: our own readers of container headers and metadata,
//! callable on arbitrary bytes without running any decoder (`fuzz/fuzz_targets/decode_headers.rs`).
//!
//! These are the parts of [`decode`](super::decode) that parse untrusted bytes in our code rather
//! than in a decoder crate: the JPEG marker walk that finds the frame header (and sizes the
//! allocation before libjpeg runs), the WebP chunk walk that finds the EXIF chunk, the PNG chunk
//! walk that tells an APNG's default image, the GIF palette check, the size and allocation
//! limits, and the EXIF orientation reader. Not a stable API.

use super::{exif_orientation, frames, gif, jpeg, other, DecodeError, Limits};

/// What the JPEG marker walk read from the first frame header (SOFn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegHeader {
    /// Sample precision in bits.
    pub precision: u8,
    /// Width in pixels, as the header gives it.
    pub width: u16,
    /// Height in pixels, as the header gives it.
    pub height: u16,
    /// Component count, as the header gives it.
    pub components: u8,
    /// Whether libjpeg would keep the whole image's coefficients (progressive or multi-scan).
    pub multi_scan: bool,
    /// The bytes a decode of this header is estimated to need (checked against
    /// [`Limits::max_alloc`] before libjpeg allocates).
    pub alloc_estimate: u64,
}

/// Walks a JPEG's markers (after the 2-byte SOI) to its first frame header.
pub fn jpeg_header(bytes: &[u8]) -> Result<JpegHeader, DecodeError> {
    let frame = jpeg::scan_frame_header(bytes)?;
    let estimate = jpeg::alloc_estimate(u32::from(frame.width), u32::from(frame.height), &frame);
    Ok(JpegHeader {
        precision: frame.precision,
        width: frame.width,
        height: frame.height,
        components: frame.components,
        multi_scan: frame.multi_scan,
        alloc_estimate: estimate,
    })
}

/// The data of a WebP file's `EXIF` chunk (after the 12-byte RIFF header), borrowed from `bytes`.
pub fn webp_exif(bytes: &[u8]) -> Option<&[u8]> {
    other::webp_exif(bytes)
}

/// The EXIF orientation (1-8) in a TIFF-structured block, as every container's reader uses it.
pub fn orientation(tiff: &[u8]) -> Option<u8> {
    exif_orientation(tiff)
}

/// For an APNG (chunks after the 8-byte signature): whether its default image is the
/// animation's first frame; `None` for a still PNG.
pub fn apng_default_in_animation(bytes: &[u8]) -> Option<bool> {
    frames::apng_default_in_animation(bytes)
}

/// Pillow's rule for whether a GIF palette is needed (false for an identity grey ramp).
pub fn gif_palette_needed(palette: &[u8]) -> bool {
    gif::palette_needed(palette)
}

/// The size check every decoder makes from a header, before anything is allocated.
pub fn check_size(limits: &Limits, width: u32, height: u32) -> Result<(), DecodeError> {
    limits.check_size(width, height)
}

/// The allocation check every decoder makes from a header's estimate.
pub fn check_alloc(limits: &Limits, needed: u64) -> Result<(), DecodeError> {
    limits.check_alloc(needed)
}
