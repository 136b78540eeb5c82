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
