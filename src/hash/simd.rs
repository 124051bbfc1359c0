//! Which CPU path the hashing kernels take, and the one place where they are entered.
//!
//! The hot loops of hashing (Pillow's luma and resampling for pHash; PDQ's luma, Jarosz
//! box filters and downsampling) are written once, as plain Rust shaped so that the
//! compiler vectorises them, and compiled three times on `x86_64` by `kernel!`: for the
//! baseline target (SSE2), for AVX2 + FMA, and for AVX-512 (F, BW, VL). Each call takes
//! the path [`current`] names. On `aarch64` the baseline already has NEON, so there is one
//! path.
//!
//! **Same bits on every path.** The kernels are integer arithmetic (exact in any order)
//! or floating-point arithmetic in which each lane does the reference's operations in the
//! reference's order: Rust never reassociates floating point or contracts `a * b + c`
//! into a fused multiply-add (that would need an explicit `mul_add`), so enabling FMA or
//! wider vectors changes how many lanes run per instruction, never a result. The
//! conformance tests run against Python `imagehash`, `pdqhash` and Meta's references on
//! every path this CPU has ([`force`]).
//!
//! **The only `unsafe`.** Calling a function compiled for CPU features the caller was not
//! compiled for is `unsafe` in Rust: on a CPU without them it would fault. `kernel!`
//! makes that call in one `match` on [`current`], which names a path only after
//! `is_x86_feature_detected!` confirmed every feature of that path on this CPU.
//! The PDQ filter's 8x8 transposes (`pdq::jarosz::to_lanes` and `from_lanes`) are the
//! one kernel written with `std::arch` shuffles, which LLVM does not derive from plain
//! code; they enter their AVX versions the same way, under the same check.
//!
//! `MEDIAMATCH_SIMD=baseline|avx2|avx512` (read once) picks a path by hand; a path the CPU
//! lacks falls back to the best one it has, with a message on stderr.

use std::sync::atomic::{AtomicU8, Ordering};

/// A compiled variant of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// The target's baseline (SSE2 on `x86_64`, NEON on `aarch64`).
    Baseline,
    /// AVX2 with FMA (`x86_64`).
    Avx2,
    /// AVX-512 F, BW and VL, with AVX2 and FMA (`x86_64`).
    Avx512,
}

impl Path {
    /// Every path, slowest first.
    pub const ALL: [Path; 3] = [Path::Baseline, Path::Avx2, Path::Avx512];

    /// The name used by `MEDIAMATCH_SIMD`, `--version` and `info`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Baseline if cfg!(target_arch = "aarch64") => "neon",
            Path::Baseline => "baseline",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            Path::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => {
                Path::Avx2.supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    fn code(self) -> u8 {
        self as u8 + 1
    }

    fn from_code(code: u8) -> Option<Path> {
        Path::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

/// The path the kernels take now (0: not chosen yet).
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// The fastest path this CPU supports.
pub fn detected() -> Path {
    Path::ALL.into_iter().rev().find(|p| p.supported()).unwrap_or(Path::Baseline)
}

/// Every path this CPU supports, slowest first (the conformance tests run each).
pub fn supported() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.supported()).collect()
}

/// The path the kernels take: [`force`]d, else `MEDIAMATCH_SIMD`, else [`detected`].
pub fn current() -> Path {
    if let Some(p) = Path::from_code(CHOSEN.load(Ordering::Relaxed)) {
        return p;
    }
    let best = detected();
    let chosen = match std::env::var("MEDIAMATCH_SIMD") {
        Ok(name) => match Path::ALL.into_iter().find(|p| p.name() == name.trim()) {
            Some(p) if p.supported() => p,
            _ => {
                eprintln!(
                    "mediamatch: MEDIAMATCH_SIMD={name:?} is not a path this CPU has; using {}",
                    best.name()
                );
                best
            }
        },
        Err(_) => best,
    };
    // Two threads racing here choose the same path.
    CHOSEN.store(chosen.code(), Ordering::Relaxed);
    chosen
}

/// Makes every kernel take `path` from now on, in every thread (for tests and
/// benchmarks; every path computes the same bits). Fails, changing nothing, if this CPU
/// lacks the path's features.
pub fn force(path: Path) -> Result<(), String> {
    if !path.supported() {
        return Err(format!("this CPU cannot run the {} path", path.name()));
    }
    CHOSEN.store(path.code(), Ordering::Relaxed);
    Ok(())
}

/// Defines a kernel: a function whose body is compiled once per [`Path`] and called
/// through [`current`]. The body is an ordinary safe function body; its arguments must
/// be passed by value or reference (no `self`).
macro_rules! kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
            fn avx512($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }
            match $crate::hash::simd::current() {
                // SAFETY: `current` names the AVX-512 path only when this CPU has
                // AVX-512 F, BW, VL, AVX2 and FMA (`Path::supported`).
                #[cfg(target_arch = "x86_64")]
                $crate::hash::simd::Path::Avx512 => {
                    #[allow(unsafe_code)]
                    unsafe {
                        avx512($($arg),*)
                    }
                }
                // SAFETY: `current` names the AVX2 path only when this CPU has AVX2 and FMA.
                #[cfg(target_arch = "x86_64")]
                $crate::hash::simd::Path::Avx2 => {
                    #[allow(unsafe_code)]
                    unsafe {
                        avx2($($arg),*)
                    }
                }
                _ => body($($arg),*),
            }
        }
    };
}
pub(crate) use kernel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detected_path_is_supported_and_names_round_trip() {
        assert!(detected().supported());
        assert!(supported().contains(&Path::Baseline));
        for p in Path::ALL {
            assert_eq!(Path::from_code(p.code()), Some(p));
        }
        assert_eq!(Path::from_code(0), None);
        for p in Path::ALL.into_iter().filter(|p| !p.supported()) {
            assert!(force(p).is_err());
        }
    }
}
