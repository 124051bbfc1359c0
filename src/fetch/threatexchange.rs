//! Meta's ThreatExchange: the Graph API's `threat_updates` of one privacy group.
//!
//! `GET {base}/{privacy_group}/threat_updates/?access_token=APP_TOKEN&limit=N&fields=..`
//! `[&start_time=T][&after=CURSOR]` answers `{"data": [UPDATE, ...], "paging":
//! {"cursors": {"before": .., "after": ..}, "next": URL}}`; an update is
//! `{"id", "indicator", "type", "last_updated", "should_delete", "descriptors": {"data":
//! [{"id", "owner": {"id"}, "status", "tags"}, ...]}}`, the current state of one indicator.
//! The app token (`APP_ID|SECRET`) travels as `access_token`, as python-threatexchange
//! sends it; errors show the URL with it hidden ([`super::http::redact`]), and paging
//! follows `cursors.after` with a URL of our own, so the checkpoint never holds it.
//!
//! Each update becomes one record (written as JSON Lines for the list reader): the
//! indicator with its type as the kind (`HASH_PDQ`, `HASH_MD5`, ...; `URI`, `HASH_TMK` and
//! the other non-media types are skipped as unsupported kinds), the update's `id` as the
//! id, and the sorted union of its descriptors' tags as the label. An update is a deletion
//! when it says `should_delete`, when it has no descriptor whose owner is visible (as
//! python-threatexchange reads ThreatExchange issue 834), or when every such descriptor
//! says `NON_MALICIOUS` (known benign: matching it could only accuse an innocent user;
//! python-threatexchange keeps such indicators as negative opinions).
//!
//! The checkpoint is `{"start": T, "fetched": F}` between fetches (T: the latest
//! `last_updated` applied; F: when the last fetch ended) and adds `"cursor"` and
//! `"highest"` inside one; a cursor the API no longer accepts (a 4xx that is not an
//! authentication error) restarts from `start` (updates applied twice change nothing).
//! The API keeps deletions for 90 days: a checkpoint whose last fetch is older than
//! [`STALE_SECONDS`] (85 days, as python-threatexchange) could miss deletions, so that
//! fetch reads the whole privacy group and applies it as one snapshot that replaces the
//! list (guarded by `max_shrink`); its memory follows the privacy group's size.

use serde_json::{json, Value};

use super::http::Client;
use super::secret::Credentials;
use super::source::{percent_encode, str_field, u64_field, Page, Source};
use super::FetchError;
use crate::lists::ListFormat;

/// The Graph API version python-threatexchange uses.
pub const BASE_URL: &str = "https://graph.facebook.com/v21.0";

/// How pages are named in the list's provenance (the same for every page).
pub const LABEL: &str = "threatexchange threat_updates";

/// Updates per page asked for (`limit`).
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// A checkpoint whose last fetch is older than this (85 days) forces a full refetch.
pub const STALE_SECONDS: u64 = 85 * 24 * 3600;

/// The fields asked for.
const FIELDS: &str = "id,indicator,type,last_updated,should_delete,descriptors{id,owner{id},status,tags}";

/// The ThreatExchange source of one list.
pub struct ThreatExchange {
    list: String,
    base: String,
    privacy_group: u64,
    token: String,
    page_size: u32,
    now: u64,
    /// Where the fetch starts (`None`: the privacy group's beginning).
    start: Option<u64>,
    cursor: Option<String>,
    highest: Option<u64>,
    /// When the last whole fetch ended (kept inside a fetch, so that an interrupted one
    /// does not hide a stale checkpoint).
    fetched: Option<u64>,
    /// A full refetch, applied as one snapshot.
    refetch: bool,
    restarted: bool,
    done: bool,
}

impl ThreatExchange {
    /// Positioned at `checkpoint` (`null`: at `start`, or the beginning), at time `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        list: &str,
        base: String,
        privacy_group: u64,
        credentials: &Credentials,
        start: Option<u64>,
        page_size: u32,
        checkpoint: &Value,
        now: u64,
    ) -> Result<ThreatExchange, FetchError> {
        let token = credentials.get("app_token")?.expose().to_string();
        let fetched = u64_field(list, checkpoint, "fetched")?;
        let refetch = fetched.is_some_and(|f| now.saturating_sub(f) > STALE_SECONDS);
        let (start, cursor, highest) = if refetch {
            (None, None, None)
        } else {
            (
                u64_field(list, checkpoint, "start")?.or(start),
                str_field(list, checkpoint, "cursor")?,
                u64_field(list, checkpoint, "highest")?,
            )
        };
        Ok(ThreatExchange {
            list: list.to_string(),
            base,
            privacy_group,
            token,
            page_size,
            now,
            start,
            cursor,
            highest,
            fetched,
            refetch,
            restarted: false,
            done: false,
        })
    }

    fn url(&self) -> String {
        let mut url = format!(
            "{}/{}/threat_updates/?access_token={}&limit={}&fields={}",
            self.base,
            self.privacy_group,
            percent_encode(&self.token),
            self.page_size,
            percent_encode(FIELDS)
        );
        if let Some(s) = self.start {
            url.push_str(&format!("&start_time={s}"));
        }
        if let Some(c) = &self.cursor {
            url.push_str("&after=");
            url.push_str(&percent_encode(c));
        }
        url
    }

    /// One page of the API: its records as JSON Lines, and whether another follows.
    fn one_page(&mut self, client: &Client) -> Result<(Vec<u8>, bool), FetchError> {
        let url = self.url();
        let response = match client.get(&self.list, &url, &[]) {
            Err(FetchError::Status { status, list, url, message }) if is_auth_error(status, &message) => {
                return Err(FetchError::Unauthorized { list, url, status, message })
            }
            Err(FetchError::Status { status, .. })
                if self.cursor.is_some() && !self.restarted && !self.refetch && status < 500 =>
            {
                // An expired cursor: again from the fetch's start.
                self.restarted = true;
                self.cursor = None;
                return self.one_page(client);
            }
            r => r?,
        };
        let shown = super::http::redact(&url);
        let bad = |message: String| FetchError::Page { list: self.list.clone(), url: shown.clone(), message };
        let page: Value =
            serde_json::from_slice(&response.body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Some(data) = page.get("data").and_then(Value::as_array) else {
            return Err(bad("no data array: not a threat_updates page".into()));
        };
        let mut lines = Vec::new();
        for update in data {
            let (record, time) = record(update).map_err(bad)?;
            self.highest = Some(self.highest.map_or(time, |h| h.max(time)));
            if self.refetch && record["status"] == "deleted" {
                // A snapshot lists what is live; what it omits is removed.
                continue;
            }
            serde_json::to_writer(&mut lines, &record).map_err(|e| bad(e.to_string()))?;
            lines.push(b'\n');
        }
        let paging = page.get("paging");
        let more = paging.and_then(|p| p.get("next")).is_some_and(|n| !n.is_null()) && !data.is_empty();
        if more {
            let cursor = paging
                .and_then(|p| p.get("cursors"))
                .and_then(|c| c.get("after"))
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| bad("paging.next without a paging.cursors.after".into()))?;
            self.cursor = Some(cursor.to_string());
        }
        Ok((lines, more))
    }

    fn checkpoint(&self, more: bool) -> Value {
        if more {
            json!({ "start": self.start, "fetched": self.fetched, "cursor": self.cursor, "highest": self.highest })
        } else {
            json!({ "start": self.highest.or(self.start), "fetched": self.now })
        }
    }
}

impl Source for ThreatExchange {
    fn describe(&self) -> String {
        format!("threatexchange {}/{}", self.base, self.privacy_group)
    }

    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError> {
        if self.done {
            return Ok(None);
        }
        if !self.refetch {
            let (bytes, more) = self.one_page(client)?;
            self.done = !more;
            let after = self.checkpoint(more);
            return Ok(Some(Page { bytes, format: ListFormat::Jsonl, label: LABEL.to_string(), after }));
        }
        // A full refetch: every page, then one snapshot.
        let cap = client.options().max_page_bytes;
        let mut bytes = Vec::new();
        loop {
            let (page, more) = self.one_page(client)?;
            bytes.extend_from_slice(&page);
            if bytes.len() as u64 > cap {
                return Err(FetchError::TooLarge {
                    list: self.list.clone(),
                    url: format!("{} (full refetch)", self.describe()),
                    limit: cap,
                });
            }
            if !more {
                break;
            }
        }
        self.done = true;
        let after = self.checkpoint(false);
        Ok(Some(Page { bytes, format: ListFormat::Jsonl, label: LABEL.to_string(), after }))
    }

    fn is_snapshot(&self) -> bool {
        self.refetch
    }
}

/// Whether a Graph API error is about the token or the access (`OAuthException`; codes
/// 102 and 190 are bad tokens, 10 and 200-299 missing permissions).
fn is_auth_error(status: u16, message: &str) -> bool {
    matches!(status, 400 | 401 | 403) && message.contains("OAuthException")
}

/// One update as a record for the list reader, and its `last_updated`.
fn record(update: &Value) -> Result<(Value, u64), String> {
    let field = |k: &str| update.get(k).ok_or_else(|| format!("an update without `{k}`: {}", cut(update)));
    let id = match field("id")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("an update id that is not a string: {}", cut(other))),
    };
    let indicator = field("indicator")?.as_str().ok_or("an indicator that is not a string")?;
    let kind = field("type")?.as_str().ok_or("a type that is not a string")?;
    let time = match field("last_updated")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("update {id}: last_updated is not Unix seconds"))?;
    let should_delete = update.get("should_delete").and_then(Value::as_bool).unwrap_or(false);
    let mut tags = std::collections::BTreeSet::new();
    let mut visible = 0;
    let mut malicious_or_unknown = 0;
    let descriptors = update.get("descriptors").and_then(|d| d.get("data")).and_then(Value::as_array);
    for d in descriptors.into_iter().flatten() {
        if d.get("owner").and_then(|o| o.get("id")).is_none() {
            continue;
        }
        visible += 1;
        if d.get("status").and_then(Value::as_str) != Some("NON_MALICIOUS") {
            malicious_or_unknown += 1;
        }
        match d.get("tags") {
            Some(Value::Array(items)) => {
                tags.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
            }
            // The shape the descriptors endpoint uses: {"data": [{"text": ..}]}.
            Some(Value::Object(o)) => tags.extend(
                o.get("data")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get("text").and_then(Value::as_str))
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    let deleted = should_delete || visible == 0 || malicious_or_unknown == 0;
    let label = tags.into_iter().collect::<Vec<_>>().join(",");
    let status = if deleted { "deleted" } else { "active" };
    Ok((json!({ "hash": indicator, "kind": kind, "id": id, "label": label, "status": status }), time))
}

fn cut(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(should_delete: bool, descriptors: Value) -> Value {
        json!({"id": "41", "indicator": "d41d8cd98f00b204e9800998ecf8427e", "type": "HASH_MD5",
               "last_updated": 1700000000, "should_delete": should_delete, "descriptors": descriptors})
    }

    #[test]
    fn updates_become_records_and_tombstones_as_pytx_reads_them() {
        let d = |owner: bool, status: &str, tags: Value| {
            let mut v = json!({"id": "9", "status": status, "tags": tags});
            if owner {
                v["owner"] = json!({"id": "77"});
            }
            v
        };
        let (r, t) =
            record(&update(false, json!({"data": [d(true, "MALICIOUS", json!(["b", "a"])), d(true, "UNKNOWN", json!({"data": [{"text": "c"}]}))]})))
                .unwrap();
        assert_eq!(
            (r["status"].as_str(), r["label"].as_str(), r["id"].as_str(), t),
            (Some("active"), Some("a,b,c"), Some("41"), 1700000000)
        );
        for (why, u) in [
            ("should_delete", update(true, json!({"data": [d(true, "MALICIOUS", json!([]))]}))),
            ("no descriptors", update(false, json!({"data": []}))),
            (
                "no descriptors key",
                json!({"id": 41, "indicator": "x", "type": "HASH_PDQ", "last_updated": "5"}),
            ),
            ("owner hidden", update(false, json!({"data": [d(false, "MALICIOUS", json!([]))]}))),
            ("known benign", update(false, json!({"data": [d(true, "NON_MALICIOUS", json!([]))]}))),
        ] {
            assert_eq!(record(&u).unwrap().0["status"], "deleted", "{why}");
        }
        assert!(record(&json!({"id": "1", "indicator": "x", "type": "HASH_PDQ"}))
            .unwrap_err()
            .contains("last_updated"));
        assert!(record(&json!({"id": [1], "indicator": "x"})).unwrap_err().contains("id"));
    }

    #[test]
    fn only_oauth_errors_are_authentication_errors() {
        assert!(is_auth_error(
            400,
            r#"{"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}"#
        ));
        assert!(!is_auth_error(
            400,
            r#"{"error": {"message": "Invalid cursor", "type": "GraphMethodException", "code": 100}}"#
        ));
        assert!(!is_auth_error(500, "OAuthException"));
    }
}
