//! The diverging blue–white–red colour scale used for scalar values and tensor components.

use std::fmt;

/// An sRGB colour with 8-bit channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl fmt::Display for Rgb {
    /// Formats as an SVG hex colour, e.g. `#ca0020`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Colour stops from −1 to +1 (ColorBrewer RdBu, with pure white at 0).
const STOPS: [(f64, Rgb); 5] = [
    (-1.0, Rgb(0x05, 0x71, 0xb0)),
    (-0.5, Rgb(0x92, 0xc5, 0xde)),
    (0.0, Rgb(0xff, 0xff, 0xff)),
    (0.5, Rgb(0xf4, 0xa5, 0x82)),
    (1.0, Rgb(0xca, 0x00, 0x20)),
];

/// Colour of `value` on a scale symmetric about 0 that saturates at `±scale`.
///
/// Negative values are blue, positive red, zero white. A non-positive or non-finite `scale`
/// maps everything to white; values beyond the scale are clamped.
pub fn diverging(value: f64, scale: f64) -> Rgb {
    if !(scale > 0.0 && scale.is_finite() && value.is_finite()) {
        return STOPS[2].1;
    }
    let t = (value / scale).clamp(-1.0, 1.0);
    let upper = STOPS
        .iter()
        .position(|&(s, _)| s >= t)
        .unwrap_or(STOPS.len() - 1)
        .max(1);
    let (t0, c0) = STOPS[upper - 1];
    let (t1, c1) = STOPS[upper];
    let w = (t - t0) / (t1 - t0);
    let mix = |a: u8, b: u8| (f64::from(a) + w * (f64::from(b) - f64::from(a))).round() as u8;
    Rgb(mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2))
}

/// A text colour readable on `background`: white on dark colours, near-black otherwise.
pub fn text_on(background: Rgb) -> Rgb {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance =
        0.2126 * lin(background.0) + 0.7152 * lin(background.1) + 0.0722 * lin(background.2);
    if luminance < 0.3 {
        Rgb(0xff, 0xff, 0xff)
    } else {
        Rgb(0x1a, 0x1a, 0x1a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_hits_its_stops_and_is_symmetric_in_hue() {
        assert_eq!(diverging(0.0, 1.0), Rgb(255, 255, 255));
        assert_eq!(diverging(2.0, 2.0), Rgb(0xca, 0x00, 0x20));
        assert_eq!(diverging(-0.7, 0.7), Rgb(0x05, 0x71, 0xb0));
        assert_eq!(diverging(-1.0, 2.0), Rgb(0x92, 0xc5, 0xde));
        assert_eq!(diverging(5.0, 1.0), diverging(1.0, 1.0));
        // Halfway between white and the first red stop.
        assert_eq!(diverging(0.25, 1.0), Rgb(0xfa, 0xd2, 0xc1));
        let red = diverging(0.8, 1.0);
        let blue = diverging(-0.8, 1.0);
        assert!(red.0 > red.2 && blue.2 > blue.0);
        assert_eq!(diverging(1.0, 0.0), Rgb(255, 255, 255));
        assert_eq!(diverging(f64::NAN, 1.0), Rgb(255, 255, 255));
    }

    #[test]
    fn formats_as_hex_and_picks_contrasting_text() {
        assert_eq!(diverging(1.0, 1.0).to_string(), "#ca0020");
        assert_eq!(text_on(Rgb(0xca, 0x00, 0x20)), Rgb(255, 255, 255));
        assert_eq!(text_on(Rgb(0x05, 0x71, 0xb0)), Rgb(255, 255, 255));
        assert_eq!(text_on(Rgb(255, 255, 255)), Rgb(0x1a, 0x1a, 0x1a));
        assert_eq!(text_on(Rgb(0xf4, 0xa5, 0x82)), Rgb(0x1a, 0x1a, 0x1a));
    }
}
