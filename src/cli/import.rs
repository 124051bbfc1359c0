//! `mediamatch import`: apply hash-list files to one list of an index, atomically.
//!
//! The steps: take the index's lock (`INDEX.lock`, so two imports never interleave),
//! parse every file (rejects reported; `--strict` aborts before anything changes), plan
//! the change against the current index ([`plan`]: only the entries the files touch are
//! read), write the changed entries as a new segment in `INDEX.segments/`, and replace the
//! manifest at `INDEX` (its one commit point), naming the new segment and tombstones for
//! the removed entries. The base is never rewritten; small segments are merged by the
//! merge policy. A crash at any point leaves the old manifest or the new one, and every
//! segment each names; readers that mapped the old segments keep using them.
//!
//! An import that changes no entry of the list (the same file again, or a delta with
//! nothing new) writes nothing: the index stays byte-identical, its version and
//! provenance those of the import that made it, and readers have nothing to reload.
//!
//! A killed importer leaves temporary files behind (`.NAME.tmp-PID-N`); the next import
//! removes them, and segment files no manifest names, while it holds the lock, when no
//! other writer of that index can be running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, commit, BuildOptions, CommitOptions, Index, WriteLock};
use mediamatch::lists::delta::{check_shrink, ApplyOptions, Mode};
use mediamatch::lists::update::plan;
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
    let opened = if path.exists() {
        Some(Index::open_with_manifest(&path).with_context(|| {
            format!(
                "{}: cannot open the index (run `mediamatch verify`); nothing was imported",
                args.index.display()
            )
        })?)
    } else {
        None
    };
    let mode = if args.replace { Mode::Replace } else { Mode::Delta };
    let apply = ApplyOptions { mode, imported_at: now_secs() };
    let planned = match &opened {
        Some((index, _)) => plan(index, &args.name, &read.sources, &apply),
        // No index yet: the plan against an empty one adds everything.
        None => plan(
            &Index::from_bytes(build(&Catalog::default(), &BuildOptions::default())?)?,
            &args.name,
            &read.sources,
            &apply,
        ),
    }
    .with_context(|| {
        format!("{}: reading the entries the files touch failed; nothing was imported", args.index.display())
    })?;
    let outcome = planned.outcome;
    if mode == Mode::Replace && !args.allow_shrink {
        check_shrink(&args.name, planned.list_len_before, &read.sources, &outcome, args.max_shrink).map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "refusing --replace of {}, which is left untouched (check the files; --allow-shrink applies it anyway)",
                args.index.display()
            ))
        })?;
    }
    let skipped_kinds = skipped_kinds(&read.sources);
    // The parsed records are in the update now: free them before the build allocates.
    drop(read);
    if outcome.changed && !args.dry_run {
        // New segments keep the index's kind of search structures (a BK-tree built with
        // `mediamatch build --structure bktree` stays one).
        let build = opened.as_ref().map_or_else(BuildOptions::default, |(i, _)| i.build_options());
        let old = opened.as_ref().map(|(i, m)| (i, m.as_ref()));
        commit(&path, old, &planned.update, &CommitOptions { build, ..CommitOptions::default() })
            .with_context(|| format!("writing {}; nothing was imported", args.index.display()))?;
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
        entries: planned.entries_after,
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
