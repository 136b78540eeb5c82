//! CPU feature dispatch: the one place that asks the CPU which vector instructions it has.
//!
//! Every SIMD path of the kernels runs only when [`level`] is at least its level, so that
//! `GINRS_SIMD` can force the narrower paths on any CPU (to test them, or to compare speeds).

use std::sync::OnceLock;

/// The widest vector instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// No vector extensions beyond the build's baseline.
    Portable,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512F, with AVX2 and FMA.
    Avx512,
}

/// The level the kernels run at: the CPU's, lowered by the environment variable `GINRS_SIMD`
/// (`avx512`, `avx2` or `portable`) when it is set. The variable never raises the level above
/// what the CPU has (as matrixmultiply's `MMTEST_FEATURE`); other values are ignored. Read
/// once per process.
pub fn level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let requested = std::env::var("GINRS_SIMD")
            .ok()
            .and_then(|name| parse(&name));
        let detected = detect();
        requested.map_or(detected, |requested| requested.min(detected))
    })
}

/// The level `GINRS_SIMD` names, if any.
fn parse(name: &str) -> Option<SimdLevel> {
    match name.trim().to_ascii_lowercase().as_str() {
        "avx512" => Some(SimdLevel::Avx512),
        "avx2" => Some(SimdLevel::Avx2),
        "portable" => Some(SimdLevel::Portable),
        _ => None,
    }
}

/// The widest level this CPU supports.
fn detect() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
            return SimdLevel::Avx512;
        }
        if avx2 {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Portable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_only_lowers() {
        assert_eq!(parse(" AVX2 "), Some(SimdLevel::Avx2));
        assert_eq!(parse("sse"), None);
        assert!(SimdLevel::Portable < SimdLevel::Avx2 && SimdLevel::Avx2 < SimdLevel::Avx512);
        assert!(level() <= detect());
    }
}
