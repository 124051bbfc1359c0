//! Hostile and broken list files through the CLI (issue 11): every input is generated
//! here. Each test asserts the clear error or the `file:line` reject, the counts, the exit
//! code, and that no entry of the index was lost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mediamatch::index::Index;
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mediamatch"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `import INDEX --list LIST --json EXTRA... FILES...`: the output and, on exit 0, the summary.
fn import(index: &Path, list: &str, files: &[&Path], extra: &[&str]) -> (Output, Option<Value>) {
    let out = bin()
        .arg("import")
        .arg(index)
        .args(["--list", list, "--json"])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    let summary = (out.status.code() == Some(0))
        .then(|| serde_json::from_str(text(&out.stdout).trim()).unwrap_or_else(|e| panic!("{e}: {out:?}")));
    (out, summary)
}

/// (added, updated, removed, unchanged, rejected) of a summary.
fn counts(s: &Value) -> [u64; 5] {
    ["added", "updated", "removed", "unchanged", "rejected"].map(|k| s[k].as_u64().unwrap())
}

/// An MD5-looking value for row `i`.
fn md5(i: u32) -> String {
    format!("{i:032x}")
}

/// A CSV list of rows `rows` (`hash,kind,id,label`); `label(i)` writes row i's label.
fn csv_list(rows: std::ops::Range<u32>, label: impl Fn(u32) -> String) -> String {
    let mut s = String::from("hash,kind,id,label\n");
    for i in rows {
        s.push_str(&format!("{},md5,id{i},{}\n", md5(i), label(i)));
    }
    s
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// An index whose list `feed` holds the 1,000 rows of [`csv_list`].
fn index_of_1000(dir: &Path) -> PathBuf {
    let index = dir.join("known.mmi");
    let list = write(dir, "full.csv", csv_list(0..1000, |i| format!("label{i}")));
    let (out, s) = import(&index, "feed", &[&list], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [1000, 0, 0, 0, 0]);
    index
}

fn entries(index: &Path) -> usize {
    Index::open(index).unwrap().catalog().unwrap().entries.len()
}

#[test]
fn an_unbalanced_quote_in_a_csv_label_rejects_its_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    // Row 3 (line 5: the header is line 1) opens a quote it never closes.
    let update = write(
        dir.path(),
        "update.csv",
        csv_list(0..1000, |i| if i == 3 { "bad,\"label".into() } else { format!("label{i}") }),
    );

    // --strict refuses the file: exit 2, the line reported, the index byte-identical.
    let (out, s) = import(&index, "feed", &[&update], &["--replace", "--strict"]);
    let stderr = text(&out.stderr);
    assert!(s.is_none());
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5: a quoted field runs past the end of the line", update.display())),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was applied"), "{stderr}");
    assert_eq!(std::fs::read(&index).unwrap(), before);

    // Lenient: that one line is rejected, the 999 after and before it are read as lines.
    let (out, s) = import(&index, "feed", &[&update], &["--replace"]);
    let s = s.unwrap_or_else(|| panic!("{out:?}"));
    assert!(text(&out.stderr).contains(&format!("{}:5: ", update.display())), "{out:?}");
    assert_eq!(counts(&s), [0, 0, 1, 999, 1]);
    assert_eq!(entries(&index), 999);
}

#[test]
fn rejects_in_a_cr_only_csv_are_reported_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let list = write(
        dir.path(),
        "mac.csv",
        format!("hash,kind,id\r{},md5,a\rnot-hex,md5,b\r{},md5,c\r", md5(1), md5(2)),
    );
    let (out, s) = import(&index, "mac", &[&list], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [2, 0, 0, 0, 1]);
    assert!(text(&out.stderr).contains(&format!("{}:3: bad md5 hash", list.display())), "{out:?}");
}

/// An NCMEC page whose first image nests `depth` elements (140 KB at 20,000).
fn deep_page(depth: usize) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<queryResult>\n<images>\n{}{}\n</images></queryResult>\n",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

#[test]
fn a_deeply_nested_ncmec_page_is_refused_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    let page = write(dir.path(), "deep.xml", deep_page(20_000));
    let want =
        format!("{}: line 4: bad NCMEC XML: elements nested more than 256 levels deep", page.display());

    let started = std::time::Instant::now();
    let (out, _) = import(&index, "ncmec", &[&page], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains(&want), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&index).unwrap(), before);
    assert!(started.elapsed().as_secs() < 5);

    let built = dir.path().join("built.mmi");
    let out = bin().arg("build").arg("-o").arg(&built).arg(&page).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains(&want), "{}", text(&out.stderr));
    assert!(!built.exists());

    let empty = tempfile::tempdir().unwrap();
    let out = bin().arg("scan").arg(empty.path()).arg("--list").arg(&page).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains(&want), "{}", text(&out.stderr));

    // A page of normal depth still reads.
    let ok = write(
        dir.path(),
        "ok.xml",
        format!(
            "<queryResult><images><image><id>i1</id><fingerprints><md5>{}</md5></fingerprints></image></images></queryResult>",
            md5(5000)
        ),
    );
    let (out, s) = import(&index, "ncmec", &[&ok], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [1, 0, 0, 0, 0]);
}
