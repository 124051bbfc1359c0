//! Files per second of a scan of `../shared/corpus` (484 photos) with 1 and 2 threads, and the
//! scaling between them. Compare with `benches/python_scan_baseline.py` (same files, same known
//! hashes, same job in Python).
//!
//! `cargo bench --bench scan`. The known hashes are those of every other photo of the corpus
//! manifest (sorted by file name, indexes 0, 2, 4, ...): PDQ and pHash from the manifest, MD5 of
//! the file bytes. They are written to a CSV list in a temp dir and built into an index with
//! `mediamatch build`. Two measurements:
//!
//! * library: `Matcher::check_path` over every file on rayon pools of 1 and 2 threads (all 8
//!   dihedral variants, default thresholds), best of 3 passes after a warm-up pass;
//! * binary: `mediamatch scan CORPUS --index ... --format json -j N`, the summary's files/s
//!   (walk, read, hash, match and output included), best of 2;
//! * the cost of each detection feature: the library on one thread with border removal, edge
//!   extension, corroboration and the second perceptual kind (fusion) turned off one after
//!   the other, as ratios to the plainest setting (PDQ and MD5 only, 8 dihedral variants,
//!   nothing else) and to both kinds without the extras.
//!
//! Skips with a message when `../shared/corpus` is missing.

// The CLI tests' runner of the binary.
#[allow(dead_code)]
#[path = "../tests/common/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use md5::{Digest, Md5};
use mediamatch::matcher::{Config, Matcher};
use mediamatch::Kind;
use rayon::prelude::*;

/// Rows of the manifest (file name → column → value), sorted by file name.
fn manifest(corpus: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(corpus.join("manifest.tsv")).expect("read manifest.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let mut rows: Vec<BTreeMap<String, String>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(String::from)).collect())
        .collect();
    rows.sort_by(|a, b| a["file"].cmp(&b["file"]));
    assert!(!rows.is_empty(), "manifest.tsv has no rows");
    rows
}

/// Writes the list of every other photo's hashes and builds an index from it.
fn build_index(corpus: &Path, rows: &[BTreeMap<String, String>], dir: &Path) -> (PathBuf, usize) {
    let mut csv = String::from("kind,hash,quality,variant,id,label\n");
    let known: Vec<_> = rows.iter().step_by(2).collect();
    for r in &known {
        let file = &r["file"];
        let bytes = std::fs::read(corpus.join(file)).expect("read corpus file");
        let md5: String = Md5::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        csv.push_str(&format!("pdq,{},{},orig,{file},bench\n", r["pdq"], r["pdq_quality"]));
        csv.push_str(&format!("phash,{},,orig,{file},bench\n", r["phash"]));
        csv.push_str(&format!("md5,{md5},,,{file},bench\n"));
    }
    let list = dir.join("known.csv");
    std::fs::write(&list, csv).expect("write list");
    let index = dir.join("known.mmi");
    let out = cli::run(&[Path::new("build"), Path::new("-o"), index.as_path(), list.as_path()]);
    assert!(out.status.success(), "build failed: {}", cli::text(&out.stderr));
    (index, known.len())
}

/// CPU seconds (user + system) this process used so far, from `/proc/self/stat` (Linux; 100
/// ticks/s, the USER_HZ of every Linux ABI); `None` elsewhere. On a shared machine wall time
/// counts other processes' load, CPU time does not.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// One library measurement.
struct Rate {
    /// Best files/s (wall clock) of the passes.
    wall: f64,
    /// Files per CPU second over all passes (all threads' CPU time).
    per_cpu: Option<f64>,
    /// Files that matched something.
    matched: usize,
}

/// Best files/s of `runs` passes of the library over `files` on a pool of `threads`.
fn library_rate(matcher: &Matcher, files: &[PathBuf], threads: usize, runs: usize) -> Rate {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let pass = || {
        pool.install(|| {
            files.par_iter().filter(|p| matcher.check_path(p).map(|v| v.is_match()).unwrap_or(false)).count()
        })
    };
    let matched = pass(); // warm-up: page cache, lazily built tables
    let mut best = f64::INFINITY;
    let cpu0 = cpu_seconds();
    for _ in 0..runs {
        let t = Instant::now();
        let m = pass();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(m, matched, "passes disagree");
    }
    let per_cpu = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some((files.len() * runs) as f64 / (b - a)),
        _ => None,
    };
    Rate { wall: files.len() as f64 / best, per_cpu, matched }
}

/// Best files/s reported by the binary's summary over `runs` runs.
fn binary_rate(corpus: &Path, index: &Path, threads: usize, runs: usize) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..runs {
        let threads = threads.to_string();
        let args = ["scan", "--format", "json", "-j", &threads, "--index"].map(Path::new);
        let out = cli::run(&[&args[..], &[index, corpus]].concat());
        let stdout = cli::text(&out.stdout);
        let summary = stdout.lines().last().expect("a summary line");
        let v: serde_json::Value = serde_json::from_str(summary).expect("summary JSON");
        assert_eq!(v["type"], "summary", "{summary}");
        best = best.max(v["files_per_s"].as_f64().expect("files_per_s"));
    }
    best
}

fn main() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !corpus.join("manifest.tsv").is_file() {
        eprintln!("SKIPPED: ../shared/corpus not found beside the repository; scan bench not run");
        return;
    }
    let rows = manifest(&corpus);
    let files: Vec<PathBuf> = rows.iter().map(|r| corpus.join(&r["file"])).collect();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (index, known) = build_index(&corpus, &rows, tmp.path());
    let matcher = Matcher::open(&index, Config::default()).expect("open index");
    println!("scan bench: {} files of ../shared/corpus, {known} known photos (pdq+phash+md5)", files.len());

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));

    let one = library_rate(&matcher, &files, 1, 3);
    let two = library_rate(&matcher, &files, 2, 3);
    assert_eq!(one.matched, two.matched, "1 and 2 threads disagree");
    assert!(one.matched >= known, "every known photo matches itself ({} < {known})", one.matched);
    let cpu = |r: &Rate| r.per_cpu.map(|c| format!("{c:.1} files/CPU-s")).unwrap_or_default();
    println!("library  1 thread : {:7.1} files/s, {} ({} matched files)", one.wall, cpu(&one), one.matched);
    println!(
        "library  2 threads: {:7.1} files/s, {}; scaling {:.2}x",
        two.wall,
        cpu(&two),
        two.wall / one.wall
    );

    let b1 = binary_rate(&corpus, &index, 1, 2);
    let b2 = binary_rate(&corpus, &index, 2, 2);
    println!("binary   -j1      : {b1:7.1} files/s");
    println!("binary   -j2      : {b2:7.1} files/s; scaling {:.2}x", b2 / b1);

    feature_costs(&index, &files);
}

/// Files per CPU second on one thread for each feature setting, and the ratios.
fn feature_costs(index: &Path, files: &[PathBuf]) {
    let pdq_md5 = Some([Kind::Pdq, Kind::Md5].into_iter().collect());
    let plain = Config { border: false, extend: false, corroborate: None, ..Config::default() };
    let settings: [(&str, Config); 5] = [
        ("pdq+md5 only, dihedral (plainest)", Config { kinds: pdq_md5, ..plain.clone() }),
        ("+ phash (fusion)", plain.clone()),
        ("+ border removal", Config { border: true, ..plain.clone() }),
        ("+ corroboration", Config { border: true, corroborate: Config::default().corroborate, ..plain }),
        ("+ edge extension (the defaults)", Config::default()),
    ];
    println!("feature costs, library, 1 thread, files per CPU second (best wall files/s):");
    let mut first = None;
    let mut fused = None;
    for (name, config) in settings {
        let matcher = Matcher::open(index, config).expect("open index");
        let r = library_rate(&matcher, files, 1, 2);
        let rate = r.per_cpu.unwrap_or(r.wall);
        let base = *first.get_or_insert(rate);
        let both = if name.starts_with('+') { *fused.get_or_insert(rate) } else { rate };
        println!(
            "  {name:<34} {rate:7.1} ({:7.1}) {:>4} matched; time x{:.2} of plainest, x{:.2} of pdq+phash",
            r.wall,
            r.matched,
            base / rate,
            both / rate
        );
    }
}
