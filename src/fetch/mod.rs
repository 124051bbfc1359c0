//! Fetching hash lists from the clearing houses' APIs into an index, incrementally and
//! atomically (`mediamatch fetch`).
//!
//! Each configured list has a [`Source`] (NCMEC's hash-sharing API, StopNCII's
//! `FetchHashes`, Tech Against Terrorism's TCAP, ThreatExchange's `threat_updates`, or a
//! full snapshot at a URL or in a file) positioned at the
//! list's checkpoint. [`fetch_list`] takes the index's [`WriteLock`], reads pages until a
//! batch holds at least [`BatchConfig::records`](config::BatchConfig::records) records
//! (or the source has no more), and applies the batch through the same delta import as
//! `mediamatch import` ([`plan`] and [`commit()`]): one new index version per batch that
//! changes anything. Then the checkpoint after the batch's last page is saved
//! ([`state`]). So:
//!
//! - a fetch resumes where the last committed batch stopped;
//! - an interrupted fetch (killed, network gone mid-page) loses nothing: pages after the
//!   last commit are fetched again, and a batch whose commit landed but whose checkpoint
//!   did not is applied again, which changes nothing;
//! - a page that cannot be read (not XML, not a `FetchHashes` document, over the size
//!   cap) is never applied: the pages before it are committed, the fetch of that list
//!   stops with an error naming the URL, and its checkpoint stays before the bad page.
//!
//! Credentials come from [`secret::Credentials`] and travel only in request headers;
//! no error, report or state file holds one.

pub mod config;
pub mod http;
pub mod ncmec;
pub mod secret;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod stopncii;
pub mod tcap;
pub mod threatexchange;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::index::{
    build, commit, BuildOptions, CommitOptions, Index, IndexError, MergePolicy, Update, WriteLock,
};
use crate::lists::delta::{check_shrink, ApplyOptions, Mode, ShrinkError};
use crate::lists::update::plan;
use crate::lists::{ListError, ListFile, ListFormat, ParseOptions};
use config::{FetchConfig, ListConfig, SourceKind};
use http::Client;
use secret::Credentials;
use source::Source;
use state::{FetchState, ListState};

/// What can go wrong fetching a list. Every variant names the list; none holds a
/// credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The API refused the credentials (401, or 400 for a refused login or a Graph API
    /// `OAuthException`) or the access (403).
    #[error("list {list}: {url} answered {status}: the credentials were refused ({message})")]
    Unauthorized {
        /// The list.
        list: String,
        /// The URL asked.
        url: String,
        /// 401, 403 or 400.
        status: u16,
        /// The start of the answer's body.
        message: String,
    },
    /// The API answered a status that is not retried.
    #[error("list {list}: {url} answered {status} ({message})")]
    Status {
        /// The list.
        list: String,
        /// The URL asked.
        url: String,
        /// The status.
        status: u16,
        /// The start of the answer's body.
        message: String,
    },
    /// Every attempt failed with a retried error (429, 5xx, dropped connection).
    #[error("list {list}: {url}: gave up after {attempts} attempt(s); the last: {last}")]
    GaveUp {
        /// The list.
        list: String,
        /// The URL asked.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
    /// A body over the page cap, or a fetch over the total cap.
    #[error("list {list}: {url}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The list.
        list: String,
        /// The URL asked.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A page that is not what the API sends (not XML, no `hashRecords`, a bad link).
    #[error("list {list}: the page from {url} was not applied: {message}")]
    Page {
        /// The list.
        list: String,
        /// Where the page came from.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// Missing or unreadable credentials.
    #[error("list {list}: credentials: {message}")]
    Credentials {
        /// The list.
        list: String,
        /// What is wrong.
        message: String,
    },
    /// A stored checkpoint that does not fit the list's source.
    #[error("list {list}: checkpoint: {message}")]
    Checkpoint {
        /// The list.
        list: String,
        /// What is wrong.
        message: String,
    },
    /// The checkpoint file cannot be read or written.
    #[error("{path}: {message}")]
    State {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A bad configuration file.
    #[error("configuration: {0}")]
    Config(String),
    /// The index cannot be opened or written.
    #[error("list {list}: the index: {source}")]
    Index {
        /// The list.
        list: String,
        /// The index's error.
        #[source]
        source: IndexError,
    },
    /// A page parsed as a list failed as a whole.
    #[error("list {list}: the page {page} was not applied: {source}")]
    List {
        /// The list.
        list: String,
        /// The page's label.
        page: String,
        /// The list reader's error.
        #[source]
        source: ListError,
    },
    /// A snapshot that would empty the list, as a broken feed would.
    #[error("list {list}: the snapshot was not applied: {source}")]
    Shrink {
        /// The list.
        list: String,
        /// Why.
        #[source]
        source: ShrinkError,
    },
}

/// The clock and provenance of a fetch run.
#[derive(Clone, Copy, Debug)]
pub struct FetchOptions {
    /// Now, in Unix seconds: where NCMEC windows end, and the time recorded as the last
    /// attempt and success.
    pub now: u64,
    /// The import time written into the lists' provenance (default: `now`); fixing it
    /// (`SOURCE_DATE_EPOCH`) makes two runs over the same pages write identical indexes.
    pub imported_at: Option<u64>,
    /// Wait for another writer's lock (else fail at once).
    pub wait: bool,
}

/// What one list's fetch did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ListReport {
    /// The list.
    pub list: String,
    /// Its source (kind and URL or path).
    pub source: String,
    /// Pages read (applied or not).
    pub pages: u64,
    /// Records on the pages (entries, deletions, skipped and rejected ones).
    pub records: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Batches committed as a new index version.
    pub commits: u64,
    /// Entries added to the list.
    pub added: u64,
    /// Entries whose metadata changed.
    pub updated: u64,
    /// Entries removed.
    pub removed: u64,
    /// Entries present and unchanged.
    pub unchanged: u64,
    /// Records rejected as malformed.
    pub rejected: u64,
    /// Records of kinds mediamatch cannot match, skipped.
    pub skipped: u64,
    /// The skipped records by kind (`photodna`, `tmk`, ...).
    pub skipped_kinds: BTreeMap<String, u64>,
    /// The checkpoint the fetch started from.
    pub checkpoint_before: Value,
    /// The checkpoint saved last.
    pub checkpoint_after: Value,
    /// The list's version after the fetch.
    pub version: u64,
    /// Requests retried.
    pub retries: u64,
    /// Seconds the fetch took.
    pub seconds: f64,
    /// Why the fetch stopped early (`None`: it reached the end of what the source has).
    pub error: Option<String>,
}

/// Fetches the list `name` (configured as `list`) into the index at `path`, creating
/// the index or the list if needed. Never fails as a whole: an error is in
/// [`ListReport::error`], after every batch before it was committed and checkpointed.
pub fn fetch_list(
    path: &Path,
    name: &str,
    list: &ListConfig,
    config: &FetchConfig,
    client: &Client,
    options: &FetchOptions,
) -> ListReport {
    let started = Instant::now();
    let retried_before = client.retried();
    let mut report = ListReport { list: name.to_string(), ..ListReport::default() };
    let result = run(path, name, list, config, client, options, &mut report);
    report.retries = client.retried() - retried_before;
    report.seconds = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        report.error = Some(e.to_string());
        // Record the failure beside the checkpoint (which stays where the last commit put
        // it); if even that fails, the report still says why the fetch stopped.
        if let Ok(_lock) = WriteLock::acquire(path) {
            if let Ok(mut state) = FetchState::load(path) {
                let entry = state.lists.entry(name.to_string()).or_default();
                entry.last_attempt = Some(options.now);
                entry.last_error = Some(e.to_string());
                let _ = state.save(path);
            }
        }
    }
    report
}

fn run(
    path: &Path,
    name: &str,
    list: &ListConfig,
    config: &FetchConfig,
    client: &Client,
    options: &FetchOptions,
    report: &mut ListReport,
) -> Result<(), FetchError> {
    let index_error = |source| FetchError::Index { list: name.to_string(), source };
    let lock = if options.wait { WriteLock::acquire(path) } else { WriteLock::try_acquire(path) };
    let lock = lock.map_err(index_error)?;
    lock.remove_stale_temps();
    let state = FetchState::load(path)?;
    let stored = state.lists.get(name).cloned().unwrap_or_default();
    report.checkpoint_before = stored.checkpoint.clone();
    report.checkpoint_after = stored.checkpoint.clone();
    let mut source = open_source(name, list, &stored.checkpoint, options.now, config)?;
    report.source = source.describe();
    check_same_source(name, &stored, &report.source)?;
    let parse = ParseOptions {
        format: ListFormat::Auto,
        kind: list_kind(name, list)?,
        strict: false,
        max_bytes: config.http.max_page_bytes,
    };
    let mode = if source.is_snapshot() { Mode::Replace } else { Mode::Delta };
    let mut batch = Batch::default();
    loop {
        let page = match source.next_page(client) {
            Ok(p) => p,
            Err(e) => {
                // The pages read before the error are whole: commit them, then stop.
                apply_batch(path, name, list, &mut batch, mode, options, report)?;
                return Err(e);
            }
        };
        let Some(page) = page else { break };
        report.pages += 1;
        report.bytes += page.bytes.len() as u64;
        if report.bytes > config.batch.max_total_bytes {
            apply_batch(path, name, list, &mut batch, mode, options, report)?;
            return Err(FetchError::TooLarge {
                list: name.to_string(),
                url: report.source.clone(),
                limit: config.batch.max_total_bytes,
            });
        }
        let opts = ParseOptions { format: page.format, ..parse.clone() };
        let file = match ListFile::from_bytes(&page.label, &page.bytes, &opts) {
            Ok(f) => f,
            Err(source) => {
                apply_batch(path, name, list, &mut batch, mode, options, report)?;
                return Err(FetchError::List { list: name.to_string(), page: page.label, source });
            }
        };
        let l = &file.list;
        let records = (l.records.len() + l.tombstones.len() + l.rejects.len()) as u64 + l.skipped_total();
        report.records += records;
        batch.records += records;
        batch.files.push(file);
        batch.after = Some(page.after);
        // A snapshot is one page; an API's batch ends at a page boundary.
        if batch.records >= config.batch.records {
            batch.defer_merges = true;
            apply_batch(path, name, list, &mut batch, mode, options, report)?;
        }
    }
    apply_batch(path, name, list, &mut batch, mode, options, report)?;
    // The merges the batches deferred (none if the last batch ran them).
    let version = merge_deferred(path, name).map_err(index_error)?;
    let mut state = FetchState::load(path)?;
    let entry = state.lists.entry(name.to_string()).or_default();
    entry.source = report.source.clone();
    entry.last_attempt = Some(options.now);
    entry.last_success = Some(options.now);
    entry.last_error = None;
    report.checkpoint_after = entry.checkpoint.clone();
    report.version = version.unwrap_or(entry.list_version);
    state.save(path)?;
    drop(lock);
    Ok(())
}

/// Pages read since the last commit.
#[derive(Default)]
struct Batch {
    files: Vec<ListFile>,
    records: u64,
    /// The checkpoint after the last page.
    after: Option<Value>,
    /// Commit without merging (a batch inside a fetch; see [`DEFERRED_SEGMENTS`]).
    defer_merges: bool,
}

/// Batches inside a fetch are committed without merges (each would rewrite the segments
/// the previous batches wrote: a backfill of N records in batches of B rewrote about
/// N log(N/B) entries), until the index has this many segments; the fetch's end runs the
/// merges the policy asks for, once.
pub const DEFERRED_SEGMENTS: usize = 32;

/// Runs the merges the merge policy asks for on the index at `path`, if any, and gives
/// the version of the list `name` (`None`: no index or no such list).
fn merge_deferred(path: &Path, name: &str) -> Result<Option<u64>, IndexError> {
    if !path.exists() {
        return Ok(None);
    }
    let (index, manifest) = Index::open_with_manifest(path)?;
    let version = index.lists().iter().find(|l| l.name == name).map(|l| l.version);
    let update = Update {
        add: Vec::new(),
        remove: Vec::new(),
        lists: index.lists().to_vec(),
        signatures: Default::default(),
    };
    let build = index.build_options();
    commit(
        path,
        Some((&index, manifest.as_ref())),
        &update,
        &CommitOptions { build, ..CommitOptions::default() },
    )?;
    // Merges rewrite entries, never a list's version.
    Ok(version)
}

/// Applies the batch (if it holds a page) as one import, then saves its checkpoint.
fn apply_batch(
    path: &Path,
    name: &str,
    list: &ListConfig,
    batch: &mut Batch,
    mode: Mode,
    options: &FetchOptions,
    report: &mut ListReport,
) -> Result<(), FetchError> {
    let Some(after) = batch.after.take() else { return Ok(()) };
    let files = std::mem::take(&mut batch.files);
    batch.records = 0;
    let defer = std::mem::take(&mut batch.defer_merges);
    let index_error = |source| FetchError::Index { list: name.to_string(), source };
    let opened =
        if path.exists() { Some(Index::open_with_manifest(path).map_err(index_error)?) } else { None };
    let apply = ApplyOptions { mode, imported_at: options.imported_at.unwrap_or(options.now) };
    let planned = match &opened {
        Some((index, _)) => plan(index, name, &files, &apply),
        None => Index::from_bytes(build(&Catalog::default(), &BuildOptions::default()).map_err(index_error)?)
            .and_then(|empty| plan(&empty, name, &files, &apply)),
    }
    .map_err(index_error)?;
    let outcome = planned.outcome;
    if mode == Mode::Replace {
        let limit = list.max_shrink.unwrap_or(50.0);
        check_shrink(name, planned.list_len_before, &files, &outcome, limit)
            .map_err(|source| FetchError::Shrink { list: name.to_string(), source })?;
    }
    if outcome.changed {
        let build = opened.as_ref().map_or_else(BuildOptions::default, |(i, _)| i.build_options());
        let old = opened.as_ref().map(|(i, m)| (i, m.as_ref()));
        let segments = opened.as_ref().and_then(|(_, m)| m.as_ref()).map_or(1, |m| m.segments.len());
        let merge = if defer && segments < DEFERRED_SEGMENTS {
            // Never by size ratio; segments mostly tombstoned are still rewritten.
            MergePolicy { ratio: 0, ..MergePolicy::default() }
        } else {
            MergePolicy::default()
        };
        commit(path, old, &planned.update, &CommitOptions { build, merge }).map_err(index_error)?;
        report.commits += 1;
    }
    drop(opened);
    let c = outcome.counts;
    report.added += c.added;
    report.updated += c.updated;
    report.removed += c.removed;
    report.unchanged += c.unchanged;
    report.rejected += c.rejected;
    report.skipped += c.skipped;
    for file in &files {
        for (kind, n) in file.list.skipped_kinds() {
            *report.skipped_kinds.entry(kind.to_string()).or_insert(0) += n;
        }
    }
    report.version = outcome.version;
    // After the commit point: a crash here leaves the old checkpoint, and the batch is
    // fetched and applied again, changing nothing.
    let mut state = FetchState::load(path)?;
    let entry = state.lists.entry(name.to_string()).or_default();
    entry.source = report.source.clone();
    entry.checkpoint = after.clone();
    entry.list_version = outcome.version;
    state.save(path)?;
    report.checkpoint_after = after;
    Ok(())
}

/// A checkpoint stored for one kind of source is not read by another.
fn check_same_source(name: &str, stored: &ListState, now: &str) -> Result<(), FetchError> {
    let kind = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
    if stored.source.is_empty() || stored.checkpoint.is_null() || kind(&stored.source) == kind(now) {
        return Ok(());
    }
    Err(FetchError::Checkpoint {
        list: name.to_string(),
        message: format!(
            "it was written by the source `{}`, and the list is configured as `{now}`; \
             remove the list's entry from the checkpoint file to fetch it from its start",
            stored.source
        ),
    })
}

fn list_kind(name: &str, list: &ListConfig) -> Result<Option<crate::Kind>, FetchError> {
    list.kind
        .as_deref()
        .map(|k| k.parse().map_err(|e| FetchError::Config(format!("[lists.{name}] kind: {e}"))))
        .transpose()
}

/// The source of `list`, positioned at `checkpoint`.
fn open_source(
    name: &str,
    list: &ListConfig,
    checkpoint: &Value,
    now: u64,
    config: &FetchConfig,
) -> Result<Box<dyn Source>, FetchError> {
    let credentials = || Credentials::load(name, list.credentials_file.as_deref());
    Ok(match list.source {
        SourceKind::Ncmec => Box::new(ncmec::Ncmec::new(
            name,
            list.base(),
            &credentials()?,
            list.start.unwrap_or(0),
            checkpoint,
            now,
        )?),
        SourceKind::Stopncii => Box::new(stopncii::Stopncii::new(
            name,
            list.base(),
            &credentials()?,
            list.start.unwrap_or(stopncii::DEFAULT_START),
            list.page_size.unwrap_or(stopncii::DEFAULT_PAGE_SIZE),
            checkpoint,
        )?),
        SourceKind::Tcap => Box::new(tcap::Tcap::new(name, list.base(), &credentials()?, checkpoint)?),
        SourceKind::Threatexchange => Box::new(threatexchange::ThreatExchange::new(
            name,
            list.base(),
            list.privacy_group.unwrap_or_default(),
            &credentials()?,
            list.start,
            list.page_size.unwrap_or(threatexchange::DEFAULT_PAGE_SIZE),
            checkpoint,
            now,
        )?),
        SourceKind::Url | SourceKind::File => {
            let format = match &list.format {
                Some(f) => {
                    f.parse().map_err(|e| FetchError::Config(format!("[lists.{name}] format: {e}")))?
                }
                None => ListFormat::Auto,
            };
            let location = match (&list.url, &list.path) {
                (Some(u), _) => snapshot::Location::Url(u.clone()),
                (None, Some(p)) => snapshot::Location::File(p.clone()),
                (None, None) => return Err(FetchError::Config(format!("[lists.{name}] needs url or path"))),
            };
            // A URL may need a token: `token = ...` in the credentials, sent as a bearer.
            let headers = match &list.credentials_file {
                Some(_) => vec![http::Header {
                    name: "Authorization",
                    value: format!("Bearer {}", credentials()?.get("token")?.expose()),
                }],
                None => Vec::new(),
            };
            Box::new(snapshot::Snapshot::new(
                name,
                location,
                format,
                config.http.max_page_bytes,
                headers,
                checkpoint,
            )?)
        }
    })
}
