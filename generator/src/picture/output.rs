//! Writing bank pictures to a directory as `d{d}_m{M}_k{k}_p{p}.svg` / `.png`.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::PictureError;
use super::png::Rasterizer;
use super::render::render_svg;
use super::view::file_stem;
use crate::filters::FilterBank;

/// PNG pixels per SVG unit used by [`write_png`].
pub const PNG_SCALE: f32 = 2.0;
/// Longest PNG side written by [`write_png`]; larger pictures are scaled down to fit.
pub const PNG_MAX_SIDE: u32 = 8192;

/// Creates `dir` (and its parents) if needed and checks that it is a directory.
pub fn prepare_dir(dir: &Path) -> Result<(), PictureError> {
    let err = |source| PictureError::OutputDir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    if !fs::metadata(dir).map_err(err)?.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists and is not a directory",
        )));
    }
    Ok(())
}

/// Writes the bank's SVG picture into `dir` (created if missing) and returns the file's path.
pub fn write_svg(dir: &Path, bank: &FilterBank) -> Result<PathBuf, PictureError> {
    prepare_dir(dir)?;
    let path = dir.join(format!("{}.svg", file_stem(bank)));
    fs::write(&path, render_svg(bank)).map_err(|source| PictureError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Writes the bank's picture as PNG into `dir` and returns the file's path.
///
/// The scale is [`PNG_SCALE`] PNG pixels per SVG unit, lowered for pictures too large for that.
pub fn write_png(
    dir: &Path,
    bank: &FilterBank,
    rasterizer: &Rasterizer,
) -> Result<PathBuf, PictureError> {
    prepare_dir(dir)?;
    let path = dir.join(format!("{}.png", file_stem(bank)));
    let png = rasterizer.render_png_fitted(&render_svg(bank), PNG_SCALE, PNG_MAX_SIDE)?;
    fs::write(&path, png).map_err(|source| PictureError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
