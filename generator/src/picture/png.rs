//! Rasterizing a bank picture's SVG to PNG with resvg / tiny-skia.

use resvg::{tiny_skia, usvg};

use super::error::PictureError;

/// Largest raster side accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// Where the rasterizer finds fonts for titles, labels and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fonts {
    /// Load the fonts installed on the system (text is dropped if there are none).
    System,
    /// Load no fonts: shapes only, no text. Deterministic, for tests.
    None,
}

/// Turns SVG documents into PNG bytes; reuse one rasterizer so fonts are loaded once.
pub struct Rasterizer {
    options: usvg::Options<'static>,
}

impl Rasterizer {
    /// A rasterizer with the given font source.
    pub fn new(fonts: Fonts) -> Self {
        let mut options = usvg::Options::default();
        if fonts == Fonts::System {
            options.fontdb_mut().load_system_fonts();
        }
        Self { options }
    }

    /// Number of font faces available; 0 means text will not appear in PNGs.
    pub fn font_count(&self) -> usize {
        self.options.fontdb.len()
    }

    /// Pixel size of the raster that `svg` gives at `scale` (PNG pixels per SVG unit).
    pub fn raster_size(&self, svg: &str, scale: f32) -> Result<(u32, u32), PictureError> {
        let tree = usvg::Tree::from_str(svg, &self.options)?;
        raster_size(&tree, scale)
    }

    /// Renders `svg` at `scale` PNG pixels per SVG unit, on its own (white) background, as PNG.
    pub fn render_png(&self, svg: &str, scale: f32) -> Result<Vec<u8>, PictureError> {
        let tree = usvg::Tree::from_str(svg, &self.options)?;
        render_tree(&tree, scale)
    }

    /// Like [`Rasterizer::render_png`], but lowers `scale` as far as needed for the larger side
    /// to fit in `max_side` pixels (at most [`MAX_SIDE`]), so very large banks still give a
    /// (smaller) PNG.
    pub fn render_png_fitted(
        &self,
        svg: &str,
        scale: f32,
        max_side: u32,
    ) -> Result<Vec<u8>, PictureError> {
        let tree = usvg::Tree::from_str(svg, &self.options)?;
        let longest = tree.size().width().max(tree.size().height());
        let max_side = max_side.min(MAX_SIDE) as f32;
        render_tree(&tree, (max_side / longest).min(scale))
    }
}

fn render_tree(tree: &usvg::Tree, scale: f32) -> Result<Vec<u8>, PictureError> {
    let (width, height) = raster_size(tree, scale)?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(PictureError::RasterSize {
        width: width as f32,
        height: height as f32,
    })?;
    resvg::render(
        tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PictureError::PngEncode(e.to_string()))
}

fn raster_size(tree: &usvg::Tree, scale: f32) -> Result<(u32, u32), PictureError> {
    let size = tree.size();
    let (width, height) = (
        (size.width() * scale).ceil(),
        (size.height() * scale).ceil(),
    );
    let fits = |px: f32| px.is_finite() && (1.0..=MAX_SIDE as f32).contains(&px);
    if !(fits(width) && fits(height)) {
        return Err(PictureError::RasterSize { width, height });
    }
    Ok((width as u32, height as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="6"><rect width="10" height="6" fill="#ff0000"/></svg>"##;

    #[test]
    fn renders_a_png_of_the_scaled_size() {
        let r = Rasterizer::new(Fonts::None);
        let png = r.render_png(SQUARE, 2.5).unwrap();
        let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (25, 15));
        let p = pixmap.pixel(12, 7).unwrap();
        assert_eq!((p.red(), p.green(), p.blue(), p.alpha()), (255, 0, 0, 255));
    }

    #[test]
    fn rejects_bad_svg_and_bad_scales() {
        let r = Rasterizer::new(Fonts::None);
        assert!(matches!(
            r.render_png("<svg", 1.0),
            Err(PictureError::Svg(_))
        ));
        assert!(matches!(
            r.render_png(SQUARE, 0.0),
            Err(PictureError::RasterSize { .. })
        ));
        assert!(matches!(
            r.render_png(SQUARE, 1e6),
            Err(PictureError::RasterSize { .. })
        ));
        assert!(matches!(
            r.render_png(SQUARE, f32::NAN),
            Err(PictureError::RasterSize { .. })
        ));
        let err = r.render_png(SQUARE, 1e4).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot rasterize a 100000×60000 pixel image"),
            "{err}"
        );
    }

    #[test]
    fn fitted_rendering_shrinks_huge_pictures() {
        let r = Rasterizer::new(Fonts::None);
        let png = r.render_png_fitted(SQUARE, 1e4, 50).unwrap();
        let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (50, 30));
        let png = r.render_png_fitted(SQUARE, 3.0, u32::MAX).unwrap();
        let pixmap = tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (30, 18));
    }
}
