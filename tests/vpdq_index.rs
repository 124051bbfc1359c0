//! vPDQ in lists and in the index: whole videos imported as frame entries of one item,
//! and videos and animations matched by HMA's rule on the shares of matched frames.
//!
//! The lists of the matching tests are built from Meta's own every-frame vPDQ hashes of
//! the sample videos (`../shared/reference/video/vpdq-sample-hashes`), sampled one a
//! second as python-threatexchange samples, so the index side is the reference's and the
//! query side is ours.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    common::cli::run(args)
}

fn os(s: &str) -> OsString {
    s.into()
}

/// A pytx JSON vPDQ from `frames` of (hex, quality, seconds).
fn pytx(frames: &[(&str, u8, f64)]) -> String {
    let items: Vec<String> = frames.iter().map(|(h, q, t)| format!("{h},{q},{t:.1}")).collect();
    serde_json::to_string(&items).unwrap()
}

fn import(index: &Path, list: &str, file: &Path) -> (std::process::Output, Value) {
    let out = run(&[
        "import".as_ref(),
        "--list".as_ref(),
        list.as_ref(),
        "--output-format".as_ref(),
        "json".as_ref(),
        index.as_os_str(),
        file.as_os_str(),
    ]);
    let records: Vec<Value> = common::cli::json_lines(&out.stdout);
    let summary = records.into_iter().find(|r| r["type"] == "import").unwrap_or(Value::Null);
    (out, summary)
}

#[test]
fn a_whole_videos_vpdq_becomes_one_item_of_distinct_usable_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let a = "e42926b9cb58d261383b699f0ff2e1076fe6183dff4986d82ca36da48034fc54";
    let b = "34ada6b96d18d2491a79f80f07f2c9936fe6083dfb6983d8a4a36db40034df54";
    let c = "4ce949b11f1035e2f2ef0a5e7ef68706870e70f97bd91d1049a3dbe1d064b454";
    // Frame 2 repeats frame 0, frame 3 is under quality 50: two entries remain.
    let video = pytx(&[(a, 100, 0.0), (b, 90, 1.0), (a, 100, 2.0), (c, 20, 3.0)]);
    let dark = pytx(&[(c, 10, 0.0)]);
    let list = tmp.path().join("videos.jsonl");
    let lines = [
        serde_json::json!({"kind": "vpdq", "hash": video, "id": "v-1", "label": "known"}).to_string(),
        serde_json::json!({"kind": "video_pdq", "hash": video}).to_string(),
        serde_json::json!({"kind": "vpdq", "hash": dark, "id": "v-2"}).to_string(),
        serde_json::json!({"kind": "vpdq", "hash": "[\"zz,100,0.0\"]", "id": "v-3"}).to_string(),
        serde_json::json!({"kind": "vpdq", "hash": c, "id": "one-frame"}).to_string(),
    ];
    std::fs::write(&list, lines.join("\n")).unwrap();
    let index = tmp.path().join("v.mmi");
    let (out, summary) = import(&index, "videos", &list);
    let stderr = common::cli::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // v-1: 2 frames; the id-less copy: 2 frames under a derived id; one-frame: 1.
    assert_eq!(summary["added"], 5, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");
    assert!(stderr.contains(":4: bad vPDQ value"), "the bad line is named: {stderr}");
    // Hash a query whose frames are v-1's: the frame entries carry v-1's id and label.
    let query =
        run(&["query".as_ref(), "--index".as_ref(), index.as_os_str(), os(&format!("vpdq:{b}")).as_os_str()]);
    let text = common::cli::text(&query.stdout);
    assert_eq!(query.status.code(), Some(0), "{text}");
    assert!(text.contains("v-1") && text.contains("known"), "{text}");
    assert!(text.contains("vpdq-"), "the id-less copy gets a derived id: {text}");
    // Withdrawing the id-less video names the same derived id, so exactly its frames go.
    let gone = tmp.path().join("gone.jsonl");
    let line = serde_json::json!({"kind": "vpdq", "hash": video, "status": "deleted"}).to_string();
    std::fs::write(&gone, line).unwrap();
    let (out, summary) = import(&index, "videos", &gone);
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::text(&out.stderr));
    assert_eq!(summary["removed"], 2, "{summary}");
    let query =
        run(&["query".as_ref(), "--index".as_ref(), index.as_os_str(), os(&format!("vpdq:{b}")).as_os_str()]);
    let text = common::cli::text(&query.stdout);
    assert!(text.contains("v-1") && !text.contains("vpdq-"), "{text}");
}

/// Meta's every-frame hashes of a sample video, sampled one a second (frame `n` when
/// `n % (int)fps == 0`, fps from the file's timestamps), as pytx JSON.
fn reference_one_a_second(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join(format!("vpdq-sample-hashes/{name}.txt"))).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert!(rows.len() > 30, "{name}: {} frames", rows.len());
    let fps = 1.0 / rows[1][3].parse::<f64>().unwrap();
    let step = (fps as u64).max(1);
    let frames: Vec<(String, u8, f64)> = rows
        .iter()
        .filter(|r| r[0].parse::<u64>().unwrap() % step == 0)
        .map(|r| (r[2].clone(), r[1].parse().unwrap(), r[3].parse().unwrap()))
        .collect();
    let borrowed: Vec<(&str, u8, f64)> = frames.iter().map(|(h, q, t)| (h.as_str(), *q, *t)).collect();
    pytx(&borrowed)
}

const ORIGINALS: [&str; 3] = ["chair-orig-22-sd-bar", "pattern-hd-no-bar", "doorknob-hd-no-bar"];

fn scene(name: &str) -> &str {
    name.split('-').next().unwrap()
}

fn reference_index(dir: &Path, tmp: &Path) -> std::path::PathBuf {
    let list = tmp.join("originals.csv");
    let mut csv = String::from("kind,hash,id\n");
    for name in ORIGINALS {
        let json = reference_one_a_second(dir, name).replace('"', "\"\"");
        csv.push_str(&format!("vpdq,\"{json}\",{name}\n"));
    }
    std::fs::write(&list, csv).unwrap();
    let index = tmp.join("videos.mmi");
    let (out, summary) = import(&index, "videos", &list);
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::text(&out.stderr));
    assert!(summary["added"].as_u64().unwrap() > 20, "{summary}");
    index
}

/// The match records of a `scan --format json --show-weak` run, by file name.
fn scan(index: &Path, extra: &[&str], files: &[OsString]) -> (Option<i32>, Vec<Value>) {
    let mut args: Vec<OsString> = vec![os("scan"), os("--index"), index.into(), os("--format"), os("json")];
    args.extend(["--show-weak", "-q"].iter().chain(extra).map(|s| os(s)));
    args.extend(files.iter().cloned());
    let argv: Vec<&std::ffi::OsStr> = args.iter().map(OsString::as_os_str).collect();
    let out = run(&argv);
    let records: Vec<Value> = common::cli::json_lines(&out.stdout);
    (out.status.code(), records)
}

fn file_name(r: &Value) -> String {
    common::record_stem(r)
}

#[test]
fn sample_videos_match_their_scenes_original_by_vpdq_and_no_other_scene() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let files = common::sample_videos(&dir);
    let (code, records) = scan(&index, &["--video"], &files);
    assert_eq!(code, Some(0), "{records:?}");
    let mut matched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &records {
        if r["type"] != "match" && r["type"] != "weak" {
            continue;
        }
        let (file, id) = (file_name(r), r["id"].as_str().unwrap().to_string());
        assert_eq!(r["kind"], "vpdq", "{r}");
        assert!(
            scene(&file) == scene(&id) || r["type"] == "weak",
            "{file} matched {id}, a video of another scene: {r}"
        );
        let (q, c) = (r["query_percent"].as_f64().unwrap(), r["compared_percent"].as_f64().unwrap());
        assert!((0.0..=100.0).contains(&q) && (0.0..=100.0).contains(&c), "{r}");
        if r["type"] == "match" {
            assert!(q >= 80.0, "HMA's rule: at least 80% of the query's frames: {r}");
            assert!(r["evalue"].as_f64().unwrap() <= 1e-6, "{r}");
            matched.entry(file).or_default().insert(id);
        }
    }
    // Re-encoded, resized, grey, sepia and small-logo copies, letterboxed or not (a
    // query frame's content inside its border is searched too).
    for (file, original) in [
        ("chair-orig-22-sd-bar", "chair-orig-22-sd-bar"),
        ("chair-20-sd-bar", "chair-orig-22-sd-bar"),
        ("chair-22-sd-grey-bar", "chair-orig-22-sd-bar"),
        ("chair-22-sd-sepia-bar", "chair-orig-22-sd-bar"),
        ("chair-22-with-small-logo-bar", "chair-orig-22-sd-bar"),
        ("pattern-hd-no-bar", "pattern-hd-no-bar"),
        ("pattern-sd-grey-bar", "pattern-hd-no-bar"),
        ("pattern-sd-with-small-logo-bar", "pattern-hd-no-bar"),
        ("doorknob-hd-no-bar", "doorknob-hd-no-bar"),
    ] {
        let got = matched.get(file).cloned().unwrap_or_default();
        assert_eq!(got, BTreeSet::from([original.to_string()]), "{file}");
    }
    let unmatched: Vec<String> = files
        .iter()
        .map(|f| Path::new(f).file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|s| !matched.contains_key(s))
        .collect();
    eprintln!("vPDQ: {} of {} sample videos matched; not matched: {unmatched:?}", matched.len(), files.len());
}

#[test]
fn animated_gifs_match_the_video_they_were_cut_from() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    let mut gifs = Vec::new();
    for (name, scale) in [("chair-orig-22-sd-bar", "iw"), ("pattern-hd-no-bar", "480")] {
        // Eight seconds, one frame a second (the frames the list holds), as a GIF.
        let gif = tmp.path().join(format!("{name}.gif"));
        let filter = format!("select='not(mod(n\\,30))',scale={scale}:-1");
        let ff = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-t", "8", "-i"])
            .arg(dir.join(format!("sample-videos/{name}.mp4")))
            .args(["-vf", &filter, "-fps_mode", "passthrough"])
            .arg(&gif)
            .status()
            .unwrap();
        assert!(ff.success(), "ffmpeg made {name}.gif");
        gifs.push(gif.into_os_string());
    }
    // Decoded in process (no --video needed): the animation's distinct frames are its vPDQ.
    let (code, records) = scan(&index, &[], &gifs);
    assert_eq!(code, Some(0), "{records:?}");
    let matches: Vec<&Value> = records.iter().filter(|r| r["type"] == "match").collect();
    assert_eq!(matches.len(), 2, "{records:?}");
    for m in matches {
        assert_eq!(m["kind"], "vpdq", "{m}");
        assert_eq!(file_name(m), m["id"].as_str().unwrap(), "{m}");
        assert_eq!(m["query_percent"], 100.0, "{m}");
    }
}

/// `serve` with `[matching] video = true`: an uploaded video is decoded from memory and
/// matched by vPDQ; off, the same upload is matched by digests only (here none matches, so
/// it is not an image: 415); a fake MP4 is a 4xx answer, never a 500.
#[cfg(feature = "serve")]
#[test]
fn serve_matches_uploaded_videos_by_vpdq_when_asked() {
    let Some(dir) = common::video_dir_with_ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let index = reference_index(&dir, tmp.path());
    // Remuxed with its index (moov) at the end, as ffmpeg writes by default: such an MP4
    // cannot be read from a pipe.
    let upload = tmp.path().join("grey.mp4");
    let ff = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(dir.join("sample-videos/chair-22-sd-grey-bar.mp4"))
        .args(["-c", "copy"])
        .arg(&upload)
        .status()
        .unwrap();
    assert!(ff.success());
    let bytes = std::fs::read(&upload).unwrap();
    let mut config = mediamatch::serve::config::ServeConfig::default();
    config.reload.poll_seconds = 0;
    let off = common::http::Served::start(config.clone(), index.clone(), None);
    let a = off.send("POST", "/v1/check", &[], &bytes);
    assert_eq!(a.status, 415, "no digest matched and video decoding is off: {}", a.text());
    off.stop();
    config.matching.video = true;
    let on = common::http::Served::start(config, index, None);
    let a = on.send("POST", "/v1/check", &[], &bytes);
    assert_eq!(a.status, 200, "{}", a.text());
    let body = a.json();
    assert_eq!(body["match"], true, "{body}");
    let m = &body["matches"][0];
    assert_eq!((m["kind"].as_str(), m["id"].as_str()), (Some("vpdq"), Some("chair-orig-22-sd-bar")), "{m}");
    assert!(m["query_percent"].as_f64().unwrap() >= 80.0, "{m}");
    let fake = on.send("POST", "/v1/check", &[], b"\0\0\0\x18ftypmp42\0\0\0\0mp42isomgarbage");
    assert!((400..500).contains(&fake.status), "{} {}", fake.status, fake.text());
    on.stop();
}
