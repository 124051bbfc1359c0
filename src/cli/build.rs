//! `mediamatch build`.

use super::Exit;

/// Arguments of `mediamatch build`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch build` is not built yet")
}
