//! The `upload_handler` example's server over real HTTP on 127.0.0.1.
//!
//! The example's routes live in `examples/upload_handler/server.rs`; this test compiles
//! that same file (an example cannot be imported, and spawning the example binary would
//! need a nested `cargo build`), serves it on an ephemeral port from a thread and sends
//! HTTP/1.1 requests over `std::net::TcpStream`. Every test stops its server at the end.

mod common;
#[path = "../examples/upload_handler/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mediamatch::catalog::Catalog;
use mediamatch::index::{build, write_atomic, BuildOptions};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::matcher::{Config, Matcher};
use serde_json::Value;

/// Bodies over this many bytes are refused with 413 before they are read.
const BODY_LIMIT: usize = 512 << 10;

fn fixture(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The index bytes of `fixtures/demo/known.csv` as the list `name`.
fn known_index(name: &str) -> Vec<u8> {
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/known.csv");
    let source = ListFile::read(&csv, &ParseOptions::default()).expect("known.csv parses");
    assert_eq!(source.list.records.len(), 9);
    let mut catalog = Catalog::default();
    apply(&mut catalog, name, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    build(&catalog, &BuildOptions::default()).expect("index builds")
}

/// A running server: its address, the way to stop it, and its thread.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serves the example's routes over the index file at `index`.
    fn start(index: &Path) -> Server {
        let matcher = Matcher::open(index, Config { max_bytes: BODY_LIMIT as u64, ..Config::default() })
            .expect("index opens");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds an ephemeral port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let app = server::app(Arc::new(matcher), BODY_LIMIT);
                server::serve(listener, app, async move {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Server { addr, stop: Some(stop), thread: Some(thread) }
    }

    /// Stops the server, checks it ended cleanly and no longer accepts connections.
    fn stop(mut self) {
        self.shutdown().expect("server thread ended").expect("server ended without an I/O error");
        assert!(TcpStream::connect(self.addr).is_err(), "the server still accepts connections");
    }

    fn shutdown(&mut self) -> Option<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for Server {
    /// A failing test still stops its server.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Sends one HTTP/1.1 request and returns the status code and the JSON body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    stream.set_write_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sends the request head");
    // A server refusing an oversized body may answer and close before reading it all;
    // the answer is still there to read.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head:?}"));
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
        "JSON answers have a length: {head}"
    );
    let json =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{status}: body {body:?} is not JSON: {e}"));
    (status, json)
}

fn upload(addr: SocketAddr, body: &[u8]) -> (u16, Value) {
    request(addr, "POST", "/upload", body)
}

/// A temporary index file holding known.csv as the list `name`.
fn index_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("known.mmi");
    write_atomic(&path, &known_index(name)).expect("index written");
    (dir, path)
}

/// The PDQ match in a 403 answer: (id, variant, list).
fn pdq_match(json: &Value) -> (String, String, String) {
    let matches = json["matches"].as_array().unwrap_or_else(|| panic!("no matches: {json}"));
    let pdq: Vec<_> = matches.iter().filter(|m| m["kind"] == "pdq").collect();
    assert_eq!(pdq.len(), 1, "{json}");
    let field = |k: &str| pdq[0][k].as_str().unwrap_or_else(|| panic!("{k} missing: {json}")).to_string();
    let distance = pdq[0]["distance"].as_u64().unwrap_or_else(|| panic!("no distance: {json}"));
    assert!(distance <= 31, "{json}");
    assert_eq!(pdq[0]["label"], "demo", "{json}");
    (field("id"), field("variant"), field("list"))
}

#[test]
fn known_and_mirrored_images_are_blocked_with_the_match_facts() {
    let (_dir, index) = index_file("known");
    let server = Server::start(&index);
    let cases = [
        ("photos/grace_hopper.jpg", "grace_hopper", "orig"),
        ("photos/coins.png", "coins", "orig"),
        ("demo/scan/grace_hopper-mirrored.jpg", "grace_hopper", "flipy"),
        ("demo/scan/rocket-mirrored.jpg", "rocket", "flipy"),
        ("demo/scan/coins-rotated-90.jpg", "coins", "rot270"),
    ];
    for (file, id, variant) in cases {
        let (status, json) = upload(server.addr, &fixture(file));
        assert_eq!((status, json["status"].as_str()), (403, Some("blocked")), "{file}: {json}");
        assert_eq!(pdq_match(&json), (id.into(), variant.into(), "known".into()), "{file}");
    }
    // The original's own bytes also match its MD5 entry, which has no variant.
    let (_, json) = upload(server.addr, &fixture("photos/rocket.jpg"));
    let md5: Vec<_> =
        json["matches"].as_array().expect("matches").iter().filter(|m| m["kind"] == "md5").collect();
    assert_eq!(md5.len(), 1, "{json}");
    assert_eq!((md5[0]["distance"].as_u64(), md5[0]["variant"].is_null()), (Some(0), true), "{json}");
    server.stop();
}

#[test]
fn unrelated_photos_are_accepted() {
    let (_dir, index) = index_file("known");
    let server = Server::start(&index);
    for file in ["photos/china.jpg", "photos/camera.png", "photos/clock.png", "demo/scan/china-unrelated.jpg"]
    {
        let (status, json) = upload(server.addr, &fixture(file));
        assert_eq!(status, 200, "{file}: {json}");
        assert_eq!(json, serde_json::json!({ "status": "accepted" }), "{file}");
    }
    server.stop();
}

#[test]
fn garbage_empty_and_truncated_bodies_are_400() {
    let (_dir, index) = index_file("known");
    let server = Server::start(&index);
    let jpeg = fixture("photos/rocket.jpg");
    let cases: [(&[u8], &str); 3] = [
        (b"this is not an image", "not-an-image"),
        (b"", "not-an-image"),
        (&jpeg[..jpeg.len() / 2], "corrupt"),
    ];
    for (body, error) in cases {
        let (status, json) = upload(server.addr, body);
        assert_eq!((status, json["error"].as_str()), (400, Some(error)), "{} bytes: {json}", body.len());
    }
    server.stop();
}

#[test]
fn oversized_bodies_and_huge_images_are_413() {
    let (_dir, index) = index_file("known");
    let server = Server::start(&index);
    // One byte over the body limit: refused by the HTTP layer.
    let (status, json) = upload(server.addr, &vec![0u8; BODY_LIMIT + 1]);
    assert_eq!((status, json["error"].as_str()), (413, Some("too-large")), "{json}");
    // A small PNG whose header announces 100000 x 100000 pixels: refused by the decoder limits.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    common::png::png_chunk(&mut png, b"IHDR", &ihdr);
    common::png::png_chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    common::png::png_chunk(&mut png, b"IEND", &[]);
    let (status, json) = upload(server.addr, &png);
    assert_eq!((status, json["error"].as_str()), (413, Some("too-large")), "{json}");
    // The server is still answering after refusals.
    assert_eq!(upload(server.addr, &fixture("photos/china.jpg")).0, 200);
    server.stop();
}

#[test]
fn reload_swaps_the_index_and_keeps_the_old_one_when_the_new_is_damaged() {
    let (_dir, index) = index_file("first");
    let server = Server::start(&index);
    let image = fixture("photos/grace_hopper.jpg");
    assert_eq!(pdq_match(&upload(server.addr, &image).1).2, "first");

    write_atomic(&index, &known_index("second")).expect("index replaced");
    // Until the reload the server keeps the mapping it has.
    assert_eq!(pdq_match(&upload(server.addr, &image).1).2, "first");
    let (status, json) = request(server.addr, "POST", "/reload", b"");
    assert_eq!((status, json["status"].as_str()), (200, Some("reloaded")), "{json}");
    assert_eq!(pdq_match(&upload(server.addr, &image).1).2, "second");

    write_atomic(&index, b"not an index").expect("index replaced");
    let (status, json) = request(server.addr, "POST", "/reload", b"");
    assert_eq!(status, 503, "{json}");
    assert_eq!(pdq_match(&upload(server.addr, &image).1).2, "second", "the old index stays in use");
    server.stop();
}
