//! `mediamatch query`: look hashes up in an index.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use mediamatch::{HashValue, Kind};
use serde::Serialize;

use super::Exit;

/// Default search radius for PDQ (Meta's recommended match threshold).
pub(crate) const DEFAULT_PDQ_DISTANCE: u32 = 31;
/// Default search radius for pHash.
pub(crate) const DEFAULT_PHASH_DISTANCE: u32 = 8;

/// Output formats of `mediamatch query`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// One tab-separated line per match: query, distance, list, id, label.
    Text,
    /// JSON Lines: one `{"type":"match",...}` record per match.
    Json,
}

/// Arguments of `mediamatch query`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file.
    #[arg(long, short)]
    index: PathBuf,
    /// Largest Hamming distance reported for perceptual hashes (default: pdq 31, phash 8);
    /// digests always match exactly.
    #[arg(long, short = 'd')]
    max_distance: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Skip the full check of the index (checksum and every structure) before answering:
    /// a faster start on a very large index, but a damaged or tampered file could then give
    /// wrong answers. A note on stderr says the answers come from an unchecked index.
    #[arg(long)]
    no_verify: bool,
    /// Hashes to look up, as KIND:HEX (e.g. phash:8c563bb4622dd4e3).
    #[arg(required = true, value_name = "KIND:HEX")]
    hashes: Vec<String>,
}

/// One match, one list: the JSON Lines record.
#[derive(Serialize)]
struct Match<'a> {
    #[serde(rename = "type")]
    kind_of_record: &'static str,
    query: &'a str,
    kind: &'static str,
    distance: u32,
    id: &'a str,
    list: &'a str,
    label: &'a str,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let index = super::open_checked(&args.index, !args.no_verify)?;
    let list_names: Vec<String> = (0..index.list_count())
        .map(|l| index.list(l).map(|info| info.name))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}", args.index.display()))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut matched, mut errored) = (false, false);
    for text in &args.hashes {
        let value: HashValue = match text.parse() {
            Ok(v) => v,
            Err(e) => {
                eprintln!("mediamatch: query {text:?}: {e}");
                errored = true;
                continue;
            }
        };
        let radius = match value.kind() {
            Kind::Pdq => args.max_distance.unwrap_or(DEFAULT_PDQ_DISTANCE),
            Kind::Phash => args.max_distance.unwrap_or(DEFAULT_PHASH_DISTANCE),
            _ => 0,
        };
        let query = value.to_string();
        let hits = match index.search(&value, radius) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("mediamatch: query {query}: {e}");
                errored = true;
                continue;
            }
        };
        for hit in hits {
            let entry = match index.entry(hit.entry) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("mediamatch: query {query}: {e}");
                    errored = true;
                    continue;
                }
            };
            matched = true;
            for &l in &entry.lists {
                let list = list_names.get(l as usize).map_or("", String::as_str);
                match args.format {
                    Format::Text => writeln!(
                        out,
                        "{query}\t{}\t{list}\t{}\t{}",
                        hit.distance,
                        escape(entry.id),
                        escape(entry.label)
                    )?,
                    Format::Json => {
                        let record = Match {
                            kind_of_record: "match",
                            query: &query,
                            kind: value.kind().name(),
                            distance: hit.distance,
                            id: entry.id,
                            list,
                            label: entry.label,
                        };
                        serde_json::to_writer(&mut out, &record)?;
                        out.write_all(b"\n")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(Exit::of_search(matched, errored))
}

/// Tabs and line breaks in ids and labels would break the text columns.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\t', '\n', '\r']) {
        s.replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r").into()
    } else {
        s.into()
    }
}
