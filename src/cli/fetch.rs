//! `mediamatch fetch`: pull the configured lists from their APIs into an index.
//!
//! One summary line (or one `fetch` JSON record) per list; a list that fails is reported
//! and the others still run; the exit code is 2 if any list failed. `--every` repeats
//! the run in the foreground, for deployments without cron or a systemd timer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use mediamatch::fetch::config::FetchConfig;
use mediamatch::fetch::http::Client;
use mediamatch::fetch::{fetch_list, FetchOptions, ListReport};

use super::import::resolve_index;
use super::lists::now_secs;
use super::output::{chosen, text_or_json, OutputFormat};
use super::print::print_one;
use super::record::Record;
use super::Exit;

/// Arguments of `mediamatch fetch`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The index to update (created if missing).
    index: PathBuf,
    /// The fetch configuration (TOML; see docs/fetch.md). Default: `INDEX.fetch.toml`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Fetch only these lists (repeatable; default: every configured list).
    #[arg(long = "list", value_name = "NAME")]
    lists: Vec<String>,
    /// Output: text (one line per list) or json (one `fetch` record per list).
    #[arg(long, value_parser = text_or_json(), default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Run again every DURATION (`90s`, `30m`, `1h`, `1d`) in the foreground, with up to a
    /// tenth of jitter; without it, one run.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    every: Option<Duration>,
    /// Fail a list at once if another import or fetch holds the index's lock.
    #[arg(long)]
    no_wait: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = resolve_index(&args.index)?;
    let config_path = args.config.clone().unwrap_or_else(|| with_suffix(&args.index, ".fetch.toml"));
    loop {
        let exit = run_once(&args, &path, &config_path)?;
        let Some(every) = args.every else { return Ok(exit) };
        let wait = every + every.mul_f64(mediamatch::fetch::http::jitter() * 0.1);
        eprintln!("mediamatch fetch: next run in {} s", wait.as_secs());
        std::thread::sleep(wait);
    }
}

fn run_once(args: &Args, path: &Path, config_path: &Path) -> anyhow::Result<Exit> {
    // Read each run: an edited configuration takes effect at the next run.
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading the fetch configuration {}", config_path.display()))?;
    let config = FetchConfig::parse(&text).with_context(|| config_path.display().to_string())?;
    if config.lists.is_empty() {
        bail!("{}: no [lists.NAME] configured", config_path.display());
    }
    for name in &args.lists {
        if !config.lists.contains_key(name) {
            let known: Vec<&str> = config.lists.keys().map(String::as_str).collect();
            bail!("--list {name}: not in {} (configured: {})", config_path.display(), known.join(", "));
        }
    }
    let client = Client::new(config.http.options());
    let options = FetchOptions { now: now_secs(), imported_at: source_date_epoch()?, wait: !args.no_wait };
    let format = chosen(args.format, args.json);
    let mut failed = 0;
    for (name, list) in &config.lists {
        if !args.lists.is_empty() && !args.lists.contains(name) {
            continue;
        }
        let report = fetch_list(path, name, list, &config, &client, &options);
        if let Some(e) = &report.error {
            failed += 1;
            eprintln!("mediamatch fetch: {e}");
        }
        print_one(format, &Record::Fetch(&report))?;
    }
    Ok(if failed > 0 { Exit::Error } else { Exit::Success })
}

/// `SOURCE_DATE_EPOCH`, the import time to record (reproducible indexes), if set.
fn source_date_epoch() -> anyhow::Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => Ok(Some(
            v.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not Unix seconds"))?,
        )),
        Err(_) => Ok(None),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `90s`, `30m`, `1h`, `1d`, or plain seconds; at least one second.
fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("{s:?} is not a duration like 90s, 30m, 1h, 1d"))?;
    let unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    match n.checked_mul(unit) {
        Some(secs) if secs >= 1 => Ok(Duration::from_secs(secs)),
        _ => Err(format!("{s:?} is not a duration of at least one second")),
    }
}

/// The text line of a report.
pub(crate) fn text_line(r: &ListReport) -> String {
    let kinds = if r.skipped_kinds.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = r.skipped_kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(" ({})", parts.join(", "))
    };
    let outcome = match &r.error {
        None => "ok".to_string(),
        Some(e) => format!("FAILED: {e}"),
    };
    format!(
        "{}: {outcome}; {} pages, {} records, {} bytes: added {}, updated {}, removed {}, unchanged {}, rejected {}, skipped {}{kinds}; v{}, {} commits, {} retries, {:.1} s; checkpoint {} -> {}",
        r.list,
        r.pages,
        r.records,
        r.bytes,
        r.added,
        r.updated,
        r.removed,
        r.unchanged,
        r.rejected,
        r.skipped,
        r.version,
        r.commits,
        r.retries,
        r.seconds,
        r.checkpoint_before,
        r.checkpoint_after
    )
}

#[cfg(test)]
mod tests {
    use super::duration;
    use std::time::Duration;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "0s", "1w", "h", "-1h", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }
}
