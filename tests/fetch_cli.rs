//! `mediamatch fetch` against mock exchange APIs on loopback that speak the real wire
//! formats: NCMEC's pages are the saved API responses in `../shared/lists/ncmec-*.xml`
//! (linked by their own `<next>` paths), StopNCII's the saved `FetchHashes` pages plus
//! pages made here. Paging, resuming, deletions, refused credentials, throttling, server
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
    let text = format!("[http]\nbackoff_ms = 10\nretries = 4\n\n[batch]\nrecords = 1\n\n{lists}")
        .replace("{ncmec}", &ncmec.display().to_string())
        .replace("{stopncii}", &stopncii.display().to_string());
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
        for secret in [PASSWORD, "sub-key", "fn-key", "dXNlcjpzM2NyZXQtcGFzcw"] {
            assert!(!t.contains(secret), "{what} shows a credential: {t}");
        }
    }
    let mut p = s.index.as_os_str().to_owned();
    p.push(".fetch.json");
    if let Ok(state) = std::fs::read_to_string(PathBuf::from(p)) {
        assert!(!state.contains(PASSWORD) && !state.contains("fn-key"), "{state}");
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
