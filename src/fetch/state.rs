//! The fetchers' checkpoints: the file `INDEX.fetch.json` beside the index, one record
//! per list: where the next fetch starts, the list version that checkpoint belongs to,
//! and when the last fetch succeeded or failed.
//!
//! Every committed batch first replaces the index's manifest, then this file (each by an
//! atomic rename after fsync). A crash between the two leaves the previous checkpoint:
//! the next run fetches that batch again and applies it once more, which changes nothing
//! (imports are idempotent), so nothing is lost and nothing is counted twice. The file
//! holds no credentials.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::FetchError;

/// One list's fetch record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListState {
    /// What the list is fetched from (`ncmec https://...`), for `info`.
    pub source: String,
    /// Where the next fetch starts (the source's own shape; `null`: from the beginning).
    pub checkpoint: serde_json::Value,
    /// The list's version when the checkpoint was written.
    pub list_version: u64,
    /// When a fetch of the list last finished without error (Unix seconds).
    pub last_success: Option<u64>,
    /// When a fetch of the list was last attempted.
    pub last_attempt: Option<u64>,
    /// The last fetch's error, `None` if it succeeded.
    pub last_error: Option<String>,
}

/// Every list's record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchState {
    /// By list name.
    pub lists: BTreeMap<String, ListState>,
}

/// The checkpoint file of the index at `index`.
pub fn path_of(index: &Path) -> PathBuf {
    let mut name = index.as_os_str().to_owned();
    name.push(".fetch.json");
    PathBuf::from(name)
}

impl FetchState {
    /// Reads the checkpoints of `index` (none yet: empty). A damaged file is an error,
    /// never read as "start from the beginning".
    pub fn load(index: &Path) -> Result<FetchState, FetchError> {
        let path = path_of(index);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| FetchError::State {
                path: path.display().to_string(),
                message: format!(
                    "not a checkpoint file ({e}); restore it or remove it to fetch every list from its start"
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FetchState::default()),
            Err(e) => Err(FetchError::State { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// Writes the checkpoints of `index` atomically (temporary file, fsync, rename, fsync
    /// of the directory).
    pub fn save(&self, index: &Path) -> Result<(), FetchError> {
        let path = path_of(index);
        let fail = |e: std::io::Error| FetchError::State {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let mut bytes = serde_json::to_vec_pretty(self).expect("checkpoints serialize");
        bytes.push(b'\n');
        let mut file = std::fs::File::create(&tmp).map_err(fail)?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(fail)?;
        drop(file);
        std::fs::rename(&tmp, &path).map_err(fail)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}
