//! The hostile suite: a folder of generated hostile files (header bombs, a JPEG with a
//! thousand repeated scans, a WebP with a 4 GiB EXIF chunk, an animated GIF hiding a known
//! photo behind a white first frame, truncated and bit-flipped files, a FIFO, a name that is
//! not UTF-8) mixed with copies of known photos, scanned under a 4 GB address-space cap
//! (`prlimit --as=4000000000`, as a memory-capped worker runs). The scan must end with its
//! summary, report each hostile file for itself and find every good file's match.
//! `benches/hostile.sh` times the same corpus file by file.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::cli;
use common::hostile::{self, Expect};

/// The records of one run, by file name (raw bytes), and the summary.
struct Run {
    by_file: BTreeMap<Vec<u8>, Vec<serde_json::Value>>,
    summary: serde_json::Value,
    code: Option<i32>,
    stderr: String,
}

fn name_of(record: &serde_json::Value) -> Vec<u8> {
    let raw = match record.get("path_bytes").and_then(|b| b.as_str()) {
        Some(b64) => decode_base64(b64),
        None => record["path"].as_str().expect("a path").as_bytes().to_vec(),
    };
    let slash = raw.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    raw[slash..].to_vec()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {s}"),
    };
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// `scan DIR --list DEMO --format json` under a 4 GB address-space cap.
fn scan_capped(dir: &std::path::Path) -> Run {
    let mut cmd = Command::new("prlimit");
    cmd.arg("--as=4000000000")
        .arg(cli::binary())
        .arg("scan")
        .arg(dir)
        .arg("--list")
        .arg(hostile::demo_list())
        .args(["--format", "json", "--threads", "2"]);
    // A hang is a failure, not a stuck test run: generous, far above any per-file budget.
    let out = cli::output_within(cmd, Duration::from_secs(600));
    let stderr = cli::text(&out.stderr);
    let records: Vec<serde_json::Value> = cli::json_lines(&out.stdout);
    let (summary, rest) = records.split_last().unwrap_or_else(|| panic!("no output; stderr: {stderr}"));
    assert_eq!(summary["type"], "summary", "the last record is the summary: {summary}; stderr: {stderr}");
    let mut by_file: BTreeMap<Vec<u8>, Vec<serde_json::Value>> = BTreeMap::new();
    for r in rest {
        by_file.entry(name_of(r)).or_default().push(r.clone());
    }
    Run { by_file, summary: summary.clone(), code: out.status.code(), stderr }
}

#[test]
fn a_capped_scan_of_hostile_files_reports_each_and_finds_every_good_match() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "prlimit (util-linux) is missing under CI");
        eprintln!("SKIPPED: prlimit (util-linux) is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("corpus");
    let cases = hostile::write_corpus(&dir);
    assert!(cases.len() > 30, "the corpus is not empty: {} cases", cases.len());
    let run = scan_capped(&dir);
    assert!(run.code.is_some(), "killed by a signal; stderr: {}", run.stderr);
    // Hostile files are errors: exit 2, with the matches still printed.
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);

    let regular = cases.iter().filter(|c| c.expect != Expect::Skipped).count() as u64;
    assert_eq!(run.summary["files"], regular, "every regular file was reported once: {}", run.summary);
    assert_eq!(run.summary["skipped_special"], 1, "{}", run.summary);
    for c in &cases {
        let shown = String::from_utf8_lossy(&c.name);
        let records = run.by_file.get(&c.name).map(Vec::as_slice).unwrap_or_default();
        let of_type = |t: &str| records.iter().filter(|r| r["type"] == t).collect::<Vec<_>>();
        match &c.expect {
            Expect::Match(id) => {
                assert!(of_type("error").is_empty(), "{shown}: {records:?}");
                assert!(
                    of_type("match").iter().any(|m| m["id"] == *id),
                    "{shown} did not match {id}: {records:?}"
                );
            }
            Expect::Error(reason) => {
                let errors = of_type("error");
                assert!(
                    errors.iter().any(|e| e["error"].as_str().unwrap_or("").contains(reason)),
                    "{shown}: no error containing {reason:?}: {records:?}"
                );
            }
            // Anything per file; a match of another known photo would be a false match.
            Expect::Reported => {
                for m in of_type("match") {
                    assert_eq!(m["id"], "coins", "{shown} (made from coins) matched something else: {m}");
                }
            }
            Expect::Skipped => assert!(records.is_empty(), "{shown} was opened: {records:?}"),
        }
    }
}
