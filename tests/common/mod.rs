//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod cli;
pub mod hostile;
#[cfg(feature = "serve")]
pub mod http;
#[cfg(feature = "fetch")]
pub mod mock;
pub mod png;
pub mod rng;

/// The `../shared` folder beside the repository (reference outputs and the photo corpus).
///
/// Returns `None` and says so loudly on stderr when it is missing, so a developer without
/// it still gets a green run of everything else; under `CI=true` a missing `../shared`
/// is a failure, so CI can never pass by skipping the conformance tests.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared");
    if dir.join("corpus").join("manifest.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("../shared is missing but CI=true: the conformance tests must run in CI");
    }
    eprintln!("SKIPPED: ../shared not found beside the repository; conformance test not run");
    None
}

/// `../shared/reference/video` when `../shared` is there and ffmpeg is installed; `None`
/// (said loudly) otherwise, and a failure under `CI=true`, where the video conformance tests
/// must run.
pub fn video_dir_with_ffmpeg() -> Option<PathBuf> {
    let dir = shared_dir()?.join("reference").join("video");
    if !mediamatch::video::ffmpeg::available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("ffmpeg is not installed but CI=true: the video conformance tests must run");
        }
        eprintln!("SKIPPED: ffmpeg not installed; video conformance test not run");
        return None;
    }
    Some(dir)
}

/// Reads a TSV file with a header into rows of (column name -> value) maps.
pub fn read_tsv(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("TSV has a header").split('\t').map(String::from).collect();
    let rows: Vec<_> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().cloned().zip(l.split('\t').map(String::from)).collect())
        .collect();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

/// An E-value as a record carries it, ordered totally so records can be sorted and compared.
#[derive(serde::Deserialize, Debug, Clone, Copy)]
#[serde(transparent)]
pub struct EValue(pub f64);

impl PartialEq for EValue {
    fn eq(&self, other: &EValue) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for EValue {}

impl PartialOrd for EValue {
    fn partial_cmp(&self, other: &EValue) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EValue {
    fn cmp(&self, other: &EValue) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A match line of `mediamatch query --format json` (strict: unknown fields fail).
#[derive(serde::Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct QueryMatch {
    #[serde(rename = "type")]
    pub record: String,
    pub query: String,
    pub kind: String,
    pub distance: u32,
    pub evalue: EValue,
    pub id: String,
    pub list: String,
    pub label: String,
}

/// The sample videos of `video_dir` (`../shared/reference/video`), sorted; fails when there
/// are fewer than 13.
pub fn sample_videos(video_dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut files: Vec<std::ffi::OsString> = std::fs::read_dir(video_dir.join("sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path().into_os_string())
        .filter(|p| p.to_string_lossy().ends_with(".mp4"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "sample videos: {files:?}");
    files
}

/// The file stem of a JSON record's `path` (a sample video's name).
pub fn record_stem(r: &serde_json::Value) -> String {
    let path = r["path"].as_str().unwrap();
    std::path::Path::new(path).file_stem().unwrap().to_string_lossy().into_owned()
}
