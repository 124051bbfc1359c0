//! `mediamatch scan`.

use super::Exit;

/// Arguments of `mediamatch scan`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch scan` is not built yet")
}
