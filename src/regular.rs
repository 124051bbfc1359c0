//! Opening files that must be regular files (lists, indexes) without ever blocking.
//!
//! `open(2)` of a FIFO for reading blocks until a writer appears, and a device such as
//! `/dev/zero` reads forever: a list or an index swapped for one would hang a command
//! (while it holds the import lock). The file is opened with `O_NONBLOCK` (which opens a
//! FIFO at once and changes nothing for a regular file) and refused unless `fstat` of the
//! open descriptor says it is a regular file, so a file swapped after a check is caught.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` for reading, failing with [`io::ErrorKind::InvalidInput`] unless it is a
/// regular file (after following symlinks). Never blocks on a FIFO.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a regular file ({})", describe(kind))))
}

/// A name for a kind of file that is not regular.
fn describe(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}
