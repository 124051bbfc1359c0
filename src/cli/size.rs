//! Sizes on the command line, shared by every flag that takes one.

/// A size: a number of bytes, or a number with `K`, `M`, `G` or `T` (powers of 1024;
/// `KB`, `KiB` and so on too).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("{s:?} is not a size (e.g. 500M, 4G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{s:?} is not a size (e.g. 500M, 4G)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("1kb"), Ok(1024));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("4X").is_err() && parse_size("").is_err() && parse_size("99999999999T").is_err());
    }
}
