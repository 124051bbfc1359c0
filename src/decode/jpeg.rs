//! JPEG through libjpeg-turbo's decoder (the `mozjpeg` crate), as Pillow decodes it.
//!
//! Pillow calls libjpeg-turbo with its defaults (accurate integer IDCT, fancy upsampling,
//! output in the file's own colour space: grey, RGB or CMYK), so doing the same gives
//! Pillow's pixels exactly. The `mozjpeg` crate reports libjpeg's fatal errors by
//! unwinding with `resume_unwind` (no panic hook, nothing printed); the caller contains
//! the unwind with `catch_unwind`.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};

use mozjpeg::{Decompress, Marker};

use super::{exif_orientation, panic_message, DecodeError, Format, Limits};
use crate::pixels::Image;

/// Decodes a JPEG file; the pixels are the ones Pillow's `convert("RGB")` (or, for a
/// one-component file, `convert("L")`) returns.
pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<(Image, Option<u8>), DecodeError> {
    let frame = scan_frame_header(bytes)?;
    if frame.precision != 8 {
        return Err(DecodeError::Unsupported { what: format!("{}-bit JPEG", frame.precision) });
    }
    // Size limits first, from our own reading of the frame header: nothing is allocated yet.
    limits.check_size(u32::from(frame.width), u32::from(frame.height))?;
    let hit_eof = Cell::new(false);
    let outcome = catch_unwind(AssertUnwindSafe(|| run_libjpeg(bytes, &hit_eof, limits, &frame)));
    match outcome {
        Ok(Err(e @ (DecodeError::TooLarge { .. } | DecodeError::TooManyBytes { .. }))) => Err(e),
        _ if hit_eof.get() => Err(DecodeError::Truncated { format: Format::Jpeg }),
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(payload);
            let message = message.strip_prefix("libjpeg fatal error: ").unwrap_or(&message).to_string();
            Err(DecodeError::Corrupt { format: Format::Jpeg, message })
        }
    }
}

/// What the frame header (SOFn) says.
struct FrameHeader {
    precision: u8,
    height: u16,
    width: u16,
    components: u8,
    /// Progressive (or otherwise multi-scan) files keep every DCT coefficient in memory.
    progressive: bool,
}

/// Walks the markers up to the first frame header, without trusting any length.
fn scan_frame_header(bytes: &[u8]) -> Result<FrameHeader, DecodeError> {
    let truncated = || DecodeError::Truncated { format: Format::Jpeg };
    let corrupt = |message: &str| DecodeError::Corrupt { format: Format::Jpeg, message: message.to_string() };
    let mut pos = 2; // after SOI
    loop {
        // Skip to the next 0xFF, then past fill bytes (Pillow also skips junk between segments).
        while *bytes.get(pos).ok_or_else(truncated)? != 0xFF {
            pos += 1;
        }
        while *bytes.get(pos).ok_or_else(truncated)? == 0xFF {
            pos += 1;
        }
        let marker = bytes[pos];
        pos += 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD7 => continue, // stuffed byte, TEM, RSTn: no length
            0xD8 => continue,
            0xD9 => return Err(corrupt("end of image before any frame header")),
            0xDA => return Err(corrupt("scan before any frame header")),
            _ => {}
        }
        let len = match bytes.get(pos..pos + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(truncated()),
        };
        if len < 2 {
            return Err(corrupt("marker segment length below 2"));
        }
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let seg = bytes.get(pos + 2..pos + 8).ok_or_else(truncated)?;
            return Ok(FrameHeader {
                precision: seg[0],
                height: u16::from_be_bytes([seg[1], seg[2]]),
                width: u16::from_be_bytes([seg[3], seg[4]]),
                components: seg[5],
                progressive: !matches!(marker, 0xC0 | 0xC1),
            });
        }
        pos += len;
    }
}

/// A byte-slice reader that records whether libjpeg asked for bytes past the end.
///
/// libjpeg (as wrapped by `mozjpeg`) answers end of input with a warning and a fake
/// end-of-image marker, then hands out grey rows; Pillow refuses such files ("image file
/// is truncated"), so we do too.
struct EofFlagReader<'a> {
    rest: &'a [u8],
    hit_eof: &'a Cell<bool>,
}

impl Read for EofFlagReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_eof.set(true);
        }
        Ok(n)
    }
}

impl BufRead for EofFlagReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.rest.is_empty() {
            self.hit_eof.set(true);
        }
        Ok(self.rest)
    }

    fn consume(&mut self, amt: usize) {
        self.rest = self.rest.get(amt..).unwrap_or_default();
    }
}

fn run_libjpeg(
    bytes: &[u8],
    hit_eof: &Cell<bool>,
    limits: &Limits,
    frame: &FrameHeader,
) -> Result<(Image, Option<u8>), DecodeError> {
    let corrupt = |e: std::io::Error| DecodeError::Corrupt { format: Format::Jpeg, message: e.to_string() };
    let reader = EofFlagReader { rest: bytes, hit_eof };
    let dec = Decompress::builder().with_markers(&[Marker::APP(1)]).from_reader(reader).map_err(corrupt)?;

    // libjpeg's own view of the size, still before start_decompress allocates anything.
    let (w, h) = dec.size();
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    limits.check_size(width, height)?;
    limits.check_alloc(alloc_estimate(width, height, frame))?;

    let orientation = dec.markers().find_map(|m| m.data.strip_prefix(b"Exif\0\0").and_then(exif_orientation));

    let image = match dec.image().map_err(corrupt)? {
        mozjpeg::Format::RGB(mut d) => {
            let rgb: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::rgb(width, height, rgb)
        }
        mozjpeg::Format::Gray(mut d) => {
            let grey: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::gray(width, height, grey)
        }
        mozjpeg::Format::CMYK(mut d) => {
            let cmyk: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::rgb(width, height, cmyk_to_rgb(&cmyk))
        }
    };
    let image = image
        .ok_or_else(|| DecodeError::Corrupt { format: Format::Jpeg, message: "short pixel data".into() })?;
    Ok((image, orientation))
}

/// Bytes a decode needs, estimated from the header: the output buffer, plus for
/// progressive files libjpeg's whole-image coefficient buffer (2 bytes per sample), plus
/// the RGB buffer a CMYK file is converted into.
fn alloc_estimate(width: u32, height: u32, frame: &FrameHeader) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let components = u64::from(frame.components.max(1));
    let output = pixels * components;
    let coefficients = if frame.progressive { pixels * components * 2 } else { 0 };
    let conversion = if components == 4 { pixels * 3 } else { 0 };
    output + coefficients + conversion
}

/// CMYK samples as libjpeg outputs them → RGB as Pillow computes it.
///
/// Pillow always reads JPEG CMYK as Adobe-inverted (raw mode `CMYK;I`: each sample is
/// `255 - stored`), then `convert("RGB")` applies `cmyk2rgb`:
/// `nk = 255 - k; channel = clip(nk - muldiv255(c, nk))` with Pillow's rounded
/// `muldiv255(a, b) = (t + (t >> 8)) >> 8` where `t = a * b + 128`.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let nk = i32::from(px[3]); // 255 - (255 - stored k)
        for &stored in &px[..3] {
            let c = 255 - i32::from(stored);
            let t = c * nk + 128;
            let v = nk - ((t + (t >> 8)) >> 8);
            rgb.push(v.clamp(0, 255) as u8);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_extremes_follow_pillow() {
        // Stored (inverted) samples: 255 = no ink. No ink and no black → white.
        assert_eq!(cmyk_to_rgb(&[255, 255, 255, 255]), vec![255, 255, 255]);
        // Full black (stored k = 0) → black whatever the inks.
        assert_eq!(cmyk_to_rgb(&[255, 0, 12, 0]), vec![0, 0, 0]);
        // Full cyan, no black → red channel 0, others 255.
        assert_eq!(cmyk_to_rgb(&[0, 255, 255, 255]), vec![0, 255, 255]);
    }
}
