//! `mediamatch info`: describe an index.

use std::path::PathBuf;

use anyhow::Context;

use super::output::{chosen, text_or_json, OutputFormat};
use super::print::print_one;
use super::record::{IndexInfo, KindSection, ListInfo, Record};
use super::Exit;

/// Arguments of `mediamatch info`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file.
    index: PathBuf,
    /// Output format: text (the description) or json (one `info` record).
    #[arg(long, value_parser = text_or_json(), default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
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
    let kinds = info
        .kinds
        .into_iter()
        .map(|k| KindSection {
            entries: k.entries,
            kind: k.kind.name(),
            structure: k.structure,
            structure_bytes: k.structure_bytes,
            value_bytes: k.value_bytes,
        })
        .collect();
    let lists = info
        .lists
        .into_iter()
        .map(|l| {
            let c = &l.counts;
            ListInfo {
                added: c.added,
                imported_at: l.imported_at,
                name: l.name,
                rejected: c.rejected,
                removed: c.removed,
                skipped: c.skipped,
                source: l.source,
                source_sha256: l.source_sha256,
                unchanged: c.unchanged,
                updated: c.updated,
                version: l.version,
            }
        })
        .collect();
    let record = Record::Info(IndexInfo {
        entries: info.entries,
        file_bytes: info.file_bytes,
        format_version: info.format_version,
        index: path.to_string(),
        kinds,
        lists,
        popcount: mediamatch::index::popcount::selected_features(),
        string_bytes: info.string_bytes,
        table_bytes: info.table_bytes,
    });
    let format = chosen(args.format, args.json);
    print_one(format, &record)?;
    Ok(Exit::Success)
}
