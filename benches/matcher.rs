//! `Matcher::check_bytes` as an upload handler sees it: one typical ~1 MP JPEG against an
//! index of 100,000 random PDQ and 100,000 random pHash entries plus the demo list.
//!
//! `cargo bench --bench matcher` prints, before criterion's groups, the median and p99
//! latency of 200 timed checks, of decoding alone and of decoding plus hashing on the same
//! bytes (the shares of a check spent decoding and searching), then criterion measures `check_bytes`, `decode`, and
//! `check_batch` throughput on rayon pools of 1 and 2 threads.
//!
//! The JPEG is `fixtures/photos/china.jpg` (640x427) upscaled to 1224x816 and re-encoded
//! at quality 90, so the benchmark needs nothing outside the repository. It does not match
//! the index: most uploads don't, and a miss explores the most candidates.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::decode::{decode, Limits};
use mediamatch::hash::KindSet;
use mediamatch::hashing::{hash_bytes, HashOptions};
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::matcher::{Config, IndexData, Matcher};
use mediamatch::{HashValue, Kind, Pdq, Phash};

/// Random entries per perceptual kind (`MATCHER_BENCH_RANDOM` overrides it, e.g. 10000000 to
/// see how the wider pHash search of corroboration scales).
const RANDOM: usize = 100_000;

fn random_entries() -> usize {
    std::env::var("MATCHER_BENCH_RANDOM").ok().and_then(|v| v.parse().ok()).unwrap_or(RANDOM)
}
/// Timed runs for the printed median and p99.
const RUNS: usize = 200;
/// Inputs per `check_batch` call.
const BATCH: usize = 16;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A ~1 MP JPEG: china.jpg upscaled to 1224x816, quality 90.
fn one_megapixel_jpeg() -> Vec<u8> {
    let path = root().join("fixtures/photos/china.jpg");
    let src = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    let big = image::imageops::resize(&src, 1224, 816, image::imageops::FilterType::CatmullRom);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&big)
        .expect("JPEG encodes");
    out
}

/// xorshift64*: deterministic filler for random hashes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The demo list (`fixtures/demo/known.csv`) plus `RANDOM` random PDQ and pHash entries.
fn index_bytes() -> Vec<u8> {
    let csv = root().join("fixtures/demo/known.csv");
    let source = ListFile::read(&csv, &ParseOptions::default()).expect("known.csv parses");
    let mut catalog = Catalog::default();
    apply(&mut catalog, "known", &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    catalog.lists.push(ListInfo { name: "random".into(), ..ListInfo::default() });
    let list = u32::try_from(catalog.lists.len() - 1).expect("few lists");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..random_entries() {
        let pdq = Pdq { words: [rng.next(), rng.next(), rng.next(), rng.next()] };
        for value in [HashValue::Pdq(pdq), HashValue::Phash(Phash(rng.next()))] {
            let entry = Entry { value, id: format!("r{i}"), label: String::new(), lists: vec![list] };
            catalog.entries.push(entry);
        }
    }
    build(&catalog, &BuildOptions::default()).expect("index builds")
}

fn index(bytes: &[u8]) -> Index<IndexData> {
    Index::from_bytes(IndexData::Owned(bytes.to_vec())).expect("index opens")
}

/// Median and p99 of `RUNS` timed calls of `f`.
fn percentiles(mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[(RUNS * 99).div_ceil(100) - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let jpeg = one_megapixel_jpeg();
    let bytes = index_bytes();
    let matcher = Matcher::from_index(index(&bytes), Config::default());
    // Without the query-side extras for crops: no edge extension, no corroboration (pHash
    // searched to 8, not 12).
    let plain =
        Matcher::from_index(index(&bytes), Config { extend: false, corroborate: None, ..Config::default() });
    // Without the rotation guesses only (the two images turned back by 3 degrees).
    let unturned = Matcher::from_index(index(&bytes), Config { rotate: false, ..Config::default() });
    drop(bytes);
    let verdict = matcher.check_bytes(&jpeg).expect("the benchmark JPEG checks");
    assert!(!verdict.is_match(), "the benchmark JPEG should be unrelated: {:?}", verdict.matches);
    let limits = Limits::default();
    let decoded = decode(&jpeg, &limits).expect("decodes");
    let (w, h) = (decoded.image.width, decoded.image.height);

    let pool1 = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let (check_med, check_p99) =
        pool1.install(|| percentiles(|| drop(black_box(matcher.check_bytes(&jpeg)))));
    let (plain_med, plain_p99) = pool1.install(|| percentiles(|| drop(black_box(plain.check_bytes(&jpeg)))));
    drop(plain);
    let (unturned_med, _) = pool1.install(|| percentiles(|| drop(black_box(unturned.check_bytes(&jpeg)))));
    drop(unturned);
    let (dec_med, dec_p99) = percentiles(|| drop(black_box(decode(&jpeg, &limits))));
    // What the matcher computes for this index: MD5, pHash and PDQ, with 8 variants each.
    let kinds: KindSet = [Kind::Pdq, Kind::Phash, Kind::Md5].into_iter().collect();
    // What the matcher computes at its defaults: dihedral, border removal, edge extension,
    // rotation guesses.
    let opts = HashOptions {
        kinds,
        dihedral: true,
        border: true,
        extend: true,
        rotate: true,
        ..HashOptions::default()
    };
    let (hash_med, hash_p99) = percentiles(|| drop(black_box(hash_bytes(&jpeg, &opts))));
    println!(
        "check_bytes, {w}x{h} JPEG ({} bytes), {} entries, {RUNS} runs: median {:.2} ms, p99 {:.2} ms",
        jpeg.len(),
        matcher.index().len(),
        ms(check_med),
        ms(check_p99)
    );
    println!(
        "without edge extension and corroboration: median {:.2} ms, p99 {:.2} ms; the defaults take {:.2}x",
        ms(plain_med),
        ms(plain_p99),
        check_med.as_secs_f64() / plain_med.as_secs_f64()
    );
    println!(
        "without the rotation guesses: median {:.2} ms; the defaults take {:.2}x",
        ms(unturned_med),
        check_med.as_secs_f64() / unturned_med.as_secs_f64()
    );
    println!(
        "decode alone: median {:.2} ms, p99 {:.2} ms = {:.0}% of the median check",
        ms(dec_med),
        ms(dec_p99),
        100.0 * dec_med.as_secs_f64() / check_med.as_secs_f64()
    );
    println!(
        "decode + hashes (no index search): median {:.2} ms, p99 {:.2} ms = {:.0}% of the median check",
        ms(hash_med),
        ms(hash_p99),
        100.0 * hash_med.as_secs_f64() / check_med.as_secs_f64()
    );

    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = c.benchmark_group("matcher/1mp_jpeg");
    group.throughput(Throughput::Elements(1));
    group.bench_function("check_bytes", |b| {
        b.iter(|| pool1.install(|| matcher.check_bytes(black_box(&jpeg))))
    });
    group.bench_function("decode", |b| b.iter(|| decode(black_box(&jpeg), &limits)));
    group.finish();

    let inputs: Vec<&[u8]> = vec![&jpeg[..]; BATCH];
    let mut group = c.benchmark_group("matcher/check_batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        group.bench_with_input(BenchmarkId::new("threads", threads), &inputs, |b, inputs| {
            b.iter(|| pool.install(|| matcher.check_batch(inputs)))
        });
    }
    group.finish();
    c.final_summary();
}
