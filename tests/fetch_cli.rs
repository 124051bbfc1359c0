//! `mediamatch fetch` against mock exchange APIs on loopback that speak the real wire
//! formats: NCMEC's pages are the saved API responses in `../shared/lists/ncmec-*.xml`
//! (linked by their own `<next>` paths), StopNCII's the saved `FetchHashes` pages plus
//! pages made here; Tech Against Terrorism's TCAP and ThreatExchange's `threat_updates`
//! serve pages made here in their wire formats (no saved responses exist). Paging, resuming, deletions, refused credentials, throttling, server
//! errors, connections dropped mid-body, malformed pages, a kill -9 between pages, and
//! full snapshots at a URL.
#![cfg(all(unix, feature = "fetch"))]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cli::{mediamatch, text};
use common::mock::{Mock, Reply, Request};
use serde_json::Value;

const PASSWORD: &str = "s3cret-pass";
/// `base64("user:s3cret-pass")`, as any HTTP client sends it.
const BASIC: &str = "Basic dXNlcjpzM2NyZXQtcGFzcw==";
/// The secret half of the ThreatExchange app token.
const TE_SECRET: &str = "te-secret-0123456789abcdef";
/// A ThreatExchange app token, `APP_ID|SECRET`.
const TE_TOKEN: &str = "1234567890|te-secret-0123456789abcdef";
/// 2017-10-20T00:00:00Z, where the saved pages' window starts.
const START: u64 = 1_508_457_600;
/// The import time written by every fetch here, so two runs can be compared byte for byte.
const EPOCH: &str = "1700000000";

fn lists_dir() -> Option<PathBuf> {
    common::shared_dir().map(|d| d.join("lists"))
}

fn saved(name: &str) -> Vec<u8> {
    let dir = lists_dir().expect("../shared");
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The saved NCMEC page a request asks for: the first (no `start`) or the one its `start`
/// names; the pages' `<next>` links carry `start=2001`, `3001`, `4001`.
fn ncmec_page(r: &Request) -> &'static str {
    match r.param("start").as_deref() {
        None => "ncmec-entries.xml",
        Some("2001") => "ncmec-entries2.xml",
        Some("3001") => "ncmec-entries3.xml",
        Some("4001") => "ncmec-entries4.xml",
        Some(other) => panic!("no saved page starts at {other}"),
    }
}

/// The NCMEC API: basic authentication, then the saved pages.
fn ncmec_api(r: &Request) -> Reply {
    if r.header("authorization") != Some(BASIC) {
        return Reply::status(401, "Unauthorized");
    }
    assert_eq!(r.path(), "/v2/entries", "{}", r.target);
    Reply::ok(saved(ncmec_page(r))).header("Content-Type", "application/xml")
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    index: PathBuf,
    config: PathBuf,
}

/// A directory with credentials files (mode 600) and a configuration whose lists are
/// `lists` (TOML tables; `{ncmec}`/`{stopncii}` stand for the credentials files).
fn setup(lists: &str) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let private = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    };
    let ncmec = private("ncmec.credentials", &format!("username = user\npassword = {PASSWORD}\n"));
    let stopncii =
        private("stopncii.credentials", "subscription_key = sub-key\nfetch_function_key = fn-key\n");
    let tcap = private("tcap.credentials", &format!("username = user\npassword = {PASSWORD}\n"));
    let te = private("te.credentials", &format!("app_token = {TE_TOKEN}\n"));
    let text = format!("[http]\nbackoff_ms = 10\nretries = 4\n\n[batch]\nrecords = 1\n\n{lists}")
        .replace("{ncmec}", &ncmec.display().to_string())
        .replace("{stopncii}", &stopncii.display().to_string())
        .replace("{tcap}", &tcap.display().to_string())
        .replace("{te}", &te.display().to_string());
    let config = dir.join("fetch.toml");
    std::fs::write(&config, text).unwrap();
    Setup { index: dir.join("lists.idx"), config, dir, _dir: tmp }
}

fn ncmec_list(base: &str) -> String {
    format!("[lists.ncmec]\nsource = \"ncmec\"\nbase_url = \"{base}\"\nstart = {START}\ncredentials_file = \"{{ncmec}}\"\n")
}

fn fetch(s: &Setup, extra: &[&str]) -> Output {
    let mut cmd = mediamatch();
    cmd.arg("fetch").arg(&s.index).arg("--config").arg(&s.config).arg("--json").args(extra);
    cmd.env("SOURCE_DATE_EPOCH", EPOCH).stdin(Stdio::null());
    common::cli::output_within(cmd, Duration::from_secs(120))
}

/// The `fetch` records of a run, by list.
fn reports(out: &Output) -> BTreeMap<String, Value> {
    let records: Vec<Value> = common::cli::json_lines(&out.stdout);
    records
        .into_iter()
        .map(|r| {
            assert_eq!(r["type"], "fetch", "{r}");
            (r["list"].as_str().unwrap().to_string(), r)
        })
        .collect()
}

/// Whether `kind:hex` matches an entry of the index, and the ids it matches.
fn query(index: &Path, hash: &str) -> Vec<String> {
    let out = common::cli::run(&[
        "query".as_ref(),
        "--index".as_ref(),
        index.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        hash.as_ref(),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "query {hash}: {}", text(&out.stderr));
    let records: Vec<Value> = common::cli::json_lines(&out.stdout);
    records.iter().map(|r| r["id"].as_str().unwrap_or("").to_string()).collect()
}

/// Every file of the index (manifest and segments), by name.
fn index_files(index: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert("manifest".to_string(), std::fs::read(index).unwrap());
    let segments = mediamatch::index::segments_dir(index);
    for e in std::fs::read_dir(&segments).unwrap() {
        let e = e.unwrap();
        files.insert(e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap());
    }
    files
}

fn state(index: &Path) -> Value {
    let mut p = index.as_os_str().to_owned();
    p.push(".fetch.json");
    serde_json::from_slice(&std::fs::read(PathBuf::from(p)).unwrap()).unwrap()
}

fn no_secret(out: &Output, s: &Setup) {
    for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let t = text(bytes);
        for secret in [PASSWORD, "sub-key", "fn-key", "dXNlcjpzM2NyZXQtcGFzcw", TE_SECRET] {
            assert!(!t.contains(secret), "{what} shows a credential: {t}");
        }
    }
    let mut p = s.index.as_os_str().to_owned();
    p.push(".fetch.json");
    if let Ok(state) = std::fs::read_to_string(PathBuf::from(p)) {
        assert!(
            !state.contains(PASSWORD) && !state.contains("fn-key") && !state.contains(TE_SECRET),
            "{state}"
        );
    }
}

// The saved pages' entries: image1 (md5 a1a1...), video1 (b1b1...), image10 (b1a1...),
// willupdate (face...) live at the end; willdelete (bace...) added on page 3 and deleted
// on page 4; PhotoDNA fingerprints skipped.
const A1: &str = "md5:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const B1: &str = "md5:b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const IMAGE10: &str = "md5:b1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const FACE: &str = "md5:facefacefacefacefacefacefaceface";
const BACE: &str = "md5:bacebacebacebacebacebacebacebace";

#[test]
fn ncmec_is_fetched_page_by_page_to_the_end_as_importing_the_saved_pages_would() {
    if lists_dir().is_none() {
        return;
    }
    let api = Mock::start(|r, _| ncmec_api(r));
    let s = setup(&ncmec_list(&api.base));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    no_secret(&out, &s);
    let r = &reports(&out)["ncmec"];
    assert_eq!(r["error"], Value::Null);
    assert_eq!(r["pages"], 4, "{r}");
    assert!(r["skipped_kinds"]["photodna"].as_u64().unwrap() > 0, "PhotoDNA is counted as skipped: {r}");
    assert!(r["removed"].as_u64().unwrap() >= 1, "willdelete's tombstone removed it: {r}");

    // The requests: the window from `start`, then exactly the pages' own next links.
    let requests = api.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].param("from").as_deref(), Some("2017-10-20T00:00:00Z"));
    assert!(requests[0].param("to").is_some());
    for (r, page) in
        requests.iter().skip(1).zip(["ncmec-entries.xml", "ncmec-entries2.xml", "ncmec-entries3.xml"])
    {
        let body = String::from_utf8(saved(page)).unwrap();
        let next =
            body.split("<next>").nth(1).unwrap().split("</next>").next().unwrap().replace("&amp;", "&");
        assert_eq!(r.target, next, "the next page is the one {page} links");
        assert_eq!(r.header("authorization"), Some(BASIC));
    }

    // The same entries as importing the four saved pages in order.
    let imported = s.dir.join("imported.idx");
    let dir = lists_dir().unwrap();
    let mut import =
        vec!["import".into(), imported.clone().into_os_string(), "--list".into(), "ncmec".into()];
    for p in ["ncmec-entries.xml", "ncmec-entries2.xml", "ncmec-entries3.xml", "ncmec-entries4.xml"] {
        import.push(dir.join(p).into_os_string());
    }
    let out = common::cli::run(&import);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for hash in [A1, B1, IMAGE10, FACE, BACE] {
        assert_eq!(query(&s.index, hash), query(&imported, hash), "{hash}");
    }
    assert_eq!(query(&s.index, FACE), ["willupdate"]);
    assert_eq!(query(&s.index, IMAGE10), ["image10"]);
    assert!(query(&s.index, BACE).is_empty(), "the deleted entry is gone");

    // The checkpoint: the window is done, the next one starts where it ended.
    let to = requests[0].param("to").unwrap();
    let cp = &state(&s.index)["lists"]["ncmec"];
    assert_eq!(cp["checkpoint"]["next"], Value::Null, "{cp}");
    assert_eq!(cp["last_error"], Value::Null);
    assert!(cp["source"].as_str().unwrap().starts_with("ncmec http://127.0.0.1:"), "{cp}");
    let from = cp["checkpoint"]["from"].as_u64().unwrap();

    // `info` shows the list's source, checkpoint and last success.
    let info = common::cli::run(&["info".as_ref(), s.index.as_os_str()]);
    let t = text(&info.stdout);
    assert!(t.contains("fetched from: ncmec http://127.0.0.1:") && t.contains("last success"), "{t}");

    // A second fetch resumes there; an empty window changes nothing.
    let before = index_files(&s.index);
    let quiet = Mock::start(|r, _| {
        if r.header("authorization") != Some(BASIC) {
            return Reply::status(401, "Unauthorized");
        }
        Reply::ok(saved("ncmec-entries_no_data.xml"))
    });
    std::fs::write(&s.config, std::fs::read_to_string(&s.config).unwrap().replace(&api.base, &quiet.base))
        .unwrap();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let asked = quiet.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].param("from"), Some(to), "resumed at the last window's end ({from})");
    let r = &reports(&out)["ncmec"];
    assert_eq!((r["pages"].as_u64(), r["commits"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(index_files(&s.index), before, "nothing new: the index is untouched");
}

#[test]
fn refused_credentials_name_the_list_change_nothing_and_do_not_stop_other_lists() {
    if lists_dir().is_none() {
        return;
    }
    let api = Mock::start(|_, _| Reply::status(401, "{\"message\":\"Invalid credentials\"}"));
    let local = lists_dir().unwrap().join("ncmec-entries2.xml");
    let s = setup(&format!(
        "{}\n[lists.local]\nsource = \"file\"\npath = \"{}\"\n",
        ncmec_list(&api.base),
        local.display()
    ));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2), "one list failed: exit 2");
    no_secret(&out, &s);
    let err = text(&out.stderr);
    assert!(err.contains("list ncmec") && err.contains("401") && err.contains("credentials"), "{err}");
    let r = reports(&out);
    assert!(r["ncmec"]["error"].as_str().unwrap().contains("401"));
    assert_eq!(r["local"]["error"], Value::Null, "the other list still ran: {}", r["local"]);
    assert_eq!(query(&s.index, IMAGE10), ["image10"], "the file list was fetched");
    assert!(query(&s.index, A1).is_empty(), "nothing of the refused list");
    let cp = &state(&s.index)["lists"]["ncmec"];
    assert_eq!(cp["checkpoint"], Value::Null, "the checkpoint did not move: {cp}");
    assert!(cp["last_error"].as_str().unwrap().contains("401"), "{cp}");

    // `--list` picks lists; an unknown one is an error before anything is fetched.
    let out = fetch(&s, &["--list", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nosuch"), "{}", text(&out.stderr));
}

#[test]
fn throttling_server_errors_and_dropped_connections_are_retried() {
    if lists_dir().is_none() {
        return;
    }
    // The first page: 429 with Retry-After: 1, then 503, then a body cut short, then it.
    let api = Mock::start(|r, n| match n {
        0 => Reply::status(429, "slow down").header("Retry-After", "1"),
        1 => Reply::status(503, "busy"),
        2 => Reply { cut_at: Some(100), ..ncmec_api(r) },
        _ => ncmec_api(r),
    });
    let s = setup(&ncmec_list(&api.base));
    let started = Instant::now();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    let r = &reports(&out)["ncmec"];
    assert_eq!((r["retries"].as_u64(), r["pages"].as_u64()), (Some(3), Some(4)), "{r}");
    assert_eq!(query(&s.index, FACE), ["willupdate"]);

    // Retries run out: the list fails naming the URL and the last error.
    let down = Mock::start(|_, _| Reply::status(500, "down"));
    let s = setup(&ncmec_list(&down.base));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("gave up after 5 attempt(s)") && err.contains("HTTP 500"), "{err}");
    assert_eq!(down.requests().len(), 5);
    assert!(!s.index.exists(), "nothing was written");
}

/// The same pages as the saved ones, but page 3 is `bad` (once, or always).
fn ncmec_with_bad_page3(bad: &'static [u8], times: usize) -> Mock {
    let served = Arc::new(AtomicUsize::new(0));
    Mock::start(move |r, _| {
        if r.param("start").as_deref() == Some("3001") && served.fetch_add(1, Ordering::SeqCst) < times {
            return Reply::ok(bad.to_vec());
        }
        ncmec_api(r)
    })
}

#[test]
fn a_malformed_page_is_not_applied_and_the_next_run_converges() {
    if lists_dir().is_none() {
        return;
    }
    // An uninterrupted run, for the bytes to converge to.
    let clean_api = Mock::start(|r, _| ncmec_api(r));
    let clean = setup(&ncmec_list(&clean_api.base));
    assert_eq!(fetch(&clean, &[]).status.code(), Some(0));

    for bad in [
        &b"<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\"><images><image><id>x"[..],
        b"<html><body>Service temporarily unavailable</body></html>",
    ] {
        let api = ncmec_with_bad_page3(bad, 1);
        let s = setup(&ncmec_list(&api.base));
        let out = fetch(&s, &[]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("list ncmec") && err.contains("start=3001") && err.contains("not applied"),
            "{err}"
        );
        // Pages 1 and 2 are in; nothing of page 3 or 4.
        assert_eq!(query(&s.index, IMAGE10), ["image10"]);
        assert!(query(&s.index, FACE).is_empty(), "nothing of page 3 was applied");
        let cp = &state(&s.index)["lists"]["ncmec"]["checkpoint"];
        assert!(
            cp["next"].as_str().unwrap().contains("start=3001"),
            "the checkpoint stays before the bad page: {cp}"
        );
        // The next run asks for page 3 again (now good) and ends where the clean run did.
        let out = fetch(&s, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(api.requests().last().unwrap().param("start").as_deref(), Some("4001"));
        assert_eq!(index_files(&s.index), index_files(&clean.index), "the same index bytes as the clean run");
    }
}

#[test]
fn a_fetch_killed_between_pages_converges_to_the_uninterrupted_index() {
    if lists_dir().is_none() {
        return;
    }
    let clean_api = Mock::start(|r, _| ncmec_api(r));
    let clean = setup(&ncmec_list(&clean_api.base));
    assert_eq!(fetch(&clean, &[]).status.code(), Some(0));

    // Page 3 hangs: the fetcher waits for it with pages 1 and 2 committed.
    let slow = Mock::start(|r, _| {
        let reply = ncmec_api(r);
        if r.param("start").as_deref() == Some("3001") {
            return Reply { delay: Duration::from_secs(60), ..reply };
        }
        reply
    });
    let s = setup(&ncmec_list(&slow.base));
    let mut child = mediamatch()
        .arg("fetch")
        .arg(&s.index)
        .arg("--config")
        .arg(&s.config)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !slow.requests().iter().any(|r| r.param("start").as_deref() == Some("3001")) {
        assert!(Instant::now() < deadline, "the fetcher never asked for page 3");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(query(&s.index, IMAGE10), ["image10"], "pages 1 and 2 were committed");

    let api = Mock::start(|r, _| ncmec_api(r));
    std::fs::write(&s.config, std::fs::read_to_string(&s.config).unwrap().replace(&slow.base, &api.base))
        .unwrap();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let asked: Vec<Option<String>> = api.requests().iter().map(|r| r.param("start")).collect();
    assert_eq!(
        asked,
        [Some("3001".to_string()), Some("4001".to_string())],
        "resumed at page 3, nothing twice"
    );
    assert_eq!(index_files(&s.index), index_files(&clean.index), "the same index bytes as the clean run");
}

/// StopNCII: the keys in their headers, then the saved pages by token, then `more`.
fn stopncii_api(more: Option<Value>) -> Mock {
    let page1: Value = serde_json::from_slice(&saved("stopncii-fetchhashes-page1.json")).unwrap();
    let token = page1["nextPageToken"].as_str().unwrap().to_string();
    Mock::start(move |r, _| {
        if r.header("ocp-apim-subscription-key") != Some("sub-key")
            || r.header("x-functions-key") != Some("fn-key")
        {
            return Reply::status(401, "Access denied due to missing subscription key");
        }
        assert_eq!(r.path(), "/FetchHashes");
        match (r.param("nextPageToken"), r.param("startTimestamp").as_deref(), &more) {
            (Some(t), _, _) if t == token => Reply::ok(saved("stopncii-fetchhashes-page2.json")),
            (None, Some("10"), _) => Reply::ok(saved("stopncii-fetchhashes-page1.json")),
            (None, Some(_), Some(page)) => Reply::ok(page.to_string()),
            _ => Reply::status(400, format!("unexpected request {}", r.target)),
        }
    })
}

#[test]
fn stopncii_pages_by_token_resumes_at_the_next_set_and_applies_withdrawals() {
    if lists_dir().is_none() {
        return;
    }
    let page1: Value = serde_json::from_slice(&saved("stopncii-fetchhashes-page1.json")).unwrap();
    let page2: Value = serde_json::from_slice(&saved("stopncii-fetchhashes-page2.json")).unwrap();
    let first = page1["hashRecords"][0]["hashValue"].as_str().unwrap().to_string();
    let last = page2["hashRecords"][0]["hashValue"].as_str().unwrap().to_string();
    let resume_at = page2["nextSetTimestamp"].as_u64().unwrap();
    let withdrawal = serde_json::json!({
        "count": 1, "nextSetTimestamp": resume_at + 100, "hasMoreRecords": false,
        "hashRecords": [{ "lastModtimestamp": resume_at + 50, "hashValue": first, "hashStatus": "Withdrawn",
                          "caseNumbers": {}, "signalType": "ImagePDQ" }]
    });
    let api = stopncii_api(Some(withdrawal));
    let s = setup(&format!(
        "[lists.stopncii]\nsource = \"stopncii\"\nbase_url = \"{}\"\ncredentials_file = \"{{stopncii}}\"\n",
        api.base
    ));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    no_secret(&out, &s);
    let r = &reports(&out)["stopncii"];
    assert_eq!((r["pages"].as_u64(), r["added"].as_u64()), (Some(2), Some(3)), "{r}");
    assert_eq!(query(&s.index, &format!("pdq:{first}")).len(), 1);
    assert_eq!(query(&s.index, &format!("pdq:{last}")).len(), 1);
    assert_eq!(state(&s.index)["lists"]["stopncii"]["checkpoint"], serde_json::json!({ "start": resume_at }));

    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let resumed = api.requests().last().unwrap().param("startTimestamp");
    assert_eq!(resumed, Some(resume_at.to_string()), "the second fetch starts at the last nextSetTimestamp");
    let r = &reports(&out)["stopncii"];
    assert_eq!(r["removed"], 1, "{r}");
    assert!(query(&s.index, &format!("pdq:{first}")).is_empty(), "the withdrawn hash is gone");
    assert_eq!(query(&s.index, &format!("pdq:{last}")).len(), 1, "the others stay");
}

#[test]
fn a_snapshot_url_is_a_replacement_sent_conditionally_and_guarded_against_shrinking() {
    let version = Arc::new(AtomicUsize::new(1));
    let v = Arc::clone(&version);
    let api = Mock::start(move |r, _| {
        let n = v.load(Ordering::SeqCst);
        let etag = format!("\"v{n}\"");
        if r.header("if-none-match") == Some(etag.as_str()) {
            return Reply::status(304, "");
        }
        let body: String = match n {
            1 => (0..10).map(|i| format!("md5:{i:032x}\n")).collect(),
            2 => (0..9).map(|i| format!("md5:{i:032x}\n")).collect(),
            _ => "<html><body>Not found</body></html>\n".into(),
        };
        Reply::ok(body).header("ETag", &etag)
    });
    let s = setup(&format!("[lists.local]\nsource = \"url\"\nurl = \"{}/known.txt\"\n", api.base));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(reports(&out)["local"]["added"], 10);

    // Unchanged: asked with If-None-Match, answered 304, nothing written.
    let before = index_files(&s.index);
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.requests().last().unwrap().header("if-none-match"), Some("\"v1\""));
    assert_eq!(reports(&out)["local"]["pages"], 0);
    assert_eq!(index_files(&s.index), before);

    // A new snapshot without one line: that line is removed.
    version.store(2, Ordering::SeqCst);
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(reports(&out)["local"]["removed"], 1);
    assert!(query(&s.index, &format!("md5:{:032x}", 9)).is_empty());

    // A broken feed (an HTML page) is refused, the list untouched.
    version.store(3, Ordering::SeqCst);
    let before = index_files(&s.index);
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("list local"), "{}", text(&out.stderr));
    assert_eq!(index_files(&s.index), before);
    assert_eq!(query(&s.index, &format!("md5:{:032x}", 0)).len(), 1);
}

#[test]
fn configurations_that_would_leak_or_misfire_are_refused() {
    let s = setup("[lists.x]\nsource = \"url\"\nurl = \"http://lists.example.org/a.csv\"\n");
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("only https://"), "{}", text(&out.stderr));

    // A credentials file others can read is refused, naming the list and the file.
    let s = setup("[lists.ncmec]\nsource = \"ncmec\"\nbase_url = \"http://127.0.0.1:9\"\ncredentials_file = \"{ncmec}\"\n");
    std::fs::set_permissions(s.dir.join("ncmec.credentials"), std::fs::Permissions::from_mode(0o644))
        .unwrap();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("list ncmec") && err.contains("ncmec.credentials"), "{err}");
    no_secret(&out, &s);
}

/// A TCAP hash list record.
fn tcap_record(id: u64, updated_on: f64, algorithm: &str, hash: &str, deleted: bool) -> Value {
    serde_json::json!({
        "hash_digest": hash, "algorithm": algorithm, "ideology": if id.is_multiple_of(2) { "far-right" } else { "islamist" },
        "file_type": "mp4", "deleted": deleted, "updated_on": updated_on,
        "created_on": "2025-03-03 23:05:22,587", "id": id,
    })
}

/// TCAP's API over `records` (sorted by `updated_on`, then `id`): a login that answers a
/// new token per login, each token good for `pages_per_token` pages, and pages of
/// `page_size` records after the `after` checkpoint, linked by absolute `next` URLs with
/// `limit` and `offset`.
fn tcap_api(records: Arc<std::sync::Mutex<Vec<Value>>>, page_size: usize, pages_per_token: usize) -> Mock {
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<(String, usize)>::new()));
    let base = Arc::new(std::sync::Mutex::new(String::new()));
    let b = Arc::clone(&base);
    let mock = Mock::start(move |r, _| {
        if r.method == "POST" {
            assert_eq!(r.path(), "/token-auth/tcap/");
            if r.form("username").as_deref() != Some("user")
                || r.form("password").as_deref() != Some(PASSWORD)
            {
                return Reply::status(
                    400,
                    r#"{"non_field_errors":["Unable to log in with provided credentials."]}"#,
                );
            }
            let mut t = tokens.lock().unwrap();
            let token = format!("eyJ.jwt-{}", t.len());
            t.push((token.clone(), 0));
            return Reply::ok(serde_json::json!({ "token": token }).to_string());
        }
        assert_eq!(r.path(), "/api/hash-list/v2/all", "{}", r.target);
        {
            let mut t = tokens.lock().unwrap();
            let given = r.header("authorization").unwrap_or("");
            match t.iter_mut().find(|(tok, _)| given == format!("Bearer {tok}")) {
                Some((_, used)) if *used < pages_per_token => *used += 1,
                _ => return Reply::status(401, r#"{"detail":"Given token not valid for any token type"}"#),
            }
        }
        let key = |v: &Value| format!("{},{}", v["updated_on"], v["id"]);
        let after = r.param("after").unwrap_or_default();
        let position = |v: &Value| (v["updated_on"].as_f64().unwrap(), v["id"].as_u64().unwrap());
        let after_pos =
            after.split_once(',').map(|(u, i)| (u.parse::<f64>().unwrap(), i.parse::<u64>().unwrap()));
        let all = records.lock().unwrap();
        let rest: Vec<&Value> = all.iter().filter(|v| after_pos.is_none_or(|a| position(v) > a)).collect();
        let offset: usize = r.param("offset").map_or(0, |o| o.parse().unwrap());
        let page: Vec<Value> = rest.iter().skip(offset).take(page_size).map(|v| (*v).clone()).collect();
        let next = (offset + page_size < rest.len()).then(|| {
            format!(
                "{}/api/hash-list/v2/all?after={after}&limit={page_size}&offset={}&order=asc",
                b.lock().unwrap(),
                offset + page_size
            )
        });
        let checkpoint = page.last().map_or_else(String::new, key);
        Reply::ok(
            serde_json::json!({ "count": rest.len(), "next": next, "previous": Value::Null,
                                "checkpoint": checkpoint, "results": page })
            .to_string(),
        )
    });
    *base.lock().unwrap() = mock.base.clone();
    mock
}

fn md5_of(i: u64) -> String {
    format!("{i:032x}")
}

#[test]
fn tcap_logs_in_pages_to_the_end_resumes_after_its_checkpoint_and_applies_deletions() {
    let pdq = "f".repeat(64);
    let records = Arc::new(std::sync::Mutex::new(vec![
        tcap_record(2819, 1704901040.222779, "MD5", &md5_of(1), false),
        tcap_record(2820, 1704901040.24492, "MD5", &md5_of(2), false),
        tcap_record(2821, 1704901040.25555, "PDQ", &pdq, false),
        tcap_record(2822, 1704901041.5, "SHA256", &"ab".repeat(32), false),
        tcap_record(2823, 1704901042.5, "TMK", "abc", false),
    ]));
    // Two records a page; each token is good for two pages: the third page needs a login.
    let api = tcap_api(Arc::clone(&records), 2, 2);
    let s = setup(&format!(
        "[lists.tcap]\nsource = \"tcap\"\nbase_url = \"{}\"\ncredentials_file = \"{{tcap}}\"\n",
        api.base
    ));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    no_secret(&out, &s);
    let r = &reports(&out)["tcap"];
    assert_eq!(
        (r["pages"].as_u64(), r["added"].as_u64(), r["rejected"].as_u64()),
        (Some(3), Some(4), Some(1)),
        "the TMK record's value `abc` is no signature: {r}"
    );
    let logins = api.requests().iter().filter(|q| q.method == "POST").count();
    assert_eq!(logins, 2, "a login, and one more when the token expired");
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(1))), ["2819"]);
    assert_eq!(query(&s.index, &format!("pdq:{pdq}")), ["2821"]);
    assert_eq!(query(&s.index, &format!("sha256:{}", "ab".repeat(32))), ["2822"]);
    let cp = state(&s.index)["lists"]["tcap"]["checkpoint"].clone();
    assert_eq!(cp, serde_json::json!({ "after": "1704901042.5,2823" }), "the last record's position");

    // Later: one hash deleted, one added. The next fetch asks only after the checkpoint.
    records.lock().unwrap().push(tcap_record(2819, 1704902000.0, "MD5", &md5_of(1), true));
    records.lock().unwrap().push(tcap_record(2824, 1704902001.0, "MD5", &md5_of(3), false));
    let asked_before = api.requests().len();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page_requests: Vec<Request> =
        api.requests()[asked_before..].iter().filter(|q| q.method == "GET").cloned().collect();
    assert_eq!(page_requests.len(), 1);
    assert_eq!(page_requests[0].param("after").as_deref(), Some("1704901042.5,2823"));
    let r = &reports(&out)["tcap"];
    assert_eq!((r["added"].as_u64(), r["removed"].as_u64()), (Some(1), Some(1)), "{r}");
    assert!(query(&s.index, &format!("md5:{}", md5_of(1))).is_empty(), "the deleted hash is gone");
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(3))), ["2824"]);
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(2))), ["2820"], "the others stay");
}

#[test]
fn tcap_refused_logins_foreign_links_and_malformed_pages_change_nothing() {
    // A wrong password: the login is refused (400), the list fails naming it.
    let records = Arc::new(std::sync::Mutex::new(vec![tcap_record(1, 1.0, "MD5", &md5_of(1), false)]));
    let api = tcap_api(Arc::clone(&records), 2, 10);
    let s = setup(&format!(
        "[lists.tcap]\nsource = \"tcap\"\nbase_url = \"{}\"\ncredentials_file = \"{{tcap}}\"\n",
        api.base
    ));
    std::fs::write(s.dir.join("tcap.credentials"), "username = user\npassword = wrong\n").unwrap();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("list tcap") && err.contains("credentials were refused"), "{err}");
    assert!(!err.contains("wrong"), "the password is not shown: {err}");
    assert!(!s.index.exists());

    // A page whose `next` points at another host: the token is not sent there, the page
    // is not applied, the checkpoint stays.
    let evil = Mock::start(|_, _| Reply::ok("{}"));
    let evil_base = evil.base.clone();
    let api = Mock::start(move |r, _| {
        if r.method == "POST" {
            return Reply::ok(r#"{"token": "eyJ.t"}"#);
        }
        let page = serde_json::json!({ "count": 2, "next": format!("{evil_base}/api/hash-list/v2/all?offset=1"),
            "previous": null, "checkpoint": "1.0,1", "results": [tcap_record(1, 1.0, "MD5", &md5_of(1), false)] });
        match r.param("after").as_deref() {
            Some("") => Reply::ok(page.to_string()),
            // Malformed: not JSON, then JSON without results.
            Some("bad") => Reply::ok("<html>maintenance</html>"),
            _ => Reply::ok(r#"{"count": 0}"#),
        }
    });
    let s = setup(&format!(
        "[lists.tcap]\nsource = \"tcap\"\nbase_url = \"{}\"\ncredentials_file = \"{{tcap}}\"\n",
        api.base
    ));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("not on the API's host"), "{err}");
    assert!(evil.requests().is_empty(), "nothing was sent to the other host");
    assert!(!s.index.exists(), "the page was not applied");

    for (after, says) in [("bad", "not JSON"), ("other", "no results array")] {
        let s = setup(&format!(
            "[lists.tcap]\nsource = \"tcap\"\nbase_url = \"{}\"\ncredentials_file = \"{{tcap}}\"\n",
            api.base
        ));
        // Start at a stored checkpoint, as a resumed fetch would.
        let mut p = s.index.as_os_str().to_owned();
        p.push(".fetch.json");
        let state = serde_json::json!({ "lists": { "tcap": { "source": format!("tcap {}", api.base), "checkpoint": { "after": after }, "list_version": 0 } } });
        std::fs::write(PathBuf::from(&p), state.to_string()).unwrap();
        let out = fetch(&s, &[]);
        assert_eq!(out.status.code(), Some(2), "{after}");
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
        assert_eq!(
            self::state(&s.index)["lists"]["tcap"]["checkpoint"]["after"],
            after,
            "the checkpoint stays"
        );
    }
}

/// A ThreatExchange update of `id` (an MD5 indicator unless `kind` says otherwise).
fn te_update(
    id: u64,
    last_updated: u64,
    kind: &str,
    indicator: &str,
    should_delete: bool,
    status: &str,
) -> Value {
    serde_json::json!({
        "id": id.to_string(), "indicator": indicator, "type": kind, "last_updated": last_updated,
        "should_delete": should_delete,
        "descriptors": { "data": [ { "id": format!("9{id}"), "owner": { "id": "4242" }, "status": status,
                                     "tags": ["media_type_photo", "terrorism"] } ] },
    })
}

/// The Graph API's `/{group}/threat_updates/` over `updates` (in `last_updated` order):
/// the app token as `access_token`, `start_time` inclusive, `limit`, and cursors whose
/// `next` URLs carry the token as the real API's do.
fn te_api(group: u64, updates: Arc<std::sync::Mutex<Vec<Value>>>) -> Mock {
    let base = Arc::new(std::sync::Mutex::new(String::new()));
    let b = Arc::clone(&base);
    let mock = Mock::start(move |r, _| {
        if r.param("access_token").as_deref() != Some(TE_TOKEN) {
            return Reply::status(
                400,
                r#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}"#,
            );
        }
        assert_eq!(r.path(), format!("/{group}/threat_updates/"), "{}", r.target);
        assert!(r.param("fields").unwrap().contains("descriptors{"), "{}", r.target);
        let start: u64 = r.param("start_time").map_or(0, |s| s.parse().unwrap());
        let limit: usize = r.param("limit").unwrap().parse().unwrap();
        let offset: usize = match r.param("after") {
            Some(c) => match c.strip_prefix("cursor-") {
                Some(n) => n.parse().unwrap(),
                None => {
                    return Reply::status(
                        400,
                        r#"{"error":{"message":"Invalid cursor","type":"GraphMethodException","code":100}}"#,
                    )
                }
            },
            None => 0,
        };
        let all = updates.lock().unwrap();
        let rest: Vec<&Value> = all.iter().filter(|u| u["last_updated"].as_u64().unwrap() >= start).collect();
        let page: Vec<Value> = rest.iter().skip(offset).take(limit).map(|v| (*v).clone()).collect();
        let mut paging = serde_json::json!({ "cursors": { "before": format!("cursor-{offset}"), "after": format!("cursor-{}", offset + page.len()) } });
        if offset + limit < rest.len() {
            paging["next"] = Value::String(format!(
                "{}/{group}/threat_updates/?access_token={}&limit={limit}&after=cursor-{}",
                b.lock().unwrap(),
                TE_TOKEN.replace('|', "%7C"),
                offset + limit
            ));
        }
        Reply::ok(serde_json::json!({ "data": page, "paging": paging }).to_string())
    });
    *base.lock().unwrap() = mock.base.clone();
    mock
}

#[test]
fn threatexchange_pages_by_cursor_applies_deletions_and_a_stale_checkpoint_refetches_everything() {
    const GROUP: u64 = 1012345678901234;
    let pdq = "e".repeat(64);
    let updates = Arc::new(std::sync::Mutex::new(vec![
        te_update(1, 100, "HASH_MD5", &md5_of(1), false, "MALICIOUS"),
        te_update(2, 110, "HASH_PDQ", &pdq, false, "MALICIOUS"),
        te_update(3, 120, "URI", "https://example.org/x", false, "MALICIOUS"),
        te_update(4, 130, "HASH_MD5", &md5_of(4), false, "NON_MALICIOUS"),
        te_update(5, 140, "HASH_VIDEO_MD5", &md5_of(5), false, "UNKNOWN"),
    ]));
    let api = te_api(GROUP, Arc::clone(&updates));
    let s = setup(&format!(
        "[lists.te]\nsource = \"threatexchange\"\nbase_url = \"{}\"\nprivacy_group = {GROUP}\npage_size = 2\ncredentials_file = \"{{te}}\"\n",
        api.base
    ));
    let began = now();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    no_secret(&out, &s);
    let r = &reports(&out)["te"];
    assert_eq!((r["pages"].as_u64(), r["added"].as_u64()), (Some(3), Some(3)), "{r}");
    assert_eq!(r["skipped_kinds"]["url"], 1, "{r}");
    assert_eq!(api.requests()[1].param("after").as_deref(), Some("cursor-2"), "paged by cursor");
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(1))), ["1"]);
    assert_eq!(query(&s.index, &format!("pdq:{pdq}")), ["2"]);
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(5))), ["5"]);
    assert!(query(&s.index, &format!("md5:{}", md5_of(4))).is_empty(), "known benign: not matched");
    let cp = state(&s.index)["lists"]["te"]["checkpoint"].clone();
    assert_eq!(cp["start"], 140, "{cp}");
    assert!(cp["fetched"].as_u64().unwrap() >= began, "{cp}");
    assert!(cp.get("cursor").is_none_or(Value::is_null), "{cp}");

    // An update deletes indicator 1: the next fetch starts at the checkpoint.
    updates.lock().unwrap().push(te_update(1, 150, "HASH_MD5", &md5_of(1), true, "MALICIOUS"));
    let asked = api.requests().len();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.requests()[asked].param("start_time").as_deref(), Some("140"));
    assert_eq!(reports(&out)["te"]["removed"], 1);
    assert!(query(&s.index, &format!("md5:{}", md5_of(1))).is_empty());

    // 86 days without a fetch: deletions may have expired from the API, so the next fetch
    // reads everything and replaces the list. Indicator 2's tombstone is gone: the
    // refetch alone removes it.
    updates.lock().unwrap().retain(|u| u["id"] != "2");
    let mut st = state(&s.index);
    st["lists"]["te"]["checkpoint"]["fetched"] = Value::from(began - 86 * 24 * 3600);
    let mut p = s.index.as_os_str().to_owned();
    p.push(".fetch.json");
    std::fs::write(PathBuf::from(p), st.to_string()).unwrap();
    let asked = api.requests().len();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(api.requests()[asked].param("start_time"), None, "from the beginning");
    let r = &reports(&out)["te"];
    assert_eq!(r["removed"], 1, "{r}");
    assert!(query(&s.index, &format!("pdq:{pdq}")).is_empty(), "removed by the refetch");
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(5))), ["5"], "the live one stays");
    assert_eq!(state(&s.index)["lists"]["te"]["checkpoint"]["start"], 150);

    // A refused token: a clear error naming the list; the token never shown.
    std::fs::write(s.dir.join("te.credentials"), "app_token = 1234567890|not-the-token\n").unwrap();
    let before = index_files(&s.index);
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("list te") && err.contains("credentials were refused") && err.contains("OAuthException"),
        "{err}"
    );
    assert!(err.contains("access_token=(hidden)") && !err.contains("not-the-token"), "{err}");
    assert_eq!(index_files(&s.index), before);
}

#[test]
fn threatexchange_resumes_at_its_cursor_and_restarts_when_the_cursor_expired() {
    const GROUP: u64 = 77;
    let updates: Vec<Value> =
        (1..=6).map(|i| te_update(i, 100 + i, "HASH_MD5", &md5_of(i), false, "MALICIOUS")).collect();
    let updates = Arc::new(std::sync::Mutex::new(updates));
    let api = te_api(GROUP, Arc::clone(&updates));
    let s = setup(&format!(
        "[lists.te]\nsource = \"threatexchange\"\nbase_url = \"{}\"\nprivacy_group = {GROUP}\npage_size = 2\nstart = 103\ncredentials_file = \"{{te}}\"\n",
        api.base
    ));
    // A stored mid-fetch checkpoint with a live cursor: the fetch goes on from it.
    let write_state = |checkpoint: Value| {
        let mut p = s.index.as_os_str().to_owned();
        p.push(".fetch.json");
        let source = format!("threatexchange {}/{GROUP}", api.base);
        let st = serde_json::json!({ "lists": { "te": { "source": source, "checkpoint": checkpoint, "list_version": 0 } } });
        std::fs::write(PathBuf::from(p), st.to_string()).unwrap();
    };
    write_state(serde_json::json!({ "start": 103, "fetched": null, "cursor": "cursor-2", "highest": 104 }));
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first = &api.requests()[0];
    assert_eq!(
        (first.param("start_time").as_deref(), first.param("after").as_deref()),
        (Some("103"), Some("cursor-2"))
    );
    assert_eq!(reports(&out)["te"]["added"], 2, "updates 5 and 6");
    assert!(query(&s.index, &format!("md5:{}", md5_of(3))).is_empty(), "before the cursor: not read again");
    assert_eq!(state(&s.index)["lists"]["te"]["checkpoint"]["start"], 106);

    // An expired cursor: once again from the fetch's start.
    write_state(serde_json::json!({ "start": 103, "fetched": null, "cursor": "expired", "highest": 104 }));
    let asked = api.requests().len();
    let out = fetch(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = &api.requests()[asked + 1];
    assert_eq!((again.param("start_time").as_deref(), again.param("after")), (Some("103"), None));
    assert_eq!(query(&s.index, &format!("md5:{}", md5_of(3))), ["3"]);
    assert!(query(&s.index, &format!("md5:{}", md5_of(2))).is_empty(), "before `start`");
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
