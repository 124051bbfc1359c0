//! `mediamatch import`.

use super::Exit;

/// Arguments of `mediamatch import`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mediamatch import` is not built yet")
}
