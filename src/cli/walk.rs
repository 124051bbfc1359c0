//! Turning command-line paths into a stream of files.

use std::path::{Path, PathBuf};

/// One item of a walk: a file to process, or a path that could not be walked.
#[derive(Debug)]
pub(crate) enum Item {
    /// A regular file (or a symlink to one, when following links).
    File(PathBuf),
    /// A path that could not be listed or read (loop, permission, vanished).
    Error(PathBuf, String),
    /// An entry inside a walked directory that is not read, counted in the summary.
    Skipped(PathBuf, Skip),
}

/// Why a walk passed over an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// A FIFO, socket or device: never opened (a FIFO would block the read).
    Special,
    /// A symbolic link, not followed without `--follow`.
    Symlink,
}

/// How to walk.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WalkOptions {
    /// Follow symbolic links (loops are detected and reported).
    pub(crate) follow: bool,
}

/// Walks `roots` in order; directories are recursed in file-name order so runs are
/// reproducible. Hidden files are included: content decides what a file is.
pub(crate) fn walk<'a>(roots: &'a [PathBuf], opts: WalkOptions) -> impl Iterator<Item = Item> + 'a {
    roots.iter().flat_map(move |root| walk_one(root, opts))
}

fn walk_one(root: &Path, opts: WalkOptions) -> impl Iterator<Item = Item> {
    walkdir::WalkDir::new(root)
        .follow_links(opts.follow)
        .follow_root_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|entry| match entry {
            Ok(e) if e.file_type().is_file() => Some(Item::File(e.into_path())),
            Ok(e) if e.file_type().is_symlink() && e.depth() > 0 => {
                Some(Item::Skipped(e.into_path(), Skip::Symlink))
            }
            Ok(e) if e.file_type().is_dir() => None,
            // FIFOs, sockets and devices are never opened (a FIFO would block the read). Inside
            // a tree they are skipped and counted; one named as a PATH is reported.
            Ok(e) if e.depth() > 0 => Some(Item::Skipped(e.into_path(), Skip::Special)),
            Ok(e) => Some(Item::Error(e.into_path(), "not a regular file".into())),
            Err(err) => {
                let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                let msg = if err.loop_ancestor().is_some() {
                    "symbolic link loop".to_string()
                } else if let Some(io) = err.io_error() {
                    io.to_string()
                } else {
                    err.to_string()
                };
                Some(Item::Error(path, msg))
            }
        })
}

/// Opens a file for reading without ever blocking on it (see [`mediamatch::regular`]): a FIFO
/// swapped in after the walk, or named on the command line, is refused at once.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    mediamatch::regular::open_regular(path)
}

/// Reads a whole file, refusing one over `max` bytes before reading it (and one that grows
/// over it while being read), and anything but a regular file. The bytes are only held in
/// memory by the caller.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = open_regular(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len > max {
        return Err(format!("file is {len} bytes, over the limit of {max} (--max-filesize)"));
    }
    let bytes = mediamatch::hashing::read_at_most(file, max).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("file grew over the limit of {max} bytes while being read"));
    }
    Ok(bytes)
}

/// The longest line `--files-from` accepts: far above any path the kernel takes (4,096 bytes
/// on Linux), far below what would let a runaway input (`/dev/zero`) grow memory.
pub(crate) const MAX_PATH_LINE: usize = 64 * 1024;

/// Paths read from a `--files-from` stream: one per line (LF, with an optional CR before it),
/// kept as bytes so names that are not UTF-8 survive. A line longer than [`MAX_PATH_LINE`]
/// ends the stream with an error, since no path is that long and the input is then not a
/// list of paths. Empty lines are skipped.
pub(crate) struct PathLines<R> {
    reader: R,
    line: usize,
    done: bool,
}

impl<R: std::io::BufRead> PathLines<R> {
    /// Reads paths from `reader`.
    pub(crate) fn new(reader: R) -> PathLines<R> {
        PathLines { reader, line: 0, done: false }
    }

    /// Reads one line of at most `MAX_PATH_LINE` bytes into `buf`; `Ok(false)` at the end.
    fn next_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        buf.clear();
        let limit = MAX_PATH_LINE as u64 + 1;
        let n = std::io::BufRead::read_until(&mut std::io::Read::take(&mut self.reader, limit), b'\n', buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        } else if buf.len() > MAX_PATH_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {} is over {MAX_PATH_LINE} bytes: not a list of paths", self.line),
            ));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(true)
    }
}

impl<R: std::io::BufRead> Iterator for PathLines<R> {
    type Item = std::io::Result<PathBuf>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        while !self.done {
            match self.next_line(&mut buf) {
                Ok(false) => self.done = true,
                Ok(true) if buf.is_empty() => continue,
                Ok(true) => return Some(Ok(path_from_bytes(std::mem::take(&mut buf)))),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(input: &[u8]) -> Vec<Result<PathBuf, String>> {
        PathLines::new(input).map(|r| r.map_err(|e| e.to_string())).collect()
    }

    #[test]
    fn path_lines_split_on_lf_and_crlf_and_skip_empty_lines() {
        let got = paths(b"a.jpg\r\n\nb c.png\nlast");
        let want: Vec<Result<PathBuf, String>> =
            vec![Ok("a.jpg".into()), Ok("b c.png".into()), Ok("last".into())];
        assert_eq!(got, want);
    }

    #[cfg(unix)]
    #[test]
    fn path_lines_keep_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let got = paths(b"bad-\xff.jpg\nok.jpg\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().as_os_str().as_bytes(), b"bad-\xff.jpg");
    }

    #[test]
    fn a_line_over_the_limit_ends_the_stream_with_an_error() {
        let mut input = b"first.jpg\n".to_vec();
        input.extend(std::iter::repeat_n(0u8, MAX_PATH_LINE + 10));
        input.extend_from_slice(b"\nnever.jpg\n");
        let got = paths(&input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Ok(PathBuf::from("first.jpg")));
        assert!(got[1].as_ref().unwrap_err().contains("line 2 is over"), "{got:?}");
    }
}
