//! Reading never panics, whatever the bytes, in every format.

use mediamatch::lists::{self, ListFormat, ParseOptions};
use mediamatch::Kind;
use proptest::prelude::*;

fn all_formats(bytes: &[u8]) {
    for format in ListFormat::ALL {
        for strict in [false, true] {
            let opts = ParseOptions { format, kind: Some(Kind::Md5), strict, max_bytes: 1 << 20 };
            if let Ok(p) = lists::parse(bytes, &opts) {
                assert!(!strict || p.rejects.len() <= 1);
                assert!(p.records.iter().chain(std::iter::empty()).all(|r| r.line >= 1));
                assert!(p.rejects.iter().all(|r| r.line >= 1 && !r.reason.to_string().is_empty()));
            }
        }
    }
}

/// Pieces of real list syntax, so random inputs get past the first byte.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(",".to_string()),
        Just("\t".to_string()),
        Just("\"".to_string()),
        Just("#".to_string()),
        Just("pdq:".to_string()),
        Just("md5 ".to_string()),
        Just("hash,kind,id,status\n".to_string()),
        Just("{\"hashValue\":\"".to_string()),
        Just("\",\"signalType\":\"ImagePDQ\"}".to_string()),
        Just("{\"hashRecords\":[".to_string()),
        Just("]}".to_string()),
        Just("<queryResult><images><image><id>".to_string()),
        Just("</id><fingerprints><md5>".to_string()),
        Just("</md5></fingerprints></image><deletedImage><id>x</id></deletedImage>".to_string()),
        Just("</images></queryResult>".to_string()),
        Just("d41d8cd98f00b204e9800998ecf8427e".to_string()),
        Just("\u{feff}".to_string()),
        "[0-9a-fA-F]{0,70}",
        ".{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        all_formats(&bytes);
    }

    #[test]
    fn gzip_magic_then_anything(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut b = vec![0x1f, 0x8b];
        b.extend(bytes);
        all_formats(&b);
    }

    #[test]
    fn list_shaped_text(pieces in prop::collection::vec(piece(), 0..40)) {
        all_formats(pieces.concat().as_bytes());
    }
}
