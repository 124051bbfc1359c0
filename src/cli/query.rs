//! `mediamatch query`: look hashes up in an index.

use std::path::PathBuf;
use std::sync::LazyLock;

use anyhow::Context;
use mediamatch::matcher::Thresholds;
use mediamatch::significance::{IndexSizes, QueryCounts, Significance};
use mediamatch::HashValue;

use super::output::{text_or_json, OutputFormat};
use super::print::{csv::Table, Printer};
use super::record::{QueryMatch, Record};
use super::Exit;

/// `--max-distance`'s help, with the defaults of [`Thresholds::default`].
static MAX_DISTANCE_HELP: LazyLock<String> = LazyLock::new(|| {
    let t = Thresholds::default();
    format!(
        "Largest Hamming distance reported for perceptual hashes (default: pdq {}, phash {}); \
         digests always match exactly",
        t.pdq, t.phash
    )
});

/// Arguments of `mediamatch query`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file.
    #[arg(long, short)]
    index: PathBuf,
    #[arg(long, short = 'd', help = MAX_DISTANCE_HELP.as_str())]
    max_distance: Option<u32>,
    /// Output format: text (one tab-separated line per match: query, distance, list, id,
    /// label, E-value) or json (JSON Lines, one `match` record per match). Every hit within
    /// the distance is printed, whatever its E-value (`scan` applies `--max-evalue`).
    #[arg(long, value_parser = text_or_json(), default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Skip the full check of the index (checksum and every structure) before answering:
    /// a faster start on a very large index, but a damaged or tampered file could then give
    /// wrong answers. A note on stderr says the answers come from an unchecked index.
    #[arg(long)]
    no_verify: bool,
    /// Hashes to look up, as KIND:HEX (e.g. phash:8c563bb4622dd4e3).
    #[arg(required = true, value_name = "KIND:HEX")]
    hashes: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let index = super::open_checked(&args.index, !args.no_verify)?;
    let list_names: Vec<String> = (0..index.list_count())
        .map(|l| index.list(l).map(|info| info.name))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}", args.index.display()))?;
    // One hash per query: E-values multiply the index's entries of the kind by 1.
    let sizes = IndexSizes::of_index(&index).with_context(|| format!("{}", args.index.display()))?;
    let significance = Significance::of(sizes, QueryCounts { pdq: 1, phash: 1, digest: 1, vpdq: 1 });
    let stdout = std::io::stdout();
    let mut printer = Printer::new(args.format, std::io::BufWriter::new(stdout.lock()), Table::None);
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
        let kind = value.kind();
        let radius = if kind.is_perceptual() {
            args.max_distance.unwrap_or(Thresholds::default().of(kind))
        } else {
            0
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
            let evalue = significance.evalue(kind, hit.distance);
            for &l in &entry.lists {
                let list = list_names.get(l as usize).map_or("", String::as_str);
                printer.print(&Record::QueryMatch(QueryMatch {
                    query: &query,
                    kind: kind.name(),
                    distance: hit.distance,
                    evalue,
                    id: entry.id,
                    list,
                    label: entry.label,
                }))?;
            }
        }
    }
    printer.finish()?;
    Ok(Exit::of_search(matched, errored))
}
