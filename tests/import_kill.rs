//! `mediamatch import` killed with SIGKILL at many points of a large import: each time
//! the index must open, verify, answer queries and hold exactly the old catalog or
//! exactly the new one; killed imports' temporary files must not accumulate; a reader
//! that mapped the old index keeps reading it throughout. Then `compact` (a merge) is
//! killed the same way: the index stays the unmerged or the merged one, same catalog.
//!
//! The index is a manifest naming segment files (`INDEX.segments/`); an import writes a
//! new segment and then replaces the manifest, its one commit point. Half the kills are
//! spread over the import's measured duration; the other half wait until one of the
//! importer's temporary files appears (it is writing the new segment or manifest) and
//! kill it a few milliseconds later, so some kills surely land during the writes.
#![cfg(unix)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::rng::Rng;
use mediamatch::catalog::Catalog;
use mediamatch::index::{read_manifest, segments_dir, write_atomic, Index};
use mediamatch::HashValue;

/// Lines of the generated list (override with `MEDIAMATCH_KILL_LINES`).
const LINES: usize = 100_000;
/// Kill iterations (override with `MEDIAMATCH_KILL_ITERATIONS`).
const ITERATIONS: usize = 100;

/// One list line: two PDQs for every MD5.
fn line(rng: &mut Rng, i: usize) -> String {
    if i % 3 == 2 {
        format!("md5:{:016x}{:016x}", rng.next(), rng.next())
    } else {
        format!("pdq:{:016x}{:016x}{:016x}{:016x}", rng.next(), rng.next(), rng.next(), rng.next())
    }
}

/// The catalog without import times (two runs of the same import differ only there),
/// its entries sorted (segments list theirs in segment order).
fn normal(mut c: Catalog) -> Catalog {
    for l in &mut c.lists {
        l.imported_at = 0;
    }
    c.entries.sort();
    c
}

/// Temporary files of writers, next to the index and among its segments.
fn temp_files(index: &Path) -> Vec<PathBuf> {
    let dirs = [index.parent().unwrap().to_path_buf(), segments_dir(index)];
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
        .collect()
}

/// An index's files: its manifest and the segment files it names.
struct Snapshot {
    manifest: Vec<u8>,
    segments: Vec<(String, Vec<u8>)>,
}

impl Snapshot {
    fn save(index: &Path) -> Snapshot {
        let manifest = read_manifest(index).unwrap().expect("a manifest");
        let dir = segments_dir(index);
        let segments = manifest
            .segments
            .iter()
            .map(|s| (s.file.clone(), std::fs::read(dir.join(&s.file)).unwrap()))
            .collect();
        Snapshot { manifest: std::fs::read(index).unwrap(), segments }
    }

    /// Puts the index at `index` back to this state: the segment files first, then the
    /// manifest (as a replica would copy them).
    fn restore(&self, index: &Path) {
        let dir = segments_dir(index);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &self.segments {
            if std::fs::read(dir.join(name)).ok().as_ref() != Some(bytes) {
                write_atomic(dir.join(name), bytes).unwrap();
            }
        }
        write_atomic(index, &self.manifest).unwrap();
    }
}

/// `import INDEX --list big --replace LIST` as a child to kill (stdout dropped, stderr kept).
fn import(index: &Path, list: &Path) -> Command {
    let mut cmd = common::cli::mediamatch();
    cmd.arg("import")
        .arg(index)
        .args(["--list", "big", "--replace"])
        .arg(list)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn run_import(index: &Path, list: &Path) -> Duration {
    let start = Instant::now();
    let out = import(index, list).output().unwrap();
    assert!(out.status.success(), "{}", common::cli::text(&out.stderr));
    start.elapsed()
}

#[derive(Debug, Default)]
struct Tally {
    killed_old: u32,
    killed_new: u32,
    finished: u32,
    during_write: u32,
}

#[test]
fn sigkill_at_any_point_leaves_the_old_or_the_new_index() {
    let lines = std::env::var("MEDIAMATCH_KILL_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(LINES);
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");

    // v1, and v2 = v1 without every tenth line plus as many new lines.
    let mut rng = Rng(0x5eed_1234);
    let v1_lines: Vec<String> = (0..lines).map(|i| line(&mut rng, i)).collect();
    let mut v2_lines: Vec<String> =
        v1_lines.iter().enumerate().filter(|(i, _)| i % 10 != 0).map(|(_, l)| l.clone()).collect();
    v2_lines.extend((0..lines / 10).map(|i| line(&mut rng, i)));
    let v1 = dir.path().join("big-v1.txt");
    let v2 = dir.path().join("big-v2.txt");
    std::fs::write(&v1, v1_lines.join("\n")).unwrap();
    std::fs::write(&v2, v2_lines.join("\n")).unwrap();
    let parse = |l: &str| -> HashValue { l.parse().unwrap() };
    let kept = parse(&v1_lines[1]);
    let dropped = parse(&v1_lines[10]);
    let added = parse(&v2_lines[v2_lines.len() - 1]);
    let dropped_md5 = parse(&v1_lines[20]);
    assert!(matches!(dropped_md5, HashValue::Md5(_)));

    // The old index, and the new one from an import that runs to the end (timed).
    run_import(&index, &v1);
    let old_files = Snapshot::save(&index);
    let old = normal(Index::open(&index).unwrap().catalog().unwrap());
    assert_eq!(old.entries.len(), lines);
    let probe = dir.path().join("probe.mmi");
    old_files.restore(&probe);
    let duration = run_import(&probe, &v2);
    let new = normal(Index::open(&probe).unwrap().catalog().unwrap());
    std::fs::remove_file(&probe).unwrap();
    std::fs::remove_dir_all(segments_dir(&probe)).unwrap();
    assert_ne!(old, new);
    assert_eq!((old.lists[0].version, new.lists[0].version), (1, 2));
    eprintln!("import of {} lines into {} entries: {duration:?}", v2_lines.len(), old.entries.len());

    // A reader that mapped the old index before any of this.
    let reader = Index::open(&index).unwrap();

    let start = Instant::now();
    let mut tally = Tally::default();
    let mut i = 0;
    let iterations =
        std::env::var("MEDIAMATCH_KILL_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(ITERATIONS);
    while i < iterations {
        old_files.restore(&index);
        let mut child = import(&index, &v2).spawn().unwrap();
        let started = Instant::now();
        if i % 2 == 0 {
            // Spread over 0..1.2x the measured duration.
            let delay = duration.mul_f64(1.2 * (i as f64 + 0.5) / iterations as f64);
            std::thread::sleep(delay);
        } else {
            // Wait for the temporary file of this import, then kill 0..~10 ms later.
            let before: Vec<PathBuf> = temp_files(&index);
            while started.elapsed() < duration * 3 && child.try_wait().unwrap().is_none() {
                if temp_files(&index).iter().any(|p| !before.contains(p)) {
                    std::thread::sleep(Duration::from_micros(700 * (i as u64 / 2 % 14)));
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        let killed = status.signal() == Some(9);
        assert!(killed || status.success(), "iteration {i}: {status:?}");

        // The index opens, verifies, answers, and is the old or the new one.
        let now = Index::open(&index).unwrap_or_else(|e| panic!("iteration {i}: {e}"));
        now.verify().unwrap_or_else(|e| panic!("iteration {i}: {e}"));
        let catalog = normal(now.catalog().unwrap());
        let is_new = if catalog == old {
            false
        } else if catalog == new {
            true
        } else {
            panic!("iteration {i}: the index is neither the old nor the new one");
        };
        let hits = |v: &HashValue| now.search(v, 0).unwrap().len();
        assert_eq!(hits(&kept), 1, "iteration {i}");
        assert_eq!(hits(&dropped), usize::from(!is_new), "iteration {i}");
        assert_eq!(hits(&dropped_md5), usize::from(!is_new), "iteration {i}");
        assert_eq!(hits(&added), usize::from(is_new), "iteration {i}");
        // The reader still sees the old index.
        assert_eq!(reader.search(&dropped, 0).unwrap().len(), 1);
        assert_eq!(reader.search(&added, 0).unwrap().len(), 0);

        // Temporary files of one writer at most (its output, spools and sorted runs, all
        // named `.NAME.tmp-PID-N`): each import cleans those of the writers before it.
        let temps = temp_files(&index);
        let pid = |p: &PathBuf| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.rsplit('-').nth(1).unwrap_or_default().to_string()
        };
        let mut writers: Vec<String> = temps.iter().map(pid).collect();
        writers.sort();
        writers.dedup();
        assert!(writers.len() <= 1, "iteration {i}: {temps:?}");
        if killed && !temps.is_empty() {
            tally.during_write += 1;
        }
        match (killed, is_new) {
            (true, false) => tally.killed_old += 1,
            (true, true) => tally.killed_new += 1,
            (false, _) => {
                assert!(is_new, "iteration {i}: a finished import left the old index");
                tally.finished += 1;
            }
        }
        i += 1;
    }
    eprintln!("{i} iterations in {:?}: {tally:?}", start.elapsed());
    assert!(tally.killed_old >= 2, "{tally:?}");
    assert!(tally.during_write >= 1, "no kill landed while the new index was written: {tally:?}");

    // One more import runs to the end and cleans up whatever the kills left.
    old_files.restore(&index);
    run_import(&index, &v2);
    assert_eq!(normal(Index::open(&index).unwrap().catalog().unwrap()), new);
    assert!(temp_files(&index).is_empty(), "{:?}", temp_files(&index));
    // And only the files its manifest names are left among the segments.
    let named = read_manifest(&index).unwrap().unwrap().segments.len();
    assert_eq!(std::fs::read_dir(segments_dir(&index)).unwrap().count(), named);
    reader.verify().unwrap();

    // Merges: `compact` (a merge of every segment) killed at spread points leaves the
    // two-segment index or the merged one, with the same catalog either way.
    assert!(named >= 2, "the import left segments to merge: {named}");
    let unmerged = Snapshot::save(&index);
    let compact = |index: &Path| {
        let mut cmd = common::cli::mediamatch();
        cmd.arg("compact").arg(index).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd
    };
    let begun = Instant::now();
    let out = compact(&index).output().unwrap();
    assert!(out.status.success(), "{}", common::cli::text(&out.stderr));
    let duration = begun.elapsed();
    assert_eq!(read_manifest(&index).unwrap().unwrap().segments.len(), 1);
    let (mut merged, mut unmerged_left) = (0, 0);
    let merges = (iterations / 3).max(8);
    for k in 0..merges {
        unmerged.restore(&index);
        let mut child = compact(&index).spawn().unwrap();
        std::thread::sleep(duration.mul_f64(1.2 * (k as f64 + 0.5) / merges as f64));
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert!(status.signal() == Some(9) || status.success(), "merge {k}: {status:?}");
        let now = Index::open(&index).unwrap_or_else(|e| panic!("merge {k}: {e}"));
        now.verify().unwrap_or_else(|e| panic!("merge {k}: {e}"));
        assert!(normal(now.catalog().unwrap()) == new, "merge {k}: the catalog changed");
        match now.segment_count() {
            1 => merged += 1,
            n if n == named => unmerged_left += 1,
            n => panic!("merge {k}: {n} segments"),
        }
    }
    eprintln!("{merges} killed merges: {unmerged_left} left unmerged, {merged} merged");
    assert!(unmerged_left >= 1, "no kill landed before the merge committed");
}
