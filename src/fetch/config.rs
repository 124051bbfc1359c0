//! The fetch configuration file (TOML): HTTP limits, batching, and one table per list.
//!
//! ```toml
//! [http]                      # every key optional; the defaults shown
//! timeout_seconds = 120       # one request, body included
//! connect_timeout_seconds = 10
//! retries = 5                 # on 429, 5xx, dropped connections
//! backoff_ms = 500            # doubled per retry, plus up to half again of jitter
//! max_backoff_seconds = 120   # the longest wait, Retry-After included
//! max_page_bytes = 268435456  # one response body
//!
//! [batch]
//! records = 5000              # a new index version at least every this many records
//! max_total_bytes = 4294967296  # the most bytes one fetch of one list may download
//!
//! [lists.ncmec]
//! source = "ncmec"
//! environment = "industry"    # or ngo, exploitative, test_industry, test_ngo, test_exploitative
//! # base_url = "https://..."  # instead of environment
//! start = 0                   # Unix seconds: where the first fetch starts
//! credentials_file = "/etc/mediamatch/ncmec.credentials"  # username, password
//!
//! [lists.stopncii]
//! source = "stopncii"
//! base_url = "https://api.stopncii.org/v1"   # the default
//! page_size = 800
//! credentials_file = "/etc/mediamatch/stopncii.credentials"  # subscription_key, fetch_function_key
//!
//! [lists.tcap]
//! source = "tcap"
//! base_url = "https://app.terrorismanalytics.org"   # the default
//! credentials_file = "/etc/mediamatch/tcap.credentials"  # username, password
//!
//! [lists.te]
//! source = "threatexchange"
//! privacy_group = 1012345678901234
//! base_url = "https://graph.facebook.com/v21.0"     # the default
//! page_size = 500
//! start = 0                   # Unix seconds: where the first fetch starts (default: all)
//! max_shrink = 50             # percent: a full refetch removing more is refused
//! credentials_file = "/etc/mediamatch/te.credentials"  # app_token = APP_ID|SECRET
//!
//! [lists.local]
//! source = "url"              # or "file" with path = "..."
//! url = "https://lists.example.org/known.csv"
//! format = "auto"             # any import format
//! kind = "md5"                # for values written without one
//! max_shrink = 50             # percent: a snapshot removing more is refused
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::http::HttpOptions;
use super::FetchError;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchConfig {
    /// HTTP limits.
    #[serde(default)]
    pub http: HttpConfig,
    /// Batching.
    #[serde(default)]
    pub batch: BatchConfig,
    /// The lists, by name.
    #[serde(default)]
    pub lists: BTreeMap<String, ListConfig>,
}

/// `[http]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds for one request, body included.
    pub timeout_seconds: u64,
    /// Seconds to connect.
    pub connect_timeout_seconds: u64,
    /// Attempts after the first on 429, 5xx and dropped connections.
    pub retries: u32,
    /// The first backoff in milliseconds.
    pub backoff_ms: u64,
    /// The longest wait between attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// The most bytes of one response body.
    pub max_page_bytes: u64,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        let d = HttpOptions::default();
        HttpConfig {
            timeout_seconds: d.timeout.as_secs(),
            connect_timeout_seconds: d.connect_timeout.as_secs(),
            retries: d.retries,
            backoff_ms: d.backoff.as_millis() as u64,
            max_backoff_seconds: d.max_backoff.as_secs(),
            max_page_bytes: d.max_page_bytes,
        }
    }
}

impl HttpConfig {
    /// As client options.
    pub fn options(&self) -> HttpOptions {
        HttpOptions {
            connect_timeout: Duration::from_secs(self.connect_timeout_seconds.max(1)),
            timeout: Duration::from_secs(self.timeout_seconds.max(1)),
            max_page_bytes: self.max_page_bytes,
            retries: self.retries,
            backoff: Duration::from_millis(self.backoff_ms),
            max_backoff: Duration::from_secs(self.max_backoff_seconds),
        }
    }
}

/// `[batch]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Records per committed batch (at page boundaries).
    pub records: u64,
    /// The most bytes one fetch of one list may download.
    pub max_total_bytes: u64,
}

impl Default for BatchConfig {
    fn default() -> BatchConfig {
        BatchConfig { records: 5000, max_total_bytes: 4 << 30 }
    }
}

/// Which API a list comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// NCMEC's hash-sharing API v2.
    Ncmec,
    /// StopNCII's `FetchHashes`.
    Stopncii,
    /// Tech Against Terrorism's TCAP hash list.
    Tcap,
    /// Meta ThreatExchange's `threat_updates` of one privacy group.
    Threatexchange,
    /// A full snapshot at a URL.
    Url,
    /// A full snapshot in a local file.
    File,
}

/// `[lists.NAME]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListConfig {
    /// The API.
    pub source: SourceKind,
    /// The API's base URL (NCMEC: instead of `environment`; StopNCII: optional).
    pub base_url: Option<String>,
    /// NCMEC's environment name.
    pub environment: Option<String>,
    /// Where the first fetch starts, in Unix seconds (NCMEC, StopNCII).
    pub start: Option<u64>,
    /// Records per page asked for (StopNCII, ThreatExchange).
    pub page_size: Option<u32>,
    /// The ThreatExchange privacy group.
    pub privacy_group: Option<u64>,
    /// The credentials file (mode 600).
    pub credentials_file: Option<PathBuf>,
    /// The snapshot's URL (`url`).
    pub url: Option<String>,
    /// The snapshot's path (`file`).
    pub path: Option<PathBuf>,
    /// The snapshot's format (`url`, `file`): an import format name.
    pub format: Option<String>,
    /// The kind of values written without one (`url`, `file`).
    pub kind: Option<String>,
    /// The largest share of the list, in percent, a snapshot may remove (default 50).
    pub max_shrink: Option<f64>,
}

/// NCMEC's environments, as pytx names them.
pub const NCMEC_ENVIRONMENTS: &[(&str, &str)] = &[
    ("industry", "https://report.cybertip.org/hashsharing"),
    ("ngo", "https://hashsharing.ncmec.org/npo"),
    ("exploitative", "https://hashsharing.ncmec.org/exploitative"),
    ("test_industry", "https://exttest.cybertip.org/hashsharing"),
    ("test_ngo", "https://hashsharing-test.ncmec.org/npo"),
    ("test_exploitative", "https://hashsharing-test.ncmec.org/exploitative"),
];

/// StopNCII's API.
pub const STOPNCII_BASE_URL: &str = "https://api.stopncii.org/v1";

impl FetchConfig {
    /// Parses and checks a configuration file's text; errors name the key.
    pub fn parse(text: &str) -> Result<FetchConfig, FetchError> {
        let config: FetchConfig =
            toml::from_str(text).map_err(|e| FetchError::Config(e.to_string().trim().to_string()))?;
        for (name, list) in &config.lists {
            list.check(name)?;
        }
        if config.batch.records == 0 {
            return Err(FetchError::Config("batch.records must be at least 1".into()));
        }
        Ok(config)
    }
}

impl ListConfig {
    fn check(&self, name: &str) -> Result<(), FetchError> {
        let bad = |m: String| Err(FetchError::Config(format!("[lists.{name}]: {m}")));
        let allowed: &[&str] = match self.source {
            SourceKind::Ncmec => &["base_url", "environment", "start", "credentials_file"],
            SourceKind::Stopncii => &["base_url", "start", "page_size", "credentials_file"],
            SourceKind::Tcap => &["base_url", "credentials_file"],
            SourceKind::Threatexchange => {
                &["base_url", "privacy_group", "start", "page_size", "credentials_file", "max_shrink"]
            }
            SourceKind::Url => &["url", "format", "kind", "max_shrink", "credentials_file"],
            SourceKind::File => &["path", "format", "kind", "max_shrink"],
        };
        let given = [
            ("base_url", self.base_url.is_some()),
            ("environment", self.environment.is_some()),
            ("start", self.start.is_some()),
            ("page_size", self.page_size.is_some()),
            ("privacy_group", self.privacy_group.is_some()),
            ("credentials_file", self.credentials_file.is_some()),
            ("url", self.url.is_some()),
            ("path", self.path.is_some()),
            ("format", self.format.is_some()),
            ("kind", self.kind.is_some()),
            ("max_shrink", self.max_shrink.is_some()),
        ];
        for (key, set) in given {
            if set && !allowed.contains(&key) {
                return bad(format!("`{key}` does not apply to source {:?}", self.source));
            }
        }
        match self.source {
            SourceKind::Ncmec => match (&self.base_url, &self.environment) {
                (Some(_), Some(_)) => return bad("give base_url or environment, not both".into()),
                (None, None) => return bad("needs environment (industry, ngo, ...) or base_url".into()),
                (None, Some(e)) if !NCMEC_ENVIRONMENTS.iter().any(|(n, _)| n == e) => {
                    let names: Vec<&str> = NCMEC_ENVIRONMENTS.iter().map(|(n, _)| *n).collect();
                    return bad(format!("unknown environment {e:?} (one of {})", names.join(", ")));
                }
                _ => {}
            },
            SourceKind::Threatexchange if self.privacy_group.is_none() => {
                return bad("needs privacy_group (the ThreatPrivacyGroup's id)".into())
            }
            SourceKind::Url if self.url.is_none() => return bad("needs url".into()),
            SourceKind::File if self.path.is_none() => return bad("needs path".into()),
            _ => {}
        }
        if self.page_size.is_some_and(|p| p == 0 || p > 10_000) {
            return bad("page_size must be 1 to 10000".into());
        }
        if self.max_shrink.is_some_and(|m| !(0.0..=100.0).contains(&m)) {
            return bad("max_shrink is a percentage from 0 to 100".into());
        }
        for url in [&self.base_url, &self.url].into_iter().flatten() {
            if !super::http::secure_enough(url) {
                return bad(format!("{url}: only https:// (or http:// to a loopback address) is allowed"));
            }
        }
        Ok(())
    }

    /// The API's base URL, without a trailing `/`.
    pub fn base(&self) -> String {
        let base = match (self.source, &self.base_url, &self.environment) {
            (_, Some(b), _) => b.clone(),
            (SourceKind::Ncmec, None, Some(e)) => NCMEC_ENVIRONMENTS
                .iter()
                .find(|(n, _)| n == e)
                .map_or_else(String::new, |(_, u)| u.to_string()),
            (SourceKind::Stopncii, None, _) => STOPNCII_BASE_URL.to_string(),
            (SourceKind::Tcap, None, _) => super::tcap::BASE_URL.to_string(),
            (SourceKind::Threatexchange, None, _) => super::threatexchange::BASE_URL.to_string(),
            _ => self.url.clone().unwrap_or_default(),
        };
        base.trim_end_matches('/').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_checked_key_by_key() {
        let ok = FetchConfig::parse(
            "[lists.ncmec]\nsource = \"ncmec\"\nenvironment = \"test_industry\"\n\
             [lists.s]\nsource = \"stopncii\"\n[lists.f]\nsource = \"file\"\npath = \"x.csv\"\n",
        )
        .unwrap();
        assert_eq!(ok.lists["ncmec"].base(), "https://exttest.cybertip.org/hashsharing");
        assert_eq!(ok.lists["s"].base(), STOPNCII_BASE_URL);
        let te = FetchConfig::parse("[lists.te]\nsource = \"threatexchange\"\nprivacy_group = 7\n").unwrap();
        assert_eq!(te.lists["te"].base(), super::super::threatexchange::BASE_URL);
        for (text, says) in [
            ("[lists.a]\nsource = \"ncmec\"\n", "needs environment"),
            ("[lists.a]\nsource = \"ncmec\"\nenvironment = \"moon\"\n", "unknown environment"),
            ("[lists.a]\nsource = \"url\"\nurl = \"http://example.org/l.csv\"\n", "only https://"),
            ("[lists.a]\nsource = \"file\"\npath = \"x\"\npage_size = 3\n", "does not apply"),
            ("[lists.a]\nsource = \"ftp\"\n", "unknown variant"),
            ("[lists.a]\nsource = \"file\"\npath = \"x\"\ncolour = 1\n", "unknown field"),
            ("[batch]\nrecords = 0\n", "at least 1"),
            ("[lists.a]\nsource = \"threatexchange\"\n", "needs privacy_group"),
            ("[lists.a]\nsource = \"tcap\"\npage_size = 5\n", "does not apply"),
        ] {
            let e = FetchConfig::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
