//! `mediamatch import` and `mediamatch build` end to end: the binary on temporary
//! directories, the summary JSON parsed strictly (this file is its schema), the index
//! checked with `verify`, `info`, `query` and the library.
//!
//! Expected counts were taken by reading each sample: `tests/data/lists/*` (written for
//! the list parsers) and the saved NCMEC / StopNCII API pages in `../shared/lists/`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use mediamatch::catalog::Catalog;
use mediamatch::index::Index;
use serde::Deserialize;
use sha2::Digest;

/// The one-object summary of `import --json`.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Summary {
    #[serde(rename = "type")]
    record: String,
    index: String,
    list: String,
    version: u64,
    added: u64,
    updated: u64,
    removed: u64,
    unchanged: u64,
    rejected: u64,
    skipped: u64,
    skipped_kinds: BTreeMap<String, u64>,
    entries: u64,
    changed: bool,
    dry_run: bool,
}

/// (added, updated, removed, unchanged, rejected, skipped)
type Counts = (u64, u64, u64, u64, u64, u64);

/// Skipped records by kind: (kind, count) pairs in the kinds' order.
type SkippedKinds<'a> = &'a [(&'a str, u64)];

impl Summary {
    fn counts(&self) -> Counts {
        (self.added, self.updated, self.removed, self.unchanged, self.rejected, self.skipped)
    }

    /// The skipped records by kind, as (kind, count) pairs.
    fn skipped_kinds(&self) -> Vec<(&str, u64)> {
        self.skipped_kinds.iter().map(|(k, n)| (k.as_str(), *n)).collect()
    }
}

use common::cli::{mediamatch as bin, run, text};
use common::QueryMatch as Match;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lists").join(name)
}

/// Runs `import INDEX --list LIST --json EXTRA... FILES...`; returns the output and, on
/// exit 0, the summary.
fn import_raw(index: &Path, list: &str, files: &[&Path], extra: &[&str]) -> (Output, Option<Summary>) {
    let mut cmd = bin();
    cmd.arg("import").arg(index).args(["--list", list, "--json"]).args(extra).args(files);
    let out = cmd.output().unwrap();
    let summary = (out.status.code() == Some(0)).then(|| {
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one summary line expected: {stdout}");
        serde_json::from_str::<Summary>(lines[0]).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    });
    (out, summary)
}

/// An import that must succeed; returns its summary.
fn import(index: &Path, list: &str, files: &[&Path], extra: &[&str]) -> Summary {
    let (out, summary) = import_raw(index, list, files, extra);
    let s = summary
        .unwrap_or_else(|| panic!("import {files:?} failed ({:?}): {}", out.status, text(&out.stderr)));
    assert_eq!((s.record.as_str(), s.list.as_str()), ("import", list));
    assert_eq!(s.index, index.display().to_string());
    assert_eq!(s.skipped_kinds.values().sum::<u64>(), s.skipped, "the kinds add up to the total");
    s
}

fn catalog(index: &Path) -> Catalog {
    Index::open(index).unwrap().catalog().unwrap()
}

fn verify_ok(index: &Path) {
    let out = run(&[Path::new("verify"), index]);
    assert_eq!(out.status.code(), Some(0), "verify: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains(": ok ("), "{}", text(&out.stdout));
}

/// `query --format json` of one hash: the exit code and the matches.
fn query(index: &Path, hash: &str) -> (i32, Vec<Match>) {
    let out = bin().arg("query").arg("-i").arg(index).args(["--format", "json", hash]).output().unwrap();
    let matches = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Match>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), matches)
}

/// The (list, id, label) of each exact match of `hash`.
fn found(index: &Path, hash: &str) -> Vec<(String, String, String)> {
    let (code, matches) = query(index, hash);
    assert_eq!(code, if matches.is_empty() { 1 } else { 0 }, "query {hash}");
    let mut v: Vec<_> = matches
        .into_iter()
        .inspect(|m| assert_eq!((m.record.as_str(), m.query.as_str(), m.distance), ("match", hash, 0)))
        .map(|m| (m.list, m.id, m.label))
        .collect();
    v.sort();
    v
}

fn triple(list: &str, id: &str, label: &str) -> (String, String, String) {
    (list.to_string(), id.to_string(), label.to_string())
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

const PDQ_A: &str = "2afc4a5c09628a7961c14d436493bba66b89b831453baa1d556ba385554daa82";
const PDQ_B: &str = "79e07de27d7295339435d63cd31cf35a7bfa29eb2885008500a588a5ea3ae75a";

#[test]
fn every_local_sample_imports_with_its_counts_and_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    // (file, extra flags, list, (added, updated, removed, unchanged, rejected, skipped), skipped kinds)
    let cases: &[(&str, &[&str], &str, Counts, SkippedKinds)] = &[
        // 7 hashes; line 11 a bare 64-hex value, 12 a short PDQ, 14 crc32; photodna skipped.
        ("local.txt", &[], "local", (7, 0, 0, 0, 3, 1), &[("photodna", 1)]),
        // c-1, c-2, c-10 live; c-3..c-7 deleted (on no list yet); 10 no kind, 13 `frozen`; netclean.
        ("partner.csv", &[], "partner_csv", (3, 0, 0, 0, 2, 1), &[("netclean", 1)]),
        // t1, t2, t4 live; t3 and t5 deleted.
        ("partner.tsv", &[], "partner_tsv", (3, 0, 0, 0, 0, 0), &[]),
        ("partner.tsv.gz", &[], "partner_tsv_gz", (3, 0, 0, 0, 0, 0), &[]),
        // pdq, video_md5, photo_pdq; raw_text, url_md5 skipped; video_tmk_pdqf `AAAA` is no signature.
        ("pytx-signals.txt", &[], "pytx", (3, 0, 0, 0, 1, 2), &[("text", 1), ("url_md5", 1)]),
        // lines 1, 2, 5 live (1 and 7 are the same PDQ; 7 is `Pending`: rejected); 3, 4 deleted;
        // VideoTMK `AAAA` is no signature (rejected).
        ("stopncii-records.jsonl", &[], "stopncii_jsonl", (3, 0, 0, 0, 2, 0), &[]),
        // ids 2819, 2821, 2822 live, 2820 deleted.
        ("tat-hash-list.json", &[], "tat_json", (3, 0, 0, 0, 0, 0), &[]),
        // the same four, then a bad MD5 and a truncated JSON line.
        ("tat-hash-list.jsonl", &[], "tat_jsonl", (3, 0, 0, 0, 2, 0), &[]),
        // 2 uploads x (orig pdq, orig phash, md5, sha1, sha256); 2 x 14 dihedral variants skipped.
        ("mediamatch-hash.csv", &[], "hashes", (10, 0, 0, 0, 0, 28), &[("variant", 28)]),
    ];
    let mut entries_seen = 0;
    for (i, (file, extra, list, want, skipped_kinds)) in cases.iter().enumerate() {
        let s = import(&index, list, &[&data(file)], extra);
        assert_eq!(s.counts(), *want, "{file}");
        assert_eq!(s.skipped_kinds(), *skipped_kinds, "{file}");
        assert_eq!((s.version, s.changed, s.dry_run), (1, true, false), "{file}");
        assert!(s.entries >= entries_seen, "{file}");
        entries_seen = s.entries;
        assert_eq!(catalog(&index).lists.len(), i + 1);
    }
    verify_ok(&index);
    let cat = catalog(&index);
    assert_eq!(cat.entries.len() as u64, entries_seen);

    // A PDQ on four lists, with the ids and labels each file gave it.
    assert_eq!(
        found(&index, &format!("pdq:{PDQ_A}")),
        [
            triple("local", "", ""),
            triple("partner_tsv", "t1", "A1"),
            triple("partner_tsv_gz", "t1", "A1"),
            triple("pytx", "", ""),
            triple("stopncii_jsonl", "", ""),
        ]
    );
    assert_eq!(found(&index, "md5:0cc175b9c0f1b6a831c399e269772661"), [triple("local", "", "")]);
    assert_eq!(
        found(&index, "md5:a9f7e97965d6cf799a529102a973b8b9"),
        [triple("partner_csv", "c-1", "CSAM, A1")]
    );
    assert_eq!(
        found(&index, "sha256:827a4ec19ca04e33d23af31357d817ec86449be8cb6058389a454acb46e55de0"),
        [triple("tat_json", "2822", "islamist"), triple("tat_jsonl", "2822", "islamist")]
    );
    assert_eq!(
        found(&index, "phash:d160c5d0ef412ed6"),
        [triple("hashes", "uploads/upload, 1.jpg", "")],
        "the CSV of `mediamatch hash`"
    );
    // Deleted records are not there.
    assert!(found(&index, "md5:79dd8fdb19da28d89e3101c138e2a8a2").is_empty(), "TaT deleted: true");
    assert!(found(&index, "sha1:4358694eeb098c6708ae914a10562ce722bbbc34").is_empty(), "TSV deleted yes");
    assert!(found(&index, "md5:25ea1682e16466c0667abdc095920f6c").is_empty(), "CSV withdrawn");
}

#[test]
fn ncmec_and_stopncii_pages_import_with_the_expected_counts() {
    let Some(shared) = common::shared_dir() else { return };
    let lists = shared.join("lists");
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let page = |n: &str| lists.join(n);

    // Page 1: image1 and video1, an md5 and a sha1 each; image1's PhotoDNA skipped; the
    // deletions of image4 and video4 name nothing on the list.
    let s = import(&index, "ncmec", &[&page("ncmec-entries.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((4, 0, 0, 0, 0, 1), 1, 4));
    assert_eq!(s.skipped_kinds(), [("photodna", 1)]);
    // Page 2: image10 (md5, sha1, skipped pdna).
    let s = import(&index, "ncmec", &[&page("ncmec-entries2.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((2, 0, 0, 0, 0, 1), 2, 6));
    // Page 3: willupdate (A1) and willdelete.
    let s = import(&index, "ncmec", &[&page("ncmec-entries3.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((2, 0, 0, 0, 0, 0), 3, 8));
    assert_eq!(found(&index, "md5:facefacefacefacefacefacefaceface"), [triple("ncmec", "willupdate", "A1")]);
    // Page 4: willupdate reclassified A2; willdelete deleted.
    let s = import(&index, "ncmec", &[&page("ncmec-entries4.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((0, 1, 1, 0, 0, 0), 4, 7));
    assert_eq!(found(&index, "md5:facefacefacefacefacefacefaceface"), [triple("ncmec", "willupdate", "A2")]);
    assert!(found(&index, "md5:bacebacebacebacebacebacebacebace").is_empty());
    assert_eq!(
        found(&index, "sha1:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"),
        [triple("ncmec", "image1", "A1")]
    );
    // The empty page and the links-only page: one md5 (the same value as willupdate, another id).
    let s = import(&index, "ncmec", &[&page("ncmec-entries_no_data.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.changed), ((0, 0, 0, 0, 0, 0), 4, false));
    let s = import(&index, "ncmec", &[&page("ncmec-entries_large_fingerprints.xml")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((1, 0, 0, 0, 0, 2), 5, 8));

    // StopNCII pages: two PDQs, then one.
    let s = import(&index, "stopncii", &[&page("stopncii-fetchhashes-page1.json")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((2, 0, 0, 0, 0, 0), 1, 10));
    let s = import(&index, "stopncii", &[&page("stopncii-fetchhashes-page2.json")], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((1, 0, 0, 0, 0, 0), 2, 11));
    assert_eq!(found(&index, &format!("pdq:{PDQ_B}")), [triple("stopncii", "", "")]);
    verify_ok(&index);

    // All four NCMEC pages as one import into a new list, gzip-compressed: willdelete is
    // added by page 3 and withdrawn by page 4 within the import, so it counts nowhere.
    let mut files = Vec::new();
    for n in ["ncmec-entries.xml", "ncmec-entries2.xml", "ncmec-entries3.xml", "ncmec-entries4.xml"] {
        let gz = dir.path().join(format!("{n}.gz"));
        std::fs::write(&gz, gzip(&std::fs::read(page(n)).unwrap())).unwrap();
        files.push(gz);
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let s = import(&index, "ncmec_all", &refs, &[]);
    assert_eq!((s.counts(), s.version), ((7, 0, 0, 0, 0, 2), 1));
    assert_eq!(s.skipped_kinds(), [("photodna", 2)], "pages 1 and 2 skip a PhotoDNA each");
    assert_eq!(
        found(&index, "md5:facefacefacefacefacefacefaceface"),
        [
            triple("ncmec", "largetags", "A2"),
            triple("ncmec", "willupdate", "A2"),
            triple("ncmec_all", "willupdate", "A2")
        ]
    );
}

#[test]
fn the_summary_says_which_kinds_were_skipped_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let shared_page = common::shared_dir().map(|d| d.join("lists/ncmec-entries.xml"));
    // (list file, the text summary's skipped part, the JSON's skipped_kinds)
    let mut cases: Vec<(PathBuf, &str, SkippedKinds)> = vec![
        (data("local.txt"), "skipped 1 (photodna 1) (", &[("photodna", 1)]),
        (data("pytx-signals.txt"), "skipped 2 (text 1, url_md5 1) (", &[("text", 1), ("url_md5", 1)]),
        (data("partner.tsv"), "skipped 0 (", &[]),
    ];
    cases.extend(shared_page.map(|p| (p, "skipped 1 (photodna 1) (", &[("photodna", 1)][..])));
    for (i, (file, text_part, kinds)) in cases.iter().enumerate() {
        let index = dir.path().join(format!("{i}.mmi"));
        let index_s = index.to_str().unwrap();
        let file_s = file.to_str().unwrap();
        let dry = ["import", index_s, "--list", "l", "--dry-run", file_s];
        let out = run(&dry);
        assert_eq!(out.status.code(), Some(0), "{file_s}: {}", text(&out.stderr));
        let line = text(&out.stdout);
        assert!(line.starts_with("dry run: ") && line.contains(text_part), "{file_s}: {line}");
        // `--output-format json` and the older `--json` print the same record.
        let json = run(&[&dry[..], &["--output-format", "json"]].concat());
        assert_eq!(json.stdout, run(&[&dry[..], &["--json"]].concat()).stdout, "{file_s}");
        let s: Summary =
            serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&json.stdout)));
        assert_eq!(s.skipped_kinds(), *kinds, "{file_s}");
        assert_eq!(s.skipped, kinds.iter().map(|(_, n)| n).sum::<u64>(), "{file_s}");
        // The raw JSON: `skipped` stays the total, the breakdown follows it.
        let raw = text(&json.stdout);
        assert!(raw.contains(&format!("\"skipped\":{},\"skipped_kinds\":{{", s.skipped)), "{raw}");
    }
    // `--format` is the list files' format, so the summary's format is `--output-format`.
    let index = dir.path().join("x.mmi");
    let out = run(&[
        Path::new("import"),
        &index,
        Path::new("--list"),
        Path::new("l"),
        Path::new("--output-format"),
        Path::new("csv"),
        &data("local.txt"),
    ]);
    assert_eq!(out.status.code(), Some(2), "no CSV summary");
    assert!(!index.exists());
}

#[test]
fn bare_64_hex_needs_a_kind_and_is_reported_as_file_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let list = write(dir.path(), "bare.txt", &format!("# bare values\npdq:{PDQ_A}\n{PDQ_B}\n"));

    let (out, s) = import_raw(&index, "bare", &[&list], &[]);
    let s = s.unwrap_or_else(|| panic!("lenient import failed: {}", text(&out.stderr)));
    assert_eq!(s.counts(), (1, 0, 0, 0, 1, 0));
    let stderr = text(&out.stderr);
    let want = format!("{}:3: ", list.display());
    let line = stderr.lines().find(|l| l.starts_with(&want)).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("never guessed"), "{line}");
    assert!(found(&index, &format!("pdq:{PDQ_B}")).is_empty());
    assert!(found(&index, &format!("sha256:{PDQ_B}")).is_empty());

    // `--kind` names the kind of bare values; a kind written in the file still wins.
    let s = import(&index, "bare", &[&list], &["--kind", "sha256"]);
    assert_eq!(s.counts(), (1, 0, 0, 1, 0, 0));
    assert_eq!(found(&index, &format!("sha256:{PDQ_B}")), [triple("bare", "", "")]);
    assert_eq!(found(&index, &format!("pdq:{PDQ_A}")), [triple("bare", "", "")]);
    let s = import(&index, "bare_pdq", &[&list], &["--kind", "pdq"]);
    assert_eq!(s.counts(), (2, 0, 0, 0, 0, 0));
    assert_eq!(found(&index, &format!("pdq:{PDQ_B}")), [triple("bare_pdq", "", "")]);
    // Bare MD5s.
    let md5s = write(
        dir.path(),
        "md5s.txt",
        "0cc175b9c0f1b6a831c399e269772661\r\n92eb5ffee6ae2fec3ad71c777531578f\r\n",
    );
    let s = import(&index, "md5s", &[&md5s], &["--kind", "md5"]);
    assert_eq!(s.counts(), (2, 0, 0, 0, 0, 0));
    assert_eq!(found(&index, "md5:92eb5ffee6ae2fec3ad71c777531578f"), [triple("md5s", "", "")]);
}

#[test]
fn rejects_go_to_stderr_first_ten_and_all_to_the_rejects_file() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let mut body = String::from("kind,hash,id\n");
    let mut bad_lines = Vec::new();
    for i in 0..40u32 {
        if i % 3 == 0 {
            body.push_str(&format!("md5,zz{i:030},bad-{i}\n"));
            bad_lines.push(i + 2);
        } else {
            body.push_str(&format!("md5,{:032x},ok-{i}\n", 0xabc0_0000u64 + u64::from(i)));
        }
    }
    let list = write(dir.path(), "mixed.csv", &body);
    let rejects = dir.path().join("rejects.txt");
    let (out, s) = import_raw(&index, "mixed", &[&list], &["--rejects", rejects.to_str().unwrap()]);
    let s = s.unwrap_or_else(|| panic!("{}", text(&out.stderr)));
    assert_eq!(bad_lines.len(), 14);
    assert_eq!(s.counts(), (26, 0, 0, 0, 14, 0));

    let prefix = format!("{}:", list.display());
    let line_of = |l: &str| -> u32 {
        let rest = l.strip_prefix(&prefix).unwrap_or_else(|| panic!("{l:?}"));
        rest.split(':').next().unwrap().parse().unwrap()
    };
    let stderr = text(&out.stderr);
    let shown: Vec<u32> = stderr.lines().filter(|l| l.starts_with(&prefix)).map(line_of).collect();
    assert_eq!(shown, bad_lines[..10], "{stderr}");
    assert!(stderr.contains("4 more"), "{stderr}");
    let all = std::fs::read_to_string(&rejects).unwrap();
    let listed: Vec<u32> = all.lines().map(line_of).collect();
    assert_eq!(listed, bad_lines);
    assert!(all.lines().all(|l| l.contains("bad md5 hash")), "{all}");
}

#[test]
fn strict_aborts_with_exit_2_and_leaves_the_index_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    import(&index, "local", &[&data("partner.tsv")], &[]);
    let before = std::fs::read(&index).unwrap();

    let rejects = dir.path().join("rejects.txt");
    let (out, s) = import_raw(
        &index,
        "local",
        &[&data("local.txt")],
        &["--strict", "--rejects", rejects.to_str().unwrap()],
    );
    assert!(s.is_none());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{}:11: ", data("local.txt").display())), "{stderr}");
    assert!(stderr.contains("--strict") && stderr.contains("nothing was applied"), "{stderr}");
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&rejects).unwrap().lines().count(), 1, "strict stops at the first");

    // Strict on a missing index creates nothing.
    let fresh = dir.path().join("fresh.mmi");
    let (out, _) = import_raw(&fresh, "local", &[&data("local.txt")], &["--strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!fresh.exists());

    // Strict with a clean file applies; lenient applies the valid lines of a bad one.
    let s = import(&index, "clean", &[&data("tat-hash-list.json")], &["--strict"]);
    assert_eq!(s.counts(), (3, 0, 0, 0, 0, 0));
    let s = import(&index, "local", &[&data("local.txt")], &[]);
    assert_eq!(s.counts(), (7, 0, 0, 0, 3, 1));
    assert_eq!(found(&index, "sha1:86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"), [triple("local", "", "")]);
}

#[test]
fn dry_run_counts_but_leaves_the_index_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let (out, s) = import_raw(&index, "local", &[&data("local.txt")], &["--dry-run"]);
    let s = s.unwrap_or_else(|| panic!("{}", text(&out.stderr)));
    assert_eq!((s.counts(), s.dry_run), ((7, 0, 0, 0, 3, 1), true));
    assert!(!index.exists(), "a dry run creates no index");

    import(&index, "local", &[&data("local.txt")], &[]);
    let before = std::fs::read(&index).unwrap();
    // Replacing all 7 entries is over --max-shrink's 50%: allowed here on purpose.
    let s = import(&index, "local", &[&data("partner.csv")], &["--dry-run", "--replace", "--allow-shrink"]);
    assert_eq!((s.counts(), s.version, s.dry_run), ((3, 0, 7, 0, 2, 1), 2, true));
    assert_eq!(std::fs::read(&index).unwrap(), before);
    // The one-line text summary says it was a dry run.
    let out = bin()
        .arg("import")
        .arg(&index)
        .args(["--list", "local", "--dry-run"])
        .arg(data("partner.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = text(&out.stdout);
    assert!(line.starts_with("dry run: ") && line.contains("added 3") && line.lines().count() == 1, "{line}");
    assert_eq!(std::fs::read(&index).unwrap(), before);
}

#[test]
fn delta_adds_updates_and_tombstones_remove() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let v1 = write(
        dir.path(),
        "v1.csv",
        "hash,algorithm,content_id,classification\n\
         00000000000000000000000000000001,md5,a,A1\n\
         00000000000000000000000000000002,md5,b,A1\n\
         00000000000000000000000000000003,md5,c,B1\n",
    );
    let s = import(&index, "partner", &[&v1], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((3, 0, 0, 0, 0, 0), 1, 3));
    // A delta: b withdrawn, c reclassified, d new; a not mentioned, so it stays.
    let v2 = write(
        dir.path(),
        "v2.jsonl",
        "{\"hash_digest\":\"00000000000000000000000000000002\",\"algorithm\":\"MD5\",\"id\":\"b\",\"deleted\":true}\n\
         {\"hash_digest\":\"00000000000000000000000000000003\",\"algorithm\":\"MD5\",\"id\":\"c\",\"label\":\"A2\"}\n\
         {\"hash_digest\":\"00000000000000000000000000000004\",\"algorithm\":\"MD5\",\"id\":\"d\"}\n",
    );
    let s = import(&index, "partner", &[&v2], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((1, 1, 1, 0, 0, 0), 2, 3));
    assert_eq!(found(&index, "md5:00000000000000000000000000000001"), [triple("partner", "a", "A1")]);
    assert!(found(&index, "md5:00000000000000000000000000000002").is_empty());
    assert_eq!(found(&index, "md5:00000000000000000000000000000003"), [triple("partner", "c", "A2")]);
    assert_eq!(found(&index, "md5:00000000000000000000000000000004"), [triple("partner", "d", "")]);
    // Tombstones by status spelling (TSV `status` column) remove what they name.
    let v3 = write(
        dir.path(),
        "v3.tsv",
        "hash\tkind\tid\tstatus\n\
         00000000000000000000000000000001\tmd5\ta\tdeleted\n\
         00000000000000000000000000000004\tmd5\td\tWithdrawn\n\
         00000000000000000000000000000009\tmd5\tz\tremoved\n",
    );
    let s = import(&index, "partner", &[&v3], &[]);
    assert_eq!((s.counts(), s.version, s.entries), ((0, 0, 2, 0, 0, 0), 3, 1));
    assert!(found(&index, "md5:00000000000000000000000000000001").is_empty());
    assert!(found(&index, "md5:00000000000000000000000000000004").is_empty());
    verify_ok(&index);
}

#[test]
fn replace_makes_the_list_exactly_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    import(&index, "l", &[&data("local.txt")], &[]);
    // Every entry of the list goes, over --max-shrink's 50%: allowed here on purpose.
    let s = import(&index, "l", &[&data("partner.tsv")], &["--replace", "--allow-shrink"]);
    // An entry is a (value, id): t1 has local.txt's first PDQ but is another entry.
    assert_eq!((s.counts(), s.version, s.entries), ((3, 0, 7, 0, 0, 0), 2, 3));
    let cat = catalog(&index);
    let mut ids: Vec<&str> = cat.entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["t1", "t2", "t4"]);
    assert!(found(&index, "md5:0cc175b9c0f1b6a831c399e269772661").is_empty());
    verify_ok(&index);
}

#[test]
fn an_entry_on_two_lists_stays_after_removal_from_one() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let both = write(dir.path(), "both.txt", &format!("pdq:{PDQ_A}\nmd5:0cc175b9c0f1b6a831c399e269772661\n"));
    import(&index, "ncmec", &[&both], &[]);
    import(&index, "local", &[&both], &[]);
    assert_eq!(found(&index, &format!("pdq:{PDQ_A}")), [triple("local", "", ""), triple("ncmec", "", "")]);
    let gone = write(dir.path(), "gone.csv", &format!("hash,kind,status\n{PDQ_A},pdq,deleted\n"));
    let s = import(&index, "ncmec", &[&gone], &[]);
    assert_eq!((s.counts(), s.entries), ((0, 0, 1, 0, 0, 0), 2));
    assert_eq!(found(&index, &format!("pdq:{PDQ_A}")), [triple("local", "", "")]);
    // Removed from its last list, the entry is gone.
    let s = import(&index, "local", &[&gone], &[]);
    assert_eq!((s.counts(), s.entries), ((0, 0, 1, 0, 0, 0), 1));
    assert!(found(&index, &format!("pdq:{PDQ_A}")).is_empty());
    assert_eq!(found(&index, "md5:0cc175b9c0f1b6a831c399e269772661").len(), 2);
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let first = import(&index, "partner", &[&data("partner.csv")], &[]);
    assert_eq!((first.counts(), first.version, first.changed), ((3, 0, 0, 0, 2, 1), 1, true));
    let bytes = std::fs::read(&index).unwrap();
    let modified = std::fs::metadata(&index).unwrap().modified().unwrap();
    for mode in [&[][..], &["--replace"][..]] {
        let again = import(&index, "partner", &[&data("partner.csv")], mode);
        assert_eq!(
            (again.counts(), again.version, again.changed),
            ((0, 0, 0, 3, 2, 1), 1, false),
            "{mode:?}"
        );
        assert_eq!(again.entries, first.entries);
        assert_eq!(std::fs::read(&index).unwrap(), bytes, "{mode:?}: the index was rewritten");
    }
    assert_eq!(std::fs::metadata(&index).unwrap().modified().unwrap(), modified, "not even rewritten");
    // The provenance is still that of the import that made version 1.
    let list = &catalog(&index).lists[0];
    assert_eq!((list.version, list.counts.added, list.counts.unchanged), (1, 3, 0));
}

#[test]
fn info_shows_each_list_with_its_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    import(&index, "partner", &[&data("partner.csv")], &[]);
    import(&index, "tat", &[&data("tat-hash-list.json"), &data("tat-hash-list.jsonl")], &[]);
    let s = import(&index, "tat", &[&data("stopncii-records.jsonl")], &[]);
    assert_eq!(s.version, 2);
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();

    let sha = |p: &Path| -> String {
        sha2::Sha256::digest(std::fs::read(p).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let cat = catalog(&index);
    let names: Vec<&str> = cat.lists.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["partner", "tat"]);
    let partner = &cat.lists[0];
    assert_eq!((partner.source.as_str(), partner.version), ("partner.csv", 1));
    assert_eq!(partner.source_sha256, sha(&data("partner.csv")));
    assert!((before..=after).contains(&partner.imported_at));
    let tat = &cat.lists[1];
    assert_eq!((tat.source.as_str(), tat.version), ("stopncii-records.jsonl", 2));
    // The VideoTMK line's value `AAAA` is no signature: rejected.
    assert_eq!((tat.counts.added, tat.counts.rejected, tat.counts.skipped), (3, 2, 0));

    let out = run(&[Path::new("info"), &index]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    for needle in [
        "lists: 2".to_string(),
        "partner: version 1, imported at ".to_string(),
        format!("source: partner.csv (sha256 {})", sha(&data("partner.csv"))),
        "last import: 3 added, 0 updated, 0 removed, 0 unchanged, 2 rejected, 1 skipped".to_string(),
        "tat: version 2".to_string(),
        format!("source: stopncii-records.jsonl (sha256 {})", sha(&data("stopncii-records.jsonl"))),
        format!("entries:        {}", cat.entries.len()),
    ] {
        assert!(info.contains(&needle), "{needle:?} missing from:\n{info}");
    }
}

#[test]
fn build_then_import_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("built.mmi");
    let out = bin()
        .arg("build")
        .arg("-o")
        .arg(&index)
        .arg(data("local.txt"))
        .arg(data("partner.tsv.gz"))
        .arg(data("tat-hash-list.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{}:11: ", data("local.txt").display())), "{stderr}");
    assert!(stderr.contains("in 3 list(s)") && stderr.contains("3 rejected"), "{stderr}");
    verify_ok(&index);
    let cat = catalog(&index);
    let names: Vec<&str> = cat.lists.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["local", "partner", "tat-hash-list"]);
    assert_eq!(
        found(&index, &format!("pdq:{PDQ_A}")),
        [triple("local", "", ""), triple("partner", "t1", "A1")]
    );
    // An import into the built index is a delta of the named list.
    let s = import(&index, "partner", &[&data("partner.tsv")], &[]);
    assert_eq!((s.counts(), s.version), ((0, 0, 0, 3, 0, 0), 1));
    let s = import(&index, "partner", &[&data("partner.csv")], &[]);
    assert_eq!((s.counts(), s.version), ((3, 0, 0, 0, 2, 1), 2));
    verify_ok(&index);
    // `build --strict` refuses a list with a bad line and writes nothing.
    let strict = dir.path().join("strict.mmi");
    let out =
        bin().arg("build").arg("--strict").arg("-o").arg(&strict).arg(data("local.txt")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!strict.exists());
}

#[test]
fn stale_temporary_files_of_a_killed_import_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    import(&index, "l", &[&data("partner.tsv")], &[]);
    let stale = [dir.path().join(".known.mmi.tmp-4242-0"), dir.path().join(".known.mmi.tmp-4242-1")];
    let kept = [
        dir.path().join(".other.mmi.tmp-4242-0"),
        dir.path().join(".known.mmi.tmp-notes"),
        dir.path().join("known.mmi.tmp-1-0"),
    ];
    for p in stale.iter().chain(&kept) {
        std::fs::write(p, b"half an index").unwrap();
    }
    // A dry run touches nothing; an import that changes nothing still cleans up.
    import(&index, "l", &[&data("partner.tsv")], &["--dry-run"]);
    assert!(stale.iter().all(|p| p.exists()));
    import(&index, "l", &[&data("partner.tsv")], &[]);
    for p in &stale {
        assert!(!p.exists(), "{} left behind", p.display());
    }
    for p in &kept {
        assert!(p.exists(), "{} is not ours to remove", p.display());
    }
}

/// Holds `INDEX.lock` the way an import does.
fn hold_lock(index: &Path) -> std::fs::File {
    let mut name = index.as_os_str().to_owned();
    name.push(".lock");
    let f =
        std::fs::File::options().create(true).truncate(false).write(true).open(PathBuf::from(name)).unwrap();
    f.lock().unwrap();
    f
}

#[test]
fn the_lock_serialises_imports() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let held = hold_lock(&index);

    // --no-wait fails at once with a clear message, exit 2, and writes nothing.
    let start = Instant::now();
    let (out, s) = import_raw(&index, "l", &[&data("partner.tsv")], &["--no-wait"]);
    assert!(s.is_none());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("another import is updating") && stderr.contains("known.mmi.lock"), "{stderr}");
    assert!(start.elapsed() < Duration::from_secs(10), "--no-wait waited");
    assert!(!index.exists());

    // Without it, the import waits for the lock...
    let mut child = bin()
        .arg("import")
        .arg(&index)
        .args(["--list", "l", "--json"])
        .arg(data("partner.tsv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(child.try_wait().unwrap().is_none(), "the import did not wait for the lock");
    assert!(!index.exists());
    // ...and goes on when it is released.
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s: Summary = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!((s.counts(), s.version), ((3, 0, 0, 0, 0, 0), 1));
    verify_ok(&index);

    // `build` of the same file takes the same lock.
    let held = hold_lock(&index);
    let mut child = bin()
        .arg("build")
        .arg("-o")
        .arg(&index)
        .arg(data("local.txt"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "build did not wait for the lock");
    drop(held);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(catalog(&index).lists[0].name, "local");
}

#[test]
fn import_keeps_a_bk_tree_built_index_a_bk_tree() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("tree.mmi");
    let structure = |index: &Path| -> Vec<String> {
        let out = run(&[std::ffi::OsStr::new("info"), std::ffi::OsStr::new("--json"), index.as_os_str()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kind"] == "pdq")
            .map(|k| k["structure"].as_str().unwrap().to_string())
            .collect()
    };
    let out = bin()
        .args(["build", "--structure", "bktree", "-o"])
        .arg(&index)
        .arg(data("partner.tsv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before = structure(&index);
    assert!(before.len() == 1 && before[0].starts_with("bk-tree"), "{before:?}");
    let s = import(&index, "partner", &[&data("partner.csv")], &[]);
    assert!(s.counts().0 > 0, "the import changed the list, so the file was rebuilt");
    let after = structure(&index);
    assert!(after.len() == 1 && after[0].starts_with("bk-tree"), "{after:?}");
    verify_ok(&index);
}

#[test]
fn a_tampered_index_is_refused_before_its_entries_are_carried_forward() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    import(&index, "local", &[&data("partner.tsv")], &[]);
    let refused = |what: &str| {
        let (out, s) = import_raw(&index, "clean", &[&data("tat-hash-list.json")], &[]);
        assert!(s.is_none(), "{what}");
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("damaged") && stderr.contains("nothing was imported"), "{what}: {stderr}");
    };
    // One flipped bit in the manifest's last byte (a tombstone or segment record): the
    // checksum fails, so the manifest is refused.
    let manifest = std::fs::read(&index).unwrap();
    let mut bad = manifest.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    std::fs::write(&index, &bad).unwrap();
    refused("manifest");
    assert_eq!(std::fs::read(&index).unwrap(), bad, "left as it was, so `verify` still says what is wrong");
    std::fs::write(&index, &manifest).unwrap();
    // One flipped bit in the last byte of the segment (its string table): the layout opens,
    // and the import, which merges this small segment with its new one, verifies it first.
    let segments: Vec<_> = std::fs::read_dir(dir.path().join("known.mmi.segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let mut seg = std::fs::read(&segments[0]).unwrap();
    let last = seg.len() - 1;
    seg[last] ^= 0x01;
    std::fs::write(&segments[0], &seg).unwrap();
    refused("segment");
    assert_eq!(std::fs::read(&index).unwrap(), manifest, "the manifest was not replaced");
    assert_eq!(std::fs::read(&segments[0]).unwrap(), seg);
}
