//! `mediamatch verify`.

use super::Exit;

/// Arguments of `mediamatch verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch verify` is not built yet")
}
