//! The values a host call keeps between its forward and backward pass (for a whole-model
//! [`program`](super::program), every image of its forward pass: the step's largest buffer)
//! and the program's per-item gradient scratch, recycled between calls by exact length.
//!
//! A training loop makes the same calls every step, so the buffer a step frees after its
//! backward pass is one of the length the next step's forward pass asks for; a fresh large
//! allocation costs a page fault per 4 KiB (or per 2 MiB huge page) on its first write. The
//! runtime's own pool ([`ginrs_runtime::image::buffers`]) matches lengths within a factor of
//! two. Recycling every block buffer of the program this way was measured too: it kept more
//! memory and slowed the UNet's step, whose many block lengths then missed mimalloc's own
//! reuse; the program now plans one buffer of each kind instead.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Smaller buffers are cheap to allocate and are not kept.
const MIN_KEPT: usize = 4096;

/// Most memory kept for reuse, in bytes.
const MAX_KEPT_BYTES: usize = 1 << 30;

/// Buffers by length.
type ByLength = BTreeMap<usize, Vec<Vec<f32>>>;

/// Kept buffers by length, and their total capacity in values.
static KEPT: Mutex<(ByLength, usize)> = Mutex::new((BTreeMap::new(), 0));

/// A buffer of `len` values whose contents are unspecified (callers overwrite every value).
pub(super) fn take(len: usize) -> Vec<f32> {
    if len >= MIN_KEPT {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let (buffers, total) = &mut *kept;
        if let Some(buffer) = buffers.get_mut(&len).and_then(Vec::pop) {
            *total -= buffer.capacity();
            return buffer;
        }
    }
    vec![0.0; len]
}

/// Keeps `buffer` for a later [`take`] of its length, while the kept total stays under
/// [`MAX_KEPT_BYTES`]; otherwise frees it.
pub(super) fn give(buffer: Vec<f32>) {
    if buffer.len() < MIN_KEPT {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let (buffers, total) = &mut *kept;
    if (*total + buffer.capacity()) * std::mem::size_of::<f32>() <= MAX_KEPT_BYTES {
        *total += buffer.capacity();
        buffers.entry(buffer.len()).or_default().push(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_for_its_own_length_only() {
        let len = MIN_KEPT + 17;
        let mut buffer = take(len);
        buffer[0] = 42.0;
        let ptr = buffer.as_ptr();
        give(buffer);
        // Another length does not get it.
        let other = take(len + 1);
        assert_ne!(other.as_ptr(), ptr);
        // Its own length does (other tests' buffers have other lengths).
        let again = take(len);
        assert_eq!((again.as_ptr(), again.len(), again[0]), (ptr, len, 42.0));
        // Small buffers are not kept.
        let small = take(8);
        assert_eq!(small, vec![0.0; 8]);
    }
}
