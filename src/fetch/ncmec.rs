//! NCMEC's hash-sharing API v2: `GET {base}/v2/entries?from=..&to=..` with HTTP basic
//! authentication, answered by `queryResult` XML pages that link the next page with a
//! path (`<paging><next>/v2/entries?...&start=2001...</next></paging>`).
//!
//! The API does not return entries in time order, so a time window counts as fetched
//! only once its last page is applied. The checkpoint is `{"from": T}` between windows
//! (the next window is T to now) and `{"from": T, "to": U, "next": PATH}` inside one.
//! `next` links expire: a link answered with a 4xx other than 401/403/429 restarts the
//! window from its first page (pages applied twice change nothing).

use serde_json::{json, Value};

use super::http::{Client, Header};
use super::secret::Credentials;
use super::source::{percent_encode, str_field, u64_field, Page, Source};
use super::FetchError;
use crate::lists::ListFormat;

/// How pages are named in the list's provenance. The same for every page, so that two
/// runs that applied the same pages (one of them interrupted and resumed) write the same
/// index; the checkpoint file says where each run stopped.
pub const LABEL: &str = "ncmec hash-sharing API";

/// The NCMEC source of one list.
pub struct Ncmec {
    list: String,
    base: String,
    authorization: Header,
    from: u64,
    to: u64,
    next: Option<String>,
    restarted: bool,
    done: bool,
}

impl Ncmec {
    /// Positioned at `checkpoint` (`null`: at `start`), with windows ending at `now`.
    pub fn new(
        list: &str,
        base: String,
        credentials: &Credentials,
        start: u64,
        checkpoint: &Value,
        now: u64,
    ) -> Result<Ncmec, FetchError> {
        let user = credentials.get("username")?.expose();
        let password = credentials.get("password")?.expose();
        let authorization = Header {
            name: "Authorization",
            value: format!("Basic {}", crate::base64::encode(format!("{user}:{password}").as_bytes())),
        };
        let from = u64_field(list, checkpoint, "from")?.unwrap_or(start);
        let (to, next) = match (u64_field(list, checkpoint, "to")?, str_field(list, checkpoint, "next")?) {
            (Some(to), Some(next)) => (to, Some(next)),
            _ => (now.max(from), None),
        };
        Ok(Ncmec {
            list: list.to_string(),
            base,
            authorization,
            from,
            to,
            next,
            restarted: false,
            done: false,
        })
    }

    fn first_url(&self) -> String {
        let f = |t: u64| percent_encode(&crate::timestamp::rfc3339_seconds(t));
        format!("{}/v2/entries?from={}&to={}", self.base, f(self.from), f(self.to))
    }
}

impl Source for Ncmec {
    fn describe(&self) -> String {
        format!("ncmec {}", self.base)
    }

    fn next_page(&mut self, client: &Client) -> Result<Option<Page>, FetchError> {
        if self.done {
            return Ok(None);
        }
        let url = match &self.next {
            Some(path) => format!("{}{path}", self.base),
            None => self.first_url(),
        };
        let response = match client.get(&self.list, &url, std::slice::from_ref(&self.authorization)) {
            Err(FetchError::Status { status, .. })
                if self.next.is_some() && !self.restarted && status < 500 =>
            {
                // An expired `next` link: the window again from its start.
                self.restarted = true;
                self.next = None;
                return self.next_page(client);
            }
            r => r?,
        };
        let next = next_link(&response.body).map_err(|message| FetchError::Page {
            list: self.list.clone(),
            url: url.clone(),
            message,
        })?;
        if let Some(n) = &next {
            if !n.starts_with('/') || n.starts_with("//") {
                return Err(FetchError::Page {
                    list: self.list.clone(),
                    url,
                    message: format!("the next link {n:?} is not a path on the API's host"),
                });
            }
        }
        let after = match &next {
            Some(n) => json!({ "from": self.from, "to": self.to, "next": n }),
            None => {
                self.done = true;
                json!({ "from": self.to })
            }
        };
        self.next = next;
        Ok(Some(Page { bytes: response.body, format: ListFormat::Ncmec, label: LABEL.to_string(), after }))
    }
}

/// The `<paging><next>` path of a page (`None` on the last page); an error if the page
/// is not a `queryResult` document.
fn next_link(body: &[u8]) -> Result<Option<String>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the page is not UTF-8".to_string())?;
    if crate::lists::ncmec::too_deep(body, crate::lists::ncmec::MAX_DEPTH).is_some() {
        return Err("elements nested too deep; not an NCMEC page".into());
    }
    let options = roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "queryResult" {
        return Err(format!("expected a queryResult page, found <{}>", root.tag_name().name()));
    }
    let next = root
        .children()
        .filter(|n| n.tag_name().name() == "paging")
        .flat_map(|p| p.children())
        .find(|n| n.tag_name().name() == "next")
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn next_links_are_read_from_paging() {
        let page = br#"<queryResult xmlns="x"><images/><paging><next>/v2/entries?start=2&amp;size=1</next></paging></queryResult>"#;
        assert_eq!(next_link(page).unwrap().as_deref(), Some("/v2/entries?start=2&size=1"));
        assert_eq!(next_link(b"<queryResult/>").unwrap(), None);
        assert!(next_link(b"<html><body>login</body></html>").unwrap_err().contains("queryResult"));
        assert!(next_link(b"<queryResult>").unwrap_err().contains("not XML"));
    }
}
