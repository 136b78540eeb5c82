//! Errors from drawing and writing filter bank pictures.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while drawing a filter bank or writing its picture.
#[derive(Debug, Error)]
pub enum PictureError {
    /// The renderer could not parse the SVG it was given.
    #[error("cannot parse SVG for rasterization: {0}")]
    Svg(#[from] resvg::usvg::Error),
    /// The requested raster is empty or too large (width × height in pixels).
    #[error("cannot rasterize a {width}×{height} pixel image: choose a scale that gives 1..=16384 pixels per side")]
    RasterSize {
        /// Requested width in pixels.
        width: f32,
        /// Requested height in pixels.
        height: f32,
    },
    /// Encoding the raster as PNG failed.
    #[error("cannot encode PNG: {0}")]
    PngEncode(String),
    /// The output directory could not be created or is not a directory.
    #[error("cannot use output directory {}: {source}", path.display())]
    OutputDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A picture file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}
