//! The streaming build from list files (`lists::build::ListBuilder`, what `mediamatch build`
//! runs) writes the very bytes of the in-memory path it replaces: each file applied with
//! `delta::apply` in replace mode to an empty catalog, then `index::build`. Random files
//! mix CSV rows (ids, labels, withdrawals, values withdrawn without id) and NCMEC pages
//! (id tombstones, several hashes on one line), repeat list names (a later file replaces
//! the list), and are built with budgets small enough to force many sorted runs.

use std::path::Path;

use mediamatch::catalog::Catalog;
use mediamatch::index::{build, BuildOptions, StreamOptions};
use mediamatch::lists::build::ListBuilder;
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000;

/// One generated list file: its list name and text.
#[derive(Clone, Debug)]
struct File {
    list: &'static str,
    text: String,
}

fn md5(n: u8) -> String {
    format!("{:032x}", u128::from(n) * 0x0101_0101_0101_0101)
}

fn phash(n: u8) -> String {
    format!("{:016x}", u64::from(n) << 8)
}

/// A CSV row: value, kind, id, label, status.
fn row() -> impl Strategy<Value = String> {
    (0u8..10, any::<bool>(), 0usize..4, 0usize..3, 0usize..5).prop_map(|(n, is_md5, id, label, status)| {
        let (hash, kind) = if is_md5 { (md5(n), "md5") } else { (phash(n), "phash") };
        let id = ["", "x", "y", "z"][id];
        let label = ["", "L1", "L2"][label];
        let status = ["", "", "", "deleted", "active"][status];
        format!("{hash},{kind},{id},{label},{status}\n")
    })
}

/// An NCMEC element: an image with an md5 and a sha1 on one line, or a tombstone.
fn element() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u8..10, 0usize..3).prop_map(|(n, id)| {
            let id = ["x", "y", "z"][id];
            format!(
                "<image><id>{id}</id><fingerprints><md5>{}</md5><sha1>{:040x}</sha1></fingerprints></image>",
                md5(n),
                n
            )
        }),
        1 => (0usize..3).prop_map(|id| format!("<deletedImage><id>{}</id></deletedImage>", ["x", "y", "z"][id])),
    ]
}

fn file() -> impl Strategy<Value = File> {
    let list = prop_oneof![Just("a"), Just("b"), Just("c")];
    let csv = proptest::collection::vec(row(), 0..30)
        .prop_map(|rows| format!("hash,kind,id,label,status\n{}", rows.concat()));
    // Elements sometimes share a line, so a tombstone and a record can be on one line.
    let ncmec = proptest::collection::vec((element(), any::<bool>()), 0..12).prop_map(|els| {
        let body: String = els.into_iter().map(|(e, newline)| if newline { e + "\n" } else { e }).collect();
        format!(
            "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\"><images>\n{body}</images></queryResult>\n"
        )
    });
    (list, prop_oneof![3 => csv, 1 => ncmec]).prop_map(|(list, text)| File { list, text })
}

/// The in-memory path's bytes for `files`.
fn in_memory(files: &[File]) -> Vec<u8> {
    let mut catalog = Catalog::default();
    for (i, f) in files.iter().enumerate() {
        let source =
            ListFile::from_bytes(&format!("{i}.txt"), f.text.as_bytes(), &ParseOptions::default()).unwrap();
        apply(&mut catalog, f.list, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: NOW });
    }
    build(&catalog, &BuildOptions::default()).unwrap()
}

/// The streaming path's bytes for `files`, with a sort budget of `memory` bytes; checks
/// that nothing but the index is left beside it.
fn streamed(files: &[File], memory: usize, dir: &Path) -> Vec<u8> {
    let path = dir.join("index.mmi");
    let mut builder = ListBuilder::new(&path, &StreamOptions { memory });
    for (i, f) in files.iter().enumerate() {
        builder.add_bytes(f.list, &format!("{i}.txt"), f.text.as_bytes(), &ParseOptions::default()).unwrap();
    }
    builder.finish(&BuildOptions::default(), NOW).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("index.mmi")], "temporary runs are removed");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_streaming_build_writes_the_in_memory_builds_bytes(
        files in proptest::collection::vec(file(), 1..5),
        memory in prop_oneof![Just(1usize), Just(600), Just(256 << 20)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let want = in_memory(&files);
        let got = streamed(&files, memory, dir.path());
        prop_assert!(got == want, "bytes differ ({} vs {} bytes)", got.len(), want.len());
    }
}

#[test]
fn a_larger_build_spills_many_runs_and_keeps_the_bytes() {
    // 20,000 rows in three files, two of them the same list; a 64 KiB budget makes dozens
    // of runs, more than one merge reads at once.
    let mut files = Vec::new();
    for (f, list) in ["a", "b", "a"].iter().enumerate() {
        let mut text = String::from("hash,kind,id,label,status\n");
        for i in 0..7000u32 {
            let n = (i * 7 + f as u32 * 3) % 9000;
            let status = if i % 97 == 0 { "deleted" } else { "" };
            text += &format!("{:016x},phash,id{},L{},{status}\n", u64::from(n) * 0x9e37_79b9, n % 50, n % 3);
        }
        files.push(File { list, text });
    }
    let dir = tempfile::tempdir().unwrap();
    let want = in_memory(&files);
    assert_eq!(streamed(&files, 64 << 10, dir.path()), want);
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.mmi");
    {
        let mut builder = ListBuilder::new(&path, &StreamOptions { memory: 1 });
        let text = "hash,kind\n0123456789abcdef,phash\nfedcba9876543210,phash\n";
        builder.add_bytes("a", "a.csv", text.as_bytes(), &ParseOptions::default()).unwrap();
        // Dropped before finish (as `build --strict` does on a rejected line).
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "runs removed, no index written");
}
