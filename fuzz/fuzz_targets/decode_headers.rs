//! Any bytes through our own header and metadata readers, without any decoder: the JPEG
//! marker walk to the frame header and the allocation estimate made from it, the WebP chunk
//! walk to the EXIF chunk, the APNG chunk walk, the EXIF orientation reader, the GIF palette
//! rule and the size/allocation limit checks. Each reader gets the bytes as given and wrapped
//! in its container's signature, so mutations start past the magic. Nothing may panic
//! (overflow included: fuzz builds check arithmetic), loop or read out of bounds, and what the
//! readers return must be consistent with the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediamatch::decode::fuzzing;
use mediamatch::decode::{DecodeError, Limits};

fn with_prefix(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(data);
    v
}

fn check_jpeg(bytes: &[u8]) {
    if let Ok(h) = fuzzing::jpeg_header(bytes) {
        let pixels = u64::from(h.width) * u64::from(h.height);
        // The output buffer alone is width x height x components.
        assert!(h.alloc_estimate >= pixels * u64::from(h.components.max(1)));
        if let Err(e) = fuzzing::check_alloc(&Limits::default(), h.alloc_estimate) {
            assert!(matches!(e, DecodeError::TooManyBytes { .. }));
        }
    }
}

fn check_webp(bytes: &[u8]) {
    if let Some(exif) = fuzzing::webp_exif(bytes) {
        // Borrowed from the file, after the RIFF header and a chunk header.
        let start = exif.as_ptr() as usize - bytes.as_ptr() as usize;
        assert!(start >= 20 && start + exif.len() <= bytes.len());
        check_orientation(exif);
    }
}

fn check_orientation(tiff: &[u8]) {
    if let Some(o) = fuzzing::orientation(tiff) {
        assert!((1..=8).contains(&o), "orientation {o} out of 1-8");
    }
}

fuzz_target!(|data: &[u8]| {
    check_jpeg(data);
    check_jpeg(&with_prefix(&[0xFF, 0xD8], data));

    check_webp(data);
    let mut riff = b"RIFF\0\0\0\0WEBP".to_vec();
    riff.extend_from_slice(data);
    check_webp(&riff);

    check_orientation(data);
    check_orientation(&with_prefix(b"II*\0", data));
    check_orientation(&with_prefix(b"MM\0*", data));

    let _ = fuzzing::apng_default_in_animation(data);
    let _ = fuzzing::apng_default_in_animation(&with_prefix(b"\x89PNG\r\n\x1a\n", data));

    let _ = fuzzing::gif_palette_needed(data);

    // The limit checks against sizes read from the input.
    if let Some(b) = data.get(..8) {
        let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let height = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let limits = Limits { max_width: 4096, max_height: 4096, max_pixels: 1 << 22, ..Limits::default() };
        let fits = width <= 4096 && height <= 4096 && u64::from(width) * u64::from(height) <= 1 << 22;
        assert_eq!(fuzzing::check_size(&limits, width, height).is_ok(), fits);
    }
});
