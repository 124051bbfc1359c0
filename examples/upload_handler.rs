//! An upload endpoint that refuses known media: `POST /upload` with the raw file as the
//! body answers 403 with the match facts, or 200 when nothing matched.
//!
//! ```text
//! cargo run --release --example upload_handler -- --list fixtures/demo/known.csv
//! curl -i --data-binary @fixtures/demo/scan/rocket-mirrored.jpg http://127.0.0.1:8080/upload   # 403
//! curl -i --data-binary @fixtures/photos/china.jpg http://127.0.0.1:8080/upload                # 200
//! ```
//!
//! With `--index PATH` it maps an index file; after `mediamatch import PATH ...` has
//! replaced that file, `curl -X POST http://127.0.0.1:8080/reload` swaps the new one in
//! without dropping a request. The bound address is printed on stdout (`--listen
//! 127.0.0.1:0` picks a free port). The routes and status codes are in `server.rs`.

#[path = "upload_handler/server.rs"]
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::matcher::{Config, IndexData, Matcher};

#[derive(Parser)]
#[command(about = "An HTTP upload endpoint that refuses known media")]
struct Args {
    /// The index file to check uploads against (reloaded by `POST /reload`).
    #[arg(long, value_name = "PATH", required_unless_present = "list", conflicts_with = "list")]
    index: Option<PathBuf>,
    /// Hash-list files to build an in-memory index from (one list per file).
    #[arg(long, value_name = "FILE")]
    list: Vec<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The largest upload accepted, in bytes (larger bodies get 413).
    #[arg(long, default_value_t = 32 << 20)]
    max_bytes: u64,
}

/// An in-memory index of `files`, each file a list named after its stem.
fn lists_index(files: &[PathBuf]) -> anyhow::Result<Index<IndexData>> {
    let mut catalog = Catalog::default();
    for file in files {
        let source = ListFile::read(file, &ParseOptions::default())?;
        if !source.list.rejects.is_empty() {
            eprintln!("{}: {} line(s) rejected", file.display(), source.list.rejects.len());
        }
        let name = file.file_stem().map_or_else(|| "list".into(), |s| s.to_string_lossy().into_owned());
        apply(&mut catalog, &name, &[source], &ApplyOptions { mode: Mode::Replace, imported_at: 0 });
    }
    anyhow::ensure!(!catalog.entries.is_empty(), "the lists hold no usable hashes");
    let bytes = build(&catalog, &BuildOptions::default())?;
    Ok(Index::from_bytes(IndexData::Owned(bytes))?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config { max_bytes: args.max_bytes, ..Config::default() };
    let matcher = match &args.index {
        Some(path) => Matcher::open(path, config).with_context(|| format!("opening {}", path.display()))?,
        None => Matcher::from_index(lists_index(&args.list)?, config),
    };
    let body_limit = usize::try_from(args.max_bytes).context("--max-bytes is too large")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!("listening on {}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server::serve(listener, server::app(Arc::new(matcher), body_limit), shutdown).await?;
    Ok(())
}
