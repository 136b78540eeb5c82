//! Recycling of large image buffers.
//!
//! A forward pass writes its output into fresh buffers, and the previous call's outputs are
//! usually dropped just before: handing those buffers straight back to the system and asking
//! for new ones costs a page fault per 4 KiB on first write (a third of a fast layer's time
//! on a 128² image). So an [`crate::ImageBlock`] returns its buffer here when dropped, and
//! layers take their output buffers from here: a steady loop of forward passes then reuses
//! the same memory, like the caching allocators of ML frameworks.
//!
//! Only buffers of at least [`MIN_RECYCLED`] values are kept (smaller ones are cheap to
//! allocate), at most [`MAX_KEPT_BYTES`] in all; [`release`] frees every kept buffer.

use std::sync::Mutex;

/// Smallest buffer (in `f32` values) worth keeping: 64 KiB.
pub const MIN_RECYCLED: usize = 16 * 1024;

/// Most memory kept for reuse, in bytes.
pub const MAX_KEPT_BYTES: usize = 512 << 20;

/// Kept buffers (with their old values) and their total capacity in values.
static KEPT: Mutex<(Vec<Vec<f32>>, usize)> = Mutex::new((Vec::new(), 0));

/// A buffer of `len` values whose contents are unspecified (stale values of an earlier image,
/// or zeros): callers overwrite every value. Reuses a kept buffer holding between `len` and
/// `2 · len` values when there is one.
pub fn take(len: usize) -> Vec<f32> {
    if len >= MIN_RECYCLED {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let (buffers, total) = &mut *kept;
        let best = buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= len && b.len() <= 2 * len)
            .min_by_key(|(_, b)| b.len())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let mut buffer = buffers.swap_remove(i);
            *total -= buffer.capacity();
            buffer.truncate(len);
            return buffer;
        }
    }
    vec![0.0; len]
}

/// An empty buffer with room for `capacity` values, recycled like [`take`]'s, for outputs
/// built by pushing.
pub fn with_capacity(capacity: usize) -> Vec<f32> {
    if capacity < MIN_RECYCLED {
        return Vec::with_capacity(capacity);
    }
    let mut buffer = take(capacity);
    buffer.clear();
    buffer
}

/// Keeps `buffer` (values and all) for a later [`take`] if it holds at least
/// [`MIN_RECYCLED`] values and the total stays under [`MAX_KEPT_BYTES`]; otherwise frees it.
pub fn keep(buffer: Vec<f32>) {
    if buffer.len() < MIN_RECYCLED {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let (buffers, total) = &mut *kept;
    if (*total + buffer.capacity()) * std::mem::size_of::<f32>() <= MAX_KEPT_BYTES {
        *total += buffer.capacity();
        buffers.push(buffer);
    }
}

/// Frees every kept buffer (returns the memory to the allocator).
pub fn release() {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    *kept = (Vec::new(), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_capacity_recycles_without_values() {
        let len = MIN_RECYCLED * 3 + 1;
        let first = take(len);
        let ptr = first.as_ptr();
        keep(first);
        let again = with_capacity(len);
        assert!(again.is_empty() && again.capacity() >= len);
        assert_eq!(again.as_ptr(), ptr);
        assert!(with_capacity(3).capacity() >= 3);
    }

    #[test]
    fn dropped_blocks_come_back_for_outputs_of_a_close_size() {
        let len = MIN_RECYCLED + 5;
        let mut first = take(len);
        first.iter_mut().for_each(|v| *v = 1.5);
        let ptr = first.as_ptr();
        keep(first);
        // Too small a request for this buffer (it would waste more than half).
        let small = take(len / 2 - 1);
        assert_ne!(small.as_ptr(), ptr);
        let again = take(len - 3);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again.len(), len - 3);
        keep(again);
        release();
        // Small buffers are not kept.
        let tiny = vec![0.0f32; 8];
        keep(tiny);
        assert!(KEPT
            .lock()
            .unwrap()
            .0
            .iter()
            .all(|b| b.len() >= MIN_RECYCLED));
    }
}
