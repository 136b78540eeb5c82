//! Running code compiled for wider vector instructions than the build's baseline, when the CPU
//! has them: the closure passed in, and everything it inlines, is code-generated inside a
//! function with those target features. Both follow [`level`].

use super::cpu::{level, SimdLevel};

/// Runs `body` compiled with AVX2 and FMA enabled if the CPU has them, and returns whether it
/// ran (callers then fall back to their portable path).
///
/// `body` and everything it inlines (a generated kernel's `#[inline(always)]` row function) is
/// code-generated inside a function with those target features, so the unrolled stencils use
/// 8-wide vectors. Only that one copy is made: the portable path is the caller's own.
#[inline(always)]
pub fn try_simd<F: FnOnce()>(body: F) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        fn avx2<F: FnOnce()>(body: F) {
            body()
        }
        if level() >= SimdLevel::Avx2 {
            // SAFETY: the CPU supports AVX2 and FMA (`level()` never exceeds what it detects),
            // the only requirement of calling a function with these target features.
            unsafe { avx2(body) };
            return true;
        }
    }
    let _ = body;
    false
}

/// Runs `body` compiled for the widest vector instructions [`level`] allows (AVX-512F, else
/// AVX2 and FMA, else the build's baseline) and returns its result.
///
/// Callers mark the closure `#[inline(always)]` (an attribute allowed on a closure argument):
/// a closure that is not inlined into the target-feature function is compiled for the
/// baseline only. For elementwise loops and fixed-order reductions (plain Rust, no intrinsics): `body` and
/// what it inlines are code-generated once per level, each copy vectorised for its width.
/// Floating-point results do not depend on the copy that runs (no multiply-add is fused that
/// the code does not ask for with `mul_add`).
#[inline(always)]
pub fn widest<R, F: FnOnce() -> R>(body: F) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<R, F: FnOnce() -> R>(body: F) -> R {
            body()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<R, F: FnOnce() -> R>(body: F) -> R {
            body()
        }
        match level() {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (`level()` never exceeds what it
            // detects), the only requirement of calling a function with these target features.
            SimdLevel::Avx512 => return unsafe { avx512(body) },
            // SAFETY: as above, for AVX2 and FMA.
            SimdLevel::Avx2 => return unsafe { avx2(body) },
            SimdLevel::Portable => {}
        }
    }
    body()
}
