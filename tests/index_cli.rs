//! `mediamatch query`, `info` and `verify` on indexes built through the library.

mod common;
mod index_support;

use std::path::Path;

use common::cli::{json_lines, run, text};
use index_support::{canonical, catalog_of, oracle};
use mediamatch::index::{build, write_atomic, BuildOptions};
use mediamatch::{HashValue, Md5, Pdq, Phash};

use common::{EValue, QueryMatch as Match};
use mediamatch::significance::NullModel;

fn values() -> Vec<HashValue> {
    let mut v = Vec::new();
    for i in 0..40u64 {
        v.push(HashValue::Phash(Phash(0x8c56_3bb4_622d_d4e3 ^ ((1 << (i % 13)) | (i << 40)))));
        v.push(HashValue::Pdq(Pdq { words: [i, !0, 0x1234, i * 3] }));
    }
    v.push(HashValue::Md5(Md5([0xab; 16])));
    v.push(HashValue::Md5(Md5([0xab; 16])));
    v
}

fn write_index(dir: &Path) -> String {
    let path = dir.join("known.mmi");
    write_atomic(&path, &build(&catalog_of(&values()), &BuildOptions::default()).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn query_json_lines_match_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let catalog = catalog_of(&values());
    let entries = canonical(&catalog);
    let queries: Vec<HashValue> = vec![
        "phash:8c563bb4622dd4e3".parse().unwrap(),
        HashValue::Pdq(Pdq { words: [3, !0, 0x1234, 0] }),
        HashValue::Md5(Md5([0xab; 16])),
    ];
    let n_of = |kind| entries.iter().filter(|e| e.value.kind() == kind).count() as f64;
    for (max, radius_phash, radius_pdq) in [(None, 8, 31), (Some("3"), 3, 3), (Some("0"), 0, 0)] {
        let mut args = vec!["query", "--index", &index, "--format", "json"];
        if let Some(m) = max {
            args.extend(["--max-distance", m]);
        }
        let texts: Vec<String> = queries.iter().map(|q| q.to_string()).collect();
        args.extend(texts.iter().map(String::as_str));
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let mut got: Vec<Match> = json_lines(&out.stdout);
        // E-values agree to rounding: compare 9 significant digits.
        let round = |e: EValue| EValue(format!("{:.8e}", e.0).parse().expect("a number"));
        for m in &mut got {
            m.evalue = round(m.evalue);
        }
        got.sort();
        let mut want = Vec::new();
        for q in &queries {
            let r = match q {
                HashValue::Phash(_) => radius_phash,
                HashValue::Pdq(_) => radius_pdq,
                _ => 0,
            };
            for (e, d) in oracle(&entries, q, r) {
                let entry = &entries[e as usize];
                for &l in &entry.lists {
                    want.push(Match {
                        record: "match".into(),
                        query: q.to_string(),
                        kind: q.kind().name().into(),
                        distance: d,
                        // One hash per query: the kind's entries times the null tail.
                        evalue: round(EValue(n_of(q.kind()) * NullModel::builtin().tail(q.kind(), d))),
                        id: entry.id.clone(),
                        list: catalog.lists[l as usize].name.clone(),
                        label: entry.label.clone(),
                    });
                }
            }
        }
        want.sort();
        assert!(!want.is_empty());
        assert_eq!(got, want, "--max-distance {max:?}");
    }
}

#[test]
fn query_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let none = run(&["query", "--index", &index, "phash:0000000000000000"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    let text = run(&["query", "--index", &index, "md5:abababababababababababababababab"]);
    assert_eq!(text.status.code(), Some(0));
    let lines = String::from_utf8(text.stdout).unwrap();
    assert_eq!(lines.lines().count(), 3, "two entries, one on two lists: {lines}");
    assert!(lines.lines().all(|l| l.starts_with("md5:abab") && l.split('\t').count() == 6));
    let bad = run(&["query", "--index", &index, "phash:zz", "md5:abababababababababababababababab"]);
    assert_eq!(bad.status.code(), Some(2), "a bad query is an error even when another matched");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("phash:zz"));
    let missing =
        run(&["query", "--index", &dir.path().join("nope").to_string_lossy(), "phash:0000000000000000"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn info_lists_kinds_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let out = run(&["info", &index]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let version = format!("format version: {}", mediamatch::index::FORMAT_VERSION);
    for needle in [version.as_str(), "entries:        82", "alpha.csv", "beta", "version 3", "5 added"] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let kinds: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for k in ["pdq", "phash", "md5"] {
        assert!(kinds.contains(&k), "{k} missing from:\n{text}");
    }
}

#[test]
fn info_json_is_one_object_with_kinds_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let out = run(&["info", "--json", &index]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "info");
    assert_eq!(v["format_version"], mediamatch::index::FORMAT_VERSION);
    assert_eq!(v["entries"], 82);
    let kinds: Vec<&str> =
        v["kinds"].as_array().unwrap().iter().map(|k| k["kind"].as_str().unwrap()).collect();
    for k in ["pdq", "phash", "md5"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let entries: u64 = v["kinds"].as_array().unwrap().iter().map(|k| k["entries"].as_u64().unwrap()).sum();
    assert_eq!(entries, 82, "kind counts add up to the entries");
    // The effective thresholds at this size: within the caps, and none under a limit no
    // perceptual match can meet.
    let sig = &v["significance"];
    assert_eq!(sig["pdq"]["cap"], 31);
    // pHash alone is not significant even at distance 0 over 40 entries (docs/null-model.md).
    assert!(sig["phash"]["effective"].as_u64().is_none_or(|t| t <= 8), "{sig}");
    assert!(sig["pdq"]["effective"].as_u64().is_some_and(|t| t <= 31), "{sig}");
    let strict = run(&["info", "--json", "--max-evalue", "1e-300", &index]);
    let strict: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert!(strict["significance"]["phash"]["effective"].is_null(), "{}", strict["significance"]);
    assert!(strict["significance"]["pdq"]["effective"].as_u64() <= sig["pdq"]["effective"].as_u64());
    let lists = v["lists"].as_array().unwrap();
    let alpha = lists.iter().find(|l| l["name"] == "alpha").expect("list alpha");
    assert_eq!(alpha["version"], 3);
    assert_eq!(alpha["source"], "alpha.csv");
    assert_eq!(alpha["added"], 5);
    assert!(lists.iter().any(|l| l["name"] == "beta"), "list beta");
}

#[test]
fn verify_reports_damage() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let ok = run(&["verify", &index]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let mut bytes = std::fs::read(&index).unwrap();
    let at = bytes.len() - 20;
    bytes[at] ^= 0x10;
    let damaged = dir.path().join("damaged.mmi");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = run(&["verify", damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("damaged") && err.contains("damaged.mmi"), "{err}");
    std::fs::write(&damaged, &bytes[..100]).unwrap();
    let out = run(&["verify", damaged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("truncated"));
}

#[test]
fn every_spelling_of_the_output_format() {
    let dir = tempfile::tempdir().unwrap();
    let index = write_index(dir.path());
    let json = run(&["info", &index, "--json"]);
    let text_out = run(&["info", &index]);
    // (command, exit code, the same stdout as: "json", "text" or "" for none)
    let cases: [(&[&str], i32, &str); 8] = [
        (&["info", &index, "--format", "json"], 0, "json"),
        (&["info", &index, "--format", "text"], 0, "text"),
        (&["info", &index, "--json"], 0, "json"),
        (&["info", &index, "--format", "csv"], 2, ""),
        (&["info", &index, "--json", "--format", "text"], 2, ""),
        (&["query", "--index", &index, "--format", "csv", "md5:abababababababababababababababab"], 2, ""),
        (&["query", "--index", &index, "--format", "xml", "md5:abababababababababababababababab"], 2, ""),
        (&["query", "--index", &index, "--format", "text", "phash:0000000000000000"], 1, ""),
    ];
    for (args, code, same_as) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        let want: &[u8] = match same_as {
            "json" => &json.stdout,
            "text" => &text_out.stdout,
            _ => b"",
        };
        assert_eq!(out.stdout, want, "{args:?}");
    }
    // The refused value is named, with the ones that exist.
    let err = text(&run(&["info", &index, "--format", "csv"]).stderr);
    assert!(err.contains("csv") && err.contains("text") && err.contains("json"), "{err}");
}
