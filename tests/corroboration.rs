//! Corroborated matches (pHash and PDQ of one list item both within wider thresholds) and
//! edge extension (hashing a guess at a cropped copy's original framing), through the
//! `Matcher`.

use std::path::PathBuf;

use mediamatch::catalog::{Catalog, Entry, ListInfo};
#[cfg(feature = "eval")]
use mediamatch::decode::{decode, Limits};
#[cfg(feature = "eval")]
use mediamatch::eval::Transform;
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::matcher::{Config, IndexData, Matcher, Thresholds, DEFAULT_CORROBORATE};
use mediamatch::significance::Significance;
use mediamatch::{hash_bytes, HashOptions, HashValue, Kind, Pdq, Phash};

fn photo(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `coins.png`'s pHash and PDQ as stored (quality 100).
fn coins_hashes() -> (Phash, Pdq) {
    let h = hash_bytes(&photo("coins.png"), &HashOptions::default());
    let img = h.image.expect("perceptual").expect("decodes");
    assert_eq!(img.pdq.expect("pdq").quality, 100);
    (img.phash.expect("phash"), img.pdq.expect("pdq").hash)
}

/// `p` with its lowest `n` bits flipped.
fn flip_phash(p: Phash, n: u32) -> Phash {
    let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    Phash(p.0 ^ mask)
}

/// `p` with `n` bits flipped, spread over its four words.
fn flip_pdq(p: Pdq, n: u32) -> Pdq {
    let mut words = p.words;
    for i in 0..n {
        let (w, b) = ((i % 4) as usize, i / 4);
        words[w] ^= 1 << b;
    }
    Pdq { words }
}

struct Item {
    value: HashValue,
    id: String,
    list: u32,
}

fn matcher(items: &[Item], config: Config) -> Matcher {
    let catalog = Catalog {
        lists: ["l", "m"].iter().map(|n| ListInfo { name: n.to_string(), ..ListInfo::default() }).collect(),
        entries: items
            .iter()
            .map(|i| Entry {
                value: i.value,
                id: i.id.to_string(),
                label: String::new(),
                lists: vec![i.list],
            })
            .collect(),
        ..Default::default()
    };
    let bytes = build(&catalog, &BuildOptions::default()).expect("index builds");
    Matcher::from_index(Index::from_bytes(IndexData::Owned(bytes)).expect("index opens"), config)
}

/// Exact distances: only the image as stored is hashed and queried.
/// The mechanics of thresholds and items, without the E-value test (a one-item index is no
/// search of real size: `significance_limits_corroboration` tests the two together).
fn plain() -> Config {
    Config { dihedral: false, border: false, extend: false, max_evalue: f64::INFINITY, ..Config::default() }
}

#[test]
fn significance_limits_corroboration() {
    // A single item at pHash 10 and PDQ 40: within the corroboration thresholds.
    let items = pair(10, 40, ("x", "x"), (0, 0));
    let m = matcher(&items, Config { max_evalue: 1.0, ..plain() });
    let v = m.check_bytes(&photo("coins.png")).expect("coins checks");
    assert!(v.matches.iter().all(|x| x.corroborated) && v.matches.len() == 2, "{:?}", v.matches);
    let evalue = v.matches[0].evalue;
    assert!(
        evalue > 0.0 && v.matches.iter().all(|x| x.evalue == evalue),
        "both sides carry the joint E-value"
    );
    // A limit just under that E-value turns the same item into two weak candidates.
    let strict = Config { max_evalue: evalue * 0.99, ..plain() };
    let v = matcher(&items, strict).check_bytes(&photo("coins.png")).expect("coins checks");
    assert!(v.matches.is_empty(), "{:?}", v.matches);
    assert_eq!(v.weak.len(), 2, "{:?}", v.weak);
    assert!(v.weak.iter().all(|w| w.corroborated && w.evalue == evalue));
}

/// (kind, distance, corroborated, kinds) of each match of `coins.png`.
fn verdict(items: &[Item], config: Config) -> Vec<(Kind, u32, bool, Vec<Kind>)> {
    let v = matcher(items, config).check_bytes(&photo("coins.png")).expect("coins checks");
    v.matches.into_iter().map(|m| (m.kind, m.distance, m.corroborated, m.kinds)).collect()
}

fn pair(phash_bits: u32, pdq_bits: u32, ids: (&'static str, &'static str), lists: (u32, u32)) -> Vec<Item> {
    let (ph, pq) = coins_hashes();
    vec![
        Item { value: HashValue::Phash(flip_phash(ph, phash_bits)), id: ids.0.into(), list: lists.0 },
        Item { value: HashValue::Pdq(flip_pdq(pq, pdq_bits)), id: ids.1.into(), list: lists.1 },
    ]
}

#[test]
fn both_kinds_within_the_wider_thresholds_corroborate_each_other() {
    assert_eq!(DEFAULT_CORROBORATE, Thresholds { pdq: 64, phash: 12 });
    let both = vec![Kind::Pdq, Kind::Phash];
    for (ph, pq) in [(9, 32), (12, 64), (10, 40)] {
        let got = verdict(&pair(ph, pq, ("x", "x"), (0, 0)), plain());
        assert_eq!(
            got,
            [(Kind::Pdq, pq, true, both.clone()), (Kind::Phash, ph, true, both.clone())],
            "{ph}/{pq}"
        );
    }
}

#[test]
fn corroboration_stops_at_its_thresholds() {
    for (ph, pq) in [(13, 40), (10, 66), (13, 66)] {
        assert!(verdict(&pair(ph, pq, ("x", "x"), (0, 0)), plain()).is_empty(), "{ph}/{pq}");
    }
    // Custom thresholds move the limits.
    let wider = Config { corroborate: Some(Thresholds { pdq: 80, phash: 14 }), ..plain() };
    assert_eq!(verdict(&pair(13, 70, ("x", "x"), (0, 0)), wider).len(), 2);
}

#[test]
fn corroboration_needs_the_same_list_and_the_same_non_empty_id() {
    for (ids, lists) in [(("x", "y"), (0, 0)), (("", ""), (0, 0)), (("x", "x"), (0, 1))] {
        assert!(verdict(&pair(10, 40, ids, lists), plain()).is_empty(), "{ids:?} {lists:?}");
    }
}

#[test]
fn corroboration_is_off_when_disabled_or_under_the_strict_policy() {
    let items = pair(10, 40, ("x", "x"), (0, 0));
    assert!(verdict(&items, Config { corroborate: None, ..plain() }).is_empty());
    let strict = Config { require: [Kind::Pdq, Kind::Phash].into_iter().collect(), ..plain() };
    assert!(verdict(&items, strict).is_empty());
}

#[test]
fn a_plain_match_is_never_marked_corroborated() {
    // pHash within its own threshold: a plain pHash match; the PDQ at 40 is not reported.
    let got = verdict(&pair(8, 40, ("x", "x"), (0, 0)), plain());
    assert_eq!(got, [(Kind::Phash, 8, false, vec![Kind::Phash])]);
    // PDQ within its own threshold, pHash at 10: a plain PDQ match, and the pHash entry
    // corroborates (both within the wider thresholds).
    let got = verdict(&pair(10, 30, ("x", "x"), (0, 0)), plain());
    assert!(got.contains(&(Kind::Pdq, 30, false, vec![Kind::Pdq, Kind::Phash])), "{got:?}");
    assert!(got.contains(&(Kind::Phash, 10, true, vec![Kind::Pdq, Kind::Phash])), "{got:?}");
}

/// The fixture photos, each cut by 5% on every side (JPEG q90, as `mediamatch eval` makes them).
#[cfg(feature = "eval")]
fn cropped_copies() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/photos") {
        let path = entry.expect("dir entry").path();
        let bytes = std::fs::read(&path).expect("readable");
        let Ok(decoded) = decode(&bytes, &Limits::default()) else { continue };
        let copy = Transform::Crop5.apply(&decoded.image).expect("crop");
        out.push((path.file_name().unwrap().to_string_lossy().into_owned(), bytes, copy));
    }
    assert_eq!(out.len(), 6, "the six fixture photos");
    out.sort();
    out
}

#[test]
#[cfg(feature = "eval")]
fn cropped_copies_are_found_through_the_extended_edges() {
    let copies = cropped_copies();
    let mut found = [0usize; 2];
    let mut extended_matches = 0;
    for (name, original, copy) in &copies {
        let h = hash_bytes(original, &HashOptions::default()).image.expect("perceptual").expect("decodes");
        let items = [
            Item { value: HashValue::Phash(h.phash.expect("phash")), id: "o".into(), list: 0 },
            Item { value: HashValue::Pdq(h.pdq.expect("pdq").hash), id: "o".into(), list: 0 },
        ];
        for (i, extend) in [false, true].into_iter().enumerate() {
            // One item: the mechanics of the guesses, not significance at a real size.
            let config = Config { extend, max_evalue: f64::INFINITY, ..Config::default() };
            let v = matcher(&items, config).check_bytes(copy).expect("copy checks");
            found[i] += usize::from(v.is_match());
            if extend {
                assert!(v.is_match(), "{name}: the cropped copy is found with edge extension");
                extended_matches += usize::from(v.matches.iter().any(|m| m.extended));
            } else {
                assert!(v.matches.iter().all(|m| !m.extended), "{name}: nothing extended when off");
            }
        }
    }
    eprintln!("crop 5%: found {} of 6 without edge extension, {} with", found[0], found[1]);
    assert!(extended_matches > 0, "the extended images give matches");
    assert!(found[1] > found[0], "edge extension finds copies the image as given does not");
}

/// `mediamatch eval` measures candidate distances at its wide radii and asks the matcher's
/// rule about them; that must give the same verdict as the matcher itself for every photo,
/// case and known entry (the measurements record what the matcher's queries see).
#[test]
#[cfg(feature = "eval")]
fn eval_applies_the_same_rule_as_the_matcher() {
    use mediamatch::eval::{measure, Case, EvalOptions, Photo};
    use std::collections::BTreeSet;

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    let mut photos: Vec<Photo> = std::fs::read_dir(&dir)
        .expect("fixtures/photos")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x != "tsv"))
        .map(|p| Photo {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            bytes: std::fs::read(&p).expect("readable"),
        })
        .collect();
    photos.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(photos.len(), 6);
    let m = measure(photos.clone(), &EvalOptions::default()).expect("eval runs");

    // The same known index as eval builds: the originals' PDQ, pHash and MD5, id = name.
    let mut items = Vec::new();
    for (p, info) in photos.iter().zip(&m.photos) {
        assert_eq!(p.name, info.name);
        if !info.known {
            continue;
        }
        let h = hash_bytes(&p.bytes, &HashOptions::default());
        let img = h.image.expect("perceptual").expect("decodes");
        let id = || p.name.clone();
        items.push(Item { value: HashValue::Phash(img.phash.expect("phash")), id: id(), list: 0 });
        items.push(Item { value: HashValue::Pdq(img.pdq.expect("pdq").hash), id: id(), list: 0 });
        items.push(Item { value: HashValue::Md5(h.md5.expect("md5")), id: id(), list: 0 });
    }
    let config = Config::default();
    let matcher = matcher(&items, config.clone());
    let rule = config.rule(Significance::none());

    let mut compared = 0;
    let mut corroborated = 0;
    for r in &m.results {
        assert!(r.error.is_none(), "{r:?}");
        let p = &photos[r.photo as usize];
        let bytes = match r.case {
            Case::Original => p.bytes.clone(),
            Case::Transformed(t) => {
                t.apply(&decode(&p.bytes, &Limits::default()).expect("decodes").image).expect("transform")
            }
        };
        let verdict = matcher.check_bytes(&bytes).expect("checks");
        let by_matcher: BTreeSet<String> = verdict.matches.iter().map(|x| x.id.clone()).collect();
        let by_eval: BTreeSet<String> = r
            .entries
            .iter()
            .filter(|e| e.judge(&r.rule(&rule)).is_match())
            .map(|e| m.photos[e.photo as usize].name.clone())
            .collect();
        assert_eq!(by_matcher, by_eval, "{} {:?}", p.name, r.case);
        corroborated += usize::from(verdict.matches.iter().any(|x| x.corroborated));
        compared += 1;
    }
    assert_eq!(compared, 6 * 25);
    assert!(corroborated > 0, "some verdicts rely on corroboration, so the rule is exercised");
}

#[test]
fn corroboration_reads_phash_in_the_stored_orientation_only() {
    let h = hash_bytes(&photo("coins.png"), &HashOptions { dihedral: true, ..HashOptions::default() });
    let img = h.image.expect("perceptual").expect("decodes");
    let (ph, pq) = (img.phash_dihedral.expect("dihedral"), img.pdq.expect("pdq").hash);
    // About orientations, not significance: no E-value limit (a single-item index makes
    // pHash 8 over 8 variants borderline).
    let config = Config { border: false, extend: false, max_evalue: f64::INFINITY, ..Config::default() };
    let items = |p: Phash| {
        vec![
            Item { value: HashValue::Phash(p), id: "x".into(), list: 0 },
            Item { value: HashValue::Pdq(flip_pdq(pq, 40)), id: "x".into(), list: 0 },
        ]
    };
    // pHash 10 from the stored orientation: corroborated by PDQ 40.
    assert_eq!(verdict(&items(flip_phash(ph[0], 10)), config.clone()).len(), 2);
    // pHash 10 from the image turned 90 degrees (and far from the stored one): a turned
    // copy is found by a kind alone within its threshold, not by corroboration.
    let turned = flip_phash(ph[1], 10);
    assert!(turned.distance(&ph[0]) > 12, "the turned hash is far from the stored one");
    assert!(verdict(&items(turned), config.clone()).is_empty());
    // Within the pHash threshold the turned variant matches alone, as always.
    let got = verdict(&items(flip_phash(ph[1], 8)), config);
    assert_eq!(got, [(Kind::Phash, 8, false, vec![Kind::Phash])]);
}
