//! The audit trail: an append-only JSON Lines file, one record per check, each carrying
//! the SHA-256 of the record before it.
//!
//! A record is one line: a JSON object whose keys are sorted, with `seq` (1, 2, ...) and
//! `prev` (the hex SHA-256 of the previous line's bytes, without its newline; 64 zeros
//! for the first record of a trail). Changing, removing or inserting any line breaks the
//! `prev` of the line after it, which [`verify`] finds. The last line has no successor:
//! pin its hash ([`Report::head`], `mediamatch audit verify` prints it) somewhere else to
//! protect it too. A trail continued in a new file (after rotation: the file moved away,
//! then [`AuditLog::reopen`]) starts with the `prev` and `seq` that follow the last record
//! of the old one, so the files verify joined and a file removed from between two others
//! breaks the chain.
//!
//! The media is never written: records hold sizes, types, digests and hashes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::FsyncPolicy;

/// The `prev` of the first record of a trail.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the audit file could not be opened, written or verified.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file's last line is not a whole record (a crash or a full disk cut it): the
    /// trail is not continued until someone looks at it.
    #[error(
        "{0}: the last line is not a complete audit record (cut by a crash or a full disk?); \
         check it with `mediamatch audit verify`, move the file aside and start a new one"
    )]
    TornTail(PathBuf),
    /// At a reopen, the file now at the path holds records that do not end with the
    /// trail's head: continuing there would break the chain, so the old file stays open.
    #[error(
        "{0}: the file now at the audit path holds records of another trail (its last record \
         is not this trail's head); still writing to the file opened before"
    )]
    Foreign(PathBuf),
}

/// An open audit trail. `Send + Sync`: records from all requests go through one lock.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    fsync: FsyncPolicy,
    state: Mutex<Tail>,
}

#[derive(Debug)]
struct Tail {
    file: File,
    prev: String,
    seq: u64,
}

impl AuditLog {
    /// Opens (or creates) the trail at `path` and continues it after its last record.
    /// A new (or empty) file starts a trail: its first record's `prev` is [`GENESIS`].
    pub fn open(path: &Path, fsync: FsyncPolicy) -> Result<AuditLog, AuditError> {
        let (file, last) = open_at(path)?;
        let (prev, seq) = last.unwrap_or_else(|| (GENESIS.to_string(), 0));
        Ok(AuditLog { path: path.into(), fsync, state: Mutex::new(Tail { file, prev, seq }) })
    }

    /// Opens the file at the trail's path again (after logrotate moved the old one away
    /// and created an empty one, or when nothing is there any more) and writes the next
    /// records there. A new or empty file continues the chain: its first record carries
    /// the `seq` and `prev` that follow the last record written to the old file. The path
    /// still naming the file in use (its last record is the head) changes nothing. A file
    /// whose last record is not the head, or is cut off, is refused and the old file stays
    /// in use. Returns whether the file at the path was empty (a new file).
    pub fn reopen(&self) -> Result<bool, AuditError> {
        let mut tail = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (file, last) = open_at(&self.path)?;
        let fresh = match last {
            None => true,
            Some((head, _)) if head == tail.prev => false,
            Some(_) => return Err(AuditError::Foreign(self.path.clone())),
        };
        tail.file = file;
        Ok(fresh)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hash of the last record written (the trail's head), and its `seq`.
    pub fn head(&self) -> (String, u64) {
        let tail = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (tail.prev.clone(), tail.seq)
    }

    /// Appends `record` (its `seq` and `prev` keys are set here), synced as configured,
    /// and returns its `seq`.
    pub fn append(&self, mut record: Map<String, Value>) -> Result<u64, AuditError> {
        let mut tail = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let seq = tail.seq + 1;
        record.insert("seq".into(), Value::from(seq));
        record.insert("prev".into(), Value::from(tail.prev.clone()));
        let mut line = serde_json::to_vec(&Value::Object(record)).expect("a JSON map serializes");
        let digest = hex(&Sha256::digest(&line));
        line.push(b'\n');
        let io = |source| AuditError::Io { path: self.path.clone(), source };
        tail.file.write_all(&line).map_err(io)?;
        if self.fsync == FsyncPolicy::Always {
            tail.file.sync_data().map_err(io)?;
        }
        tail.prev = digest;
        tail.seq = seq;
        Ok(seq)
    }
}

/// Opens (or creates) `path` for appending, with the hash and `seq` of its last record
/// (`None` for an empty file).
fn open_at(path: &Path) -> Result<(File, Option<(String, u64)>), AuditError> {
    let io = |source| AuditError::Io { path: path.into(), source };
    let mut file = OpenOptions::new().create(true).append(true).read(true).open(path).map_err(io)?;
    let last = match last_line(&mut file).map_err(io)? {
        None => None,
        Some(line) => {
            if !line.ends_with(b"\n") {
                return Err(AuditError::TornTail(path.into()));
            }
            let line = &line[..line.len() - 1];
            let seq = serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|v| v.get("seq").and_then(Value::as_u64))
                .ok_or_else(|| AuditError::TornTail(path.into()))?;
            Some((hex(&Sha256::digest(line)), seq))
        }
    };
    Ok((file, last))
}

/// The last line of `file` (with its newline, if it has one), reading backwards from the end.
fn last_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let mut tail: Vec<u8> = Vec::new();
    let mut pos = len;
    loop {
        let step = pos.min(64 * 1024);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&tail);
        tail = chunk;
        // A newline before the final byte ends the line before the last one.
        let body = &tail[..tail.len() - 1];
        if let Some(i) = body.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(tail[i + 1..].to_vec()));
        }
        if pos == 0 {
            return Ok(Some(tail));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`verify`] found in a whole trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// The `prev` of the first record: [`GENESIS`] for a trail's first file.
    pub first_prev: String,
    /// The `seq` of the first record.
    pub first_seq: u64,
    /// The hash of the last record: pin it elsewhere to protect the last line too.
    pub head: String,
}

/// Why a trail does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A line is not a record, or does not follow the line before it.
    #[error("line {line}: {reason}")]
    Broken {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Checks every record of the trail in `reader`: each line a JSON object whose `prev` is
/// the hash of the line before and whose `seq` is one more.
pub fn verify(reader: impl Read) -> Result<Report, VerifyError> {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut n = 0u64;
    let mut report = Report { records: 0, first_prev: String::new(), first_seq: 0, head: GENESIS.into() };
    let mut expected: Option<(String, u64)> = None;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += 1;
        let broken = |reason: String| VerifyError::Broken { line: n, reason };
        let Some(body) = line.strip_suffix(b"\n") else {
            return Err(broken("the last line is cut off (no newline)".into()));
        };
        let value: Value =
            serde_json::from_slice(body).map_err(|e| broken(format!("not a JSON record: {e}")))?;
        let prev = value.get("prev").and_then(Value::as_str).ok_or_else(|| broken("no `prev`".into()))?;
        let seq = value.get("seq").and_then(Value::as_u64).ok_or_else(|| broken("no `seq`".into()))?;
        match &expected {
            None => {
                report.first_prev = prev.to_string();
                report.first_seq = seq;
            }
            Some((want_prev, want_seq)) => {
                if prev != want_prev {
                    return Err(broken(format!(
                        "`prev` is not the hash of line {}: that line or this one was changed, or lines were removed or inserted",
                        n - 1
                    )));
                }
                if seq != want_seq + 1 {
                    return Err(broken(format!("`seq` {seq} does not follow {want_seq}")));
                }
            }
        }
        let digest = hex(&Sha256::digest(body));
        expected = Some((digest.clone(), seq));
        report.head = digest;
        report.records += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), Value::from("check"));
        m.insert("n".into(), Value::from(i));
        m
    }

    #[test]
    fn a_chain_verifies_continues_and_detects_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, FsyncPolicy::Never).unwrap();
        for i in 0..5 {
            log.append(record(i)).unwrap();
        }
        drop(log);
        // Reopened, the trail continues where it stopped.
        let log = AuditLog::open(&path, FsyncPolicy::Always).unwrap();
        assert_eq!(log.append(record(5)).unwrap(), 6);
        let (head, _) = log.head();
        let report = verify(File::open(&path).unwrap()).unwrap();
        assert_eq!((report.records, report.first_seq, report.first_prev.as_str()), (6, 1, GENESIS));
        assert_eq!(report.head, head);

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // One changed byte in line 3.
        let changed = text.replacen("\"n\":2", "\"n\":7", 1);
        let e = verify(changed.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("line 4:"), "{e}");
        // A removed line.
        let removed: String =
            lines.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| format!("{l}\n")).collect();
        assert!(verify(removed.as_bytes()).unwrap_err().to_string().starts_with("line 2:"));
        // A cut-off last line; and reopening such a file is refused.
        let cut = &text[..text.len() - 3];
        assert!(verify(cut.as_bytes()).is_err());
        std::fs::write(&path, cut).unwrap();
        assert!(matches!(AuditLog::open(&path, FsyncPolicy::Never), Err(AuditError::TornTail(_))));
    }

    #[test]
    fn a_reopened_trail_continues_its_chain_in_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let old = dir.path().join("audit.jsonl.1");
        let log = AuditLog::open(&path, FsyncPolicy::Never).unwrap();
        log.append(record(0)).unwrap();
        log.append(record(1)).unwrap();
        // The path still names the file in use: nothing changes.
        assert!(!log.reopen().unwrap());
        log.append(record(2)).unwrap();
        let (head, _) = log.head();
        std::fs::rename(&path, &old).unwrap();
        assert!(log.reopen().unwrap(), "a new file at the path");
        assert_eq!(log.append(record(3)).unwrap(), 4);
        log.append(record(4)).unwrap();
        let new = verify(File::open(&path).unwrap()).unwrap();
        assert_eq!((new.records, new.first_seq, new.first_prev.as_str()), (2, 4, head.as_str()));
        let mut joined = std::fs::read(&old).unwrap();
        joined.extend(std::fs::read(&path).unwrap());
        let all = verify(joined.as_slice()).unwrap();
        assert_eq!((all.records, all.first_prev.as_str(), all.head), (5, GENESIS, log.head().0));
        // A file of another trail at the path is refused; the one in use stays.
        std::fs::rename(&path, dir.path().join("audit.jsonl.2")).unwrap();
        std::fs::copy(&old, &path).unwrap();
        assert!(matches!(log.reopen(), Err(AuditError::Foreign(_))));
        log.append(record(5)).unwrap();
        let kept = verify(File::open(dir.path().join("audit.jsonl.2")).unwrap()).unwrap();
        assert_eq!(kept.records, 3);
    }
}
