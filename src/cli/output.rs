//! The one way every command chooses how its results are printed: `--format`.
//!
//! `scan` and `hash` print all three formats; `query`, `info` and `import` print text or
//! JSON (their records have no CSV table), so their flag takes [`text_or_json`]. `info`
//! and `import` keep their older `--json` as an alias of the JSON format ([`chosen`]).

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;

/// How results are printed on stdout.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Human-readable lines.
    Text,
    /// JSON Lines: one object per line with a `type` field.
    Json,
    /// CSV with a header row.
    Csv,
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_possible_value() {
            Some(v) => f.write_str(v.get_name()),
            None => Ok(()),
        }
    }
}

/// The `--format` parser of a command that prints text or JSON only (its `--help` lists
/// just those two).
pub(crate) fn text_or_json() -> impl TypedValueParser<Value = OutputFormat> {
    let values = [OutputFormat::Text, OutputFormat::Json];
    PossibleValuesParser::new(values.iter().filter_map(ValueEnum::to_possible_value))
        .try_map(|s| OutputFormat::from_str(&s, false))
}

/// The format asked for: `--json` (the older spelling) means JSON.
pub(crate) fn chosen(format: OutputFormat, json: bool) -> OutputFormat {
    if json {
        OutputFormat::Json
    } else {
        format
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_json_refuses_csv() {
        let cmd = clap::Command::new("t");
        let parse = |s: &str| text_or_json().parse_ref(&cmd, None, std::ffi::OsStr::new(s));
        assert_eq!(parse("json").unwrap(), OutputFormat::Json);
        assert_eq!(parse("text").unwrap(), OutputFormat::Text);
        assert!(parse("csv").is_err());
        assert_eq!(OutputFormat::Csv.to_string(), "csv");
        assert_eq!(chosen(OutputFormat::Text, true), OutputFormat::Json);
    }
}
