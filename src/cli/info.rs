//! `mediamatch info`: describe an index.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::Exit;

/// Arguments of `mediamatch info`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file.
    index: PathBuf,
    /// Print one JSON object (`"type":"info"`) instead of the text description.
    #[arg(long)]
    json: bool,
    /// Skip the full check of the index (checksum and every structure) before answering:
    /// a faster start on a very large index, but a damaged or tampered file could then give
    /// wrong answers. A note on stderr says the answers come from an unchecked index.
    #[arg(long)]
    no_verify: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = args.index.display();
    let index = super::open_checked(&args.index, !args.no_verify)?;
    let info = index.info().with_context(|| format!("{path}"))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let kinds: Vec<_> = info
            .kinds
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kind": k.kind.name(),
                    "entries": k.entries,
                    "value_bytes": k.value_bytes,
                    "structure_bytes": k.structure_bytes,
                    "structure": k.structure,
                })
            })
            .collect();
        let lists: Vec<_> = info
            .lists
            .iter()
            .map(|l| {
                let c = &l.counts;
                serde_json::json!({
                    "name": l.name,
                    "version": l.version,
                    "imported_at": l.imported_at,
                    "source": l.source,
                    "source_sha256": l.source_sha256,
                    "added": c.added,
                    "updated": c.updated,
                    "removed": c.removed,
                    "unchanged": c.unchanged,
                    "rejected": c.rejected,
                    "skipped": c.skipped,
                })
            })
            .collect();
        let record = serde_json::json!({
            "type": "info",
            "index": path.to_string(),
            "format_version": info.format_version,
            "file_bytes": info.file_bytes,
            "entries": info.entries,
            "table_bytes": info.table_bytes,
            "string_bytes": info.string_bytes,
            "popcount": mediamatch::index::popcount::selected_features(),
            "kinds": kinds,
            "lists": lists,
        });
        writeln!(out, "{record}")?;
        return Ok(Exit::Success);
    }
    writeln!(out, "index:          {path}")?;
    writeln!(out, "format version: {}", info.format_version)?;
    writeln!(out, "size:           {} bytes", info.file_bytes)?;
    writeln!(out, "entries:        {}", info.entries)?;
    writeln!(
        out,
        "tables:         {} bytes (entries, lists), {} bytes of strings",
        info.table_bytes, info.string_bytes
    )?;
    writeln!(out, "popcount:       {}", mediamatch::index::popcount::selected_features())?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:>12} {:>14} {:>16}  structure",
        "kind", "entries", "value bytes", "structure bytes"
    )?;
    for k in &info.kinds {
        writeln!(
            out,
            "{:<8} {:>12} {:>14} {:>16}  {}",
            k.kind.name(),
            k.entries,
            k.value_bytes,
            k.structure_bytes,
            k.structure
        )?;
    }
    writeln!(out)?;
    writeln!(out, "lists: {}", info.lists.len())?;
    for l in &info.lists {
        let c = &l.counts;
        writeln!(out, "  {}: version {}, imported at {} (Unix time)", l.name, l.version, l.imported_at)?;
        writeln!(
            out,
            "    source: {} (sha256 {})",
            l.source,
            if l.source_sha256.is_empty() { "-" } else { &l.source_sha256 }
        )?;
        writeln!(
            out,
            "    last import: {} added, {} updated, {} removed, {} unchanged, {} rejected, {} skipped",
            c.added, c.updated, c.removed, c.unchanged, c.rejected, c.skipped
        )?;
    }
    Ok(Exit::Success)
}
