//! `mediamatch build`: a new index from hash-list files (one list per file).

use std::path::PathBuf;

use anyhow::Context;
use mediamatch::index::commit::remove_segments_of_single_file;
use mediamatch::index::{BuildOptions, StreamOptions, Structure, WriteLock};
use mediamatch::lists::build::ListBuilder;

use super::lists::{add_files, now_secs, ListArgs};
use super::Exit;

/// The perceptual search structure to build.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StructureArg {
    /// Multi-index hashing, tuned to the section (the measured default).
    Mih,
    /// A flat BK-tree (baseline).
    Bktree,
    /// No structure: every query scans the section.
    Scan,
}

/// Arguments of `mediamatch build`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file to write (replaced atomically if it exists).
    #[arg(short, long)]
    output: PathBuf,
    /// Search structure of the perceptual sections.
    #[arg(long, value_enum, default_value_t = StructureArg::Mih)]
    structure: StructureArg,
    #[command(flatten)]
    lists: ListArgs,
    /// Hash-list files; each becomes a list named after the file (`ncmec.csv.gz` → `ncmec`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    // An import into the same file must not interleave with this write (nor delete its
    // temporary file as a leftover): take the index's lock too.
    let output = super::import::resolve_index(&args.output)?;
    let lock = WriteLock::acquire(&output)?;
    lock.remove_stale_temps();
    let structure = match args.structure {
        StructureArg::Mih => Structure::Mih { substrings: None },
        StructureArg::Bktree => Structure::BkTree,
        StructureArg::Scan => Structure::Scan,
    };
    // Streamed: the lists' records are sorted in bounded runs beside the output, reduced to
    // entries key by key, and the file's sections written as they come (temporary file,
    // sync, rename); no catalog is held in memory.
    let mut builder = ListBuilder::new(&output, &StreamOptions::default());
    let rejected = add_files(&mut builder, &args.files, &args.lists)?;
    let built = builder
        .finish(&BuildOptions::with_structure(structure), now_secs())
        .with_context(|| format!("building {}", args.output.display()))?;
    let (entries, lists, written) = (built.written.entries, built.lists, built.written);
    // A segmented index that was at this path is replaced: its segments are no one's now
    // (readers that mapped them keep their mappings).
    remove_segments_of_single_file(&output);
    eprintln!(
        "wrote {}: {} entries in {} list(s), {} bytes; {} rejected line(s)",
        args.output.display(),
        entries,
        lists,
        written.file_len,
        rejected
    );
    Ok(Exit::Success)
}
