//! StopNCII's `GET {base}/FetchHashes?startTimestamp=..&pageSize=..[&nextPageToken=..]`,
//! authenticated by the headers `Ocp-Apim-Subscription-Key` and `x-functions-key`.
//!
//! A page's `hashRecords` are the current state of each hash (statuses `Received` and
//! `Active` are live, `Withdrawn` and `Deleted` remove it). Paging runs on
//! `nextPageToken` while `hasMoreRecords`; the last page's `nextSetTimestamp` is where
//! the next fetch starts. The checkpoint is `{"start": T}` between fetches and
//! `{"start": T, "token": TOKEN}` inside one. Tokens do not live long: one answered with
//! a 4xx other than 401/403/429 restarts at `start` (pages applied twice change nothing).

use serde_json::{json, Value};

use super::http::{Client, Header};
use super::secret::Credentials;
use super::source::{percent_encode, str_field, u64_field, Page, Source};
use super::FetchError;
use crate::lists::ListFormat;

/// pytx's first `startTimestamp`.
pub const DEFAULT_START: u64 = 10;
/// Records per page asked for (pytx's default).
pub const DEFAULT_PAGE_SIZE: u32 = 800;

/// How pages are named in the list's provenance (the same for every page, as NCMEC's).
pub const LABEL: &str = "stopncii FetchHashes";

/// The StopNCII source of one list.
pub struct Stopncii {
    list: String,
    base: String,
    headers: [Header; 2],
    page_size: u32,
    start: u64,
    token: Option<String>,
    restarted: bool,
    done: bool,
}

impl Stopncii {
    /// Positioned at `checkpoint` (`null`: at `start`).
    pub fn new(
        list: &str,
        base: String,
        credentials: &Credentials,
        start: u64,
        page_size: u32,
        checkpoint: &Value,
    ) -> Result<Stopncii, FetchError> {
        let headers = [
            Header {
                name: "Ocp-Apim-Subscription-Key",
                value: credentials.get("subscription_key")?.expose().into(),
            },
            Header { name: "x-functions-key", value: credentials.get("fetch_function_key")?.expose().into() },
        ];
        Ok(Stopncii {
            list: list.to_string(),
            base,
            headers,
            page_size,
            start: u64_field(list, checkpoint, "start")?.unwrap_or(start),
            token: str_field(list, checkpoint, "token")?,
            restarted: false,
            done: false,
        })
    }
}

impl Source for Stopncii {
    fn describe(&self) -> String {
        format!("stopncii {}", self.base)
    }

    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError> {
        if self.done {
            return Ok(None);
        }
        let mut url =
            format!("{}/FetchHashes?startTimestamp={}&pageSize={}", self.base, self.start, self.page_size);
        if let Some(t) = &self.token {
            url.push_str("&nextPageToken=");
            url.push_str(&percent_encode(t));
        }
        let response = match client.get(&self.list, &url, &self.headers) {
            Err(FetchError::Status { status, .. })
                if self.token.is_some() && !self.restarted && status < 500 =>
            {
                self.restarted = true;
                self.token = None;
                return self.next_page(client);
            }
            r => r?,
        };
        let bad = |message: String| FetchError::Page { list: self.list.clone(), url: url.clone(), message };
        let page: Value =
            serde_json::from_slice(&response.body).map_err(|e| bad(format!("not JSON: {e}")))?;
        if !page.get("hashRecords").is_some_and(Value::is_array) {
            return Err(bad("no hashRecords array: not a FetchHashes page".into()));
        }
        let more = page
            .get("hasMoreRecords")
            .and_then(Value::as_bool)
            .ok_or_else(|| bad("no boolean hasMoreRecords".into()))?;
        let after = if more {
            let token = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| bad("hasMoreRecords without a nextPageToken".into()))?
                .to_string();
            self.token = Some(token.clone());
            json!({ "start": self.start, "token": token })
        } else {
            let next = page
                .get("nextSetTimestamp")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("the last page has no integer nextSetTimestamp".into()))?;
            self.done = true;
            json!({ "start": next.max(self.start) })
        };
        Ok(Some(Page { bytes: response.body, format: ListFormat::Stopncii, label: LABEL.to_string(), after }))
    }
}
