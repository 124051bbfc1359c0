//! `mediamatch info`.

use super::Exit;

/// Arguments of `mediamatch info`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch info` is not built yet")
}
