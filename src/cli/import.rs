//! `mediamatch import`: apply hash-list files to one list of an index, atomically.
//!
//! The steps: take the index's lock (`INDEX.lock`, so two imports never interleave),
//! parse every file (rejects reported; `--strict` aborts before anything changes), read
//! the current index's catalog, apply the files as a delta (or `--replace`), build the new
//! index and write it to a temporary file in the same directory, sync it, rename it over
//! the old one and sync the directory. A crash at any point leaves the old index or the
//! new one, never a mix; readers that mapped the old file keep using it.
//!
//! An import that changes no entry of the list (the same file again, or a delta with
//! nothing new) writes nothing: the index stays byte-identical, its version and
//! provenance those of the import that made it, and readers have nothing to reload.
//!
//! A killed importer leaves its temporary file behind (`.INDEX.tmp-PID-N`); the next
//! import (or `build` of the same file) removes such leftovers while it holds the lock,
//! when no other writer of that index can be running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, write_atomic, BuildOptions, Index, WriteLock};
use mediamatch::lists::delta::{apply, check_shrink, list_len, ApplyOptions, Mode};
use mediamatch::lists::ListFile;

use super::lists::{now_secs, read_lists, ListArgs};
use super::output::{chosen, text_or_json, OutputFormat};
use super::print::print_one;
use super::record::{ImportSummary, Record};
use super::Exit;

/// Arguments of `mediamatch import`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index to update (created if missing).
    index: PathBuf,
    /// The list to apply the files to (created if missing).
    #[arg(long = "list", value_name = "NAME")]
    name: String,
    /// Hash-list files, applied in order as one import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The list becomes exactly the files' live entries (default: a delta).
    #[arg(long)]
    replace: bool,
    /// Parse and count, but leave the index untouched.
    #[arg(long)]
    dry_run: bool,
    /// Fail at once if another import holds the index's lock (default: wait for it).
    #[arg(long)]
    no_wait: bool,
    /// With --replace: refuse (exit 2, index untouched) a replacement that would remove
    /// more than this share of the list, e.g. `50%` (a broken feed would empty it).
    #[arg(long, value_name = "PERCENT", value_parser = super::parse::percent, default_value = "50%")]
    max_shrink: f64,
    /// With --replace: apply even a replacement that removes more than --max-shrink of
    /// the list or holds no valid line.
    #[arg(long)]
    allow_shrink: bool,
    /// How the summary is printed: text (one line) or json (one `import` record).
    /// (`--format` names the format of the list files.)
    #[arg(long, value_name = "FORMAT", value_parser = text_or_json(), default_value_t = OutputFormat::Text)]
    output_format: OutputFormat,
    /// The same as `--output-format json`.
    #[arg(long, conflicts_with = "output_format")]
    json: bool,
    #[command(flatten)]
    lists: ListArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    if args.name.trim().is_empty() {
        bail!("--list needs a name");
    }
    // Through a symlink, the target is the index: its lock, temporary file and rename.
    let path = resolve_index(&args.index)?;
    let lock = if args.no_wait { WriteLock::try_acquire(&path)? } else { WriteLock::acquire(&path)? };
    if !args.dry_run {
        lock.remove_stale_temps();
    }
    let read = read_lists(&args.files, &args.lists)?;
    let (mut catalog, structures) = if path.exists() {
        let index = Index::open(&path).with_context(|| format!("opening {}", args.index.display()))?;
        // The whole file is checked before its entries are carried into the new index: a
        // damaged or tampered index would otherwise come out of the import with a valid
        // checksum over its wrong entries.
        index.verify().with_context(|| {
            format!(
                "{}: the index is damaged (run `mediamatch verify`); nothing was imported",
                args.index.display()
            )
        })?;
        let catalog = index.catalog().with_context(|| format!("reading {}", args.index.display()))?;
        (catalog, index.build_options())
    } else {
        (Catalog::default(), BuildOptions::default())
    };
    let mode = if args.replace { Mode::Replace } else { Mode::Delta };
    let before = list_len(&catalog, &args.name);
    let outcome =
        apply(&mut catalog, &args.name, &read.sources, &ApplyOptions { mode, imported_at: now_secs() });
    if mode == Mode::Replace && !args.allow_shrink {
        check_shrink(&args.name, before, &read.sources, &outcome, args.max_shrink).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "refusing --replace of {}, which is left untouched (check the files; --allow-shrink applies it anyway)",
                args.index.display()
            ))
        })?;
    }
    let skipped_kinds = skipped_kinds(&read.sources);
    // The parsed records are in the catalog now: free them before the build allocates
    // the new index (they are the size of the list again, and would add to the peak).
    drop(read);
    if outcome.changed && !args.dry_run {
        // The rebuilt file keeps the old one's kind of search structures (a BK-tree built
        // with `mediamatch build --structure bktree` stays one).
        let bytes = build(&catalog, &structures).context("building the index")?;
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", args.index.display()))?;
    }
    let c = outcome.counts;
    let summary = Record::Import(ImportSummary {
        index: args.index.display().to_string(),
        list: &args.name,
        version: outcome.version,
        added: c.added,
        updated: c.updated,
        removed: c.removed,
        unchanged: c.unchanged,
        rejected: c.rejected,
        skipped: c.skipped,
        skipped_kinds,
        entries: catalog.entries.len() as u64,
        changed: outcome.changed,
        dry_run: args.dry_run,
    });
    let format = chosen(args.output_format, args.json);
    print_one(format, &summary)?;
    Ok(Exit::Success)
}

/// The skipped records of all files by kind (`photodna`, ...), for the summary.
fn skipped_kinds(sources: &[ListFile]) -> BTreeMap<String, u64> {
    let mut kinds = BTreeMap::new();
    for source in sources {
        for (kind, n) in source.list.skipped_kinds() {
            *kinds.entry(kind.to_string()).or_insert(0) += n;
        }
    }
    kinds
}

/// The file an index path names: a symlink's target (so that an import replaces the
/// target, not the link), or the path itself when nothing is there yet. Refuses a path
/// that is not a regular file (a FIFO, `/dev/zero`, a directory) before any lock file is
/// made beside it, and a symlink to nothing.
pub(super) fn resolve_index(index: &Path) -> anyhow::Result<PathBuf> {
    let link = match std::fs::symlink_metadata(index) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(index.to_path_buf()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", index.display())),
        Ok(m) => m.file_type().is_symlink(),
    };
    let path = if link {
        std::fs::canonicalize(index).with_context(|| {
            format!("{} is a symlink to a missing file; give the target's path", index.display())
        })?
    } else {
        index.to_path_buf()
    };
    let meta = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file; an index must be one", index.display());
    }
    Ok(path)
}
