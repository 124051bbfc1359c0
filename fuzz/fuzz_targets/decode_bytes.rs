//! Any bytes through the whole decoder door with tight limits: format sniffing, the JPEG
//! wrapper (our marker walk, libjpeg's hooks, CMYK conversion), GIF composition, EXIF
//! reading, the later-frame walk of animations, and the fast decode's DCT scaling. Every input must give pixels of the size
//! announced or a typed error, quickly and within the limits; a panic anywhere (even one
//! `decode` would contain as `DecoderPanicked`) fails the run, since libfuzzer's panic hook
//! aborts before `catch_unwind` sees it.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mediamatch::decode::{decode_frames, Limits};
use mediamatch::Pixels;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_width: 2048,
        max_height: 2048,
        max_pixels: 1 << 20,
        max_alloc: 64 << 20,
        max_scans: 100,
        max_time: Duration::from_secs(2),
        max_frames: 8,
        // Odd-length inputs also take the fast path (libjpeg-turbo's DCT scaling), with a
        // side small enough that fuzzed JPEGs are actually scaled.
        jpeg_min_side: (data.len() % 2 == 1).then_some(16),
    };
    let mut frames = 0u32;
    let result = decode_frames(data, &limits, |n, image| {
        assert!(n > 0, "frame 0 is the decoded image, never handed to the walk");
        assert!(u64::from(image.width) * u64::from(image.height) <= limits.max_pixels);
        frames += 1;
    });
    assert!(frames <= limits.max_frames);
    if let Ok(decoded) = result {
        let image = decoded.image;
        let pixels = image.width as usize * image.height as usize;
        assert!(pixels as u64 <= limits.max_pixels);
        let len = match &image.pixels {
            Pixels::Gray(v) => v.len(),
            Pixels::Rgb(v) => v.len() / 3,
        };
        assert_eq!(len, pixels, "pixel buffer matches the size");
    }
});
