//! Standard base64 with padding (RFC 4648 section 4): for HTTP basic authentication, for
//! file names that are not UTF-8 in JSON output, and for ThreatExchange's TMK text form.

/// `bytes` in standard base64 with padding.
///
/// ```
/// assert_eq!(mediamatch::base64::encode(b"foobar"), "Zm9vYmFy");
/// assert_eq!(mediamatch::base64::encode(b"fo"), "Zm8=");
/// ```
pub fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (RFC 4648 section 4) decoded onto `out`, accepting what Java's basic
/// decoder accepts: no characters outside the alphabet, `=` only as the final unit's
/// padding (which may be left out, but must be complete if present), and no lone final
/// character. The error says what is wrong.
pub fn decode(text: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let data_len = text.iter().position(|&c| c == b'=').unwrap_or(text.len());
    let (data, padding) = text.split_at(data_len);
    let tail = data.len() % 4;
    match (tail, padding.len()) {
        (0, 0) | (2, 0) | (3, 0) | (2, 2) | (3, 1) => {}
        (1, _) => return Err("base64 ends with a lone character"),
        _ => return Err("base64 padding is misplaced or incomplete"),
    }
    if padding.iter().any(|&c| c != b'=') {
        return Err("base64 has data after its padding");
    }
    for chunk in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = value(c).ok_or("base64 has a character outside its alphabet")?;
            n |= v << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    /// RFC 4648 section 10's test vectors.
    const RFC_4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn matches_rfc_4648() {
        for (plain, coded) in RFC_4648 {
            assert_eq!(encode(plain.as_bytes()), coded);
        }
        assert_eq!(encode(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn base64_decodes_like_javas_basic_decoder() {
        let decode = |s: &str| {
            let mut out = Vec::new();
            decode(s.as_bytes(), &mut out).map(|()| out)
        };
        // With and without padding.
        for (plain, coded) in RFC_4648 {
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
            assert_eq!(decode(coded.trim_end_matches('=')).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode("Zm9vYmE").unwrap(), b"fooba");
        assert_eq!(decode("//4A").unwrap(), [0xff, 0xfe, 0x00]);
        for bytes in [&b""[..], b"a", b"ab", b"abc", b"\x00\xff\x10\x80"] {
            assert_eq!(decode(&encode(bytes)).unwrap(), bytes);
        }
        for bad in ["Z", "Zm9vY", "Zg=", "Zm8==", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-v", "=", "Zg=A"] {
            assert!(decode(bad).is_err(), "{bad:?} must not decode");
        }
    }
}
