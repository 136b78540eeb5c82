//! The command line tool's side of the data: the dataset a configuration names
//! ([`open_dataset`]), the model signatures it fixes ([`model_io`]), batches as tensors
//! ([`batch`]) and paths stored in runs. Windows, splits and rollouts are
//! [`crate::data`]'s.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ginrs_runtime::MultiImage;

use super::config::TrainConfig;
use super::error::CliError;
use super::model::ModelIo;
use crate::data::{self, Dataset, Schema, Windows};
use crate::image::TensorImage;

/// The dataset of `config` (`dataset`, the `[data]` options and the split), opened.
pub fn open_dataset(config: &TrainConfig) -> Result<Dataset, CliError> {
    Ok(data::open(&config.dataset, &config.data, config.split)?)
}

/// The model signatures for `past_steps` frames of `schema`'s fields (see
/// [`Schema::input_signature`]), its dimension and whether it is periodic.
pub fn model_io(schema: &Schema, past_steps: usize) -> ModelIo {
    ModelIo {
        input: schema.input_signature(past_steps),
        output: schema.output_signature(),
        dim: schema.dim(),
        periodic: schema.torus.iter().all(|&t| t),
    }
}

/// Windows `indices` of `windows`, read from the dataset, as one input and one target batch
/// on `device`.
pub fn batch(
    windows: &Windows,
    indices: &[usize],
    device: &Device,
) -> Result<(TensorImage, TensorImage), CliError> {
    let loaded = windows.load(indices.iter().copied())?;
    Ok((
        TensorImage::from_multi_images(&loaded.inputs, device)?,
        TensorImage::from_multi_images(&loaded.targets, device)?,
    ))
}

/// Images `indices` of `images` as one batch on `device`.
pub fn pick_batch(
    images: &[MultiImage],
    indices: &[usize],
    device: &Device,
) -> Result<TensorImage, CliError> {
    let picked: Vec<MultiImage> = indices.iter().map(|&i| images[i].clone()).collect();
    Ok(TensorImage::from_multi_images(&picked, device)?)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::turbulence::TurbulenceDir;
    use crate::data::windows::rollouts;
    use crate::data::{split_by_fractions, SplitFractions, TrajectorySource};
    use crate::simulate::{Dataset as Simulated, Field, SimConfig};

    fn source() -> Arc<dyn TrajectorySource> {
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
        let data = Simulated::new(config, [velocity, scalar.clone(), scalar]).unwrap();
        Arc::new(TurbulenceDir::new(Path::new("d"), data))
    }

    fn split(trajectories: std::ops::Range<usize>) -> data::Split {
        data::Split {
            parts: vec![data::Part {
                source: source(),
                trajectories,
            }],
        }
    }

    fn first_value(image: &MultiImage, channel: usize) -> f32 {
        image.get(&Field::Vorticity.key()).unwrap().channel(channel)[0]
    }

    #[test]
    fn windows_stack_past_frames_oldest_first() {
        let w = Windows::new(&split(1..3), 2).unwrap();
        assert_eq!(w.len(), 2 * 3);
        let schema = source().schema().clone();
        let loaded = w.load_all().unwrap();
        assert_eq!(loaded.inputs[0].signature(), model_io(&schema, 2).input);
        assert_eq!(loaded.targets[0].signature(), model_io(&schema, 2).output);
        let read = |i: usize| {
            (
                first_value(&loaded.inputs[i], 0),
                first_value(&loaded.inputs[i], 1),
                first_value(&loaded.targets[i], 0),
            )
        };
        assert_eq!(read(0), (100.0, 101.0, 102.0));
        assert_eq!(read(2), (102.0, 103.0, 104.0));
        assert_eq!(read(3), (200.0, 201.0, 202.0));
    }

    #[test]
    fn rollouts_start_every_few_frames_inside_the_trajectory() {
        let r = rollouts(&split(2..3), 1, 2).unwrap();
        let starts: Vec<usize> = r.iter().map(|r| r.start).collect();
        assert_eq!(starts, [0, 2]);
        assert_eq!(first_value(&r[1].input, 0), 202.0);
        let truth: Vec<f32> = r[1].truth.iter().map(|f| first_value(f, 0)).collect();
        assert_eq!(truth, [203.0, 204.0]);
        let err = rollouts(&split(2..3), 2, 4).unwrap_err();
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
    fn splits_are_by_trajectory_across_sources_and_never_empty() {
        let two = [source(), source()];
        let [train, val, test] =
            split_by_fractions(Path::new("d"), &two, SplitFractions::default()).unwrap();
        // 6 trajectories: 4 / 1 / 1, the training split spanning both sources.
        let ranges = |s: &data::Split| -> Vec<(usize, usize)> {
            s.parts
                .iter()
                .map(|p| (p.trajectories.start, p.trajectories.end))
                .collect()
        };
        assert_eq!(ranges(&train), [(0, 3), (0, 1)]);
        assert_eq!(ranges(&val), [(1, 2)]);
        assert_eq!(ranges(&test), [(2, 3)]);
        let err =
            split_by_fractions(Path::new("d"), &[source()], SplitFractions::default()).unwrap_err();
        assert!(err.to_string().contains("cannot be split"), "{err}");
    }
}
