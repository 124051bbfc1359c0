//! JSON Lines: each record as one object on one line, `type` first.

use std::io::Write;

use crate::cli::record::Record;

/// Writes `record` and a newline.
pub(crate) fn write(out: &mut impl Write, record: &Record<'_>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    writeln!(out)
}
