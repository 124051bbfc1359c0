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

use super::jpeg_guard::{self, Stop};
use super::{exif_orientation, panic_message, Deadline, DecodeError, ImageFormat, Limits};
use crate::image::pixels::Image;

/// Decodes a JPEG file; the pixels are the ones Pillow's `convert("RGB")` (or, for a
/// one-component file, `convert("L")`) returns.
///
/// libjpeg is stopped when the file has more than [`Limits::max_scans`] scans or the
/// decode passes `deadline` (see `jpeg_guard`).
pub(super) fn decode(
    bytes: &[u8],
    limits: &Limits,
    deadline: Deadline,
) -> Result<(Image, Option<u8>), DecodeError> {
    let frame = scan_frame_header(bytes)?;
    if frame.precision != 8 {
        return Err(DecodeError::Unsupported { what: format!("{}-bit JPEG", frame.precision) });
    }
    // Size limits first, from our own reading of the frame header: nothing is allocated yet.
    limits.check_size(u32::from(frame.width), u32::from(frame.height))?;
    let hit_eof = Cell::new(false);
    let outcome = catch_unwind(AssertUnwindSafe(|| run_libjpeg(bytes, &hit_eof, limits, deadline, &frame)));
    match jpeg_guard::take_stop() {
        Some(Stop::Scans) => return Err(DecodeError::TooManyScans { limit: limits.max_scans }),
        Some(Stop::Time) => return Err(deadline.error(ImageFormat::Jpeg)),
        None => {}
    }
    match outcome {
        Ok(Err(e @ (DecodeError::TooLarge { .. } | DecodeError::TooManyBytes { .. }))) => Err(e),
        _ if hit_eof.get() => Err(DecodeError::Truncated { format: ImageFormat::Jpeg }),
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(payload);
            let message = message.strip_prefix("libjpeg fatal error: ").unwrap_or(&message).to_string();
            Err(DecodeError::Corrupt { format: ImageFormat::Jpeg, message })
        }
    }
}

/// What the frame header (SOFn) says.
pub(super) struct FrameHeader {
    pub(super) precision: u8,
    pub(super) height: u16,
    pub(super) width: u16,
    pub(super) components: u8,
    /// Sampling factors (horizontal, vertical) of each component, as the header gives them.
    sampling: Vec<(u8, u8)>,
    /// Whether libjpeg decodes the file in multi-scan mode and so keeps every DCT
    /// coefficient of the image in memory: progressive files, and sequential files whose
    /// first scan does not hold every component (libjpeg's own `has_multiple_scans` rule).
    pub(super) multi_scan: bool,
}

/// Walks the markers up to the first frame header, without trusting any length.
pub(super) fn scan_frame_header(bytes: &[u8]) -> Result<FrameHeader, DecodeError> {
    let truncated = || DecodeError::Truncated { format: ImageFormat::Jpeg };
    let corrupt =
        |message: &str| DecodeError::Corrupt { format: ImageFormat::Jpeg, message: message.to_string() };
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
            let components = seg[5];
            let specs = bytes.get(pos + 8..).unwrap_or_default();
            let sampling = specs
                .chunks_exact(3)
                .take(usize::from(components))
                .map(|c| (c[1] >> 4, c[1] & 0x0F))
                .collect();
            let progressive = !matches!(marker, 0xC0 | 0xC1);
            let first_scan = first_scan_components(bytes, pos + len);
            return Ok(FrameHeader {
                precision: seg[0],
                height: u16::from_be_bytes([seg[1], seg[2]]),
                width: u16::from_be_bytes([seg[3], seg[4]]),
                components,
                sampling,
                multi_scan: progressive || first_scan.is_some_and(|n| n < components),
            });
        }
        pos += len;
    }
}

/// The component count of the first scan header (SOS) at or after `pos`, if there is one.
fn first_scan_components(bytes: &[u8], mut pos: usize) -> Option<u8> {
    loop {
        while *bytes.get(pos)? != 0xFF {
            pos += 1;
        }
        while *bytes.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *bytes.get(pos)?;
        pos += 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]));
        if marker == 0xDA {
            return bytes.get(pos + 2).copied();
        }
        pos += len.max(2);
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
    deadline: Deadline,
    frame: &FrameHeader,
) -> Result<(Image, Option<u8>), DecodeError> {
    let corrupt =
        |e: std::io::Error| DecodeError::Corrupt { format: ImageFormat::Jpeg, message: e.to_string() };
    let reader = EofFlagReader { rest: bytes, hit_eof };
    // Declared before the decompressor, so it outlives it (locals drop in reverse order,
    // unwinding included): libjpeg holds a pointer to it.
    let mut progress = Box::new(jpeg_guard::progress_mgr());
    let _watch = jpeg_guard::Watch::start(&mut progress, deadline.at(), limits.max_scans);
    let mut dec = Decompress::builder()
        .with_err(jpeg_guard::error_mgr())
        .with_markers(&[Marker::APP(1)])
        .from_reader(reader)
        .map_err(corrupt)?;

    // libjpeg's own view of the size, still before start_decompress allocates anything.
    let (w, h) = dec.size();
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    limits.check_size(width, height)?;
    limits.check_alloc(alloc_estimate(width, height, frame))?;

    let orientation = dec.markers().find_map(|m| m.data.strip_prefix(b"Exif\0\0").and_then(exif_orientation));
    if let Some(side) = limits.jpeg_min_side {
        let n = super::jpeg_scale(width, height, side);
        if n < 8 {
            dec.scale(n);
        }
    }
    // The output size (libjpeg's, after any scaling).
    let out_size =
        |w: usize, h: usize| (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    let image = match dec.image().map_err(corrupt)? {
        mozjpeg::Format::RGB(mut d) => {
            let (width, height) = out_size(d.width(), d.height());
            let rgb: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::rgb(width, height, rgb)
        }
        mozjpeg::Format::Gray(mut d) => {
            let (width, height) = out_size(d.width(), d.height());
            let grey: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::gray(width, height, grey)
        }
        mozjpeg::Format::CMYK(mut d) => {
            let (width, height) = out_size(d.width(), d.height());
            let cmyk: Vec<u8> = d.read_scanlines().map_err(corrupt)?;
            d.finish().map_err(corrupt)?;
            Image::rgb(width, height, cmyk_to_rgb(&cmyk))
        }
    };
    let image = image.ok_or_else(|| DecodeError::Corrupt {
        format: ImageFormat::Jpeg,
        message: "short pixel data".into(),
    })?;
    Ok((image, orientation))
}

/// Bytes a decode needs, estimated from the header: the output buffer, plus for
/// multi-scan files (progressive, or sequential with a first scan that does not hold every
/// component) libjpeg's whole-image coefficient buffer, plus the RGB buffer a CMYK file is
/// converted into.
pub(super) fn alloc_estimate(width: u32, height: u32, frame: &FrameHeader) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let components = u64::from(frame.components.max(1));
    let output = pixels * components;
    let coefficients = if frame.multi_scan { coefficient_bytes(width, height, frame) } else { 0 };
    let conversion = if components == 4 { pixels * 3 } else { 0 };
    output + coefficients + conversion
}

/// The size of libjpeg's whole-image coefficient buffer: per component, its blocks of 64
/// two-byte coefficients, the block counts rounded up to the component's sampling factors
/// as `jdcoefct.c` allocates them. Sampling factors outside 1-4 (libjpeg refuses them) are
/// counted as 1.
fn coefficient_bytes(width: u32, height: u32, frame: &FrameHeader) -> u64 {
    let factor = |f: u8| u64::from(if (1..=4).contains(&f) { f } else { 1 });
    let h_max = frame.sampling.iter().map(|s| factor(s.0)).max().unwrap_or(1);
    let v_max = frame.sampling.iter().map(|s| factor(s.1)).max().unwrap_or(1);
    let blocks = |size: u32, f: u64, max: u64| {
        let samples = (u64::from(size) * f).div_ceil(max);
        samples.div_ceil(8).next_multiple_of(f)
    };
    let mut total: u64 = frame
        .sampling
        .iter()
        .map(|&(h, v)| {
            let (h, v) = (factor(h), factor(v));
            blocks(width, h, h_max) * blocks(height, v, v_max) * 64 * 2
        })
        .sum();
    // Components the header promised but did not describe: count them at full size.
    let missing = usize::from(frame.components).saturating_sub(frame.sampling.len()) as u64;
    total += missing * blocks(width, 1, 1) * blocks(height, 1, 1) * 128;
    total
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
