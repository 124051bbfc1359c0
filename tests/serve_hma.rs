//! `mediamatch serve` against Meta's HMA: every response recorded from the real service
//! (`../shared/reference/hma/responses/`, HMA 1.1.7 with a bank `BENCH` of 1,000,000
//! random PDQ hashes) is replayed over loopback HTTP against an index holding the same
//! planted hashes under the same ids, and the answers compared byte for byte, or by shape
//! where they depend on the bank's size or on routes mediamatch does not have.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::http::{multipart, Served};
use common::rng::Rng;
use mediamatch::catalog::{Catalog, Entry, ListInfo};
use mediamatch::hash::{HashValue, Pdq};
use mediamatch::index::{build, write_atomic, BuildOptions};
use mediamatch::serve::config::ServeConfig;
use serde_json::Value;

/// Random PDQ hashes besides the planted ones (HMA's bank had a million; the answers
/// compared here do not depend on how many, only that none is near a probe).
const FILLER: usize = 20_000;

fn responses_dir() -> Option<PathBuf> {
    Some(common::shared_dir()?.join("reference/hma/responses"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An index with the list `BENCH`: the probes' planted hashes under HMA's content ids, and
/// random filler under ids HMA's probes never name.
fn bench_index(dir: &Path, probes: &Value) -> PathBuf {
    let mut catalog = Catalog::default();
    catalog.lists.push(ListInfo {
        name: "BENCH".into(),
        imported_at: 1_796_161_169,
        version: 1,
        ..ListInfo::default()
    });
    let mut planted = Vec::new();
    for p in probes["planted"].as_array().expect("planted hashes") {
        let hex = p["hash"].as_str().expect("hash");
        let value = HashValue::parse(mediamatch::Kind::Pdq, hex).expect("a PDQ hash");
        planted.push(value);
        let id = p["bank_content_id"].as_u64().expect("id").to_string();
        catalog.entries.push(Entry { value, id, label: String::new(), lists: vec![0] });
    }
    let mut rng = Rng(0x5eed_4a11);
    for i in 0..FILLER {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let value = HashValue::Pdq(Pdq::from_bytes(bytes));
        catalog.entries.push(Entry {
            value,
            id: format!("{}", 2_000_000 + i),
            label: String::new(),
            lists: vec![0],
        });
    }
    let path = dir.join("bench.mmi");
    write_atomic(&path, &build(&catalog, &BuildOptions::default()).expect("builds")).expect("written");
    path
}

/// The photo HMA hashed in its `hash_photo` and `lookup_post_photo` probes, and its PDQ as
/// HMA gave it. That photo is not in the corpus (its manifest leaves near-duplicates
/// out); then the corpus's first photo stands in, with the PDQ Meta's `pdqhash` gave it
/// (`manifest.tsv`), the reference HMA hashes with.
fn probe_photo(recorded: &Value) -> (Vec<u8>, String) {
    let corpus = common::shared_dir().expect("shared").join("corpus");
    let name = recorded["request"]["multipart"]["filename"].as_str().expect("a file name");
    if let Ok(bytes) = std::fs::read(corpus.join(name)) {
        assert_eq!(bytes.len() as u64, recorded["request"]["multipart"]["bytes"].as_u64().unwrap(), "{name}");
        let pdq = recorded["body_json"]["pdq"].as_str().unwrap_or_default().to_string();
        return (bytes, pdq);
    }
    let rows = common::read_tsv(&corpus.join("manifest.tsv"));
    let row =
        rows.iter().find(|r| r["pdq_quality"].parse::<u32>().unwrap_or(0) >= 50).expect("a corpus photo");
    let bytes = std::fs::read(corpus.join(&row["file"])).expect("corpus photo");
    (bytes, row["pdq"].clone())
}

/// Sends the recorded request again.
fn replay(served: &Served, recorded: &Value) -> common::http::Answer {
    let request = &recorded["request"];
    let method = request["method"].as_str().expect("method");
    let path = request["path"].as_str().expect("path");
    if let Some(json) = request.get("json") {
        let body = serde_json::to_vec(json).expect("JSON");
        return served.send(method, path, &[("Content-Type", "application/json")], &body);
    }
    if request.get("multipart").is_some() {
        let field = request["multipart"]["field"].as_str().expect("field");
        let (content_type, body) = multipart(field, "upload.jpg", &probe_photo(recorded).0);
        return served.send(method, path, &[("Content-Type", &content_type)], &body);
    }
    served.send(method, path, &[], b"")
}

/// Keys and JSON types of `v`, recursively (arrays by their first element).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::Null,
    }
}

#[test]
fn every_recorded_hma_answer_is_reproduced() {
    let Some(dir) = responses_dir() else { return };
    let probes = read_json(&dir.join("_probes.json"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let index = bench_index(tmp.path(), &probes);
    let served = Served::start(ServeConfig::default(), index, None);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("responses")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("_probes.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "expected the recorded HMA answers, found {}", files.len());
    let (mut exact, mut by_shape) = (0, 0);
    for file in &files {
        let name = file.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let recorded = read_json(file);
        let status = recorded["status"].as_u64().expect("status") as u16;
        let raw = recorded["body_raw"].as_str().expect("raw body");
        let answer = replay(&served, &recorded);
        assert_eq!(answer.status, status, "{name}: {}", answer.text());
        let want_type = recorded["content_type"].as_str().expect("content type");
        assert_eq!(answer.header("content-type"), Some(want_type), "{name}");
        match name.as_str() {
            // Sizes and times of HMA's million-hash bank, and its other signal types.
            "index_status" | "index_status_pdq" => {
                let want = recorded["body_json"].as_object().expect("object");
                let got = answer.json();
                for (k, v) in want {
                    assert_eq!(shape(&got[k]), shape(v), "{name}: {k}");
                }
                assert_eq!(got["pdq"]["size"], (FILLER + 5) as u64, "{name}");
                by_shape += 1;
            }
            // HMA's routes include its UI, dev and exchange routes: every route both have
            // must be listed.
            "site_map" => {
                let got: BTreeSet<String> = serde_json::from_slice(&answer.body).expect("a list of routes");
                let want: BTreeSet<String> = serde_json::from_str(raw).expect("a list");
                for route in [
                    "/c/bank/<bank_name>",
                    "/c/banks",
                    "/c/signal_type",
                    "/c/signal_type/index",
                    "/h/hash",
                    "/m/compare",
                    "/m/index/status",
                    "/m/lookup",
                    "/m/raw_lookup",
                    "/site-map",
                    "/status",
                    "/status/live",
                ] {
                    assert!(got.contains(route) && want.contains(route), "{route}");
                }
                by_shape += 1;
            }
            // mediamatch hashes a photo with every image kind; HMA with PDQ only.
            "hash_photo" => {
                let got = answer.json();
                let (_, pdq) = probe_photo(&recorded);
                assert_eq!(got["pdq"], Value::from(pdq.clone()), "{name}: the reference's PDQ");
                assert!(got["phash"].is_string() && got["md5"].is_string(), "{name}: {got}");
                let mut typed = recorded.clone();
                typed["request"]["path"] = Value::from("/h/hash?types=pdq");
                let typed = replay(&served, &typed);
                assert_eq!(
                    typed.text(),
                    format!("{{\"pdq\":\"{pdq}\"}}\n"),
                    "{name} with ?types=pdq: HMA's shape"
                );
                assert_eq!(shape(&typed.json()), shape(&recorded["body_json"]), "{name}");
                by_shape += 1;
            }
            _ => {
                assert_eq!(answer.text(), raw, "{name}: the body differs from HMA's");
                exact += 1;
            }
        }
    }
    eprintln!("HMA answers: {exact} byte for byte, {by_shape} by shape");
    assert!(exact >= 37, "only {exact} answers compared byte for byte");
    served.stop();
}

#[test]
fn mutating_curation_routes_say_lists_are_managed_by_import() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let probes = serde_json::json!({ "planted": [] });
    let index = bench_index(tmp.path(), &probes);
    let served = Served::start(ServeConfig::default(), index, None);
    for (method, path) in [
        ("POST", "/c/banks"),
        ("PUT", "/c/bank/BENCH"),
        ("DELETE", "/c/bank/BENCH"),
        // HMA's routes that add content or signals to a bank.
        ("POST", "/c/bank/BENCH/content"),
        ("POST", "/c/bank/BENCH/signal"),
    ] {
        let a = served.send(method, path, &[("Content-Type", "application/json")], b"{\"name\":\"X\"}");
        assert_eq!(a.status, 501, "{method} {path}");
        assert!(a.json()["message"].as_str().unwrap().contains("mediamatch import"), "{}", a.text());
    }
    let routes = served.get("/site-map").json();
    for route in ["/c/bank/<bank_name>/content", "/c/bank/<bank_name>/signal"] {
        assert!(routes.as_array().unwrap().iter().any(|r| r == route), "{route} in {routes}");
    }
    served.stop();
}

/// An index of `fixtures/demo/known.csv` held by two lists, `demo` and `other`.
fn two_bank_index(dir: &Path) -> PathBuf {
    use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
    use mediamatch::lists::{ListFile, ParseOptions};
    let csv = common::cli::crate_dir().join("fixtures/demo/known.csv");
    let mut catalog = Catalog::default();
    for name in ["demo", "other"] {
        let source = ListFile::read(&csv, &ParseOptions::default()).expect("known.csv parses");
        apply(&mut catalog, name, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    }
    let path = dir.join("two.mmi");
    write_atomic(&path, &build(&catalog, &BuildOptions::default()).expect("builds")).expect("written");
    path
}

/// The banks of every signal type of a `POST /m/lookup` answer that hold a match.
fn banks_matched(answer: &Value) -> BTreeSet<String> {
    answer
        .as_object()
        .expect("an object")
        .values()
        .flat_map(|banks| banks.as_object().expect("banks").keys().cloned())
        .collect()
}

#[test]
fn post_lookup_restricts_matches_to_the_banks_named_like_get() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let trail = tmp.path().join("audit.jsonl");
    let mut config = ServeConfig::default();
    config.audit.file = Some(trail.clone());
    let served = Served::start(config, two_bank_index(tmp.path()), None);
    let photo = std::fs::read(common::cli::crate_dir().join("fixtures/demo/scan/rocket-mirrored.jpg"))
        .expect("fixture");
    let (ct, body) = multipart("photo", "rocket.jpg", &photo);
    let post = |query: &str| {
        let a = served.send("POST", &format!("/m/lookup{query}"), &[("Content-Type", &ct)], &body);
        assert_eq!(a.status, 200, "{query}: {}", a.text());
        a.json()
    };
    let pdq = "8792786c87937064bf1bc0e43f1fc0e03f1cc2e33da4c2537cec821b2ce4f376";
    let get = |query: &str| {
        let a = served.get(&format!("/m/lookup?signal_type=pdq&signal={pdq}{query}"));
        assert_eq!(a.status, 200, "{query}: {}", a.text());
        a.json()
    };
    let every = post("");
    assert_eq!(banks_matched(&every), ["demo", "other"].map(String::from).into(), "{every}");
    // `banks=` keeps the matches of the banks named, as GET does.
    let demo = post("?banks=demo");
    assert_eq!(banks_matched(&demo), ["demo".to_string()].into(), "{demo}");
    assert_eq!(demo["pdq"]["demo"], every["pdq"]["demo"]);
    assert_eq!(get("&banks=demo").as_object().unwrap().keys().collect::<Vec<_>>(), ["demo"]);
    let both = post("?banks=other,%20demo");
    assert_eq!(both, every);
    // An unknown bank selects nothing: GET answers `{}` (as HMA does), POST an empty group
    // per signal type.
    assert_eq!(get("&banks=NO_SUCH_BANK"), serde_json::json!({}));
    let none = post("?banks=NO_SUCH_BANK");
    assert!(banks_matched(&none).is_empty(), "{none}");
    assert_eq!(
        none.as_object().unwrap().keys().collect::<Vec<_>>(),
        every.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    served.stop();

    // The audit trail holds what was answered: no record for the upload that matched only
    // banks not asked for, and the banks asked for in the others.
    let text = std::fs::read_to_string(&trail).expect("audit trail");
    let checks: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a record"))
        .filter(|r| r["type"] == "check")
        .collect();
    assert_eq!(checks.len(), 3, "{text}");
    assert_eq!(checks[0]["banks"], Value::Null);
    assert_eq!(checks[1]["banks"], serde_json::json!(["demo"]));
    assert!(checks[1]["matches"].as_array().unwrap().iter().all(|m| m["list"] == "demo"), "{}", checks[1]);
    assert_eq!(checks[2]["banks"], serde_json::json!(["other", "demo"]));
}
