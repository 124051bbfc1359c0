//! Fetching media by URL for `GET /h/hash?url=` and `GET /m/lookup?url=` (`[url_fetch]`,
//! off by default).
//!
//! Every URL, the first and each redirect's, is checked before anything is sent: an
//! absolute `https` URL (plain `http` only to a loopback address), no credentials in it,
//! a host on the allowlist, and addresses that are not loopback, private, link-local,
//! shared or unique-local unless `allow_private` is set. The request then connects to
//! exactly the addresses that were checked (a resolver pinned to them), so a name that
//! resolves differently a second time cannot reach another address. No proxy, no
//! cookies, no `Authorization`, no compressed bodies; the body is capped by its
//! `Content-Length` and while it is read, held in memory only, and never logged. Errors
//! name the host, never the whole URL (its query may carry a token).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::config::UrlFetchConfig;
use super::metrics::FetchOutcome;

/// Media fetched from a URL.
pub(crate) struct Fetched {
    /// The body.
    pub bytes: Vec<u8>,
    /// The answer's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The host of the URL asked for (for the audit trail).
    pub host: String,
}

/// Why a URL was not fetched: the outcome counted, and a message naming the host.
#[derive(Debug)]
pub(crate) struct FetchFailure {
    pub outcome: FetchOutcome,
    pub message: String,
}

impl FetchFailure {
    fn new(outcome: FetchOutcome, message: impl Into<String>) -> FetchFailure {
        FetchFailure { outcome, message: message.into() }
    }

    /// The answer's status: 400 for a URL refused, 413 over the cap, 502 when the remote failed.
    pub fn status(&self) -> StatusCode {
        match self.outcome {
            FetchOutcome::Refused => StatusCode::BAD_REQUEST,
            FetchOutcome::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// The native error code.
    pub fn code(&self) -> &'static str {
        match self.outcome {
            FetchOutcome::Refused => "url_refused",
            FetchOutcome::TooLarge => "too_large",
            _ => "fetch_failed",
        }
    }
}

/// The fetcher: the configuration and an agent used only to parse URLs the way the
/// requests will read them.
pub(crate) struct Fetcher {
    config: UrlFetchConfig,
    cap: u64,
    parser: ureq::Agent,
}

/// A URL that passed every check, with the addresses to connect to.
struct Target {
    url: String,
    host: String,
    addrs: Vec<SocketAddr>,
}

impl Fetcher {
    /// A fetcher for `config`; bodies are capped at `max_bytes` and at `max_body` (the
    /// upload limit) both.
    pub fn new(config: &UrlFetchConfig, max_body: u64) -> Fetcher {
        let parser = ureq::AgentBuilder::new().try_proxy_from_env(false).redirects(0).build();
        Fetcher { config: config.clone(), cap: config.max_bytes.min(max_body), parser }
    }

    /// Fetches `url` (blocking: run it on the blocking pool), following redirects only as
    /// configured, each hop checked again.
    pub fn fetch(&self, url: &str) -> Result<Fetched, FetchFailure> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(self.config.timeout_ms);
        let mut current = url.to_string();
        let mut first_host: Option<String> = None;
        let mut hop = 0;
        loop {
            let target = self.check(&current)?;
            let host = target.host.clone();
            first_host.get_or_insert_with(|| host.clone());
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(timed_out(&host));
            }
            let connect = Duration::from_millis(self.config.connect_timeout_ms).min(remaining);
            let addrs = target.addrs.clone();
            let agent = ureq::AgentBuilder::new()
                .try_proxy_from_env(false)
                .redirects(0)
                .timeout_connect(connect)
                .timeout(remaining)
                .user_agent(concat!("mediamatch/", env!("CARGO_PKG_VERSION")))
                // Connect to the addresses checked, whatever the name resolves to now.
                .resolver(move |_: &str| Ok(addrs.clone()))
                .build();
            let response = match agent.get(&target.url).call() {
                Ok(r) => r,
                Err(ureq::Error::Status(status, _)) => {
                    return Err(FetchFailure::new(
                        FetchOutcome::Status,
                        format!("fetching the media from {host} failed: it answered {status}"),
                    ))
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(transport_failure(&host, &t, Instant::now() >= deadline))
                }
            };
            let status = response.status();
            if (300..400).contains(&status) {
                let Some(location) = response.header("location") else {
                    return Err(FetchFailure::new(
                        FetchOutcome::Status,
                        format!(
                            "fetching the media from {host} failed: it answered {status} without a Location"
                        ),
                    ));
                };
                if hop >= self.config.max_redirects {
                    let why = if self.config.max_redirects == 0 {
                        "redirects are not followed (url_fetch.max_redirects)".to_string()
                    } else {
                        format!("more than {} redirects", self.config.max_redirects)
                    };
                    return Err(FetchFailure::new(
                        FetchOutcome::Status,
                        format!("fetching the media from {host} failed: it answered a redirect ({status}) and {why}"),
                    ));
                }
                let base = self.parser.get(&target.url).request_url().map_err(|_| {
                    FetchFailure::new(
                        FetchOutcome::Refused,
                        format!("the redirect from {host} is not a valid URL"),
                    )
                })?;
                let next = base.as_url().join(location).map_err(|_| {
                    FetchFailure::new(
                        FetchOutcome::Refused,
                        format!("the redirect from {host} is not a valid URL"),
                    )
                })?;
                current = next.to_string();
                hop += 1;
                continue;
            }
            if status != 200 {
                return Err(FetchFailure::new(
                    FetchOutcome::Status,
                    format!("fetching the media from {host} failed: it answered {status}, not 200"),
                ));
            }
            let cap = self.cap;
            let too_large = || {
                FetchFailure::new(
                    FetchOutcome::TooLarge,
                    format!("the media at {host} is over the size limit of {cap} bytes"),
                )
            };
            if response
                .header("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .is_some_and(|n| n > cap)
            {
                return Err(too_large());
            }
            let content_type = response.header("content-type").map(str::to_string);
            let mut bytes = Vec::new();
            let read = response.into_reader().take(cap + 1).read_to_end(&mut bytes);
            if let Err(e) = read {
                drop(bytes);
                let timeout =
                    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
                        || Instant::now() >= deadline;
                if timeout {
                    return Err(timed_out(&host));
                }
                return Err(FetchFailure::new(
                    FetchOutcome::Unreachable,
                    format!("fetching the media from {host} failed: the connection broke while reading the body ({})", e.kind()),
                ));
            }
            if bytes.len() as u64 > cap {
                return Err(too_large());
            }
            let host = first_host.unwrap_or(host);
            return Ok(Fetched { bytes, content_type, host });
        }
    }

    /// Checks one URL (the first or a redirect's) and resolves its host.
    fn check(&self, url: &str) -> Result<Target, FetchFailure> {
        let refused = |m: String| FetchFailure::new(FetchOutcome::Refused, m);
        let parsed = self
            .parser
            .get(url)
            .request_url()
            .map_err(|_| refused("the url is not a valid absolute http(s) URL".into()))?;
        let u = parsed.as_url();
        let scheme = u.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(refused(format!("the url's scheme must be https, not {scheme:?}")));
        }
        let Some(host) = u.host_str().filter(|h| !h.is_empty()) else {
            return Err(refused("the url has no host".into()));
        };
        let host = host.to_ascii_lowercase();
        if !u.username().is_empty() || u.password().is_some() {
            return Err(refused(format!(
                "the url for {host} carries credentials (user:password@), which are never sent; remove them"
            )));
        }
        let bare = bare_host(&host);
        let literal: Option<IpAddr> = bare.parse().ok();
        if scheme == "http" && !(bare == "localhost" || literal.is_some_and(is_loopback)) {
            return Err(refused(format!(
                "{host}: only https URLs are fetched (plain http only to a loopback address)"
            )));
        }
        if !self.config.allowed_hosts.iter().any(|p| host_matches(p, bare)) {
            return Err(refused(format!("the host {host} is not on this server's url_fetch.allowed_hosts")));
        }
        let port = u.port_or_known_default().unwrap_or(443);
        let resolved: Vec<SocketAddr> = match literal {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => (bare, port).to_socket_addrs().map(Iterator::collect).map_err(|_| {
                FetchFailure::new(
                    FetchOutcome::Unreachable,
                    format!("fetching the media from {host} failed: the name does not resolve"),
                )
            })?,
        };
        let mut addrs = Vec::new();
        let mut refused_ip = None;
        for a in resolved {
            let ip = a.ip();
            let ok = !never_fetched(ip)
                && (self.config.allow_private || !non_public(ip))
                && (scheme == "https" || is_loopback(ip));
            if ok {
                addrs.push(a);
            } else {
                refused_ip.get_or_insert(ip);
            }
        }
        if addrs.is_empty() {
            return Err(match refused_ip {
                Some(ip) => refused(format!(
                    "the host {host} resolves to {ip}, a loopback, private or otherwise non-public \
                     address, which is not fetched from (url_fetch.allow_private)"
                )),
                None => FetchFailure::new(
                    FetchOutcome::Unreachable,
                    format!("fetching the media from {host} failed: the name has no address"),
                ),
            });
        }
        Ok(Target { url: u.as_str().to_string(), host, addrs })
    }
}

fn timed_out(host: &str) -> FetchFailure {
    FetchFailure::new(FetchOutcome::Timeout, format!("fetching the media from {host} failed: it timed out"))
}

fn transport_failure(host: &str, t: &ureq::Transport, past_deadline: bool) -> FetchFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    let mut io_kind = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
            break;
        }
        source = e.source();
    }
    let timeout = past_deadline
        || matches!(io_kind, Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock));
    if timeout {
        return timed_out(host);
    }
    let why = match (t.kind(), io_kind) {
        (_, Some(kind)) => kind.to_string(),
        (kind, None) => kind.to_string(),
    };
    FetchFailure::new(FetchOutcome::Unreachable, format!("fetching the media from {host} failed: {why}"))
}

/// A host without the brackets of an IPv6 literal or a final dot.
fn bare_host(host: &str) -> &str {
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    h.strip_suffix('.').unwrap_or(h)
}

/// Whether `host` (lower case, bare) is allowed by the pattern `pattern`.
fn host_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let pattern = bare_host(&pattern);
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return host.len() > suffix.len() + 1
            && host.ends_with(suffix)
            && host.as_bytes()[host.len() - suffix.len() - 1] == b'.';
    }
    match (pattern.parse::<IpAddr>(), host.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => pattern == host,
    }
}

/// Checks an `allowed_hosts` entry: a host name, an IP address, or `*.suffix`.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    let p = pattern.trim();
    let name = p.strip_prefix("*.").unwrap_or(p);
    if name.is_empty() {
        return Err("empty (a host, or *.suffix)");
    }
    if name.contains("://") {
        return Err("a host without a scheme");
    }
    if name.contains(['*', '/', '@', '?', '#', ' ', '\t']) {
        return Err("a host name or address, or *.suffix, nothing else");
    }
    let bare = bare_host(name);
    if bare.contains(':') && bare.parse::<Ipv6Addr>().is_err() {
        return Err("a host without a port");
    }
    Ok(())
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Addresses never fetched from, `allow_private` or not: unspecified, multicast, broadcast.
fn never_fetched(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => never_fetched(IpAddr::V4(v4)),
            None => v6.is_unspecified() || v6.is_multicast(),
        },
    }
}

/// Loopback, private, link-local, shared, unique-local and other non-public addresses
/// (IPv4 ones embedded in IPv6 included).
fn non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded =
                |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            v6.is_loopback()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                // IPv4-compatible ::a.b.c.d (deprecated)
                || (s[..6] == [0; 6] && non_public_v4(embedded(s[6], s[7])))
                // NAT64 64:ff9b::/96
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && non_public_v4(embedded(s[6], s[7])))
                // 6to4 2002::/16
                || (s[0] == 0x2002 && non_public_v4(embedded(s[1], s[2])))
        }
    }
}

fn non_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved 240.0.0.0/4 and broadcast
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(hosts: &[&str], allow_private: bool) -> Fetcher {
        let config = UrlFetchConfig {
            enabled: true,
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            allow_private,
            ..UrlFetchConfig::default()
        };
        Fetcher::new(&config, 32 << 20)
    }

    #[test]
    fn patterns_match_exact_hosts_and_subdomains_only() {
        assert!(host_matches("media.example.org", "media.example.org"));
        assert!(host_matches("MEDIA.example.org.", "media.example.org"));
        assert!(!host_matches("media.example.org", "evil-media.example.org"));
        assert!(host_matches("*.example.org", "a.b.example.org"));
        assert!(!host_matches("*.example.org", "example.org"));
        assert!(!host_matches("*.example.org", "badexample.org"));
        assert!(host_matches("[::1]", "::1"));
        assert!(host_matches("0:0::1", "::1"));
        assert!(check_pattern("*.example.org").is_ok() && check_pattern("::1").is_ok());
        for bad in ["*", "*.", "", "https://a", "a/b", "a:8080", "u@a", "*.*.a"] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_and_odd_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.1.2.3",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!non_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1", "::ffff:0.0.0.0"] {
            assert!(never_fetched(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let f = fetcher(&["127.0.0.1", "localhost", "media.example.org", "10.0.0.7"], false);
        let refused = |f: &Fetcher, url: &str| {
            let e = f.check(url).err().unwrap_or_else(|| panic!("{url} was accepted"));
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{url}: {}", e.message);
            e.message
        };
        assert!(refused(&f, "not a url").contains("not a valid"));
        assert!(refused(&f, "ftp://media.example.org/x").contains("scheme"));
        assert!(refused(&f, "http://media.example.org/x").contains("only https"));
        let m = refused(&f, "https://alice:hunter2@media.example.org/x");
        assert!(m.contains("media.example.org") && !m.contains("hunter2") && !m.contains("alice"), "{m}");
        assert!(refused(&f, "https://other.example.org/x").contains("other.example.org"));
        assert!(refused(&f, "http://127.0.0.1:9/x").contains("127.0.0.1"));
        assert!(refused(&f, "https://10.0.0.7/x").contains("10.0.0.7"));
        // Other spellings of a loopback address are the same address.
        assert!(refused(&f, "http://0x7f.0.0.1:9/x").contains("127.0.0.1"));
        let f = fetcher(&["127.0.0.1", "10.0.0.7"], true);
        assert!(f.check("http://127.0.0.1:9/x").is_ok());
        assert!(refused(&f, "http://10.0.0.7/x").contains("only https"));
        assert!(f.check("https://10.0.0.7/x").is_ok());
        let f = fetcher(&["0.0.0.0"], true);
        assert!(refused(&f, "https://0.0.0.0/x").contains("0.0.0.0"));
        let f = fetcher(&[], true);
        assert!(refused(&f, "http://127.0.0.1:9/x").contains("allowed_hosts"));
    }
}
