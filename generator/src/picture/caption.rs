//! The words on a bank picture: title, caption paragraphs and line wrapping.

use super::layout::PixelStyle;

/// Name of a tensor type, e.g. `vector`, `pseudoscalar`, `pseudo 2-tensor`.
pub fn tensor_name(k: usize, parity: u8) -> String {
    let base = match k {
        0 => "scalar".to_string(),
        1 => "vector".to_string(),
        k => format!("{k}-tensor"),
    };
    match (parity, k) {
        (0, _) => base,
        (_, 0 | 1) => format!("pseudo{base}"),
        _ => format!("pseudo {base}"),
    }
}

/// The picture title: shape, tensor type, parity and filter count.
pub fn title(dim: usize, size: usize, k: usize, parity: u8, count: usize) -> String {
    let noun = if count == 1 { "filter" } else { "filters" };
    format!(
        "Invariant filters: d = {dim}, M = {size}, k = {k} ({}), parity {parity} \u{2014} {count} {noun}",
        tensor_name(k, parity)
    )
}

/// Caption paragraphs explaining how to read the picture.
pub fn paragraphs(dim: usize, k: usize, parity: u8, style: PixelStyle) -> Vec<String> {
    let mut out = Vec::new();
    out.push(match dim {
        1 => "Filters in bank order, labelled #index. Each filter is a strip of M pixels; axis 0 runs to the right.".to_string(),
        2 => "Filters in bank order, labelled #index. Each filter is an M\u{d7}M pixel grid: axis 0 runs down the rows, axis 1 to the right.".to_string(),
        3 => "Filters in bank order, labelled #index. Each filter is drawn as its M slices side by side, labelled by the axis-0 index i0; inside a slice axis 1 runs down the rows, axis 2 to the right.".to_string(),
        d => {
            let lead = if d == 4 { "(i0, i1)".to_string() } else { format!("(i0, \u{2026}, i{})", d - 3) };
            format!(
                "Filters in bank order, labelled #index. Each filter is drawn as M^{} slices labelled by the leading indices {lead}: rows of slices by i0, the rest left to right; inside a slice axis {} runs down the rows, axis {} to the right.",
                d - 2,
                d - 2,
                d - 1
            )
        }
    });
    let colour = "Colours: blue negative, white zero, red positive, saturating at each filter's largest |value|";
    out.push(match style {
        PixelStyle::Scalar => format!("{colour}; the number is the value (blank = 0)."),
        PixelStyle::Arrow => match dim {
            1 => "Arrows start at the pixel centre and point right for v0 > 0; length \u{221d} |v0|, scaled per filter so its longest vector nearly fills a pixel.".to_string(),
            2 => "Arrows start at the pixel centre: a vector (v0, v1) points v1 to the right and v0 down. Length \u{221d} |v|, scaled per filter so its longest vector nearly fills a pixel.".to_string(),
            _ => "Arrows start at the pixel centre and show the in-slice part of (v0, v1, v2): v2 to the right, v1 down. The circle shows v0 (towards higher i0): dot = v0 > 0, cross = v0 < 0, radius \u{221d} |v0|. Lengths are scaled per filter.".to_string(),
        },
        PixelStyle::Components { rows, numbers, .. } => {
            let layout = if k == 1 {
                "Each pixel shows its vector components v0 \u{2026} v(d\u{2212}1) left to right as mini-cells".to_string()
            } else if k == 2 {
                "Each pixel shows its d\u{d7}d tensor T[a, b] as mini-cells: row a, column b".to_string()
            } else {
                let lead = if k == 3 { "(a1, a2)".to_string() } else { format!("(a1, \u{2026}, a{})", k - 1) };
                format!(
                    "Each pixel shows its {} tensor components T[a1, \u{2026}, a{k}] as mini-cells: row = {lead} in row-major order ({rows} rows), column = a{k}",
                    dim.pow(k as u32)
                )
            };
            let numbers = if numbers { "; numbers are the values (blank = 0)." } else { "; too many components for numbers, colours only." };
            format!("{layout}. {colour}{numbers}")
        }
    });
    if parity == 1 {
        let arrows = if style == PixelStyle::Arrow {
            "; pseudovector arrows are purple"
        } else {
            ""
        };
        out.push(format!(
            "Parity 1 (pseudo-tensors, an extra sign det(g) under the group): panels have a dashed purple outline and a \u{201c}pseudo\u{201d} badge{arrows}."
        ));
    }
    out
}

/// Splits `text` into lines of at most `width` characters at spaces (longer words stay whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_title() {
        assert_eq!(tensor_name(0, 1), "pseudoscalar");
        assert_eq!(tensor_name(1, 0), "vector");
        assert_eq!(tensor_name(2, 1), "pseudo 2-tensor");
        assert_eq!(
            title(2, 3, 1, 0, 2),
            "Invariant filters: d = 2, M = 3, k = 1 (vector), parity 0 \u{2014} 2 filters"
        );
        assert!(title(2, 3, 0, 1, 1).ends_with("1 filter"));
    }

    #[test]
    fn the_vector_caption_states_the_axis_convention() {
        let text = paragraphs(2, 1, 1, PixelStyle::Arrow).join(" ");
        assert!(text.contains("points v1 to the right and v0 down"));
        assert!(text.contains("purple"));
    }

    #[test]
    fn wrapping_respects_the_width() {
        let lines = wrap("aa bb cc dddddddd e", 5);
        assert_eq!(lines, ["aa bb", "cc", "dddddddd", "e"]);
        assert!(wrap("", 5).is_empty());
    }
}
