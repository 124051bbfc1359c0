//! When to reload: the identity of the file at the index path, the last load's outcome,
//! and staleness.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Which file a path names now (device, inode, size, modification time).
pub(crate) type Identity = Option<(u64, u64, u64, Option<std::time::SystemTime>)>;

/// The identity of the file at `path` (`None` when it cannot be read).
pub(crate) fn identity(path: &Path) -> Identity {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino(), m.len(), m.modified().ok()))
    }
    #[cfg(not(unix))]
    {
        Some((0, 0, m.len(), m.modified().ok()))
    }
}

/// `every` times a random factor in [1 - jitter, 1 + jitter].
pub(crate) fn jittered(every: Duration, jitter: f64) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    let unit = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
    every.mul_f64(1.0 + jitter * (2.0 * unit - 1.0))
}

#[derive(Debug, Default)]
struct State {
    /// The identity of the index path when the index in use was opened.
    loaded: Identity,
    /// Since when the path has named a file that failed to load.
    failing_since: Option<Instant>,
    last_error: Option<String>,
}

/// Serializes reloads and remembers their outcomes.
#[derive(Debug, Default)]
pub(crate) struct Reloader {
    serial: Mutex<()>,
    state: Mutex<State>,
}

impl Reloader {
    /// Holds off other reloads while one runs.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.serial.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The index was opened; `seen` is the path's identity read just before.
    pub fn loaded(&self, seen: Identity) {
        let mut s = self.state();
        s.loaded = seen;
        s.failing_since = None;
        s.last_error = None;
    }

    /// Opening failed.
    pub fn failed(&self, seen: Identity, error: String) {
        let mut s = self.state();
        if s.failing_since.is_none() {
            s.failing_since = Some(Instant::now());
        }
        // Remember what was tried, so polling does not retry the same broken file
        // forever; a new file at the path is tried again.
        if seen.is_some() {
            s.loaded = seen;
        }
        s.last_error = Some(error);
    }

    /// Whether the path names another file than the one last tried.
    pub fn changed_on_disk(&self, path: &Path) -> bool {
        identity(path) != self.state().loaded
    }

    /// The error of the last attempt, when it failed.
    pub fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    /// Whether loads have been failing for longer than `after`.
    pub fn is_stale(&self, after: Duration) -> bool {
        self.state().failing_since.is_some_and(|t| t.elapsed() > after)
    }
}
