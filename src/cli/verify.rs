//! `mediamatch verify`: check an index file fully.

use std::path::PathBuf;

use anyhow::Context;
use mediamatch::index::Index;

use super::Exit;

/// Arguments of `mediamatch verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file.
    index: PathBuf,
}

/// Every segment is checked (a manifest's own checksum when it is read, each segment's
/// checksum and structures, and that each is the file the manifest pins). Exit 0 when the
/// checksum and every structure check out; otherwise the error (with the
/// reason) goes to stderr and the exit code is 2.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = args.index.display();
    let index = Index::open(&args.index).with_context(|| format!("{path}"))?;
    index.verify().with_context(|| format!("{path}"))?;
    println!(
        "{path}: ok ({} entries, {} bytes, {} segment(s), {} tombstone(s))",
        index.len(),
        index.byte_len(),
        index.segment_count(),
        index.tombstone_count()
    );
    Ok(Exit::Success)
}
