//! The `Matcher` as an upload handler uses it: verdicts for known, transformed and
//! unrelated photos, the typed errors, batches, and hot reload while threads are checking.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use md5::Digest;
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::index::{build, write_atomic, BuildOptions, Index};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::matcher::{CheckError, Config, IndexData, Match, Matcher};
use mediamatch::{HashValue, Kind, Md5, Variant};

/// Compile-time: a `Matcher` can be shared between request threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Matcher>();
    assert_send_sync::<Arc<Matcher>>();
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn photo(name: &str) -> Vec<u8> {
    read(&root().join("fixtures/photos").join(name))
}

fn scan(name: &str) -> Vec<u8> {
    read(&root().join("fixtures/demo/scan").join(name))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn known_csv() -> PathBuf {
    root().join("fixtures/demo/known.csv")
}

/// A catalog holding `fixtures/demo/known.csv` as the list `name`.
fn known_catalog(name: &str) -> Catalog {
    let source = ListFile::read(&known_csv(), &ParseOptions::default()).expect("known.csv parses");
    assert!(source.list.rejects.is_empty(), "known.csv has rejects: {:?}", source.list.rejects);
    assert_eq!(source.list.records.len(), 9, "known.csv holds 3 photos x (pdq, phash, md5)");
    let mut catalog = Catalog::default();
    apply(&mut catalog, name, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    catalog
}

fn memory_matcher(catalog: &Catalog, config: Config) -> Matcher {
    let bytes = build(catalog, &BuildOptions::default()).expect("index builds");
    Matcher::from_index(Index::from_bytes(IndexData::Owned(bytes)).expect("index opens"), config)
}

fn known_matcher() -> Matcher {
    memory_matcher(&known_catalog("known"), Config::default())
}

/// The (kind, id) pairs of the matches.
fn kinds_and_ids(matches: &[Match]) -> BTreeSet<(Kind, String)> {
    matches.iter().map(|m| (m.kind, m.id.clone())).collect()
}

#[test]
fn matcher_is_send_and_sync_and_shares_across_threads() {
    let matcher = Arc::new(known_matcher());
    let bytes = Arc::new(photo("rocket.jpg"));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (m, b) = (Arc::clone(&matcher), Arc::clone(&bytes));
            std::thread::spawn(move || m.check_bytes(&b).expect("rocket checks").is_match())
        })
        .collect();
    for h in handles {
        assert!(h.join().expect("thread finished"));
    }
}

#[test]
fn known_images_match_with_their_list_id_label_and_kind() {
    let matcher = known_matcher();
    for (file, id) in [("grace_hopper.jpg", "grace_hopper"), ("rocket.jpg", "rocket"), ("coins.png", "coins")]
    {
        let verdict = matcher.check_bytes(&photo(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(verdict.is_match(), "{file} did not match");
        let expected: BTreeSet<_> = [Kind::Pdq, Kind::Phash, Kind::Md5].map(|k| (k, id.to_string())).into();
        assert_eq!(kinds_and_ids(&verdict.matches), expected, "{file}: {:#?}", verdict.matches);
        for m in &verdict.matches {
            assert_eq!(m.list, "known", "{file}");
            assert_eq!(m.label, "demo", "{file}");
            assert!(m.distance <= matcher.config().thresholds.of(m.kind), "{file}: {m:?}");
            match m.kind {
                Kind::Md5 => {
                    assert_eq!(m.distance, 0);
                    assert_eq!(m.variant, None, "digests have no dihedral variant");
                    assert_eq!(Some(m.hash), verdict.hashes.md5.map(HashValue::Md5));
                }
                _ => assert_eq!(m.variant, Some(Variant::Orig), "{file}: {m:?}"),
            }
        }
        assert!(!verdict.low_quality);
        assert!(verdict.pdq_quality().is_some_and(|q| q >= 50), "{file}: {:?}", verdict.pdq_quality());
        assert!(verdict.decode_error().is_none());
    }
}

#[test]
fn mirrored_and_rotated_copies_match_with_the_dihedral_variant() {
    let matcher = known_matcher();
    // make_fixtures.py: `mirrored` is Pillow's FLIP_LEFT_RIGHT (undone by flipy), `rotated-90`
    // is Pillow's ROTATE_90, counter-clockwise (undone by rot270, a clockwise quarter turn).
    let cases = [
        ("grace_hopper-mirrored.jpg", "grace_hopper", Variant::FlipY),
        ("rocket-mirrored.jpg", "rocket", Variant::FlipY),
        ("coins-mirrored.jpg", "coins", Variant::FlipY),
        ("grace_hopper-rotated-90.jpg", "grace_hopper", Variant::Rot270),
        ("rocket-rotated-90.jpg", "rocket", Variant::Rot270),
        ("coins-rotated-90.jpg", "coins", Variant::Rot270),
    ];
    for (file, id, variant) in cases {
        let verdict = matcher.check_bytes(&scan(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let pdq: Vec<_> = verdict.matches.iter().filter(|m| m.kind == Kind::Pdq).collect();
        assert_eq!(pdq.len(), 1, "{file}: {:#?}", verdict.matches);
        assert_eq!((pdq[0].id.as_str(), pdq[0].variant), (id, Some(variant)), "{file}: {:?}", pdq[0]);
        assert!(
            verdict.matches.iter().all(|m| m.id == id && m.kind != Kind::Md5),
            "{file}: a re-encoded copy matched another entry or a digest: {:#?}",
            verdict.matches
        );
    }
    // Without dihedral queries the same copies are not found by PDQ.
    let plain = memory_matcher(&known_catalog("known"), Config { dihedral: false, ..Config::default() });
    for (file, _, _) in cases {
        let verdict = plain.check_bytes(&scan(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(verdict.matches.iter().all(|m| m.kind != Kind::Pdq), "{file}: {:#?}", verdict.matches);
    }
}

#[test]
fn unrelated_photos_do_not_match() {
    let matcher = known_matcher();
    let files: Vec<Vec<u8>> = ["china.jpg", "camera.png", "clock.png"]
        .into_iter()
        .map(photo)
        .chain(["china-unrelated.jpg", "camera-unrelated.jpg", "clock-unrelated.jpg"].into_iter().map(scan))
        .collect();
    for (i, bytes) in files.iter().enumerate() {
        let verdict = matcher.check_bytes(bytes).unwrap_or_else(|e| panic!("input {i}: {e}"));
        assert!(!verdict.is_match(), "input {i} matched: {:#?}", verdict.matches);
        assert!(verdict.hashes.md5.is_some(), "digests are computed for the index's digest kinds");
        assert!(verdict.decode_error().is_none());
    }
}

#[test]
fn garbage_and_empty_input_are_not_images() {
    let matcher = known_matcher();
    for bytes in [&b"definitely not an image, just some text"[..], &[0u8; 4096][..], &[][..]] {
        match matcher.check_bytes(bytes) {
            Err(CheckError::NotAnImage(_)) => {}
            other => panic!("{} bytes: expected NotAnImage, got {other:?}", bytes.len()),
        }
    }
}

#[test]
fn png_header_announcing_a_huge_image_is_too_large() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filter, no interlace
    common::png::png_chunk(&mut png, b"IHDR", &ihdr);
    common::png::png_chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    common::png::png_chunk(&mut png, b"IEND", &[]);
    match known_matcher().check_bytes(&png) {
        Err(CheckError::TooLarge(msg)) => assert!(msg.contains("100000"), "{msg}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn truncated_jpeg_is_corrupt() {
    let jpeg = photo("rocket.jpg");
    assert!(jpeg.starts_with(&[0xff, 0xd8]));
    for cut in [jpeg.len() / 2, 600] {
        match known_matcher().check_bytes(&jpeg[..cut]) {
            Err(CheckError::Corrupt(_)) => {}
            other => panic!("rocket.jpg cut at {cut}: expected Corrupt, got {other:?}"),
        }
    }
}

#[test]
fn inputs_over_max_bytes_are_too_large_from_every_entry_point() {
    let path = root().join("fixtures/photos/rocket.jpg");
    let bytes = read(&path);
    let max = u64::try_from(bytes.len()).expect("small file") - 1;
    let matcher = memory_matcher(&known_catalog("known"), Config { max_bytes: max, ..Config::default() });
    assert!(matches!(matcher.check_bytes(&bytes), Err(CheckError::TooLarge(_))));
    assert!(matches!(matcher.check_reader(&bytes[..]), Err(CheckError::TooLarge(_))));
    assert!(matches!(matcher.check_path(&path), Err(CheckError::TooLarge(_))));
    // One byte more and the same input is checked (and matches).
    let roomy = memory_matcher(&known_catalog("known"), Config { max_bytes: max + 1, ..Config::default() });
    assert!(roomy.check_bytes(&bytes).expect("at the limit").is_match());
    assert!(roomy.check_reader(&bytes[..]).expect("at the limit").is_match());
    assert!(roomy.check_path(&path).expect("at the limit").is_match());
    // A missing file is an I/O error, not a verdict.
    assert!(matches!(roomy.check_path(root().join("fixtures/no-such-file.jpg")), Err(CheckError::Io(_))));
}

#[test]
fn md5_entry_matches_a_file_that_is_not_an_image() {
    let listed = b"%PDF-1.4 a listed document that no image decoder reads".to_vec();
    let unlisted = b"%PDF-1.4 another document, not on any list".to_vec();
    let mut catalog = known_catalog("known");
    catalog.lists.push(ListInfo { name: "docs".into(), ..ListInfo::default() });
    catalog.entries.push(Entry {
        value: HashValue::Md5(Md5(md5::Md5::digest(&listed).into())),
        id: "doc-1".into(),
        label: "leaked".into(),
        lists: vec![1],
    });
    let matcher = memory_matcher(&catalog, Config::default());
    let verdict = matcher.check_bytes(&listed).expect("a digest match is a verdict, even undecodable");
    assert_eq!(verdict.matches.len(), 1, "{:#?}", verdict.matches);
    let m = &verdict.matches[0];
    assert_eq!((m.kind, m.distance, m.variant), (Kind::Md5, 0, None));
    assert_eq!((m.list.as_str(), m.id.as_str(), m.label.as_str()), ("docs", "doc-1", "leaked"));
    assert!(verdict.decode_error().is_some(), "the decode failure is still reported");
    assert!(matches!(matcher.check_bytes(&unlisted), Err(CheckError::NotAnImage(_))));
}

#[test]
fn check_batch_keeps_input_order() {
    let matcher = known_matcher();
    let inputs: Vec<Vec<u8>> = vec![
        photo("grace_hopper.jpg"),
        photo("china.jpg"),
        b"garbage".to_vec(),
        scan("rocket-mirrored.jpg"),
        photo("coins.png"),
        photo("rocket.jpg")[..700].to_vec(),
        scan("clock-unrelated.jpg"),
        photo("rocket.jpg"),
    ];
    /// What a result says, compactly: matched ids, no match, or the error's kind.
    fn summary(r: &Result<mediamatch::matcher::Verdict, CheckError>) -> String {
        match r {
            Ok(v) => {
                let ids: BTreeSet<_> = v.matches.iter().map(|m| m.id.as_str()).collect();
                format!("ok {ids:?}")
            }
            Err(CheckError::NotAnImage(_)) => "not-an-image".into(),
            Err(CheckError::Corrupt(_)) => "corrupt".into(),
            Err(e) => format!("other error: {e}"),
        }
    }
    let expected = [
        "ok {\"grace_hopper\"}",
        "ok {}",
        "not-an-image",
        "ok {\"rocket\"}",
        "ok {\"coins\"}",
        "corrupt",
        "ok {}",
        "ok {\"rocket\"}",
    ];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("pool");
    let results = pool.install(|| matcher.check_batch(&inputs));
    assert_eq!(results.len(), inputs.len());
    for (i, (r, want)) in results.iter().zip(expected).enumerate() {
        assert_eq!(summary(r), want, "input {i}");
        let single = matcher.check_bytes(&inputs[i]);
        assert_eq!(summary(r), summary(&single), "input {i}: batch and single check differ");
        if let (Ok(a), Ok(b)) = (r, &single) {
            assert_eq!(a.matches, b.matches, "input {i}");
        }
    }
    assert!(matcher.check_batch::<Vec<u8>>(&[]).is_empty());
}

/// Runs `mediamatch ARGS`, which must succeed.
fn mediamatch(args: &[&str]) {
    let out = common::cli::run(args);
    assert!(
        out.status.success(),
        "mediamatch {args:?} failed: {}\n{}",
        out.status,
        common::cli::text(&out.stderr)
    );
}

/// The matches of `bytes` against the index file as it is now, from a fresh matcher.
fn matches_of_file(index: &Path, bytes: &[u8]) -> Vec<Match> {
    Matcher::open(index, Config::default()).expect("index opens").check_bytes(bytes).expect("checks").matches
}

/// The generation a verdict comes from: import `g` adds list `gen{g}`, so the lists
/// named in a verdict are `gen0..=gen{g}`.
fn generation(matches: &[Match]) -> Option<usize> {
    matches.iter().filter_map(|m| m.list.strip_prefix("gen")?.parse().ok()).max()
}

#[test]
fn hot_reload_while_checking_gives_old_or_new_verdicts_and_releases_the_old_index() {
    const GENERATIONS: usize = 5;
    const CHECKERS: usize = 3;
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("live.mmi");
    let index_str = index.to_str().expect("utf-8 temp path");
    let csv = known_csv();
    let csv_str = csv.to_str().expect("utf-8 path");
    let image = Arc::new(photo("grace_hopper.jpg"));

    mediamatch(&["import", index_str, "--list", "gen0", csv_str]);
    let matcher = Arc::new(Matcher::open(&index, Config::default()).expect("index opens"));
    let first = Arc::downgrade(&matcher.index());
    // expected[g]: the verdict of generation g, from a matcher that only ever saw it.
    let mut expected = vec![matches_of_file(&index, &image)];
    assert_eq!(generation(&expected[0]), Some(0));

    // `published` is the newest generation a check may see (set before reload() starts);
    // `reloaded` the oldest a check starting now may see (set after reload() returns).
    let published = Arc::new(AtomicUsize::new(0));
    let reloaded = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let checkers: Vec<_> = (0..CHECKERS)
        .map(|_| {
            let (m, img, stop, checks) =
                (Arc::clone(&matcher), Arc::clone(&image), Arc::clone(&stop), Arc::clone(&checks));
            let (published, reloaded, seen) =
                (Arc::clone(&published), Arc::clone(&reloaded), Arc::clone(&seen));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let lo = reloaded.load(Ordering::SeqCst);
                    let result = m.check_bytes(&img);
                    let hi = published.load(Ordering::SeqCst);
                    let verdict = result.unwrap_or_else(|e| panic!("a check failed during reload: {e}"));
                    seen.lock().expect("lock").push((lo, hi, verdict.matches));
                    checks.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    let wait_for_checks = |n: u64| {
        let target = checks.load(Ordering::SeqCst) + n;
        let deadline = Instant::now() + Duration::from_secs(120);
        while checks.load(Ordering::SeqCst) < target {
            assert!(Instant::now() < deadline, "checker threads stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    for g in 1..GENERATIONS {
        wait_for_checks(2 * CHECKERS as u64);
        // `mediamatch import` writes a temporary file and renames it over the index.
        mediamatch(&["import", index_str, "--list", &format!("gen{g}"), csv_str]);
        let now = matches_of_file(&index, &image);
        assert_eq!(generation(&now), Some(g));
        expected.push(now);
        published.store(g, Ordering::SeqCst);
        matcher.reload().expect("reload picks up the new index");
        reloaded.store(g, Ordering::SeqCst);
    }
    wait_for_checks(2 * CHECKERS as u64);
    stop.store(true, Ordering::SeqCst);
    for c in checkers {
        c.join().expect("checker thread did not panic");
    }

    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    assert!(seen.len() >= 2 * CHECKERS * GENERATIONS, "only {} checks ran", seen.len());
    let mut per_generation = [0usize; GENERATIONS];
    for (lo, hi, matches) in &seen {
        let g = generation(matches).unwrap_or_else(|| panic!("a verdict from no generation: {matches:#?}"));
        assert!((*lo..=*hi).contains(&g), "a check between reloads {lo} and {hi} saw generation {g}");
        assert_eq!(matches, &expected[g], "a verdict mixing generations");
        per_generation[g] += 1;
    }
    assert!(per_generation.iter().all(|&n| n > 0), "every generation was checked: {per_generation:?}");

    // The first mapping was released when its last check ended (its file was replaced
    // long ago); the current one is held by the matcher alone.
    assert!(first.upgrade().is_none(), "the first index is still alive after all reloads");
    let current = matcher.index();
    assert_eq!(Arc::strong_count(&current), 2, "the matcher and this snapshot");
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(GENERATIONS - 1));
}

#[test]
fn a_snapshot_outlives_reload_and_the_replaced_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("live.mmi");
    let write = |name: &str| {
        let bytes = build(&known_catalog(name), &BuildOptions::default()).expect("builds");
        write_atomic(&index, &bytes).expect("writes");
    };
    write("old");
    let matcher = Matcher::open(&index, Config::default()).expect("opens");
    let snapshot = matcher.index();
    write("new");
    matcher.reload().expect("reloads");
    let image = photo("coins.png");
    assert!(matcher.check_bytes(&image).expect("checks").matches.iter().all(|m| m.list == "new"));
    // The snapshot still reads the old, now unlinked, file.
    assert_eq!(Arc::strong_count(&snapshot), 1, "only the snapshot holds the old index");
    assert_eq!(snapshot.list(0).expect("list 0").name, "old");
    let hits = snapshot.search(&HashValue::Md5(Md5(md5::Md5::digest(&image).into())), 0).expect("searches");
    assert_eq!(hits.len(), 1);
}

#[test]
fn reload_of_a_damaged_or_missing_file_keeps_the_old_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("live.mmi");
    let good = build(&known_catalog("good"), &BuildOptions::default()).expect("builds");
    write_atomic(&index, &good).expect("writes");
    let matcher = Matcher::open(&index, Config::default()).expect("opens");
    let image = photo("rocket.jpg");
    let before = matcher.check_bytes(&image).expect("checks").matches;
    assert!(!before.is_empty() && before.iter().all(|m| m.list == "good"));

    // Opening checks the header and layout, and (`verify_on_load`, the default) the checksum
    // and every structure, so a byte flipped in the middle of the data is refused too.
    let mut bad_magic = good.clone();
    bad_magic[0] ^= 0x55;
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let cases = [
        ("a damaged magic number", bad_magic),
        ("a byte flipped in the middle", flipped),
        ("a truncated file", good[..good.len() / 3].to_vec()),
        ("garbage", vec![7; 64]),
        ("an empty file", Vec::new()),
    ];
    for (what, bytes) in cases {
        write_atomic(&index, &bytes).expect("writes");
        match matcher.reload() {
            Err(CheckError::IndexUnavailable(_)) => {}
            other => panic!("reload of {what}: expected IndexUnavailable, got {other:?}"),
        }
        assert_eq!(matcher.check_bytes(&image).expect("still checks").matches, before, "after {what}");
    }
    std::fs::remove_file(&index).expect("removes");
    assert!(matches!(matcher.reload(), Err(CheckError::IndexUnavailable(_))));
    assert_eq!(matcher.check_bytes(&image).expect("still checks").matches, before);
    assert!(matches!(Matcher::open(&index, Config::default()), Err(CheckError::IndexUnavailable(_))));

    // A good file again is picked up.
    let fresh = build(&known_catalog("fresh"), &BuildOptions::default()).expect("builds");
    write_atomic(&index, &fresh).expect("writes");
    matcher.reload().expect("reloads");
    assert!(matcher.check_bytes(&image).expect("checks").matches.iter().all(|m| m.list == "fresh"));
}

#[test]
fn reload_of_an_in_memory_index_is_a_no_op() {
    let matcher = known_matcher();
    let before = matcher.index();
    matcher.reload().expect("no file, nothing to reload");
    assert!(Arc::ptr_eq(&before, &matcher.index()));
}

/// A catalog with the PDQ and the pHash of `coins.png` as two entries of list `l`, with
/// the given ids.
fn coins_catalog(pdq_id: &str, phash_id: &str) -> Catalog {
    let h = mediamatch::hash_bytes(&photo("coins.png"), &mediamatch::HashOptions::default());
    let img = h.image.expect("perceptual").expect("decodes");
    let entry = |value, id: &str| Entry { value, id: id.to_string(), label: String::new(), lists: vec![0] };
    Catalog {
        lists: vec![ListInfo { name: "l".into(), ..ListInfo::default() }],
        entries: vec![
            entry(HashValue::Pdq(img.pdq.expect("pdq").hash), pdq_id),
            entry(HashValue::Phash(img.phash.expect("phash")), phash_id),
        ],
        ..Default::default()
    }
}

#[test]
fn fused_kinds_join_matches_by_list_and_id_never_by_an_empty_id() {
    let copy = scan("coins-reencoded-q50.jpg");
    let kinds = |m: &Matcher| -> Vec<Vec<Kind>> {
        m.check_bytes(&copy).expect("checks").matches.into_iter().map(|m| m.kinds).collect()
    };
    // Same id: both matches say pdq and phash agree.
    let same = memory_matcher(&coins_catalog("c1", "c1"), Config::default());
    assert_eq!(kinds(&same), [vec![Kind::Pdq, Kind::Phash], vec![Kind::Pdq, Kind::Phash]]);
    // Different ids, or no ids at all: nothing ties the two entries together.
    for (a, b) in [("c1", "c2"), ("", "")] {
        let m = memory_matcher(&coins_catalog(a, b), Config::default());
        assert_eq!(kinds(&m), [vec![Kind::Pdq], vec![Kind::Phash]], "ids {a:?}, {b:?}");
        // And requiring both kinds then keeps no perceptual match.
        let strict = Config { require: [Kind::Pdq, Kind::Phash].into_iter().collect(), ..Config::default() };
        let m = memory_matcher(&coins_catalog(a, b), strict);
        assert!(m.check_bytes(&copy).expect("checks").matches.is_empty(), "ids {a:?}, {b:?}");
    }
    let strict = Config { require: [Kind::Pdq, Kind::Phash].into_iter().collect(), ..Config::default() };
    assert_eq!(
        memory_matcher(&coins_catalog("c1", "c1"), strict).check_bytes(&copy).expect("checks").matches.len(),
        2
    );
}

#[test]
fn reload_refuses_an_index_overwritten_in_place_and_takes_one_replaced_by_rename() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live.mmi");
    let bytes_of = |name: &str| build(&known_catalog(name), &BuildOptions::default()).expect("builds");
    let new_bytes = bytes_of("gen1");
    write_atomic(&live, &bytes_of("gen0")).expect("writes");
    let image = photo("grace_hopper.jpg");
    let matcher = Matcher::open(&live, Config::default()).expect("index opens");
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(0));
    // An unchanged file reloads.
    matcher.reload().expect("an unchanged index reloads");

    // `cp other.mmi live.mmi`: the same inode, truncated and rewritten.
    let old_len = std::fs::metadata(&live).expect("stat").len();
    let mut bytes = new_bytes.clone();
    if bytes.len() as u64 == old_len {
        // Make the size differ too, in case the clock does not move between the writes.
        bytes.push(0);
    }
    std::fs::write(&live, &bytes).expect("overwrites in place");
    match matcher.reload() {
        Err(CheckError::IndexModifiedInPlace(path)) => assert_eq!(path, live),
        other => panic!("an in-place overwrite was not refused: {other:?}"),
    }
    let msg = matcher.reload().unwrap_err().to_string();
    assert!(msg.contains("modified in place") && msg.contains("rename"), "{msg}");

    // Replacing the file by rename is what reload is for.
    let staged = dir.path().join("staged.mmi");
    std::fs::write(&staged, &new_bytes).expect("writes");
    std::fs::rename(&staged, &live).expect("renames");
    matcher.reload().expect("an index replaced by rename reloads");
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(1));
}

#[test]
fn reload_refuses_a_segment_overwritten_in_place_and_takes_the_next_import() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live.mmi");
    let live_str = live.to_str().expect("utf-8");
    let csv = known_csv();
    let csv_str = csv.to_str().expect("utf-8 path");
    mediamatch(&["import", live_str, "--list", "gen0", csv_str]);
    let image = photo("grace_hopper.jpg");
    let matcher = Matcher::open(&live, Config::default()).expect("index opens");
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(0));

    // The next import (a new segment, a new manifest) is picked up.
    mediamatch(&["import", live_str, "--list", "gen1", csv_str]);
    matcher.reload().expect("the next import reloads");
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(1));
    let manifest = mediamatch::index::read_manifest(&live).expect("reads").expect("a manifest");
    assert!(!manifest.segments.is_empty());

    // A segment the index in use maps, appended to in place: refused, naming it.
    let segment = mediamatch::index::segments_dir(&live).join(&manifest.segments[0].file);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&segment).expect("opens");
        f.write_all(&[0]).expect("appends");
    }
    match matcher.reload() {
        Err(CheckError::IndexModifiedInPlace(path)) => assert_eq!(path, segment),
        other => panic!("a segment modified in place was not refused: {other:?}"),
    }
    // The index in use still answers.
    assert_eq!(generation(&matcher.check_bytes(&image).expect("checks").matches), Some(1));
}

/// splitmix64, for deterministic random hashes.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn random_distractors_keep_every_known_copy_and_add_no_false_match() {
    // The demo list plus 100,000 random pHash and 100,000 random PDQ entries on another list.
    let mut catalog = known_catalog("known");
    catalog.lists.push(ListInfo { name: "distractors".into(), ..ListInfo::default() });
    let mut state = 13;
    for _ in 0..100_000 {
        let phash = mediamatch::Phash(splitmix(&mut state));
        let pdq = mediamatch::Pdq { words: std::array::from_fn(|_| splitmix(&mut state)) };
        for value in [HashValue::Phash(phash), HashValue::Pdq(pdq)] {
            catalog.entries.push(Entry { value, id: String::new(), label: String::new(), lists: vec![1] });
        }
    }
    let small = known_matcher();
    let large = memory_matcher(&catalog, Config::default());
    assert_eq!(large.index().kind_len(Kind::Phash), 100_003);
    let dir = root().join("fixtures/demo/scan");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 18);
    for name in &names {
        let bytes = scan(name);
        let (s, l) = (small.check_bytes(&bytes).unwrap(), large.check_bytes(&bytes).unwrap());
        assert!(
            l.matches.iter().all(|m| m.list == "known"),
            "{name}: a distractor matched: {:#?}",
            l.matches
        );
        let ids = |v: &mediamatch::Verdict| v.matches.iter().map(|m| m.id.clone()).collect::<BTreeSet<_>>();
        // Every known copy is still found for its own photo, and nothing else is.
        assert_eq!(ids(&l), ids(&s), "{name}");
        assert_eq!(name.ends_with("-unrelated.jpg"), !l.is_match(), "{name}");
        for m in &l.matches {
            // The same entry is 200,000 entries less surprising in the small index.
            let same = s.matches.iter().find(|x| (x.kind, &x.id, &x.list) == (m.kind, &m.id, &m.list));
            if let Some(x) =
                same.filter(|x| x.distance == m.distance && !m.corroborated && m.kind.is_perceptual())
            {
                assert!(m.evalue > x.evalue * 1000.0, "{name} {:?}: {} vs {}", m.kind, m.evalue, x.evalue);
            }
            assert!(m.evalue <= Config::default().max_evalue || !m.kind.is_perceptual());
        }
        for w in &l.weak {
            assert!(w.evalue > Config::default().max_evalue, "{name}: a weak candidate that is significant");
            assert!(
                !l.matches.iter().any(|m| (m.kind, &m.hash) == (w.kind, &w.hash)),
                "{name}: weak and matched"
            );
        }
    }
}
