//! Decoding video out of process: Debian's `ffprobe` and `ffmpeg` (5.1) as child processes,
//! raw RGB frames on a pipe.
//!
//! Video decoders are large C code bases that see hostile files, so they never run inside
//! mediamatch: a crash, a hang or a memory blow-up is the child's, and ends as an error for
//! that one file. Each child:
//!
//! - reads only the named local file: `-protocol_whitelist file` (no network, no other
//!   protocol a playlist could name), the first video stream only (`-map 0:v:0`), no audio,
//!   subtitles or data, and no input from the terminal (`-nostdin`);
//! - runs under `prlimit` (util-linux) with a cap on its address space and on its CPU
//!   seconds, and is killed at a wall-clock deadline; without `prlimit` on the machine only
//!   the deadline applies;
//! - is refused before decoding when the probe reports a frame larger than
//!   [`VideoLimits::max_pixels`] or a duration over [`VideoLimits::max_seconds`], and stopped
//!   after [`VideoLimits::max_frames`] frames.
//!
//! Frames are converted by ffmpeg's swscale to RGB24 at the stream's own size with
//! `-sws_flags area+accurate_rnd` (the `SWS_AREA` that Meta's vPDQ uses, with exact
//! rounding: on Meta's sample videos 94.6% of the frames hash bit-identically to Meta's
//! reference hashes with it, 51.9% without), in decoding order with none dropped or
//! duplicated (`-fps_mode passthrough`). The file is read where it is; nothing is copied.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits on one video's decode.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoLimits {
    /// Largest frame, in pixels (default 8,294,400: 3840x2160).
    pub max_pixels: u64,
    /// Longest duration the container may declare, in seconds (default 3 hours).
    pub max_seconds: f64,
    /// Most frames decoded (default 500,000); a longer video is an error.
    pub max_frames: u64,
    /// Wall-clock budget of the whole decode (default 10 minutes).
    pub timeout: Duration,
    /// CPU seconds the decoder may use (default 600).
    pub cpu_seconds: u64,
    /// Address space of the decoder process in bytes (default 4 GiB).
    pub memory_bytes: u64,
}

impl Default for VideoLimits {
    fn default() -> VideoLimits {
        VideoLimits {
            max_pixels: 3840 * 2160,
            max_seconds: 3.0 * 3600.0,
            max_frames: 500_000,
            timeout: Duration::from_secs(600),
            cpu_seconds: 600,
            memory_bytes: 4 << 30,
        }
    }
}

/// What can go wrong decoding a video.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// `ffmpeg` or `ffprobe` is not installed.
    #[error("video decoding is unavailable: `{0}` was not found (install ffmpeg)")]
    Unavailable(&'static str),
    /// The file has no video stream, or the probe could not read it.
    #[error("not a video ffmpeg can read: {0}")]
    NotVideo(String),
    /// Over a limit.
    #[error("refused: {0}")]
    TooLarge(String),
    /// The decoder failed, crashed, or was stopped at a limit.
    #[error("the decoder failed: {0}")]
    Decoder(String),
    /// Reading the decoder's output failed.
    #[error("reading the decoder's output: {0}")]
    Io(#[from] std::io::Error),
}

/// What the probe says about the first video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second: the stream's average frame rate, else its base rate (as vPDQ).
    pub frame_rate: f64,
    /// The declared duration in seconds, if any.
    pub duration: Option<f64>,
}

/// Whether `ffmpeg` and `ffprobe` can be run here.
pub fn available() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A command for `tool` under `prlimit` (address space and CPU seconds) when util-linux's
/// `prlimit` is installed, with no stdin.
pub(crate) fn limited(tool: &str, limits: &VideoLimits) -> Command {
    static PRLIMIT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let has_prlimit = *PRLIMIT.get_or_init(|| {
        Command::new("prlimit")
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let mut cmd = if has_prlimit {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={}", limits.memory_bytes))
            .arg(format!("--cpu={}", limits.cpu_seconds))
            .arg("--")
            .arg(tool);
        c
    } else {
        Command::new(tool)
    };
    cmd.stdin(Stdio::null());
    cmd
}

/// Where a child reads the video from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file, by path.
    File(&'a Path),
    /// Bytes held in memory ([`MemoryFile`]).
    Memory(&'a MemoryFile),
}

impl<'a> From<&'a Path> for Source<'a> {
    fn from(path: &'a Path) -> Source<'a> {
        Source::File(path)
    }
}

impl<'a> From<&'a std::path::PathBuf> for Source<'a> {
    fn from(path: &'a std::path::PathBuf) -> Source<'a> {
        Source::File(path)
    }
}

/// Bytes held in an anonymous in-memory file (Linux `memfd_create`), for a video that
/// arrived in memory (an upload to `mediamatch serve`). The child gets it as its standard
/// input and opens it as the file `/dev/stdin`, so it can seek: an MP4 whose index is at
/// its end cannot be read from a pipe. Nothing is written to disk, no name is visible in
/// the file system, and the memory is freed when the value and the children are gone.
#[derive(Debug)]
pub struct MemoryFile {
    file: std::fs::File,
}

impl MemoryFile {
    /// A memory file holding `bytes` (an error where the system has no memory files).
    pub fn new(bytes: &[u8]) -> Result<MemoryFile, VideoError> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{memfd_create, MemfdFlags};
            use std::io::Write;
            let fd = memfd_create("mediamatch-video", MemfdFlags::CLOEXEC)
                .map_err(|e| VideoError::Decoder(format!("cannot hold the video in memory: {e}")))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(bytes)?;
            Ok(MemoryFile { file })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = bytes;
            Err(VideoError::Decoder("videos held in memory are decoded on Linux only".into()))
        }
    }
}

/// The input arguments every child gets: only this local file (for a [`MemoryFile`], the
/// child's standard input, opened as a file).
pub(crate) fn input_args(cmd: &mut Command, source: Source<'_>) -> Result<(), VideoError> {
    cmd.args(["-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file", "-i"]);
    match source {
        Source::File(path) => {
            // A path starting with `-` would read as an option; `file:` names it as a file.
            let mut arg = std::ffi::OsString::from("file:");
            arg.push(path.as_os_str());
            cmd.arg(arg);
        }
        Source::Memory(m) => {
            cmd.arg("file:/dev/stdin").stdin(Stdio::from(m.file.try_clone()?));
        }
    }
    Ok(())
}

/// The error of a child that did not start: [`VideoError::Unavailable`] when the tool is
/// not installed.
pub(crate) fn spawn_error(tool: &'static str, e: std::io::Error) -> VideoError {
    if e.kind() == std::io::ErrorKind::NotFound {
        VideoError::Unavailable(tool)
    } else {
        VideoError::Decoder(format!("cannot start {tool}: {e}"))
    }
}

/// Kills `child` when `deadline` passes, unless `done` is set first.
fn watchdog(child_id: u32, deadline: Duration, done: Arc<AtomicBool>, fired: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !done.load(Ordering::Relaxed) {
            fired.store(true, Ordering::Relaxed);
            let _ = Command::new("kill").arg("-KILL").arg(child_id.to_string()).status();
        }
    });
}

/// Reads the child's stderr (a few KB at most are kept) on a thread.
fn collect_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut err = child.stderr.take();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.take(8192).read_to_end(&mut buf);
            // Drain the rest so the child never blocks on a full pipe.
            let _ = std::io::copy(e, &mut std::io::sink());
        }
        let text = String::from_utf8_lossy(&buf);
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    })
}

/// Probes the first video stream of `path`.
pub fn probe(path: &Path, limits: &VideoLimits) -> Result<VideoInfo, VideoError> {
    probe_source(Source::File(path), limits)
}

/// [`probe`] of a file or of bytes in memory.
pub fn probe_source(source: Source<'_>, limits: &VideoLimits) -> Result<VideoInfo, VideoError> {
    let mut cmd = limited("ffprobe", limits);
    cmd.args([
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,avg_frame_rate,r_frame_rate:format=duration",
    ])
    .args(["-of", "json"]);
    input_args(&mut cmd, source)?;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error("ffprobe", e))?;
    let (done, fired) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    watchdog(child.id(), limits.timeout.min(Duration::from_secs(60)), Arc::clone(&done), Arc::clone(&fired));
    let stderr = collect_stderr(&mut child);
    let mut out = Vec::new();
    if let Some(o) = child.stdout.as_mut() {
        o.take(1 << 20).read_to_end(&mut out)?;
    }
    let status = child.wait()?;
    done.store(true, Ordering::Relaxed);
    let message = stderr.join().unwrap_or_default();
    if fired.load(Ordering::Relaxed) {
        return Err(VideoError::Decoder("the probe did not finish in time".into()));
    }
    if !status.success() {
        return Err(VideoError::NotVideo(if message.is_empty() {
            format!("ffprobe {status}")
        } else {
            message
        }));
    }
    parse_probe(&out)
}

/// The probe's JSON as a [`VideoInfo`].
fn parse_probe(json: &[u8]) -> Result<VideoInfo, VideoError> {
    let v: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| VideoError::NotVideo(format!("unreadable probe output: {e}")))?;
    let stream = v
        .get("streams")
        .and_then(|s| s.get(0))
        .ok_or_else(|| VideoError::NotVideo("no video stream".into()))?;
    let dim = |k: &str| {
        stream.get(k).and_then(serde_json::Value::as_u64).filter(|&d| d > 0 && d <= u32::MAX as u64)
    };
    let (Some(width), Some(height)) = (dim("width"), dim("height")) else {
        return Err(VideoError::NotVideo("the video stream has no frame size".into()));
    };
    let rate = |k: &str| -> Option<f64> {
        let (n, d) = stream.get(k)?.as_str()?.split_once('/')?;
        let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
        (n > 0.0 && d > 0.0).then(|| n / d)
    };
    let frame_rate = rate("avg_frame_rate")
        .or_else(|| rate("r_frame_rate"))
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| VideoError::NotVideo("the video stream has no frame rate".into()))?;
    let duration = v
        .get("format")
        .and_then(|f| f.get("duration"))
        .and_then(serde_json::Value::as_str)
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite());
    Ok(VideoInfo { width: width as u32, height: height as u32, frame_rate, duration })
}

/// Refuses a probed video whose frames are over [`VideoLimits::max_pixels`] or whose
/// declared duration is over [`VideoLimits::max_seconds`], before anything is decoded.
pub(crate) fn check_size(info: &VideoInfo, limits: &VideoLimits) -> Result<(), VideoError> {
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > limits.max_pixels {
        return Err(VideoError::TooLarge(format!(
            "{}x{} frames ({pixels} pixels; the limit is {})",
            info.width, info.height, limits.max_pixels
        )));
    }
    if let Some(d) = info.duration.filter(|&d| d > limits.max_seconds) {
        return Err(VideoError::TooLarge(format!(
            "{d:.0} s long (the limit is {:.0} s)",
            limits.max_seconds
        )));
    }
    Ok(())
}

/// Decodes the first video stream of `path` (probed as `info`), calling `frame(n, rgb)`
/// for every frame in decoding order with its RGB24 samples (`width * height * 3` bytes,
/// row-major, no padding). `frame` returns `false` to stop early. Returns the number of
/// frames decoded.
pub fn frames(
    path: &Path,
    info: &VideoInfo,
    limits: &VideoLimits,
    frame: impl FnMut(u64, &[u8]) -> bool,
) -> Result<u64, VideoError> {
    frames_every(Source::File(path), info, limits, 1, frame)
}

/// [`frames`] for the frames whose number `n` is a multiple of `step` only: ffmpeg's
/// `select` filter drops the others before they are converted to RGB and piped, which
/// is most of the work (every frame is still decoded). Returns the number of frames
/// delivered; [`VideoLimits::max_frames`] bounds the frame numbers.
pub fn frames_every(
    source: Source<'_>,
    info: &VideoInfo,
    limits: &VideoLimits,
    step: u64,
    mut frame: impl FnMut(u64, &[u8]) -> bool,
) -> Result<u64, VideoError> {
    let step = step.max(1);
    check_size(info, limits)?;
    let pixels = u64::from(info.width) * u64::from(info.height);
    let mut cmd = limited("ffmpeg", limits);
    cmd.arg("-nostdin").args(["-threads", "1"]);
    input_args(&mut cmd, source)?;
    cmd.args([
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-fps_mode",
        "passthrough",
        "-sws_flags",
        "area+accurate_rnd",
    ]);
    if step > 1 {
        // `n` is the frame's number in the stream, as in the callback's numbering.
        cmd.args(["-vf", &format!("select=not(mod(n\\,{step}))")]);
    }
    cmd.args(["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_error("ffmpeg", e))?;
    let (done, fired) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    watchdog(child.id(), limits.timeout, Arc::clone(&done), Arc::clone(&fired));
    let stderr = collect_stderr(&mut child);
    let size = (pixels * 3) as usize;
    let mut buf = vec![0u8; size];
    let (mut n, mut delivered) = (0u64, 0u64);
    let mut stopped = false;
    let mut short = false;
    if let Some(out) = child.stdout.as_mut() {
        loop {
            match read_frame(out, &mut buf)? {
                Filled::Full => {}
                Filled::Empty => break,
                Filled::Partial => {
                    short = true;
                    break;
                }
            }
            if n >= limits.max_frames {
                stopped = true;
                break;
            }
            if !frame(n, &buf) {
                stopped = true;
                break;
            }
            n += step;
            delivered += 1;
        }
    }
    if stopped {
        let _ = child.kill();
    }
    let status = child.wait()?;
    done.store(true, Ordering::Relaxed);
    let message = stderr.join().unwrap_or_default();
    if fired.load(Ordering::Relaxed) {
        return Err(VideoError::Decoder(format!("stopped after {:?} (the time limit)", limits.timeout)));
    }
    if n >= limits.max_frames && stopped {
        return Err(VideoError::TooLarge(format!("more than {} frames", limits.max_frames)));
    }
    if stopped {
        return Ok(delivered);
    }
    if !status.success() {
        let why = if message.is_empty() { format!("ffmpeg {status}") } else { message };
        return Err(VideoError::Decoder(why));
    }
    if short {
        return Err(VideoError::Decoder("the last frame was cut short".into()));
    }
    Ok(delivered)
}

/// How [`read_frame`] left its buffer.
pub(crate) enum Filled {
    /// A whole frame.
    Full,
    /// The output ended between frames.
    Empty,
    /// The output ended inside a frame.
    Partial,
}

/// Fills `buf` with one frame from the decoder's output.
pub(crate) fn read_frame(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<Filled> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Ok(if got == 0 { Filled::Empty } else { Filled::Partial }),
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Filled::Full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_read_with_vpdqs_frame_rate_rule() {
        let j = br#"{"programs": [], "streams": [{"width": 480, "height": 720, "r_frame_rate": "30/1", "avg_frame_rate": "0/0"}], "format": {"duration": "20.466667"}}"#;
        let info = parse_probe(j).unwrap();
        assert_eq!((info.width, info.height, info.frame_rate), (480, 720, 30.0));
        assert!((info.duration.unwrap() - 20.466667).abs() < 1e-9);
        for bad in [
            &br#"{"streams": []}"#[..],
            br#"{"streams": [{"width": 0, "height": 5, "r_frame_rate": "1/1"}]}"#,
            b"not json",
        ] {
            assert!(matches!(parse_probe(bad), Err(VideoError::NotVideo(_))));
        }
        let no_rate =
            br#"{"streams": [{"width": 4, "height": 4, "avg_frame_rate": "0/0", "r_frame_rate": "0/0"}]}"#;
        assert!(parse_probe(no_rate).unwrap_err().to_string().contains("frame rate"));
    }
}
