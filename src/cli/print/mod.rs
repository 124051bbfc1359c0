//! One printer for every command: a [`Record`] in, the chosen format out.
//!
//! [`json`] writes each record as one line of JSON; [`csv`] writes the records that are
//! rows of a table (scan matches, hashes) under that table's header, and the others as
//! text; [`text`] writes human-readable lines, results on stdout and messages (errors,
//! files not checked, the scan's summary) on stderr. The printer does not lock or flush
//! on its own: a command that prints from several threads holds it in a `Mutex` and
//! flushes after each file, so lines never tear and no record waits in a buffer.

pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod text;

use std::io::Write;

use super::output::OutputFormat;
use super::record::Record;

/// Prints the one record of a command that answers with one (`info`, an import's summary)
/// to stdout in `format`.
pub(crate) fn print_one(format: OutputFormat, record: &Record<'_>) -> std::io::Result<()> {
    let mut printer = Printer::new(format, std::io::stdout().lock(), csv::Table::None);
    printer.print(record)?;
    printer.finish()
}

/// Writes records to `out` (and messages to stderr) in one format.
pub(crate) struct Printer<W: Write> {
    format: OutputFormat,
    out: W,
    table: csv::Table,
    wrote_header: bool,
    quiet: bool,
}

impl<W: Write> Printer<W> {
    /// A printer of `format` to `out`; CSV rows go under `table`'s header.
    pub(crate) fn new(format: OutputFormat, out: W, table: csv::Table) -> Printer<W> {
        Printer { format, out, table, wrote_header: false, quiet: false }
    }

    /// With `quiet`, the text messages about files not checked (not images, low
    /// quality) are left out; JSON still has their records.
    pub(crate) fn quiet(self, quiet: bool) -> Printer<W> {
        Printer { quiet, ..self }
    }

    /// Prints one record.
    pub(crate) fn print(&mut self, record: &Record<'_>) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Json => json::write(&mut self.out, record),
            OutputFormat::Csv if csv::is_row(record) => {
                self.header()?;
                csv::write(&mut self.out, record)
            }
            OutputFormat::Text | OutputFormat::Csv => text::write(&mut self.out, record, self.quiet),
        }
    }

    /// Ends the output: a CSV table with no rows still gets its header. Flushes.
    pub(crate) fn finish(&mut self) -> std::io::Result<()> {
        if self.format == OutputFormat::Csv {
            self.header()?;
        }
        self.flush()
    }

    /// Flushes what was printed.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn header(&mut self) -> std::io::Result<()> {
        if !self.wrote_header {
            self.wrote_header = true;
            writeln!(self.out, "{}", self.table.header())?;
        }
        Ok(())
    }
}
