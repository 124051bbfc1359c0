//! TMK+PDQF against Meta's reference (`../shared/reference/video/`): the sample `.tmk`
//! files made by `tmk-hash-video` parse and round-trip byte for byte, the pair-score table of
//! `tmk-README.md` (`tmk-two-level-score --c1 -1.0 --c2 0.0 *.tmk`) comes out to its six
//! decimals, as does its `tmk-query` table, the README's clusterings at 0.7 and 0.95 come out
//! of [`Signature::matches`], hostile bytes are errors and never panics, and the text form
//! round-trips.
//!
//! Hashing (needs ffmpeg): every sample video that has a sample signature is hashed again
//! and must pass the reference's own acceptance (`tmk-compare-two-tmks`: level 1 and level 2
//! both above 0.92 against the sample), with the same header (frame rate, periods,
//! coefficients, frame count); broken videos are errors; `video tmk-hash` and
//! `video tmk-compare` exit 0/1/2.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mediamatch::video::ffmpeg::VideoLimits;
use mediamatch::video::tmk::{level1, level2, Signature, TmkError, HEADER_LEN};
use mediamatch::video::tmk_hash;
use rayon::prelude::*;

/// `../shared/reference/video`, or `None` (skipped loudly) without `../shared`.
fn video_dir() -> Option<PathBuf> {
    Some(common::shared_dir()?.join("reference").join("video"))
}

/// Every sample `.tmk` file: name -> bytes, sorted by name (the folder must not be empty).
fn samples(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let folder = dir.join("tmk-sample-hashes");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tmk") {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            out.insert(name, std::fs::read(&path).unwrap());
        }
    }
    assert!(!out.is_empty(), "no .tmk files in {}", folder.display());
    out
}

fn signatures(dir: &Path) -> BTreeMap<String, Signature> {
    samples(dir)
        .into_iter()
        .map(|(name, bytes)| {
            let sig = Signature::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, sig)
        })
        .collect()
}

/// The README's code block that follows the line containing `command`: its lines, with
/// the `...` elisions left out.
fn readme_block(dir: &Path, command: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(dir.join("tmk-README.md")).unwrap();
    let mut lines = readme.lines().skip_while(|l| !l.contains(command));
    assert!(lines.next().is_some(), "tmk-README.md has no `{command}`");
    let block: Vec<String> = lines
        .take_while(|l| !l.starts_with("```") && !l.starts_with('$'))
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
        .map(String::from)
        .collect();
    assert!(!block.is_empty(), "no output after `{command}` in tmk-README.md");
    block
}

#[test]
fn samples_parse_and_round_trip_byte_for_byte() {
    let Some(dir) = video_dir() else { return };
    let samples = samples(&dir);
    let mut first: Option<Signature> = None;
    for (name, bytes) in &samples {
        let sig = Signature::read(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(bytes.len(), 263_344, "{name}");
        assert_eq!(sig.byte_len(), bytes.len(), "{name}");
        assert!(sig.write() == *bytes, "{name} does not round-trip byte for byte");
        assert_eq!(sig.frames_per_second(), 15, "{name}");
        assert_eq!(sig.periods(), &[2731, 4391, 9767, 14653], "{name}");
        assert_eq!(sig.num_fourier_coefficients(), 32, "{name}");
        assert_eq!(sig.frame_feature_dimension(), 256, "{name}");
        assert_eq!(sig.pure_average().len(), 256);
        assert_eq!(sig.cos_features().len(), 4 * 32 * 256);
        assert_eq!(sig.sin_features().len(), 4 * 32 * 256);
        assert!(sig.frame_count() > 0, "{name}");
        // The j = 0 sine features are zero; cos/sin features are scaled to norm sqrt(a_j).
        for p in 0..4 {
            assert!(sig.sin_feature(p, 0).unwrap().iter().all(|&v| v == 0.0), "{name}");
            for j in 0..32 {
                let norm: f32 = sig.cos_feature(p, j).unwrap().iter().map(|v| v * v).sum::<f32>().sqrt();
                let want = sig.fourier_coefficients()[j].sqrt();
                assert!((norm - want).abs() <= 1e-4 * want.max(1e-3), "{name} period {p} coefficient {j}");
            }
        }
        match &first {
            None => first = Some(sig),
            Some(f) => assert!(Signature::compatible(f, &sig).is_ok(), "{name}"),
        }
    }
    eprintln!("{} sample signatures round-trip", samples.len());
}

#[test]
fn pair_score_table_matches_the_readme_to_six_decimals() {
    let Some(dir) = video_dir() else { return };
    let sigs = signatures(&dir);
    let rows = readme_block(&dir, "tmk-two-level-score --c1 -1.0 --c2 0.0");
    let mut exact = 0;
    let mut wrong = Vec::new();
    for row in &rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(fields.len(), 4, "unexpected table row {row:?}");
        let (name_a, name_b) = (fields[2], fields[3]);
        // tmk-two-level-score puts the file name that sorts first as the first argument.
        assert!(name_a < name_b, "{row}");
        let a = sigs.get(name_a).unwrap_or_else(|| panic!("no sample {name_a}"));
        let b = sigs.get(name_b).unwrap_or_else(|| panic!("no sample {name_b}"));
        let got = format!("{:.6} {:.6} {name_a} {name_b}", level1(a, b), level2(a, b).unwrap());
        if got == fields.join(" ") {
            exact += 1;
        } else {
            wrong.push(format!("want {row}\n got {got}"));
        }
    }
    eprintln!("{exact} of {} README pair-score rows reproduced exactly", rows.len());
    assert!(wrong.is_empty(), "rows that differ:\n{}", wrong.join("\n"));
    assert!(exact >= 32, "the README's table has 32 rows, parsed {exact}");
}

#[test]
fn query_table_matches_the_readme_to_six_decimals() {
    // `tmk-query --c1 0.7 --c2 0.7 needles.txt haystack.txt`: one needle against all 15,
    // every signature's pure average L2-normalised on load, the needle as the first argument;
    // it prints every pair that matches.
    let Some(dir) = video_dir() else { return };
    let mut sigs = signatures(&dir);
    sigs.values_mut().for_each(Signature::normalize_pure_average);
    let rows = readme_block(&dir, "tmk-query --c1 0.7 --c2 0.7");
    let mut exact = 0;
    let mut wrong = Vec::new();
    let mut printed = BTreeSet::new();
    for row in &rows {
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(fields.len(), 4, "unexpected table row {row:?}");
        let (a, b) = (&sigs[fields[2]], &sigs[fields[3]]);
        let got = format!("{:.6} {:.6} {} {}", level1(a, b), level2(a, b).unwrap(), fields[2], fields[3]);
        if got == fields.join(" ") {
            exact += 1;
        } else {
            wrong.push(format!("want {row}\n got {got}"));
        }
        printed.insert((fields[2].to_string(), fields[3].to_string()));
    }
    eprintln!("{exact} of {} README tmk-query rows reproduced exactly", rows.len());
    assert!(wrong.is_empty(), "rows that differ:\n{}", wrong.join("\n"));
    let needles: BTreeSet<&String> = printed.iter().map(|(n, _)| n).collect();
    assert_eq!(needles.len(), 1);
    let needle = needles.into_iter().next().unwrap();
    let matched: BTreeSet<(String, String)> = sigs
        .iter()
        .filter(|(_, b)| Signature::matches(&sigs[needle], b, 0.7, 0.7).unwrap())
        .map(|(name, _)| (needle.clone(), name.clone()))
        .collect();
    assert_eq!(matched, printed, "the matches at 0.7/0.7 are the rows tmk-query printed");
}

#[test]
fn every_pair_scores_finite_and_self_scores_are_one() {
    let Some(dir) = video_dir() else { return };
    let sigs = signatures(&dir);
    for (name_a, a) in &sigs {
        // tmk-query's README output prints `1.000000 1.000000` for a hash against itself.
        assert_eq!(
            format!("{:.6} {:.6}", level1(a, a), level2(a, a).unwrap()),
            "1.000000 1.000000",
            "{name_a}"
        );
        for b in sigs.values() {
            let (s1, s2) = (level1(a, b), level2(a, b).unwrap());
            assert!((-1.0..=1.0 + 1e-6).contains(&s1), "{name_a}: {s1}");
            assert!(s2.is_finite() && s2 <= 1.0 + 1e-6, "{name_a}: {s2}");
            // Level 1 is symmetric bit for bit; level 2 to within rounding.
            assert_eq!(s1.to_bits(), level1(b, a).to_bits());
            assert!((s2 - level2(b, a).unwrap()).abs() < 1e-5);
        }
    }
}

/// Connected components of the graph whose edges are the pairs that match at (c1, c2), as
/// `tmk-clusterize` forms its clusters.
fn clusters(sigs: &BTreeMap<String, Signature>, c1: f32, c2: f32) -> BTreeSet<BTreeSet<String>> {
    let names: Vec<&String> = sigs.keys().collect();
    let mut parent: Vec<usize> = (0..names.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..names.len() {
        for j in i + 1..names.len() {
            if Signature::matches(&sigs[names[i]], &sigs[names[j]], c1, c2).unwrap() {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let mut by_root: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        by_root.entry(root(&mut parent, i)).or_default().insert(name.to_string());
    }
    by_root.into_values().collect()
}

#[test]
fn clusterings_match_the_readme() {
    let Some(dir) = video_dir() else { return };
    let sigs = signatures(&dir);
    for (threshold, command) in [
        (mediamatch::video::tmk::DEFAULT_LEVEL1_THRESHOLD, "tmk-clusterize --c1 0.7 --c2 0.7 -s"),
        (0.95, "tmk-clusterize --c1 0.95 --c2 0.95 -s"),
    ] {
        let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in readme_block(&dir, command) {
            // clidx=1,clusz=8,filename=chair-19-sd-bar.tmk
            let fields: BTreeMap<&str, &str> = line.split(',').filter_map(|f| f.split_once('=')).collect();
            want.entry(fields["clidx"].to_string()).or_default().insert(fields["filename"].to_string());
        }
        let want: BTreeSet<BTreeSet<String>> = want.into_values().collect();
        assert_eq!(want.iter().map(BTreeSet::len).sum::<usize>(), sigs.len());
        assert_eq!(clusters(&sigs, threshold, threshold), want, "at {threshold}");
    }
}

#[test]
fn text_form_round_trips() {
    let Some(dir) = video_dir() else { return };
    for (name, bytes) in samples(&dir) {
        let sig = Signature::read(&bytes).unwrap();
        let text = sig.to_text();
        // The reference client's encoding, built independently: 12 bytes, '|', base64.
        let expected = format!(
            "{}|{}",
            std::str::from_utf8(&bytes[..12]).unwrap(),
            mediamatch::base64::encode(&bytes[12..])
        );
        assert_eq!(text, expected, "{name}");
        assert!(text.starts_with("TMK1FVECPDQF|"), "{name}");
        let back = Signature::from_text(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(back.write() == bytes, "{name}");
        // Java's decoder also takes the base64 without its padding.
        assert_eq!(Signature::from_text(text.trim_end_matches('=')).unwrap(), sig, "{name}");
    }
}

/// Every error must be a typed error; a panic fails the test by itself.
fn must_fail(bytes: &[u8], what: &str) -> TmkError {
    match Signature::read(bytes) {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

#[test]
fn hostile_bytes_are_errors_not_panics() {
    let Some(dir) = video_dir() else { return };
    let samples = samples(&dir);
    let (name, good) = samples.iter().next().unwrap();
    let mut checked = 0;

    // Truncations: every length through the header and the small arrays, then a stride
    // through the features, and the last bytes.
    let mut lengths: Vec<usize> = (0..2_000).collect();
    lengths.extend((2_000..good.len()).step_by(997));
    lengths.extend(good.len() - 8..good.len());
    for len in lengths {
        let e = must_fail(&good[..len], &format!("{name} cut to {len}"));
        assert!(matches!(e, TmkError::Truncated { .. } | TmkError::BadMagic { .. }), "{len}: {e}");
        checked += 1;
    }
    // Extra bytes.
    for extra in [1, 3, 4, 1024] {
        let mut long = good.clone();
        long.extend(std::iter::repeat_n(0u8, extra));
        assert!(matches!(must_fail(&long, "long"), TmkError::TrailingBytes { .. }));
        checked += 1;
    }

    // Header fields (counts included): special values and every single-bit flip.
    let set = |at: usize, v: i32| {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        b
    };
    let original = |at: usize| i32::from_le_bytes(good[at..at + 4].try_into().unwrap());
    for at in (12..HEADER_LEN + 16).step_by(4) {
        let mut values = vec![0, 1, -1, 2, 255, 257, 0x7fff, 0x8000, i32::MAX, i32::MIN, i32::MAX / 2048];
        values.extend((0..32).map(|bit| original(at) ^ (1 << bit)));
        for v in values {
            let bytes = set(at, v);
            // Frames per second, frame count and some periods may take other valid values;
            // the counts (bytes 16 to 28) never can, since the length is then wrong.
            match Signature::read(&bytes) {
                Ok(sig) => {
                    assert!(at == 12 || at == 28 || at >= HEADER_LEN, "count at {at} = {v} accepted");
                    assert!(sig.write() == bytes);
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            if (16..28).contains(&at) && v != original(at) {
                must_fail(&bytes, &format!("count at {at} = {v}"));
            }
            checked += 1;
        }
    }
    for (at, v) in
        [(12, 0), (12, -15), (16, -1), (20, -1), (24, 0), (24, -256), (28, -1), (32, 0), (32, -2731)]
    {
        must_fail(&set(at, v), &format!("field at {at} = {v}"));
        checked += 1;
    }
    // Each magic, one byte at a time.
    for at in 0..12 {
        let mut b = good.clone();
        b[at] ^= 0x20;
        assert!(matches!(must_fail(&b, "magic"), TmkError::BadMagic { .. }));
        checked += 1;
    }

    // NaN and infinities in every float array: coefficients, pure average, cos, sin.
    let floats_start = HEADER_LEN + 16;
    let float_count = (good.len() - floats_start) / 4;
    for k in (0..float_count).step_by(251).chain([0, 31, 32, 287, 288, float_count - 1]) {
        for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::from_bits(0x7f80_0001)] {
            let mut b = good.clone();
            let at = floats_start + 4 * k;
            b[at..at + 4].copy_from_slice(&bad.to_le_bytes());
            assert!(matches!(must_fail(&b, &format!("float {k} = {bad}")), TmkError::NotFinite { .. }));
            checked += 1;
        }
    }

    // Text forms of hostile bytes, and broken text.
    let text = Signature::read(good).unwrap().to_text();
    for bad in [
        String::new(),
        "TMK1FVECPDQF".to_string(),
        "TMK1FVECPDQF|".to_string(),
        text.replacen('|', ":", 1),
        text[..text.len() / 2].to_string(),
        format!("{text}\n"),
        text.replacen("TMK1FVECPDQF|", "TMK1FVECPDQF||", 1),
        text.replace('A', "*"),
    ] {
        assert!(Signature::from_text(&bad).is_err(), "{:?}...", &bad[..bad.len().min(40)]);
        checked += 1;
    }
    eprintln!("{checked} hostile inputs rejected or read back without a panic");
}

/// `tmk-compare-two-tmks`'s acceptance: both scores above `1.0 - 0.08` in `f32`.
const ACCEPT: f32 = 1.0 - 0.08;

#[test]
fn recomputed_signatures_meet_the_references_acceptance() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let sigs = signatures(&dir);
    let mut videos: Vec<(String, PathBuf)> = std::fs::read_dir(dir.join("sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .filter_map(|p| {
            let name = format!("{}.tmk", p.file_stem()?.to_str()?);
            sigs.contains_key(&name).then_some((name, p))
        })
        .collect();
    videos.sort();
    assert!(!videos.is_empty(), "no sample video has a sample signature");
    let results: Vec<(String, Signature)> = videos
        .par_iter()
        .map(|(name, video)| {
            let sig = tmk_hash::hash_file(video, &VideoLimits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", video.display()));
            (name.clone(), sig)
        })
        .collect();
    let (mut worst1, mut worst2, mut sum1, mut sum2) = (f32::INFINITY, f32::INFINITY, 0.0f64, 0.0f64);
    let mut max_frame_gap = 0i64;
    let mut identical = 0;
    let mut failed = Vec::new();
    for (name, got) in &results {
        let want = &sigs[name];
        // The header: frame rate, periods, the coefficients bit for bit, the frame count.
        assert_eq!(got.frames_per_second(), want.frames_per_second(), "{name}: frames per second");
        assert_eq!(got.frames_per_second(), 15, "{name}");
        assert_eq!(got.periods(), want.periods(), "{name}: periods");
        assert_eq!(got.num_fourier_coefficients(), want.num_fourier_coefficients(), "{name}");
        let bits = |s: &Signature| s.fourier_coefficients().iter().map(|c| c.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(want), "{name}: Fourier coefficients");
        let gap = i64::from(got.frame_count()) - i64::from(want.frame_count());
        max_frame_gap = max_frame_gap.max(gap.abs());
        assert!(Signature::compatible(got, want).is_ok(), "{name}");
        // As the reference's regression test runs it: the recomputed signature first.
        let (s1, s2) = (level1(got, want), level2(got, want).unwrap());
        eprintln!(
            "{name}: level 1 {s1:.6}, level 2 {s2:.6}, frames {} (reference {})",
            got.frame_count(),
            want.frame_count()
        );
        if !(s1 > ACCEPT && s2 > ACCEPT) {
            failed.push(format!("{name}: level 1 {s1:.6}, level 2 {s2:.6}"));
        }
        worst1 = worst1.min(s1);
        worst2 = worst2.min(s2);
        sum1 += f64::from(s1);
        sum2 += f64::from(s2);
        // It round-trips like any signature. Bit-identical files are not promised (the
        // decoded pixels depend on the FFmpeg build), only counted.
        assert_eq!(Signature::read(&got.write()).unwrap(), *got, "{name}");
        identical += usize::from(got.write() == want.write());
    }
    let n = results.len() as f64;
    eprintln!(
        "TMK+PDQF recomputed, {} videos: level 1 min {worst1:.6} mean {:.6}; level 2 min {worst2:.6} mean {:.6}; \
         largest frame-count difference {max_frame_gap}; {identical} byte-identical to the reference's",
        results.len(),
        sum1 / n,
        sum2 / n
    );
    assert!(failed.is_empty(), "below the reference's 0.92 acceptance:\n{}", failed.join("\n"));
    assert_eq!(max_frame_gap, 0, "frame counts differ from the reference's");
    // Each recomputed signature scores highest against its own reference among all samples
    // of other scenes: the chair, the pattern and the doorknob stay apart at 0.7.
    let scene = |name: &str| name.split('-').next().unwrap().to_string();
    for (name, got) in &results {
        for (other, want) in &sigs {
            if scene(other) != scene(name) {
                assert!(
                    !Signature::matches(got, want, 0.7, 0.7).unwrap(),
                    "{name} recomputed matches {other} of another scene"
                );
            }
        }
    }
}

#[test]
fn broken_and_hostile_videos_are_errors_not_hangs() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let video = std::fs::read(dir.join("sample-videos/chair-20-sd-bar.mp4")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.mp4", Vec::new()),
        ("text.mp4", b"not a video at all\n".to_vec()),
        ("truncated.mp4", video[..video.len() / 3].to_vec()),
        ("-starts-with-dash.mp4", b"junk".to_vec()),
        // Damaged frame data behind an intact index (the sample's `moov` comes first).
        (
            "flipped.mp4",
            video.iter().enumerate().map(|(i, &b)| if i > 30_000 && i % 97 == 50 { !b } else { b }).collect(),
        ),
    ];
    for (name, bytes) in &cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        match tmk_hash::hash_file(&path, &VideoLimits::default()) {
            Err(e) => eprintln!("{name}: {e}"),
            // What survives of a damaged MP4 may still decode; never more than the whole video.
            Ok(sig) => {
                assert!(name.starts_with("truncated") || name.starts_with("flipped"), "{name} hashed");
                assert!(sig.frame_count() <= 309, "{name}: {} frames", sig.frame_count());
                eprintln!("{name}: hashed {} frames", sig.frame_count());
            }
        }
    }
    assert!(matches!(
        tmk_hash::hash_file(&tmp.path().join("missing.mp4"), &VideoLimits::default()),
        Err(tmk_hash::TmkHashError::Video(_))
    ));
    // Limits: the frame-size cap and the (resampled) frame-count cap refuse; a tiny time
    // budget stops the decode.
    let path = dir.join("sample-videos/chair-20-sd-bar.mp4");
    let small = VideoLimits { max_pixels: 1000, ..VideoLimits::default() };
    assert!(tmk_hash::hash_file(&path, &small).unwrap_err().to_string().contains("pixels"));
    let few = VideoLimits { max_frames: 10, ..VideoLimits::default() };
    let e = tmk_hash::hash_file(&path, &few).unwrap_err().to_string();
    assert!(e.contains("more than 10 frames"), "{e}");
    let short = VideoLimits { max_seconds: 1.0, ..VideoLimits::default() };
    assert!(tmk_hash::hash_file(&path, &short).unwrap_err().to_string().contains("long"));
    let hurried = VideoLimits { timeout: std::time::Duration::from_millis(1), ..VideoLimits::default() };
    assert!(tmk_hash::hash_file(&path, &hurried).is_err());
    // Stopping early returns what was read.
    let mut seen = 0;
    let n = tmk_hash::resampled_frames(&path, &VideoLimits::default(), |_, _| {
        seen += 1;
        seen < 5
    })
    .unwrap();
    assert_eq!((n, seen), (4, 5));
}

#[test]
fn the_tmk_commands_hash_compare_and_exit_like_ripgrep() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("grey.tmk");
    let video = dir.join("sample-videos/chair-22-sd-grey-bar.mp4");
    let run = |args: &[&std::ffi::OsStr]| common::cli::run(args);
    let hashed =
        run(&["video".as_ref(), "tmk-hash".as_ref(), video.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(hashed.status.code(), Some(0), "{}", common::cli::text(&hashed.stderr));
    assert!(hashed.stdout.is_empty());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), 263_344);
    let sig = Signature::read(&bytes).unwrap();
    assert_eq!(sig.frame_count(), 338);
    // No leftover temporary file beside the output.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

    let compare = |a: &Path, b: &Path, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["video".as_ref(), "tmk-compare".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.extend([a.as_os_str(), b.as_os_str()]);
        run(&args)
    };
    let t = |name: &str| dir.join("tmk-sample-hashes").join(name);
    // Against its own reference at the reference's acceptance, and against the other copies
    // of the chair at the default thresholds.
    let same =
        compare(&out, &t("chair-22-sd-grey-bar.tmk"), &["--c1", "0.92", "--c2", "0.92", "--format", "json"]);
    assert_eq!(same.status.code(), Some(0), "{}", common::cli::text(&same.stdout));
    let r: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!((r["type"].as_str(), r["match"].as_bool()), (Some("tmk_compare"), Some(true)));
    assert!(r["level1"].as_f64().unwrap() > 0.92 && r["level2"].as_f64().unwrap() > 0.92, "{r}");
    assert_eq!(compare(&out, &t("chair-orig-22-sd-bar.tmk"), &[]).status.code(), Some(0));
    let other = compare(&out, &t("pattern-sd-grey-bar.tmk"), &[]);
    assert_eq!(other.status.code(), Some(1), "{}", common::cli::text(&other.stdout));
    assert!(common::cli::text(&other.stdout).starts_with("no match: level 1 "));

    // Without -o: the text form on stdout, which tmk-compare reads back.
    let text = run(&["video".as_ref(), "tmk-hash".as_ref(), video.as_os_str()]);
    assert_eq!(text.status.code(), Some(0), "{}", common::cli::text(&text.stderr));
    let line = common::cli::text(&text.stdout);
    assert!(line.starts_with("TMK1FVECPDQF|") && line.ends_with('\n'));
    assert_eq!(Signature::from_text(line.trim_end()).unwrap(), sig, "the decode is deterministic");
    let saved = tmp.path().join("grey.txt");
    std::fs::write(&saved, line.as_bytes()).unwrap();
    assert_eq!(compare(&saved, &out, &["--c1", "0.999", "--c2", "0.999"]).status.code(), Some(0));
    // --text with -o writes the same line.
    let text_out = tmp.path().join("grey-text.tmk");
    let written = run(&[
        "video".as_ref(),
        "tmk-hash".as_ref(),
        "--text".as_ref(),
        video.as_os_str(),
        "--output".as_ref(),
        text_out.as_os_str(),
    ]);
    assert_eq!(written.status.code(), Some(0), "{}", common::cli::text(&written.stderr));
    assert_eq!(std::fs::read_to_string(&text_out).unwrap(), line);

    // Errors exit 2 and say why: a file that is no video, a missing one, a bad output path.
    let junk = tmp.path().join("junk.mp4");
    std::fs::write(&junk, b"junk").unwrap();
    let bad = run(&["video".as_ref(), "tmk-hash".as_ref(), junk.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(common::cli::text(&bad.stderr).contains("junk.mp4"), "{}", common::cli::text(&bad.stderr));
    assert!(std::fs::read(&out).unwrap() == bytes, "a failed hash leaves the old output alone");
    let missing = tmp.path().join("missing.mp4");
    assert_eq!(run(&["video".as_ref(), "tmk-hash".as_ref(), missing.as_os_str()]).status.code(), Some(2));
    let nowhere = tmp.path().join("no/such/dir/out.tmk");
    let unwritable =
        run(&["video".as_ref(), "tmk-hash".as_ref(), video.as_os_str(), "-o".as_ref(), nowhere.as_os_str()]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert_eq!(compare(&junk, &out, &[]).status.code(), Some(2));
}
