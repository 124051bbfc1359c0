//! Running the `mediamatch` binary: the one runner of every CLI test.
//!
//! Every run starts in the crate directory (so `fixtures/...` paths work) unless a test
//! names another, reads an empty stdin unless given bytes, and captures stdout, stderr and
//! the exit status in a [`std::process::Output`].

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The crate directory (where `fixtures/` and `tests/data/` are).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of the binary under test, for a wrapper that runs it (`prlimit`, `time`).
pub fn binary() -> &'static str {
    // Set by cargo for integration tests and benches; `option_env!` lets an example share
    // these helpers.
    let Some(bin) = option_env!("CARGO_BIN_EXE_mediamatch") else {
        panic!("the mediamatch binary is known to integration tests and benches only")
    };
    bin
}

/// The binary as a [`Command`] in the crate directory, for a test that needs more control
/// (its own environment, a child it kills, ...).
pub fn mediamatch() -> Command {
    let mut cmd = Command::new(binary());
    cmd.current_dir(crate_dir());
    cmd
}

/// Runs `mediamatch ARGS` in the crate directory with an empty stdin.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    run_in(&crate_dir(), args, None)
}

/// Runs `mediamatch ARGS` in `cwd` with `stdin` on its standard input (empty when `None`).
pub fn run_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut cmd = mediamatch();
    cmd.args(args).current_dir(cwd).stdout(Stdio::piped()).stderr(Stdio::piped());
    let Some(bytes) = stdin else {
        return cmd.stdin(Stdio::null()).output().expect("run mediamatch");
    };
    let mut child = cmd.stdin(Stdio::piped()).spawn().expect("start mediamatch");
    {
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(bytes).expect("write stdin");
    }
    child.wait_with_output().expect("wait for mediamatch")
}

/// Runs `cmd` with an empty stdin, capturing stdout and stderr, and kills it after `limit`:
/// a hang fails the test (naming the command) instead of blocking the run.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
    // Both pipes are read while waiting, so a child that writes much cannot block on them.
    let (mut out, mut err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let stdout = std::thread::spawn(move || read_all(&mut out));
    let stderr = std::thread::spawn(move || read_all(&mut err));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn read_all(from: &mut impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    from.read_to_end(&mut bytes).expect("read the child's output");
    bytes
}

/// Output bytes as text (lossy: a test of exact bytes compares the bytes).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every line of `stdout` parsed as one JSON record of type `T`; a line that does not fit
/// `T` (with `deny_unknown_fields`, the schema) fails the test with the line.
pub fn json_lines<T: serde::de::DeserializeOwned>(stdout: &[u8]) -> Vec<T> {
    let text = std::str::from_utf8(stdout).expect("stdout is UTF-8");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}
