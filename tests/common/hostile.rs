//! A generated corpus of hostile files mixed with good ones, for the hostile scan suite
//! (`tests/hostile_scan.rs`) and its measuring script (`benches/hostile.sh`, through
//! `examples/hostile_corpus.rs`). Everything is made here from the demo fixtures: nothing
//! hostile is committed.
//!
//! Each case says what a scan must make of it: a good file must match its list id; a hostile
//! one must be reported for itself (an error, a non-image or an image that matches nothing)
//! within the per-file limits; a special file is skipped and counted.

use std::path::{Path, PathBuf};

use super::png::png_chunk;

/// What a scan must report for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A copy of a known photo: matched to this id of the demo list.
    Match(&'static str),
    /// An error record for this file whose reason contains this text.
    Error(&'static str),
    /// Any per-file outcome (error, not an image, an image); what matters is that the scan
    /// goes on, within its limits.
    Reported,
    /// Not a regular file: skipped and counted in `skipped_special`.
    Skipped,
}

/// One generated file.
pub struct Case {
    /// The file name (raw bytes: some are not UTF-8).
    pub name: Vec<u8>,
    /// The content; `None` for a FIFO.
    pub bytes: Option<Vec<u8>>,
    /// What the scan must make of it.
    pub expect: Expect,
}

fn demo(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/scan").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo list the good cases match.
pub fn demo_list() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/known.csv")
}

fn case(name: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    Case { name: name.as_bytes().to_vec(), bytes: Some(bytes), expect }
}

/// A PNG whose header declares `width` x `height` pixels and whose data is a few bytes.
fn png_header_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// The grey pixels of a demo photo reduced to `size` x `size`.
fn grey_pixels(name: &str, size: u32) -> Vec<u8> {
    let img = image::load_from_memory(&demo(name)).expect("demo photo decodes");
    img.resize_exact(size, size, image::imageops::FilterType::Triangle).to_luma8().into_raw()
}

/// A progressive JPEG (mozjpeg's encoder) of a demo photo.
pub fn progressive_jpeg(name: &str, size: u32) -> Vec<u8> {
    let grey = grey_pixels(name, size);
    let mut comp = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
    comp.set_size(size as usize, size as usize);
    comp.set_quality(90.0);
    comp.set_progressive_mode();
    let mut started = comp.start_compress(Vec::new()).expect("encoder starts");
    started.write_scanlines(&grey).expect("encodes");
    started.finish().expect("encoder finishes")
}

/// Byte ranges of a JPEG's scans: each SOS marker segment with its entropy-coded data.
pub fn jpeg_scans(jpeg: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut scans = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "a marker at {i}");
        let marker = jpeg[i + 1];
        if marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let mut end = i + 2 + len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart.
            while end + 1 < jpeg.len()
                && !(jpeg[end] == 0xFF && jpeg[end + 1] != 0 && !(0xD0..=0xD7).contains(&jpeg[end + 1]))
            {
                end += 1;
            }
            scans.push(i..end);
        }
        i = end;
    }
    scans
}

/// A progressive JPEG whose last scan (a refinement scan) is repeated `times` more times.
pub fn repeated_scans(times: usize) -> Vec<u8> {
    let jpeg = progressive_jpeg("coins-reencoded-q50.jpg", 1024);
    let last = jpeg_scans(&jpeg).pop().expect("a progressive JPEG has scans");
    let mut out = jpeg[..last.end].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&jpeg[last.clone()]);
    }
    out.extend_from_slice(&jpeg[last.end..]);
    out
}

/// A WebP (lossless, from the `image` crate's encoder) followed by an EXIF chunk that
/// declares 0xFFFFFFF0 bytes but holds a few.
fn webp_exif_bomb() -> Vec<u8> {
    let img = image::load_from_memory(&demo("coins-reencoded-q50.jpg")).expect("decodes").thumbnail(32, 32);
    let mut webp = Vec::new();
    img.to_rgb8()
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut webp))
        .expect("encodes WebP");
    // Turn the simple file into an extended one (VP8X with the EXIF flag) so readers look for EXIF.
    let body = &webp[12..];
    let (w, h) = (img.width() - 1, img.height() - 1);
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
    let mut chunks = Vec::new();
    chunks.extend_from_slice(b"VP8X");
    chunks.extend_from_slice(&10u32.to_le_bytes());
    chunks.extend_from_slice(&vp8x);
    chunks.extend_from_slice(body);
    chunks.extend_from_slice(b"EXIF");
    chunks.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    chunks.extend_from_slice(b"Exif\0\0II*\0");
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(chunks.len() + 4).expect("small").to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

/// An animated GIF whose first frame is white for 10 ms and whose second frame is a known
/// photo: a browser shows the photo.
pub fn gif_white_first_frame() -> Vec<u8> {
    let size = 128u16;
    let grey = grey_pixels("coins-reencoded-q50.jpg", u32::from(size));
    let palette: Vec<u8> = (0..=255u8).flat_map(|v| [v, v, v]).collect();
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, size, size, &palette).expect("GIF encoder");
        enc.set_repeat(gif::Repeat::Infinite).expect("repeat");
        let white = gif::Frame {
            width: size,
            height: size,
            delay: 1,
            buffer: vec![255u8; usize::from(size) * usize::from(size)].into(),
            ..gif::Frame::default()
        };
        enc.write_frame(&white).expect("frame 0");
        let photo = gif::Frame {
            width: size,
            height: size,
            delay: 500,
            buffer: grey.into(),
            ..gif::Frame::default()
        };
        enc.write_frame(&photo).expect("frame 1");
    }
    out
}

/// The headers of a baseline (SOF0) CMYK JPEG of `width` x `height` whose first scan holds
/// one of the four components (non-interleaved: libjpeg buffers the whole image's
/// coefficients), with a little entropy-coded data after them.
pub fn multi_scan_cmyk_header(width: u16, height: u16) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    // DQT: table 0, all ones.
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1; 64]);
    // SOF0: 8-bit, 4 components, each 1x1 sampling, table 0.
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 8 + 3 * 4, 8]);
    j.extend_from_slice(&height.to_be_bytes());
    j.extend_from_slice(&width.to_be_bytes());
    j.push(4);
    for id in 1..=4 {
        j.extend_from_slice(&[id, 0x11, 0]);
    }
    // DHT: DC table 0 and AC table 0 with one code each.
    for class in [0x00, 0x10] {
        j.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class]);
        let mut counts = [0u8; 16];
        counts[0] = 1;
        j.extend_from_slice(&counts);
        j.push(0);
    }
    // SOS: one component.
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0]);
    j.extend_from_slice(&[0u8; 64]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

/// A small deterministic generator for bit flips.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The corpus: good copies, hostile files, and a FIFO.
pub fn corpus() -> Vec<Case> {
    let coins = demo("coins-reencoded-q50.jpg");
    let mut cases = vec![
        case("good-coins.jpg", coins.clone(), Expect::Match("coins")),
        case(
            "good-grace_hopper-rot90.jpg",
            demo("grace_hopper-rotated-90.jpg"),
            Expect::Match("grace_hopper"),
        ),
        case("good-rocket-mirrored.jpg", demo("rocket-mirrored.jpg"), Expect::Match("rocket")),
        case(
            "good-coins-progressive.jpg",
            progressive_jpeg("coins-reencoded-q50.jpg", 256),
            Expect::Match("coins"),
        ),
        Case {
            name: b"good-not-utf8-\xff.jpg".to_vec(),
            bytes: Some(coins.clone()),
            expect: Expect::Match("coins"),
        },
        case("png-1e6x1e6-header.png", png_header_bomb(1_000_000, 1_000_000), Expect::Error("too large")),
        case("png-30000x30000-header.png", png_header_bomb(30_000, 30_000), Expect::Error("too large")),
        case("jpeg-truncated.jpg", coins[..coins.len() / 2].to_vec(), Expect::Reported),
        case("jpeg-header-only.jpg", coins[..200].to_vec(), Expect::Reported),
        case("jpeg-1000-repeated-scans.jpg", repeated_scans(1000), Expect::Error("more than 100 scans")),
        case(
            "jpeg-cmyk-multi-scan-9000x9000.jpg",
            multi_scan_cmyk_header(9000, 9000),
            Expect::Error("allocation limit"),
        ),
        case("webp-exif-0xfffffff0.webp", webp_exif_bomb(), Expect::Reported),
        case("gif-white-first-frame.gif", gif_white_first_frame(), Expect::Match("coins")),
        case("empty.jpg", Vec::new(), Expect::Reported),
        case("text.jpg", b"<html>not a photo</html>\n".to_vec(), Expect::Reported),
        Case { name: b"fifo.jpg".to_vec(), bytes: None, expect: Expect::Skipped },
    ];
    let mut rng = Lcg(0x5eed);
    for k in 0..24 {
        let mut bytes = coins.clone();
        for _ in 0..(1 + k % 4) {
            let at = (rng.next() as usize) % bytes.len();
            bytes[at] ^= 1 << (rng.next() % 8);
        }
        cases.push(case(&format!("jpeg-bitflip-{k:02}.jpg"), bytes, Expect::Reported));
    }
    cases
}

/// Writes the corpus into `dir` (made if missing); returns the cases.
pub fn write_corpus(dir: &Path) -> Vec<Case> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir_all(dir).expect("corpus directory");
    let cases = corpus();
    for c in &cases {
        let path = dir.join(std::ffi::OsStr::from_bytes(&c.name));
        match &c.bytes {
            Some(bytes) => std::fs::write(&path, bytes).expect("write case"),
            None => {
                let _ = std::fs::remove_file(&path);
                let status = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo runs");
                assert!(status.success(), "mkfifo {}", path.display());
            }
        }
    }
    cases
}
