//! PNG, GIF, WebP, BMP and TIFF through the `image` crate, with its limits set.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};

use super::{exif_orientation, DecodeError, ImageFormat, Limits};
use crate::image::pixels::Image;

/// Decodes a non-JPEG file into the pixels Pillow's `convert("L")`/`convert("RGB")` give.
pub(super) fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(Image, Option<u8>), DecodeError> {
    let image_format = match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Webp => image::ImageFormat::WebP,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        // Never sniffed: videos go to ffmpeg, not here.
        ImageFormat::Video => return Err(DecodeError::NotAnImage),
    };
    let error = |e| image_error(format, e);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    // The allocation limit goes to the decoder (it also bounds metadata and frame buffers);
    // the size limits we check ourselves from the header, so the error can name the size.
    let mut image_limits = image::Limits::no_limits();
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    // Reads the header only: no pixel buffer exists yet.
    let mut decoder = reader.into_decoder().map_err(error)?;
    let (width, height) = decoder.dimensions();
    limits.check_size(width, height)?;
    // The decoder's buffer plus our 8-bit copy of it.
    let out = u64::from(width) * u64::from(height) * 3;
    limits.check_alloc(decoder.total_bytes().saturating_add(out))?;

    let orientation = match format {
        // A TIFF file is itself the TIFF structure EXIF blocks use; IFD0 holds the tag.
        ImageFormat::Tiff => exif_orientation(bytes),
        // Read from the bytes in place: the `image` crate's WebP reader allocates the size
        // the EXIF chunk header declares (up to 4 GiB) before finding the data missing.
        ImageFormat::Webp => webp_exif(bytes).and_then(exif_orientation),
        // PNG's eXIf was read with the chunk (as long as the data actually there, under the
        // decoder's allocation limit); BMP has none.
        _ => decoder.exif_metadata().ok().flatten().and_then(|exif| exif_orientation(&exif)),
    };
    // 16-bit grey with a tRNS chunk comes out of the `image` crate as grey+alpha, but Pillow
    // still reads it as I;16 (clipped), not as LA;16B (high byte).
    let png_grey16 = format == ImageFormat::Png && bytes.get(24..26) == Some(&[16, 0]);
    let decoded = DynamicImage::from_decoder(decoder).map_err(error)?;
    let image = to_pillow_pixels(decoded, png_grey16).map_err(|what| match what {
        Some(what) => DecodeError::Unsupported { what: format!("{format} with {what}") },
        None => DecodeError::Corrupt { format, message: "pixel buffer does not match the size".into() },
    })?;
    Ok((image, orientation))
}

/// The data of a WebP file's `EXIF` chunk, borrowed from `bytes`: `None` when there is
/// none or its declared size runs past the end of the file (nothing is allocated).
pub(super) fn webp_exif(bytes: &[u8]) -> Option<&[u8]> {
    let mut pos = 12; // "RIFF", size, "WEBP"
    while let Some(header) = bytes.get(pos..pos + 8) {
        let size = usize::try_from(u32::from_le_bytes([header[4], header[5], header[6], header[7]])).ok()?;
        let data = pos + 8;
        let end = data.checked_add(size)?;
        if &header[..4] == b"EXIF" {
            let exif = bytes.get(data..end)?;
            // Some writers keep JPEG's "Exif\0\0" prefix; the TIFF structure follows it.
            return Some(exif.strip_prefix(b"Exif\0\0").unwrap_or(exif));
        }
        pos = end.checked_add(size & 1)?; // chunks are padded to an even size
    }
    None
}

/// Maps an `image` error to ours, keeping the decoder's message.
pub(super) fn image_error(format: ImageFormat, e: ImageError) -> DecodeError {
    match e {
        ImageError::Limits(l) => DecodeError::DecoderLimit { format, message: l.to_string() },
        ImageError::Unsupported(u) => DecodeError::Unsupported { what: format!("{format}: {u}") },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format }
        }
        other => {
            let message = other.to_string();
            if looks_truncated(&other) {
                DecodeError::Truncated { format }
            } else {
                DecodeError::Corrupt { format, message }
            }
        }
    }
}

/// Whether a decoding error is the decoder running out of input.
fn looks_truncated(e: &ImageError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::UnexpectedEof {
                return true;
            }
        }
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("unexpected end") || text.contains("unexpected eof") || text.contains("end of file")
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// `DynamicImage` → our pixels, the way Pillow reads and converts each mode.
///
/// `Err(Some(what))`: a sample type Pillow's hashing path has no equivalent for.
fn to_pillow_pixels(img: DynamicImage, png_grey16: bool) -> Result<Image, Option<&'static str>> {
    let (w, h) = (img.width(), img.height());
    let image = match img {
        DynamicImage::ImageLuma8(buf) => Image::gray(w, h, buf.into_raw()),
        // LA: Pillow's convert("L") drops alpha.
        DynamicImage::ImageLumaA8(buf) => {
            Image::gray(w, h, buf.into_raw().chunks_exact(2).map(|p| p[0]).collect())
        }
        DynamicImage::ImageRgb8(buf) => Image::rgb(w, h, buf.into_raw()),
        // RGBA: alpha dropped, not composited.
        DynamicImage::ImageRgba8(buf) => Image::rgb(w, h, drop_alpha(&buf.into_raw())),
        // 16-bit grey is Pillow mode I;16, whose conversion to L (and RGB) clips at 255.
        DynamicImage::ImageLuma16(buf) => {
            Image::gray(w, h, buf.into_raw().into_iter().map(|v| v.min(255) as u8).collect())
        }
        DynamicImage::ImageLumaA16(buf) if png_grey16 => {
            Image::gray(w, h, buf.into_raw().chunks_exact(2).map(|p| p[0].min(255) as u8).collect())
        }
        // 16-bit grey+alpha is read with raw mode LA;16B: the high byte of each sample.
        DynamicImage::ImageLumaA16(buf) => {
            Image::gray(w, h, buf.into_raw().chunks_exact(2).map(|p| high_byte(p[0])).collect())
        }
        // 16-bit colour (RGB;16B, RGBA;16B): the high byte of each sample.
        DynamicImage::ImageRgb16(buf) => {
            Image::rgb(w, h, buf.into_raw().into_iter().map(high_byte).collect())
        }
        DynamicImage::ImageRgba16(buf) => Image::rgb(
            w,
            h,
            buf.into_raw().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).map(high_byte).collect(),
        ),
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => return Err(Some("float samples")),
        _ => return Err(Some("an unknown sample layout")),
    };
    image.ok_or(None)
}

fn high_byte(v: u16) -> u8 {
    v.to_be_bytes()[0]
}

fn drop_alpha(rgba: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for p in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&p[..3]);
    }
    rgb
}
