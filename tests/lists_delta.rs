//! Applying lists to a catalog: deltas, tombstones, replacement, several lists,
//! idempotence and provenance; and a model check of [`delta::apply`] against a plain map.

use std::collections::{BTreeMap, BTreeSet};

use mediamatch::catalog::{Catalog, Entry};
use mediamatch::lists::delta::{apply, ApplyOptions, Mode};
use mediamatch::lists::{ListFile, ParseOptions};
use mediamatch::{HashValue, Kind};
use proptest::prelude::*;

fn src(name: &str, text: &str) -> ListFile {
    ListFile::from_bytes(name, text.as_bytes(), &ParseOptions::default()).unwrap()
}

fn md5(n: u32) -> String {
    format!("{n:032x}")
}

fn v(n: u32) -> HashValue {
    HashValue::parse(Kind::Md5, &md5(n)).unwrap()
}

const DELTA: ApplyOptions = ApplyOptions { mode: Mode::Delta, imported_at: 1000 };
const REPLACE: ApplyOptions = ApplyOptions { mode: Mode::Replace, imported_at: 2000 };

/// (value, id, label, list names) of every entry, sorted.
fn view(c: &Catalog) -> Vec<(HashValue, String, String, Vec<String>)> {
    let mut out: Vec<_> = c
        .entries
        .iter()
        .map(|e| {
            let mut lists: Vec<String> = e.lists.iter().map(|&l| c.lists[l as usize].name.clone()).collect();
            lists.sort();
            (e.value, e.id.clone(), e.label.clone(), lists)
        })
        .collect();
    out.sort();
    out
}

fn csv(rows: &[(u32, &str, &str, &str)]) -> String {
    let mut s = String::from("hash,kind,id,label,status\n");
    for (n, id, label, status) in rows {
        s += &format!("{},md5,{id},{label},{status}\n", md5(*n));
    }
    s
}

#[test]
fn delta_adds_updates_and_removes() {
    let mut c = Catalog::default();
    let out = apply(
        &mut c,
        "a",
        &[src("1.csv", &csv(&[(1, "x", "A1", ""), (2, "y", "A1", ""), (3, "z", "", "")]))],
        &DELTA,
    );
    assert_eq!((out.counts.added, out.version, out.changed), (3, 1, true));
    let out = apply(
        &mut c,
        "a",
        &[src("2.csv", &csv(&[(1, "x", "A2", ""), (2, "y", "A1", "deleted"), (4, "w", "B", "active")]))],
        &DELTA,
    );
    let k = out.counts;
    assert_eq!((k.added, k.updated, k.removed, k.unchanged), (1, 1, 1, 0));
    assert_eq!(out.version, 2);
    let want = vec![
        (v(1), "x".into(), "A2".into(), vec!["a".into()]),
        (v(3), "z".into(), "".into(), vec!["a".into()]),
        (v(4), "w".into(), "B".into(), vec!["a".into()]),
    ];
    assert_eq!(view(&c), want, "3 is not in the delta and stays");
}

#[test]
fn the_same_file_twice_changes_nothing() {
    let mut c = Catalog::default();
    let s = src("l.csv", &csv(&[(1, "x", "A1", ""), (2, "", "", ""), (3, "y", "", "withdrawn")]));
    let first = apply(&mut c, "a", std::slice::from_ref(&s), &DELTA);
    assert_eq!((first.counts.added, first.version), (2, 1));
    let entries = c.entries.clone();
    let second = apply(&mut c, "a", std::slice::from_ref(&s), &ApplyOptions { imported_at: 5000, ..DELTA });
    assert_eq!((second.counts.unchanged, second.counts.added, second.counts.removed), (2, 0, 0));
    assert_eq!((second.changed, second.version), (false, 1));
    assert_eq!(c.entries, entries);
    // Provenance says when the list was last checked.
    assert_eq!(c.lists[0].imported_at, 5000);
    // And with --replace too.
    let third = apply(&mut c, "a", std::slice::from_ref(&s), &REPLACE);
    assert_eq!((third.changed, third.counts.unchanged, third.counts.removed), (false, 2, 0));
}

#[test]
fn removal_from_one_list_keeps_the_entry_on_others() {
    let mut c = Catalog::default();
    let both = csv(&[(1, "x", "A1", ""), (2, "y", "", "")]);
    apply(&mut c, "a", &[src("a.csv", &both)], &DELTA);
    let out = apply(&mut c, "b", &[src("b.csv", &both)], &DELTA);
    assert_eq!(out.counts.added, 2, "added to list b, not as new entries");
    assert_eq!(c.entries.len(), 2);
    assert!(c.entries.iter().all(|e| e.lists == [0, 1]));
    apply(&mut c, "a", &[src("a2.csv", &csv(&[(1, "x", "", "deleted")]))], &DELTA);
    assert_eq!(view(&c)[0], (v(1), "x".into(), "A1".into(), vec!["b".into()]));
    apply(&mut c, "b", &[src("b2.csv", &csv(&[(1, "x", "", "deleted")]))], &DELTA);
    assert_eq!(c.entries.len(), 1, "on no list any more: dropped");
    assert_eq!(c.entries[0].value, v(2));
}

#[test]
fn replace_makes_the_list_exactly_the_file() {
    let mut c = Catalog::default();
    apply(
        &mut c,
        "a",
        &[src("a.csv", &csv(&[(1, "x", "", ""), (2, "y", "", ""), (3, "z", "", "")]))],
        &DELTA,
    );
    apply(&mut c, "b", &[src("b.csv", &csv(&[(2, "y", "", "")]))], &DELTA);
    let out = apply(
        &mut c,
        "a",
        &[src("a2.csv", &csv(&[(3, "z", "", ""), (4, "w", "", ""), (5, "q", "", "deleted")]))],
        &REPLACE,
    );
    let k = out.counts;
    assert_eq!((k.added, k.removed, k.unchanged), (1, 2, 1));
    let want = vec![
        (v(2), "y".into(), "".into(), vec!["b".into()]),
        (v(3), "z".into(), "".into(), vec!["a".into()]),
        (v(4), "w".into(), "".into(), vec!["a".into()]),
    ];
    assert_eq!(view(&c), want);
    assert_eq!(c.lists[0].imported_at, 2000);
}

#[test]
fn ncmec_tombstones_remove_every_entry_of_the_id_in_file_order() {
    let page = |body: &str| {
        format!("<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\"><images>\n{body}\n</images></queryResult>")
    };
    let entry = |id: &str, n: u32| {
        format!(
            "<image><id>{id}</id><fingerprints><md5>{}</md5><sha1>{n:040x}</sha1></fingerprints></image>
",
            md5(n)
        )
    };
    let tomb = |id: &str| format!("<deletedImage><id>{id}</id></deletedImage>\n");
    let mut c = Catalog::default();
    apply(&mut c, "ncmec", &[src("p1.xml", &page(&(entry("e1", 1) + &entry("e2", 2))))], &DELTA);
    assert_eq!(c.entries.len(), 4);
    // e1 withdrawn (both its hashes); e3 added then withdrawn on a later line; e4 withdrawn
    // and then added again on a later line.
    let body = tomb("e1") + &entry("e3", 3) + &tomb("e3") + &tomb("e4") + &entry("e4", 4);
    let out = apply(&mut c, "ncmec", &[src("p2.xml", &page(&body))], &DELTA);
    assert_eq!((out.counts.removed, out.counts.added), (2, 2));
    let ids: BTreeSet<String> = c.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["e2".to_string(), "e4".to_string()].into());
}

#[test]
fn a_deleted_record_without_id_withdraws_the_value_under_every_id() {
    let mut c = Catalog::default();
    apply(
        &mut c,
        "a",
        &[src("a.csv", &csv(&[(1, "x", "", ""), (1, "y", "", ""), (2, "x", "", "")]))],
        &DELTA,
    );
    let out =
        apply(&mut c, "a", &[src("d.txt", &format!("hash,kind,status\n{},md5,withdrawn\n", md5(1)))], &DELTA);
    assert_eq!(out.counts.removed, 2);
    assert_eq!(view(&c), vec![(v(2), "x".into(), "".into(), vec!["a".into()])]);
}

#[test]
fn an_empty_label_does_not_erase_another_lists_label() {
    let mut c = Catalog::default();
    apply(&mut c, "a", &[src("a.csv", &csv(&[(1, "x", "A1", "")]))], &DELTA);
    apply(&mut c, "b", &[src("b.csv", &csv(&[(1, "x", "", "")]))], &DELTA);
    assert_eq!(c.entries[0].label, "A1");
    apply(&mut c, "b", &[src("b.csv", &csv(&[(1, "x", "B2", "")]))], &DELTA);
    assert_eq!(c.entries[0].label, "B2");
}

#[test]
fn provenance_counts_and_versions() {
    let mut c = Catalog::default();
    let a = src("part1.csv", &csv(&[(1, "x", "", "")]));
    let b = ListFile::from_bytes(
        "part2.txt",
        b"md5:00000000000000000000000000000002\nbad line\nphotodna:AAAA\n",
        &ParseOptions::default(),
    )
    .unwrap();
    let out = apply(&mut c, "mixed", &[a.clone(), b.clone()], &DELTA);
    let info = &c.lists[0];
    assert_eq!(info.name, "mixed");
    assert_eq!(info.source, "part1.csv, part2.txt");
    assert_eq!(info.source_sha256, format!("{},{}", a.sha256, b.sha256));
    assert_eq!(info.imported_at, 1000);
    assert_eq!((out.counts.added, out.counts.rejected, out.counts.skipped), (2, 1, 1));
    assert_eq!(info.counts, out.counts);
    // A new, empty list is created at version 1; nothing changed afterwards keeps it.
    let empty = apply(&mut c, "empty", &[src("e.txt", "# nothing yet\n")], &DELTA);
    assert_eq!((empty.version, empty.changed, empty.list), (1, true, 1));
    let again = apply(&mut c, "empty", &[src("e.txt", "# nothing yet\n")], &DELTA);
    assert_eq!((again.version, again.changed), (1, false));
}

#[test]
fn an_unsorted_catalog_is_handled() {
    let mut c = Catalog::default();
    apply(
        &mut c,
        "a",
        &[src("a.csv", &csv(&[(1, "x", "", ""), (2, "y", "", ""), (3, "z", "", "")]))],
        &DELTA,
    );
    c.entries.reverse();
    let out = apply(&mut c, "a", &[src("a.csv", &csv(&[(2, "y", "", "deleted"), (4, "w", "", "")]))], &DELTA);
    assert_eq!((out.counts.added, out.counts.removed), (1, 1));
    let values: Vec<HashValue> = c.entries.iter().map(|e| e.value).collect();
    assert_eq!(values, [v(1), v(3), v(4)], "sorted again");
}

// --- Model check -------------------------------------------------------------------

/// One record of a generated file: (value number, id number, label number, deleted).
type Row = (u32, u8, u8, bool);

/// The rules of the module docs, written the plain way on a map.
#[derive(Default)]
struct Model {
    entries: BTreeMap<(HashValue, String), (String, BTreeSet<String>)>,
}

impl Model {
    fn apply(&mut self, list: &str, rows: &[Row], replace: bool) {
        // The final word of the file on each key, in file order.
        let mut live: BTreeMap<(HashValue, String), Option<String>> = BTreeMap::new();
        for &(n, id, label, deleted) in rows {
            let key = (v(n), if id == 0 { String::new() } else { format!("i{id}") });
            if deleted && key.1.is_empty() {
                for (k, st) in live.iter_mut() {
                    if k.0 == key.0 {
                        *st = None;
                    }
                }
            }
            live.insert(
                key,
                if deleted {
                    None
                } else {
                    Some(if label == 0 { String::new() } else { format!("L{label}") })
                },
            );
        }
        let value_tombs: BTreeSet<HashValue> =
            rows.iter().filter(|r| r.3 && r.1 == 0).map(|r| v(r.0)).collect();
        for (key, (_, lists)) in self.entries.iter_mut() {
            if !live.contains_key(key) && lists.contains(list) && (replace || value_tombs.contains(&key.0)) {
                lists.remove(list);
            }
        }
        for (key, state) in live {
            match state {
                Some(label) => {
                    let e = self.entries.entry(key).or_insert_with(|| (label.clone(), BTreeSet::new()));
                    let others = e.1.iter().any(|l| l != list);
                    if !(label.is_empty() && others) {
                        e.0 = label;
                    }
                    e.1.insert(list.to_string());
                }
                None => {
                    if let Some(e) = self.entries.get_mut(&key) {
                        e.1.remove(list);
                    }
                }
            }
        }
        self.entries.retain(|_, (_, lists)| !lists.is_empty());
    }

    fn view(&self) -> Vec<(HashValue, String, String, Vec<String>)> {
        self.entries
            .iter()
            .map(|((v, id), (l, lists))| (*v, id.clone(), l.clone(), lists.iter().cloned().collect()))
            .collect()
    }
}

/// The rows as JSON Lines.
fn file(rows: &[Row]) -> String {
    let mut out = String::new();
    for &(n, id, label, deleted) in rows {
        let id = if id == 0 { String::new() } else { format!("i{id}") };
        let label = if label == 0 { String::new() } else { format!("L{label}") };
        out += &format!(
            "{{\"hash\":\"{}\",\"kind\":\"md5\",\"id\":\"{id}\",\"label\":\"{label}\",\"deleted\":{deleted}}}\n",
            md5(n)
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn apply_agrees_with_the_model(
        imports in prop::collection::vec(
            (0usize..3, prop::collection::vec((0u32..6, 0u8..3, 0u8..3, any::<bool>()), 0..12), any::<bool>()),
            1..6,
        )
    ) {
        let names = ["a", "b", "c"];
        let mut c = Catalog::default();
        let mut m = Model::default();
        for (list, rows, replace) in imports {
            let s = src("f.jsonl", &file(&rows));
            prop_assert!(s.list.rejects.is_empty(), "{:?}", s.list.rejects);
            let before = view(&c);
            let out = apply(&mut c, names[list], &[s], if replace { &REPLACE } else { &DELTA });
            m.apply(names[list], &rows, replace);
            prop_assert_eq!(view(&c), m.view());
            let k = out.counts;
            prop_assert_eq!(k.added + k.updated + k.removed > 0, before != view(&c));
            // Entries stay sorted, unique and on at least one list.
            prop_assert!(c.entries.windows(2).all(|w| (w[0].value, &w[0].id) < (w[1].value, &w[1].id)));
            prop_assert!(c.entries.iter().all(|e: &Entry| !e.lists.is_empty() && e.lists.windows(2).all(|w| w[0] < w[1])));
        }
    }
}
