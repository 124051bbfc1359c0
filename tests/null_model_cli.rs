//! `mediamatch null-model` on the fixture photos: the table it writes follows the format
//! the significance code reads (`src/significance/null-v1.tsv`), is monotone, and is the
//! same for a seed whatever the thread count; and the shipped table follows it too.
#![cfg(feature = "eval")]

mod common;

use std::collections::BTreeMap;

use common::cli::{crate_dir, run as mediamatch, text};

/// A parsed table: the tails per kind and the joint grid.
struct Table {
    phash: Vec<f64>,
    pdq: Vec<f64>,
    joint: BTreeMap<(usize, usize), f64>,
}

fn prob(s: &str, line: &str) -> f64 {
    let p: f64 = s.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert!(p > 0.0 && p <= 1.0, "{line:?}: not in (0, 1]");
    p
}

/// Parses the format strictly: `#` comments, one `version 1` line, then `tail` and `joint`
/// lines, every distance exactly once.
fn parse(table: &str) -> Table {
    let mut version = None;
    let mut tails: BTreeMap<(String, usize), f64> = BTreeMap::new();
    let mut joint = BTreeMap::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        match f[..] {
            ["version", v] => assert!(version.replace(v.to_string()).is_none(), "two version lines"),
            ["tail", kind, d, p] => {
                assert!(kind == "phash" || kind == "pdq", "{line:?}");
                let old = tails.insert((kind.to_string(), d.parse().unwrap()), prob(p, line));
                assert!(old.is_none(), "{line:?} twice");
            }
            ["joint", a, b, p] => {
                assert!(
                    joint.insert((a.parse().unwrap(), b.parse().unwrap()), prob(p, line)).is_none(),
                    "{line:?}"
                );
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    assert_eq!(version.as_deref(), Some("1"));
    let kind = |k: &str, max: usize| -> Vec<f64> {
        (0..=max)
            .map(|d| *tails.get(&(k.to_string(), d)).unwrap_or_else(|| panic!("no tail {k} {d}")))
            .collect()
    };
    let (phash, pdq) = (kind("phash", 64), kind("pdq", 256));
    assert_eq!(tails.len(), 65 + 257, "tail lines beyond the distances");
    assert_eq!(joint.len(), 25 * 129, "joint lines");
    Table { phash, pdq, joint }
}

/// The properties the E-values rely on.
fn check(t: &Table) {
    for (name, v) in [("phash", &t.phash), ("pdq", &t.pdq)] {
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{name} not monotone");
        assert_eq!(*v.last().unwrap(), 1.0, "{name} tail at the largest distance");
    }
    for a in 0..=24 {
        for b in 0..=128 {
            let p = t.joint[&(a, b)];
            assert!(p <= t.phash[a].min(t.pdq[b]), "joint ({a},{b}) above a marginal");
            if a > 0 {
                assert!(p >= t.joint[&(a - 1, b)], "joint not monotone in a at ({a},{b})");
            }
            if b > 0 {
                assert!(p >= t.joint[&(a, b - 1)], "joint not monotone in b at ({a},{b})");
            }
        }
    }
}

/// The table without its `made:` line (the date).
fn undated(table: &str) -> String {
    table.lines().filter(|l| !l.starts_with("# made:")).collect::<Vec<_>>().join("\n")
}

#[test]
fn null_model_on_fixtures_writes_a_valid_deterministic_table() {
    let args = ["null-model", "fixtures/photos", "--per-photo", "30", "--seed", "5"];
    let out = mediamatch(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    check(&parse(&table));
    let err = text(&out.stderr);
    assert!(err.contains("null-model: 6 photos (1 skipped), 180 derived images"), "{err}");
    assert!(err.contains("reference.tsv: skipped"), "{err}");
    assert!(table.contains("# cross-photo pairs: phash 13500,"), "{table}");

    let one_thread = mediamatch(&[&args[..], &["--threads", "1"]].concat());
    assert_eq!(undated(&text(&one_thread.stdout)), undated(&table), "the thread count changed the table");
    let other_seed = mediamatch(&["null-model", "fixtures/photos", "--per-photo", "30", "--seed", "6"]);
    assert_ne!(undated(&text(&other_seed.stdout)), undated(&table), "the seed made no difference");
}

#[test]
fn null_model_out_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.tsv");
    let out =
        mediamatch(&["null-model", "fixtures/photos", "--per-photo", "8", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    check(&parse(&std::fs::read_to_string(&path).unwrap()));
}

#[test]
fn null_model_needs_two_photos() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(crate_dir().join("fixtures/photos/china.jpg"), dir.path().join("a.jpg")).unwrap();
    let out = mediamatch(&["null-model", dir.path().to_str().unwrap(), "--per-photo", "3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("at least 2 photos"), "{}", text(&out.stderr));
}

#[test]
fn shipped_table_follows_the_format() {
    let path = crate_dir().join("src/significance/null-v1.tsv");
    let table = std::fs::read_to_string(&path).expect("the shipped null-model table");
    let t = parse(&table);
    check(&t);
    // The provenance says how it was made.
    assert!(table.contains("# command: mediamatch null-model"), "no provenance");
}
