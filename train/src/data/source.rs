//! [`TrajectorySource`]: one file's (or directory's) trajectories, read frame by frame, and
//! [`FrameCache`], the bounded cache the readers keep so a file larger than memory is read
//! window by window.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::path::Path;
use std::sync::Mutex;

use ginrs_runtime::MultiImage;

use super::error::DataError;
use super::schema::Schema;

/// Trajectories of equal length on one grid, read one frame at a time.
///
/// A frame holds the predicted fields ([`Schema::frame_signature`]); the constant fields come
/// once per trajectory ([`Schema::constant_signature`]). Readers check every value they return
/// is finite.
pub trait TrajectorySource: Debug + Send + Sync {
    /// The file or directory read.
    fn path(&self) -> &Path;
    /// Its grid, boundary and fields.
    fn schema(&self) -> &Schema;
    /// The number of trajectories.
    fn trajectories(&self) -> usize;
    /// Frames per trajectory.
    fn frames(&self) -> usize;
    /// Frame `frame` of trajectory `trajectory`.
    fn frame(&self, trajectory: usize, frame: usize) -> Result<MultiImage, DataError>;
    /// The constant fields of `trajectory` (a multi-image without blocks when there are none).
    fn constants(&self, trajectory: usize) -> Result<MultiImage, DataError>;

    /// Checks that `(trajectory, frame)` lies inside the source.
    fn check_index(&self, trajectory: usize, frame: usize) -> Result<(), DataError> {
        if trajectory >= self.trajectories() || frame >= self.frames() {
            return Err(DataError::Index {
                path: self.path().to_owned(),
                trajectory,
                frame,
                trajectories: self.trajectories(),
                frames: self.frames(),
            });
        }
        Ok(())
    }
}

/// The default byte budget of a reader's [`FrameCache`]: 1 GiB.
pub const DEFAULT_CACHE_BYTES: usize = 1 << 30;

/// Recently read frames, oldest evicted first, holding at most `budget` bytes of values; a
/// frame larger than the budget is returned without being kept.
#[derive(Debug)]
pub struct FrameCache {
    budget: usize,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    frames: HashMap<(usize, usize), MultiImage>,
    order: VecDeque<(usize, usize)>,
    bytes: usize,
    peak: usize,
    reads: usize,
}

impl FrameCache {
    /// An empty cache of `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// The cached frame, or `read()`'s, kept if it fits the budget.
    pub fn get_or_read(
        &self,
        trajectory: usize,
        frame: usize,
        read: impl FnOnce() -> Result<MultiImage, DataError>,
    ) -> Result<MultiImage, DataError> {
        let key = (trajectory, frame);
        if let Some(image) = self.lock().frames.get(&key) {
            return Ok(image.clone());
        }
        let image = read()?;
        let size = image_bytes(&image);
        let mut state = self.lock();
        state.reads += 1;
        if size <= self.budget && !state.frames.contains_key(&key) {
            while state.bytes + size > self.budget {
                let Some(old) = state.order.pop_front() else {
                    break;
                };
                if let Some(evicted) = state.frames.remove(&old) {
                    state.bytes -= image_bytes(&evicted);
                }
            }
            state.bytes += size;
            state.peak = state.peak.max(state.bytes);
            state.order.push_back(key);
            state.frames.insert(key, image.clone());
        }
        Ok(image)
    }

    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The most bytes held at once so far.
    pub fn peak_bytes(&self) -> usize {
        self.lock().peak
    }

    /// Frames read from the file so far (cache misses).
    pub fn reads(&self) -> usize {
        self.lock().reads
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves a consistent map (every update completes
        // before the guard drops), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The bytes of values a multi-image holds.
fn image_bytes(image: &MultiImage) -> usize {
    image
        .blocks()
        .iter()
        .map(|b| std::mem::size_of_val(b.data()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ginrs_runtime::{Geometry, ImageBlock, TensorKey};

    fn frame(value: f32) -> MultiImage {
        let geometry = Geometry::square(2, 4, true).unwrap();
        let block = ImageBlock::new(geometry.clone(), TensorKey::scalar(), 1, vec![value; 16]);
        MultiImage::from_blocks(geometry, vec![block.unwrap()]).unwrap()
    }

    #[test]
    fn the_cache_keeps_the_newest_frames_within_its_budget() {
        // Each frame is 64 bytes; a budget of 150 keeps two.
        let cache = FrameCache::new(150);
        for f in 0..5 {
            cache.get_or_read(0, f, || Ok(frame(f as f32))).unwrap();
        }
        assert_eq!(cache.reads(), 5);
        assert_eq!(cache.peak_bytes(), 128);
        // Frames 3 and 4 are kept, 2 was evicted.
        let again = cache.get_or_read(0, 4, || unreachable!("cached")).unwrap();
        assert_eq!(again, frame(4.0));
        cache.get_or_read(0, 2, || Ok(frame(2.0))).unwrap();
        assert_eq!(cache.reads(), 6);
        // A frame over the budget is returned but not kept.
        let tiny = FrameCache::new(10);
        tiny.get_or_read(0, 0, || Ok(frame(1.0))).unwrap();
        assert_eq!(tiny.peak_bytes(), 0);
    }
}
