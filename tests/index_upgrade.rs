//! `mediamatch upgrade` and `LegacyIndex`: a format 1 index is carried forward to the
//! current format without its list files, losing nothing; damaged files are refused and
//! left as they are; current files are left untouched; matching, `scan` and `import`
//! refuse format 1 with the upgrade advice.
//!
//! The format 1 file is `tests/data/index/format-v1.mmi`, written by `mediamatch build` at
//! the last commit of format 1 from `tests/data/lists/local.txt` (see the README there), so
//! its catalog is known independently of the reader under test: it is that list file's.

mod common;
mod index_support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::{crate_dir, run, text};
use index_support::{all_structures, catalog_of};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, BuildOptions, Index, IndexError, LegacyIndex, Structure, FORMAT_VERSION};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::{HashValue, Kind, Pdq, Phash};

const ITEMS_TAG: u32 = 6;

fn data(rel: &str) -> PathBuf {
    crate_dir().join("tests/data").join(rel)
}

/// The bytes of the real format 1 fixture.
fn fixture() -> Vec<u8> {
    let bytes = std::fs::read(data("index/format-v1.mmi")).unwrap();
    assert_eq!(&bytes[..8], b"MMINDEX\0");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 1, "the fixture is format 1");
    bytes
}

/// The fixture copied into a fresh temporary directory.
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.mmi");
    std::fs::write(&path, fixture()).unwrap();
    (dir, path)
}

fn stderr(out: &Output) -> String {
    text(&out.stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Recomputes the checksum after a deliberate change.
fn reseal(bytes: &mut [u8]) {
    use sha2::Digest;
    bytes[32..64].fill(0);
    let sum = sha2::Sha256::digest(&bytes[..]);
    bytes[32..64].copy_from_slice(&sum);
}

/// The sections of an index file as (tag, kind, param, contents), from its section table.
fn sections(bytes: &[u8]) -> Vec<(u32, u8, u64, Vec<u8>)> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    (0..u32_at(24) as usize)
        .map(|i| {
            let at = 64 + i * 32;
            let (offset, len) = (u64_at(at + 16) as usize, u64_at(at + 24) as usize);
            (u32_at(at), bytes[at + 4], u64_at(at + 8), bytes[offset..offset + len].to_vec())
        })
        .collect()
}

/// A file of `version` holding `sections`, laid out as the format spec says: header,
/// section table, then each section 8-byte aligned and zero padded, checksum last.
fn assemble(version: u32, sections: &[(u32, u8, u64, Vec<u8>)]) -> Vec<u8> {
    let pad8 = |n: usize| n.div_ceil(8) * 8;
    let mut at = pad8(64 + sections.len() * 32);
    let mut table = Vec::new();
    let mut starts = Vec::new();
    for (tag, kind, param, body) in sections {
        table.extend_from_slice(&tag.to_le_bytes());
        table.extend_from_slice(&[*kind, 0, 0, 0]);
        table.extend_from_slice(&param.to_le_bytes());
        table.extend_from_slice(&(at as u64).to_le_bytes());
        table.extend_from_slice(&(body.len() as u64).to_le_bytes());
        starts.push(at);
        at = pad8(at + body.len());
    }
    let mut out = b"MMINDEX\0".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&64u32.to_le_bytes());
    out.extend_from_slice(&(at as u64).to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 36]);
    out.extend_from_slice(&table);
    for ((_, _, _, body), start) in sections.iter().zip(starts) {
        out.resize(start, 0);
        out.extend_from_slice(body);
    }
    out.resize(at, 0);
    reseal(&mut out);
    out
}

/// A current file as format 1 wrote it: the same sections without the items section.
fn downgrade(current: &[u8]) -> Vec<u8> {
    let kept: Vec<_> = sections(current).into_iter().filter(|s| !(s.0 == ITEMS_TAG && s.1 == 0)).collect();
    assemble(1, &kept)
}

/// The catalog `mediamatch build` makes of `tests/data/lists/local.txt` at `imported_at`.
fn catalog_of_local_list(imported_at: u64) -> Catalog {
    let source = ListFile::read(&data("lists/local.txt"), &ParseOptions::default()).unwrap();
    let mut catalog = Catalog::default();
    apply(&mut catalog, "local", &[source], &ApplyOptions { mode: Mode::Replace, imported_at });
    catalog
}

/// Checks that `bytes`, an index file of format `version`, holds exactly the catalog of
/// `tests/data/lists/local.txt`.
fn assert_holds_the_local_list(bytes: Vec<u8>, version: u32) {
    let old = LegacyIndex::from_bytes(bytes).unwrap();
    assert_eq!(old.format_version(), version);
    old.verify().unwrap();
    let catalog = old.catalog().unwrap();
    assert_eq!(catalog.lists.len(), 1);
    // The one field the list file cannot give back: when the fixture was built.
    let expected = catalog_of_local_list(catalog.lists[0].imported_at);
    assert!(!expected.entries.is_empty());
    assert_eq!(catalog.lists, expected.lists, "lists with provenance and counts");
    let mut entries = expected.entries.clone();
    entries.sort();
    assert_eq!(catalog.entries, entries, "every entry, in canonical order");
}

/// Every answer of `index` to `queries` at `radius`: the hits with their entries and list
/// names, and each hit's item.
fn answers(index: &Index<&[u8]>, queries: &[HashValue], radius: u32) -> Vec<String> {
    let mut out = Vec::new();
    for q in queries {
        for hit in index.search(q, radius).unwrap() {
            let e = index.entry(hit.entry).unwrap().to_entry();
            let lists: Vec<String> = e.lists.iter().map(|&l| index.list(l).unwrap().name).collect();
            let item = index.same_id(hit.entry).unwrap();
            out.push(format!("{q} r{radius}: {hit:?} {e:?} {lists:?} item {item:?}"));
        }
    }
    out
}

#[test]
fn the_v1_fixture_holds_the_catalog_of_the_list_it_was_built_from() {
    assert_holds_the_local_list(fixture(), 1);
}

#[test]
fn upgrade_in_place_writes_the_build_of_the_same_catalog() {
    let (_dir, path) = fixture_copy();
    let out = run(&["upgrade", s(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("from index format version 1 to"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "messages go to stderr");

    let upgraded = std::fs::read(&path).unwrap();
    let index = Index::from_bytes(upgraded.as_slice()).unwrap();
    index.verify().unwrap();
    assert_eq!(index.info().unwrap().format_version, FORMAT_VERSION);

    let old = LegacyIndex::from_bytes(fixture()).unwrap();
    let catalog = old.catalog().unwrap();
    assert_eq!(index.catalog().unwrap(), catalog, "same lists (provenance, counts) and entries");
    assert_eq!(index.build_options(), old.build_options());
    assert_eq!(upgraded, build(&catalog, &old.build_options()).unwrap(), "byte for byte a build");
    // And a build of the catalog taken from the list file, not from the reader under test.
    let from_list = catalog_of_local_list(catalog.lists[0].imported_at);
    assert_eq!(upgraded, build(&from_list, &BuildOptions::default()).unwrap());
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn the_upgraded_index_answers_queries_like_a_fresh_build() {
    let (_dir, path) = fixture_copy();
    assert!(run(&["upgrade", s(&path)]).status.success());
    let upgraded = std::fs::read(&path).unwrap();
    let catalog = catalog_of_local_list(
        LegacyIndex::from_bytes(fixture()).unwrap().catalog().unwrap().lists[0].imported_at,
    );
    let fresh = build(&catalog, &BuildOptions::default()).unwrap();
    let (a, b) =
        (Index::from_bytes(upgraded.as_slice()).unwrap(), Index::from_bytes(fresh.as_slice()).unwrap());
    // Every stored value, and each with a few bits flipped.
    let mut queries: Vec<HashValue> = catalog.entries.iter().map(|e| e.value).collect();
    for e in &catalog.entries {
        match e.value {
            HashValue::Phash(p) => queries.push(HashValue::Phash(Phash(p.0 ^ 0b1011))),
            HashValue::Pdq(p) => {
                queries.push(HashValue::Pdq(Pdq { words: [p.words[0] ^ 0xff, p.words[1], !0, p.words[3]] }))
            }
            _ => {}
        }
    }
    let mut total = 0;
    for radius in [0, 4, 31, 90, 256] {
        let (x, y) = (answers(&a, &queries, radius), answers(&b, &queries, radius));
        assert_eq!(x, y, "radius {radius}");
        total += x.len();
    }
    assert!(total >= 3 * catalog.entries.len(), "the queries found the entries ({total} hits)");
}

#[test]
fn every_structure_survives_a_round_trip_through_format_1() {
    let mut values = Vec::new();
    for i in 0..40u64 {
        values.push(HashValue::Phash(Phash(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))));
        values.push(HashValue::Pdq(Pdq { words: [i, !i, i << 9, i * 7] }));
    }
    values.push("md5:0cc175b9c0f1b6a831c399e269772661".parse().unwrap());
    let catalog = catalog_of(&values);
    for (name, options) in all_structures() {
        let current = build(&catalog, &options).unwrap();
        let v1 = downgrade(&current);
        let old = LegacyIndex::from_bytes(v1.as_slice()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(old.catalog().unwrap(), Index::from_bytes(current.as_slice()).unwrap().catalog().unwrap());
        let upgraded = old.upgrade().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(upgraded, build(&catalog, &old.build_options()).unwrap(), "{name}");
        let bk = matches!(options.pdq, Structure::BkTree);
        assert_eq!(matches!(old.build_options().pdq, Structure::BkTree), bk, "{name}: BK-tree kept");
        if bk || options == BuildOptions::default() {
            assert_eq!(upgraded, current, "{name}: the same structure, so the same bytes");
        }
    }
}

#[test]
fn downgrading_the_upgraded_fixture_gives_the_fixture_back() {
    // Checks this file's `downgrade` against a file format 1 really wrote, so the round
    // trips above test real format 1 layouts.
    let upgraded = LegacyIndex::from_bytes(fixture()).unwrap().upgrade().unwrap();
    assert_eq!(downgrade(&upgraded), fixture());
}

#[test]
fn upgrading_a_current_index_changes_nothing() {
    let (dir, path) = fixture_copy();
    assert!(run(&["upgrade", s(&path)]).status.success());
    let current = std::fs::read(&path).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let other = dir.path().join("other.mmi");
    for args in [vec![s(&path)], vec![s(&path), "-o", s(&other)]] {
        let out = run(&[&["upgrade"], args.as_slice()].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("already index format version"), "{}", stderr(&out));
        assert_eq!(std::fs::read(&path).unwrap(), current);
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified, "not rewritten");
        assert!(!other.exists());
    }
    let err = LegacyIndex::from_bytes(current).unwrap_err();
    assert!(matches!(err, IndexError::AlreadyCurrent { version: FORMAT_VERSION }), "{err}");
}

#[test]
fn a_damaged_v1_file_is_refused_and_left_as_it_is() {
    let good = fixture();
    // Every byte is covered by the checksum or the header checks: no single flip upgrades.
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let result = LegacyIndex::from_bytes(bad.as_slice()).and_then(|old| old.upgrade());
        assert!(result.is_err(), "byte {at} flipped, upgrade went through");
    }
    for end in 0..good.len() {
        assert!(LegacyIndex::from_bytes(&good[..end]).is_err(), "truncated to {end}");
    }

    let (_dir, path) = fixture_copy();
    let mut bad = good.clone();
    let at = good.len() - 40; // inside the last section (values)
    bad[at] ^= 0x10;
    std::fs::write(&path, &bad).unwrap();
    let out = run(&["upgrade", s(&path)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), bad, "left as it was");
}

#[test]
fn a_resealed_damage_is_caught_by_the_structure_checks() {
    // Damage with a valid checksum: the structure checks of format 1 must catch it alone.
    let good = fixture();
    let entries = sections(&good).into_iter().position(|s| s.0 == 5).unwrap();
    let mut secs = sections(&good);
    // An entry's id ref pointing past the strings.
    secs[entries].3[0..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let bad = assemble(1, &secs);
    let err = LegacyIndex::from_bytes(bad.as_slice()).and_then(|o| o.upgrade()).unwrap_err();
    assert!(matches!(err, IndexError::Corrupt { .. }), "{err}");
    // Unsorted values.
    let mut secs = sections(&good);
    let md5 = secs.iter().position(|s| s.0 == 16 && s.1 == Kind::Md5.code()).unwrap();
    assert_eq!(secs[md5].3.len(), 32, "two MD5 values");
    secs[md5].3.rotate_left(16);
    let err = LegacyIndex::from_bytes(assemble(1, &secs)).and_then(|o| o.upgrade()).unwrap_err();
    assert!(err.to_string().contains("not sorted"), "{err}");
}

#[test]
fn versions_are_told_apart_by_their_sections() {
    let current = LegacyIndex::from_bytes(fixture()).unwrap().upgrade().unwrap();
    // A format 1 file with an items section (section 6 did not exist in format 1).
    let mut relabelled = current.clone();
    relabelled[8..12].copy_from_slice(&1u32.to_le_bytes());
    reseal(&mut relabelled);
    let err = LegacyIndex::from_bytes(relabelled).unwrap_err();
    assert!(err.to_string().contains("unknown global section 6"), "{err}");
    // A current file without one.
    let mut missing = fixture();
    missing[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    reseal(&mut missing);
    let err = Index::from_bytes(missing).unwrap_err();
    assert!(err.to_string().contains("a global section is missing"), "{err}");
    // Versions neither current nor upgradable.
    for version in [0, FORMAT_VERSION + 1, 99] {
        let mut other = fixture();
        other[8..12].copy_from_slice(&version.to_le_bytes());
        reseal(&mut other);
        let err = LegacyIndex::from_bytes(other).unwrap_err();
        assert!(matches!(err, IndexError::Version { found, .. } if found == version), "{err}");
        assert!(err.to_string().contains("rebuild the index with `mediamatch build`"), "{err}");
    }
}

#[test]
fn index_refuses_v1_with_the_upgrade_advice() {
    let err = Index::from_bytes(fixture()).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 1, expected: FORMAT_VERSION }), "{err}");
    assert!(err.to_string().contains("run `mediamatch upgrade INDEX`"), "{err}");
    assert!(!err.to_string().contains("rebuild"), "{err}");
}

#[test]
fn output_option_leaves_the_input_untouched() {
    let (dir, path) = fixture_copy();
    let out_path = dir.path().join("sub-upgraded.mmi");
    let out = run(&["upgrade", s(&path), "-o", s(&out_path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), fixture());
    let written = std::fs::read(&out_path).unwrap();
    assert_eq!(written, LegacyIndex::from_bytes(fixture()).unwrap().upgrade().unwrap());
    let verify = run(&["verify", s(&out_path)]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

#[test]
fn upgrade_waits_for_the_import_lock() {
    let (_dir, path) = fixture_copy();
    let lock =
        File::options().create(true).truncate(false).write(true).open(format!("{}.lock", s(&path))).unwrap();
    lock.lock().unwrap();
    let out = run(&["upgrade", "--no-wait", s(&path)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("lock"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), fixture());
    drop(lock);
    let out = run(&["upgrade", "--no-wait", s(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn scan_query_and_import_on_a_v1_file_exit_2_with_the_upgrade_advice() {
    let (dir, path) = fixture_copy();
    let image = data("phash/checker-64x64.png");
    let list = dir.path().join("more.txt");
    std::fs::write(&list, "md5:0cc175b9c0f1b6a831c399e269772662\n").unwrap();
    let runs: [Vec<&str>; 4] = [
        vec!["scan", s(&image), "--index", s(&path)],
        vec!["query", "--index", s(&path), "md5:0cc175b9c0f1b6a831c399e269772661"],
        vec!["import", s(&path), "--list", "local", s(&list)],
        vec!["verify", s(&path)],
    ];
    for args in runs {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("run `mediamatch upgrade INDEX`"), "{args:?}: {}", stderr(&out));
        assert_eq!(std::fs::read(&path).unwrap(), fixture(), "{args:?} left the file as it was");
    }
}

/// The bytes of the real format 2 fixture (`mediamatch build` at the last commit of
/// format 2, from the same list file).
fn fixture_v2() -> Vec<u8> {
    let bytes = std::fs::read(data("index/format-v2.mmi")).unwrap();
    assert_eq!(&bytes[..8], b"MMINDEX\0");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2, "the fixture is format 2");
    bytes
}

#[test]
fn the_v2_fixture_holds_the_catalog_of_the_list_it_was_built_from() {
    assert_holds_the_local_list(fixture_v2(), 2);
}

#[test]
fn a_v2_file_is_refused_with_the_upgrade_advice_and_upgrade_carries_it_to_the_current_version() {
    let err = Index::from_bytes(fixture_v2()).unwrap_err();
    assert!(matches!(err, IndexError::Version { found: 2, expected: FORMAT_VERSION }), "{err}");
    assert!(err.to_string().contains("run `mediamatch upgrade INDEX`"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.mmi");
    std::fs::write(&path, fixture_v2()).unwrap();
    let image = data("phash/checker-64x64.png");
    for args in [vec!["scan", s(&image), "--index", s(&path)], vec!["verify", s(&path)]] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("run `mediamatch upgrade INDEX`"), "{args:?}: {}", stderr(&out));
        assert_eq!(std::fs::read(&path).unwrap(), fixture_v2(), "{args:?} left the file as it was");
    }

    let out = run(&["upgrade", s(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("from index format version 2 to {FORMAT_VERSION}")),
        "{}",
        stderr(&out)
    );
    let index = Index::open(&path).unwrap();
    index.verify().unwrap();
    let catalog = index.catalog().unwrap();
    // The catalog of the list file, not of the reader under test.
    let mut expected = catalog_of_local_list(catalog.lists[0].imported_at);
    expected.entries.sort();
    assert_eq!(catalog, expected);
    // Upgraded once, it is current: a second upgrade leaves it as it is.
    let upgraded = std::fs::read(&path).unwrap();
    let out = run(&["upgrade", s(&path)]);
    assert!(stderr(&out).contains("already index format version"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), upgraded);
}

#[test]
fn upgrade_of_a_segmented_index_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.mmi");
    let out = run(&["import", s(&path), "--list", "local", s(&data("lists/local.txt"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(mediamatch::index::read_manifest(&path).unwrap().is_some(), "import writes a manifest");
    let before = std::fs::read(&path).unwrap();
    let out = run(&["upgrade", s(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("already index format version"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
