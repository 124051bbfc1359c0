//! The fetchers' HTTP client: GET with timeouts, a size cap on every body, and retries
//! with exponential backoff and jitter on 429, 5xx and dropped connections (honouring
//! `Retry-After`). TLS is rustls; proxies come from the environment (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`).
//!
//! Credentials travel in headers ([`Header`]) or a login form ([`Client::post_form`]),
//! except the Graph API's app token, which the API takes as the `access_token` query
//! parameter; errors never contain any of them: an error names the list, the URL with
//! secret parameters hidden ([`redact`]) and the status.

use std::io::Read;
use std::time::Duration;

use super::FetchError;

/// Limits and retry policy of the client.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub timeout: Duration,
    /// The most bytes one response body may have; a larger one fails the page.
    pub max_page_bytes: u64,
    /// Attempts after the first on 429, 5xx and transport errors.
    pub retries: u32,
    /// The first backoff; each retry doubles it (with jitter of up to half again).
    pub backoff: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_page_bytes: 256 << 20,
            retries: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(120),
        }
    }
}

/// A request header; `secret` ones are never shown.
#[derive(Clone)]
pub struct Header {
    /// The header name.
    pub name: &'static str,
    /// The value.
    pub value: String,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: (hidden)", self.name)
    }
}

/// A response: its status (200 or 304) and body.
#[derive(Debug)]
pub struct Response {
    /// 200, or 304 for a conditional request whose resource did not change.
    pub status: u16,
    /// The body (empty for 304).
    pub body: Vec<u8>,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` header, if any.
    pub last_modified: Option<String>,
}

/// The client: one connection pool for a fetch run.
pub struct Client {
    agent: ureq::Agent,
    options: HttpOptions,
    /// Counts attempts that were retried (for the report).
    retried: std::cell::Cell<u64>,
}

impl Client {
    /// A client with `options`; proxies are taken from the environment.
    pub fn new(options: HttpOptions) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(options.connect_timeout)
            .timeout(options.timeout)
            .try_proxy_from_env(true)
            .redirects(0)
            .user_agent(concat!("mediamatch/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent, options, retried: std::cell::Cell::new(0) }
    }

    /// The options in use.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// Attempts retried so far.
    pub fn retried(&self) -> u64 {
        self.retried.get()
    }

    /// GETs `url` with `headers`, retrying as the options say. 200 and 304 are answers;
    /// 401/403 are [`FetchError::Unauthorized`], other statuses [`FetchError::Status`].
    pub fn get(&self, list: &str, url: &str, headers: &[Header]) -> Result<Response, FetchError> {
        self.send(list, url, headers, None)
    }

    /// POSTs `form` as `application/x-www-form-urlencoded` to `url` (a login), with the
    /// same limits and retries as [`Client::get`]. The form's values are secrets: no error
    /// holds them.
    pub fn post_form(
        &self,
        list: &str,
        url: &str,
        headers: &[Header],
        form: &[(&str, &str)],
    ) -> Result<Response, FetchError> {
        self.send(list, url, headers, Some(form))
    }

    fn send(
        &self,
        list: &str,
        url: &str,
        headers: &[Header],
        form: Option<&[(&str, &str)]>,
    ) -> Result<Response, FetchError> {
        let shown = redact(url);
        let mut attempt = 0;
        loop {
            let outcome = self.attempt(list, url, &shown, headers, form);
            let wait = match &outcome {
                Err(Attempt::Retry { after, .. }) if attempt < self.options.retries => {
                    let backoff = self.backoff(attempt);
                    after.map_or(backoff, |a| a.max(backoff)).min(self.options.max_backoff)
                }
                _ => Duration::ZERO,
            };
            match outcome {
                Ok(r) => return Ok(r),
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry { error, .. }) if attempt >= self.options.retries => {
                    return Err(FetchError::GaveUp {
                        list: list.to_string(),
                        url: shown.clone(),
                        attempts: attempt + 1,
                        last: error,
                    })
                }
                Err(Attempt::Retry { .. }) => {
                    self.retried.set(self.retried.get() + 1);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.options.backoff.saturating_mul(1u32 << attempt.min(16));
        base + base.mul_f64(jitter() * 0.5)
    }

    fn attempt(
        &self,
        list: &str,
        url: &str,
        shown: &str,
        headers: &[Header],
        form: Option<&[(&str, &str)]>,
    ) -> Result<Response, Attempt> {
        let mut request = match form {
            Some(_) => self.agent.post(url),
            None => self.agent.get(url),
        };
        for h in headers {
            request = request.set(h.name, &h.value);
        }
        let result = match form {
            Some(form) => request.send_form(form),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(status, r)) => {
                let retry_after = r.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                let excerpt = excerpt(r);
                return Err(match status {
                    401 | 403 => Attempt::Fail(FetchError::Unauthorized {
                        list: list.to_string(),
                        url: shown.to_string(),
                        status,
                        message: excerpt,
                    }),
                    429 | 500..=599 => Attempt::Retry {
                        error: format!("HTTP {status}: {excerpt}"),
                        after: retry_after.map(Duration::from_secs),
                    },
                    _ => Attempt::Fail(FetchError::Status {
                        list: list.to_string(),
                        url: shown.to_string(),
                        status,
                        message: excerpt,
                    }),
                });
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(Attempt::Retry { error: transport_message(&t), after: None })
            }
        };
        let status = response.status();
        let etag = response.header("etag").map(str::to_string);
        let last_modified = response.header("last-modified").map(str::to_string);
        if status == 304 {
            return Ok(Response { status, body: Vec::new(), etag, last_modified });
        }
        if status != 200 {
            return Err(Attempt::Fail(FetchError::Status {
                list: list.to_string(),
                url: shown.to_string(),
                status,
                message: "expected 200".into(),
            }));
        }
        let cap = self.options.max_page_bytes;
        if let Some(len) = response.header("content-length").and_then(|v| v.parse::<u64>().ok()) {
            if len > cap {
                return Err(Attempt::Fail(FetchError::TooLarge {
                    list: list.into(),
                    url: shown.into(),
                    limit: cap,
                }));
            }
        }
        let mut body = Vec::new();
        match response.into_reader().take(cap + 1).read_to_end(&mut body) {
            Ok(_) if body.len() as u64 > cap => {
                Err(Attempt::Fail(FetchError::TooLarge { list: list.into(), url: shown.into(), limit: cap }))
            }
            Ok(_) => Ok(Response { status, body, etag, last_modified }),
            // A connection dropped mid-body: the page is incomplete, ask again.
            Err(e) => Err(Attempt::Retry { error: format!("reading the body: {e}"), after: None }),
        }
    }
}

enum Attempt {
    Retry { error: String, after: Option<Duration> },
    Fail(FetchError),
}

/// The first 200 characters of an error response's body, on one line.
fn excerpt(r: ureq::Response) -> String {
    let mut bytes = Vec::new();
    let _ = r.into_reader().take(4096).read_to_end(&mut bytes);
    let text: String = String::from_utf8_lossy(&bytes).split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

fn transport_message(t: &ureq::Transport) -> String {
    // ureq's message names the URL, which holds no secret; its kind and message suffice.
    match t.message() {
        Some(m) => format!("{}: {m}", t.kind()),
        None => t.kind().to_string(),
    }
}

/// Query parameters whose values are secrets (the Graph API's app token travels as
/// `access_token`, as python-threatexchange sends it).
const SECRET_PARAMS: &[&str] = &["access_token"];

/// `url` with the values of secret query parameters (`access_token`) replaced by
/// `(hidden)`: how errors and reports name a URL.
///
/// ```
/// use mediamatch::fetch::http::redact;
/// assert_eq!(
///     redact("https://graph.example/1/threat_updates/?limit=5&access_token=12|ab&after=x"),
///     "https://graph.example/1/threat_updates/?limit=5&access_token=(hidden)&after=x"
/// );
/// ```
pub fn redact(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else { return url.to_string() };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.contains(&k) => format!("{k}=(hidden)"),
            _ => p.to_string(),
        })
        .collect();
    let mut out = format!("{path}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A number in [0, 1) that differs between calls (backoff jitter; `fetch --every`'s too).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether `url` may carry credentials: `https`, or `http` to a loopback host (tests and
/// local mirrors).
pub fn secure_enough(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::secure_enough;

    #[test]
    fn credentials_go_over_tls_or_loopback_only() {
        assert!(secure_enough("https://report.cybertip.org/hashsharing"));
        assert!(secure_enough("http://127.0.0.1:8080/v2"));
        assert!(secure_enough("http://[::1]:80/x"));
        assert!(secure_enough("http://localhost/x"));
        assert!(!secure_enough("http://example.org/x"));
        assert!(!secure_enough("http://127.0.0.1.example.org/x"));
        assert!(!secure_enough("ftp://127.0.0.1/x"));
    }
}
