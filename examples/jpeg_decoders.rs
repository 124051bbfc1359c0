//! Compares the two JPEG decoders we could use: the `image` crate's (zune-jpeg) and
//! libjpeg-turbo's (through `mediamatch::decode`, i.e. the `mozjpeg` crate).
//!
//! `cargo run --release --example jpeg_decoders -- digest FILE...` prints, per file, the
//! SHA-256 of the RGB bytes each decoder gives (compare with Pillow's
//! `hashlib.sha256(Image.open(f).convert("RGB").tobytes())`), then the decode speed of each
//! decoder over the files in images/second.
//! `... -- against PILLOW_PNG JPEG` counts the pixels where each decoder differs from an RGB
//! PNG of Pillow's decode of JPEG.
use std::time::Instant;

use mediamatch::decode::{decode, Limits};
use mediamatch::Pixels;
use sha2::{Digest, Sha256};

fn ours_rgb(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let d = decode(bytes, &Limits::default()).ok()?;
    let rgb = match d.image.pixels {
        Pixels::Rgb(v) => v,
        Pixels::Gray(v) => v.iter().flat_map(|&g| [g, g, g]).collect(),
    };
    Some((d.image.width, d.image.height, rgb))
}

fn zune_rgb(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg).ok()?;
    let rgb = img.to_rgb8();
    Some((rgb.width(), rgb.height(), rgb.into_raw()))
}

fn hex(rgb: &Option<(u32, u32, Vec<u8>)>) -> String {
    match rgb {
        Some((_, _, v)) => Sha256::digest(v).iter().map(|b| format!("{b:02x}")).collect(),
        None => "error".into(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("digest") => {
            let files: Vec<(String, Vec<u8>)> =
                args[1..].iter().map(|f| (f.clone(), std::fs::read(f).expect("read"))).collect();
            for (name, bytes) in &files {
                println!("{name}\t{}\t{}", hex(&zune_rgb(bytes)), hex(&ours_rgb(bytes)));
            }
            type DecodeFn = fn(&[u8]) -> Option<(u32, u32, Vec<u8>)>;
            let decoders: [(&str, DecodeFn); 2] =
                [("zune-jpeg (image)", zune_rgb), ("libjpeg-turbo (mozjpeg)", ours_rgb)];
            for (label, f) in decoders {
                let start = Instant::now();
                let mut pixels = 0u64;
                for (_, bytes) in &files {
                    if let Some((w, h, _)) = f(bytes) {
                        pixels += u64::from(w) * u64::from(h);
                    }
                }
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "{label}: {:.1} images/s, {:.1} MP/s",
                    files.len() as f64 / secs,
                    pixels as f64 / 1e6 / secs
                );
            }
        }
        Some("against") => {
            let png = image::open(&args[1]).expect("png").to_rgb8();
            let jpeg = std::fs::read(&args[2]).expect("jpeg");
            for (label, rgb) in [("zune", zune_rgb(&jpeg)), ("libjpeg", ours_rgb(&jpeg))] {
                let Some((w, h, rgb)) = rgb else {
                    println!("{label}\terror");
                    continue;
                };
                assert_eq!((w, h), png.dimensions());
                let diff = rgb.chunks(3).zip(png.as_raw().chunks(3)).filter(|(a, b)| a != b).count();
                let max = rgb.iter().zip(png.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
                println!("{label}\t{diff}\t{}\t{max}", w * h);
            }
        }
        _ => eprintln!("usage: jpeg_decoders digest FILE... | against PILLOW_PNG JPEG"),
    }
}
