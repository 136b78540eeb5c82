//! What the fuzz tests share. [`Guard`]: a global allocator that refuses (and reports) any
//! single allocation above [`ALLOCATION_LIMIT`], so a size claimed by a damaged input cannot make a
//! loader ask for gigabytes. A test binary installs it with
//! `#[global_allocator] static GLOBAL: Guard = Guard;` and names what it runs with
//! [`set_subject`] and [`set_case`]; a refused allocation prints them and the process aborts.
//!
//! [`quiet_panics_on_this_thread`]: the panics of fuzzed cases are collected and reported
//! with their seeds, not printed one by one.
//!
//! This module holds the crate's only `unsafe` code: the `GlobalAlloc` implementation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest single allocation a case may make: far above what the fixtures' loaders need
/// (kilobytes to a few megabytes), far below what a size claimed by a mutated number would ask
/// for.
pub const ALLOCATION_LIMIT: usize = 256 << 20;

/// The seed of the case being run (`u64::MAX`: none), for the report.
static CURRENT_CASE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Which input (loader or file, by the test's own numbering) is being fuzzed.
static CURRENT_SUBJECT: AtomicU64 = AtomicU64::new(u64::MAX);

/// Names the input fuzzed next (a loader or a file, in the test's own numbering).
pub fn set_subject(subject: usize) {
    CURRENT_SUBJECT.store(subject as u64, Ordering::Relaxed);
}

/// Names the case that runs next by its seed.
pub fn set_case(seed: u64) {
    CURRENT_CASE.store(seed, Ordering::Relaxed);
}

/// Says no case runs (allocations after it are reported without a seed).
pub fn clear_case() {
    CURRENT_CASE.store(u64::MAX, Ordering::Relaxed);
}

/// The system allocator, refusing (and reporting) any allocation above [`ALLOCATION_LIMIT`].
pub struct Guard;

// SAFETY: every call is forwarded unchanged to `System`, except oversize requests, which return
// null as the `GlobalAlloc` contract allows for a failed allocation.
unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            report_oversize(layout.size());
            return std::ptr::null_mut();
        }
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            report_oversize(layout.size());
            return std::ptr::null_mut();
        }
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_LIMIT {
            report_oversize(new_size);
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Names the case before the process aborts on the refused allocation (formatting integers
/// into unbuffered stderr does not allocate).
fn report_oversize(size: usize) {
    let case = CURRENT_CASE.load(Ordering::Relaxed);
    let subject = CURRENT_SUBJECT.load(Ordering::Relaxed);
    let _ = writeln!(
        std::io::stderr(),
        "fuzz case seed {case} of input {subject}: refused an allocation of {size} bytes"
    );
}

thread_local! {
    /// Whether panics on this thread are being collected by a fuzz test (not printed).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// From now on, panics on this thread are not printed (a fuzz test collects them and reports
/// their seeds); other threads (tests running in parallel) keep the default report.
/// [`print_panics_on_this_thread`] ends it.
pub fn quiet_panics_on_this_thread() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.get() {
                default(info);
            }
        }));
    });
    QUIET.set(true);
}

/// The message a caught panic carried (empty when it carried neither a `String` nor a
/// `&str`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Panics on this thread are printed again.
pub fn print_panics_on_this_thread() {
    QUIET.set(false);
}
