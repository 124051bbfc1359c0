//! `mediamatch audit verify`: checks the chain of a `serve` audit trail.

use std::path::PathBuf;

use anyhow::Context;
use mediamatch::serve::audit::{verify, GENESIS};

use super::Exit;

/// Arguments of `mediamatch audit`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Check that no record of an audit trail was changed, removed or inserted; print the
    /// head hash to pin elsewhere (exit 0 intact, 2 broken or unreadable).
    Verify {
        /// The audit trail (JSON Lines), or several files of one trail in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let Command::Verify { files } = args.command;
    let mut joined: Vec<u8> = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("{}", f.display()))?;
        joined.extend_from_slice(&bytes);
    }
    let names = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + ");
    match verify(joined.as_slice()) {
        Ok(report) => {
            let start = if report.first_prev == GENESIS {
                "from the start".to_string()
            } else {
                format!(
                    "continuing after seq {} (prev {})",
                    report.first_seq.saturating_sub(1),
                    report.first_prev
                )
            };
            println!("{names}: {} records intact, {start}; head {}", report.records, report.head);
            Ok(Exit::Success)
        }
        Err(e) => {
            eprintln!("mediamatch: {names}: audit trail broken: {e}");
            Ok(Exit::Error)
        }
    }
}
