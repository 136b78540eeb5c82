//! The learning problem of a split: windows of `p` past frames → the next frame, read from
//! the sources when asked for (a training epoch holds one batch of frames, plus what the
//! readers cache), and the rollouts of the test split.
//!
//! A window's input holds, per key, the trajectory's constant fields of that key, then frames
//! `s, …, s + p − 1` oldest first (ginjax's time-series layout, which
//! [`shift_window`](crate::shift_window) continues); its target is frame `s + p`.

use std::sync::Arc;

use ginrs_runtime::{ImageBlock, MultiImage, TensorKey};

use super::dataset::Split;
use super::error::DataError;
use super::source::TrajectorySource;

/// Where one window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WindowIndex {
    /// The part of the split (one source and its trajectories).
    part: usize,
    /// The trajectory inside the part's source.
    trajectory: usize,
    /// The first input frame.
    start: usize,
}

/// All windows of a split, read lazily.
#[derive(Debug, Clone)]
pub struct Windows {
    sources: Vec<Arc<dyn TrajectorySource>>,
    past_steps: usize,
    index: Vec<WindowIndex>,
}

/// Windows read into memory: inputs and targets, index by index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedWindows {
    /// The stacked past frames (constants first).
    pub inputs: Vec<MultiImage>,
    /// The next frames.
    pub targets: Vec<MultiImage>,
}

impl Windows {
    /// Every window of `split` with `past_steps` input frames, trajectory by trajectory,
    /// start by start.
    pub fn new(split: &Split, past_steps: usize) -> Result<Self, DataError> {
        let mut index = Vec::new();
        for (p, part) in split.parts.iter().enumerate() {
            check_frames(
                part.source.as_ref(),
                past_steps + 1,
                &format!("p = {past_steps}"),
            )?;
            for trajectory in part.trajectories.clone() {
                for start in 0..part.source.frames() - past_steps {
                    index.push(WindowIndex {
                        part: p,
                        trajectory,
                        start,
                    });
                }
            }
        }
        Ok(Self {
            sources: split.parts.iter().map(|p| p.source.clone()).collect(),
            past_steps,
            index,
        })
    }

    /// The number of windows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Window `i`'s input and target.
    pub fn get(&self, i: usize) -> Result<(MultiImage, MultiImage), DataError> {
        let w = self.index[i];
        let source = self.sources[w.part].as_ref();
        let past = (w.start..w.start + self.past_steps)
            .map(|f| source.frame(w.trajectory, f))
            .collect::<Result<Vec<_>, _>>()?;
        let input = stack(source, &source.constants(w.trajectory)?, &past)?;
        let target = source.frame(w.trajectory, w.start + self.past_steps)?;
        Ok((input, target))
    }

    /// Windows `indices`, read into memory.
    pub fn load(
        &self,
        indices: impl IntoIterator<Item = usize>,
    ) -> Result<LoadedWindows, DataError> {
        let mut out = LoadedWindows::default();
        for i in indices {
            let (input, target) = self.get(i)?;
            out.inputs.push(input);
            out.targets.push(target);
        }
        Ok(out)
    }

    /// Every window, read into memory.
    pub fn load_all(&self) -> Result<LoadedWindows, DataError> {
        self.load(0..self.len())
    }
}

impl LoadedWindows {
    /// The number of windows.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// One autoregressive test case: the first window of a stretch of a trajectory and the
/// frames that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// The part of the split.
    pub part: usize,
    /// The trajectory inside the part's source.
    pub trajectory: usize,
    /// The first input frame.
    pub start: usize,
    /// The first input (constants, then frames `start .. start + p`).
    pub input: MultiImage,
    /// The true next frames, `start + p ..` (one per rollout step).
    pub truth: Vec<MultiImage>,
}

/// The rollouts of `steps` steps of `split`: starts `0, steps, 2·steps, …` as long as the
/// truth lies inside the trajectory.
pub fn rollouts(split: &Split, past_steps: usize, steps: usize) -> Result<Vec<Rollout>, DataError> {
    let needed = past_steps + steps;
    let mut out = Vec::new();
    for (p, part) in split.parts.iter().enumerate() {
        let source = part.source.as_ref();
        check_frames(
            source,
            needed,
            &format!("a rollout of {steps} steps after p = {past_steps} frames"),
        )?;
        for trajectory in part.trajectories.clone() {
            let constants = source.constants(trajectory)?;
            for start in (0..=source.frames() - needed).step_by(steps.max(1)) {
                let frames = (start..start + needed)
                    .map(|f| source.frame(trajectory, f))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(Rollout {
                    part: p,
                    trajectory,
                    start,
                    input: stack(source, &constants, &frames[..past_steps])?,
                    truth: frames[past_steps..].to_vec(),
                });
            }
        }
    }
    Ok(out)
}

/// Per key: the constants of that key, then each frame's channels of that key, oldest first;
/// keys of the frames first, then keys only the constants have.
pub fn stack(
    source: &dyn TrajectorySource,
    constants: &MultiImage,
    frames: &[MultiImage],
) -> Result<MultiImage, DataError> {
    let geometry = source
        .schema()
        .geometry()
        .map_err(|e| image_error(source, e))?;
    let mut keys: Vec<TensorKey> = Vec::new();
    for block in frames.iter().chain([constants]).flat_map(|f| f.blocks()) {
        if !keys.contains(block.key()) {
            keys.push(block.key().clone());
        }
    }
    let mut out = MultiImage::new(geometry.clone());
    for key in keys {
        let mut data = Vec::new();
        let mut channels = 0;
        for block in std::iter::once(constants)
            .chain(frames)
            .filter_map(|f| f.get(&key))
        {
            data.extend_from_slice(block.data());
            channels += block.channels();
        }
        let block = ImageBlock::new(geometry.clone(), key, channels, data)
            .map_err(|e| image_error(source, e))?;
        out.insert(block).map_err(|e| image_error(source, e))?;
    }
    Ok(out)
}

fn image_error(source: &dyn TrajectorySource, e: ginrs_runtime::ImageError) -> DataError {
    DataError::Image {
        path: source.path().to_owned(),
        source: e,
    }
}

/// Checks that trajectories have at least `needed` frames.
fn check_frames(source: &dyn TrajectorySource, needed: usize, what: &str) -> Result<(), DataError> {
    let frames = source.frames();
    if frames < needed {
        return Err(DataError::Options {
            path: source.path().to_owned(),
            message: format!(
                "{what} needs {needed} frames per trajectory, the dataset has {frames}: use \
                 longer trajectories (`ginrs simulate --frames {needed}`) or lower \
                 --past-steps or --rollout-steps"
            ),
        });
    }
    Ok(())
}
