//! UTC times as text: RFC 3339 timestamps for logs, audit records and API answers, and
//! calendar dates, without a time-zone database (UTC only).

use std::time::{SystemTime, UNIX_EPOCH};

/// The civil date (year, month 1-12, day 1-31) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `time` as RFC 3339 UTC with milliseconds, e.g. `2026-12-02T23:11:05.042Z` (times
/// before 1970 are written as 1970-01-01).
pub fn rfc3339(time: SystemTime) -> String {
    let d = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (year, month, day) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Unix seconds `secs` as RFC 3339 UTC to the second, e.g. `2017-10-24T15:00:00Z` (the
/// form NCMEC's API takes).
pub fn rfc3339_seconds(secs: u64) -> String {
    let (year, month, day) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The UTC date of `time` as `YYYY-MM-DD`.
pub fn date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil((secs / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants() {
        // `date -u -d @951782400.5` : 2000-02-29 00:00:00 (a leap day of a century year).
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_500);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.500Z");
        assert_eq!(date(t), "2000-02-29");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2026-12-31T23:59:59Z and the second after it.
        let t = UNIX_EPOCH + Duration::from_secs(1_798_761_599);
        assert_eq!(rfc3339(t), "2026-12-31T23:59:59.000Z");
        assert_eq!(date(t + Duration::from_secs(1)), "2027-01-01");
        // `date -u -d @1508857200`: the first entry's timestamp in NCMEC's sample page.
        assert_eq!(rfc3339_seconds(1_508_857_200), "2017-10-24T15:00:00Z");
    }
}
