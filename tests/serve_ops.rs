//! `mediamatch serve` operations over real loopback HTTP: tokens and scopes, hostile and
//! malformed uploads (never a 5xx, always a message), load shedding, reloads under load
//! and failed reloads, the index states of `/status`, the audit chain, and the binary's
//! signals (SIGHUP reloads, SIGTERM stops).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::hostile::{corpus, Expect};
use common::http::{multipart, send, Served};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, write_atomic, BuildOptions};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::serve::config::{AuditRecords, FsyncPolicy, ServeConfig};
use serde_json::{json, Value};

const MATCH_TOKEN: &str = "uploads-token-0123456789";
const HASH_TOKEN: &str = "hasher-token-0123456789";
const ADMIN_TOKEN: &str = "ops-token-0123456789abc";

fn tokens() -> String {
    format!("uploads match {MATCH_TOKEN}\nhasher hash {HASH_TOKEN}\nops admin,match {ADMIN_TOKEN}\n")
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = common::cli::crate_dir().join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Writes an index of `fixtures/demo/known.csv` as the list `name` to `path`.
fn write_index(path: &Path, name: &str) {
    let csv = common::cli::crate_dir().join("fixtures/demo/known.csv");
    let source = ListFile::read(&csv, &ParseOptions::default()).expect("known.csv parses");
    let mut catalog = Catalog::default();
    apply(&mut catalog, name, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    write_atomic(path, &build(&catalog, &BuildOptions::default()).expect("builds")).expect("written");
}

fn demo_index(dir: &Path) -> PathBuf {
    let path = dir.join("demo.mmi");
    write_index(&path, "demo");
    path
}

/// [`quiet_config`] with every request recorded in `trail`, synced after each record.
fn synced_trail_config(trail: &Path) -> ServeConfig {
    let mut c = quiet_config();
    c.audit.file = Some(trail.to_path_buf());
    c.audit.records = AuditRecords::All;
    c.audit.fsync = FsyncPolicy::Always;
    c
}

fn quiet_config() -> ServeConfig {
    let mut c = ServeConfig::default();
    c.reload.poll_seconds = 0;
    c
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn tokens_and_scopes_guard_every_route_but_health() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::start(quiet_config(), demo_index(tmp.path()), Some(&tokens()));
    for open in ["/status", "/status/live", "/site-map", "/openapi.json"] {
        assert_eq!(served.get(open).status, 200, "{open}");
    }
    let hex = "e4d5b5a92b54523a";
    let lookup = format!("/m/lookup?signal_type=phash&signal={hex}");
    let a = served.get(&lookup);
    assert_eq!(a.status, 401, "{}", a.text());
    assert_eq!(a.header("www-authenticate"), Some("Bearer"));
    assert!(a.json()["message"].as_str().unwrap().contains("bearer token"));
    let a = served.send("GET", &lookup, &[("Authorization", "Bearer wrong-token-000000000")], b"");
    assert_eq!(a.status, 401);
    let a = served.send("GET", &lookup, &[("Authorization", &bearer(MATCH_TOKEN))], b"");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["demo"][0]["distance"], "0");
    // The hash scope does not match; the match scope does not hash; only admin reloads.
    let a = served.send("GET", &lookup, &[("Authorization", &bearer(HASH_TOKEN))], b"");
    assert_eq!(a.status, 403);
    assert!(a.json()["message"].as_str().unwrap().contains("`match` scope"), "{}", a.text());
    let (ct, body) = multipart("photo", "c.png", &fixture("photos/coins.png"));
    let a = served.send(
        "POST",
        "/h/hash",
        &[("Authorization", &bearer(MATCH_TOKEN)), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 403);
    let a = served.send(
        "POST",
        "/h/hash",
        &[("Authorization", &bearer(HASH_TOKEN)), ("Content-Type", &ct)],
        &body,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let a = served.send("POST", "/v1/reload", &[("Authorization", &bearer(MATCH_TOKEN))], b"");
    assert_eq!((a.status, a.json()["code"].as_str()), (403, Some("forbidden")));
    let a = served.send("POST", "/v1/reload", &[("Authorization", &bearer(ADMIN_TOKEN))], b"");
    assert_eq!(a.status, 200, "{}", a.text());
    let a = served.send("GET", "/metrics", &[("Authorization", &bearer(ADMIN_TOKEN))], b"");
    assert_eq!(a.status, 200);
    let metrics = a.text();
    assert!(
        metrics.contains("mediamatch_http_requests_total{route=\"/m/lookup\",status=\"401\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("mediamatch_matches_total{list=\"demo\",kind=\"phash\"} 1"), "{metrics}");
    // No hash value ever appears in the metrics.
    assert!(!metrics.contains(hex));
    assert_eq!(served.get("/metrics").status, 401, "metrics need the admin scope by default");
    served.stop();

    // `[metrics] open`: a scraper reads /metrics without a token; nothing else opens.
    let mut config = quiet_config();
    config.metrics.open = true;
    let served = Served::start(config, demo_index(tmp.path()), Some(&tokens()));
    assert_eq!(served.get("/metrics").status, 200);
    assert_eq!(served.get(&lookup).status, 401);
    served.stop();
}

#[test]
fn a_server_without_tokens_refuses_a_public_address() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = quiet_config();
    c.listen = "0.0.0.0:0".parse().unwrap();
    let e = mediamatch::serve::Server::new(c.clone(), demo_index(tmp.path()), None).err().expect("refused");
    assert!(e.to_string().contains("no tokens are configured"), "{e}");
    assert!(mediamatch::serve::Server::new(c, demo_index(tmp.path()), Some(&tokens())).is_ok());
}

#[test]
fn hostile_uploads_get_a_4xx_with_a_message_never_a_5xx() {
    let tmp = tempfile::tempdir().unwrap();
    // A body limit above every case, so that the decoder's own limits answer.
    let mut c = quiet_config();
    c.limits.max_body_bytes = 256 << 20;
    let served = Served::start(c, demo_index(tmp.path()), None);
    let cases: Vec<_> = corpus().into_iter().filter(|c| c.bytes.is_some()).collect();
    assert!(cases.len() > 30);
    for case in &cases {
        let name = String::from_utf8_lossy(&case.name).into_owned();
        let bytes = case.bytes.as_deref().unwrap();
        let a = served.send("POST", "/v1/check", &[("Content-Type", "application/octet-stream")], bytes);
        let j = a.json();
        match &case.expect {
            Expect::Match(id) => {
                assert_eq!(a.status, 200, "{name}: {j}");
                assert_eq!(j["match"], true, "{name}: {j}");
                assert!(j["matches"].as_array().unwrap().iter().any(|m| m["id"] == *id), "{name}: {j}");
            }
            Expect::Error(text) => {
                assert_eq!(a.status, 413, "{name}: {j}");
                assert!(j["message"].as_str().unwrap().contains(text), "{name}: {j}");
            }
            _ => {
                assert!(a.status == 200 || (400..500).contains(&a.status), "{name}: {} {j}", a.status);
                if a.status != 200 {
                    assert!(
                        j["code"].is_string() && !j["message"].as_str().unwrap().is_empty(),
                        "{name}: {j}"
                    );
                }
            }
        }
        // The same bytes through HMA's routes.
        for route in ["/m/lookup", "/h/hash"] {
            let (ct, body) = multipart("photo", "x.jpg", bytes);
            let a = served.send("POST", route, &[("Content-Type", &ct)], &body);
            assert!(a.status < 500, "{name} {route}: {} {}", a.status, a.text());
            if a.status != 200 {
                assert!(a.json()["message"].is_string(), "{name} {route}: {}", a.text());
            }
        }
    }
    let not_image = served.send("POST", "/v1/check", &[], b"<html>not a photo</html>");
    assert_eq!((not_image.status, not_image.json()["code"].as_str()), (415, Some("not_an_image")));
    let coins = fixture("demo/scan/coins-reencoded-q50.jpg");
    let cut = served.send("POST", "/v1/check", &[], &coins[..coins.len() / 2]);
    assert!(cut.status == 400 || cut.status == 200, "{}", cut.text());
    let empty = served.send("POST", "/v1/check", &[], b"");
    assert_eq!((empty.status, empty.json()["code"].as_str()), (400, Some("empty")));
    served.stop();
}

#[test]
fn malformed_requests_get_clear_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = quiet_config();
    c.limits.max_body_bytes = 64 << 10;
    let served = Served::start(c, demo_index(tmp.path()), None);
    let big = vec![0xffu8; 200 << 10];
    let a = served.send("POST", "/v1/check", &[], &big);
    assert_eq!((a.status, a.json()["code"].as_str()), (413, Some("too_large")), "{}", a.text());
    let (ct, body) = multipart("photo", "big.jpg", &big);
    let a = served.send("POST", "/m/lookup", &[("Content-Type", &ct)], &body);
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.json()["message"].is_string());
    let (ct, body) = multipart("sound", "x.mp3", b"ID3");
    let a = served.send("POST", "/h/hash", &[("Content-Type", &ct)], &body);
    assert_eq!((a.status, a.json()["message"].as_str()), (400, Some("no such content_type: 'sound'")));
    let a = served.send(
        "POST",
        "/h/hash",
        &[("Content-Type", "multipart/form-data; boundary=x")],
        b"--x\r\ngarbage",
    );
    assert_eq!(a.status, 400, "{}", a.text());
    let a = served.send("POST", "/v1/lookup", &[], b"{not json");
    assert_eq!((a.status, a.json()["code"].as_str()), (400, Some("bad_json")));
    let a = served.send("POST", "/v1/lookup", &[], br#"{"hashes":["pdq:zz"]}"#);
    assert_eq!((a.status, a.json()["code"].as_str()), (400, Some("bad_hash")));
    assert!(a.json()["message"].as_str().unwrap().starts_with("hashes[0]"));
    let many: Vec<String> = (0..1001).map(|i| format!("phash:{i:016x}")).collect();
    let a = served.send("POST", "/v1/lookup", &[], json!({ "hashes": many }).to_string().as_bytes());
    assert_eq!((a.status, a.json()["code"].as_str()), (413, Some("too_many_hashes")));
    let a = served.get("/m/lookup?signal_type=pdq&signal=zz%ZZ");
    assert!(a.status == 400, "{}", a.text());
    let a = served.get("/c/bank/NOPE");
    assert_eq!((a.status, a.json()["message"].as_str()), (404, Some("bank 'NOPE' not found")));
    let a = served.get("/v1/nope");
    assert_eq!((a.status, a.json()["code"].as_str()), (404, Some("not_found")));
    let a = served.send("DELETE", "/m/lookup", &[], b"");
    assert_eq!(a.status, 405);
    // A bulk lookup reports every hit with its E-value.
    let a = served.send(
        "POST",
        "/v1/lookup",
        &[],
        br#"{"hashes":["phash:e4d5b5a92b54523a","md5:00000000000000000000000000000000"]}"#,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let j = a.json();
    let hit = &j["results"][0]["matches"][0];
    assert_eq!(
        (hit["id"].as_str(), hit["distance"].as_u64(), hit["significant"].as_bool()),
        (Some("coins"), Some(0), Some(true)),
        "{j}"
    );
    assert!(hit["evalue"].as_f64().unwrap() < 1e-6);
    assert_eq!(j["results"][1]["matches"], json!([]));
    served.stop();
}

#[test]
fn overload_is_shed_with_503_and_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = quiet_config();
    c.limits.hash_workers = 1;
    c.limits.hash_queue = 0;
    let served = Served::start(c, demo_index(tmp.path()), None);
    let addr = served.addr;
    let photo = Arc::new(fixture("photos/grace_hopper.jpg"));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let photo = photo.clone();
            std::thread::spawn(move || {
                (0..4).map(|_| send(addr, "POST", "/v1/check", &[], &photo)).collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let shed: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(ok + shed.len(), answers.len(), "only 200s and 503s");
    assert!(ok > 0 && !shed.is_empty(), "{ok} answered, {} shed", shed.len());
    for a in &shed {
        assert_eq!(a.header("retry-after"), Some("1"));
        assert_eq!(a.json()["code"], "overloaded");
    }
    // Hash lookups do not queue behind uploads.
    assert_eq!(served.get("/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a").status, 200);
    served.stop();
}

#[test]
fn health_checks_are_answered_when_every_slot_is_taken() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let mut c = quiet_config();
    c.limits.max_in_flight = 1;
    let served = Served::start(c, demo_index(tmp.path()), None);
    use std::io::Read;
    // A slow upload holds the one slot: its headers are sent, its body never finishes.
    let open_slow = || {
        let mut slow = std::net::TcpStream::connect(served.addr).unwrap();
        slow.write_all(b"POST /v1/check HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nxxxx").unwrap();
        slow.set_nonblocking(true).unwrap();
        slow
    };
    let mut slow = open_slow();
    let lookup = "/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while served.get(lookup).status != 503 {
        assert!(std::time::Instant::now() < deadline, "the slow upload never took the slot");
        // Under load the upload can reach the server while a lookup holds the slot, and
        // is shed (answered): then it is sent again.
        if slow.read(&mut [0u8; 1]).is_ok() {
            slow = open_slow();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(served.get("/status").status, 200);
    assert_eq!(served.get("/status/live").status, 200);
    assert_eq!(served.get(lookup).status, 503, "everything else is still shed");
    drop(slow);
    served.stop();
}

#[test]
fn reloads_under_load_lose_no_request_and_a_failed_one_keeps_the_old_index() {
    let tmp = tempfile::tempdir().unwrap();
    let index = demo_index(tmp.path());
    let served = Served::start(quiet_config(), index.clone(), None);
    let addr = served.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                let mut versions = std::collections::BTreeSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let a =
                        send(addr, "GET", "/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a", &[], b"");
                    versions.insert(a.header("mediamatch-index-version").unwrap_or("-").to_string());
                    statuses.push((a.status, a.text()));
                }
                (statuses, versions)
            })
        })
        .collect();
    let first = served.get("/v1/info").json()["index_version"].clone();
    for i in 0..6 {
        write_index(&index, if i % 2 == 0 { "demo2" } else { "demo" });
        let a = served.send("POST", "/v1/reload", &[], b"");
        assert_eq!(a.status, 200, "{}", a.text());
    }
    stop.store(true, Ordering::Relaxed);
    let mut versions = std::collections::BTreeSet::new();
    let mut total = 0;
    for t in load {
        let (statuses, v) = t.join().unwrap();
        for (status, body) in &statuses {
            assert_eq!(*status, 200, "{body}");
            assert!(body.contains("\"distance\":\"0\""), "{body}");
        }
        total += statuses.len();
        versions.extend(v);
    }
    assert!(total > 20 && versions.len() >= 2, "{total} requests, versions {versions:?}");

    // A broken file at the path: the reload fails, the old index keeps answering.
    let before = served.get("/v1/info").json()["index_version"].clone();
    assert_ne!(before, Value::Null);
    let _ = first;
    write_atomic(&index, b"not an index at all").unwrap();
    let a = served.send("POST", "/v1/reload", &[], b"");
    assert_eq!((a.status, a.json()["code"].as_str()), (503, Some("reload_failed")), "{}", a.text());
    let a = served.get("/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("mediamatch-index-version"), before.as_str());
    let info = served.get("/v1/info").json();
    assert!(info["reload"]["last_error"].is_string(), "{info}");
    let metrics = served.get("/metrics").text();
    assert!(metrics.contains("mediamatch_index_reloads_total{result=\"failed\"} 1"), "{metrics}");
    served.stop();
}

#[test]
fn status_says_not_loaded_then_alive_then_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("later.mmi");
    let mut c = quiet_config();
    c.reload.stale_after_seconds = 0;
    let served = Served::start(c, index.clone(), None);
    let a = served.get("/status");
    assert_eq!((a.status, a.text().as_str()), (503, "INDEX-NOT-LOADED"));
    assert_eq!(served.get("/status/live").status, 200);
    assert_eq!(served.get("/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a").status, 503);
    write_index(&index, "demo");
    assert_eq!(served.send("POST", "/v1/reload", &[], b"").status, 200);
    let a = served.get("/status");
    assert_eq!((a.status, a.text().as_str()), (200, "I-AM-ALIVE"));
    write_atomic(&index, b"broken").unwrap();
    assert_eq!(served.send("POST", "/v1/reload", &[], b"").status, 503);
    std::thread::sleep(Duration::from_millis(20));
    let a = served.get("/status");
    assert_eq!((a.status, a.text().as_str()), (503, "INDEX-STALE"));
    served.stop();
}

#[test]
fn the_audit_chain_records_checks_and_detects_a_changed_line() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("audit.jsonl");
    let c = synced_trail_config(&trail);
    let served = Served::start(c, demo_index(tmp.path()), None);
    let known = fixture("demo/scan/rocket-mirrored.jpg");
    let a = served.send("POST", "/v1/check", &[("X-Request-Id", "req-known-1")], &known);
    assert_eq!(a.json()["match"], true);
    assert_eq!(a.header("x-request-id"), Some("req-known-1"));
    assert_eq!(served.send("POST", "/v1/check", &[], &fixture("photos/china.jpg")).json()["match"], false);
    assert_eq!(served.get("/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a").status, 200);
    served.stop();

    let text = std::fs::read_to_string(&trail).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3, "{text}");
    let r = &records[0];
    assert_eq!(
        (r["type"].as_str(), r["request_id"].as_str(), r["principal"].as_str()),
        (Some("check"), Some("req-known-1"), Some("anonymous"))
    );
    assert_eq!(r["upload"]["bytes"], known.len());
    assert!(
        r["upload"]["sha256"].is_string() && r["upload"]["pdq"].is_string() && r["upload"]["type"] == "JPEG",
        "{r}"
    );
    assert_eq!(r["matches"][0]["id"], "rocket");
    assert!(
        r["lists"][0]["version"].is_u64() && r["thresholds"]["pdq"] == 31 && r["index_version"].is_string()
    );
    // The media itself is never written.
    assert!(text.len() < known.len());
    let out = common::cli::run(&["audit".as_ref(), "verify".as_ref(), trail.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 records intact, from the start"));
    std::fs::write(&trail, text.replacen("\"rocket\"", "\"rockey\"", 1)).unwrap();
    let out = common::cli::run(&["audit".as_ref(), "verify".as_ref(), trail.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_binary_reloads_on_sighup_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let index = demo_index(tmp.path());
    let mut child = common::cli::mediamatch()
        .args(["serve", "--listen", "127.0.0.1:0", "--index"])
        .arg(&index)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line.trim().strip_prefix("listening on ").expect(&line).parse().unwrap();
    let before = send(addr, "GET", "/v1/info", &[], b"").json()["index_version"].clone();
    write_index(&index, "renamed");
    unsafe_free_kill(child.id(), "HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let banks = send(addr, "GET", "/c/banks", &[], b"").json();
        if banks[0]["name"] == "renamed" {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload: {banks}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(send(addr, "GET", "/v1/info", &[], b"").json()["index_version"], before);
    unsafe_free_kill(child.id(), "TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    // Access logs are JSON lines without hashes or query strings.
    assert!(logs.contains("\"route\":\"/c/banks\""), "{logs}");
    assert!(!logs.contains("signal="), "{logs}");
}

/// Sends a signal with the `kill` command.
fn unsafe_free_kill(pid: u32, signal: &str) {
    let ok =
        std::process::Command::new("kill").args([format!("-{signal}"), pid.to_string()]).status().unwrap();
    assert!(ok.success());
}

/// The OpenAPI document at `/openapi.json` names every route `/site-map` lists, with the
/// methods each serves, the scope each needs and only status codes the route can answer:
/// every documented operation is called (with its scope's token, and without it) and its
/// answer must be one the document lists.
#[test]
fn the_openapi_document_describes_every_route_as_served() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::start(quiet_config(), demo_index(tmp.path()), Some(&tokens()));
    let doc = served.get("/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort_unstable();
    let site_map = served.send("GET", "/site-map", &[], b"").json();
    // The site map writes Flask's `<name>` placeholders, OpenAPI `{name}`.
    let listed: Vec<String> = site_map
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p.as_str().expect("a path").replace('<', "{").replace('>', "}"))
        .collect();
    let mut listed: Vec<&str> = listed.iter().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(documented, listed, "documented paths against served ones");

    let text = doc.to_string();
    for (i, _) in text.match_indices("\"$ref\":\"#/components/schemas/") {
        let rest = &text[i + "\"$ref\":\"#/components/schemas/".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        assert!(doc["components"]["schemas"][name].is_object(), "unresolved $ref {name}");
    }

    let token_for = |scope: &str| match scope {
        "match" => MATCH_TOKEN,
        "hash" => HASH_TOKEN,
        "admin" => ADMIN_TOKEN,
        other => panic!("unknown scope {other}"),
    };
    let (mut calls, mut wrong) = (0, Vec::new());
    for (path, item) in paths {
        let url = path.replace("{bank_name}", "demo").replace("{content_id}", "1");
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let verb = method.to_ascii_uppercase();
            let security = op.get("security").unwrap_or(&doc["security"]);
            let scope = security[0]["bearer"][0].as_str();
            let documented = op["responses"].as_object().expect("responses");
            let headers: Vec<(&str, String)> =
                scope.map(|s| vec![("Authorization", bearer(token_for(s)))]).unwrap_or_default();
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = served.send(&verb, &url, &headers, b"");
            if !documented.contains_key(&a.status.to_string()) {
                wrong.push(format!(
                    "{verb} {path} answered {} ({}), documented {:?}",
                    a.status,
                    a.text(),
                    documented.keys().collect::<Vec<_>>()
                ));
            }
            calls += 1;
            match scope {
                None => assert_ne!(a.status, 401, "{verb} {path} is documented open"),
                Some(s) => {
                    let other = if s == "hash" { MATCH_TOKEN } else { HASH_TOKEN };
                    let refused = served.send(&verb, &url, &[("Authorization", &bearer(other))], b"");
                    assert_eq!(refused.status, 403, "{verb} {path} is documented as needing {s}");
                }
            }
        }
    }
    assert!(wrong.is_empty(), "answers the document does not list:\n{}", wrong.join("\n"));
    assert!(calls >= 24, "only {calls} operations documented");
}

#[test]
fn a_matches_trail_records_only_the_hashes_of_a_batch_that_matched() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("audit.jsonl");
    let mut c = quiet_config();
    c.audit.file = Some(trail.clone());
    assert_eq!(c.audit.records, AuditRecords::Matches, "the default");
    let served = Served::start(c, demo_index(tmp.path()), None);
    let (hit, miss) = ("phash:e4d5b5a92b54523a", "md5:abababababababababababababababab");
    let other_miss = "pdq:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    let body = json!({ "hashes": [miss, hit, other_miss] }).to_string();
    let a = served.send("POST", "/v1/lookup", &[("X-Request-Id", "batch-1")], body.as_bytes());
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["results"].as_array().unwrap().len(), 3, "the answer has every hash");
    // A batch without a hit is not recorded at all.
    let body = json!({ "hashes": [miss, other_miss] }).to_string();
    assert_eq!(served.send("POST", "/v1/lookup", &[], body.as_bytes()).status, 200);
    served.stop();

    let text = std::fs::read_to_string(&trail).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 1, "{text}");
    let r = &records[0];
    assert_eq!((r["request_id"].as_str(), r["looked_up"].as_u64()), (Some("batch-1"), Some(3)), "{r}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{r}");
    assert_eq!(results[0]["hash"], hit);
    assert_eq!(results[0]["matches"][0]["id"], "coins");
    for h in [miss, other_miss] {
        let hex = h.split_once(':').unwrap().1;
        assert!(!text.contains(hex), "a hash that matched nothing was recorded: {text}");
    }
}

#[test]
fn records_all_keeps_every_hash_of_a_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("audit.jsonl");
    let mut c = quiet_config();
    c.audit.file = Some(trail.clone());
    c.audit.records = AuditRecords::All;
    let served = Served::start(c, demo_index(tmp.path()), None);
    let body = json!({ "hashes": ["md5:00000000000000000000000000000000", "phash:e4d5b5a92b54523a"] });
    assert_eq!(served.send("POST", "/v1/lookup", &[], body.to_string().as_bytes()).status, 200);
    served.stop();
    let text = std::fs::read_to_string(&trail).unwrap();
    let r: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!((r["looked_up"].as_u64(), r["results"].as_array().map(Vec::len)), (Some(2), Some(2)), "{r}");
}

/// Wide lookups run (and their synced audit records are written) on the blocking pool:
/// many at once, with health checks beside them, are all answered and recorded, and the
/// trail verifies. A radius over the configured limit is refused with a message.
#[test]
fn wide_lookups_with_synced_records_are_answered_and_chained() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("audit.jsonl");
    let mut c = synced_trail_config(&trail);
    c.limits.max_pdq_distance = 256;
    c.limits.max_phash_distance = 64;
    let served = Served::start(c, demo_index(tmp.path()), None);
    let addr = served.addr;
    let pdq = format!("pdq:{}", "0".repeat(64));
    let body =
        json!({ "hashes": [pdq, "phash:e4d5b5a92b54523a"], "max_distance": { "pdq": 256, "phash": 64 } });
    let body = body.to_string();
    let info = send(addr, "GET", "/v1/info", &[], b"").json();
    let entries = |kind: &str| info["entries"][kind].as_u64().unwrap_or(0) as usize;
    let (pdq_entries, phash_entries) = (entries("pdq"), entries("phash"));
    std::thread::scope(|scope| {
        let lookups: Vec<_> =
            (0..8).map(|_| scope.spawn(|| send(addr, "POST", "/v1/lookup", &[], body.as_bytes()))).collect();
        for _ in 0..8 {
            assert_eq!(send(addr, "GET", "/status/live", &[], b"").status, 200);
        }
        for l in lookups {
            let a = l.join().unwrap();
            assert_eq!(a.status, 200, "{}", a.text());
            let results = a.json()["results"].clone();
            // Every entry is within the widest radius (once per list that holds it).
            let found = |i: usize| results[i]["matches"].as_array().map_or(0, Vec::len);
            assert!(found(0) >= pdq_entries && found(1) >= phash_entries, "{results}");
        }
    });
    let a = served.send(
        "POST",
        "/v1/lookup",
        &[],
        json!({ "hashes": [], "max_distance": { "pdq": 257 } }).to_string().as_bytes(),
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["message"].as_str().unwrap_or("").contains("limits.max_pdq_distance"), "{}", a.text());
    served.stop();
    let text = std::fs::read_to_string(&trail).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
    let out = common::cli::run(&["audit".as_ref(), "verify".as_ref(), trail.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("8 records intact, from the start"));
}

/// The default limits refuse a radius the server was not configured to allow.
#[test]
fn a_lookup_radius_over_the_configured_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let served = Served::start(quiet_config(), demo_index(tmp.path()), None);
    let ask = |pdq: u32| {
        let body = json!({ "hashes": [format!("pdq:{}", "0".repeat(64))], "max_distance": { "pdq": pdq } });
        served.send("POST", "/v1/lookup", &[], body.to_string().as_bytes())
    };
    assert_eq!(ask(64).status, 200);
    let a = ask(65);
    assert_eq!((a.status, a.json()["code"].as_str()), (400, Some("bad_request")));
    assert!(a.json()["message"].as_str().unwrap_or("").contains("from 0 to 64"), "{}", a.text());
    served.stop();
}

/// logrotate's `create` recipe: the file is moved away, an empty one created, and the
/// server sent SIGHUP. The server writes on in the new file, whose first record continues
/// the chain of the old one, so the two verify joined, and without the old one the new
/// file shows where it continues from.
#[test]
fn the_binary_reopens_the_audit_file_on_sighup_and_continues_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let index = demo_index(tmp.path());
    let trail = tmp.path().join("audit.jsonl");
    let rotated = tmp.path().join("audit.jsonl.1");
    let config = tmp.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\nfile = {:?}\nfsync = \"always\"\n[reload]\npoll_seconds = 0\n",
            trail.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut child = common::cli::mediamatch()
        .args(["serve", "--listen", "127.0.0.1:0", "--index"])
        .arg(&index)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line.trim().strip_prefix("listening on ").expect(&line).parse().unwrap();
    let lookup = |id: &str| {
        let a = send(
            addr,
            "GET",
            "/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a",
            &[("X-Request-Id", id)],
            b"",
        );
        assert_eq!(a.status, 200, "{}", a.text());
    };
    lookup("before-1");
    lookup("before-2");
    let head = send(addr, "GET", "/v1/info", &[], b"").json()["audit"]["head"].clone();
    std::fs::rename(&trail, &rotated).unwrap();
    std::fs::write(&trail, b"").unwrap();
    // The HUP handler reopens the trail, then reloads the index: once the new index
    // answers, the trail has been reopened.
    write_index(&index, "renamed");
    unsafe_free_kill(child.id(), "HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while send(addr, "GET", "/c/banks", &[], b"").json()[0]["name"] != "renamed" {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
    lookup("after-1");
    unsafe_free_kill(child.id(), "TERM");
    assert!(child.wait().unwrap().success());

    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&trail).unwrap();
    assert_eq!(old.lines().count(), 2, "{old}");
    assert_eq!(new.lines().count(), 1, "the record after SIGHUP is in the new file: {new}");
    let first: Value = serde_json::from_str(new.lines().next().unwrap()).unwrap();
    assert_eq!((first["request_id"].as_str(), first["seq"].as_u64()), (Some("after-1"), Some(3)));
    assert_eq!(first["prev"], head, "the new file continues the old chain");
    let verify = |files: &[&Path]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["audit".as_ref(), "verify".as_ref()];
        args.extend(files.iter().map(|f| f.as_os_str()));
        common::cli::run(&args)
    };
    let out = verify(&[&rotated, &trail]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 records intact, from the start"));
    let out = verify(&[&trail]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("continuing after seq 2"), "{out:?}");
    // A file missing from between two others breaks the chain.
    let out = verify(&[&trail, &rotated]);
    assert_eq!(out.status.code(), Some(2));
}

/// Under reloads that alternate two indexes (lists `demo` and `demo2`), every answer's
/// version header names the index that answered: the one whose list the matches name,
/// and, for `/v1` answers, the `index_version` of the body.
#[test]
fn the_index_version_header_names_the_index_that_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let index = demo_index(tmp.path());
    let mut c = quiet_config();
    c.limits.hash_workers = 1;
    let served = Served::start(c, index.clone(), None);
    let addr = served.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let photo = Arc::new(fixture("demo/scan/rocket-mirrored.jpg"));
    let load: Vec<_> = (0..4)
        .map(|t| {
            let (stop, photo) = (stop.clone(), photo.clone());
            std::thread::spawn(move || {
                // (header version, list that matched, body version when there is one)
                let mut seen: Vec<(String, String, Option<String>)> = Vec::new();
                // At least one request each, however late the thread starts.
                loop {
                    let (list, body_version, a) = if t == 3 {
                        let a = send(addr, "GET", "/m/lookup?signal_type=pdq&signal=8792786c87937064bf1bc0e43f1fc0e03f1cc2e33da4c2537cec821b2ce4f376", &[], b"");
                        assert_eq!(a.status, 200, "{}", a.text());
                        let j = a.json();
                        let list = j.as_object().unwrap().keys().next().cloned().unwrap_or_default();
                        (list, None, a)
                    } else {
                        let a = send(addr, "POST", "/v1/check", &[], &photo);
                        assert_eq!(a.status, 200, "{}", a.text());
                        let j = a.json();
                        let list = j["matches"][0]["list"].as_str().unwrap_or_default().to_string();
                        (list, j["index_version"].as_str().map(String::from), a)
                    };
                    let header = a.header("mediamatch-index-version").unwrap_or("-").to_string();
                    seen.push((header, list, body_version));
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                seen
            })
        })
        .collect();
    let mut list_of: std::collections::BTreeMap<String, String> = Default::default();
    for i in 0..12 {
        let list = if i % 2 == 0 { "demo2" } else { "demo" };
        write_index(&index, list);
        let a = served.send("POST", "/v1/reload", &[], b"");
        assert_eq!(a.status, 200, "{}", a.text());
        // The answer to a reload names the version it loaded, and with no reload running
        // a lookup is answered by that version and its list.
        let version = a.json()["index_version"].as_str().unwrap().to_string();
        assert_eq!(a.header("mediamatch-index-version"), Some(version.as_str()));
        let a = served.get("/m/lookup?signal_type=phash&signal=e4d5b5a92b54523a");
        assert_eq!(a.header("mediamatch-index-version"), Some(version.as_str()));
        assert!(a.json()[list].is_array(), "{}", a.text());
        let known = list_of.entry(version.clone()).or_insert_with(|| list.to_string());
        assert_eq!(known, list, "version {version}");
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in load {
        for (header, list, body_version) in t.join().unwrap() {
            total += 1;
            if let Some(v) = body_version {
                assert_eq!(header, v, "the header and the body name different indexes");
            }
            let known = list_of.entry(header.clone()).or_insert_with(|| list.clone());
            assert_eq!(*known, list, "version {header} answered with the lists of another index");
        }
    }
    assert!(total > 0 && list_of.len() == 2, "{total} answers, versions {list_of:?}");
    served.stop();
}
