//! The only door to the image decoders.
//!
//! [`decode`] turns the bytes of an untrusted file into [`Image`] pixels exactly as the
//! reference implementations see them: the references hash `Image.open(f).convert("L")`
//! (pHash) and `Image.open(f).convert("RGB")` (PDQ) with Pillow, so the pixels handed out
//! here are the ones Pillow would hand out.
//!
//! * **The format** is sniffed from the first bytes (magic numbers), never from a file name:
//!   JPEG, PNG, GIF (first frame), WebP, BMP and TIFF. Other recognised formats (AVIF,
//!   HEIC, JPEG XL, ...) are [`DecodeError::Unsupported`]; anything else is
//!   [`DecodeError::NotAnImage`].
//! * **JPEG** is decoded by libjpeg-turbo's decoder (through the `mozjpeg` crate, which
//!   builds the C library from source), with its default settings (accurate integer IDCT,
//!   fancy upsampling): that is Pillow's decoder, so the pixels are identical to Pillow's.
//!   `docs/decoding.md` has the measurements behind the choice. CMYK JPEGs are converted
//!   the way Pillow converts them (Adobe-inverted samples, then Pillow's `cmyk2rgb`).
//! * **GIF**: the first frame, composed on its canvas the way Pillow does (`gif` crate).
//! * **PNG, WebP, BMP, TIFF** go through the `image` crate with its allocation limit set.
//! * **Modes** follow Pillow: grey stays [`Pixels::Gray`](crate::Pixels::Gray) (alpha
//!   dropped, 16-bit grey clipped to 255 as Pillow's `I;16` → `L` does), colour becomes
//!   [`Pixels::Rgb`](crate::Pixels::Rgb) (alpha dropped without compositing, palettes
//!   expanded, 16-bit samples keep their high byte).
//! * **Limits** on width, height, pixel count and allocation are checked from the header,
//!   before any pixel buffer is allocated; a JPEG's scan count and the decode time are
//!   bounded inside libjpeg ([`Limits::max_scans`], [`Limits::max_time`]).
//! * **Animations**: [`decode`] returns frame 0 (what Pillow opens); [`decode_frames`] also
//!   walks the later frames, up to [`Limits::max_frames`].
//! * **EXIF orientation** is read and reported in [`Decoded::orientation`], never applied:
//!   the references hash the stored pixels, and dihedral matching covers rotated uploads.
//! * **No panic escapes**: each decoder runs under [`std::panic::catch_unwind`]; a panic
//!   becomes [`DecodeError::DecoderPanicked`]. libjpeg's fatal errors travel as unwinds
//!   raised with `resume_unwind`, which does not run the panic hook, so they print nothing.
//!   A genuine panic inside a Rust decoder (a decoder bug) is still printed by the
//!   process's panic hook before it is caught; this library does not touch the hook.

mod frames;
#[doc(hidden)]
pub mod fuzzing;
mod gif;
mod jpeg;
mod jpeg_guard;
mod other;

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::image::pixels::Image;

/// Limits applied before and while decoding untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted pixel count (width x height).
    pub max_pixels: u64,
    /// Largest number of bytes the decoder may allocate (per decode: a process decoding on
    /// N threads at once may hold about N times this).
    pub max_alloc: u64,
    /// Largest number of scans a JPEG may have. A progressive JPEG can repeat a scan
    /// thousands of times, each one a full pass over the coefficients; libjpeg-turbo's
    /// advice for untrusted input is to stop at 100 or so (real encoders write at most a
    /// few dozen). Over it: [`DecodeError::TooManyScans`].
    pub max_scans: u32,
    /// Decode-time budget per file (all frames of an animation together). Checked inside
    /// libjpeg (its progress monitor, per row and per marker) and between the frames of an
    /// animation; a single GIF/PNG/WebP/BMP/TIFF frame decode is not interrupted. Over it:
    /// [`DecodeError::TimeBudget`].
    pub max_time: Duration,
    /// Largest number of frames of an animated GIF, WebP or PNG decoded and hashed besides
    /// the first (distinct frames only; later frames are not checked).
    pub max_frames: u32,
    /// Fast decode (opt-in; `--decode fast`): a JPEG is decoded by libjpeg-turbo's DCT
    /// scaling at the smallest of 1/8, 1/4 and 1/2 whose shorter side is still at least
    /// this many pixels ([`FAST_DECODE_SIDE`] for `--decode fast`), or at full size when
    /// even 1/2 is smaller. Hashes then differ from the references' in a few bits
    /// (docs/decoding.md has the measurements). `None` (the default) decodes every pixel:
    /// the exact path, bit-identical to Pillow.
    pub jpeg_min_side: Option<u32>,
}

/// The shorter side a fast decode keeps ([`Limits::jpeg_min_side`]): well above pHash's
/// 32x32 thumbnail and PDQ's 64x64 block after its blur. Measured on 12 MP photos: 512
/// keeps every pHash and moves PDQ by 2-6 bits at 5x the exact path's speed; 256 was 6x
/// as fast but moved PDQ by up to 16 bits.
pub const FAST_DECODE_SIDE: u32 = 512;

/// The DCT scale numerator (of 8) a fast decode uses for a `width` x `height` JPEG: the
/// smallest of 1, 2 and 4 whose scaled shorter side is at least `min_side`, else 8 (full
/// size). libjpeg-turbo rounds scaled sizes up.
///
/// ```
/// use mediamatch::decode::jpeg_scale;
/// assert_eq!(jpeg_scale(4000, 3000, 512), 2); // 1000x750
/// assert_eq!(jpeg_scale(1600, 1200, 512), 4); // 800x600
/// assert_eq!(jpeg_scale(8000, 6000, 512), 1); // 1000x750
/// assert_eq!(jpeg_scale(800, 600, 512), 8); // even 1/2 is too small
/// ```
pub fn jpeg_scale(width: u32, height: u32, min_side: u32) -> u8 {
    let short = u64::from(width.min(height));
    [1u8, 2, 4].into_iter().find(|&n| (short * u64::from(n)).div_ceil(8) >= u64::from(min_side)).unwrap_or(8)
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_width: 32_768,
            max_height: 32_768,
            max_pixels: 100_000_000,
            max_alloc: 1 << 30,
            max_scans: 100,
            max_time: Duration::from_secs(5),
            max_frames: 64,
            jpeg_min_side: None,
        }
    }
}

impl Limits {
    /// Checks an image size read from a header against the width, height and pixel limits.
    fn check_size(&self, width: u32, height: u32) -> Result<(), DecodeError> {
        let too_large = |limit| Err(DecodeError::TooLarge { width, height, limit });
        if width > self.max_width {
            return too_large(Limit::Width(self.max_width));
        }
        if height > self.max_height {
            return too_large(Limit::Height(self.max_height));
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return too_large(Limit::Pixels(self.max_pixels));
        }
        Ok(())
    }

    /// Checks an estimate of the bytes a decode needs against the allocation limit.
    fn check_alloc(&self, needed: u64) -> Result<(), DecodeError> {
        if needed > self.max_alloc {
            return Err(DecodeError::TooManyBytes { needed, limit: self.max_alloc });
        }
        Ok(())
    }
}

/// Which size limit an image broke (see [`DecodeError::TooLarge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::max_width`].
    Width(u32),
    /// [`Limits::max_height`].
    Height(u32),
    /// [`Limits::max_pixels`].
    Pixels(u64),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Width(n) => write!(f, "the width limit of {n} pixels"),
            Limit::Height(n) => write!(f, "the height limit of {n} pixels"),
            Limit::Pixels(n) => write!(f, "the limit of {n} pixels"),
        }
    }
}

/// The container format, sniffed from the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
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
    /// A video, whose sampled frames were decoded by ffmpeg ([`crate::video`]); never
    /// sniffed by [`decode`].
    Video,
}

impl ImageFormat {
    /// The format's usual name ("JPEG", "PNG", ...).
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WebP",
            ImageFormat::Bmp => "BMP",
            ImageFormat::Tiff => "TIFF",
            ImageFormat::Video => "video",
        }
    }

    /// Sniffs the format from the first bytes of `bytes`.
    ///
    /// `Ok(None)`: no known image signature. `Err(name)`: a recognised image format that
    /// this crate does not decode.
    pub fn sniff(bytes: &[u8]) -> Result<Option<ImageFormat>, &'static str> {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        let format = if starts(&[0xFF, 0xD8, 0xFF]) {
            ImageFormat::Jpeg
        } else if starts(b"\x89PNG\r\n\x1a\n") {
            ImageFormat::Png
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            ImageFormat::Gif
        } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            ImageFormat::Webp
        } else if starts(b"BM") {
            ImageFormat::Bmp
        } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
            ImageFormat::Tiff
        } else {
            return match sniff_unsupported(bytes) {
                Some(name) => Err(name),
                None => Ok(None),
            };
        };
        Ok(Some(format))
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Names image formats we recognise but do not decode, so the error can say what the file is.
fn sniff_unsupported(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if bytes.get(4..8) == Some(b"ftyp") {
        return match bytes.get(8..12) {
            Some(b"avif") | Some(b"avis") => Some("AVIF"),
            Some(b"heic") | Some(b"heix") | Some(b"mif1") | Some(b"msf1") | Some(b"hevc") => Some("HEIF"),
            _ => None,
        };
    }
    if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL \r\n\x87\n") {
        Some("JPEG XL")
    } else if starts(b"\0\0\0\x0cjP  \r\n\x87\n") || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
        Some("JPEG 2000")
    } else if starts(b"8BPS") {
        Some("Photoshop PSD")
    } else if starts(&[0, 0, 1, 0]) {
        Some("ICO")
    } else if starts(b"qoif") {
        Some("QOI")
    } else if starts(b"\x76\x2f\x31\x01") {
        Some("OpenEXR")
    } else {
        None
    }
}

/// A decoded image with what the decoder learned about the file.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The stored pixels (EXIF orientation not applied).
    pub image: Image,
    /// The sniffed format.
    pub format: ImageFormat,
    /// The EXIF orientation tag (1-8) if the file carries one (JPEG APP1, PNG eXIf before
    /// the image data, WebP EXIF, TIFF IFD0); never applied to `image`.
    pub orientation: Option<u8>,
}

/// Why an input could not be decoded.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input has no bytes.
    #[error("empty file")]
    Empty,
    /// The content is not a supported image format.
    #[error("not an image (unrecognised content)")]
    NotAnImage,
    /// A recognised image format, or a feature of one, that this crate does not decode.
    #[error("unsupported image format: {what}")]
    Unsupported {
        /// What is unsupported ("AVIF", "12-bit JPEG", ...).
        what: String,
    },
    /// The file ends before the image data does.
    #[error("truncated {format} file")]
    Truncated {
        /// The sniffed format.
        format: ImageFormat,
    },
    /// The decoder rejected the data.
    #[error("corrupt {format} file: {message}")]
    Corrupt {
        /// The sniffed format.
        format: ImageFormat,
        /// The decoder's message.
        message: String,
    },
    /// The header announces an image larger than the limits allow.
    #[error("image of {width}x{height} pixels exceeds {limit}")]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit it breaks.
        limit: Limit,
    },
    /// Decoding would need more memory than [`Limits::max_alloc`].
    #[error("decoding needs about {needed} bytes, over the allocation limit of {limit} bytes")]
    TooManyBytes {
        /// Estimated bytes needed.
        needed: u64,
        /// The limit.
        limit: u64,
    },
    /// A decoder stopped because it reached a limit while decoding (for example an
    /// allocation inside the file's metadata over [`Limits::max_alloc`]).
    #[error("the {format} decoder stopped at a limit: {message}")]
    DecoderLimit {
        /// The sniffed format.
        format: ImageFormat,
        /// The decoder's message.
        message: String,
    },
    /// A JPEG has more scans than [`Limits::max_scans`] (a hostile progressive file can
    /// repeat a scan until decoding takes minutes).
    #[error("JPEG with more than {limit} scans (a repeated-scan file that would take long to decode)")]
    TooManyScans {
        /// The limit.
        limit: u32,
    },
    /// Decoding took longer than [`Limits::max_time`] and was stopped.
    #[error("{format} decode stopped: over the time budget of {} ms per file", limit.as_millis())]
    TimeBudget {
        /// The sniffed format.
        format: ImageFormat,
        /// The budget.
        limit: Duration,
    },
    /// A decoder panicked (a decoder bug triggered by this input); the panic was contained.
    #[error("the {format} decoder panicked: {message}")]
    DecoderPanicked {
        /// The sniffed format.
        format: ImageFormat,
        /// The panic message.
        message: String,
    },
}

/// Whether the JPEG decoder (libjpeg-turbo) runs its SIMD code on this machine: it does
/// when the crate was built with `nasm` installed (the same pixels, about twice as fast),
/// and `mediamatch --version` and `info` say so.
pub fn jpeg_simd() -> bool {
    jpeg_guard::simd()
}

/// Decodes `bytes`, sniffing the format from the content.
///
/// Returns the stored pixels as Pillow would hand them to the hashers (see the module
/// documentation), the format and the EXIF orientation. Never panics, whatever the bytes.
///
/// ```
/// use mediamatch::decode::{decode, DecodeError, Limits};
///
/// assert!(matches!(decode(b"", &Limits::default()), Err(DecodeError::Empty)));
/// assert!(matches!(decode(b"hello", &Limits::default()), Err(DecodeError::NotAnImage)));
/// ```
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    decode_within(bytes, limits, Deadline::start(limits))
}

/// Decodes `bytes` like [`decode`], then hands every distinct later frame of an animated
/// GIF, WebP or PNG to `each`, with its number (the image returned is frame 0; APNG frames
/// count from 1 when the default image is not part of the animation), at most
/// [`Limits::max_frames`] of them. A frame identical to the frame before it is skipped.
///
/// Later frames are composed on their canvas by the `image` crate (not the Pillow way:
/// nothing to be bit-identical with) and handed out as RGB. A later frame that does not
/// decode ends the walk quietly; the whole decode, `each` included, runs under the one
/// [`Limits::max_time`] budget, and over it the result is [`DecodeError::TimeBudget`].
pub fn decode_frames(
    bytes: &[u8],
    limits: &Limits,
    mut each: impl FnMut(u32, &Image),
) -> Result<Decoded, DecodeError> {
    let deadline = Deadline::start(limits);
    let decoded = decode_within(bytes, limits, deadline)?;
    let format = decoded.format;
    if matches!(format, ImageFormat::Gif | ImageFormat::Webp | ImageFormat::Png) {
        let walk = || frames::walk(bytes, format, limits, deadline, &mut each);
        // Another error, or a decoder bug, in a later frame ends the walk there, quietly.
        if let Ok(Err(e @ DecodeError::TimeBudget { .. })) = catch_unwind(AssertUnwindSafe(walk)) {
            return Err(e);
        }
    }
    Ok(decoded)
}

/// [`decode`] with the deadline given.
fn decode_within(bytes: &[u8], limits: &Limits, deadline: Deadline) -> Result<Decoded, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = match ImageFormat::sniff(bytes) {
        Ok(Some(format)) => format,
        Ok(None) => return Err(DecodeError::NotAnImage),
        Err(name) => return Err(DecodeError::Unsupported { what: name.to_string() }),
    };
    let run = || match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, limits, deadline),
        ImageFormat::Gif => gif::decode(bytes, limits),
        _ => other::decode(bytes, format, limits),
    };
    let (image, orientation) = catch_unwind(AssertUnwindSafe(run))
        .map_err(|payload| DecodeError::DecoderPanicked { format, message: panic_message(payload) })??;
    Ok(Decoded { image, format, orientation })
}

/// When a decode must be over: [`Limits::max_time`] after it started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    limit: Duration,
}

impl Deadline {
    /// The deadline of a decode starting now.
    pub(crate) fn start(limits: &Limits) -> Deadline {
        Deadline { at: Instant::now().checked_add(limits.max_time), limit: limits.max_time }
    }

    /// The instant, unless the budget is too large to represent.
    fn at(&self) -> Option<Instant> {
        self.at
    }

    /// The error for a decode of `format` over the budget.
    fn error(&self, format: ImageFormat) -> DecodeError {
        DecodeError::TimeBudget { format, limit: self.limit }
    }

    /// An error if the deadline has passed.
    pub(crate) fn check(&self, format: ImageFormat) -> Result<(), DecodeError> {
        match self.at {
            Some(at) if Instant::now() > at => Err(self.error(format)),
            _ => Ok(()),
        }
    }
}

/// The text of a caught panic's payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "unknown panic payload".to_string()
    }
}

/// An EXIF orientation (1-8) from a TIFF-structured EXIF block ("II*\0..." or "MM\0*...").
fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    image::metadata::Orientation::from_exif_chunk(tiff).map(|o| o.to_exif())
}
