//! Reading hash-list files for `build`, `import` and `scan --list`: parse, report rejects.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mediamatch::catalog::Catalog;
use mediamatch::index::{build, BuildOptions, Index};
use mediamatch::lists::build::{BuildError, ListBuilder};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListError, ListFile, ListFormat, ParseOptions};
use mediamatch::matcher::IndexData;
use mediamatch::Kind;

/// How many rejected lines are printed on stderr (all go to `--rejects FILE`).
pub(crate) const SHOWN_REJECTS: usize = 10;

/// Options shared by the commands that read lists.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ListArgs {
    /// The list format; `auto` detects it from the content.
    #[arg(long, value_parser = super::parse::list_format, default_value = "auto")]
    pub(crate) format: ListFormat,
    /// The kind of bare hex values without a kind (e.g. `md5`); a kind in the file wins.
    #[arg(long)]
    pub(crate) kind: Option<Kind>,
    /// Abort at the first rejected line instead of skipping it; nothing is applied.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Write every rejected line (`file:line: reason`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) rejects: Option<PathBuf>,
    /// The largest list file, and the most a gzip list may decompress to (e.g. `500M`,
    /// `4G`, `8GiB`, or bytes); a larger list is refused, never read whole.
    #[arg(long, value_name = "SIZE", value_parser = super::parse::size,
          default_value = super::parse::DEFAULT_MAX_LIST_SIZE.as_str())]
    pub(crate) max_list_size: u64,
}

impl ListArgs {
    fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            format: self.format,
            kind: self.kind,
            strict: self.strict,
            max_bytes: self.max_list_size,
        }
    }
}

/// Adds what to do to a list error: a list over the size cap names the flag.
fn list_error(e: ListError, path: &Path) -> anyhow::Error {
    let too_large = match &e {
        ListError::File { source, .. } => matches!(**source, ListError::TooLarge { .. }),
        other => matches!(other, ListError::TooLarge { .. }),
    };
    let err = anyhow::Error::new(e).context(format!("reading list {}", path.display()));
    if too_large {
        err.context("refused by --max-list-size (raise it if the list is genuine)")
    } else {
        err
    }
}

/// Parsed list files and how many of their lines were rejected.
pub(crate) struct ReadLists {
    /// The parsed files, in the order given.
    pub(crate) sources: Vec<ListFile>,
    /// Rejected lines over all files.
    pub(crate) rejected: u64,
}

/// Reads and parses `paths`. Rejected lines are reported as `file:line: reason` (the
/// first few on stderr, all in `--rejects`); with `--strict` any reject is an error.
pub(crate) fn read_lists(paths: &[PathBuf], args: &ListArgs) -> anyhow::Result<ReadLists> {
    let opts = args.parse_options();
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        sources.push(ListFile::read(path, &opts).map_err(|e| list_error(e, path))?);
    }
    let rejected = report_rejects(paths, &sources, args)?;
    Ok(ReadLists { sources, rejected })
}

/// Reports the rejected lines of `sources` (read from `paths`) as `file:line: reason`: the
/// first few on stderr, all in `--rejects`; with `--strict` any reject is an error.
/// Returns how many there were.
pub(crate) fn report_rejects(
    paths: &[PathBuf],
    sources: &[ListFile],
    args: &ListArgs,
) -> anyhow::Result<u64> {
    let mut all_rejects = Vec::new();
    for (path, source) in paths.iter().zip(sources) {
        for r in &source.list.rejects {
            all_rejects.push(format!("{}:{r}", path.display()));
        }
    }
    for line in all_rejects.iter().take(SHOWN_REJECTS) {
        eprintln!("{line}");
    }
    if all_rejects.len() > SHOWN_REJECTS {
        let more = all_rejects.len() - SHOWN_REJECTS;
        eprintln!(
            "... and {more} more rejected line(s){}",
            if args.rejects.is_some() { "" } else { " (see --rejects FILE)" }
        );
    }
    if let Some(file) = &args.rejects {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?,
        );
        for line in &all_rejects {
            writeln!(w, "{line}")?;
        }
        w.flush()?;
    }
    if args.strict && !all_rejects.is_empty() {
        anyhow::bail!("--strict: {} rejected line(s); nothing was applied", all_rejects.len());
    }
    Ok(all_rejects.len() as u64)
}

/// Reads `paths` into `builder`, each as the list named for its file, and reports their
/// rejected lines as [`read_lists`] does. Returns how many there were.
pub(crate) fn add_files(
    builder: &mut ListBuilder,
    paths: &[PathBuf],
    args: &ListArgs,
) -> anyhow::Result<u64> {
    let opts = args.parse_options();
    let mut read = Vec::with_capacity(paths.len());
    for path in paths {
        let file = builder.add_file(&list_name(path), path, &opts).map_err(|e| match e {
            BuildError::List(e) => list_error(e, path),
            other => anyhow::Error::new(other).context(format!("reading list {}", path.display())),
        })?;
        read.push(file);
    }
    report_rejects(paths, &read, args)
}

/// The list name for a file: its name without directories, `.gz` and extension.
pub(crate) fn list_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name.to_string(),
    }
}

/// A catalog with one list per file (named by [`list_name`]), each file replacing its list.
pub(crate) fn catalog_from_files(paths: &[PathBuf], args: &ListArgs) -> anyhow::Result<(Catalog, u64)> {
    let read = read_lists(paths, args)?;
    let mut catalog = Catalog::default();
    let now = now_secs();
    for (path, source) in paths.iter().zip(read.sources) {
        let opts = ApplyOptions { mode: Mode::Replace, imported_at: now };
        apply(&mut catalog, &list_name(path), std::slice::from_ref(&source), &opts);
    }
    Ok((catalog, read.rejected))
}

/// An in-memory index of list files, for `scan --list`.
pub(crate) fn lists_index(paths: &[PathBuf], max_list_size: u64) -> anyhow::Result<Index<IndexData>> {
    let args = ListArgs { format: ListFormat::Auto, kind: None, strict: false, rejects: None, max_list_size };
    let (catalog, _) = catalog_from_files(paths, &args)?;
    if catalog.entries.is_empty() {
        anyhow::bail!("the lists hold no usable hashes");
    }
    let bytes = build(&catalog, &BuildOptions::default()).context("building the in-memory index")?;
    Index::from_bytes(IndexData::Owned(bytes)).context("opening the in-memory index")
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
