//! A list published as one file, at an HTTPS URL or a local path: each fetch is a full
//! snapshot, applied with `--replace` rules (the difference is the delta; a snapshot that
//! would remove more than `max_shrink` of the list is refused, as a broken feed would).
//! The checkpoint is the snapshot's SHA-256 (and the URL's `ETag` / `Last-Modified`, sent
//! back as `If-None-Match` / `If-Modified-Since`): an unchanged snapshot is not applied.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::http::{Client, Header};
use super::source::{str_field, Page, Source};
use super::FetchError;
use crate::lists::ListFormat;

/// Where the snapshot is.
pub enum Location {
    /// An `https://` URL (or `http://` to loopback).
    Url(String),
    /// A local file.
    File(PathBuf),
}

/// The snapshot source of one list.
pub struct Snapshot {
    list: String,
    location: Location,
    format: ListFormat,
    max_bytes: u64,
    headers: Vec<Header>,
    sha256: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    done: bool,
}

impl Snapshot {
    /// Positioned at `checkpoint` (the last snapshot applied); `headers` go with every
    /// request (an `Authorization` from the credentials).
    pub fn new(
        list: &str,
        location: Location,
        format: ListFormat,
        max_bytes: u64,
        headers: Vec<Header>,
        checkpoint: &Value,
    ) -> Result<Snapshot, FetchError> {
        Ok(Snapshot {
            list: list.to_string(),
            location,
            format,
            max_bytes,
            headers,
            sha256: str_field(list, checkpoint, "sha256")?,
            etag: str_field(list, checkpoint, "etag")?,
            last_modified: str_field(list, checkpoint, "last_modified")?,
            done: false,
        })
    }
}

impl Source for Snapshot {
    fn describe(&self) -> String {
        match &self.location {
            // Without its query: a token in it must not reach reports.
            Location::Url(u) => format!("url {}", u.split(['?', '#']).next().unwrap_or(u)),
            Location::File(p) => format!("file {}", p.display()),
        }
    }

    fn is_snapshot(&self) -> bool {
        true
    }

    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(None);
        }
        let (bytes, etag, last_modified, label) = match &self.location {
            Location::Url(url) => {
                let mut headers = self.headers.clone();
                if let Some(e) = &self.etag {
                    headers.push(Header { name: "If-None-Match", value: e.clone() });
                }
                if let Some(m) = &self.last_modified {
                    headers.push(Header { name: "If-Modified-Since", value: m.clone() });
                }
                let r = client.get(&self.list, url, &headers)?;
                if r.status == 304 {
                    return Ok(None);
                }
                let name = url.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(url).to_string();
                (r.body, r.etag, r.last_modified, name)
            }
            Location::File(path) => {
                let bytes = read_capped(path, self.max_bytes).map_err(|message| FetchError::Page {
                    list: self.list.clone(),
                    url: path.display().to_string(),
                    message,
                })?;
                let name = path
                    .file_name()
                    .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
                (bytes, None, None, name)
            }
        };
        let sha256 = {
            use sha2::Digest;
            sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        if self.sha256.as_deref() == Some(sha256.as_str()) {
            return Ok(None);
        }
        let after = json!({ "sha256": sha256, "etag": etag, "last_modified": last_modified });
        Ok(Some(Page { bytes, format: self.format, label, after }))
    }
}

fn read_capped(path: &std::path::Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = crate::regular::open_regular(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than the limit of {max} bytes"));
    }
    Ok(bytes)
}
