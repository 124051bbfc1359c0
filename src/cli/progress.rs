//! A progress line on stderr (indicatif), shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files/s, matches and errors while a scan runs; an ETA when the total is known.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress display if `wanted` and stderr is a terminal; otherwise nothing.
    pub(crate) fn new(wanted: bool, total: Option<u64>) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} files, {per_sec}, ETA {eta} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {pos} files, {per_sec} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Progress { bar: Some(bar) }
    }

    /// One more file done.
    pub(crate) fn tick(&self, matches: u64, errors: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("{matches} matches, {errors} errors"));
        }
    }

    /// Runs `f` with the progress line hidden, so other output does not mix with it.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the progress line.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
