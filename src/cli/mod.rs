//! Command-line parsing and dispatch: one module per subcommand.
//!
//! | module | holds |
//! | --- | --- |
//! | `audit`, `build`, `compact`, `eval`, `fetch`, `hash`, `import`, `info`, `null_model`, `query`, `scan`, `serve`, `upgrade`, `verify`, `video` | one subcommand each: its `Args` and `run` |
//! | `record` | every record the commands print, one `#[serde(tag = "type")]` enum (the JSON schema) |
//! | `print` | the one printer: `text`, `json` (JSON Lines) and `csv` writers of those records |
//! | `output` | `OutputFormat` and the `--format` parsers |
//! | `parse` | every value parser (sizes, kinds, thresholds, ...) and the defaults shown in `--help` |
//! | `matching`, `decoding`, `lists` | option groups shared by several commands |
//! | `path_text` | printing file names losslessly |
//! | `walk`, `progress`, `sigbus`, `exit` | directory walks, the progress bar, the SIGBUS guard, exit codes |

#[cfg(feature = "serve")]
mod audit;
mod build;
mod compact;
mod decoding;
#[cfg(feature = "eval")]
mod eval;
mod exit;
#[cfg(feature = "fetch")]
mod fetch;
mod hash;
mod import;
mod info;
mod lists;
mod matching;
#[cfg(feature = "eval")]
mod null_model;
mod output;
mod parse;
mod path_text;
mod print;
mod progress;
mod query;
mod record;
mod scan;
#[cfg(feature = "serve")]
mod serve;
mod sigbus;
mod upgrade;
mod verify;
mod video;
pub(crate) mod walk;

use clap::{Parser, Subcommand};

pub(crate) use exit::Exit;

pub(crate) use lists::lists_index;

/// The version, with what makes this build fast or slow on this machine: whether the JPEG
/// decoder has its SIMD code, and the CPU paths of the hashing and popcount kernels.
fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let jpeg = if mediamatch::decode::jpeg_simd() {
            "libjpeg-turbo with SIMD"
        } else {
            "libjpeg-turbo WITHOUT SIMD (install nasm and rebuild: twice as fast)"
        };
        format!(
            "{} (JPEG decoder: {jpeg}; hashing kernels: {}; popcount: {})",
            env!("CARGO_PKG_VERSION"),
            mediamatch::hash::simd::current().name(),
            mediamatch::index::popcount::selected_features()
        )
    })
}

/// mediamatch: find re-uploads of known media by perceptual and cryptographic hashes.
#[derive(Parser, Debug)]
#[command(name = "mediamatch", version = version_text(), about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compute pHash, PDQ and digests of image files.
    Hash(hash::Args),
    /// Build an index file from hash lists.
    Build(build::Args),
    /// Look up hashes in an index.
    Query(query::Args),
    /// Describe an index: kinds, counts, structures, lists.
    Info(info::Args),
    /// Check an index file fully (checksum and structure).
    Verify(verify::Args),
    /// Import hash lists into an index (delta or replace), atomically.
    Import(import::Args),
    /// Merge an index's segments into one, dropping removed entries, atomically.
    Compact(compact::Args),
    /// Carry an index of an older format version forward to the current one, atomically.
    Upgrade(upgrade::Args),
    /// Scan files and directories for known media.
    Scan(scan::Args),
    /// Fetch the configured hash lists from their APIs into an index, incrementally.
    #[cfg(feature = "fetch")]
    Fetch(fetch::Args),
    /// Serve matching over HTTP: HMA-compatible routes and the native /v1 API.
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    /// Check the audit trail `serve` writes.
    #[cfg(feature = "serve")]
    Audit(audit::Args),
    /// Video: vPDQ hashes, vPDQ and TMK+PDQF comparisons (decoded by ffmpeg out of process).
    Video(video::Args),
    /// Measure recall and false matches on transformed copies of a folder of photos.
    #[cfg(feature = "eval")]
    Eval(eval::Args),
    /// Measure distances between unrelated images and write the null-model tail table.
    #[cfg(feature = "eval")]
    NullModel(null_model::Args),
}

/// Opens an index to answer from it, checked in full (checksum and every structure) unless
/// `verify` is false, in which case stderr says so: a tampered file is refused, never read
/// as if it were intact.
pub(crate) fn open_checked(
    path: &std::path::Path,
    verify: bool,
) -> anyhow::Result<mediamatch::index::Index<memmap2::Mmap>> {
    use anyhow::Context;
    let index = mediamatch::index::Index::open(path).with_context(|| format!("{}", path.display()))?;
    if verify {
        index
            .verify()
            .with_context(|| format!("{}: the index is damaged (run `mediamatch verify`)", path.display()))?;
    } else {
        eprintln!(
            "mediamatch: {}: not verified (--no-verify): answers assume the file is intact",
            path.display()
        );
    }
    Ok(index)
}

/// Parses the arguments, runs the subcommand and maps the outcome to an exit code.
pub(crate) fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(a) => hash::run(a),
        Command::Build(a) => build::run(a),
        Command::Query(a) => query::run(a),
        Command::Info(a) => info::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Import(a) => import::run(a),
        Command::Upgrade(a) => upgrade::run(a),
        Command::Compact(a) => compact::run(a),
        Command::Scan(a) => scan::run(a),
        #[cfg(feature = "fetch")]
        Command::Fetch(a) => fetch::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::run(a),
        #[cfg(feature = "serve")]
        Command::Audit(a) => audit::run(a),
        Command::Video(a) => video::run(a),
        #[cfg(feature = "eval")]
        Command::Eval(a) => eval::run(a),
        #[cfg(feature = "eval")]
        Command::NullModel(a) => null_model::run(a),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) if is_broken_pipe(&err) => {
            // The reader of our output went away (`| head`): stop quietly, like ripgrep.
            Exit::Success.into()
        }
        Err(err) => {
            eprintln!("mediamatch: {}", one_line(&err));
            Exit::Error.into()
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, `a: b: c`, leaving out a cause whose text the
/// message already ends with (library errors often include their source in their text).
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if msg.ends_with(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_repeated_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(io).context("opening x: no such file").context("reading list");
        assert_eq!(one_line(&err), "reading list: opening x: no such file");
    }
}
