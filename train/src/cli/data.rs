//! The learning problem made from a dataset: windows of `p` past frames → the next frame,
//! split by trajectory, and the rollouts of the test split.
//!
//! A window's input stacks frames `s, …, s + p − 1` of one trajectory along the channel axis
//! of each field (oldest first, ginjax's time-series layout, which
//! [`shift_window`](crate::shift_window) continues); its target is frame `s + p`. The
//! trajectories are split in order: the first `⌊train · T⌉` for training, the next
//! `⌊val · T⌉` for validation, the rest for testing, so no window of one trajectory is in
//! two splits.

use std::ops::Range;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ginrs_runtime::{MultiImage, Signature};

use super::config::SplitFractions;
use super::error::CliError;
use super::model::ModelIo;
use crate::image::TensorImage;
use crate::simulate::{Dataset, Field};

/// Inputs and targets, index by index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    /// The stacked past frames.
    pub inputs: Vec<MultiImage>,
    /// The next frames.
    pub targets: Vec<MultiImage>,
}

impl Windows {
    /// The number of windows.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Windows `indices` as one input and one target batch on `device`.
    pub fn batch(
        &self,
        indices: &[usize],
        device: &Device,
    ) -> Result<(TensorImage, TensorImage), CliError> {
        let pick = |images: &[MultiImage]| -> Vec<MultiImage> {
            indices.iter().map(|&i| images[i].clone()).collect()
        };
        Ok((
            TensorImage::from_multi_images(&pick(&self.inputs), device)?,
            TensorImage::from_multi_images(&pick(&self.targets), device)?,
        ))
    }
}

/// One autoregressive test case: the first window of a stretch of a trajectory and the
/// frames that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// The trajectory.
    pub trajectory: usize,
    /// The first input frame.
    pub start: usize,
    /// The first input (frames `start .. start + p`).
    pub input: MultiImage,
    /// The true next frames, `start + p ..` (one per rollout step).
    pub truth: Vec<MultiImage>,
}

/// The trajectory ranges of the three splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splits {
    /// Training trajectories.
    pub train: Range<usize>,
    /// Validation trajectories.
    pub val: Range<usize>,
    /// Test trajectories.
    pub test: Range<usize>,
}

/// The input and output signatures for `p` past frames: each field's key with `p` channels
/// in, one channel out, in the dataset's field order.
pub fn model_io(past_steps: usize) -> ModelIo {
    let signature = |channels| {
        Signature::new(Field::ALL.iter().map(|f| (f.key(), channels)).collect())
            .expect("the fields have distinct keys")
    };
    ModelIo {
        input: signature(past_steps),
        output: signature(1),
    }
}

/// `path` made absolute against the working directory (see [`absolute_path_in`]); unchanged
/// when the working directory is unknown.
pub fn absolute_path(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => absolute_path_in(path, &cwd),
        Err(_) => path.to_owned(),
    }
}

/// `path` as an absolute path, a relative one taken relative to `cwd`; a path that exists is
/// canonicalised (symbolic links, `.` and `..` resolved). A run stores its dataset this way,
/// so it can be evaluated or resumed from any directory.
pub fn absolute_path_in(path: &Path, cwd: &Path) -> PathBuf {
    let joined = cwd.join(path);
    joined.canonicalize().unwrap_or(joined)
}

/// Splits `trajectories` by `fractions` (rounded to the nearest count); each split must get
/// at least one trajectory.
pub fn split(
    dataset: &Path,
    trajectories: usize,
    fractions: SplitFractions,
) -> Result<Splits, CliError> {
    let count = |fraction: f64| (fraction * trajectories as f64).round() as usize;
    let train = count(fractions.train);
    let val = count(fractions.val);
    if train == 0 || val == 0 || train + val >= trajectories {
        return Err(CliError::DatasetMismatch {
            path: dataset.to_owned(),
            message: format!(
                "{trajectories} trajectories cannot be split into train {} / val {} / test \
                 with at least one trajectory each (train {train}, val {val}); simulate more \
                 trajectories or change `split`",
                fractions.train, fractions.val
            ),
        });
    }
    Ok(Splits {
        train: 0..train,
        val: train..train + val,
        test: train + val..trajectories,
    })
}

/// Every frame of `trajectory` as a multi-image.
fn frames(dataset: &Dataset, trajectory: usize) -> Result<Vec<MultiImage>, CliError> {
    (0..dataset.config().frames)
        .map(|f| Ok(dataset.multi_image(trajectory, f)?))
        .collect()
}

/// Frames `frames[start..start + p]` stacked along the channels.
fn stack(frames: &[MultiImage]) -> Result<MultiImage, CliError> {
    let mut stacked = frames[0].clone();
    for frame in &frames[1..] {
        for block in frame.blocks() {
            stacked.append(block.clone())?;
        }
    }
    Ok(stacked)
}

/// Checks that trajectories have more than `needed` frames.
fn check_frames(dataset: &Dataset, path: &Path, needed: usize, what: &str) -> Result<(), CliError> {
    let frames = dataset.config().frames;
    if frames < needed {
        return Err(CliError::DatasetMismatch {
            path: path.to_owned(),
            message: format!(
                "{what} needs {needed} frames per trajectory, the dataset has {frames}: \
                 simulate longer trajectories (`ginrs simulate --frames {needed}`) or lower \
                 --past-steps or --rollout-steps"
            ),
        });
    }
    Ok(())
}

/// All windows of the trajectories `range`, trajectory by trajectory, start by start.
pub fn windows(
    dataset: &Dataset,
    path: &Path,
    range: Range<usize>,
    past_steps: usize,
) -> Result<Windows, CliError> {
    check_frames(dataset, path, past_steps + 1, &format!("p = {past_steps}"))?;
    let mut out = Windows::default();
    for t in range {
        let frames = frames(dataset, t)?;
        for end in past_steps..frames.len() {
            out.inputs.push(stack(&frames[end - past_steps..end])?);
            out.targets.push(frames[end].clone());
        }
    }
    Ok(out)
}

/// The rollouts of `steps` steps of the trajectories `range`: starts `0, steps, 2·steps, …`
/// as long as the truth lies inside the trajectory.
pub fn rollouts(
    dataset: &Dataset,
    path: &Path,
    range: Range<usize>,
    past_steps: usize,
    steps: usize,
) -> Result<Vec<Rollout>, CliError> {
    let needed = past_steps + steps;
    check_frames(
        dataset,
        path,
        needed,
        &format!("a rollout of {steps} steps after p = {past_steps} frames"),
    )?;
    let mut out = Vec::new();
    for trajectory in range {
        let frames = frames(dataset, trajectory)?;
        for start in (0..=frames.len() - needed).step_by(steps.max(1)) {
            out.push(Rollout {
                trajectory,
                start,
                input: stack(&frames[start..start + past_steps])?,
                truth: frames[start + past_steps..start + needed].to_vec(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::SimConfig;

    fn dataset() -> Dataset {
        // Frame f of trajectory t holds the value 100·t + f everywhere (vorticity), so windows
        // can be read back by value.
        let config = SimConfig {
            n: 8,
            trajectories: 3,
            frames: 5,
            peak_wavenumber: 2.0,
            ..SimConfig::default()
        };
        let per_frame = 64;
        let value = |i: usize| (100 * (i / (5 * per_frame)) + (i / per_frame) % 5) as f32;
        let scalar: Vec<f32> = (0..3 * 5 * per_frame).map(value).collect();
        let velocity: Vec<f32> = (0..3 * 5 * per_frame * 2).map(|i| value(i / 2)).collect();
        Dataset::new(config, [velocity, scalar.clone(), scalar]).unwrap()
    }

    fn first_value(image: &MultiImage, channel: usize) -> f32 {
        image.get(&Field::Vorticity.key()).unwrap().channel(channel)[0]
    }

    #[test]
    fn windows_stack_past_frames_oldest_first() {
        let data = dataset();
        let w = windows(&data, Path::new("d"), 1..3, 2).unwrap();
        assert_eq!(w.len(), 2 * 3);
        assert_eq!(w.inputs[0].signature(), model_io(2).input);
        assert_eq!(w.targets[0].signature(), model_io(2).output);
        let read = |i: usize| {
            (
                first_value(&w.inputs[i], 0),
                first_value(&w.inputs[i], 1),
                first_value(&w.targets[i], 0),
            )
        };
        assert_eq!(read(0), (100.0, 101.0, 102.0));
        assert_eq!(read(2), (102.0, 103.0, 104.0));
        assert_eq!(read(3), (200.0, 201.0, 202.0));
    }

    #[test]
    fn rollouts_start_every_few_frames_inside_the_trajectory() {
        let data = dataset();
        let r = rollouts(&data, Path::new("d"), 2..3, 1, 2).unwrap();
        let starts: Vec<usize> = r.iter().map(|r| r.start).collect();
        assert_eq!(starts, [0, 2]);
        assert_eq!(first_value(&r[1].input, 0), 202.0);
        let truth: Vec<f32> = r[1].truth.iter().map(|f| first_value(f, 0)).collect();
        assert_eq!(truth, [203.0, 204.0]);
        let err = rollouts(&data, Path::new("d"), 2..3, 2, 4).unwrap_err();
        assert!(err.to_string().contains("needs 6 frames"), "{err}");
    }

    #[test]
    fn dataset_paths_become_absolute_against_the_given_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("work");
        std::fs::create_dir_all(cwd.join("data")).unwrap();
        let canonical = cwd.canonicalize().unwrap();
        // An existing directory is canonicalised, `.` and `..` included.
        let found = absolute_path_in(Path::new("./data/../data"), &cwd);
        assert_eq!(found, canonical.join("data"));
        assert!(found.is_absolute());
        // A missing one is joined to the directory, and an absolute path stays itself.
        assert_eq!(absolute_path_in(Path::new("none"), &cwd), cwd.join("none"));
        assert_eq!(
            absolute_path_in(&canonical, Path::new("/elsewhere")),
            canonical
        );
    }

    #[test]
    fn splits_are_by_trajectory_and_never_empty() {
        let s = split(Path::new("d"), 10, SplitFractions::default()).unwrap();
        assert_eq!((s.train, s.val, s.test), (0..7, 7..9, 9..10));
        let err = split(Path::new("d"), 3, SplitFractions::default()).unwrap_err();
        assert!(err.to_string().contains("cannot be split"), "{err}");
    }
}
