//! Hostile inputs for the decoders, each generated here: a progressive JPEG with a scan
//! repeated 1,000 times (scan limit, time budget), a WebP whose EXIF chunk declares 4 GiB
//! (no allocation sized by it), a multi-scan sequential CMYK JPEG header (the coefficient
//! buffer in the memory estimate), and animations whose first frame is blank and a known
//! photo comes later (GIF, APNG with a blank default image, WebP).
//!
//! No assertion here is about speed: the budgets are shown to be enforced by the typed
//! error they return.

mod common;

use common::hostile::multi_scan_cmyk_header;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use image::codecs::gif::GifEncoder;
use image::{Delay, Frame, RgbaImage};
use mediamatch::catalog::Catalog;
use mediamatch::decode::{decode, decode_frames, DecodeError, ImageFormat, Limits};
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::lists::delta::{apply, ApplyOptions};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::matcher::{CheckError, Config, IndexData, Matcher};
use mediamatch::{hash_bytes, HashOptions, Image, Pixels};

/// Records the largest single allocation made by this test binary.
struct PeakAlloc;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only records sizes.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: PeakAlloc = PeakAlloc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// JPEG: repeated scans

/// A small progressive JPEG from the mozjpeg encoder.
fn progressive_jpeg(width: usize, height: usize) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width * height)
        .flat_map(|i| [(i % 251) as u8, (i / 7 % 253) as u8, (i % 13 * 19) as u8])
        .collect();
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(width, height);
    c.set_quality(90.0);
    c.set_progressive_mode();
    let mut started = c.start_compress(Vec::new()).expect("compress starts");
    started.write_scanlines(&rgb).expect("scanlines");
    started.finish().expect("compress finishes")
}

/// `jpeg` with its last scan (its SOS segment and entropy-coded data) repeated `times`
/// more times before the end-of-image marker.
fn repeat_last_scan(jpeg: &[u8], times: usize) -> Vec<u8> {
    let last_sos = jpeg.windows(2).rposition(|w| w == [0xFF, 0xDA]).expect("a scan");
    let eoi = jpeg.len() - 2;
    assert_eq!(&jpeg[eoi..], &[0xFF, 0xD9]);
    let scan = &jpeg[last_sos..eoi];
    let mut out = jpeg[..eoi].to_vec();
    for _ in 0..times {
        out.extend_from_slice(scan);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn a_progressive_jpeg_decodes_under_the_scan_limit() {
    let jpeg = progressive_jpeg(64, 48);
    let decoded = decode(&jpeg, &Limits::default()).expect("an ordinary progressive JPEG decodes");
    assert_eq!((decoded.image.width, decoded.image.height), (64, 48));
    // A few repeats stay under the limit and decode (libjpeg warns, Pillow decodes them too).
    decode(&repeat_last_scan(&jpeg, 5), &Limits::default()).expect("a few extra scans decode");
}

#[test]
fn a_jpeg_with_1000_repeated_scans_is_refused_at_the_scan_limit() {
    let jpeg = repeat_last_scan(&progressive_jpeg(512, 384), 1000);
    match decode(&jpeg, &Limits::default()) {
        Err(e @ DecodeError::TooManyScans { limit: 100 }) => {
            assert!(e.to_string().contains("more than 100 scans"), "{e}")
        }
        other => panic!("expected TooManyScans, got {other:?}"),
    }
}

#[test]
fn a_jpeg_decode_stops_at_the_time_budget() {
    // No scan limit to speak of: the time budget is what stops it.
    let jpeg = repeat_last_scan(&progressive_jpeg(512, 384), 1000);
    let limits = Limits { max_scans: u32::MAX, max_time: Duration::from_millis(1), ..Limits::default() };
    match decode(&jpeg, &limits) {
        Err(e @ DecodeError::TimeBudget { format: ImageFormat::Jpeg, .. }) => {
            assert!(e.to_string().contains("time budget"), "{e}")
        }
        other => panic!("expected TimeBudget, got {other:?}"),
    }
    // The hook state does not leak into the next decode on this thread.
    decode(&progressive_jpeg(64, 48), &Limits::default()).expect("the next file decodes");
}

#[test]
fn a_matcher_reports_the_scan_limit_as_an_error_for_that_file() {
    let jpeg = repeat_last_scan(&progressive_jpeg(256, 192), 1000);
    let matcher = known_matcher(Config::default());
    match matcher.check_bytes(&jpeg) {
        Err(CheckError::TooLarge(msg)) => assert!(msg.contains("scans"), "{msg}"),
        other => panic!("expected a too-large error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// JPEG: the coefficient buffer of multi-scan sequential files

#[test]
fn a_multi_scan_sequential_jpeg_counts_its_coefficient_buffer() {
    // 9000 x 9000 CMYK: 324 MB of output, 243 MB of RGB, 648 MB of coefficients. Without
    // the coefficients the estimate (567 MB) passed the 1 GiB limit; libjpeg then used
    // about 1.2 GB.
    let jpeg = multi_scan_cmyk_header(9000, 9000);
    assert!(jpeg.len() < 512, "a tiny file: {} bytes", jpeg.len());
    match decode(&jpeg, &Limits::default()) {
        Err(DecodeError::TooManyBytes { needed, limit }) => {
            assert_eq!(limit, 1 << 30);
            assert!(needed > 1_200_000_000, "the coefficient buffer is counted: {needed}");
        }
        other => panic!("expected TooManyBytes, got {other:?}"),
    }
    // At 64 x 64, a limit just above the output and RGB buffers (28,672 bytes) tells the
    // two apart: the multi-scan file also needs 32,768 bytes of coefficients, the same frame
    // with an interleaved first scan does not.
    let limits = Limits { max_alloc: 30_000, ..Limits::default() };
    let small = multi_scan_cmyk_header(64, 64);
    assert!(matches!(decode(&small, &limits), Err(DecodeError::TooManyBytes { needed: 61_440, .. })));
    let mut interleaved = small.clone();
    let sos = interleaved.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    interleaved.splice(sos.., [0xFF, 0xDA, 0x00, 0x0E, 4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0, 0xFF, 0xD9]);
    let r = decode(&interleaved, &limits);
    assert!(!matches!(r, Err(DecodeError::TooManyBytes { .. })), "no coefficient buffer: {r:?}");
}

// ---------------------------------------------------------------------------------------------
// WebP: an EXIF chunk declaring 4 GiB

fn riff_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

/// A lossless WebP bitstream (the VP8L chunk's data) of `img`.
fn vp8l(img: &RgbaImage) -> Vec<u8> {
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgba8)
        .expect("webp encodes");
    // RIFF header (12) then the VP8L chunk header (8).
    assert_eq!(&webp[12..16], b"VP8L");
    let len = u32::from_le_bytes(webp[16..20].try_into().unwrap()) as usize;
    webp[20..20 + len].to_vec()
}

fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let mut d = vec![flags, 0, 0, 0];
    d.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    d.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    d
}

fn riff(body: &[u8]) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(body);
    out
}

#[test]
fn a_webp_exif_chunk_declaring_4_gib_allocates_nothing_of_that_size() {
    let img = RgbaImage::from_pixel(16, 16, image::Rgba([200, 30, 30, 255]));
    let mut body = Vec::new();
    riff_chunk(&mut body, b"VP8X", &vp8x(0x08 | 0x10, 16, 16)); // EXIF + alpha flags
    riff_chunk(&mut body, b"VP8L", &vp8l(&img));
    // The trailing EXIF chunk: declares 0xFFFFFFF0 bytes, holds 8.
    body.extend_from_slice(b"EXIF");
    body.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    body.extend_from_slice(b"II*\0\x08\0\0\0");
    let webp = riff(&body);

    LARGEST.store(0, Ordering::Relaxed);
    let decoded = decode(&webp, &Limits::default()).expect("the image itself decodes");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert_eq!(decoded.format, ImageFormat::Webp);
    assert_eq!(decoded.orientation, None, "no EXIF block is actually there");
    assert!(largest < 64 << 20, "largest allocation {largest} bytes");
}

#[test]
fn a_webp_exif_orientation_is_still_read() {
    let img = RgbaImage::from_pixel(8, 8, image::Rgba([10, 200, 30, 255]));
    // A big-endian TIFF block with IFD0 holding Orientation = 6.
    let mut exif = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut body = Vec::new();
    riff_chunk(&mut body, b"VP8X", &vp8x(0x08 | 0x10, 8, 8));
    riff_chunk(&mut body, b"VP8L", &vp8l(&img));
    riff_chunk(&mut body, b"EXIF", &exif);
    let decoded = decode(&riff(&body), &Limits::default()).expect("decodes");
    assert_eq!(decoded.orientation, Some(6));
}

// ---------------------------------------------------------------------------------------------
// Animations: a known photo after a blank first frame

/// The known photo `grace_hopper` (on the demo list) as RGBA, scaled down.
fn known_photo() -> RgbaImage {
    let bytes = std::fs::read(root().join("fixtures/photos/grace_hopper.jpg")).expect("fixture");
    let decoded = decode(&bytes, &Limits::default()).expect("fixture decodes");
    let img = to_rgba(&decoded.image);
    image::imageops::resize(&img, 256, 300, image::imageops::FilterType::Triangle)
}

fn to_rgba(image: &Image) -> RgbaImage {
    let (w, h) = (image.width, image.height);
    let raw: Vec<u8> = match &image.pixels {
        Pixels::Rgb(v) => v.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        Pixels::Gray(v) => v.iter().flat_map(|&g| [g, g, g, 255]).collect(),
    };
    RgbaImage::from_raw(w, h, raw).expect("sizes agree")
}

fn white() -> RgbaImage {
    RgbaImage::from_pixel(256, 300, image::Rgba([255, 255, 255, 255]))
}

fn known_matcher(config: Config) -> Matcher {
    let list = std::fs::read(root().join("fixtures/demo/known.csv")).expect("known.csv");
    let source = ListFile::from_bytes("known.csv", &list, &ParseOptions::default()).expect("parses");
    let mut catalog = Catalog::default();
    apply(&mut catalog, "demo", &[source], &ApplyOptions::default());
    let index =
        Index::from_bytes(IndexData::Owned(build(&catalog, &BuildOptions::default()).unwrap())).unwrap();
    Matcher::from_index(index, config)
}

/// An animated GIF of `frames`, 10 ms each.
fn gif(frames: &[RgbaImage]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        let frames =
            frames.iter().map(|f| Frame::from_parts(f.clone(), 0, 0, Delay::from_numer_denom_ms(10, 1)));
        enc.encode_frames(frames).expect("gif encodes");
    }
    out
}

/// An APNG with a white default image that is not part of the animation, and `frames`.
fn apng_with_separate_default(default: &RgbaImage, frames: &[RgbaImage]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, default.width(), default.height());
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(u32::try_from(frames.len()).unwrap(), 0).unwrap();
        enc.set_sep_def_img(true).unwrap();
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(default.as_raw()).expect("default image");
        for f in frames {
            w.write_image_data(f.as_raw()).expect("frame");
        }
        w.finish().expect("png ends");
    }
    out
}

/// An animated WebP (VP8X + ANIM + one ANMF per frame, lossless).
fn animated_webp(frames: &[RgbaImage]) -> Vec<u8> {
    let (w, h) = frames[0].dimensions();
    let mut body = Vec::new();
    riff_chunk(&mut body, b"VP8X", &vp8x(0x02 | 0x10, w, h)); // animation + alpha
    riff_chunk(&mut body, b"ANIM", &[255, 255, 255, 255, 0, 0]);
    for f in frames {
        let mut anmf = vec![0, 0, 0, 0, 0, 0];
        anmf.extend_from_slice(&(f.width() - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&(f.height() - 1).to_le_bytes()[..3]);
        anmf.extend_from_slice(&[10, 0, 0]); // 10 ms
        anmf.push(0x02); // no blending, no disposal
        riff_chunk(&mut anmf, b"VP8L", &vp8l(f));
        riff_chunk(&mut body, b"ANMF", &anmf);
    }
    riff(&body)
}

/// Checks that the known photo behind a white first frame matches, on frame `frame`.
fn assert_found_on_frame(bytes: &[u8], format: ImageFormat, frame: u32) {
    // Frame 0 is what it was: the blank frame, which matches nothing.
    let first = hash_bytes(bytes, &HashOptions::default()).image.unwrap().expect("decodes");
    assert_eq!(first.format, format);
    assert!(first.frames.is_empty(), "frames are hashed only when asked for");

    let matcher = known_matcher(Config::default());
    let verdict = matcher.check_bytes(bytes).expect("checks");
    let hit = verdict.matches.iter().find(|m| m.id == "grace_hopper");
    let hit = hit.unwrap_or_else(|| panic!("{format}: the later frame matches: {:?}", verdict.matches));
    assert_eq!(hit.frame, Some(frame), "{format}: {hit:?}");
    assert!(verdict.matches.iter().all(|m| m.frame.is_some()), "nothing matches on the white frame 0");

    // With no later frames allowed, the file evades as it used to.
    let only_first =
        known_matcher(Config { limits: Limits { max_frames: 0, ..Limits::default() }, ..Config::default() });
    assert!(!only_first.check_bytes(bytes).expect("checks").is_match());
}

#[test]
fn a_gif_with_a_blank_first_frame_is_matched_on_its_second() {
    let bytes = gif(&[white(), known_photo()]);
    assert_found_on_frame(&bytes, ImageFormat::Gif, 1);
}

#[test]
fn an_apng_whose_default_image_is_blank_is_matched_on_its_animation() {
    let bytes = apng_with_separate_default(&white(), &[known_photo()]);
    // The default image is frame 0; the animation's first frame is frame 1.
    assert_found_on_frame(&bytes, ImageFormat::Png, 1);
}

#[test]
fn an_animated_webp_with_a_blank_first_frame_is_matched_on_its_second() {
    let bytes = animated_webp(&[white(), white(), known_photo()]);
    // Frame 1 repeats frame 0 and is skipped; the photo is frame 2.
    assert_found_on_frame(&bytes, ImageFormat::Webp, 2);
}

#[test]
fn repeated_frames_are_skipped_and_the_frame_cap_holds() {
    let photo = known_photo();
    let mut frames = vec![white()];
    for i in 0..10u8 {
        let mut f = photo.clone();
        f.put_pixel(0, 0, image::Rgba([i, 0, 0, 255]));
        frames.push(f.clone());
        frames.push(f); // an identical repeat
    }
    let bytes = animated_webp(&frames);
    let mut seen = Vec::new();
    decode_frames(&bytes, &Limits::default(), |n, _| seen.push(n)).expect("decodes");
    assert_eq!(seen, (1..=19).step_by(2).collect::<Vec<u32>>(), "distinct frames only");

    let mut seen = Vec::new();
    decode_frames(&bytes, &Limits { max_frames: 3, ..Limits::default() }, |n, _| seen.push(n)).unwrap();
    assert_eq!(seen, vec![1, 3, 5]);
}

#[test]
fn the_frame_walk_stops_at_the_time_budget() {
    let frames: Vec<RgbaImage> =
        (0..40u8).map(|i| RgbaImage::from_pixel(64, 64, image::Rgba([i, i, i, 255]))).collect();
    let bytes = gif(&frames);
    let limits = Limits { max_time: Duration::ZERO, ..Limits::default() };
    match decode_frames(&bytes, &limits, |_, _| {}) {
        Err(DecodeError::TimeBudget { format: ImageFormat::Gif, .. }) => {}
        other => panic!("expected TimeBudget, got {other:?}"),
    }
}

#[test]
fn frame_zero_hashes_do_not_change_when_frames_are_hashed() {
    let bytes = gif(&[known_photo(), white()]);
    let plain = hash_bytes(&bytes, &HashOptions { dihedral: true, ..HashOptions::default() });
    let framed = hash_bytes(&bytes, &HashOptions { dihedral: true, frames: true, ..HashOptions::default() });
    let (plain, framed) = (plain.image.unwrap().unwrap(), framed.image.unwrap().unwrap());
    assert_eq!(framed.frames.len(), 1);
    assert_eq!(framed.frames[0].frame, 1);
    assert_eq!(plain.pdq_dihedral, framed.pdq_dihedral);
    assert_eq!(plain.phash_dihedral, framed.phash_dihedral);
}
