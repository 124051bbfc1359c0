//! `mediamatch hash` end to end: formats, the JSON Lines schema, errors, exit codes, and
//! conformance of the bundled fixture photos with the reference implementations (their
//! hashes in `fixtures/photos/reference.tsv` were written by imagehash and pdqhash).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use common::cli::{crate_dir as root, json_lines, run, run_in};
use serde::Deserialize;

/// The JSON Lines records of `mediamatch hash --format json`; unknown fields fail the test,
/// so this is the schema.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Record {
    Hash {
        path: String,
        /// The raw name in base64, only when it is not UTF-8.
        #[serde(default)]
        path_bytes: Option<String>,
        pdq: Option<String>,
        pdq_quality: Option<u8>,
        pdq_dihedral: Option<Vec<String>>,
        phash: Option<String>,
        phash_dihedral: Option<Vec<String>>,
        md5: Option<String>,
        sha1: Option<String>,
        sha256: Option<String>,
        orientation: Option<u8>,
    },
    Error {
        path: String,
        #[serde(default)]
        path_bytes: Option<String>,
        error: String,
    },
}

fn records(out: &Output) -> Vec<Record> {
    json_lines(&out.stdout)
}

/// (file name → (phash, pdq, quality)) from the reference TSV.
fn reference() -> HashMap<String, (String, String, u8)> {
    let text = std::fs::read_to_string(root().join("fixtures/photos/reference.tsv")).expect("reference.tsv");
    let rows: HashMap<_, _> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), (f[2].to_string(), f[3].to_string(), f[4].parse().expect("quality")))
        })
        .collect();
    assert_eq!(rows.len(), 6, "reference.tsv should list the 6 fixture photos");
    rows
}

#[test]
fn fixture_photos_match_the_reference_implementations() {
    let out = run(&["hash", "--format", "json", "fixtures/photos"]);
    // reference.tsv is not an image: one error record, exit 2, the photos still hashed.
    assert_eq!(out.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let recs = records(&out);
    let reference = reference();
    let mut seen = 0;
    for r in &recs {
        match r {
            Record::Hash {
                path,
                pdq,
                pdq_quality,
                phash,
                md5,
                sha1,
                sha256,
                pdq_dihedral,
                orientation,
                ..
            } => {
                let name = Path::new(path).file_name().unwrap().to_string_lossy().into_owned();
                let (want_phash, want_pdq, want_q) = &reference[&name];
                assert_eq!(phash.as_deref(), Some(want_phash.as_str()), "{name} phash");
                assert_eq!(pdq.as_deref(), Some(want_pdq.as_str()), "{name} pdq");
                assert_eq!(*pdq_quality, Some(*want_q), "{name} quality");
                assert_eq!(md5.as_ref().map(String::len), Some(32));
                assert_eq!(sha1.as_ref().map(String::len), Some(40));
                assert_eq!(sha256.as_ref().map(String::len), Some(64));
                assert!(pdq_dihedral.is_none(), "no dihedral without --dihedral");
                assert_eq!(*orientation, None, "{name}: the fixture photos carry no EXIF orientation");
                seen += 1;
            }
            Record::Error { path, error, .. } => {
                assert!(path.ends_with("reference.tsv"), "unexpected error for {path}: {error}");
                assert!(error.contains("not an image"), "{error}");
            }
        }
    }
    assert_eq!(seen, 6, "all six photos hashed");
}

#[test]
fn digests_match_sha256sum_style_known_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("abc.txt");
    std::fs::write(&file, b"abc").unwrap();
    let out = run(&["hash", "--kind", "md5,sha1,sha256", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    match &records(&out)[..] {
        [Record::Hash { md5, sha1, sha256, pdq, phash, .. }] => {
            assert_eq!(md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
            assert_eq!(sha1.as_deref(), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
            assert_eq!(
                sha256.as_deref(),
                Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            );
            assert!(pdq.is_none() && phash.is_none(), "only the asked kinds");
        }
        other => panic!("unexpected records {other:?}"),
    }
}

#[test]
fn dihedral_variants_are_printed_and_start_with_the_hash() {
    let out =
        run(&["hash", "--format", "json", "--dihedral", "--kind", "pdq,phash", "fixtures/photos/coins.png"]);
    assert_eq!(out.status.code(), Some(0));
    match &records(&out)[..] {
        [Record::Hash { pdq, pdq_dihedral: Some(pd), phash, phash_dihedral: Some(ph), .. }] => {
            assert_eq!(pd.len(), 8);
            assert_eq!(ph.len(), 8);
            assert_eq!(Some(&pd[0]), pdq.as_ref());
            assert_eq!(Some(&ph[0]), phash.as_ref());
        }
        other => panic!("unexpected records {other:?}"),
    }
}

#[test]
fn bad_files_are_error_records_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.jpg"), b"").unwrap();
    std::fs::write(dir.path().join("notes.jpg"), b"just some text\n").unwrap();
    let jpeg = std::fs::read(root().join("fixtures/photos/grace_hopper.jpg")).unwrap();
    std::fs::write(dir.path().join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
    std::fs::copy(root().join("fixtures/photos/rocket.jpg"), dir.path().join("ok.jpg")).unwrap();
    let out = run(&["hash", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a failed file makes exit code 2");
    let recs = records(&out);
    let errors: HashMap<String, String> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Error { path, error, .. } => {
                Some((Path::new(path).file_name().unwrap().to_string_lossy().into_owned(), error.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(errors["empty.jpg"].contains("empty"), "{errors:?}");
    assert!(errors["notes.jpg"].contains("not an image"), "{errors:?}");
    assert!(errors["truncated.jpg"].contains("truncated"), "{errors:?}");
    let hashed = recs.iter().filter(|r| matches!(r, Record::Hash { .. })).count();
    assert_eq!(hashed, 1, "the good file is still hashed");
}

#[test]
fn text_and_csv_formats() {
    let out = run(&["hash", "--kind", "pdq,md5", "fixtures/photos/rocket.jpg"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().next().unwrap();
    assert!(line.starts_with("fixtures/photos/rocket.jpg\tpdq:8792786c"), "{line}");
    assert!(line.contains("quality:100") && line.contains("\tmd5:"), "{line}");

    let out = run(&["hash", "--format", "csv", "--kind", "pdq,phash", "fixtures/photos/a,b.jpg"]);
    assert_eq!(out.status.code(), Some(2), "missing file is an error");
    let out = run(&["hash", "--format", "csv", "--kind", "pdq,phash", "fixtures/photos/rocket.jpg"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "kind,hash,quality,variant,id");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("pdq,8792786c") && lines[1].ends_with(",100,orig,fixtures/photos/rocket.jpg")
    );
    assert!(lines[2].starts_with("phash,c0371bec1be51267,,orig,"));
}

#[test]
fn unknown_kind_is_a_usage_error() {
    let out = run(&["hash", "--kind", "sha512", "fixtures/photos/rocket.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha512"));
}

#[test]
fn names_that_are_not_utf8_are_printed_losslessly() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("temp dir");
    let photo = std::fs::read(root().join("fixtures/photos/coins.png")).expect("fixture");
    std::fs::write(tmp.path().join(OsStr::from_bytes(b"a-\xff.png")), &photo).expect("write");
    std::fs::write(tmp.path().join(OsStr::from_bytes(b"a-\xfe.png")), b"not an image").expect("write");
    let out = run_in(tmp.path(), &["hash", "--format", "json", "."], None);
    let mut seen = Vec::new();
    for r in records(&out) {
        match r {
            Record::Hash { path, path_bytes, .. } => seen.push(("hash", path, path_bytes)),
            Record::Error { path, path_bytes, .. } => seen.push(("error", path, path_bytes)),
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("error", "./a-\\xfe.png".to_string(), Some("Li9hLf4ucG5n".to_string())),
            ("hash", "./a-\\xff.png".to_string(), Some("Li9hLf8ucG5n".to_string())),
        ]
    );
}

/// `--version` says whether the JPEG decoder has its SIMD code and which kernel paths run;
/// CI installs `nasm`, so there it must say SIMD (a CI image that lost `nasm` would halve
/// hashing speed without any test noticing otherwise).
#[test]
fn version_names_the_decoder_simd_and_the_kernel_paths() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("mediamatch ") && text.contains("JPEG decoder: libjpeg-turbo"), "{text}");
    let kernels = mediamatch::hash::simd::current().name();
    assert!(text.contains(&format!("hashing kernels: {kernels}")), "{text}");
    assert_eq!(text.contains("with SIMD"), mediamatch::decode::jpeg_simd(), "{text}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(
            mediamatch::decode::jpeg_simd(),
            "CI built the JPEG decoder without SIMD (is nasm installed?): {text}"
        );
    }
}
