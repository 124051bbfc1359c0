//! `mediamatch upgrade`: carry an index of an older format version forward, atomically.
//!
//! An index is often the product of many delta imports whose list files are gone, so
//! rebuilding it from its lists could lose entries. The upgrade reads the old file instead:
//! it takes the index's lock (the one `import` and `build` take, so it cannot interleave
//! with them), checks the file in full (checksum and every structure, as `verify` does for
//! its version), builds its catalog (lists with provenance and counts, entries) with the
//! same kind of search structures, checks the new file holds the same catalog, and writes
//! it with [`write_atomic`]: in place by default, or to `-o OUT`. A damaged file is refused
//! and left as it is; a current file is left untouched.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use mediamatch::index::format::{self, FORMAT_VERSION, HEADER_LEN};
use mediamatch::index::manifest;
use mediamatch::index::{write_atomic, LegacyIndex, WriteLock};

use super::Exit;

/// Arguments of `mediamatch upgrade`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index file of an older format version (replaced atomically unless `-o`).
    index: PathBuf,
    /// Write the upgraded index to OUT and leave INDEX as it is.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Fail at once if an import holds the lock of the file to write (default: wait).
    #[arg(long)]
    no_wait: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = args.index.display();
    let out = args.output.as_ref().unwrap_or(&args.index);
    // The lock of the file about to be replaced, held from before the read until after the
    // rename: in place, no import can change the index between the two.
    let lock = if args.no_wait { WriteLock::try_acquire(out)? } else { WriteLock::acquire(out)? };
    lock.remove_stale_temps();

    let version = read_version(&args.index)?;
    if version == FORMAT_VERSION {
        let nothing = match &args.output {
            Some(o) => format!("; nothing written to {}", o.display()),
            None => String::new(),
        };
        eprintln!("{path}: already index format version {version}, left unchanged{nothing}");
        return Ok(Exit::Success);
    }
    let old = LegacyIndex::open(&args.index).with_context(|| format!("{path}"))?;
    let bytes = old.upgrade().with_context(|| format!("upgrading {path}"))?;
    write_atomic(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "upgraded {path} from index format version {} to {FORMAT_VERSION}: wrote {}, {} entries, {} bytes",
        old.format_version(),
        out.display(),
        old.len(),
        bytes.len()
    );
    Ok(Exit::Success)
}

/// The format version of the index at `path`, from its first bytes: a single file's, or
/// a manifest's (manifests exist from version 3 on, so one is always current or newer).
fn read_version(path: &std::path::Path) -> anyhow::Result<u32> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut head = Vec::with_capacity(HEADER_LEN);
    file.take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    if let Some(version) = manifest::version(&head) {
        anyhow::ensure!(
            version == FORMAT_VERSION,
            "{}: a manifest of index format version {version}; this build reads version {FORMAT_VERSION} \
             (use the mediamatch that wrote it, or rebuild the index with `mediamatch build`)",
            path.display()
        );
        return Ok(version);
    }
    format::version(&head).with_context(|| format!("{}", path.display()))
}
