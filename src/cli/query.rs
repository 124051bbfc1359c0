//! `mediamatch query`.

use super::Exit;

/// Arguments of `mediamatch query`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch query` is not built yet")
}
