//! GIF: the first frame, placed on its canvas the way Pillow's `GifImagePlugin` does.
//!
//! Pillow opens a GIF's first frame as mode `P` (or `L` when there is no palette or the
//! palette is the identity grey ramp), on a canvas the size of the logical screen (grown
//! to fit the frame if the frame sticks out), filled with the transparency index if the
//! frame has one and with index 0 otherwise. Transparent pixels keep their palette colour
//! (`convert("RGB")` ignores transparency) and indices past the end of the palette are
//! black. The `image` crate composes differently (transparent black canvas), so this
//! module reads palette indices with the `gif` crate and composes them itself.

use std::num::NonZeroU64;

use super::{DecodeError, ImageFormat, Limits};
use crate::image::pixels::Image;

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<(Image, Option<u8>), DecodeError> {
    let error = |e: gif::DecodingError| match e {
        gif::DecodingError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format: ImageFormat::Gif }
        }
        gif::DecodingError::MemoryLimit => DecodeError::DecoderLimit {
            format: ImageFormat::Gif,
            message: "frame over the allocation limit".into(),
        },
        other => DecodeError::Corrupt { format: ImageFormat::Gif, message: other.to_string() },
    };
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    if let Some(limit) = NonZeroU64::new(limits.max_alloc) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = options.read_info(bytes).map_err(error)?;
    let (screen_w, screen_h) = (u32::from(decoder.width()), u32::from(decoder.height()));
    limits.check_size(screen_w, screen_h)?;
    let global = decoder.global_palette().filter(|p| palette_needed(p)).map(<[u8]>::to_vec);

    let frame = decoder.next_frame_info().map_err(error)?.ok_or_else(|| DecodeError::Corrupt {
        format: ImageFormat::Gif,
        message: "no image in the file".into(),
    })?;
    let (left, top) = (usize::from(frame.left), usize::from(frame.top));
    let (frame_w, frame_h) = (usize::from(frame.width), usize::from(frame.height));
    let fill = frame.transparent.unwrap_or(0);
    let palette = match &frame.palette {
        Some(local) if palette_needed(local) => Some(local.clone()),
        Some(_) => None,
        None => global,
    };
    // Pillow grows the canvas when the first frame extends past the logical screen.
    let width = screen_w.max(u32::from(frame.left) + u32::from(frame.width));
    let height = screen_h.max(u32::from(frame.top) + u32::from(frame.height));
    limits.check_size(width, height)?;
    let canvas_px = u64::from(width) * u64::from(height);
    let frame_px = (frame_w * frame_h) as u64;
    limits.check_alloc(frame_px + canvas_px + if palette.is_some() { canvas_px * 3 } else { 0 })?;

    let mut indices = vec![0u8; decoder.buffer_size()];
    decoder.read_into_buffer(&mut indices).map_err(error)?;

    let (w, h) = (width as usize, height as usize);
    let mut canvas = vec![fill; w * h];
    if frame_w > 0 {
        for (y, row) in indices.chunks_exact(frame_w).take(frame_h).enumerate() {
            let start = (top + y) * w + left;
            canvas[start..start + frame_w].copy_from_slice(row);
        }
    }
    let image = match palette {
        None => Image::gray(width, height, canvas),
        Some(palette) => {
            let mut rgb = Vec::with_capacity(w * h * 3);
            for &i in &canvas {
                let at = usize::from(i) * 3;
                rgb.extend_from_slice(palette.get(at..at + 3).unwrap_or(&[0, 0, 0]));
            }
            Image::rgb(width, height, rgb)
        }
    };
    let image = image
        .ok_or_else(|| DecodeError::Corrupt { format: ImageFormat::Gif, message: "empty image".into() })?;
    Ok((image, None))
}

/// Pillow's `_is_palette_needed`: false when entry i is (i, i, i) for every entry.
pub(super) fn palette_needed(palette: &[u8]) -> bool {
    palette.chunks(3).enumerate().any(|(i, rgb)| rgb.iter().any(|&v| usize::from(v) != i) || rgb.len() < 3)
}
