//! `mediamatch eval`: the small CI version on the fixture photos (its JSON report parsed
//! strictly, so this test is the schema), and the report arithmetic on hand-made
//! measurements.
// The structs below are the report's schema (`deny_unknown_fields`); not every field is asserted.
#![allow(dead_code)]
#![cfg(feature = "eval")]

mod common;

use common::cli::{run as mediamatch, text};
use mediamatch::eval::distractors::{judge_run, Item};
use mediamatch::eval::{
    report, Case, CaseResult, EntryDistances, Judging, Measurements, PhotoInfo, Transform, WIDE,
};
use mediamatch::hash::KindSet;
use mediamatch::matcher::{Config, Thresholds};
use mediamatch::significance::{IndexSizes, Significance};
use mediamatch::Kind;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Report {
    #[serde(rename = "type")]
    kind: String,
    settings: Settings,
    photos: u32,
    known: u32,
    unknown: u32,
    skipped: Vec<Skipped>,
    checks: u64,
    errors: Vec<CaseError>,
    elapsed_s: f64,
    checks_per_s: f64,
    check_cpu_s: f64,
    transforms: Vec<TransformReport>,
    overall: TransformReport,
    wrong_id_matches: Vec<BadMatch>,
    false_matches: Vec<BadMatch>,
    nearest_unrelated: PerKind<Nearest>,
    closest_pairs: PerKind<Vec<ClosePair>>,
    sweep: PerKind<SweepTable>,
    corroboration_sweep: Vec<CorroborationRow>,
    missed: Vec<BadMatch>,
    targets: Vec<Target>,
}

/// One value per perceptual kind, by name.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct PerKind<T> {
    pdq: T,
    phash: T,
}

impl<T> PerKind<T> {
    fn both(&self) -> [&T; 2] {
        [&self.pdq, &self.phash]
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CorroborationSetting {
    pdq: u32,
    phash: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CorroborationRow {
    pdq: u32,
    phash: u32,
    recall: Recall,
    per_transform: Vec<Option<f64>>,
    via_corroboration: u32,
    wrong_id: u32,
    false_matches: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Settings {
    pdq: u32,
    phash: u32,
    require: Vec<String>,
    min_quality: u8,
    dihedral: bool,
    border: bool,
    extend: bool,
    corroborate: Option<CorroborationSetting>,
    wide_pdq: u32,
    wide_phash: u32,
    known_every: usize,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Skipped {
    name: String,
    error: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CaseError {
    photo: String,
    transform: String,
    error: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Recall {
    found: u32,
    total: u32,
    recall: Option<f64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct KindStats {
    found: u32,
    total: u32,
    recall: Option<f64>,
    p50: Option<u32>,
    p90: Option<u32>,
    p99: Option<u32>,
    max: Option<u32>,
    beyond: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TransformReport {
    transform: String,
    known: u32,
    unknown: u32,
    pdq: KindStats,
    phash: KindStats,
    md5: Recall,
    any: Recall,
    via_trimmed: u32,
    via_extended: u32,
    via_corroboration: u32,
    low_quality: u32,
    wrong_id: u32,
    false_matches: u32,
    check_s: f64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ClosePair {
    photo: String,
    known: bool,
    id: String,
    distance: u32,
    transform: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct BadMatch {
    photo: String,
    transform: String,
    id: String,
    pdq: Option<u32>,
    phash: Option<u32>,
    md5: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Nearest {
    kind: String,
    original: Option<u32>,
    transformed: Option<u32>,
    pairs: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct SweepTable {
    kind: String,
    other_threshold: u32,
    transforms: Vec<String>,
    pairs: u64,
    rows: Vec<SweepRow>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct SweepRow {
    threshold: u32,
    recall: Recall,
    any_recall: Recall,
    per_transform: Vec<Option<f64>>,
    wrong_id: u32,
    false_matches: u32,
    any_wrong_id: u32,
    any_false_matches: u32,
    unrelated_pairs: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Target {
    name: String,
    transforms: Vec<String>,
    min_recall: f64,
    worst_transform: Option<String>,
    worst_recall: Option<f64>,
    met: bool,
}

#[test]
fn eval_fixture_photos_json() {
    let out = mediamatch(&["eval", "fixtures/photos", "--format", "json", "--threads", "2"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    assert_eq!(stdout.lines().count(), 1, "one JSON object on one line");
    let r: Report = serde_json::from_str(&stdout).expect("the report parses strictly");
    assert_eq!(r.kind, "eval");

    // Six fixture photos (reference.tsv is not an image and is skipped), every other one known.
    assert_eq!((r.photos, r.known, r.unknown), (6, 3, 3));
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    assert_eq!(r.skipped[0].name, "reference.tsv");
    assert!(r.skipped[0].error.contains("not an image"), "{:?}", r.skipped);
    assert_eq!((r.settings.wide_pdq, r.settings.wide_phash, r.settings.min_quality), (96, 24, 50));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.checks, 6 * 25);
    assert_eq!((r.settings.pdq, r.settings.phash, r.settings.known_every), (31, 8, 2));
    assert!(r.settings.require.is_empty() && r.settings.dihedral && r.settings.border);
    assert!(r.elapsed_s > 0.0 && r.checks_per_s > 0.0 && r.check_cpu_s > 0.0);

    // The original plus every transform, in order.
    let names: Vec<&str> = r.transforms.iter().map(|t| t.transform.as_str()).collect();
    let mut expected = vec!["original"];
    expected.extend(Transform::ALL.iter().map(|t| t.name()));
    assert_eq!(names, expected);
    for t in &r.transforms {
        assert_eq!((t.known, t.unknown), (3, 3), "{}", t.transform);
        assert_eq!(t.pdq.total, 3);
        assert!(t.pdq.found <= t.pdq.total && t.phash.found <= t.phash.total);
    }
    assert_eq!(r.overall.known, 3 * 25);

    // The untransformed originals are all found (the MD5 alone finds them, and pHash
    // at distance 0), and nothing unknown matches at the defaults.
    let original = &r.transforms[0];
    assert_eq!(original.any.recall, Some(1.0));
    assert_eq!(original.md5.recall, Some(1.0));
    assert_eq!(original.phash.recall, Some(1.0));
    assert_eq!(original.phash.max, Some(0));
    assert!(r.false_matches.is_empty(), "{:?}", r.false_matches);
    assert!(r.wrong_id_matches.is_empty(), "{:?}", r.wrong_id_matches);
    assert_eq!(r.overall.false_matches + r.overall.wrong_id, 0);

    // Sweeps: PDQ 0..=64 (with 31), pHash 0..=24, recall never falls as the threshold grows.
    assert_eq!((r.sweep.pdq.kind.as_str(), r.sweep.phash.kind.as_str()), ("pdq", "phash"));
    assert_eq!(r.sweep.pdq.other_threshold, 8);
    assert_eq!(r.sweep.phash.other_threshold, 31);
    assert!(r.sweep.pdq.rows.iter().any(|row| row.threshold == 31));
    assert_eq!(r.sweep.phash.rows.len(), 25);
    for table in r.sweep.both() {
        assert_eq!(table.transforms, expected);
        // 3 unknown photos x 25 cases x 3 known entries (PDQ: fewer when a check had low quality).
        if table.kind == "phash" {
            assert_eq!(table.pairs, 3 * 25 * 3);
        } else {
            assert!(table.pairs <= 3 * 25 * 3 && table.pairs % 3 == 0);
        }
        for w in table.rows.windows(2) {
            assert!(w[0].threshold < w[1].threshold);
            assert!(w[0].recall.found <= w[1].recall.found);
            assert!(w[0].unrelated_pairs <= w[1].unrelated_pairs);
        }
        for row in &table.rows {
            assert_eq!(row.per_transform.len(), 25);
            assert!(row.any_recall.total == row.recall.total && row.recall.total == 75);
            assert!(row.wrong_id <= row.any_wrong_id && row.false_matches <= row.any_false_matches);
        }
    }
    assert_eq!(
        (r.nearest_unrelated.pdq.kind.as_str(), r.nearest_unrelated.phash.kind.as_str()),
        ("pdq", "phash")
    );
    assert!(r.nearest_unrelated.phash.original.is_none_or(|d| d > 8));
    // The closest pairs of different photos: sorted, and never a photo against itself.
    for (pairs, nearest) in r.closest_pairs.both().into_iter().zip(r.nearest_unrelated.both()) {
        assert!(pairs.len() <= 10);
        assert!(pairs.windows(2).all(|w| w[0].distance <= w[1].distance));
        assert!(pairs.iter().all(|p| p.photo != p.id));
        // No unknown photo is closer than the nearest unrelated distance.
        let nearest = nearest.original.into_iter().chain(nearest.transformed).min();
        if let Some(min) = pairs.iter().filter(|p| !p.known).map(|p| p.distance).min() {
            assert_eq!(Some(min), nearest);
        }
    }
    assert_eq!(r.targets.len(), 3);
    assert!(r.targets.iter().all(|t| !t.transforms.is_empty() && t.min_recall > 0.9));
}

#[test]
fn eval_rejects_bad_arguments() {
    // (why it is refused, the arguments after `eval`, a word its message must name)
    let rows: [(&str, &[&str], &str); 3] = [
        ("an unknown transform", &["fixtures/photos", "--transforms", "rotate-45"], "rotate-45"),
        ("a missing folder", &["fixtures/no-such-folder"], "fixtures/no-such-folder"),
        ("beyond the query radius", &["fixtures/photos", "--max-distance", "phash=30"], "--max-distance"),
    ];
    for (why, args, names) in rows {
        let out = mediamatch(&[&["eval"], args].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {stderr}");
        assert!(stderr.contains(names), "{why}: the message does not name {names:?}: {stderr}");
    }
}

#[test]
fn eval_text_subset() {
    let out = mediamatch(&["eval", "fixtures/photos", "--transforms", "mirror,rotate-90", "--limit", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.contains("4 photos (2 known, 2 unknown"), "{text}");
    let rows: Vec<&str> =
        text.lines().filter(|l| l.starts_with("mirror") || l.starts_with("rotate-90")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(!text.lines().any(|l| l.starts_with("crop-10")), "{text}");
}

fn entry(photo: u32, pdq: Option<u32>, phash: Option<u32>, md5: bool) -> EntryDistances {
    // Hand-made checks are not turned: the stored-orientation pHash is the smallest one.
    EntryDistances { photo, pdq, phash, phash_stored: phash, md5, ..EntryDistances::default() }
}

fn result(photo: u32, case: Case, low_quality: bool, entries: Vec<EntryDistances>) -> CaseResult {
    // Hand-made checks searched nothing: the thresholds alone decide (E-values 0).
    let significance = Significance::none();
    CaseResult {
        photo,
        case,
        error: None,
        low_quality,
        entries,
        distractors: Vec::new(),
        significance,
        check_s: 0.001,
    }
}

/// Photos a and b known, c unknown; the original and one JPEG case each.
fn hand_made() -> Measurements {
    let jpeg = Case::Transformed(Transform::JpegQ50);
    let photo = |name: &str, known| PhotoInfo { name: name.into(), known };
    Measurements {
        photos: vec![photo("a", true), photo("b", true), photo("c", false)],
        skipped: Vec::new(),
        cases: vec![Case::Original, jpeg],
        results: vec![
            result(0, Case::Original, false, vec![entry(0, Some(0), Some(0), true)]),
            result(
                0,
                jpeg,
                false,
                vec![entry(0, Some(20), Some(6), false), entry(1, Some(70), Some(10), false)],
            ),
            result(1, Case::Original, false, vec![entry(1, Some(0), Some(0), true)]),
            result(1, jpeg, true, vec![entry(1, None, Some(3), false)]),
            result(2, Case::Original, false, vec![entry(0, None, Some(12), false)]),
            result(2, jpeg, false, vec![entry(1, Some(40), Some(15), false)]),
        ],
        config: Config { thresholds: WIDE, ..Config::default() },
        sizes: IndexSizes::default(),
        build_s: 0.0,
        known_every: 2,
        elapsed_s: 1.0,
    }
}

#[test]
fn report_arithmetic_on_hand_made_distances() {
    let m = hand_made();
    let r = report(&m, Thresholds { pdq: 31, phash: 8 }, KindSet::NONE, None);
    assert_eq!((r.photos, r.known, r.unknown, r.checks), (3, 2, 1, 6));
    assert!((r.checks_per_s - 6.0).abs() < 1e-9);

    let [orig, jpeg] = &r.transforms[..] else { panic!("two cases") };
    assert_eq!((orig.pdq.found, orig.phash.found, orig.md5.found, orig.any.found), (2, 2, 2, 2));
    // b's JPEG had low quality: PDQ not matched, pHash 3 finds it.
    assert_eq!((jpeg.pdq.found, jpeg.pdq.total), (1, 2));
    assert_eq!(jpeg.pdq.recall, Some(0.5));
    assert_eq!((jpeg.phash.found, jpeg.any.found, jpeg.md5.found), (2, 2, 0));
    assert_eq!((jpeg.low_quality, jpeg.wrong_id, jpeg.false_matches), (1, 0, 0));
    // Percentiles: PDQ over the one measured check; pHash over {3, 6}.
    assert_eq!((jpeg.pdq.p50, jpeg.pdq.max, jpeg.pdq.beyond), (Some(20), Some(20), 0));
    assert_eq!((jpeg.phash.p50, jpeg.phash.p90, jpeg.phash.max), (Some(3), Some(6), Some(6)));
    assert_eq!((r.overall.known, r.overall.pdq.found, r.overall.any.found), (4, 3, 4));
    assert!(r.wrong_id_matches.is_empty() && r.false_matches.is_empty());

    // Nearest unrelated: only c's checks count; c's original had no PDQ hit within the radius.
    let pdq = &r.nearest_unrelated.pdq;
    let phash = &r.nearest_unrelated.phash;
    assert_eq!((pdq.original, pdq.transformed, pdq.pairs), (None, Some(40), 4));
    assert_eq!((phash.original, phash.transformed, phash.pairs), (Some(12), Some(15), 4));

    // pHash sweep.
    let ph = &r.sweep.phash;
    let row = |t: u32| ph.rows.iter().find(|x| x.threshold == t).expect("threshold in the sweep");
    assert_eq!(row(2).recall.found, 2);
    assert_eq!(row(3).recall.found, 3);
    assert_eq!(row(6).recall.found, 4);
    assert_eq!(row(0).any_recall.found, 3, "b's JPEG needs pHash 3 (PDQ was low quality)");
    assert_eq!((row(9).wrong_id, row(10).wrong_id), (0, 1), "a's JPEG is 10 from b");
    assert_eq!((row(11).false_matches, row(12).false_matches, row(15).false_matches), (0, 1, 2));
    assert_eq!((row(11).unrelated_pairs, row(12).unrelated_pairs, row(15).unrelated_pairs), (0, 1, 2));
    assert_eq!(row(6).per_transform, vec![Some(1.0), Some(1.0)]);
    assert_eq!(row(3).per_transform, vec![Some(1.0), Some(0.5)]);
    // PDQ sweep: 0..=64 in steps of 2 and 31.
    let pq = &r.sweep.pdq;
    assert_eq!(pq.rows.len(), 34);
    let row = |t: u32| pq.rows.iter().find(|x| x.threshold == t).expect("threshold in the sweep");
    assert_eq!((row(18).recall.found, row(20).recall.found, row(64).recall.found), (2, 3, 3));
    assert_eq!((row(38).false_matches, row(40).false_matches, row(40).any_false_matches), (0, 1, 1));
    assert_eq!(row(64).wrong_id, 0, "a's JPEG is 70 from b");

    // Closest pairs: by pHash, a's JPEG to b (10), c's original to a (12), c's JPEG to b (15).
    let close: Vec<(&str, bool, &str, u32, &str)> = r
        .closest_pairs
        .phash
        .iter()
        .map(|p| (p.photo.as_str(), p.known, p.id.as_str(), p.distance, p.transform.as_str()))
        .collect();
    assert_eq!(
        close,
        vec![
            ("a", true, "b", 10, "jpeg-q50"),
            ("c", false, "a", 12, "original"),
            ("c", false, "b", 15, "jpeg-q50")
        ]
    );
    assert_eq!(r.closest_pairs.pdq.len(), 2, "PDQ: a-b 70, c-b 40");
    assert_eq!(r.closest_pairs.pdq[0].distance, 40);
    assert!((r.transforms[1].check_s - 0.003).abs() < 1e-9);

    // With pHash 12 the unknown original matches a, and a's JPEG matches b.
    let loose = report(&m, Thresholds { pdq: 31, phash: 12 }, KindSet::NONE, None);
    assert_eq!(loose.false_matches.len(), 1);
    assert_eq!((loose.false_matches[0].photo.as_str(), loose.false_matches[0].id.as_str()), ("c", "a"));
    assert_eq!(loose.wrong_id_matches.len(), 1);
    assert_eq!(loose.wrong_id_matches[0].id, "b");
    assert_eq!(loose.transforms[1].wrong_id, 1);

    // Requiring both kinds: b's JPEG (no PDQ) is lost; MD5 still finds the originals.
    let both = KindSet::NONE.with(Kind::Pdq).with(Kind::Phash);
    let strict = report(&m, Thresholds { pdq: 31, phash: 8 }, both, None);
    assert_eq!((strict.transforms[0].any.found, strict.transforms[1].any.found), (2, 1));
    assert!(r.missed.is_empty(), "{:?}", r.missed);
    let missed: Vec<_> =
        strict.missed.iter().map(|b| (b.photo.as_str(), b.transform.as_str(), b.pdq, b.phash)).collect();
    assert_eq!(missed, [("b", "jpeg-q50", None, Some(3))]);
    assert_eq!(strict.settings.require, vec!["pdq", "phash"]);
    // The strict policy ignores corroboration.
    let wide = Some(Thresholds { pdq: 72, phash: 16 });
    let strict_corr = report(&m, Thresholds { pdq: 31, phash: 8 }, both, wide);
    assert_eq!(strict_corr.settings.corroborate, None);
    assert_eq!((strict_corr.transforms[1].any.found, strict_corr.false_matches.len()), (1, 0));
}

#[test]
fn corroboration_needs_both_kinds_within_their_wider_thresholds() {
    let m = hand_made();
    let t = Thresholds { pdq: 31, phash: 8 };
    let corr = |pdq, phash| report(&m, t, KindSet::NONE, Some(Thresholds { pdq, phash }));
    // a's JPEG is (PDQ 70, pHash 10) from b; c's JPEG is (40, 15) from b.
    let r = corr(64, 12);
    assert!(r.wrong_id_matches.is_empty() && r.false_matches.is_empty());
    assert_eq!(r.settings.corroborate.map(|c| (c.pdq, c.phash)), Some((64, 12)));
    let r = corr(70, 12);
    assert_eq!(r.wrong_id_matches.len(), 1, "PDQ 70 and pHash 10 both within (70, 12)");
    assert_eq!((r.wrong_id_matches[0].photo.as_str(), r.wrong_id_matches[0].id.as_str()), ("a", "b"));
    assert_eq!(corr(70, 9).wrong_id_matches.len(), 0, "pHash 10 is beyond 9");
    let r = corr(40, 15);
    assert_eq!((r.wrong_id_matches.len(), r.false_matches.len()), (0, 1));
    // The sweep: off first, then pHash 8..16 x PDQ 32..96; (72, 10) takes a's JPEG to b.
    let sweep = &r.corroboration_sweep;
    assert_eq!((sweep.len(), sweep[0].pdq, sweep[0].phash), (1 + 5 * 9, 0, 0));
    let row = |pdq, phash| sweep.iter().find(|x| (x.pdq, x.phash) == (pdq, phash)).expect("in the sweep");
    assert_eq!((row(64, 10).wrong_id, row(72, 10).wrong_id, row(72, 8).wrong_id), (0, 1, 0));
    assert_eq!((row(40, 16).false_matches, row(32, 16).false_matches), (1, 0));
    assert_eq!(sweep[0].recall, report(&m, t, KindSet::NONE, None).overall.any);
    // Own copies found directly are not counted as found by corroboration.
    assert_eq!(r.overall.via_corroboration, 0);
    // b's JPEG (pHash 3, PDQ low quality) and a's JPEG (PDQ 20) are found directly.
    assert_eq!(r.transforms[1].any.found, 2);
}

#[test]
fn a_copy_found_only_by_corroboration_is_counted_as_such() {
    let mut m = hand_made();
    let jpeg = Case::Transformed(Transform::JpegQ50);
    // a's JPEG now (PDQ 40, pHash 11) from its own entry: neither within (31, 8).
    m.results[1] = result(0, jpeg, false, vec![entry(0, Some(40), Some(11), false)]);
    let t = Thresholds { pdq: 31, phash: 8 };
    let off = report(&m, t, KindSet::NONE, None);
    assert_eq!(off.transforms[1].any.found, 1);
    assert_eq!(off.missed.len(), 1);
    assert_eq!(
        (off.missed[0].photo.as_str(), off.missed[0].pdq, off.missed[0].phash),
        ("a", Some(40), Some(11))
    );
    let on = report(&m, t, KindSet::NONE, Some(Thresholds { pdq: 64, phash: 12 }));
    assert_eq!((on.transforms[1].any.found, on.transforms[1].via_corroboration), (2, 1));
    assert_eq!(on.overall.via_corroboration, 1);
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DistractorReport {
    #[serde(rename = "type")]
    kind: String,
    settings: Settings,
    photos: u32,
    known: u32,
    distractor_photos: u32,
    items_derived: u32,
    derive_s: f64,
    distractors: Vec<DistractorRun>,
    projection: Projection,
    targets: Vec<DistractorTarget>,
    note: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DistractorRun {
    entries: u64,
    items: u32,
    item_entries: u64,
    random: u64,
    index_pdq: u64,
    index_phash: u64,
    index_item_pairs: u64,
    projected: Projection,
    build_s: f64,
    elapsed_s: f64,
    check_cpu_s: f64,
    transforms: Vec<DistractorCase>,
    overall: DistractorCase,
    false_matches: Vec<BadMatch>,
    wrong_id_matches: Vec<BadMatch>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DistractorCase {
    transform: String,
    known: u32,
    unknown: u32,
    recall: Recall,
    wrong_id: u32,
    false_matches: u32,
    false_known: u32,
    unrelated: u32,
    false_per_million: Option<f64>,
    weak: u64,
    weak_own: u32,
    related: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Projection {
    entries: u64,
    item_pairs: u64,
    pdq: Option<u32>,
    phash: Option<u32>,
    evalue_pdq: f64,
    evalue_phash: f64,
    evalue_joint: f64,
    per_upload: f64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DistractorTarget {
    name: String,
    measured: String,
    met: bool,
}

#[test]
fn eval_with_distractors_finds_the_known_copies_and_no_false_match() {
    let out = mediamatch(&[
        "eval",
        "fixtures/photos",
        "--distractors",
        "0,2e4",
        "--distractor-items",
        "2000",
        "--transforms",
        "jpeg-q50,mirror,rotate-90",
        "--format",
        "json",
        "--threads",
        "2",
    ]);
    let stderr = text(&out.stderr);
    // reference.tsv is not an image: skipped, not a read error.
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let r: DistractorReport = serde_json::from_slice(&out.stdout).expect("the report parses strictly");
    assert_eq!(r.kind, "eval_distractors");
    assert_eq!((r.photos, r.known), (6, 3));
    assert_eq!(r.distractor_photos, 6, "the eval's own photos by default");
    assert_eq!(r.items_derived, 2000);
    // Queried out to the caps (the larger of --max-distance and --corroborate), not wide.
    assert_eq!((r.settings.wide_pdq, r.settings.wide_phash), (64, 12));
    assert!(r.note.contains("sweeps"), "{}", r.note);
    let sizes: Vec<u64> = r.distractors.iter().map(|d| d.entries).collect();
    assert_eq!(sizes, [0, 20_000]);
    let (base, run) = (&r.distractors[0], &r.distractors[1]);
    assert_eq!((base.items, base.random), (0, 0));
    assert_eq!(run.items, 2000);
    assert_eq!(run.item_entries + run.random, 20_000);
    assert!(run.item_entries >= 2000 && run.item_entries <= 4000, "{run:?}");
    // Known photos' pHash entries (3) come on top of the distractors.
    assert_eq!(run.index_phash, 3 + 2000 + run.random / 2);
    assert!(run.index_item_pairs >= 3 + 1000, "{run:?}");
    for d in &r.distractors {
        let names: Vec<&str> = d.transforms.iter().map(|t| t.transform.as_str()).collect();
        assert_eq!(names, ["original", "jpeg-q50", "mirror", "rotate-90"]);
        assert_eq!(d.overall.unrelated, 6 * 4);
        assert_eq!(d.overall.false_matches, 0, "{:?}", d.false_matches);
        assert!(d.false_matches.is_empty() && d.wrong_id_matches.is_empty());
        assert_eq!(d.overall.wrong_id, 0);
        let original = &d.transforms[0];
        assert_eq!((original.recall.found, original.recall.total), (3, 3), "{}", d.entries);
        assert_eq!(d.false_per_million_all(), Some(0.0));
        assert!(d.projected.per_upload >= d.projected.evalue_phash);
    }
    // The distractors include crops of the checked photos themselves: related, not false.
    assert!(run.overall.related > 0, "{:?}", run.overall);
    // The effective pHash threshold shrinks as the index grows.
    assert!(run.projected.phash <= base.projected.phash, "{run:?}");
    assert_eq!(r.projection.entries, 50_000_000);
    assert!(r.projection.phash <= run.projected.phash);
    assert!(r.targets.iter().any(|t| t.name.contains("wrong-id") && t.met), "{:?}", r.targets);
}

impl DistractorRun {
    fn false_per_million_all(&self) -> Option<f64> {
        self.overall.false_per_million
    }
}

#[test]
fn eval_rejects_bad_distractor_sizes() {
    for bad in ["x", "1e", "1e99", ""] {
        let out = mediamatch(&["eval", "fixtures/photos", "--distractors", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("--distractors"), "{bad:?}: {}", text(&out.stderr));
    }
    let out = mediamatch(&["eval", "fixtures/photos", "--distractor-items", "5"]);
    assert_eq!(out.status.code(), Some(2), "--distractor-items needs --distractors");
}

/// One distractor item derived from photo `related` (a position in the photos).
fn item(id: &str, related: Option<u32>) -> Item {
    Item { id: id.into(), source: 0, related, phash: mediamatch::hash::Phash(0), pdq: None }
}

#[test]
fn a_distractor_of_the_checked_photo_is_related_one_of_another_photo_is_false() {
    let mut m = hand_made();
    let jpeg = Case::Transformed(Transform::JpegQ50);
    // Items 0 (from photo a) and 1 (from photo c), and a random entry (item 2 + its number).
    let items = [item("d0-1", Some(0)), item("d2-1", Some(2))];
    let hit = |n: u32| entry(n, None, Some(0), false);
    for r in &mut m.results {
        r.distractors = match (r.photo, r.case) {
            // a's copy hits a crop of a itself: related.
            (0, c) if c == jpeg => vec![hit(0)],
            // b's original hits a crop of c: false, though b is known and found.
            (1, Case::Original) => vec![hit(1)],
            // c's original hits a crop of c: related; its copy a random entry: false.
            (2, Case::Original) => vec![hit(1)],
            (2, c) if c == jpeg => vec![entry(7, None, Some(5), false)],
            // b's copy has a random entry beyond the cap: no match.
            (1, c) if c == jpeg => vec![entry(9, None, Some(9), false)],
            _ => Vec::new(),
        };
    }
    let judging =
        Judging { thresholds: Thresholds { pdq: 31, phash: 8 }, require: KindSet::NONE, corroborate: None };
    let run = judge_run(&m, &items, 1000, &judging);
    let all = &run.overall;
    assert_eq!(all.related, 2, "{all:?}");
    // b's original (known) on c's crop, and c's copy (unknown) on a random entry.
    assert_eq!((all.false_matches, all.false_known), (2, 1), "{all:?}");
    assert_eq!(all.false_per_million, Some(2.0 / 6.0 * 1e6));
    let ids: Vec<(&str, &str, &str)> =
        run.false_matches.iter().map(|b| (b.photo.as_str(), b.transform.as_str(), b.id.as_str())).collect();
    assert_eq!(ids, [("b", "original", "d2-1"), ("c", "jpeg-q50", "random phash entry")]);
    assert_eq!(all.recall.found, 4, "every known check still finds its own entry");
    assert_eq!((run.items, run.item_entries, run.random), (2, 2, 998));
}
