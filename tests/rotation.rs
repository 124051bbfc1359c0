//! Small rotations: the input turned back by a few degrees (`mediamatch::image::rotate`) is
//! a query-only guess whose hits count through corroboration, through the `Matcher`.
#![cfg(feature = "eval")]

use std::path::PathBuf;

use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::decode::{decode, Limits};
use mediamatch::eval::Transform;
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::matcher::{Config, IndexData, Matcher};
use mediamatch::{hash_bytes, HashOptions, HashValue};

mod common;

/// The fixture photos by name, sorted.
fn photos() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures/photos")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x != "tsv"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).expect("readable"))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 6, "the six fixture photos");
    out
}

/// An index of one photo's pHash and PDQ as a list provider stores them, one item.
fn matcher_of(original: &[u8], config: Config) -> Matcher {
    let h = hash_bytes(original, &HashOptions::default()).image.expect("perceptual").expect("decodes");
    let entry = |value| Entry { value, id: "o".into(), label: String::new(), lists: vec![0] };
    let catalog = Catalog {
        lists: vec![ListInfo { name: "l".into(), ..ListInfo::default() }],
        entries: vec![
            entry(HashValue::Phash(h.phash.expect("phash"))),
            entry(HashValue::Pdq(h.pdq.expect("pdq").hash)),
        ],
        ..Default::default()
    };
    let bytes = build(&catalog, &BuildOptions::default()).expect("index builds");
    Matcher::from_index(Index::from_bytes(IndexData::Owned(bytes)).expect("index opens"), config)
}

/// `bytes` turned 3 degrees counter-clockwise, as `mediamatch eval` makes its copies.
fn turned(bytes: &[u8]) -> Vec<u8> {
    let image = decode(bytes, &Limits::default()).expect("decodes").image;
    Transform::Rotate3.apply(&image).expect("rotate-3")
}

/// Corpus photos whose 3-degree copy the corpus eval found only with the guesses.
const FOUND_ONLY_TURNED_BACK: [&str; 4] =
    ["bsds_0005.jpg", "deb_0006.jpg", "sunhays_0006.jpg", "urban_0004.png"];

#[test]
fn turned_copies_are_found_through_the_guesses_and_only_with_them() {
    assert!(Config::default().rotate, "on by default");
    let Some(shared) = common::shared_dir() else { return };
    let mut only_with = 0;
    for name in FOUND_ONLY_TURNED_BACK {
        let path = shared.join("corpus").join(name);
        let original = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let copy = turned(&original);
        let check = |rotate| {
            let config = Config { rotate, ..Config::default() };
            matcher_of(&original, config).check_bytes(&copy).expect("checks")
        };
        let (without, with) = (check(false), check(true));
        assert!(with.is_match(), "{name}: the turned copy is found with the rotation guesses");
        // The guesses' hits count only through corroboration, never a kind alone.
        for m in with.matches.iter().filter(|m| m.extended) {
            assert!(m.corroborated, "{name}: a guess's hit counts only through corroboration: {m:?}");
        }
        assert!(without.matches.iter().all(|m| !m.extended), "{name}: no guesses when off");
        only_with += usize::from(!without.is_match());
    }
    // The photos were picked from one eval run; allow a decoder or encoder detail to move one.
    assert!(only_with >= 3, "the guesses find turned copies the image as given does not ({only_with} of 4)");
}

#[test]
fn unrelated_photos_stay_unmatched_with_the_guesses() {
    let photos = photos();
    let config = Config { rotate: true, ..Config::default() };
    for (known, original) in &photos {
        let matcher = matcher_of(original, config.clone());
        for (name, other) in photos.iter().filter(|(n, _)| n != known) {
            for bytes in [other.clone(), turned(other)] {
                let v = matcher.check_bytes(&bytes).expect("checks");
                assert!(!v.is_match(), "{name} (or its turned copy) matched {known}: {:?}", v.matches);
            }
        }
    }
}
