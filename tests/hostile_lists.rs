//! Hostile and broken list files through the CLI (issue 11): every input is generated
//! here. Each test asserts the clear error or the `file:line` reject, the counts, the exit
//! code, and that no entry of the index was lost.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::cli::{mediamatch, output_within, run, text};
use mediamatch::index::Index;
use serde_json::Value;

/// `import INDEX --list LIST --json EXTRA... FILES...`: the output and, on exit 0, the summary.
fn import(index: &Path, list: &str, files: &[&Path], extra: &[&str]) -> (Output, Option<Value>) {
    let mut args: Vec<OsString> =
        vec!["import".into(), index.into(), "--list".into(), list.into(), "--json".into()];
    args.extend(extra.iter().map(OsString::from));
    args.extend(files.iter().map(OsString::from));
    let out = run(&args);
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

    // `build` and `scan` read the page through the same parser and refuse it the same way.
    let built = dir.path().join("built.mmi");
    let empty = tempfile::tempdir().unwrap();
    for args in [build_args(&built, &page, &[]), scan_args(empty.path(), &page, &[])] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(text(&out.stderr).contains(&want), "{args:?}: {}", text(&out.stderr));
    }
    assert!(!built.exists());

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

/// `build -o OUT EXTRA... LIST`.
fn build_args(out: &Path, list: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["build".into(), "-o".into(), out.into()];
    args.extend(extra.iter().map(OsString::from));
    args.push(list.into());
    args
}

/// `scan DIR EXTRA... --list LIST`.
fn scan_args(dir: &Path, list: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["scan".into(), dir.into()];
    args.extend(extra.iter().map(OsString::from));
    args.extend(["--list".into(), list.into()]);
    args
}

/// Runs `mediamatch ARGS`, killing it after 20 s: a blocked open fails the test instead of
/// hanging it.
fn run_within_20s<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    let mut cmd = mediamatch();
    cmd.args(args);
    output_within(cmd, Duration::from_secs(20))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn lists_over_max_list_size_are_refused_by_name_of_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    // A gzip bomb in small: 64 KB inflating to 64 MiB, against a 1 MiB cap.
    let bomb = write(dir.path(), "bomb.csv.gz", gzip(&vec![b'0'; 64 << 20]));
    // A plain list of 1,000 valid rows just over the cap (by padding a label).
    let big = write(
        dir.path(),
        "big.csv",
        csv_list(0..1000, |i| if i == 0 { "x".repeat(1 << 20) } else { "l".into() }),
    );
    for list in [&bomb, &big] {
        let (out, _) = import(&index, "feed", &[list], &["--replace", "--max-list-size", "1M"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("refused by --max-list-size"), "{stderr}");
        assert!(stderr.contains("list is larger than the limit of 1048576 bytes"), "{stderr}");
        assert_eq!(std::fs::read(&index).unwrap(), before);
        let built = dir.path().join("b.mmi");
        let empty = tempfile::tempdir().unwrap();
        let cap = ["--max-list-size", "1M"];
        for args in [build_args(&built, list, &cap), scan_args(empty.path(), list, &cap)] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
            assert!(text(&out.stderr).contains("refused by --max-list-size"), "{args:?}: {out:?}");
        }
        assert!(!built.exists());
    }
    // Under the default cap the big list applies (every label changed).
    let (out, s) = import(&index, "feed", &[&big], &["--replace"]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [0, 1000, 0, 0, 0]);
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_as_lists_or_indexes_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    let fifo = dir.path().join("list.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for list in [fifo.as_path(), Path::new("/dev/zero")] {
        let args: [&std::ffi::OsStr; 6] = [
            "import".as_ref(),
            index.as_os_str(),
            "--list".as_ref(),
            "feed".as_ref(),
            "--replace".as_ref(),
            list.as_os_str(),
        ];
        let out = run_within_20s(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{}: cannot read list: not a regular file", list.display())),
            "{stderr}"
        );
        assert_eq!(std::fs::read(&index).unwrap(), before);
    }
    // The lock was released: an import that will not wait for it goes through.
    let more = write(dir.path(), "more.csv", csv_list(1000..1001, |_| "new".into()));
    let (out, s) = import(&index, "feed", &[&more], &["--no-wait"]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [1, 0, 0, 0, 0]);

    // An index path that is a FIFO: every command refuses it at once.
    let fifo_index = dir.path().join("index.fifo");
    assert!(Command::new("mkfifo").arg(&fifo_index).status().unwrap().success());
    let empty = tempfile::tempdir().unwrap();
    let commands: [Vec<std::ffi::OsString>; 5] = [
        vec!["info".into(), fifo_index.clone().into()],
        vec!["verify".into(), fifo_index.clone().into()],
        vec!["query".into(), "--index".into(), fifo_index.clone().into(), format!("md5:{}", md5(1)).into()],
        vec!["scan".into(), "--index".into(), fifo_index.clone().into(), empty.path().into()],
        vec!["import".into(), fifo_index.clone().into(), "--list".into(), "x".into(), more.clone().into()],
    ];
    for args in commands {
        let out = run_within_20s(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(text(&out.stderr).contains("not a regular file"), "{args:?}: {out:?}");
    }
    assert!(!dir.path().join("index.fifo.lock").exists(), "no lock beside a non-regular index");

    // /dev/zero as the index: refused before a lock file is made beside it.
    let had_lock = Path::new("/dev/zero.lock").exists();
    let out = run_within_20s(&[
        "import".as_ref(),
        "/dev/zero".as_ref(),
        "--list".as_ref(),
        "x".as_ref(),
        more.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("/dev/zero is not a regular file"), "{out:?}");
    assert!(had_lock || !Path::new("/dev/zero.lock").exists());
}

#[cfg(unix)]
#[test]
fn import_through_a_symlinked_index_updates_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let link = dir.path().join("live.mmi");
    std::os::unix::fs::symlink(&index, &link).unwrap();
    let more = write(dir.path(), "more.csv", csv_list(1000..1001, |_| "new".into()));
    let (out, s) = import(&link, "feed", &[&more], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [1, 0, 0, 0, 0]);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert_eq!(std::fs::read_link(&link).unwrap(), index);
    assert_eq!(entries(&index), 1001);
    // A link to nothing is refused rather than replaced by a file.
    let dangling = dir.path().join("dangling.mmi");
    std::os::unix::fs::symlink(dir.path().join("missing.mmi"), &dangling).unwrap();
    let (out, _) = import(&dangling, "feed", &[&more], &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("is a symlink to a missing file"), "{out:?}");
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
}

#[test]
fn a_replacement_by_a_broken_feed_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    // An HTML error page fails as a page; a plain-text one has only rejected lines.
    let html = write(dir.path(), "feed.csv", "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
    let (out, _) = import(&index, "feed", &[&html], &["--replace"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let error = write(dir.path(), "error.csv", "Service Unavailable, try again later\n");
    let empty = write(dir.path(), "empty.csv", "");
    for (file, want) in [
        (&error, "the files hold no valid line (1 rejected): replacing list \"feed\" with them would remove all 1000 of its entries"),
        (&empty, "the files hold no valid line (0 rejected): replacing list \"feed\" with them would remove all 1000 of its entries"),
    ] {
        let (out, s) = import(&index, "feed", &[file], &["--replace"]);
        let stderr = text(&out.stderr);
        assert!(s.is_none());
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(want) && stderr.contains("--allow-shrink"), "{stderr}");
        assert_eq!(std::fs::read(&index).unwrap(), before, "index untouched");
    }
    // 600 of the 1,000 rows: 40% removed, under the default 50%.
    let most = write(dir.path(), "most.csv", csv_list(0..600, |i| format!("label{i}")));
    let (out, s) = import(&index, "feed", &[&most], &["--replace"]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [0, 0, 400, 600, 0]);
    // 100 of those 600: 83% removed, refused; allowed by a higher --max-shrink or --allow-shrink.
    let few = write(dir.path(), "few.csv", csv_list(0..100, |i| format!("label{i}")));
    let before = std::fs::read(&index).unwrap();
    let (out, _) = import(&index, "feed", &[&few], &["--replace"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        text(&out.stderr).contains("would remove 500 of its 600 entries (83.3%, over the limit of 50%"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(&index).unwrap(), before);
    let (out, s) = import(&index, "feed", &[&few], &["--replace", "--dry-run", "--max-shrink", "90%"]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [0, 0, 500, 100, 0]);
    let (out, s) = import(&index, "feed", &[&few], &["--replace", "--allow-shrink"]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [0, 0, 500, 100, 0]);
    assert_eq!(entries(&index), 100);
    // A page of errors is refused even with --max-shrink 100%; a delta never shrinks by omission.
    let (out, _) = import(&index, "feed", &[&error], &["--replace", "--max-shrink", "100%"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let (out, s) = import(&index, "feed", &[&error], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [0, 0, 0, 0, 1]);
    assert_eq!(entries(&index), 100);
}

#[test]
fn an_out_of_range_number_in_a_jsonl_field_rejects_nothing_it_does_not_need() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("known.mmi");
    let list = write(
        dir.path(),
        "feed.jsonl",
        format!(
            "{{\"algorithm\":\"md5\",\"hash_digest\":\"{}\",\"score\":1e999,\"id\":1}}\n\
             {{\"algorithm\":\"md5\",\"hash_digest\":\"{}\",\"quality\":123456789012345678901234567890,\"id\":123456789012345678901234567890}}\n\
             {{\"algorithm\":\"md5\",\"hash_digest\":1e999,\"id\":3}}\n\
             {{\"algorithm\":\"md5\",\"hash_digest\":\"{}\",\"tags\":[1e999],\"id\":4}}\n",
            md5(1),
            md5(2),
            md5(4)
        ),
    );
    let (out, s) = import(&index, "tat", &[&list], &[]);
    assert_eq!(counts(&s.unwrap_or_else(|| panic!("{out:?}"))), [2, 0, 0, 0, 2]);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{}:3: bad md5 hash \"1e999\"", list.display())), "{stderr}");
    assert!(
        stderr
            .contains(&format!("{}:4: bad JSON record: field \"tags\": number out of range", list.display())),
        "{stderr}"
    );
    let catalog = Index::open(&index).unwrap().catalog().unwrap();
    let mut ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["1", "123456789012345678901234567890"], "the long id is kept exactly");
}

#[test]
fn html_pages_are_refused_by_import_and_build_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let index = index_of_1000(dir.path());
    let before = std::fs::read(&index).unwrap();
    let pages = [
        (
            "doctype.xml",
            "<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n".as_bytes().to_vec(),
        ),
        ("lower.csv", b"\n\n  <!doctype html><title>Sign in</title>".to_vec()),
        ("bom.txt", b"\xef\xbb\xbf<HTML><BODY></BODY></HTML>".to_vec()),
        ("page.xml.gz", gzip(b"<html>\n</html>\n")),
    ];
    for (name, bytes) in pages {
        let page = write(dir.path(), name, bytes);
        for format in [&[][..], &["--format", "ncmec"][..]] {
            let (out, s) =
                import(&index, "feed", &[&page], &[&["--replace", "--allow-shrink"][..], format].concat());
            let stderr = text(&out.stderr);
            assert!(s.is_none());
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(
                stderr.contains(name) && stderr.contains("looks like an HTML page, not a hash list"),
                "{stderr}"
            );
            assert_eq!(std::fs::read(&index).unwrap(), before, "index untouched");
        }
        let out =
            mediamatch().arg("build").arg("-o").arg(dir.path().join("b.mmi")).arg(&page).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(name) && stderr.contains("looks like an HTML page"), "{stderr}");
    }
}
