//! Prometheus metrics, in the text exposition format, from lock-free counters.
//!
//! Labels have bounded values only: route templates (not paths), status codes, hash kind
//! names, list names, reload results and URL fetch outcomes. Hash values and URLs never
//! appear in a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use crate::hash::Kind;

/// Upper bounds of the latency histograms' buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| s <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Status codes counted one by one; any other is counted as `other`.
const STATUSES: [u16; 15] = [200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 500, 501, 502, 503, 504];

/// The counters of one route.
#[derive(Debug, Default)]
pub struct RouteMetrics {
    statuses: [AtomicU64; STATUSES.len() + 1],
    latency: Histogram,
}

/// Why a request was shed.
#[derive(Clone, Copy, Debug)]
pub enum Shed {
    /// Too many requests in flight.
    InFlight,
    /// Too many uploads waiting for a hashing thread.
    HashQueue,
    /// The request ran over its time limit.
    Timeout,
}

/// How a fetch of media by URL ended (the label of `mediamatch_url_fetches_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The media was fetched.
    Ok,
    /// The URL was refused before anything was sent (not allowed, not https, private).
    Refused,
    /// The body was over the size cap.
    TooLarge,
    /// The remote answered an error status or a redirect not followed.
    Status,
    /// The remote could not be reached or the connection broke.
    Unreachable,
    /// The fetch ran over its time limit.
    Timeout,
}

impl FetchOutcome {
    /// Every outcome, in the order the metrics list them.
    pub const ALL: [FetchOutcome; 6] = [
        FetchOutcome::Ok,
        FetchOutcome::Refused,
        FetchOutcome::TooLarge,
        FetchOutcome::Status,
        FetchOutcome::Unreachable,
        FetchOutcome::Timeout,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            FetchOutcome::Ok => "ok",
            FetchOutcome::Refused => "refused",
            FetchOutcome::TooLarge => "too_large",
            FetchOutcome::Status => "remote_status",
            FetchOutcome::Unreachable => "unreachable",
            FetchOutcome::Timeout => "timeout",
        }
    }
}

/// Every metric of a server.
#[derive(Debug)]
pub struct Metrics {
    routes: Vec<(&'static str, RouteMetrics)>,
    unmatched: RouteMetrics,
    hash_time: Histogram,
    lookup_time: [Histogram; Kind::ALL.len()],
    matches: Mutex<BTreeMap<(String, Kind), u64>>,
    shed: [AtomicU64; 3],
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Gauges set by the server: entries per kind, loaded (0/1), stale (0/1), in flight.
    entries: [AtomicU64; Kind::ALL.len()],
    loaded: AtomicU64,
    stale: AtomicU64,
    in_flight: AtomicU64,
    audit_failures: AtomicU64,
    fetches: [AtomicU64; 6],
    fetch_time: Histogram,
}

impl Metrics {
    /// Metrics for these route templates.
    pub fn new(routes: &[&'static str]) -> Metrics {
        Metrics {
            routes: routes.iter().map(|r| (*r, RouteMetrics::default())).collect(),
            unmatched: RouteMetrics::default(),
            hash_time: Histogram::default(),
            lookup_time: Default::default(),
            matches: Mutex::new(BTreeMap::new()),
            shed: Default::default(),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
            entries: Default::default(),
            loaded: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            audit_failures: AtomicU64::new(0),
            fetches: Default::default(),
            fetch_time: Histogram::default(),
        }
    }

    fn route(&self, template: Option<&str>) -> &RouteMetrics {
        template.and_then(|t| self.routes.iter().find(|(r, _)| *r == t)).map_or(&self.unmatched, |(_, m)| m)
    }

    /// Counts one answered request of the route `template` (`None`: no route matched).
    pub fn request(&self, template: Option<&str>, status: u16, elapsed: Duration) {
        let m = self.route(template);
        let i = STATUSES.iter().position(|&s| s == status).unwrap_or(STATUSES.len());
        m.statuses[i].fetch_add(1, Relaxed);
        m.latency.observe(elapsed);
    }

    /// Records the time to decode and hash one upload (and look its hashes up).
    pub fn hashed(&self, elapsed: Duration) {
        self.hash_time.observe(elapsed);
    }

    /// Records the time of one hash lookup of `kind`.
    pub fn looked_up(&self, kind: Kind, elapsed: Duration) {
        self.lookup_time[kind_slot(kind)].observe(elapsed);
    }

    /// Counts matches on `list` of `kind`.
    pub fn matched(&self, list: &str, kind: Kind, n: u64) {
        let mut m = self.matches.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((list.to_string(), kind)).or_default() += n;
    }

    /// Counts a shed request.
    pub fn shed(&self, why: Shed) {
        self.shed[why as usize].fetch_add(1, Relaxed);
    }

    /// Counts a reload.
    pub fn reloaded(&self, ok: bool) {
        if ok { &self.reloads_ok } else { &self.reloads_failed }.fetch_add(1, Relaxed);
    }

    /// Counts an audit record that could not be written.
    pub fn audit_failed(&self) {
        self.audit_failures.fetch_add(1, Relaxed);
    }

    /// Counts one fetch of media by URL and its time.
    pub fn fetched(&self, outcome: FetchOutcome, elapsed: Duration) {
        self.fetches[outcome as usize].fetch_add(1, Relaxed);
        self.fetch_time.observe(elapsed);
    }

    /// Sets the index gauges.
    pub fn set_index(&self, entries: Option<[u64; Kind::ALL.len()]>, stale: bool) {
        self.loaded.store(u64::from(entries.is_some()), Relaxed);
        for (g, n) in self.entries.iter().zip(entries.unwrap_or_default()) {
            g.store(n, Relaxed);
        }
        self.stale.store(u64::from(stale), Relaxed);
    }

    /// The in-flight gauge (requests admitted and not yet answered).
    pub fn in_flight(&self) -> &AtomicU64 {
        &self.in_flight
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP mediamatch_http_requests_total Requests answered, by route template and status.\n",
        );
        out.push_str("# TYPE mediamatch_http_requests_total counter\n");
        let all =
            self.routes.iter().map(|(r, m)| (*r, m)).chain(std::iter::once(("unmatched", &self.unmatched)));
        for (route, m) in all.clone() {
            for (i, n) in m.statuses.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    let status = STATUSES.get(i).map_or("other".to_string(), u16::to_string);
                    let _ = writeln!(
                        out,
                        "mediamatch_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        out.push_str("# HELP mediamatch_http_request_duration_seconds Time to answer, by route template.\n");
        out.push_str("# TYPE mediamatch_http_request_duration_seconds histogram\n");
        for (route, m) in all {
            if m.latency.count.load(Relaxed) > 0 {
                m.latency.write(
                    &mut out,
                    "mediamatch_http_request_duration_seconds",
                    &format!("route=\"{route}\""),
                );
            }
        }
        out.push_str("# HELP mediamatch_hash_duration_seconds Time to decode, hash and check one upload.\n");
        out.push_str("# TYPE mediamatch_hash_duration_seconds histogram\n");
        self.hash_time.write(&mut out, "mediamatch_hash_duration_seconds", "");
        out.push_str("# HELP mediamatch_lookup_duration_seconds Time of one hash lookup, by kind.\n");
        out.push_str("# TYPE mediamatch_lookup_duration_seconds histogram\n");
        for kind in Kind::ALL {
            let h = &self.lookup_time[kind_slot(kind)];
            if h.count.load(Relaxed) > 0 {
                h.write(&mut out, "mediamatch_lookup_duration_seconds", &format!("kind=\"{}\"", kind.name()));
            }
        }
        out.push_str("# HELP mediamatch_matches_total Matches reported, by list and kind.\n");
        out.push_str("# TYPE mediamatch_matches_total counter\n");
        for ((list, kind), n) in self.matches.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "mediamatch_matches_total{{list=\"{}\",kind=\"{}\"}} {n}",
                escape(list),
                kind.name()
            );
        }
        out.push_str("# HELP mediamatch_shed_total Requests refused with 503 to protect the server.\n");
        out.push_str("# TYPE mediamatch_shed_total counter\n");
        for (reason, n) in ["in_flight", "hash_queue", "timeout"].iter().zip(&self.shed) {
            let _ = writeln!(out, "mediamatch_shed_total{{reason=\"{reason}\"}} {}", n.load(Relaxed));
        }
        out.push_str("# HELP mediamatch_index_reloads_total Index reloads, by result.\n");
        out.push_str("# TYPE mediamatch_index_reloads_total counter\n");
        let _ = writeln!(
            out,
            "mediamatch_index_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "mediamatch_index_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Relaxed)
        );
        out.push_str("# HELP mediamatch_index_entries Live entries of the index in use, by kind.\n");
        out.push_str("# TYPE mediamatch_index_entries gauge\n");
        for kind in Kind::ALL {
            let _ = writeln!(
                out,
                "mediamatch_index_entries{{kind=\"{}\"}} {}",
                kind.name(),
                self.entries[kind_slot(kind)].load(Relaxed)
            );
        }
        for (name, help, v) in [
            ("mediamatch_index_loaded", "1 when an index is loaded.", &self.loaded),
            (
                "mediamatch_index_stale",
                "1 when a newer index on disk has failed to load for too long.",
                &self.stale,
            ),
            ("mediamatch_in_flight_requests", "Requests admitted and not yet answered.", &self.in_flight),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}", v.load(Relaxed));
        }
        out.push_str("# HELP mediamatch_audit_failures_total Audit records that could not be written.\n");
        out.push_str("# TYPE mediamatch_audit_failures_total counter\n");
        let _ = writeln!(out, "mediamatch_audit_failures_total {}", self.audit_failures.load(Relaxed));
        out.push_str("# HELP mediamatch_url_fetches_total Fetches of media by URL, by outcome.\n");
        out.push_str("# TYPE mediamatch_url_fetches_total counter\n");
        for outcome in FetchOutcome::ALL {
            let n = self.fetches[outcome as usize].load(Relaxed);
            let _ = writeln!(out, "mediamatch_url_fetches_total{{outcome=\"{}\"}} {n}", outcome.name());
        }
        out.push_str("# HELP mediamatch_url_fetch_duration_seconds Time of one fetch of media by URL.\n");
        out.push_str("# TYPE mediamatch_url_fetch_duration_seconds histogram\n");
        self.fetch_time.write(&mut out, "mediamatch_url_fetch_duration_seconds", "");
        out
    }
}

fn kind_slot(kind: Kind) -> usize {
    Kind::ALL.iter().position(|&k| k == kind).expect("every kind is in ALL")
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_in_the_exposition_format() {
        let m = Metrics::new(&["/m/lookup"]);
        m.request(Some("/m/lookup"), 200, Duration::from_micros(300));
        m.request(Some("/m/lookup"), 200, Duration::from_millis(3));
        m.request(None, 404, Duration::from_micros(10));
        m.matched("ncmec \"x\"", Kind::Pdq, 2);
        let text = m.render();
        assert!(
            text.contains("mediamatch_http_requests_total{route=\"/m/lookup\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("mediamatch_http_requests_total{route=\"unmatched\",status=\"404\"} 1"));
        assert!(text.contains(
            "mediamatch_http_request_duration_seconds_bucket{route=\"/m/lookup\",le=\"0.0005\"} 1"
        ));
        assert!(text
            .contains("mediamatch_http_request_duration_seconds_bucket{route=\"/m/lookup\",le=\"0.005\"} 2"));
        assert!(text.contains("mediamatch_matches_total{list=\"ncmec \\\"x\\\"\",kind=\"pdq\"} 2"));
    }
}
