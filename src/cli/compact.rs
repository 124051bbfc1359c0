//! `mediamatch compact`: merge every segment of an index into one, atomically.
//!
//! `import` keeps the number of segments small with its merge policy; `compact` goes all
//! the way (one segment, no tombstones), e.g. before copying an index to replicas that
//! start from nothing. It takes the index's lock (so no import interleaves), opens the
//! index with its manifest, builds the live entries as one new segment, verifies what it
//! carries, and commits by replacing the manifest; then removes the files no manifest
//! names. Readers that mapped the old segments keep them until they reload.

use std::path::PathBuf;

use anyhow::Context;
use mediamatch::index::{compact, Index, WriteLock};

use super::Exit;

/// Arguments of `mediamatch compact`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index to compact (a manifest and its segments, or a single file).
    index: PathBuf,
    /// Fail at once if an import holds the index's lock (default: wait for it).
    #[arg(long)]
    no_wait: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = super::import::resolve_index(&args.index)?;
    let shown = args.index.display();
    let lock = if args.no_wait { WriteLock::try_acquire(&path)? } else { WriteLock::acquire(&path)? };
    lock.remove_stale_temps();
    let (index, manifest) = Index::open_with_manifest(&path).with_context(|| {
        format!("{shown}: cannot open the index (run `mediamatch verify`); nothing was changed")
    })?;
    let (segments, tombstones) = (index.segment_count(), index.tombstone_count());
    if manifest.is_none() || (segments <= 1 && tombstones == 0) {
        eprintln!("{shown}: {segments} segment(s), {tombstones} tombstone(s): nothing to compact");
        return Ok(Exit::Success);
    }
    let done = compact(&path, &index, manifest.as_ref(), &index.build_options())
        .with_context(|| format!("compacting {shown}; nothing was changed"))?;
    eprintln!(
        "compacted {shown}: {segments} segment(s) and {tombstones} tombstone(s) into {} segment(s) of {} entries \
         (generation {}); {} file(s) removed",
        done.segments, done.entries_written, done.generation, done.removed_files
    );
    Ok(Exit::Success)
}
