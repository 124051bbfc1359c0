//! libjpeg hooks that bound a JPEG decode: a scan limit and a time budget.
//!
//! libjpeg-turbo's advice for untrusted input is a progress monitor that stops when
//! `cinfo->input_scan_number` passes a limit: a progressive file can repeat a refinement
//! scan thousands of times, and each repetition is a full pass over the coefficients
//! (1,000 scans in 337 KB took 87 s). The `mozjpeg` crate keeps its `cinfo` private, but
//! it takes our error manager, and libjpeg calls the error manager's `emit_message` for
//! every trace message whatever the trace level, the first of them when it reads the
//! start-of-image marker, before any scan: that is where our progress monitor is
//! installed. Both hooks then check the scan count and the deadline; over a limit they
//! record why on this thread and unwind out of libjpeg the way `mozjpeg` reports libjpeg's
//! fatal errors (`resume_unwind`, caught by the caller's `catch_unwind`).
//!
//! The warnings libjpeg emits for corrupt data (for example "extraneous bytes before
//! marker", once per marker) stay silent and decoding goes on, as in Pillow: each costs a
//! function call, and the deadline check runs on every one, so a file of millions of them
//! still stops at the budget.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::os::raw::c_int;
use std::time::Instant;

use mozjpeg_sys::jpeg_error_mgr as ErrorMgr;
use mozjpeg_sys::{jpeg_common_struct, jpeg_decompress_struct, jpeg_progress_mgr};

/// Why a hook stopped the decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// More scans than the limit.
    Scans,
    /// Past the deadline.
    Time,
}

/// The bounds of the decode running on this thread.
#[derive(Clone, Copy)]
struct Bounds {
    deadline: Option<Instant>,
    max_scans: u32,
    /// Our progress manager, installed into `cinfo` at the first message.
    progress: *mut jpeg_progress_mgr,
}

thread_local! {
    static BOUNDS: Cell<Option<Bounds>> = const { Cell::new(None) };
    static STOPPED: Cell<Option<Stop>> = const { Cell::new(None) };
}

/// A progress manager that calls [`progress_monitor`].
pub(super) fn progress_mgr() -> jpeg_progress_mgr {
    jpeg_progress_mgr {
        progress_monitor: Some(progress_monitor),
        pass_counter: 0,
        pass_limit: 0,
        completed_passes: 0,
        total_passes: 0,
    }
}

/// The bounds of one decode on this thread, in force until dropped.
pub(super) struct Watch {
    _not_send: std::marker::PhantomData<*mut ()>,
}

impl Watch {
    /// Puts `progress`, `deadline` and `max_scans` in force for decodes on this thread.
    /// `progress` must outlive every libjpeg object created while the watch lives (declare
    /// it before the watch and the decompressor, so it drops after them).
    pub(super) fn start(
        progress: &mut jpeg_progress_mgr,
        deadline: Option<Instant>,
        max_scans: u32,
    ) -> Watch {
        STOPPED.with(|s| s.set(None));
        BOUNDS.with(|b| b.set(Some(Bounds { deadline, max_scans, progress })));
        Watch { _not_send: std::marker::PhantomData }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        BOUNDS.with(|b| b.set(None));
    }
}

/// Why the last decode on this thread was stopped by a hook, if it was (and forgets it).
pub(super) fn take_stop() -> Option<Stop> {
    STOPPED.with(Cell::take)
}

/// libjpeg's standard error manager, with fatal errors unwinding (as `mozjpeg`'s own does)
/// and messages going to [`emit_message`].
pub(super) fn error_mgr() -> ErrorMgr {
    // SAFETY: `jpeg_error_mgr` is a C struct of integers, raw pointers and `Option`s of
    // function pointers, for all of which all-zero bytes are a valid value (0, null,
    // `None`); `jpeg_std_error` then fills in every field, as libjpeg's own programs do,
    // and only writes through the reference it is given.
    let mut err: ErrorMgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// Checks the bounds; over one, records why and unwinds out of libjpeg.
fn check(cinfo: &mut jpeg_common_struct) {
    let Some(bounds) = BOUNDS.with(Cell::get) else { return };
    if cinfo.progress.is_null() {
        // The first message (start of image), before any scan is read.
        cinfo.progress = bounds.progress;
    }
    let mut stop = None;
    if cinfo.is_decompressor != 0 {
        // SAFETY: `is_decompressor` says `cinfo` is the `common` field, the first one, of a
        // `#[repr(C)] jpeg_decompress_struct` (libjpeg's own documented cast from
        // `j_common_ptr` to `j_decompress_ptr`); only one integer field is read.
        let scans = unsafe {
            (*(cinfo as *mut jpeg_common_struct).cast::<jpeg_decompress_struct>()).input_scan_number
        };
        if i64::from(scans) > i64::from(bounds.max_scans) {
            stop = Some(Stop::Scans);
        }
    }
    if stop.is_none() && bounds.deadline.is_some_and(|d| Instant::now() > d) {
        stop = Some(Stop::Time);
    }
    if let Some(stop) = stop {
        STOPPED.with(|s| s.set(Some(stop)));
        std::panic::resume_unwind(Box::new(format!("stopped at a limit: {stop:?}")));
    }
}

/// The progress monitor: called by libjpeg per row of MCUs while it reads scans and per
/// call of `jpeg_read_scanlines`.
extern "C-unwind" fn progress_monitor(cinfo: &mut jpeg_common_struct) {
    check(cinfo);
}

/// Warnings and trace messages: silent (as in Pillow), but each one checks the bounds.
extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, _level: c_int) {
    check(cinfo);
}

/// A fatal libjpeg error: unwinds with libjpeg's message, as `mozjpeg`'s error manager does.
extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let mut buffer = [0u8; 200]; // JMSG_LENGTH_MAX
                                 // SAFETY: `cinfo.err` is the error manager libjpeg is calling us through (set from
                                 // `error_mgr`, alive as long as the decompressor). `format_message` writes at most
                                 // JMSG_LENGTH_MAX (200) bytes, NUL included, to its buffer: it is declared by
                                 // `mozjpeg-sys` as taking `&[u8; 80]`, so it is called through the same C function
                                 // pointer typed with a raw pointer to our 200-byte buffer (same ABI: one pointer).
    let message = unsafe {
        match cinfo.err.as_ref().and_then(|e| e.format_message) {
            Some(format) => {
                type ImageFormat = unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8);
                let format: ImageFormat = std::mem::transmute::<_, ImageFormat>(format);
                format(cinfo, buffer.as_mut_ptr());
                let end = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
                String::from_utf8_lossy(&buffer[..end]).into_owned()
            }
            None => "unknown error".to_string(),
        }
    };
    std::panic::resume_unwind(Box::new(format!("libjpeg fatal error: {message}")));
}

extern "C" {
    /// libjpeg-turbo's own check, before its first SIMD inverse DCT: non-zero when the
    /// library was built with its SIMD code (`nasm`) and this CPU runs it. A build
    /// without `nasm` links `jsimd_none.c`, whose version always answers 0.
    fn jsimd_can_idct_islow() -> c_int;
}

/// Whether libjpeg-turbo decodes with its SIMD code here (see [`super::jpeg_simd`]).
pub(super) fn simd() -> bool {
    // SAFETY: a C function without arguments that only reads the CPU's features (and
    // libjpeg-turbo's `JSIMD_*` environment variables) once and returns an int.
    unsafe { jsimd_can_idct_islow() != 0 }
}
