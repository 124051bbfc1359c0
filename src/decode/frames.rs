//! The frames of an animated GIF, WebP or PNG after the one [`super::decode`] returns.
//!
//! A browser shows every frame; hashing only the first lets a 10 ms blank first frame (or
//! an APNG whose default image is blank and not part of the animation) hide the rest. The
//! frames are composed on their canvas by the `image` crate (disposal and blending done,
//! RGBA, transparent pixels black once alpha is dropped), which is not how Pillow composes
//! frame 0, so frame 0 keeps coming from [`super::decode`] and is never handed out here.
//!
//! Numbering: the image [`super::decode`] returns is frame 0; the frames after it count on
//! in display order. For GIF, WebP and an APNG whose default image is its first frame that
//! is the animation's own frame index; an APNG whose default image is not part of the
//! animation (a thumbnail) has its first animation frame as frame 1.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{AnimationDecoder, Frames, ImageDecoder};

use super::other::image_error;
use super::{Deadline, DecodeError, ImageFormat, Limits};
use crate::image::pixels::Image;

/// Hands each distinct later frame (see the module docs) to `each`, at most
/// [`Limits::max_frames`] of them; a frame identical to the frame before it is skipped.
///
/// A later frame that does not decode ends the walk quietly (the frames before it were
/// handed out; Pillow and browsers show what decodes). Past the deadline: an error.
pub(super) fn walk(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
    deadline: Deadline,
    each: &mut dyn FnMut(u32, &Image),
) -> Result<(), DecodeError> {
    if limits.max_frames == 0 {
        return Ok(());
    }
    let mut image_limits = image::Limits::no_limits();
    image_limits.max_alloc = Some(limits.max_alloc);
    let error = |e| image_error(format, e);
    let cursor = Cursor::new(bytes);
    // Whether the animation's first frame is the image already hashed as frame 0.
    let (frames, first_is_frame0, (width, height)): (Frames<'_>, bool, _) = match format {
        ImageFormat::Gif => {
            let mut d = GifDecoder::new(cursor).map_err(error)?;
            d.set_limits(image_limits).map_err(error)?;
            let size = d.dimensions();
            (d.into_frames(), true, size)
        }
        ImageFormat::Webp => {
            let mut d = WebPDecoder::new(cursor).map_err(error)?;
            if !d.has_animation() {
                return Ok(());
            }
            d.set_limits(image_limits).map_err(error)?;
            let size = d.dimensions();
            (d.into_frames(), true, size)
        }
        ImageFormat::Png => {
            let Some(default_in_animation) = apng_default_in_animation(bytes) else { return Ok(()) };
            let d = PngDecoder::with_limits(cursor, image_limits).map_err(error)?;
            let size = d.dimensions();
            (d.apng().map_err(error)?.into_frames(), default_in_animation, size)
        }
        _ => return Ok(()),
    };
    limits.check_size(width, height)?;
    // The decoder's canvas and previous canvas, the frame handed out, ours in RGB.
    let canvas = u64::from(width) * u64::from(height);
    limits.check_alloc(canvas * 4 * 3 + canvas * 3)?;

    let mut previous: Option<Vec<u8>> = None;
    let mut handed_out = 0u32;
    let offset = u32::from(!first_is_frame0);
    for (i, frame) in frames.enumerate() {
        deadline.check(format)?;
        let Ok(frame) = frame else { break };
        let rgba = frame.into_buffer();
        let (w, h) = rgba.dimensions();
        let rgba = rgba.into_raw();
        let index = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(offset);
        let repeat = previous.as_deref() == Some(rgba.as_slice());
        if index > 0 && !repeat {
            let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            if let Some(image) = Image::rgb(w, h, rgb) {
                each(index, &image);
                handed_out += 1;
                deadline.check(format)?;
                if handed_out >= limits.max_frames {
                    break;
                }
            }
        }
        previous = Some(rgba);
    }
    Ok(())
}

/// For an animated PNG (an `acTL` chunk before the image data): whether its default image
/// is the animation's first frame (an `fcTL` chunk comes before the first `IDAT`). `None`
/// for a still PNG.
pub(super) fn apng_default_in_animation(bytes: &[u8]) -> Option<bool> {
    let mut pos = 8;
    let mut animated = false;
    let mut fctl = false;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = usize::try_from(u32::from_be_bytes([header[0], header[1], header[2], header[3]])).ok()?;
        match &header[4..8] {
            b"acTL" => animated = true,
            b"fcTL" => fctl = true,
            b"IDAT" => break,
            _ => {}
        }
        pos = pos.checked_add(12)?.checked_add(len)?;
    }
    animated.then_some(fctl)
}
