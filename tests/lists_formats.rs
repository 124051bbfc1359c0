//! Every list format, alias, status spelling and reject, on the samples in
//! `tests/data/lists/` (written for these tests; the comments say what each line holds).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use mediamatch::lists::{self, ListError, ListFormat, ParseOptions, ParsedList, RejectReason, SKIP_VARIANT};
use mediamatch::{HashValue, Kind};

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lists").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(bytes: &[u8]) -> ParsedList {
    lists::parse(bytes, &ParseOptions::default()).expect("parses")
}

fn parse_with(bytes: &[u8], format: ListFormat, kind: Option<Kind>) -> ParsedList {
    lists::parse(bytes, &ParseOptions { format, kind, ..ParseOptions::default() }).expect("parses")
}

fn reject_lines(p: &ParsedList) -> Vec<u64> {
    p.rejects.iter().map(|r| r.line).collect()
}

fn record_lines(p: &ParsedList) -> Vec<u64> {
    p.records.iter().map(|r| r.line).collect()
}

fn skipped(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const PDQ1: &str = "2afc4a5c09628a7961c14d436493bba66b89b831453baa1d556ba385554daa82";
const PDQ2: &str = "79e07de27d7295339435d63cd31cf35a7bfa29eb2885008500a588a5ea3ae75a";

#[test]
fn plain_text_with_bom_crlf_comments_and_rejects() {
    let p = parse(&data("local.txt"));
    assert_eq!(p.format, ListFormat::Text);
    assert!(!p.gzip);
    // Lines 3-9 hold pdq, PDQ (upper case), md5, video_md5, sha1, sha256 (with a trailing
    // comment) and phash; 1 is a comment, 2 and 10 are blank.
    assert_eq!(record_lines(&p), [3, 4, 5, 6, 7, 8, 9]);
    let kinds: Vec<Kind> = p.records.iter().map(|r| r.value.kind()).collect();
    assert_eq!(kinds, [Kind::Pdq, Kind::Pdq, Kind::Md5, Kind::Md5, Kind::Sha1, Kind::Sha256, Kind::Phash]);
    assert_eq!(p.records[0].value, HashValue::parse(Kind::Pdq, PDQ1).unwrap());
    assert_eq!(p.records[1].value, HashValue::parse(Kind::Pdq, PDQ2).unwrap());
    assert!(p.records.iter().all(|r| !r.deleted && r.id.is_empty() && r.label.is_empty()));
    // 11: 64 hex digits without a kind; 12: a short PDQ; 14: crc32 is no kind we know.
    assert_eq!(reject_lines(&p), [11, 12, 14]);
    assert!(matches!(p.rejects[0].reason, RejectReason::NoKind(n) if n.digits == 64));
    assert!(p.rejects[0].reason.to_string().contains("never guessed"));
    assert!(matches!(p.rejects[1].reason, RejectReason::BadHash { kind: Kind::Pdq, .. }));
    assert!(matches!(&p.rejects[2].reason, RejectReason::UnknownKind(k) if k == "crc32"));
    // 13: PhotoDNA.
    assert_eq!(p.skipped, skipped(&[("unsupported kind photodna", 1)]));
}

#[test]
fn bare_hex_takes_the_default_kind() {
    let p = parse_with(&data("local.txt"), ListFormat::Auto, Some(Kind::Sha256));
    assert_eq!(record_lines(&p), [3, 4, 5, 6, 7, 8, 9, 11]);
    assert_eq!(p.records[7].value.kind(), Kind::Sha256);
    assert_eq!(reject_lines(&p), [12, 14]);
    // A kind written in the file wins over the default.
    assert_eq!(p.records[0].value.kind(), Kind::Pdq);
}

#[test]
fn strict_stops_at_the_first_reject() {
    let opts = ParseOptions { strict: true, ..ParseOptions::default() };
    let p = lists::parse(&data("local.txt"), &opts).unwrap();
    assert_eq!(reject_lines(&p), [11]);
    assert_eq!(record_lines(&p), [3, 4, 5, 6, 7, 8, 9]);
    assert!(p.skipped.is_empty(), "line 13 is after the stop");
}

#[test]
fn python_threatexchange_file_lines() {
    let p = parse(&data("pytx-signals.txt"));
    assert_eq!(p.format, ListFormat::Text);
    // 1 pdq, 2 video_md5, 4 photo_pdq; 3 raw_text, 5 url_md5 are skipped; 6's
    // video_tmk_pdqf value `AAAA` is not a TMK+PDQF signature.
    assert_eq!(record_lines(&p), [1, 2, 4]);
    assert_eq!(
        p.records.iter().map(|r| r.value.kind()).collect::<Vec<_>>(),
        [Kind::Pdq, Kind::Md5, Kind::Pdq]
    );
    assert_eq!(reject_lines(&p), [6]);
    assert!(matches!(&p.rejects[0].reason, RejectReason::BadTmk(_)), "{:?}", p.rejects);
    assert_eq!(p.skipped, skipped(&[("unsupported kind text", 1), ("unsupported kind url_md5", 1)]));
    // Reading it as `pytx` explicitly gives the same.
    let q = parse_with(&data("pytx-signals.txt"), ListFormat::Pytx, None);
    assert_eq!(q.records, p.records);
}

#[test]
fn tech_against_terrorism_json_array() {
    let p = parse(&data("tat-hash-list.json"));
    assert_eq!(p.format, ListFormat::Json);
    // Pretty-printed with 8 keys an object: objects open on lines 2, 12, 22, 32.
    assert_eq!(record_lines(&p), [2, 12, 22, 32]);
    let ids: Vec<&str> = p.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["2819", "2820", "2821", "2822"]);
    let labels: Vec<&str> = p.records.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["islamist", "far-right", "islamist", "islamist"]);
    let deleted: Vec<bool> = p.records.iter().map(|r| r.deleted).collect();
    assert_eq!(deleted, [false, true, false, false]);
    assert_eq!(p.records[2].value, HashValue::parse(Kind::Pdq, PDQ2).unwrap());
    assert_eq!(p.records[3].value.kind(), Kind::Sha256);
    assert!(p.rejects.is_empty());
}

#[test]
fn tech_against_terrorism_json_lines() {
    let p = parse(&data("tat-hash-list.jsonl"));
    assert_eq!(p.format, ListFormat::Jsonl);
    assert_eq!(record_lines(&p), [1, 2, 3, 4]);
    let array = parse(&data("tat-hash-list.json"));
    for (a, b) in p.records.iter().zip(&array.records) {
        assert_eq!((a.value, &a.id, &a.label, a.deleted), (b.value, &b.id, &b.label, b.deleted));
    }
    // 5: `zz` is no MD5; 6: the JSON is cut short.
    assert_eq!(reject_lines(&p), [5, 6]);
    assert!(matches!(p.rejects[0].reason, RejectReason::BadHash { kind: Kind::Md5, .. }));
    assert!(matches!(p.rejects[1].reason, RejectReason::BadJson(_)));
}

#[test]
fn stopncii_records_and_statuses() {
    let p = parse(&data("stopncii-records.jsonl"));
    assert_eq!(p.format, ListFormat::Jsonl);
    // 1 Received, 2 Active, 5 Active are live; 3 Withdrawn and 4 Deleted are deleted;
    // 6 is a VideoTMK whose value `AAAA` is not a signature; 7's status `Pending` is not
    // one we know.
    assert_eq!(record_lines(&p), [1, 2, 3, 4, 5]);
    assert_eq!(p.records.iter().map(|r| r.deleted).collect::<Vec<_>>(), [false, false, true, true, false]);
    assert_eq!(p.records[3].value.kind(), Kind::Md5, "VideoMD5");
    assert_eq!(reject_lines(&p), [6, 7]);
    assert!(matches!(&p.rejects[0].reason, RejectReason::BadTmk(_)), "{:?}", p.rejects);
    assert!(matches!(&p.rejects[1].reason, RejectReason::UnknownStatus(s) if s == "Pending"));
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
}

#[test]
fn csv_with_quotes_aliases_and_statuses() {
    let p = parse(&data("partner.csv"));
    assert_eq!(p.format, ListFormat::Csv);
    // Row 2 has quoted fields (a comma, doubled quotes), 3 is a comment; 10 has no kind;
    // 11 is NetClean; 12 writes `md5:HEX` in the hash column; 13's status `frozen` is unknown.
    assert_eq!(record_lines(&p), [2, 4, 5, 6, 7, 8, 9, 12]);
    let r = &p.records[0];
    assert_eq!((r.id.as_str(), r.label.as_str(), r.deleted), ("c-1", "CSAM, A1", false));
    // Status: '' live; removed, inactive, withdrawn, deleted, revoked deleted.
    let deleted: Vec<bool> = p.records.iter().map(|r| r.deleted).collect();
    assert_eq!(deleted, [false, false, true, true, true, true, true, false]);
    assert_eq!(p.records[2].value.kind(), Kind::Pdq, "photo_pdq");
    assert_eq!(p.records[7].id, "c-10");
    assert_eq!(reject_lines(&p), [10, 13]);
    assert!(matches!(p.rejects[0].reason, RejectReason::NoKind(_)));
    assert!(matches!(p.rejects[1].reason, RejectReason::UnknownStatus(_)));
    assert_eq!(p.skipped, skipped(&[("unsupported kind netclean", 1)]));
}

#[test]
fn a_csv_quote_open_at_the_line_end_rejects_that_line_and_reads_the_next() {
    // RFC 4180 would read rows 2-3 as one row, and an unbalanced quote as the rest of the
    // file; hash lists never break a field, so line 2 is rejected and 3, 4 read as rows.
    let csv = "hash,kind,label\r\na9f7e97965d6cf799a529102a973b8b9,md5,\"multi\r\n\
               25ea1682e16466c0667abdc095920f6c,md5,\"ok, \"\"quoted\"\"\"\r\n\
               5a34d1edaea4e32871b6f7503ad4727e,md5,x\"y\r\n";
    let p = lists::parse(csv.as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(reject_lines(&p), [2]);
    assert_eq!(p.rejects[0].reason, RejectReason::UnclosedQuote);
    assert_eq!(record_lines(&p), [3, 4]);
    assert_eq!((p.records[0].label.as_str(), p.records[1].label.as_str()), ("ok, \"quoted\"", "x\"y"));
    // Strict stops there, with that one reject.
    let strict = ParseOptions { strict: true, ..ParseOptions::default() };
    let p = lists::parse(csv.as_bytes(), &strict).unwrap();
    assert_eq!((reject_lines(&p), p.records.len()), (vec![2], 0));
    // Before the header there is no row to reject: the file fails.
    assert!(lists::parse(
        b"\"hash\nmd5:a9f7e97965d6cf799a529102a973b8b9\n",
        &ParseOptions { format: lists::ListFormat::Csv, ..ParseOptions::default() }
    )
    .is_err());
}

#[test]
fn tsv_and_its_gzip_read_the_same() {
    let p = parse(&data("partner.tsv"));
    assert_eq!(p.format, ListFormat::Tsv);
    assert_eq!(record_lines(&p), [2, 3, 4, 5, 6]);
    // deleted column: false, 0, yes, no, 1.
    assert_eq!(p.records.iter().map(|r| r.deleted).collect::<Vec<_>>(), [false, false, true, false, true]);
    assert_eq!(p.records[0].id, "t1");
    assert_eq!(p.records[4].value.kind(), Kind::Phash);
    let g = parse(&data("partner.tsv.gz"));
    assert!(g.gzip);
    assert_eq!(g.format, ListFormat::Tsv);
    assert_eq!(g.records, p.records);
}

#[test]
fn the_csv_of_mediamatch_hash() {
    let p = parse(&data("mediamatch-hash.csv"));
    assert_eq!(p.format, ListFormat::Csv);
    // 2 files x (pdq orig, phash orig, md5, sha1, sha256); their 2 x 2 x 7 rotated and
    // mirrored variants are skipped.
    assert_eq!(p.records.len(), 10);
    assert_eq!(p.skipped, skipped(&[(SKIP_VARIANT, 28)]));
    assert!(p.rejects.is_empty());
    assert_eq!(p.records[0].id, "uploads/upload, 1.jpg");
    assert_eq!(p.records[0].line, 2);
    let kinds: Vec<Kind> = p.records[..5].iter().map(|r| r.value.kind()).collect();
    assert_eq!(kinds, [Kind::Pdq, Kind::Phash, Kind::Md5, Kind::Sha1, Kind::Sha256]);
    assert_eq!(p.records[5].id, "uploads/b.jpg");
}

#[test]
fn every_alias_names_its_kind() {
    let hex = |k: Kind| "ab".repeat(k.byte_len());
    let cases: &[(&str, Kind)] = &[
        ("pdq", Kind::Pdq),
        ("PDQ", Kind::Pdq),
        ("ImagePDQ", Kind::Pdq),
        ("photo_pdq", Kind::Pdq),
        ("HASH_PDQ", Kind::Pdq),
        ("phash", Kind::Phash),
        ("pHash", Kind::Phash),
        ("md5", Kind::Md5),
        ("MD5", Kind::Md5),
        ("VideoMD5", Kind::Md5),
        ("video_md5", Kind::Md5),
        ("photo_md5", Kind::Md5),
        ("sha1", Kind::Sha1),
        ("SHA-1", Kind::Sha1),
        ("sha256", Kind::Sha256),
        ("SHA-256", Kind::Sha256),
        ("video_sha256", Kind::Sha256),
    ];
    for &(name, kind) in cases {
        for text in [format!("{name}:{}\n", hex(kind)), format!("{name} {}\n", hex(kind))] {
            let p = parse(text.as_bytes());
            assert_eq!(p.records.len(), 1, "{text:?}: {:?}", p.rejects);
            assert_eq!(p.records[0].value.kind(), kind, "{text:?}");
        }
        let csv = format!("hash,algorithm\n{},{name}\n", hex(kind));
        assert_eq!(parse(csv.as_bytes()).records[0].value.kind(), kind, "{csv:?}");
        let json = format!("{{\"signalType\": \"{name}\", \"hashValue\": \"{}\"}}\n", hex(kind));
        assert_eq!(parse(json.as_bytes()).records[0].value.kind(), kind, "{json:?}");
    }
}

#[test]
fn tmk_names_are_known_and_a_value_must_be_a_signature() {
    for name in ["TMK", "TMK_PDQF", "tmk-pdqf", "video_tmk_pdqf", "VideoTMK", "HASH_TMK"] {
        // Not a signature, and a bare digest adding an entry: both rejected as TMK values.
        let text = format!("{name}:0123\n{name} {}\n", "ab".repeat(32));
        let p = parse(text.as_bytes());
        assert!(p.records.is_empty() && p.skipped.is_empty(), "{name}: {p:?}");
        assert_eq!(reject_lines(&p), [1, 2], "{name}");
        assert!(p.rejects.iter().all(|r| matches!(r.reason, RejectReason::BadTmk(_))), "{name}: {p:?}");
        // A bare digest can withdraw.
        let withdraw = format!("hash,kind,status\n{},{name},deleted\n", "ab".repeat(32));
        let p = parse(withdraw.as_bytes());
        assert_eq!(p.records.len(), 1, "{name}: {:?}", p.rejects);
        assert_eq!(p.records[0].value.kind(), Kind::Tmk);
        assert!(p.records[0].deleted);
    }
}

#[test]
fn uncomputable_kinds_are_skipped_not_rejected() {
    let cases: &[(&str, &str)] = &[
        ("PhotoDNA", "photodna"),
        ("pdna", "photodna"),
        ("NetClean", "netclean"),
        ("Videntifier", "videntifier"),
        ("SSVH", "ssvh"),
    ];
    for &(name, canonical) in cases {
        let text = format!("{name}:0123\n{name} whatever value\n");
        let p = parse(text.as_bytes());
        assert!(p.records.is_empty() && p.rejects.is_empty(), "{name}: {p:?}");
        assert_eq!(p.skipped, skipped(&[(&format!("unsupported kind {canonical}"), 2)]), "{name}");
    }
}

#[test]
fn every_status_spelling() {
    let deleted = [
        "deleted",
        "Deleted",
        "delete",
        "withdrawn",
        "Withdrawn",
        "removed",
        "remove",
        "inactive",
        "revoked",
        "true",
        "1",
        "yes",
        "y",
    ];
    let live = [
        "", "active", "Active", "received", "Received", "false", "0", "no", "n", "Unknown", "live", "new",
        "added", "add",
    ];
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    for (spellings, want) in [(&deleted[..], true), (&live[..], false)] {
        for s in spellings {
            for column in ["status", "deleted", "hashStatus"] {
                let csv = format!("hash,kind,{column}\n{md5},md5,{s}\n");
                let p = parse(csv.as_bytes());
                assert_eq!(p.records.len(), 1, "{csv:?}: {:?}", p.rejects);
                assert_eq!(p.records[0].deleted, want, "{csv:?}");
            }
            let json = format!(
                "{{\"hashValue\": \"{md5}\", \"signalType\": \"VideoMD5\", \"hashStatus\": \"{s}\"}}"
            );
            assert_eq!(parse(json.as_bytes()).records[0].deleted, want, "{json}");
        }
    }
    // JSON booleans and numbers (Tech Against Terrorism's `deleted`).
    for (v, want) in [("true", true), ("false", false), ("1", true), ("0", false), ("null", false)] {
        let json = format!("{{\"hash_digest\": \"{md5}\", \"algorithm\": \"MD5\", \"deleted\": {v}}}");
        assert_eq!(parse(json.as_bytes()).records[0].deleted, want, "{json}");
    }
}

#[test]
fn stopncii_page_on_one_line_and_pages_in_jsonl() {
    let page = format!(
        "{{\"count\":2,\"hasMoreRecords\":false,\"hashRecords\":[{{\"signalType\":\"ImagePDQ\",\"hashValue\":\"{PDQ1}\",\"hashStatus\":\"Active\"}},{{\"signalType\":\"ImagePDQ\",\"hashValue\":\"{PDQ2}\",\"hashStatus\":\"Deleted\"}}]}}"
    );
    let two = format!("{page}\n{page}\n");
    let p = parse(two.as_bytes());
    assert_eq!(p.format, ListFormat::Jsonl);
    assert_eq!(record_lines(&p), [1, 1, 2, 2]);
    assert_eq!(p.records.iter().map(|r| r.deleted).collect::<Vec<_>>(), [false, true, false, true]);
    // As a document, too.
    let q = parse_with(two.as_bytes(), ListFormat::Stopncii, None);
    assert_eq!(q.records, p.records);
}

#[test]
fn gzip_of_every_sample_reads_like_the_sample() {
    for name in ["local.txt", "pytx-signals.txt", "tat-hash-list.json", "tat-hash-list.jsonl", "partner.csv"]
    {
        let plain = parse(&data(name));
        let packed = parse(&gzip(&data(name)));
        assert!(packed.gzip && !plain.gzip);
        assert_eq!(
            (packed.format, &packed.records, &packed.rejects),
            (plain.format, &plain.records, &plain.rejects)
        );
    }
}

/// A whole-file error case: what it is, the bytes, the options, and the error expected.
struct FileErrorCase {
    what: &'static str,
    bytes: Vec<u8>,
    options: ParseOptions,
    expect: fn(&ListError) -> bool,
}

#[test]
fn whole_file_errors() {
    let defaults = ParseOptions::default;
    let gz = gzip(&data("partner.csv"));
    let cases = [
        FileErrorCase {
            what: "a CSV read as such needs a hash column",
            bytes: b"name,size\na,1\n".to_vec(),
            options: ParseOptions { format: ListFormat::Csv, ..defaults() },
            expect: |e| matches!(e, ListError::NoHashColumn { .. }),
        },
        FileErrorCase {
            what: "UTF-16 is refused with advice",
            bytes: b"\xff\xfeh\0".to_vec(),
            options: defaults(),
            expect: |e| matches!(e, ListError::Utf16),
        },
        FileErrorCase {
            what: "truncated gzip",
            bytes: gz[..gz.len() / 2].to_vec(),
            options: defaults(),
            expect: |e| matches!(e, ListError::Gzip(_)),
        },
        FileErrorCase {
            what: "a gzip bomb beyond the limit",
            bytes: gzip(&vec![b'#'; 1 << 20]),
            options: ParseOptions { max_bytes: 1000, ..defaults() },
            expect: |e| matches!(e, ListError::TooLarge { limit: 1000 }),
        },
        FileErrorCase {
            what: "broken XML says where",
            bytes: b"<queryResult>\n<images>\n</queryResult>".to_vec(),
            options: defaults(),
            expect: |e| matches!(e, ListError::Xml { line: 3, .. }),
        },
        FileErrorCase {
            what: "broken JSON says where",
            bytes: b"{\n\"hashRecords\": [\n{\"a\": }\n]}".to_vec(),
            options: defaults(),
            expect: |e| matches!(e, ListError::Json { line: 3, .. }),
        },
    ];
    for case in &cases {
        match lists::parse(&case.bytes, &case.options) {
            Err(e) => assert!((case.expect)(&e), "{}: {e:?}", case.what),
            Ok(p) => panic!("{}: parsed, {} records", case.what, p.records.len()),
        }
    }
}

#[test]
fn invalid_utf8_lines_are_rejected_alone() {
    let p = parse(b"md5:d41d8cd98f00b204e9800998ecf8427e\n\xff\xfe bad\nsha1:da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
    assert_eq!(record_lines(&p), [1, 3]);
    assert_eq!(reject_lines(&p), [2]);
    assert_eq!(p.rejects[0].reason, RejectReason::NotUtf8);
}

#[test]
fn kind_column_and_prefix_must_agree() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    let p = parse(format!("hash,kind\nmd5:{md5},VideoMD5\nsha1:{md5},md5\n").as_bytes());
    assert_eq!(record_lines(&p), [2]);
    assert_eq!(reject_lines(&p), [3]);
    assert!(matches!(p.rejects[0].reason, RejectReason::KindConflict { .. }));
}

#[test]
fn formats_by_name() {
    for f in ListFormat::ALL {
        assert_eq!(f.name().parse::<ListFormat>().unwrap(), f);
    }
    assert_eq!("JSONL".parse::<ListFormat>().unwrap(), ListFormat::Jsonl);
    assert!("xml".parse::<ListFormat>().is_err());
}

#[test]
fn source_keeps_name_and_sha256_of_the_stored_bytes() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partner.tsv.gz");
    std::fs::write(&path, data("partner.tsv.gz")).unwrap();
    let s = lists::ListFile::read(&path, &ParseOptions::default()).unwrap();
    assert_eq!(s.name, "partner.tsv.gz");
    let want: String =
        sha2::Sha256::digest(data("partner.tsv.gz")).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s.sha256, want);
    let missing = lists::ListFile::read(&dir.path().join("nope.csv"), &ParseOptions::default());
    assert!(missing.unwrap_err().to_string().contains("nope.csv"));
}

/// HTML pages in the spellings proxies and login walls send, for `lists::parse`.
const HTML_PAGES: [&str; 6] = [
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body></body></html>\n",
    "<!doctype html><html lang=en><body>Sign in</body></html>",
    "\u{feff}  \n\t<HTML>\n<BODY>Login</BODY></HTML>\n",
    "<?xml version=\"1.0\"?>\n<!-- saved by a proxy -->\n<html xmlns=\"http://www.w3.org/1999/xhtml\"></html>",
    "<html>",
    "\r\n<!-- no doctype -->\r\n<body>\r\n<queryResult/>\r\n</body>\r\n",
];

#[test]
fn html_pages_are_refused_as_html_by_auto_and_ncmec() {
    for page in HTML_PAGES {
        for bytes in [page.as_bytes().to_vec(), gzip(page.as_bytes())] {
            for format in [ListFormat::Auto, ListFormat::Ncmec] {
                let err =
                    lists::parse(&bytes, &ParseOptions { format, ..ParseOptions::default() }).unwrap_err();
                assert!(matches!(err, ListError::Html { .. }), "{format} {page:?}: {err:?}");
                assert!(err.to_string().starts_with("looks like an HTML page, not a hash list"), "{err}");
            }
        }
    }
    // XML that only resembles HTML is still NCMEC XML.
    for page in
        ["<queryResult><images/></queryResult>", "<htmlish/>", "<?xml version=\"1.0\"?><queryResult/>"]
    {
        let err = lists::parse(page.as_bytes(), &ParseOptions::default());
        assert!(!matches!(err, Err(ListError::Html { .. })), "{page}: {err:?}");
    }
}

#[test]
fn gzip_limit_is_exact_in_one_pass() {
    let body = vec![b'#'; 100_000];
    let opts = |max_bytes| ParseOptions { max_bytes, ..ParseOptions::default() };
    // Inflating to exactly the limit is read; one byte more is refused.
    let packed = gzip(&body);
    assert!(lists::parse(&packed, &opts(100_000)).is_ok());
    assert!(matches!(lists::parse(&packed, &opts(99_999)), Err(ListError::TooLarge { limit: 99_999 })));
    // Two members: the trailer states only the last one's size.
    let mut two = gzip(&body[..10]);
    two.extend(gzip(&body[10..]));
    assert!(lists::parse(&two, &opts(100_000)).is_ok());
    assert!(matches!(lists::parse(&two, &opts(99_999)), Err(ListError::TooLarge { .. })));
    // A trailer that lies (states 16 bytes) neither lifts the limit nor truncates the list.
    let mut lying = gzip(format!("md5:{}\n{}", "0".repeat(32), "#".repeat(100_000)).as_bytes());
    let at = lying.len() - 4;
    lying[at..].copy_from_slice(&16u32.to_le_bytes());
    assert!(matches!(
        lists::parse(&lying, &opts(1000)),
        Err(ListError::Gzip(_) | ListError::TooLarge { .. })
    ));
}
