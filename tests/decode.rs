//! Decoding: bad inputs, every source mode, limits, orientation, and pixel-exact agreement
//! with Pillow (the decoder the reference hashes were computed with).

mod common;

use std::io::Cursor;

use image::{ImageEncoder, RgbImage};
use mediamatch::decode::{decode, DecodeError, ImageFormat, Limit, Limits};
use mediamatch::{Image, Pixels};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// Input builders (everything is generated here; no binary fixtures).

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// A photo-like RGB test card: gradients plus noise, so JPEG has real work to do.
fn test_card(w: u32, h: u32) -> RgbImage {
    let n = noise((w * h) as usize, 7);
    RgbImage::from_fn(w, h, |x, y| {
        let k = n[(y * w + x) as usize] / 8;
        image::Rgb([(x * 255 / w) as u8 ^ k, (y * 255 / h) as u8, ((x + y) * 3) as u8])
    })
}

fn encode(
    w: u32,
    h: u32,
    samples: &[u8],
    color: image::ExtendedColorType,
    format: image::ImageFormat,
) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        image::ImageFormat::Png => {
            image::codecs::png::PngEncoder::new(&mut out).write_image(samples, w, h, color).unwrap()
        }
        image::ImageFormat::Jpeg => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(samples, w, h, color)
            .unwrap(),
        image::ImageFormat::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut out).write_image(samples, w, h, color).unwrap()
        }
        image::ImageFormat::Tiff => {
            image::codecs::tiff::TiffEncoder::new(&mut out).write_image(samples, w, h, color).unwrap()
        }
        image::ImageFormat::WebP => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(samples, w, h, color)
            .unwrap(),
        other => panic!("no encoder wired for {other:?}"),
    }
    out.into_inner()
}

fn card_jpeg(w: u32, h: u32) -> Vec<u8> {
    let card = test_card(w, h);
    encode(w, h, card.as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Jpeg)
}

/// 16-bit samples as the `image` encoders take them (native byte order).
fn u16_ne(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// PNG written by hand (stored deflate blocks), for what the `image` encoder cannot write:
/// palettes, 1-bit grey, transparency chunks, and headers that lie about the size.
fn png(ihdr: (u32, u32, u8, u8), extra: &[(&[u8; 4], Vec<u8>)], raw_rows: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let (w, h, depth, color) = ihdr;
    let mut head = Vec::new();
    head.extend_from_slice(&w.to_be_bytes());
    head.extend_from_slice(&h.to_be_bytes());
    head.extend_from_slice(&[depth, color, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &head);
    for (kind, data) in extra {
        chunk(&mut out, kind, data);
    }
    chunk(&mut out, b"IDAT", &zlib_stored(raw_rows));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(65_535).collect() };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// Rows with filter byte 0 in front of each.
fn rows(width_bytes: usize, samples: &[u8]) -> Vec<u8> {
    samples.chunks(width_bytes).flat_map(|row| std::iter::once(0).chain(row.iter().copied())).collect()
}

/// A one-frame GIF written by hand: `screen` size, a frame at `at` of `size` holding
/// `indices` (< 4), an optional transparency index. LZW codes are 3 bits wide: a clear
/// code before every second index keeps the code width from growing.
fn gif(
    screen: (u16, u16),
    palette: &[u8],
    transparent: Option<u8>,
    at: (u16, u16),
    size: (u16, u16),
    indices: &[u8],
) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    let bits = (palette.len() / 3).next_power_of_two().trailing_zeros().max(1) as u8;
    out.extend_from_slice(&screen.0.to_le_bytes());
    out.extend_from_slice(&screen.1.to_le_bytes());
    out.extend_from_slice(&[0x80 | (bits - 1), 0, 0]);
    out.extend_from_slice(palette);
    out.resize(out.len() + (3 << bits) - palette.len(), 0);
    if let Some(t) = transparent {
        out.extend_from_slice(&[0x21, 0xF9, 4, 1, 0, 0, t, 0]);
    }
    out.push(0x2C);
    for v in [at.0, at.1, size.0, size.1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.push(0);
    let mut codes = Vec::new();
    for (i, &ix) in indices.iter().enumerate() {
        if i % 2 == 0 {
            codes.push(4u32);
        }
        codes.push(u32::from(ix));
    }
    codes.push(5);
    let (mut acc, mut n, mut data) = (0u32, 0, Vec::new());
    for c in codes {
        acc |= c << n;
        n += 3;
        while n >= 8 {
            data.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    }
    if n > 0 {
        data.push(acc as u8);
    }
    out.extend_from_slice(&[2, data.len() as u8]);
    out.extend_from_slice(&data);
    out.extend_from_slice(&[0, 0x3B]);
    out
}

/// A JPEG whose frame header is patched to claim `w` x `h`.
fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut jpeg = card_jpeg(16, 16);
    let sof = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).expect("baseline SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

// ---------------------------------------------------------------------------------------
// Checks.

fn gray(image: &Image) -> &[u8] {
    match &image.pixels {
        Pixels::Gray(v) => v,
        Pixels::Rgb(_) => panic!("expected grey pixels, got RGB"),
    }
}

fn rgb(image: &Image) -> &[u8] {
    match &image.pixels {
        Pixels::Rgb(v) => v,
        Pixels::Gray(_) => panic!("expected RGB pixels, got grey"),
    }
}

/// The RGB bytes Pillow's `convert("RGB")` would give for these pixels.
fn as_rgb(image: &Image) -> Vec<u8> {
    match &image.pixels {
        Pixels::Rgb(v) => v.clone(),
        Pixels::Gray(v) => v.iter().flat_map(|&g| [g, g, g]).collect(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// Bad inputs: every one is a typed error naming the reason.

#[test]
fn bad_inputs_are_typed_errors() {
    let jpeg = card_jpeg(64, 48);
    let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
    let mut corrupt_jpeg = jpeg.clone();
    let sof = corrupt_jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    corrupt_jpeg[sof + 9] = 0; // zero components
    let mut corrupt_png = encode(8, 8, &[7; 64], image::ExtendedColorType::L8, image::ImageFormat::Png);
    let idat = corrupt_png.windows(4).position(|m| m == b"IDAT").unwrap();
    corrupt_png[idat + 4..idat + 10].copy_from_slice(&[0xFF; 6]); // not zlib

    type Check = fn(&DecodeError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        ("empty file", vec![], |e| matches!(e, DecodeError::Empty)),
        ("random bytes", noise(4096, 1), |e| matches!(e, DecodeError::NotAnImage)),
        ("text", b"just some text, saved as photo.jpg\n".to_vec(), |e| matches!(e, DecodeError::NotAnImage)),
        ("AVIF", avif, |e| matches!(e, DecodeError::Unsupported { what } if what == "AVIF")),
        ("JPEG cut in half", jpeg[..jpeg.len() / 2].to_vec(), |e| {
            matches!(e, DecodeError::Truncated { format: ImageFormat::Jpeg })
        }),
        ("JPEG without its end marker", jpeg[..jpeg.len() - 2].to_vec(), |e| {
            matches!(e, DecodeError::Truncated { format: ImageFormat::Jpeg })
        }),
        ("JPEG signature only", jpeg[..3].to_vec(), |e| {
            matches!(e, DecodeError::Truncated { format: ImageFormat::Jpeg })
        }),
        ("JPEG header only", jpeg[..200].to_vec(), |e| {
            matches!(e, DecodeError::Truncated { format: ImageFormat::Jpeg })
        }),
        (
            "corrupt JPEG frame header",
            corrupt_jpeg,
            |e| matches!(e, DecodeError::Corrupt { format: ImageFormat::Jpeg, message } if !message.is_empty()),
        ),
        (
            "corrupt PNG data",
            corrupt_png,
            |e| matches!(e, DecodeError::Corrupt { format: ImageFormat::Png, message } if !message.is_empty()),
        ),
        ("PNG signature only", b"\x89PNG\r\n\x1a\n".to_vec(), |e| {
            matches!(
                e,
                DecodeError::Truncated { format: ImageFormat::Png }
                    | DecodeError::Corrupt { format: ImageFormat::Png, .. }
            )
        }),
    ];
    for (name, bytes, check) in cases {
        match decode(&bytes, &Limits::default()) {
            Ok(d) => panic!("{name}: decoded as {:?} {}x{}", d.format, d.image.width, d.image.height),
            Err(e) => {
                assert!(check(&e), "{name}: unexpected error {e:?}");
                assert!(!e.to_string().is_empty(), "{name}: error has no message");
            }
        }
    }
}

#[test]
fn a_text_file_named_jpg_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holiday.jpg");
    std::fs::write(&path, "<html>not a photo</html>").unwrap();
    let err = decode(&std::fs::read(&path).unwrap(), &Limits::default()).unwrap_err();
    assert!(matches!(err, DecodeError::NotAnImage), "{err:?}");
}

#[test]
fn png_bytes_named_jpg_decode_as_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    std::fs::write(
        &path,
        encode(2, 1, &[1, 2, 3, 4, 5, 6], image::ExtendedColorType::Rgb8, image::ImageFormat::Png),
    )
    .unwrap();
    let d = decode(&std::fs::read(&path).unwrap(), &Limits::default()).unwrap();
    assert_eq!(d.format, ImageFormat::Png);
    assert_eq!(rgb(&d.image), [1, 2, 3, 4, 5, 6]);
}

#[test]
fn mangled_files_never_panic() {
    let sources = [
        card_jpeg(40, 30),
        encode(20, 10, test_card(20, 10).as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Png),
        encode(20, 10, test_card(20, 10).as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::WebP),
        encode(20, 10, test_card(20, 10).as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Bmp),
        encode(20, 10, test_card(20, 10).as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Tiff),
        animated_gif(),
    ];
    let mut errors = 0;
    for (i, source) in sources.iter().enumerate() {
        let flips = noise(600, 11 + i as u64);
        for round in 0..150 {
            let mut bytes = source.clone();
            for k in 0..4 {
                let at = 3 + usize::from(flips[round * 4 + k]) * (bytes.len() - 3) / 256;
                bytes[at] ^= flips[(round * 4 + k + 1) % 600] | 1;
            }
            let cut = bytes.len() - (round % 7) * bytes.len() / 10;
            // Must return, never unwind out of `decode`.
            if decode(&bytes[..cut], &Limits::default()).is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0, "mangling never produced an error: the test is not testing anything");
}

// ---------------------------------------------------------------------------------------
// Limits.

#[test]
fn png_header_claiming_100000_squared_is_refused_before_decoding() {
    // A valid signature and IHDR for 100000 x 100000 grey, and almost no data.
    let bomb = png((100_000, 100_000, 8, 0), &[], &[0; 16]);
    assert!(bomb.len() < 100);
    match decode(&bomb, &Limits::default()) {
        Err(DecodeError::TooLarge { width: 100_000, height: 100_000, limit }) => {
            assert_eq!(limit, Limit::Width(Limits::default().max_width))
        }
        other => panic!("{other:?}"),
    }
    // Within the width and height limits but over the pixel limit.
    let limits = Limits { max_width: 200_000, max_height: 200_000, ..Limits::default() };
    assert!(matches!(decode(&bomb, &limits), Err(DecodeError::TooLarge { limit: Limit::Pixels(_), .. })));
}

#[test]
fn jpeg_header_claiming_a_huge_size_is_refused_before_decoding() {
    let jpeg = jpeg_claiming(60_000, 50_000);
    assert!(matches!(
        decode(&jpeg, &Limits::default()),
        Err(DecodeError::TooLarge { width: 60_000, height: 50_000, limit: Limit::Width(_) })
    ));
    let limits = Limits { max_alloc: 1 << 20, ..Limits::default() };
    assert!(matches!(
        decode(&jpeg_claiming(1000, 1000), &limits),
        Err(DecodeError::TooManyBytes { needed, limit }) if needed >= 3_000_000 && limit == 1 << 20
    ));
}

#[test]
fn tiny_file_that_inflates_to_a_huge_image_is_refused() {
    let (w, h) = (4096u32, 4096u32);
    let zeros = vec![0u8; (w * h) as usize];
    let bomb = encode(w, h, &zeros, image::ExtendedColorType::L8, image::ImageFormat::Png);
    drop(zeros);
    assert!(bomb.len() < 200_000, "the bomb should be tiny, is {} bytes", bomb.len());
    let limits = Limits { max_pixels: 10_000_000, ..Limits::default() };
    assert!(matches!(
        decode(&bomb, &limits),
        Err(DecodeError::TooLarge { width: 4096, height: 4096, limit: Limit::Pixels(10_000_000) })
    ));
    let limits = Limits { max_alloc: 8 << 20, ..Limits::default() };
    assert!(
        matches!(decode(&bomb, &limits), Err(DecodeError::TooManyBytes { limit, .. }) if limit == 8 << 20)
    );
    // With room to spare it decodes.
    let d = decode(&bomb, &Limits::default()).unwrap();
    assert_eq!((d.image.width, d.image.height), (w, h));
}

// ---------------------------------------------------------------------------------------
// Modes: the pixels Pillow's convert("L") / convert("RGB") would give.

fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        let red = image::RgbaImage::from_pixel(6, 4, image::Rgba([200, 10, 10, 255]));
        let blue = image::RgbaImage::from_pixel(6, 4, image::Rgba([10, 10, 200, 255]));
        enc.encode_frames([image::Frame::new(red), image::Frame::new(blue)]).unwrap();
    }
    out
}

#[test]
fn modes_follow_pillow() {
    type Check = fn(&Image);
    let la = [10u8, 255, 20, 0, 30, 128, 40, 1];
    let l16 = u16_ne(&[0, 1, 255, 256, 4000, 65535]);
    let la16 = u16_ne(&[0x1234, 0xFFFF, 0xAB00, 0, 0x00FF, 7]);
    let rgb16 = u16_ne(&[0x0102, 0x0304, 0xFF00, 0x00FF, 0x8000, 0x7FFF]);
    let rgba16 = u16_ne(&[0x0102, 0x0304, 0xFF00, 0x1111, 0x00FF, 0x8000, 0x7FFF, 0xFFFF]);
    let rgba = [1u8, 2, 3, 0, 4, 5, 6, 255];
    let card = test_card(7, 5);
    let cases: Vec<(&str, Vec<u8>, ImageFormat, Check)> = vec![
        (
            "1x1 PNG",
            encode(1, 1, &[9, 8, 7], image::ExtendedColorType::Rgb8, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!((i.width, i.height, rgb(i)), (1, 1, &[9u8, 8, 7][..])),
        ),
        (
            "1x1 JPEG",
            encode(1, 1, &[128, 128, 128], image::ExtendedColorType::Rgb8, image::ImageFormat::Jpeg),
            ImageFormat::Jpeg,
            |i| {
                assert_eq!((i.width, i.height), (1, 1));
                assert!(rgb(i).iter().all(|&v| v.abs_diff(128) <= 2), "{:?}", rgb(i));
            },
        ),
        (
            "grey JPEG stays grey",
            encode(8, 8, &[77; 64], image::ExtendedColorType::L8, image::ImageFormat::Jpeg),
            ImageFormat::Jpeg,
            |i| assert!(gray(i).iter().all(|&v| v.abs_diff(77) <= 1), "{:?}", gray(i)),
        ),
        (
            "grey+alpha PNG drops alpha",
            encode(4, 1, &la, image::ExtendedColorType::La8, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [10, 20, 30, 40]),
        ),
        (
            "16-bit grey PNG clips at 255 (Pillow I;16 -> L)",
            encode(6, 1, &l16, image::ExtendedColorType::L16, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [0, 1, 255, 255, 255, 255]),
        ),
        (
            "16-bit grey+alpha PNG keeps the high byte (LA;16B)",
            encode(3, 1, &la16, image::ExtendedColorType::La16, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [0x12, 0xAB, 0x00]),
        ),
        (
            "16-bit RGB PNG keeps the high byte (RGB;16B)",
            encode(2, 1, &rgb16, image::ExtendedColorType::Rgb16, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(rgb(i), [0x01, 0x03, 0xFF, 0x00, 0x80, 0x7F]),
        ),
        (
            "16-bit RGBA PNG keeps the high byte and drops alpha",
            encode(2, 1, &rgba16, image::ExtendedColorType::Rgba16, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(rgb(i), [0x01, 0x03, 0xFF, 0x00, 0x80, 0x7F]),
        ),
        (
            "RGBA PNG drops alpha without compositing",
            encode(2, 1, &rgba, image::ExtendedColorType::Rgba8, image::ImageFormat::Png),
            ImageFormat::Png,
            |i| assert_eq!(rgb(i), [1, 2, 3, 4, 5, 6]),
        ),
        (
            "palette PNG is expanded, transparency ignored",
            png(
                (3, 1, 8, 3),
                &[(b"PLTE", vec![10, 20, 30, 40, 50, 60, 70, 80, 90]), (b"tRNS", vec![0, 128])],
                &rows(3, &[2, 0, 1]),
            ),
            ImageFormat::Png,
            |i| assert_eq!(rgb(i), [70, 80, 90, 10, 20, 30, 40, 50, 60]),
        ),
        (
            "1-bit grey PNG becomes 0/255",
            png((10, 1, 1, 0), &[], &rows(2, &[0b1010_0000, 0b1100_0000])),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [255, 0, 255, 0, 0, 0, 0, 0, 255, 255]),
        ),
        (
            "2-bit grey PNG is scaled like Pillow's L;2",
            png((4, 1, 2, 0), &[], &rows(1, &[0b00_01_10_11])),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [0, 85, 170, 255]),
        ),
        (
            "grey PNG with tRNS stays grey",
            png((2, 1, 8, 0), &[(b"tRNS", vec![0, 5])], &rows(2, &[5, 6])),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [5, 6]),
        ),
        (
            "16-bit grey PNG with tRNS still clips (Pillow I;16)",
            png((3, 1, 16, 0), &[(b"tRNS", vec![1, 44])], &rows(6, &[1, 44, 0x12, 0x34, 0, 200])),
            ImageFormat::Png,
            |i| assert_eq!(gray(i), [255, 255, 200]),
        ),
        ("animated GIF: first frame only", animated_gif(), ImageFormat::Gif, |i| {
            assert_eq!((i.width, i.height), (6, 4));
            assert!(rgb(i).chunks(3).all(|p| p == [200, 10, 10]), "{:?}", &rgb(i)[..6]);
        }),
        // Expected pixels below are what Pillow 13 gives for the same bytes.
        (
            "GIF frame smaller than the canvas, with transparency",
            gif(
                (4, 3),
                &[10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120],
                Some(1),
                (1, 1),
                (2, 1),
                &[1, 3],
            ),
            ImageFormat::Gif,
            |i| {
                let mut want: Vec<u8> = [40, 50, 60].repeat(12);
                want[18..21].copy_from_slice(&[100, 110, 120]);
                assert_eq!(rgb(i), want.as_slice());
            },
        ),
        (
            "GIF frame larger than the screen grows the canvas",
            gif((2, 1), &[10, 20, 30, 40, 50, 60], None, (1, 0), (2, 2), &[1, 0, 1, 1]),
            ImageFormat::Gif,
            |i| {
                assert_eq!((i.width, i.height), (3, 2));
                assert_eq!(rgb(i), [10, 20, 30, 40, 50, 60, 10, 20, 30, 10, 20, 30, 40, 50, 60, 40, 50, 60]);
            },
        ),
        (
            "GIF indices past the palette are black",
            gif((4, 1), &[10, 20, 30, 40, 50, 60], None, (0, 0), (4, 1), &[0, 1, 2, 3]),
            ImageFormat::Gif,
            |i| assert_eq!(rgb(i), [10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0]),
        ),
        (
            "BMP",
            encode(7, 5, card.as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Bmp),
            ImageFormat::Bmp,
            |i| assert_eq!(rgb(i), test_card(7, 5).as_raw().as_slice()),
        ),
        (
            "TIFF",
            encode(7, 5, card.as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Tiff),
            ImageFormat::Tiff,
            |i| assert_eq!(rgb(i), test_card(7, 5).as_raw().as_slice()),
        ),
        (
            "WebP (lossless)",
            encode(7, 5, card.as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::WebP),
            ImageFormat::Webp,
            |i| assert_eq!(rgb(i), test_card(7, 5).as_raw().as_slice()),
        ),
    ];
    for (name, bytes, format, check) in cases {
        let d = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.format, format, "{name}");
        let outcome = std::panic::catch_unwind(|| check(&d.image));
        assert!(outcome.is_ok(), "{name}: pixels differ from Pillow's");
    }
}

// ---------------------------------------------------------------------------------------
// Conformance with Pillow on the reference images in ../shared.

/// SHA-256 of Pillow 13.0.0's `im.convert("RGB").tobytes()` and `im.convert("L").tobytes()`
/// for `im = Image.open(path)`, computed once with Pillow (not with this crate).
const PILLOW_DIGESTS: &[(&str, &str, &str)] = &[
    (
        "pdq/data/misc-images/modes/CMYK.jpg",
        "75d44cefcd57e3a4ec72333c736e0f3361883fda170ba4d6cc4be66eb4b3cfe6",
        "bb34facdef976929a60f10e86ef1d7296385442e0a4074fdb267cf78f4716c3c",
    ),
    (
        "python-threatexchange/threatexchange/tests/hashing/resources/I16.png",
        "9174c91692c5934ca51e09397b483fc3b4be2bc6961281ce04dff46e1d923e8c",
        "4a7a273c0cb36638047c5f08845b9dcdd5c311ed1d0a01137666fe6eec9163c0",
    ),
    (
        "pdq/data/misc-images/modes/LA.png",
        "56fed3d829ca1b7978ebb0d7e4a0d8f69117494fb01c1b5fe1fd851774621f5e",
        "f9442d8668243bfc8bf138169dbc3abaa9bea8891274ce610e8e4bb0a56152e2",
    ),
    (
        "pdq/data/misc-images/modes/P.png",
        "70a7714248089c1c89d177a69e174ca4735995c3e6536b9df1591fada5d8beba",
        "80d38ca19e300b53e446d8ec93698c8ec7fed446419b85b2b020c3656756e1ba",
    ),
    (
        "pdq/data/misc-images/modes/1.png",
        "12465f6569844bef3de58941a0953ac28e592aaf6b2808994979b80dab9bee4e",
        "4b8f93d2d8e791c9531a0e68b8322015461ffb1b7d571b8d78de3c86669e7805",
    ),
    (
        "pdq/data/misc-images/modes/RGBA.png",
        "d38acec408403589e4b1b50830a7ee0c7fcefdb14f9d9bd01eea0f484b756795",
        "f9442d8668243bfc8bf138169dbc3abaa9bea8891274ce610e8e4bb0a56152e2",
    ),
    (
        "pdq/data/misc-images/modes/PA.webp",
        "dc00246da6c26d99a12eb038b61a89a3524029017ea991325a1e509643bae4ca",
        "6728ce1ab615fceffd48b9db8275f8091724c7537ee7430e06c0e1c27fb4f210",
    ),
];

#[test]
fn source_modes_match_pillow_on_reference_images() {
    let Some(shared) = common::shared_dir() else { return };
    let upstream = shared.join("reference/pdq/upstream");
    for (path, pillow_rgb, pillow_l) in PILLOW_DIGESTS {
        let bytes = std::fs::read(upstream.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let d = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(sha256_hex(&as_rgb(&d.image)), *pillow_rgb, "{path}: RGB pixels differ from Pillow's");
        if let Pixels::Gray(g) = &d.image.pixels {
            assert_eq!(sha256_hex(g), *pillow_l, "{path}: grey pixels differ from Pillow's");
        }
    }
}

#[test]
fn jpeg_pixels_identical_to_pillow() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("reference/pdq/expected/decoded");
    let rows = common::read_tsv(&dir.join("decoded.tsv"));
    assert_eq!(rows.len(), 14);
    for row in rows {
        let pillow = image::open(dir.join(&row["decoded_png"])).unwrap().to_rgb8();
        let jpeg = std::fs::read(shared.join("reference/pdq/upstream").join(&row["from_jpeg"])).unwrap();
        let d = decode(&jpeg, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", row["from_jpeg"]));
        assert_eq!(d.format, ImageFormat::Jpeg);
        assert_eq!((d.image.width, d.image.height), pillow.dimensions(), "{}", row["from_jpeg"]);
        let ours = as_rgb(&d.image);
        let differing = ours.chunks(3).zip(pillow.as_raw().chunks(3)).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "{}: {differing} pixels differ from Pillow's", row["from_jpeg"]);
    }
}

#[test]
fn exif_orientation_is_reported_not_applied() {
    let Some(shared) = common::shared_dir() else { return };
    let rows = common::read_tsv(&shared.join("reference/pdq/expected/pdqhash.tsv"));
    let rotated: Vec<_> = rows.iter().filter(|r| r["image"].contains("exif-rotn/")).collect();
    assert_eq!(rotated.len(), 4);
    for row in rotated {
        let bytes = std::fs::read(shared.join("reference/pdq/upstream").join(&row["image"])).unwrap();
        let d = decode(&bytes, &Limits::default()).unwrap();
        let expected: u8 = row["exif_orientation"].parse().unwrap();
        assert_eq!(d.orientation, Some(expected), "{}", row["image"]);
        // Stored pixels: the size is the stored size, not the displayed one.
        assert_eq!(d.image.width.to_string(), row["width"], "{}", row["image"]);
        assert_eq!(d.image.height.to_string(), row["height"], "{}", row["image"]);
    }
}

#[test]
fn no_exif_means_no_orientation() {
    let d = decode(&card_jpeg(8, 8), &Limits::default()).unwrap();
    assert_eq!(d.orientation, None);
    let d = decode(
        &encode(1, 1, &[1, 2, 3], image::ExtendedColorType::Rgb8, image::ImageFormat::Png),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(d.orientation, None);
}

#[test]
fn decoded_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mediamatch::decode::Decoded>();
    assert_send_sync::<DecodeError>();
    assert_send_sync::<Limits>();
}

/// `--decode fast`: a large JPEG is decoded by libjpeg-turbo's DCT scaling at the smallest
/// of 1/8, 1/4, 1/2 whose shorter side stays at least `jpeg_min_side`; smaller files and
/// the default (exact) path decode every pixel. The fast path's hashes stay near the exact
/// ones (docs/decoding.md has the corpus and 12 MP measurements).
#[test]
fn fast_decode_scales_large_jpegs_and_leaves_the_exact_path_alone() {
    use mediamatch::hash::{pdq, phash};
    // A photo (a fixture, 640x427) enlarged to 2400x1600 and saved as a JPEG.
    let photo = image::open(common::cli::crate_dir().join("fixtures/photos/china.jpg")).unwrap().to_rgb8();
    let large = image::imageops::resize(&photo, 2400, 1600, image::imageops::FilterType::Lanczos3);
    let big = encode(2400, 1600, large.as_raw(), image::ExtendedColorType::Rgb8, image::ImageFormat::Jpeg);
    let exact = decode(&big, &Limits::default()).unwrap();
    assert_eq!((exact.image.width, exact.image.height), (2400, 1600));
    let fast_limits =
        Limits { jpeg_min_side: Some(mediamatch::decode::FAST_DECODE_SIDE), ..Limits::default() };
    let fast = decode(&big, &fast_limits).unwrap();
    // 1/2 keeps the shorter side at 800 >= 512; 1/4 would give 400.
    assert_eq!((fast.image.width, fast.image.height), (1200, 800));
    assert_eq!(fast.format, ImageFormat::Jpeg);
    let d_phash = phash::hash(&exact.image).distance(&phash::hash(&fast.image));
    let d_pdq = pdq::hash(&exact.image).hash.distance(&pdq::hash(&fast.image).hash);
    eprintln!("fast decode moved pHash {d_phash} bits, PDQ {d_pdq} bits");
    assert!(d_phash <= 4 && d_pdq <= 16, "pHash moved {d_phash} bits, PDQ {d_pdq}");
    // A small JPEG is decoded whole either way, to the same pixels.
    let small = card_jpeg(640, 480);
    assert_eq!(
        rgb(&decode(&small, &fast_limits).unwrap().image),
        rgb(&decode(&small, &Limits::default()).unwrap().image)
    );
}
