//! `mediamatch info`: describe an index.

use std::path::PathBuf;

use anyhow::Context;

use super::output::{chosen, text_or_json, OutputFormat};
use super::print::print_one;
use super::record::{Capped, Effective, IndexInfo, KindSection, ListInfo, Record};
use super::Exit;
use mediamatch::matcher::{Thresholds, DEFAULT_CORROBORATE};
use mediamatch::significance::{IndexSizes, QueryCounts, Significance};
use mediamatch::Kind;

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
    /// The E-value limit the effective thresholds are computed for.
    #[arg(long, value_parser = super::parse::evalue, default_value = super::parse::DEFAULT_MAX_EVALUE_TEXT.as_str())]
    max_evalue: f64,
}

/// The default caps under `max_evalue`, for a still image with a border, at `sizes`.
fn effective(sizes: IndexSizes, max_evalue: f64) -> Effective {
    let queries = QueryCounts::BORDERED_IMAGE;
    let sig = Significance::of(sizes, queries);
    let (caps, c) = (Thresholds::default(), DEFAULT_CORROBORATE);
    Effective {
        max_evalue,
        queries_pdq: queries.pdq,
        queries_phash: queries.phash,
        item_pairs: sizes.item_pairs,
        pdq: Capped { cap: caps.pdq, effective: sig.threshold(Kind::Pdq, caps.pdq, max_evalue) },
        phash: Capped { cap: caps.phash, effective: sig.threshold(Kind::Phash, caps.phash, max_evalue) },
        corroborate_phash: Capped {
            cap: c.phash,
            effective: sig.joint_phash_threshold(c.phash, c.pdq, max_evalue),
        },
        corroborate_pdq: Capped {
            cap: c.pdq,
            effective: sig.joint_pdq_threshold(c.phash, c.pdq, max_evalue),
        },
    }
}

/// The fetch records of the index's lists by name (none without `fetch` or a
/// checkpoint file; a damaged one is said on stderr).
fn fetch_states(index: &std::path::Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    #[cfg(feature = "fetch")]
    match mediamatch::fetch::state::FetchState::load(index) {
        Ok(state) => {
            return state
                .lists
                .into_iter()
                .filter_map(|(name, s)| Some((name, serde_json::to_value(s).ok()?)))
                .collect()
        }
        Err(e) => eprintln!("mediamatch info: {e}"),
    }
    #[cfg(not(feature = "fetch"))]
    let _ = index;
    std::collections::BTreeMap::new()
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = args.index.display();
    let index = super::open_checked(&args.index, !args.no_verify)?;
    let info = index.info().with_context(|| format!("{path}"))?;
    let sizes = IndexSizes::of_index(&index).with_context(|| format!("{path}"))?;
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
    let fetched = fetch_states(&args.index);
    let lists = info
        .lists
        .into_iter()
        .map(|l| {
            let c = &l.counts;
            ListInfo {
                added: c.added,
                fetch: fetched.get(&l.name).cloned(),
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
        hash_kernels: mediamatch::hash::simd::current().name(),
        jpeg_simd: mediamatch::decode::jpeg_simd(),
        segments: info.segments,
        tombstones: info.tombstones,
        significance: effective(sizes, args.max_evalue),
        string_bytes: info.string_bytes,
        table_bytes: info.table_bytes,
    });
    let format = chosen(args.format, args.json);
    print_one(format, &record)?;
    Ok(Exit::Success)
}
