//! Every sample in `../shared/lists/` (saved NCMEC and StopNCII API responses from
//! facebook/ThreatExchange's test fixtures) imports with the counts a reader of the file
//! expects. The expectations were counted by reading each file: one record for each
//! `<md5>`/`<sha1>` of an `<image>`/`<video>` (or each `hashRecords[]` item), one
//! tombstone for each `<deletedImage>`/`<deletedVideo>`, one skip for each `<pdna>`,
//! `<tmk-pdqf>` and `<videntifier>`.

mod common;

use std::collections::BTreeMap;

use mediamatch::catalog::Catalog;
use mediamatch::lists::{self, delta, ListFile, ListFormat, ParseOptions, ParsedList};
use mediamatch::{HashValue, Kind};

struct Expect {
    format: ListFormat,
    /// (kind, hex, id, label, line) of each record, in file order.
    records: &'static [(Kind, &'static str, &'static str, &'static str, u64)],
    /// (id, line) of each tombstone.
    tombstones: &'static [(&'static str, u64)],
    skipped: &'static [(&'static str, u64)],
}

fn expectations(name: &str) -> Option<Expect> {
    use Kind::*;
    Some(match name {
        // image1: md5, sha1, pdna (skipped); image4 deleted; video1: md5, sha1; video4 deleted.
        "ncmec-entries.xml" => Expect {
            format: ListFormat::Ncmec,
            records: &[
                (Md5, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "image1", "A1", 10),
                (Sha1, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "image1", "A1", 11),
                (Md5, "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "video1", "", 42),
                (Sha1, "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "video1", "", 43),
            ],
            tombstones: &[("image4", 30), ("video4", 46)],
            skipped: &[("unsupported kind photodna", 1)],
        },
        // image10: md5, sha1, pdna (skipped).
        "ncmec-entries2.xml" => Expect {
            format: ListFormat::Ncmec,
            records: &[
                (Md5, "b1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "image10", "A1", 10),
                (Sha1, "b1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "image10", "A1", 11),
            ],
            tombstones: &[],
            skipped: &[("unsupported kind photodna", 1)],
        },
        // willupdate and willdelete, one md5 each.
        "ncmec-entries3.xml" => Expect {
            format: ListFormat::Ncmec,
            records: &[
                (Md5, "facefacefacefacefacefacefaceface", "willupdate", "A1", 10),
                (Md5, "bacebacebacebacebacebacebacebace", "willdelete", "A1", 19),
            ],
            tombstones: &[],
            skipped: &[],
        },
        // willupdate reclassified A2; willdelete deleted.
        "ncmec-entries4.xml" => Expect {
            format: ListFormat::Ncmec,
            records: &[(Md5, "facefacefacefacefacefacefaceface", "willupdate", "A2", 10)],
            tombstones: &[("willdelete", 13)],
            skipped: &[],
        },
        // largetags: md5, and tmk-pdqf and videntifier given only as links.
        "ncmec-entries_large_fingerprints.xml" => Expect {
            format: ListFormat::Ncmec,
            records: &[(Md5, "facefacefacefacefacefacefaceface", "largetags", "A2", 10)],
            tombstones: &[],
            skipped: &[("tmk given only as a link (not fetched)", 1), ("unsupported kind videntifier", 1)],
        },
        "ncmec-entries_no_data.xml" => {
            Expect { format: ListFormat::Ncmec, records: &[], tombstones: &[], skipped: &[] }
        }
        // Two ImagePDQ records, both `Received` (live); StopNCII records carry no id.
        "stopncii-fetchhashes-page1.json" => Expect {
            format: ListFormat::Json,
            records: &[
                (Pdq, "2afc4a5c09628a7961c14d436493bba66b89b831453baa1d556ba385554daa82", "", "", 7),
                (Pdq, "79e07de27d7295339435d63cd31cf35a7bfa29eb2885008500a588a5ea3ae75a", "", "", 19),
            ],
            tombstones: &[],
            skipped: &[],
        },
        // One ImagePDQ record, `Active`.
        "stopncii-fetchhashes-page2.json" => Expect {
            format: ListFormat::Json,
            records: &[(Pdq, "9def0b7dafa86a1c90f2abd78e79ceb25ec3d1a4b3d4bc7a4354baf7717ea038", "", "", 7)],
            tombstones: &[],
            skipped: &[],
        },
        _ => return None,
    })
}

fn read(dir: &std::path::Path, name: &str) -> ListFile {
    ListFile::read(&dir.join(name), &ParseOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn check(name: &str, p: &ParsedList, want: &Expect) {
    assert_eq!(p.format, want.format, "{name}");
    assert!(p.rejects.is_empty(), "{name}: {:?}", p.rejects);
    let got: Vec<_> =
        p.records.iter().map(|r| (r.value, r.id.as_str(), r.label.as_str(), r.line, r.deleted)).collect();
    let expected: Vec<_> = want
        .records
        .iter()
        .map(|&(k, hex, id, label, line)| (HashValue::parse(k, hex).unwrap(), id, label, line, false))
        .collect();
    assert_eq!(got, expected, "{name}");
    let tombs: Vec<_> = p.tombstones.iter().map(|t| (t.id.as_str(), t.line)).collect();
    assert_eq!(tombs, want.tombstones, "{name}");
    let skipped: BTreeMap<String, u64> = want.skipped.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(p.skipped, skipped, "{name}");
}

#[test]
fn every_shared_list_sample_reads_as_expected() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("lists");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    assert!(!names.is_empty(), "{} holds no samples", dir.display());
    for name in &names {
        let want =
            expectations(name).unwrap_or_else(|| panic!("{name}: new sample, add its expected counts"));
        let source = read(&dir, name);
        check(name, &source.list, &want);
        // The same bytes gzip-compressed read the same.
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let packed = lists::parse(&gz.finish().unwrap(), &ParseOptions::default()).unwrap();
        assert!(packed.gzip);
        check(name, &packed, &want);
    }
}

#[test]
fn ncmec_pages_3_then_4_update_and_delete() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("lists");
    let mut catalog = Catalog::default();
    let opts = delta::ApplyOptions { mode: delta::Mode::Delta, imported_at: 100 };
    let first = delta::apply(&mut catalog, "ncmec", &[read(&dir, "ncmec-entries3.xml")], &opts);
    assert_eq!((first.counts.added, first.version), (2, 1));
    let second = delta::apply(&mut catalog, "ncmec", &[read(&dir, "ncmec-entries4.xml")], &opts);
    // willupdate: A1 -> A2 (updated); willdelete: tombstoned (removed).
    assert_eq!((second.counts.added, second.counts.updated, second.counts.removed), (0, 1, 1));
    assert_eq!(second.version, 2);
    assert_eq!(catalog.entries.len(), 1);
    assert_eq!((catalog.entries[0].id.as_str(), catalog.entries[0].label.as_str()), ("willupdate", "A2"));
}

#[test]
fn all_ncmec_pages_as_one_import() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("lists");
    let names = [
        "ncmec-entries.xml",
        "ncmec-entries2.xml",
        "ncmec-entries3.xml",
        "ncmec-entries4.xml",
        "ncmec-entries_large_fingerprints.xml",
        "ncmec-entries_no_data.xml",
    ];
    let sources: Vec<ListFile> = names.iter().map(|n| read(&dir, n)).collect();
    let mut catalog = Catalog::default();
    let opts = delta::ApplyOptions { mode: delta::Mode::Delta, imported_at: 7 };
    let out = delta::apply(&mut catalog, "ncmec", &sources, &opts);
    // Keys: image1 md5+sha1, video1 md5+sha1, image10 md5+sha1, willupdate md5 (3 times,
    // last label A2 from page 4... then largetags has the same md5 with another id),
    // willdelete md5 (tombstoned later in page 4), largetags md5.
    // Live distinct (value, id): 6 + willupdate + largetags = 8; willdelete never lands.
    assert_eq!(out.counts.added, 8);
    assert_eq!((out.counts.removed, out.counts.updated, out.counts.unchanged), (0, 0, 0));
    assert_eq!(out.counts.skipped, 4, "2 pdna, 1 tmk-pdqf, 1 videntifier");
    assert_eq!(out.counts.rejected, 0);
    let info = &catalog.lists[0];
    assert_eq!(info.source.split(", ").collect::<Vec<_>>(), names);
    assert_eq!(info.source_sha256.split(',').count(), names.len());
    let willupdate = catalog.entries.iter().find(|e| e.id == "willupdate").unwrap();
    assert_eq!(willupdate.label, "A2");
    // Again: nothing changes.
    let before = catalog.entries.clone();
    let again = delta::apply(&mut catalog, "ncmec", &sources, &opts);
    assert_eq!((again.counts.unchanged, again.changed, again.version), (8, false, 1));
    assert_eq!(catalog.entries, before);
}

#[test]
fn stopncii_pages_import() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("lists");
    let sources =
        [read(&dir, "stopncii-fetchhashes-page1.json"), read(&dir, "stopncii-fetchhashes-page2.json")];
    let mut catalog = Catalog::default();
    let out = delta::apply(&mut catalog, "stopncii", &sources, &delta::ApplyOptions::default());
    assert_eq!(out.counts.added, 3);
    assert!(catalog.entries.iter().all(|e| e.value.kind() == Kind::Pdq && e.lists == [0]));
}
