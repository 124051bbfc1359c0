//! Milliseconds per megapixel of each stage of the hashers: decode, pHash's luma, Lanczos
//! resize and DCT, PDQ's luma, Jarosz filter and DCT, and the digests (ms per MB of file).
//! Compare with `benches/python_stages_baseline.py`, which times Pillow, imagehash's DCT,
//! pdqhash and hashlib the same way on the same files.
//!
//! `cargo bench --bench stages` (one thread: each stage is single-threaded per image; pin
//! it with `taskset -c 0` for steady numbers). Each stage runs alone on inputs the stage
//! before it prepared, over every image of a set, repeated for at least
//! `MEDIAMATCH_BENCH_SECONDS` (default 2) and 5 times; the table gives the median
//! repetition. `MEDIAMATCH_BENCH_DIR=DIR` times only the images of DIR; otherwise the
//! fixture photos and every 8th photo of `../shared/corpus` (`MEDIAMATCH_BENCH_FULL=1`: all),
//! as `benches/hashing.rs`. Run without `--bench` (`cargo test --benches`), it makes one
//! quick pass over the fixtures.
//!
//! The production hashers fuse the luma into the first filter pass, so their totals (the
//! `phash (whole)` and `pdq (whole)` rows) are a little under the sum of their stages.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mediamatch::decode::{decode, jpeg_simd, Limits};
use mediamatch::hash::digest::digests;
use mediamatch::hash::{pdq, phash, simd};
use mediamatch::hashing::{hash_bytes, HashOptions};
use mediamatch::Image;

#[path = "images.rs"]
mod images;
use images::images_in;

/// How long and how often each stage runs.
#[derive(Clone, Copy)]
struct Budget {
    min_time: Duration,
    min_reps: usize,
}

/// The median wall time of one pass of `pass` (over a whole set).
fn median_pass(budget: Budget, mut pass: impl FnMut()) -> Duration {
    pass(); // warm-up: caches, lazily built tables
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < budget.min_reps || start.elapsed() < budget.min_time {
        let t = Instant::now();
        pass();
        times.push(t.elapsed());
    }
    times.sort_unstable();
    times[times.len() / 2]
}

/// One row of the table.
struct Row {
    stage: &'static str,
    /// Median time of a pass over the set.
    pass: Duration,
    /// What the time is divided by: megapixels, or megabytes for the digests.
    per_mb_of_bytes: bool,
}

fn bench_set(name: &str, files: &[(PathBuf, Vec<u8>)], budget: Budget) {
    assert!(!files.is_empty(), "{name}: no images");
    let limits = Limits::default();

    // Inputs of each stage, prepared once by the stage before it.
    let bytes: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    let images: Vec<Image> = files
        .iter()
        .map(|(p, b)| decode(b, &limits).unwrap_or_else(|e| panic!("{}: {e}", p.display())).image)
        .collect();
    let greys: Vec<Image> = images
        .iter()
        .map(|im| Image::gray(im.width, im.height, phash::stages::luma(im)).expect("same size"))
        .collect();
    let thumbs: Vec<Vec<u8>> = greys.iter().map(phash::stages::resize).collect();
    let lumas: Vec<Vec<f32>> = images.iter().map(pdq::stages::luma).collect();
    let blocks: Vec<[[f32; 64]; 64]> = images
        .iter()
        .zip(&lumas)
        .map(|(im, l)| pdq::stages::jarosz(l, im.width as usize, im.height as usize))
        .collect();
    // The stages compose to the hashes (also a unit test of src/hash).
    for (i, im) in images.iter().enumerate() {
        assert_eq!(phash::stages::dct_bits(&thumbs[i]), phash::hash(im), "{}", files[i].0.display());
        assert_eq!(pdq::stages::dct_bits(&blocks[i]), pdq::hash(im), "{}", files[i].0.display());
    }

    let megapixels = images.iter().map(|im| im.pixel_count() as f64).sum::<f64>() / 1e6;
    let megabytes = bytes.iter().map(|b| b.len() as f64).sum::<f64>() / 1e6;
    let all = HashOptions::default();

    let mut rows = Vec::new();
    let mut time = |stage: &'static str, per_mb_of_bytes: bool, pass: &mut dyn FnMut()| {
        rows.push(Row { stage, pass: median_pass(budget, pass), per_mb_of_bytes });
    };
    time("decode (to RGB)", false, &mut || {
        for b in &bytes {
            black_box(decode(black_box(b), &limits).ok());
        }
    });
    time("phash: luma (RGB to L)", false, &mut || {
        for im in &images {
            black_box(phash::stages::luma(black_box(im)));
        }
    });
    time("phash: Lanczos resize to 32x32", false, &mut || {
        for g in &greys {
            black_box(phash::stages::resize(black_box(g)));
        }
    });
    time("phash: DCT + median bits", false, &mut || {
        for t in &thumbs {
            black_box(phash::stages::dct_bits(black_box(t)));
        }
    });
    time("phash (whole, from RGB)", false, &mut || {
        for im in &images {
            black_box(phash::hash(black_box(im)));
        }
    });
    time("pdq: float luma", false, &mut || {
        for im in &images {
            black_box(pdq::stages::luma(black_box(im)));
        }
    });
    time("pdq: Jarosz + decimate to 64x64", false, &mut || {
        for (im, l) in images.iter().zip(&lumas) {
            black_box(pdq::stages::jarosz(black_box(l), im.width as usize, im.height as usize));
        }
    });
    time("pdq: DCT 64 to 16 + bits, quality", false, &mut || {
        for b in &blocks {
            black_box(pdq::stages::dct_bits(black_box(b)));
        }
    });
    time("pdq (whole, from RGB)", false, &mut || {
        for im in &images {
            black_box(pdq::hash(black_box(im)));
        }
    });
    time("all kinds (hash_bytes, from file)", false, &mut || {
        for b in &bytes {
            black_box(hash_bytes(black_box(b), &all));
        }
    });
    for (stage, flags) in
        [("md5", [true, false, false]), ("sha1", [false, true, false]), ("sha256", [false, false, true])]
    {
        time(stage, true, &mut || {
            for b in &bytes {
                black_box(digests(black_box(b), flags[0], flags[1], flags[2]));
            }
        });
    }

    println!();
    println!(
        "== stages/{name}: {} files, {megapixels:.1} MP, {megabytes:.1} MB; one thread; \
         libjpeg-turbo SIMD {}; kernels {}",
        files.len(),
        if jpeg_simd() { "on" } else { "off" },
        simd::detected().name(),
    );
    println!("{:<36} {:>10} {:<6} {:>10}", "stage", "time", "per", "ms/image");
    for row in &rows {
        let ms = row.pass.as_secs_f64() * 1e3;
        let (per, unit) = if row.per_mb_of_bytes { (megabytes, "ms/MB") } else { (megapixels, "ms/MP") };
        println!("{:<36} {:>10.3} {unit:<6} {:>10.4}", row.stage, ms / per, ms / files.len() as f64);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then one quick pass.
    let quick = !std::env::args().any(|a| a == "--bench");
    let seconds = std::env::var("MEDIAMATCH_BENCH_SECONDS").ok().and_then(|s| s.parse::<f64>().ok());
    let budget = if quick {
        Budget { min_time: Duration::ZERO, min_reps: 1 }
    } else {
        Budget { min_time: Duration::from_secs_f64(seconds.unwrap_or(2.0)), min_reps: 5 }
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Some(dir) = std::env::var_os("MEDIAMATCH_BENCH_DIR") {
        bench_set("dir", &images_in(Path::new(&dir)), budget);
        return;
    }
    bench_set("fixtures", &images_in(&root.join("fixtures/photos")), budget);
    if quick {
        return;
    }
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        let step = if std::env::var_os("MEDIAMATCH_BENCH_FULL").is_some() { 1 } else { 8 };
        let sample: Vec<_> = images_in(&corpus).into_iter().step_by(step).collect();
        bench_set("corpus", &sample, budget);
    } else {
        eprintln!("../shared/corpus not found: corpus benchmark skipped");
    }
}
