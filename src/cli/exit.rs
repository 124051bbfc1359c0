//! Exit codes, chosen once at the end of a run (ripgrep's convention).

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Success: for `scan` and `query`, at least one match was found.
    Success,
    /// The run worked but found nothing (`scan`, `query`).
    NoMatch,
    /// Something went wrong (a file could not be read, a bad argument, a damaged index).
    Error,
}

impl Exit {
    /// The process exit code: 0, 1 or 2.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::NoMatch => 1,
            Exit::Error => 2,
        }
    }

    /// The exit of a search run: an error wins, then a match, then none.
    pub(crate) fn of_search(matched: bool, errored: bool) -> Exit {
        if errored {
            Exit::Error
        } else if matched {
            Exit::Success
        } else {
            Exit::NoMatch
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_exit_codes() {
        assert_eq!(Exit::of_search(true, false).code(), 0);
        assert_eq!(Exit::of_search(false, false).code(), 1);
        assert_eq!(Exit::of_search(true, true).code(), 2);
        assert_eq!(Exit::of_search(false, true).code(), 2);
    }
}
