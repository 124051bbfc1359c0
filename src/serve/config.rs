//! The service's configuration: a TOML file, every option optional with a documented
//! default (`docs/serve.md` lists them all). Unknown keys are refused, so a typo is an
//! error at start, not a silently ignored setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::matcher::{Config as MatcherConfig, DEFAULT_PDQ_THRESHOLD, DEFAULT_PHASH_THRESHOLD};
use crate::significance::DEFAULT_MAX_EVALUE;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration (the message names the key).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of its range.
    #[error("{0}")]
    Invalid(String),
}

/// Everything `mediamatch serve` can be told. `Default` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on (`--listen` overrides it). Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// The index to serve (`--index` overrides it).
    pub index: Option<PathBuf>,
    /// Request limits and the hashing pool.
    pub limits: LimitsConfig,
    /// Picking up new index versions.
    pub reload: ReloadConfig,
    /// Bearer tokens.
    pub auth: AuthConfig,
    /// The audit trail.
    pub audit: AuditConfig,
    /// Match thresholds.
    pub matching: MatchingConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// Fetching media by URL (`GET /h/hash?url=`, `GET /m/lookup?url=`); off by default.
    pub url_fetch: UrlFetchConfig,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            index: None,
            limits: LimitsConfig::default(),
            reload: ReloadConfig::default(),
            auth: AuthConfig::default(),
            audit: AuditConfig::default(),
            matching: MatchingConfig::default(),
            metrics: MetricsConfig::default(),
            url_fetch: UrlFetchConfig::default(),
        }
    }
}

/// `[limits]`: what one request may cost, and how many may run.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body in bytes (larger: 413 without reading it). Default 32 MiB.
    pub max_body_bytes: u64,
    /// Largest image in pixels (width x height; larger: 413). Default 100 million.
    pub max_pixels: u64,
    /// Decode-time budget per upload in milliseconds (over it: 413). Default 5,000.
    pub decode_timeout_ms: u64,
    /// Whole-request time limit in milliseconds (over it: 503). Default 30,000.
    pub request_timeout_ms: u64,
    /// Requests handled at once; more are shed at once with 503 and `Retry-After`.
    /// Default 1,024.
    pub max_in_flight: usize,
    /// Threads hashing uploads at once (0: one per core). Default 0.
    pub hash_workers: usize,
    /// Uploads waiting for a hashing thread; more are shed with 503. Default 64.
    pub hash_queue: usize,
    /// Widest PDQ `max_distance` a `POST /v1/lookup` may ask for (wider: 400); at least
    /// `matching.pdq`, at most 256. Default 64.
    pub max_pdq_distance: u32,
    /// Widest pHash `max_distance` a `POST /v1/lookup` may ask for (wider: 400); at least
    /// `matching.phash`, at most 64. Default 16.
    pub max_phash_distance: u32,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_body_bytes: 32 << 20,
            max_pixels: 100_000_000,
            decode_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            max_in_flight: 1024,
            hash_workers: 0,
            hash_queue: 64,
            max_pdq_distance: 64,
            max_phash_distance: 16,
        }
    }
}

/// `[reload]`: when a new index version is picked up (besides SIGHUP and `POST /v1/reload`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReloadConfig {
    /// Seconds between checks of the index path for a new version (0: no polling).
    /// Default 30.
    pub poll_seconds: u64,
    /// Each wait is the interval times a random factor in [1 - jitter, 1 + jitter], so
    /// replicas do not all reload at once. Default 0.2.
    pub jitter: f64,
    /// `/status` answers 503 `INDEX-STALE` once a newer index on disk has failed to load
    /// for this many seconds. Default 300.
    pub stale_after_seconds: u64,
    /// Check every structure and the checksum of each index version before using it.
    /// Default true (about a second per million PDQ entries, on a blocking thread).
    pub verify: bool,
}

impl Default for ReloadConfig {
    fn default() -> ReloadConfig {
        ReloadConfig { poll_seconds: 30, jitter: 0.2, stale_after_seconds: 300, verify: true }
    }
}

/// `[auth]`: bearer tokens with scopes.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A file of tokens, one per line: `NAME SCOPES TOKEN` (scopes comma-separated from
    /// `match`, `hash`, `admin`). It must not be readable by group or others. Tokens in
    /// the environment variable `MEDIAMATCH_TOKENS` (same lines) are added.
    pub tokens_file: Option<PathBuf>,
    /// Serve without any token when none is configured, on any address. Without it, a
    /// server with no tokens listens on loopback addresses only.
    pub allow_anonymous: bool,
}

/// `[audit]`: the append-only record of checks.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The JSON Lines file records are appended to; no audit trail without it.
    pub file: Option<PathBuf>,
    /// Which checks get a record: every one, or only those that matched. Default `matches`.
    pub records: AuditRecords,
    /// When records reach the disk: `always` syncs each record before its answer is sent,
    /// `never` leaves it to the kernel (a crash may lose the last seconds). Default `always`.
    pub fsync: FsyncPolicy,
}

/// Which checks the audit trail records.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuditRecords {
    /// Every check (uploads and hash lookups).
    All,
    /// Only checks that matched something.
    #[default]
    Matches,
}

/// When audit records are synced to disk.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// `fdatasync` after each record, before the answer.
    #[default]
    Always,
    /// Written before the answer, synced by the kernel when it likes.
    Never,
}

/// `[matching]`: thresholds of the one matching rule.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    /// PDQ threshold (cap), of 256 bits. Default 31 (Meta's, and HMA's).
    pub pdq: u32,
    /// pHash threshold (cap), of 64 bits. Default 8.
    pub phash: u32,
    /// Largest E-value of a perceptual match in upload checks and `/v1` answers. Default 1e-6.
    pub max_evalue: f64,
    /// Query the 8 dihedral variants of uploads. Default true.
    pub dihedral: bool,
    /// Decode uploaded videos with `ffmpeg` (from memory, never from a file on disk): their
    /// frames, one a second, are checked against the photo entries, and their vPDQ against
    /// the `vpdq` entries. Default false: videos are matched by their digests only.
    pub video: bool,
}

impl Default for MatchingConfig {
    fn default() -> MatchingConfig {
        MatchingConfig {
            pdq: DEFAULT_PDQ_THRESHOLD,
            phash: DEFAULT_PHASH_THRESHOLD,
            max_evalue: DEFAULT_MAX_EVALUE,
            dihedral: true,
            video: false,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` without a token (for a scraper on a private network). Default
    /// false: it needs a token with the `admin` scope when tokens are configured.
    pub open: bool,
}

/// `[url_fetch]`: fetching media by URL for `GET /h/hash?url=` and `GET /m/lookup?url=`,
/// as HMA does. Off by default; when on, only hosts on the allowlist are fetched, over
/// HTTPS (plain HTTP to loopback addresses only), without redirects unless allowed, and a
/// host resolving to a private address is refused unless `allow_private` says otherwise.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UrlFetchConfig {
    /// Fetch media by URL at all. Default false: `?url=` answers 400.
    pub enabled: bool,
    /// The hosts that may be fetched from: exact names or IP addresses (`media.example.org`,
    /// `127.0.0.1`), or `*.example.org` for any name under `example.org` (not
    /// `example.org` itself). Compared without case. Default empty: nothing is allowed.
    pub allowed_hosts: Vec<String>,
    /// Largest body fetched, in bytes (by `Content-Length`, and while reading: over it,
    /// 413). `limits.max_body_bytes` caps it too. Default 32 MiB.
    pub max_bytes: u64,
    /// Time for a whole fetch in milliseconds, redirects and body included (over it: 502).
    /// Must be below `limits.request_timeout_ms`. Default 10,000.
    pub timeout_ms: u64,
    /// Time to connect in milliseconds. Default 5,000.
    pub connect_timeout_ms: u64,
    /// Redirects followed; each hop's URL is checked again as the first one was (scheme,
    /// allowlist, addresses). Default 0: a redirect answers 502.
    pub max_redirects: u32,
    /// Fetch from hosts that resolve to loopback, private (RFC 1918), link-local,
    /// shared (RFC 6598) or unique-local addresses. Default false: such a host is refused
    /// with 400, whatever the allowlist says (a defence against SSRF).
    pub allow_private: bool,
}

impl Default for UrlFetchConfig {
    fn default() -> UrlFetchConfig {
        UrlFetchConfig {
            enabled: false,
            allowed_hosts: Vec::new(),
            max_bytes: 32 << 20,
            timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
            max_redirects: 0,
            allow_private: false,
        }
    }
}

impl ServeConfig {
    /// Reads and checks a configuration file.
    pub fn read(path: &std::path::Path) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let config = ServeConfig::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path: path.into(), message },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses and checks the text of a configuration file.
    pub fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
        let config: ServeConfig = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: PathBuf::new(), message: e.to_string() })?;
        config.check()?;
        Ok(config)
    }

    /// Checks the ranges of the values.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        let l = &self.limits;
        if l.max_body_bytes == 0 || l.max_pixels == 0 || l.decode_timeout_ms == 0 || l.request_timeout_ms == 0
        {
            return bad("limits: max_body_bytes, max_pixels, decode_timeout_ms and request_timeout_ms must be above 0");
        }
        if usize::try_from(l.max_body_bytes).is_err() {
            return bad("limits.max_body_bytes is too large for this machine");
        }
        if l.max_in_flight == 0 {
            return bad("limits.max_in_flight must be above 0");
        }
        if l.max_pdq_distance > 256 || l.max_phash_distance > 64 {
            return bad("limits: max_pdq_distance must be at most 256 and max_phash_distance at most 64");
        }
        if self.matching.pdq > l.max_pdq_distance || self.matching.phash > l.max_phash_distance {
            return bad(
                "limits.max_pdq_distance and max_phash_distance must be at least matching.pdq and matching.phash",
            );
        }
        if !(0.0..1.0).contains(&self.reload.jitter) {
            return bad("reload.jitter must be in [0, 1)");
        }
        if self.matching.pdq > 256 || self.matching.phash > 64 {
            return bad("matching: pdq is at most 256 and phash at most 64");
        }
        let f = &self.url_fetch;
        if f.max_bytes == 0 || f.timeout_ms == 0 || f.connect_timeout_ms == 0 {
            return bad("url_fetch: max_bytes, timeout_ms and connect_timeout_ms must be above 0");
        }
        if f.enabled && f.timeout_ms >= l.request_timeout_ms {
            return bad("url_fetch.timeout_ms must be below limits.request_timeout_ms");
        }
        if f.max_redirects > 20 {
            return bad("url_fetch.max_redirects is at most 20");
        }
        for host in &f.allowed_hosts {
            if let Err(why) = super::remote::check_pattern(host) {
                return Err(ConfigError::Invalid(format!("url_fetch.allowed_hosts: {host:?}: {why}")));
            }
        }
        if self.matching.max_evalue.is_nan() || self.matching.max_evalue < 0.0 {
            return bad("matching.max_evalue must be a number >= 0 (inf turns the test off)");
        }
        Ok(())
    }

    /// The matcher configuration these settings give (the library defaults otherwise).
    pub fn matcher_config(&self) -> MatcherConfig {
        let mut m = MatcherConfig::default();
        m.thresholds.pdq = self.matching.pdq;
        m.thresholds.phash = self.matching.phash;
        m.max_evalue = self.matching.max_evalue;
        m.dihedral = self.matching.dihedral;
        m.max_bytes = self.limits.max_body_bytes;
        m.limits.max_pixels = self.limits.max_pixels;
        m.limits.max_time = Duration::from_millis(self.limits.decode_timeout_ms);
        m.verify_on_load = self.reload.verify;
        if self.matching.video {
            m.video = Some(crate::video::FrameSampling::default());
        }
        m
    }

    /// The hashing threads: the configured number, or one per core.
    pub fn hash_workers(&self) -> usize {
        match self.limits.hash_workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_and_typos_are_refused() {
        assert_eq!(ServeConfig::parse("").unwrap(), ServeConfig::default());
        let c = ServeConfig::parse("listen = \"127.0.0.1:9000\"\n[limits]\nmax_in_flight = 8\n").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.limits.max_in_flight, 8);
        let e = ServeConfig::parse("[limits]\nmax_inflight = 8\n").unwrap_err().to_string();
        assert!(e.contains("max_inflight"), "{e}");
        assert!(ServeConfig::parse("[reload]\njitter = 1.5\n").is_err());
        assert!(ServeConfig::parse("[audit]\nrecords = \"some\"\n").is_err());
        assert!(ServeConfig::parse("[limits]\nmax_pdq_distance = 257\n").is_err());
        assert!(ServeConfig::parse("[limits]\nmax_phash_distance = 4\n").is_err(), "below matching.phash");
        assert!(ServeConfig::parse("[limits]\nmax_pdq_distance = 256\nmax_phash_distance = 64\n").is_ok());
        assert!(!ServeConfig::default().url_fetch.enabled, "url fetching is off by default");
        let c = ServeConfig::parse(
            "[url_fetch]\nenabled = true\nallowed_hosts = [\"media.example.org\", \"*.cdn.example\"]\n",
        )
        .unwrap();
        assert_eq!(c.url_fetch.allowed_hosts.len(), 2);
        for bad in ["*", "*.", "https://x.example", "a/b", "", "user@host"] {
            let text = format!("[url_fetch]\nallowed_hosts = [{bad:?}]\n");
            assert!(ServeConfig::parse(&text).is_err(), "{bad}");
        }
        assert!(ServeConfig::parse("[url_fetch]\nenabled = true\ntimeout_ms = 30000\n").is_err());
    }

    #[test]
    fn the_documented_file_is_the_defaults() {
        let doc = include_str!("../../docs/serve.md");
        let start = doc.find("```toml\nlisten =").expect("the configuration block") + "```toml\n".len();
        let block = &doc[start..start + doc[start..].find("```").expect("its end")];
        assert_eq!(ServeConfig::parse(block).unwrap(), ServeConfig::default());
    }
}
