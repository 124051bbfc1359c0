//! Where a scan's paths come from: the PATH arguments (walked) and then `--files-from`.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::mpsc::SyncSender;

use crate::cli::walk::{walk, Item, PathLines, WalkOptions};

/// The paths a scan checks, fed to the workers from one thread.
pub(super) struct PathFeed {
    /// Files and directories given on the command line.
    pub(super) paths: Vec<PathBuf>,
    /// A file (or `-`, stdin) of more paths, one per line.
    pub(super) files_from: Option<PathBuf>,
    /// Follow symbolic links while walking.
    pub(super) follow: bool,
}

impl PathFeed {
    /// Sends every item, in order, until done or the receiver is gone.
    pub(super) fn send_all(&self, tx: &SyncSender<Item>) {
        let opts = WalkOptions { follow: self.follow };
        for item in walk(&self.paths, opts) {
            if tx.send(item).is_err() {
                return;
            }
        }
        let Some(list) = &self.files_from else { return };
        // A named pipe is a fine source of paths (a batch system may feed one), so this open
        // may block until a writer comes; the reads are bounded per line (`PathLines`).
        let reader: Box<dyn BufRead> = if list.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            match std::fs::File::open(list) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => {
                    let _ = tx.send(Item::Error(list.clone(), format!("cannot read --files-from: {e}")));
                    return;
                }
            }
        };
        for line in PathLines::new(reader) {
            let path = match line {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Item::Error(list.clone(), format!("reading --files-from: {e}")));
                    return;
                }
            };
            // A listed directory is walked like a PATH argument.
            for item in walk(std::slice::from_ref(&path), opts) {
                if tx.send(item).is_err() {
                    return;
                }
            }
        }
    }

    /// The total number of files when it is cheap to know (a regular `--files-from` file
    /// and no PATHs; never a pipe or device, which could not be read twice or might never
    /// end).
    pub(super) fn total_hint(&self) -> Option<u64> {
        match (&self.files_from, self.paths.is_empty()) {
            (Some(f), true) if f.as_os_str() != "-" => {
                let file = crate::cli::walk::open_regular(f).ok()?;
                let mut n = 0;
                for path in PathLines::new(std::io::BufReader::new(file)) {
                    path.ok()?;
                    n += 1;
                }
                Some(n)
            }
            _ => None,
        }
    }
}
