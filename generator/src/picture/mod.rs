//! Pictures of invariant filter banks, drawn the way the ginjax paper draws filters.
//!
//! One picture per bank (d, M, k, p): a title, then one panel per filter in bank order, each
//! showing the filter's M^d pixels. Scalars are coloured on a blue–white–red scale symmetric
//! about 0 with the value written in the pixel; vectors are arrows from the pixel centre (axis 0
//! runs down the rows, axis 1 to the right, so (v0, v1) points v1 right and v0 down); 2-tensors
//! and higher are grids of coloured component mini-cells. d = 1 filters are strips, d ≥ 3 filters
//! are rows of 2-D slices. Pseudo-tensors get a dashed purple outline, a "pseudo" badge and
//! purple arrows. A caption under the panels says all of this on the picture itself.
//!
//! [`render_svg`] produces the SVG; [`Rasterizer`] turns it into PNG; [`write_svg`] and
//! [`write_png`] save `d2_m3_k1_p0.svg`-style files.
//!
//! The drawing pieces are public for other pictures of geometric images (e.g. the fields of
//! `ginrs-train`'s command line tool): [`SvgWriter`], the [`diverging`] colour scale and
//! [`draw_arrow`].

mod caption;
mod colour;
mod error;
mod glyph;
mod layout;
mod output;
mod png;
mod render;
mod view;
mod writer;

pub use colour::{diverging, text_on, Rgb};
pub use error::PictureError;
pub use glyph::{draw_arrow, ARROW, PSEUDO_ARROW};
pub use output::{prepare_dir, write_png, write_svg, PNG_MAX_SIDE, PNG_SCALE};
pub use png::{Fonts, Rasterizer, MAX_SIDE};
pub use render::render_svg;
pub use view::file_stem;
pub use writer::{num, SvgWriter, Value, FONT_FAMILY};
