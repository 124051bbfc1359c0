//! Tech Against Terrorism's TCAP hash list (v2).
//!
//! A fetch logs in with `POST {base}/token-auth/tcap/` (a form with `username`,
//! `password` and `resend=False`), answered by `{"token": JWT}`, then reads
//! `GET {base}/api/hash-list/v2/all?order=asc&after=CHECKPOINT` with
//! `Authorization: Bearer JWT`. A page is
//! `{"count": N, "next": URL|null, "previous": URL|null, "checkpoint": "UPDATED_ON,ID",
//! "results": [RECORD, ...]}`; a record is `{"hash_digest", "algorithm", "ideology",
//! "file_type", "deleted", "updated_on", "created_on", "id"}`, the current state of one
//! hash (`deleted: true` removes it).
//!
//! `next` is the absolute URL of the following page; it is followed only on the base
//! URL's scheme, host and port (the token is never sent elsewhere). A page's
//! `checkpoint` names its last record, and asking with `after=` it gives the records
//! after that one, so the checkpoint is `{"after": CHECKPOINT}` at every page boundary,
//! inside a fetch and between fetches alike. Tokens expire: a page answered 401 gets one
//! new login before the fetch gives up.

use serde_json::{json, Value};

use super::http::{Client, Header};
use super::secret::Credentials;
use super::source::{percent_encode, str_field, Page, Source};
use super::FetchError;
use crate::lists::ListFormat;

/// The API's base URL (python-threatexchange's).
pub const BASE_URL: &str = "https://app.terrorismanalytics.org";

/// How pages are named in the list's provenance (the same for every page).
pub const LABEL: &str = "tcap hash list";

/// The TCAP source of one list.
pub struct Tcap {
    list: String,
    base: String,
    username: String,
    password: String,
    token: Option<Header>,
    after: Option<String>,
    next: Option<String>,
    done: bool,
}

impl Tcap {
    /// Positioned at `checkpoint` (`null`: at the list's start).
    pub fn new(
        list: &str,
        base: String,
        credentials: &Credentials,
        checkpoint: &Value,
    ) -> Result<Tcap, FetchError> {
        Ok(Tcap {
            list: list.to_string(),
            base,
            username: credentials.get("username")?.expose().to_string(),
            password: credentials.get("password")?.expose().to_string(),
            token: None,
            after: str_field(list, checkpoint, "after")?,
            next: None,
            done: false,
        })
    }

    /// Logs in and keeps the token.
    fn login(&mut self, client: &Client) -> Result<(), FetchError> {
        let url = format!("{}/token-auth/tcap/", self.base);
        let form =
            [("username", self.username.as_str()), ("password", self.password.as_str()), ("resend", "False")];
        let response = match client.post_form(&self.list, &url, &[], &form) {
            // A refused login is answered 400 by the API.
            Err(FetchError::Status { status: 400, list, url, message }) => {
                return Err(FetchError::Unauthorized { list, url, status: 400, message })
            }
            r => r?,
        };
        let bad = |message: String| FetchError::Page { list: self.list.clone(), url: url.clone(), message };
        let answer: Value =
            serde_json::from_slice(&response.body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let token = answer
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("the login answer has no token".into()))?;
        self.token = Some(Header { name: "Authorization", value: format!("Bearer {token}") });
        Ok(())
    }

    fn url(&self) -> String {
        match &self.next {
            Some(next) => next.clone(),
            None => format!(
                "{}/api/hash-list/v2/all?order=asc&after={}",
                self.base,
                percent_encode(self.after.as_deref().unwrap_or(""))
            ),
        }
    }
}

impl Source for Tcap {
    fn describe(&self) -> String {
        format!("tcap {}", self.base)
    }

    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError> {
        if self.done {
            return Ok(None);
        }
        if self.token.is_none() {
            self.login(client)?;
        }
        let url = self.url();
        let token = self.token.clone().into_iter().collect::<Vec<_>>();
        let response = match client.get(&self.list, &url, &token) {
            // An expired token: one new login, then the same page.
            Err(FetchError::Unauthorized { status: 401, .. }) if !token.is_empty() => {
                self.login(client)?;
                let token = self.token.clone().into_iter().collect::<Vec<_>>();
                client.get(&self.list, &url, &token)?
            }
            r => r?,
        };
        let bad = |message: String| FetchError::Page { list: self.list.clone(), url: url.clone(), message };
        let page: Value =
            serde_json::from_slice(&response.body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Some(results) = page.get("results").and_then(Value::as_array) else {
            return Err(bad("no results array: not a TCAP hash list page".into()));
        };
        let checkpoint = match page.get("checkpoint") {
            Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
            None | Some(Value::Null) | Some(Value::String(_)) if results.is_empty() => None,
            _ => return Err(bad("a page with records has no checkpoint string".into())),
        };
        let next = match page.get("next") {
            None | Some(Value::Null) => None,
            Some(Value::String(n)) if same_origin(&self.base, n) => Some(n.clone()),
            Some(Value::String(n)) => {
                return Err(bad(format!("the next link {n:?} is not on the API's host")));
            }
            Some(other) => return Err(bad(format!("next is not a URL: {other}"))),
        };
        let bytes = serde_json::to_vec(results).map_err(|e| bad(e.to_string()))?;
        if let Some(c) = checkpoint {
            self.after = Some(c);
        }
        self.done = next.is_none();
        self.next = next;
        let after = match &self.after {
            Some(a) => json!({ "after": a }),
            None => Value::Null,
        };
        Ok(Some(Page { bytes, format: ListFormat::Json, label: LABEL.to_string(), after }))
    }
}

/// Whether `url` is on `base`'s scheme, host and port.
pub(crate) fn same_origin(base: &str, url: &str) -> bool {
    fn origin(u: &str) -> Option<&str> {
        let scheme_end = u.find("://")? + 3;
        let rest = &u[scheme_end..];
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Some(&u[..scheme_end + host_end])
    }
    match (origin(base), origin(url)) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && !b.contains('@'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn next_links_are_followed_only_on_the_base_origin() {
        let base = "https://app.example.org";
        assert!(same_origin(base, "https://app.example.org/api/hash-list/v2/all?offset=2"));
        assert!(same_origin("http://127.0.0.1:80", "http://127.0.0.1:80/x"));
        assert!(!same_origin(base, "https://app.example.org.evil.net/api"));
        assert!(!same_origin(base, "http://app.example.org/api"));
        assert!(!same_origin(base, "https://user@app.example.org/api"));
        assert!(!same_origin("http://127.0.0.1:80", "http://127.0.0.1:81/x"));
        assert!(!same_origin(base, "/api/hash-list"));
    }
}
