//! Import throughput: parsing and applying 1M-line lists generated here (10M with
//! `MEDIAMATCH_BENCH_10M=1`), plus a one-shot line of lines/s and peak memory.
//!
//! `cargo bench --bench lists`

use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use mediamatch::catalog::Catalog;
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{self, ListFile, ListFormat, ParseOptions};

/// A cheap deterministic 64-bit stream (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn pdq_hex(i: u64) -> String {
    format!("{:016x}{:016x}{:016x}{:016x}", mix(4 * i), mix(4 * i + 1), mix(4 * i + 2), mix(4 * i + 3))
}

fn text_list(n: u64, salt: u64) -> Vec<u8> {
    let mut s = String::with_capacity(n as usize * 70);
    for i in 0..n {
        s += "pdq:";
        s += &pdq_hex(i + salt);
        s.push('\n');
    }
    s.into_bytes()
}

fn csv_list(n: u64) -> Vec<u8> {
    let mut s = String::with_capacity(n as usize * 100);
    s += "hash,kind,id,label,status\n";
    for i in 0..n {
        s += &format!("{},pdq,case-{i},A{},active\n", pdq_hex(i), i % 3);
    }
    s.into_bytes()
}

fn jsonl_list(n: u64) -> Vec<u8> {
    let mut s = String::with_capacity(n as usize * 130);
    for i in 0..n {
        s += &format!(
            "{{\"signalType\":\"ImagePDQ\",\"hashValue\":\"{}\",\"hashStatus\":\"Active\"}}\n",
            pdq_hex(i)
        );
    }
    s.into_bytes()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One import of an `n`-line text list into an empty catalog, then a 10% delta on top:
/// prints lines/s and peak memory (the process's high-water mark, so run this first).
fn one_shot(n: u64) {
    let bytes = text_list(n, 0);
    let base = rss_kib().unwrap_or(0);
    let t = Instant::now();
    let source = ListFile::from_bytes("big.txt", &bytes, &ParseOptions::default()).expect("parses");
    let parsed = t.elapsed();
    let mut catalog = Catalog::default();
    let opts = ApplyOptions { mode: Mode::Delta, imported_at: 0 };
    let out = apply(&mut catalog, "big", std::slice::from_ref(&source), &opts);
    let total = t.elapsed();
    assert_eq!(out.counts.added, n);
    drop(source);
    let peak = peak_rss_kib().unwrap_or(0);
    // A delta: 10% new lines on an n-entry catalog.
    let delta =
        ListFile::from_bytes("delta.txt", &text_list(n / 10, n), &ParseOptions::default()).expect("parses");
    let t2 = Instant::now();
    apply(&mut catalog, "big", std::slice::from_ref(&delta), &opts);
    let delta_time = t2.elapsed();
    eprintln!(
        "one-shot {n} lines ({:.0} MB): parse {:.2}s, parse+apply {:.2}s = {:.2}M lines/s; peak RSS {:.0} MB over {:.0} MB before (input held); {} lines delta onto {} entries {:.2}s",
        bytes.len() as f64 / 1e6,
        parsed.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64() / 1e6,
        peak.saturating_sub(base) as f64 / 1024.0,
        base as f64 / 1024.0,
        n / 10,
        n,
        delta_time.as_secs_f64(),
    );
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000u64;
    let mut g = c.benchmark_group("lists");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    for (name, bytes, format) in [
        ("text", text_list(n, 0), ListFormat::Text),
        ("csv", csv_list(n), ListFormat::Csv),
        ("jsonl", jsonl_list(n), ListFormat::Jsonl),
    ] {
        let opts = ParseOptions { format, ..ParseOptions::default() };
        g.bench_with_input(BenchmarkId::new("parse", name), &bytes, |b, bytes| {
            b.iter(|| lists::parse(bytes, &opts).expect("parses"))
        });
    }
    let source = ListFile::from_bytes("big.txt", &text_list(n, 0), &ParseOptions::default()).expect("parses");
    g.bench_function("apply/1M-into-empty", |b| {
        b.iter(|| {
            let mut catalog = Catalog::default();
            apply(&mut catalog, "big", std::slice::from_ref(&source), &ApplyOptions::default())
        })
    });
    let mut full = Catalog::default();
    apply(&mut full, "big", std::slice::from_ref(&source), &ApplyOptions::default());
    g.bench_function("apply/1M-same-again", |b| {
        b.iter_batched(
            || full.clone(),
            |mut catalog| apply(&mut catalog, "big", std::slice::from_ref(&source), &ApplyOptions::default()),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    let n =
        if std::env::var("MEDIAMATCH_BENCH_10M").is_ok_and(|v| v == "1") { 10_000_000 } else { 1_000_000 };
    one_shot(n);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
