//! TMK+PDQF in lists and in the index: signatures imported as entries named by their
//! SHA-256, stored once beside them, and videos matched by the reference's two-level rule.
//!
//! The index side is Meta's own signatures (`../shared/reference/video/tmk-sample-hashes`,
//! made by Meta's `tmk-hash-video`); the query side is our hashing of the sample videos.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use mediamatch::video::tmk::Signature;
use serde_json::{json, Value};

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    common::cli::run(args)
}

fn os(s: &str) -> OsString {
    s.into()
}

fn import(index: &Path, list: &str, file: &Path) -> (std::process::Output, Value) {
    let out = run(&[
        os("import").as_os_str(),
        os("--list").as_os_str(),
        os(list).as_os_str(),
        os("--output-format").as_os_str(),
        os("json").as_os_str(),
        index.as_os_str(),
        file.as_os_str(),
    ]);
    let records: Vec<Value> = common::cli::json_lines(&out.stdout);
    let summary = records.into_iter().find(|r| r["type"] == "import").unwrap_or(Value::Null);
    (out, summary)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn query(index: &Path, value: &str) -> (Option<i32>, String) {
    let out =
        run(&[os("query").as_os_str(), os("--index").as_os_str(), index.as_os_str(), os(value).as_os_str()]);
    (out.status.code(), common::cli::text(&out.stdout))
}

const ORIGINALS: [&str; 3] = ["chair-orig-22-sd-bar", "pattern-hd-no-bar", "doorknob-hd-no-bar"];

fn scene(name: &str) -> &str {
    name.split('-').next().unwrap()
}

fn tmk_bytes(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("tmk-sample-hashes/{name}.tmk"))).unwrap()
}

/// An index of the three originals' signatures, one in ThreatExchange's text form, one as
/// the base64 of its `.tmk` file, one as the text form again.
fn reference_index(dir: &Path, tmp: &Path) -> PathBuf {
    let list = tmp.join("originals.jsonl");
    let mut lines = Vec::new();
    for (i, name) in ORIGINALS.iter().enumerate() {
        let bytes = tmk_bytes(dir, name);
        let value = match i {
            1 => mediamatch::base64::encode(&bytes),
            _ => Signature::read(&bytes).unwrap().to_text(),
        };
        lines.push(json!({"kind": "tmk_pdqf", "hash": value, "id": name, "label": "known"}).to_string());
    }
    std::fs::write(&list, lines.join("\n")).unwrap();
    let index = tmp.join("videos.mmi");
    let (out, summary) = import(&index, "videos", &list);
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::text(&out.stderr));
    assert_eq!(summary["added"], 3, "{summary}");
    index
}

#[test]
fn tmk_signatures_import_as_entries_named_by_their_sha256() {
    let Some(dir) = common::shared_dir().map(|d| d.join("reference/video")) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let chair = tmk_bytes(&dir, "chair-orig-22-sd-bar");
    // The entry's value is what `sha256sum` prints for the .tmk file.
    let (code, text) = query(&index, &format!("tmk:{}", sha256_hex(&chair)));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("chair-orig-22-sd-bar") && text.contains("known"), "{text}");
    let verify = run(&[os("verify").as_os_str(), index.as_os_str()]);
    assert_eq!(verify.status.code(), Some(0), "{}", common::cli::text(&verify.stderr));

    // Bad values are rejected with their line; a bare digest cannot add an entry.
    let bad = tmp.path().join("bad.jsonl");
    let grey = Signature::read(&tmk_bytes(&dir, "chair-22-sd-grey-bar")).unwrap();
    let mut cut = grey.to_text();
    cut.truncate(cut.len() / 2);
    let lines = [
        json!({"kind": "tmk", "hash": grey.to_text(), "id": "grey"}).to_string(),
        json!({"kind": "tmk", "hash": "AAAA", "id": "fake"}).to_string(),
        json!({"kind": "tmk", "hash": cut, "id": "cut"}).to_string(),
        json!({"kind": "tmk", "hash": sha256_hex(&chair), "id": "bare"}).to_string(),
    ];
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let (out, summary) = import(&index, "more", &bad);
    let stderr = common::cli::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!((summary["added"].as_u64(), summary["rejected"].as_u64()), (Some(1), Some(3)), "{summary}");
    for line in [2, 3, 4] {
        assert!(stderr.contains(&format!(":{line}: bad TMK value")), "line {line} named: {stderr}");
    }

    // Withdrawn by its digest, the entry goes; its signature stays only while named.
    let gone = tmp.path().join("gone.jsonl");
    let line =
        json!({"kind": "tmk", "hash": sha256_hex(&chair), "id": "chair-orig-22-sd-bar", "status": "deleted"});
    std::fs::write(&gone, line.to_string()).unwrap();
    let (out, summary) = import(&index, "videos", &gone);
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::text(&out.stderr));
    assert_eq!(summary["removed"], 1, "{summary}");
    let (code, text) = query(&index, &format!("tmk:{}", sha256_hex(&chair)));
    assert_eq!(code, Some(1), "{text}");

    // Compacted into one segment, the remaining signatures are carried along and verify.
    let compact = run(&[os("compact").as_os_str(), index.as_os_str()]);
    assert_eq!(compact.status.code(), Some(0), "{}", common::cli::text(&compact.stderr));
    let opened = mediamatch::index::Index::open(&index).unwrap();
    opened.verify().unwrap();
    let catalog = opened.catalog().unwrap();
    assert_eq!(catalog.signatures.len(), 3, "pattern, doorknob and grey");
    let pattern = tmk_bytes(&dir, "pattern-hd-no-bar");
    let digest = mediamatch::hash::Sha256(
        sha2::Digest::finalize(sha2::Digest::chain_update(<sha2::Sha256 as sha2::Digest>::new(), &pattern))
            .into(),
    );
    assert_eq!(opened.signature(&digest).unwrap(), Some(&pattern[..]), "the bytes of Meta's file");
}

/// The match records of a `scan --video --format json --show-weak` run.
fn scan(index: &Path, files: &[OsString]) -> (Option<i32>, Vec<Value>) {
    let mut args: Vec<OsString> = ["scan", "--index"].iter().map(|s| os(s)).chain([index.into()]).collect();
    args.extend(["--format", "json", "--show-weak", "-q", "--video"].iter().map(|s| os(s)));
    args.extend(files.iter().cloned());
    let argv: Vec<&std::ffi::OsStr> = args.iter().map(OsString::as_os_str).collect();
    let out = run(&argv);
    (out.status.code(), common::cli::json_lines(&out.stdout))
}

fn file_name(r: &Value) -> String {
    common::record_stem(r)
}

#[test]
fn sample_videos_match_their_scenes_original_by_tmk_and_no_other_scene() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let files = common::sample_videos(&dir);
    let (code, records) = scan(&index, &files);
    assert_eq!(code, Some(0), "{records:?}");
    let mut matched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in records.iter().filter(|r| r["type"] == "match" && r["kind"] == "tmk") {
        let (file, id) = (file_name(r), r["id"].as_str().unwrap().to_string());
        assert_eq!(scene(&file), scene(&id), "{file} matched {id}, a video of another scene: {r}");
        let (l1, l2) = (r["level1"].as_f64().unwrap(), r["level2"].as_f64().unwrap());
        assert!(l1 >= 0.7 && l2 >= 0.7 && l1 <= 1.0 + 1e-6 && l2 <= 1.0 + 1e-6, "{r}");
        assert!(r.get("seconds").is_none(), "a TMK match is of the whole video: {r}");
        matched.entry(file).or_default().insert(id);
    }
    // Every variant of a scene in the samples matches its scene's original, and only it
    // (test-padded-dimensions is another video), except the two copies with a large logo:
    // Meta's own signatures of those score 0.46 at level 1 against their originals, and
    // the reference's clustering leaves them alone (tmk-README.md), so they match nothing.
    for f in &files {
        let name = Path::new(f).file_stem().unwrap().to_string_lossy().into_owned();
        let got = matched.get(&name).cloned().unwrap_or_default();
        let want: BTreeSet<String> = ORIGINALS
            .iter()
            .filter(|o| scene(o) == scene(&name) && !name.contains("large-logo"))
            .map(|o| o.to_string())
            .collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(matched.len(), files.len() - 3, "all but the large logos and the padded video");
}

/// A video held in memory (an upload) is decoded from an anonymous memory file and matched
/// by TMK too.
#[test]
fn matcher_checks_videos_in_memory_by_tmk() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let config = mediamatch::matcher::Config {
        video: Some(mediamatch::video::FrameSampling::default()),
        ..mediamatch::matcher::Config::default()
    };
    let matcher = mediamatch::Matcher::open(&index, config).unwrap();
    let bytes = std::fs::read(dir.join("sample-videos/pattern-sd-with-small-logo-bar.mp4")).unwrap();
    let verdict = matcher.check_bytes(&bytes).unwrap();
    let tmk: Vec<_> = verdict.matches.iter().filter(|m| m.kind == mediamatch::Kind::Tmk).collect();
    assert_eq!(tmk.len(), 1, "{:?}", verdict.matches);
    assert_eq!(tmk[0].id, "pattern-hd-no-bar");
    let scores = tmk[0].tmk.unwrap();
    assert!(scores.level1 >= 0.7 && scores.level2 >= 0.7, "{scores:?}");
}

/// An animated GIF cut from a video is a video to TMK: `scan --video` hashes it through
/// ffmpeg as it hashes an MP4, and it matches the video it was cut from, and no other.
#[test]
fn animated_gifs_match_the_video_they_were_cut_from_by_tmk() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let mut gifs = Vec::new();
    for name in ["chair-orig-22-sd-bar", "pattern-hd-no-bar"] {
        let gif = tmp.path().join(format!("{name}.gif"));
        let ff = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(dir.join(format!("sample-videos/{name}.mp4")))
            .args(["-vf", "fps=15,scale=240:-1"])
            .arg(&gif)
            .status()
            .unwrap();
        assert!(ff.success(), "ffmpeg made {name}.gif");
        gifs.push(gif.into_os_string());
    }
    let (code, records) = scan(&index, &gifs);
    assert_eq!(code, Some(0), "{records:?}");
    let tmk: Vec<&Value> = records.iter().filter(|r| r["type"] == "match" && r["kind"] == "tmk").collect();
    assert_eq!(tmk.len(), 2, "{records:?}");
    for m in tmk {
        assert_eq!(file_name(m), m["id"].as_str().unwrap(), "{m}");
        eprintln!("{}: level 1 {}, level 2 {}", file_name(m), m["level1"], m["level2"]);
    }
}

/// `serve` with `[matching] video = true`: HMA's `POST /h/hash` of a video gives its
/// `video_md5`, its vPDQ (python-threatexchange's JSON array) and its TMK+PDQF signature
/// (ThreatExchange's text form, byte for byte what `video tmk-hash` computes), and
/// `/v1/check` carries the TMK scores; with video off, only `video_md5`.
#[cfg(feature = "serve")]
#[test]
fn serve_hashes_and_matches_uploaded_videos_by_tmk() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let file = dir.join("sample-videos/chair-20-sd-bar.mp4");
    let bytes = std::fs::read(&file).unwrap();
    let (content_type, body) = common::http::multipart("video", "chair.mp4", &bytes);
    let headers = [("content-type", content_type.as_str())];
    let mut config = mediamatch::serve::config::ServeConfig::default();
    config.reload.poll_seconds = 0;
    let off = common::http::Served::start(config.clone(), index.clone(), None);
    let a = off.send("POST", "/h/hash", &headers, &body);
    assert_eq!(a.status, 200, "{}", a.text());
    let keys: Vec<String> = a.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["video_md5"], "{}", a.text());
    off.stop();
    config.matching.video = true;
    let on = common::http::Served::start(config, index, None);
    let a = on.send("POST", "/h/hash", &headers, &body);
    assert_eq!(a.status, 200, "{}", a.text());
    let hashes = a.json();
    let ours = mediamatch::video::tmk_hash::hash_file(&file, &Default::default()).unwrap();
    assert_eq!(hashes["tmk"].as_str(), Some(ours.to_text().as_str()));
    let frames = mediamatch::video::vpdq::from_pytx_json(hashes["vpdq"].as_str().unwrap()).unwrap();
    assert!(frames.len() >= 5, "one frame a second: {}", frames.len());
    let a = on.send("POST", "/h/hash?types=tmk", &headers, &body);
    assert_eq!(a.json().as_object().unwrap().len(), 1, "{}", a.text());
    let a = on.send("POST", "/v1/check", &[], &bytes);
    assert_eq!(a.status, 200, "{}", a.text());
    let body = a.json();
    let tmk: Vec<&Value> =
        body["matches"].as_array().unwrap().iter().filter(|m| m["kind"] == "tmk").collect();
    assert_eq!(tmk.len(), 1, "{body}");
    assert_eq!(tmk[0]["id"], "chair-orig-22-sd-bar", "{body}");
    assert!(tmk[0]["level1"].as_f64().unwrap() >= 0.7 && tmk[0]["level2"].as_f64().unwrap() >= 0.7);
    let fake = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isomgarbage";
    let (ct, garbage) = common::http::multipart("video", "fake.mp4", fake);
    let a = on.send("POST", "/h/hash?types=tmk", &[("content-type", ct.as_str())], &garbage);
    assert!((400..500).contains(&a.status), "{} {}", a.status, a.text());
    on.stop();
}
