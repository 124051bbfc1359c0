//! The full `mediamatch import` (read, parse, apply, build, write atomically) of generated
//! PDQ lists, run as the command a cron job runs: lines/s and the importer's peak memory
//! (its `VmHWM`, read by `/usr/bin/time -v` when installed, else sampled from
//! `/proc/PID/status` while it runs), beside the size of the index it writes.
//!
//! `cargo bench --bench import` (1M lines; `MEDIAMATCH_BENCH_10M=1` adds 10M lines to
//! the one-shot report; the criterion group always uses 1M).

// The CLI tests' runner of the binary.
#[allow(dead_code)]
#[path = "../tests/common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};

/// A cheap deterministic 64-bit stream (splitmix64).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `n` lines `pdq:HEX` starting at `from` of the stream.
fn write_list(path: &Path, from: u64, n: u64) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("list file"));
    for i in from..from + n {
        writeln!(
            w,
            "pdq:{:016x}{:016x}{:016x}{:016x}",
            mix(4 * i),
            mix(4 * i + 1),
            mix(4 * i + 2),
            mix(4 * i + 3)
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

struct Run {
    time: Duration,
    /// Peak resident memory of the importer, KiB.
    peak_kib: Option<u64>,
}

fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(key))?;
    line.rsplit(|c: char| c == ':' || c.is_whitespace()).find(|s| !s.is_empty())?.parse().ok()
}

/// Runs `mediamatch import INDEX --list big [extra] FILE` and measures it.
fn import(index: &Path, file: &Path, extra: &[&str]) -> Run {
    let gnu_time = Path::new("/usr/bin/time");
    let mut cmd = if gnu_time.is_file() {
        let mut c = Command::new(gnu_time);
        c.arg("-v").arg(cli::binary());
        c
    } else {
        cli::mediamatch()
    };
    cmd.arg("import").arg(index).args(["--list", "big"]).args(extra).arg(file);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("runs mediamatch");
    let mut sampled = None;
    if !gnu_time.is_file() {
        let status = format!("/proc/{}/status", child.id());
        while child.try_wait().expect("wait").is_none() {
            if let Ok(s) = std::fs::read_to_string(&status) {
                sampled = kib_field(&s, "VmHWM:").or(sampled);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let out = child.wait_with_output().expect("wait");
    let time = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import failed: {stderr}");
    let peak_kib = if gnu_time.is_file() { kib_field(&stderr, "Maximum resident set size") } else { sampled };
    Run { time, peak_kib }
}

fn report(what: &str, lines: u64, run: &Run, index: &Path) {
    let size = std::fs::metadata(index).map(|m| m.len()).unwrap_or(0);
    let peak = run.peak_kib.map_or("?".to_string(), |k| format!("{:.0} MB", k as f64 / 1024.0));
    let ratio = run.peak_kib.map_or("?".to_string(), |k| format!("{:.2}", k as f64 * 1024.0 / size as f64));
    eprintln!(
        "{what}: {lines} lines in {:.2}s = {:.2}M lines/s; peak RSS {peak}; index {:.0} MB (peak/index {ratio})",
        run.time.as_secs_f64(),
        lines as f64 / run.time.as_secs_f64() / 1e6,
        size as f64 / 1e6,
    );
}

/// A new index from an `n`-line list, the same list again (nothing to write), and a 10%
/// delta of new lines.
fn one_shot(dir: &Path, n: u64) {
    let list = dir.join(format!("big-{n}.txt"));
    let delta = dir.join(format!("delta-{n}.txt"));
    write_list(&list, 0, n);
    write_list(&delta, n, n / 10);
    let index = dir.join(format!("big-{n}.mmi"));
    let _ = std::fs::remove_file(&index);
    report(&format!("import {n} into a new index"), n, &import(&index, &list, &[]), &index);
    report(&format!("import {n} again (unchanged)"), n, &import(&index, &list, &[]), &index);
    report(&format!("delta of {} onto {n}", n / 10), n / 10, &import(&index, &delta, &[]), &index);
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mediamatch-import-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000u64;
    let dir = dir();
    let list = dir.join("criterion.txt");
    let delta = dir.join("criterion-delta.txt");
    write_list(&list, 0, n);
    write_list(&delta, n, n / 10);
    let base = dir.join("criterion-base.mmi");
    import(&base, &list, &[]);
    let index = dir.join("criterion.mmi");
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(n));
    g.bench_function("1M-pdq-into-new-index", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(&index);
            import(&index, &list, &[])
        })
    });
    g.throughput(Throughput::Elements(n / 10));
    g.bench_function("100k-delta-onto-1M", |b| {
        b.iter_batched(
            || std::fs::copy(&base, &index).expect("copy"),
            |_| import(&index, &delta, &[]),
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);

fn main() {
    let dir = dir();
    one_shot(&dir, 1_000_000);
    if std::env::var("MEDIAMATCH_BENCH_10M").is_ok_and(|v| v == "1") {
        one_shot(&dir, 10_000_000);
    }
    let _ = std::fs::remove_dir_all(&dir);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
