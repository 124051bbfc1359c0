//! CSV: the rows of a command's table (RFC 4180 quoting), under a header row.
//!
//! `scan` prints one row per match; `hash` prints one row per hash (`kind,hash,quality,
//! variant,id` with the path as id: a hash list that `build` and `import` read back).
//! Records that are not rows of a table are printed as text.

use std::io::Write;

use mediamatch::Variant;

use crate::cli::record::{FileHashes, Record, ScanMatch};

/// The CSV table a command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// `scan`: one row per match (and per weak candidate with `--show-weak`, `weak` true).
    Matches,
    /// `hash`: one row per hash, a hash list.
    Hashes,
    /// A command without CSV output (its `--format` does not offer it).
    None,
}

impl Table {
    /// The header row.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Table::Matches => {
                "path,kind,distance,evalue,variant,list,id,label,trimmed,extended,corroborated,kinds,frame,seconds,query_percent,compared_percent,level1,level2,weak"
            }
            Table::Hashes => "kind,hash,quality,variant,id",
            Table::None => "",
        }
    }
}

/// Whether `record` is printed as CSV rows (else as text).
pub(crate) fn is_row(record: &Record<'_>) -> bool {
    matches!(record, Record::Match(_) | Record::Weak(_) | Record::Hash(_))
}

/// Writes the rows of `record` (nothing for a record that is not a row).
pub(crate) fn write(out: &mut impl Write, record: &Record<'_>) -> std::io::Result<()> {
    match record {
        Record::Match(m) => scan_match(out, m, false),
        Record::Weak(m) => scan_match(out, m, true),
        Record::Hash(h) => hashes(out, h),
        _ => Ok(()),
    }
}

fn scan_match(out: &mut impl Write, m: &ScanMatch<'_>, weak: bool) -> std::io::Result<()> {
    writeln!(
        out,
        "{},{},{},{:e},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{weak}",
        field(&m.path.text),
        m.kind,
        m.distance,
        m.evalue,
        m.variant.unwrap_or(""),
        field(m.list),
        field(m.id),
        field(m.label),
        m.trimmed,
        m.extended,
        m.corroborated,
        m.kinds.join("+"),
        m.frame.map(|f| f.to_string()).unwrap_or_default(),
        m.seconds.map(|s| format!("{s:.3}")).unwrap_or_default(),
        m.query_percent.map(|p| format!("{p:.1}")).unwrap_or_default(),
        m.compared_percent.map(|p| format!("{p:.1}")).unwrap_or_default(),
        m.level1.map(|l| format!("{l:.6}")).unwrap_or_default(),
        m.level2.map(|l| format!("{l:.6}")).unwrap_or_default(),
    )
}

fn hashes(out: &mut impl Write, h: &FileHashes<'_>) -> std::io::Result<()> {
    let id = field(&h.path.text);
    let quality = h.pdq_quality.map(|q| q.to_string()).unwrap_or_default();
    for (kind, hash, quality, dihedral) in
        [("pdq", &h.pdq, quality.as_str(), &h.pdq_dihedral), ("phash", &h.phash, "", &h.phash_dihedral)]
    {
        let Some(hash) = hash else { continue };
        writeln!(out, "{kind},{hash},{quality},orig,{id}")?;
        for (v, hash) in Variant::ALL.iter().zip(dihedral.iter().flatten()).skip(1) {
            writeln!(out, "{kind},{hash},{quality},{v},{id}")?;
        }
    }
    for (kind, digest) in [("md5", &h.md5), ("sha1", &h.sha1), ("sha256", &h.sha256)] {
        if let Some(d) = digest {
            writeln!(out, "{kind},{d},,,{id}")?;
        }
    }
    Ok(())
}

/// Quotes a field when it holds a comma, quote or line break (RFC 4180).
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(field("a.jpg"), "a.jpg");
        assert_eq!(field("a,b.jpg"), "\"a,b.jpg\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
