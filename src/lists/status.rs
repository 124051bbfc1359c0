//! Status spellings: which values of a status column mean "this hash is withdrawn".
//!
//! The spellings come from the clearing houses' clients in facebook/ThreatExchange:
//! StopNCII's `hashStatus` is one of `Unknown`, `Received`, `Active`, `Withdrawn`,
//! `Deleted`, and its client says `Withdrawn` and `Deleted` "should be deleted by
//! client"; Tech Against Terrorism sends `deleted: true|false`; NCMEC uses separate
//! `<deletedImage>`/`<deletedVideo>` elements (handled by the XML reader).
//!
//! Compared case-insensitively after trimming:
//!
//! | meaning | spellings |
//! | --- | --- |
//! | deleted | `deleted`, `delete`, `withdrawn`, `removed`, `remove`, `inactive`, `revoked`, `true`, `1`, `yes`, `y` |
//! | live | empty, `active`, `received`, `live`, `new`, `added`, `add`, `false`, `0`, `no`, `n`, `unknown` |
//!
//! `unknown` is live because StopNCII's client treats every status other than
//! `Withdrawn`/`Deleted` as live. Any other spelling rejects the record: a status we do
//! not understand could be a withdrawal, and importing a withdrawn hash would accuse
//! innocent users.

/// `Some(true)` for a deleted status, `Some(false)` for a live one, `None` when unknown.
///
/// ```
/// use mediamatch::lists::status::is_deleted;
/// assert_eq!(is_deleted("Withdrawn"), Some(true));
/// assert_eq!(is_deleted("Received"), Some(false));
/// assert_eq!(is_deleted("maybe"), None);
/// ```
pub fn is_deleted(status: &str) -> Option<bool> {
    const DELETED: &[&str] = &[
        "deleted",
        "delete",
        "withdrawn",
        "removed",
        "remove",
        "inactive",
        "revoked",
        "true",
        "1",
        "yes",
        "y",
    ];
    const LIVE: &[&str] =
        &["", "active", "received", "live", "new", "added", "add", "false", "0", "no", "n", "unknown"];
    let s = status.trim();
    if DELETED.iter().any(|d| d.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if LIVE.iter().any(|d| d.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::is_deleted;

    /// Every spelling of the table above, plus case, surrounding space and near misses.
    const CASES: &[(&str, Option<bool>)] = &[
        ("deleted", Some(true)),
        ("Deleted", Some(true)),
        ("DELETE", Some(true)),
        ("withdrawn", Some(true)),
        ("Withdrawn", Some(true)),
        ("removed", Some(true)),
        ("remove", Some(true)),
        ("inactive", Some(true)),
        ("revoked", Some(true)),
        ("true", Some(true)),
        ("1", Some(true)),
        ("yes", Some(true)),
        ("Y", Some(true)),
        (" deleted\t", Some(true)),
        ("", Some(false)),
        ("   ", Some(false)),
        ("active", Some(false)),
        ("Active", Some(false)),
        ("received", Some(false)),
        ("live", Some(false)),
        ("new", Some(false)),
        ("added", Some(false)),
        ("add", Some(false)),
        ("false", Some(false)),
        ("0", Some(false)),
        ("no", Some(false)),
        ("N", Some(false)),
        ("unknown", Some(false)),
        (" Unknown ", Some(false)),
        ("maybe", None),
        ("deletedx", None),
        ("withdraw", None),
        ("2", None),
        ("tru", None),
        ("-1", None),
    ];

    #[test]
    fn every_spelling_means_what_the_table_says() {
        for &(spelling, want) in CASES {
            assert_eq!(is_deleted(spelling), want, "{spelling:?}");
        }
    }
}
