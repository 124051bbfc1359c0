//! Stopping cleanly when a mapped index file is overwritten in place.
//!
//! Indexes are replaced by rename, which leaves a running scan on the old file. A file
//! overwritten in place instead (`cp new.idx live.idx` truncates, then writes) pulls the
//! pages out from under the mapping, and the next read of them raises `SIGBUS`, which
//! would kill the process with no summary. No reader can prevent that, and a read that
//! faulted cannot be resumed safely, so the scan stops: this guard turns the signal into a
//! message on stderr with the counts reached so far (a `fatal` record on stdout with
//! `--format json`) and exit code 2. Every record printed before it is valid (the printer
//! flushes after each file); files not yet reported were not checked.
//!
//! The handler only loads atomics and calls `write(2)` and `_exit(2)`, which are
//! async-signal-safe; it formats numbers into a stack buffer.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

/// The counters the handler reports; the scan updates them as it goes.
#[derive(Default)]
pub(crate) struct Progress {
    /// Files reported so far.
    pub(crate) files: AtomicU64,
    /// Matches reported so far.
    pub(crate) matches: AtomicU64,
    /// Files with at least one match.
    pub(crate) matched_files: AtomicU64,
    /// Files that failed.
    pub(crate) errors: AtomicU64,
}

static COUNTS: AtomicPtr<Progress> = AtomicPtr::new(std::ptr::null_mut());
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the handler for the rest of the process, reporting `counts` (leaked: it must
/// outlive any signal) and writing a JSON record too when `json`.
pub(crate) fn install(counts: &'static Progress, json: bool) {
    COUNTS.store(std::ptr::from_ref(counts).cast_mut(), Ordering::SeqCst);
    JSON.store(json, Ordering::SeqCst);
    #[cfg(unix)]
    // SAFETY: `sigaction` is given a zeroed, then filled `sigaction` struct whose handler is
    // an `extern "C" fn(c_int)` that is async-signal-safe (atomic loads, `write`, `_exit`;
    // no allocation, no locks); the old action is not needed. Installing a handler does not
    // touch Rust-visible memory.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// A fixed buffer that numbers and text are appended to without allocating.
struct Buf {
    bytes: [u8; 512],
    len: usize,
}

impl Buf {
    fn push(&mut self, s: &[u8]) {
        for &b in s {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
    }

    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..]);
    }
}

/// What stopped the scan, in the message and the record alike.
const WHAT: &[u8] = b"the index file changed while mapped (overwritten in place, not replaced by rename)";

/// The message and (for JSON) the record, built from the counters.
fn report(counts: Option<&Progress>, json: bool) -> (Buf, Option<Buf>) {
    let load = |f: fn(&Progress) -> &AtomicU64| counts.map_or(0, |c| f(c).load(Ordering::Relaxed));
    let (files, matches, matched, errors) =
        (load(|c| &c.files), load(|c| &c.matches), load(|c| &c.matched_files), load(|c| &c.errors));
    let mut msg = Buf { bytes: [0; 512], len: 0 };
    msg.push(b"mediamatch scan: ");
    msg.push(WHAT);
    msg.push(b": stopping after ");
    msg.number(files);
    msg.push(b" files (");
    msg.number(matches);
    msg.push(b" matches in ");
    msg.number(matched);
    msg.push(b" files, ");
    msg.number(errors);
    msg.push(b" errors); files not reported were not checked\n");
    let record = json.then(|| {
        let mut r = Buf { bytes: [0; 512], len: 0 };
        r.push(b"{\"type\":\"fatal\",\"error\":\"");
        r.push(WHAT);
        r.push(b"\"");
        for (name, value) in
            [(&b"files"[..], files), (b"matches", matches), (b"matched_files", matched), (b"errors", errors)]
        {
            r.push(b",\"");
            r.push(name);
            r.push(b"\":");
            r.number(value);
        }
        r.push(b"}\n");
        r
    });
    (msg, record)
}

#[cfg(unix)]
extern "C" fn on_sigbus(_signal: libc::c_int) {
    let ptr = COUNTS.load(Ordering::SeqCst);
    // SAFETY: the pointer is null or comes from a `&'static Progress` given to `install`.
    let counts = unsafe { ptr.as_ref() };
    let (msg, record) = report(counts, JSON.load(Ordering::SeqCst));
    // SAFETY: `write` and `_exit` are async-signal-safe; the buffers live on this stack.
    unsafe {
        if let Some(r) = record {
            // A line may be in the middle of being printed by another thread: start afresh.
            libc::write(1, b"\n".as_ptr().cast(), 1);
            libc::write(1, r.bytes.as_ptr().cast(), r.len);
        }
        libc::write(2, msg.bytes.as_ptr().cast(), msg.len);
        libc::_exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_carries_the_counts_in_the_fatal_record_of_the_schema() {
        let p = Progress::default();
        p.files.store(1234, Ordering::Relaxed);
        p.matches.store(5, Ordering::Relaxed);
        p.matched_files.store(3, Ordering::Relaxed);
        p.errors.store(0, Ordering::Relaxed);
        let (msg, record) = report(Some(&p), true);
        let msg = std::str::from_utf8(&msg.bytes[..msg.len]).unwrap();
        assert!(msg.ends_with("stopping after 1234 files (5 matches in 3 files, 0 errors); files not reported were not checked\n"), "{msg}");
        let record = record.unwrap();
        // Byte for byte the `fatal` record of the schema (`Record::Fatal`), built without serde.
        let fatal = crate::cli::record::Record::Fatal(crate::cli::record::Fatal {
            error: std::str::from_utf8(WHAT).unwrap(),
            files: 1234,
            matches: 5,
            matched_files: 3,
            errors: 0,
        });
        let want = serde_json::to_string(&fatal).unwrap() + "\n";
        assert_eq!(std::str::from_utf8(&record.bytes[..record.len]).unwrap(), want);
        let (_, none) = report(None, false);
        assert!(none.is_none());
    }
}
