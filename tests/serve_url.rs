//! `mediamatch serve` fetching media by URL (`GET /h/hash?url=`, `GET /m/lookup?url=`,
//! `[url_fetch]`), over loopback against a scripted media host: off by default, the
//! allowlist, https-only and private-address rules, redirects, the size cap (by
//! `Content-Length` and while reading a chunked body), remote failures, bytes that are no
//! media, the metrics, and an audit trail that names the host only.

#![cfg(all(feature = "serve", feature = "fetch"))]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::http::{multipart, Served};
use common::mock::{Mock, Reply};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, write_atomic, BuildOptions};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::serve::config::{AuditRecords, ServeConfig};
use serde_json::Value;

fn fixture(rel: &str) -> Vec<u8> {
    let path = common::cli::crate_dir().join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An index of `fixtures/demo/known.csv` as the list `demo`.
fn demo_index(dir: &Path) -> PathBuf {
    let csv = common::cli::crate_dir().join("fixtures/demo/known.csv");
    let source = ListFile::read(&csv, &ParseOptions::default()).expect("known.csv parses");
    let mut catalog = Catalog::default();
    apply(&mut catalog, "demo", &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    let path = dir.join("demo.mmi");
    write_atomic(&path, &build(&catalog, &BuildOptions::default()).expect("builds")).expect("written");
    path
}

fn quiet_config() -> ServeConfig {
    let mut c = ServeConfig::default();
    c.reload.poll_seconds = 0;
    c
}

/// Fetching on, from `hosts`, loopback allowed (the mock host is on 127.0.0.1).
fn fetch_config(hosts: &[&str]) -> ServeConfig {
    let mut c = quiet_config();
    c.url_fetch.enabled = true;
    c.url_fetch.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
    c.url_fetch.allow_private = true;
    c
}

/// Percent-encodes a query parameter's value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn photo() -> Vec<u8> {
    fixture("photos/coins.png")
}

/// A media host serving the photo at every path.
fn photo_host() -> Mock {
    let bytes = photo();
    Mock::start(move |_, _| Reply::ok(bytes.clone()).header("Content-Type", "image/png"))
}

fn message(a: &common::http::Answer) -> String {
    a.json()["message"].as_str().unwrap_or_else(|| panic!("no message: {}", a.text())).to_string()
}

/// A server that answers every connection with `response` as raw bytes, then closes.
fn raw_host(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let response = response.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(&response);
                let _ = stream.flush();
            });
        }
    });
    base
}

fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for c in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn url_fetching_is_off_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let host = photo_host();
    let served = Served::start(quiet_config(), demo_index(tmp.path()), None);
    let url = enc(&format!("{}/photo.png", host.base));
    for route in ["/h/hash", "/m/lookup"] {
        let a = served.get(&format!("{route}?url={url}"));
        assert_eq!(a.status, 400, "{route}: {}", a.text());
        assert!(message(&a).contains("not enabled"), "{}", a.text());
    }
    assert!(host.requests().is_empty(), "nothing was fetched");
    served.stop();
}

#[test]
fn a_fetched_photo_hashes_and_matches_like_its_upload_and_the_trail_names_the_host_only() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("audit.jsonl");
    let host = photo_host();
    let mut config = fetch_config(&["127.0.0.1"]);
    config.audit.file = Some(trail.clone());
    config.audit.records = AuditRecords::All;
    let served = Served::start(config, demo_index(tmp.path()), None);
    let url = enc(&format!("{}/media/coins.png?token=s3cret-token", host.base));
    let (ct, body) = multipart("photo", "coins.png", &photo());

    let fetched = served.get(&format!("/h/hash?url={url}"));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    let uploaded = served.send("POST", "/h/hash", &[("Content-Type", &ct)], &body);
    assert_eq!(uploaded.status, 200, "{}", uploaded.text());
    assert_eq!(fetched.text(), uploaded.text(), "the same hashes as the upload");
    assert!(fetched.json()["pdq"].is_string() && fetched.json()["md5"].is_string());
    let typed = served.get(&format!("/h/hash?url={url}&types=pdq"));
    let typed_upload = served.send("POST", "/h/hash?types=pdq", &[("Content-Type", &ct)], &body);
    assert_eq!(typed.text(), typed_upload.text());

    let fetched = served.get(&format!("/m/lookup?url={url}"));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    let uploaded = served.send("POST", "/m/lookup", &[("Content-Type", &ct)], &body);
    assert_eq!(uploaded.status, 200, "{}", uploaded.text());
    assert_eq!(fetched.json(), uploaded.json(), "the same matches as the upload");
    assert!(fetched.json()["pdq"]["demo"].as_array().is_some_and(|m| !m.is_empty()), "{}", fetched.text());
    let banked = served.get(&format!("/m/lookup?url={url}&banks=other"));
    let banked_upload = served.send("POST", "/m/lookup?banks=other", &[("Content-Type", &ct)], &body);
    assert_eq!(banked.json(), banked_upload.json(), "banks= as for an upload");

    // The remote saw plain GETs: no credentials, no cookies.
    let requests = host.requests();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/media/coins.png?token=s3cret-token");
        assert!(r.header("authorization").is_none() && r.header("cookie").is_none(), "{r:?}");
        assert!(r.header("accept-encoding").is_none(), "no compressed bodies asked for");
    }

    let metrics = served.get("/metrics").text();
    assert!(metrics.contains("mediamatch_url_fetches_total{outcome=\"ok\"} 4"), "{metrics}");
    assert!(!metrics.contains("s3cret") && !metrics.contains("/media/"), "no URL in the metrics");
    served.stop();

    // The trail: the fetched checks name the host, never the URL or the bytes.
    let text = std::fs::read_to_string(&trail).expect("trail");
    assert!(!text.contains("s3cret") && !text.contains("/media/") && !text.contains("coins.png"), "{text}");
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let fetched: Vec<&Value> = records.iter().filter(|r| r.get("fetched_from").is_some()).collect();
    let uploaded: Vec<&Value> =
        records.iter().filter(|r| r["type"] == "check" && r.get("fetched_from").is_none()).collect();
    assert_eq!((fetched.len(), uploaded.len()), (2, 2), "{text}");
    for r in &fetched {
        assert_eq!(r["fetched_from"], serde_json::json!({ "host": "127.0.0.1" }));
        assert_eq!(r["endpoint"], "/m/lookup");
        assert_eq!(r["upload"]["bytes"], photo().len() as u64);
        assert_eq!(r["upload"]["md5"], uploaded[0]["upload"]["md5"]);
    }
    // Nothing but hashes and sizes of the media: every string value is short.
    for r in &records {
        for (k, v) in r["upload"].as_object().into_iter().flatten() {
            assert!(v.as_str().is_none_or(|s| s.len() <= 64), "{k}: {v}");
        }
    }
}

#[test]
fn urls_refused_before_anything_is_sent_are_400_naming_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let host = photo_host();
    let port = host.base.rsplit(':').next().unwrap().to_string();
    let served =
        Served::start(fetch_config(&["127.0.0.1", "media.example.org"]), demo_index(tmp.path()), None);
    let cases = [
        (format!("http://localhost:{port}/p.png"), "localhost"),
        ("https://other.example.org/p.png".to_string(), "other.example.org"),
        ("http://media.example.org/p.png".to_string(), "https"),
        ("ftp://media.example.org/p.png".to_string(), "scheme"),
        ("file:///etc/passwd".to_string(), "http(s)"),
        ("not a url".to_string(), "not a valid"),
        ("/relative/path.png".to_string(), "not a valid"),
        (format!("http://uploader:hunter2@127.0.0.1:{port}/p.png"), "credentials"),
    ];
    for route in ["/h/hash", "/m/lookup"] {
        for (url, says) in &cases {
            let a = served.get(&format!("{route}?url={}", enc(url)));
            assert_eq!(a.status, 400, "{route} {url}: {}", a.text());
            let m = message(&a);
            assert!(m.contains(says), "{url}: {m}");
            assert!(!m.contains("hunter2") && !m.contains("uploader"), "credentials echoed: {m}");
        }
    }
    let a = served.get(&format!("/h/hash?url={}&content_type=text", enc(&host.base)));
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(host.requests().is_empty(), "nothing was fetched: {:?}", host.requests());
    served.stop();

    // An empty allowlist allows nothing.
    let served = Served::start(fetch_config(&[]), demo_index(tmp.path()), None);
    let a = served.get(&format!("/h/hash?url={}", enc(&format!("{}/p.png", host.base))));
    assert_eq!(a.status, 400);
    assert!(message(&a).contains("allowed_hosts"), "{}", a.text());
    assert!(host.requests().is_empty());
    served.stop();
}

#[test]
fn private_addresses_are_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let host = photo_host();
    let port = host.base.rsplit(':').next().unwrap().to_string();
    let mut config = fetch_config(&["127.0.0.1", "localhost", "[::1]"]);
    config.url_fetch.allow_private = false;
    let served = Served::start(config, demo_index(tmp.path()), None);
    for url in [
        format!("http://127.0.0.1:{port}/p.png"),
        format!("http://localhost:{port}/p.png"),
        format!("http://[::1]:{port}/p.png"),
        format!("http://0x7f.0.0.1:{port}/p.png"),
    ] {
        let a = served.get(&format!("/m/lookup?url={}", enc(&url)));
        assert_eq!(a.status, 400, "{url}: {}", a.text());
        assert!(message(&a).contains("allow_private"), "{url}: {}", a.text());
    }
    assert!(host.requests().is_empty(), "nothing was fetched");
    served.stop();
}

#[test]
fn redirects_are_refused_or_followed_only_to_allowed_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = photo();
    let port_of = |base: &str| base.rsplit(':').next().unwrap().to_string();
    // `/to-photo` redirects (relatively) to `/photo`; `/away` to localhost; `/loop` to itself.
    let host = Mock::start(move |r, _| match r.path() {
        "/photo" => Reply::ok(bytes.clone()).header("Content-Type", "image/png"),
        "/to-photo" => Reply::status(302, "").header("Location", "/photo"),
        "/loop" => Reply::status(301, "").header("Location", "/loop"),
        _ => Reply::status(404, "no"),
    });
    let away = {
        let port = port_of(&host.base);
        move |served: &Served| {
            let target = format!("http://localhost:{port}/photo");
            let mock_redirect = Mock::start(move |_, _| Reply::status(307, "").header("Location", &target));
            let a = served.get(&format!("/h/hash?url={}", enc(&format!("{}/x", mock_redirect.base))));
            (a, mock_redirect)
        }
    };

    // Default: no redirect is followed.
    let served = Served::start(fetch_config(&["127.0.0.1"]), demo_index(tmp.path()), None);
    let a = served.get(&format!("/h/hash?url={}", enc(&format!("{}/to-photo", host.base))));
    assert_eq!(a.status, 502, "{}", a.text());
    assert!(message(&a).contains("redirect"), "{}", a.text());
    assert_eq!(host.requests().len(), 1);
    served.stop();

    let mut config = fetch_config(&["127.0.0.1"]);
    config.url_fetch.max_redirects = 2;
    let served = Served::start(config, demo_index(tmp.path()), None);
    let followed = served.get(&format!("/h/hash?url={}", enc(&format!("{}/to-photo", host.base))));
    assert_eq!(followed.status, 200, "{}", followed.text());
    let direct = served.get(&format!("/h/hash?url={}", enc(&format!("{}/photo", host.base))));
    assert_eq!(followed.text(), direct.text());
    // A redirect to a host not on the list is refused before it is asked.
    let before = host.requests().len();
    let (a, redirector) = away(&served);
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(message(&a).contains("localhost"), "{}", a.text());
    assert_eq!(redirector.requests().len(), 1);
    assert_eq!(host.requests().len(), before, "the disallowed host was never asked");
    // A loop ends after max_redirects.
    let a = served.get(&format!("/h/hash?url={}", enc(&format!("{}/loop", host.base))));
    assert_eq!(a.status, 502, "{}", a.text());
    assert!(message(&a).contains("more than 2 redirects"), "{}", a.text());
    served.stop();
}

#[test]
fn bodies_over_the_cap_are_413_by_length_and_while_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = photo();
    let cap = 1000u64;
    assert!(bytes.len() as u64 > cap);
    let host = photo_host();
    let big_chunked = raw_host(chunked(&bytes, 256));
    let small = b"not an image but small".to_vec();
    let small_chunked = raw_host(chunked(&small, 5));
    let mut config = fetch_config(&["127.0.0.1"]);
    config.url_fetch.max_bytes = cap;
    let served = Served::start(config, demo_index(tmp.path()), None);
    for route in ["/h/hash", "/m/lookup"] {
        let a = served.get(&format!("{route}?url={}", enc(&format!("{}/p.png", host.base))));
        assert_eq!(a.status, 413, "{route} by Content-Length: {}", a.text());
        assert!(message(&a).contains("1000 bytes"), "{}", a.text());
        let a = served.get(&format!("{route}?url={}", enc(&format!("{big_chunked}/p.png"))));
        assert_eq!(a.status, 413, "{route} chunked: {}", a.text());
    }
    // A chunked body under the cap is read whole (and, being no image, is 415).
    let a = served.get(&format!("/h/hash?url={}", enc(&format!("{small_chunked}/p.png"))));
    assert_eq!(a.status, 415, "{}", a.text());
    let metrics = served.get("/metrics").text();
    assert!(metrics.contains("mediamatch_url_fetches_total{outcome=\"too_large\"} 4"), "{metrics}");
    served.stop();

    // Under a larger cap the chunked photo is fetched and hashed like the upload.
    let served = Served::start(fetch_config(&["127.0.0.1"]), demo_index(tmp.path()), None);
    let a = served.get(&format!("/h/hash?url={}", enc(&format!("{big_chunked}/p.png"))));
    assert_eq!(a.status, 200, "{}", a.text());
    let (ct, body) = multipart("photo", "coins.png", &bytes);
    let uploaded = served.send("POST", "/h/hash", &[("Content-Type", &ct)], &body);
    assert_eq!(a.text(), uploaded.text());
    served.stop();
}

#[test]
fn remote_failures_are_502_and_bytes_that_are_no_media_415() {
    let tmp = tempfile::tempdir().unwrap();
    let host = Mock::start(|r, _| match r.path() {
        "/missing" => Reply::status(404, "secret error page body"),
        "/broken" => Reply::status(500, "stack trace"),
        "/slow" => {
            let mut reply = Reply::ok(fixture("photos/coins.png"));
            reply.delay = Duration::from_secs(3);
            reply
        }
        "/cut" => {
            let mut reply = Reply::ok(fixture("photos/coins.png"));
            reply.cut_at = Some(100);
            reply
        }
        _ => Reply::ok("<html>hello</html>").header("Content-Type", "text/html"),
    });
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        drop(l);
        base
    };
    let mut config = fetch_config(&["127.0.0.1"]);
    config.url_fetch.timeout_ms = 800;
    let served = Served::start(config, demo_index(tmp.path()), None);
    for route in ["/h/hash", "/m/lookup"] {
        for (url, status, says) in [
            (format!("{}/missing", host.base), 502, "404"),
            (format!("{}/broken", host.base), 502, "500"),
            (format!("{}/slow", host.base), 502, "timed out"),
            (format!("{}/cut", host.base), 502, "127.0.0.1"),
            (format!("{closed}/x"), 502, "refused"),
            (format!("{}/page.html", host.base), 415, "not an image"),
        ] {
            let a = served.get(&format!("{route}?url={}", enc(&url)));
            assert_eq!(a.status, status, "{route} {url}: {}", a.text());
            let m = message(&a);
            assert!(m.contains(says), "{route} {url}: {m}");
            assert!(!m.contains("secret error page") && !m.contains("stack trace"), "{m}");
        }
    }
    let metrics = served.get("/metrics").text();
    for (outcome, n) in [("remote_status", 4), ("timeout", 2), ("unreachable", 4), ("ok", 2)] {
        let line = format!("mediamatch_url_fetches_total{{outcome=\"{outcome}\"}} {n}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
    assert!(
        metrics.contains("mediamatch_http_requests_total{route=\"/h/hash\",status=\"502\"} 5"),
        "{metrics}"
    );
    served.stop();
}
