//! A minimal SVG text writer: elements with escaped attributes and text, compact numbers.

use std::fmt::Write as _;

/// Font stack for all text; any sans-serif face works, DejaVu Sans is the usual Linux one.
pub const FONT_FAMILY: &str = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/// An attribute value: numbers are written compactly, text is escaped.
pub enum Value<'a> {
    /// A coordinate or length, written with at most two decimals.
    Num(f64),
    /// Text, XML-escaped on output.
    Str(&'a str),
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Num(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(s)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Str(s)
    }
}

/// Accumulates an SVG document.
pub struct SvgWriter {
    out: String,
    depth: usize,
}

impl SvgWriter {
    /// Starts a document of `width × height` user units with a white background.
    pub fn new(width: f64, height: f64) -> Self {
        let mut w = Self {
            out: String::new(),
            depth: 0,
        };
        w.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.open(
            "svg",
            &[
                ("xmlns", "http://www.w3.org/2000/svg".into()),
                ("width", width.into()),
                ("height", height.into()),
                (
                    "viewBox",
                    (&format!("0 0 {} {}", num(width), num(height))).into(),
                ),
                ("font-family", FONT_FAMILY.into()),
            ],
        );
        w.empty(
            "rect",
            &[
                ("width", width.into()),
                ("height", height.into()),
                ("fill", "#ffffff".into()),
            ],
        );
        w
    }

    /// Opens an element that will hold children.
    pub fn open(&mut self, name: &str, attrs: &[(&str, Value<'_>)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    /// Closes the innermost open element, which must be `name`.
    pub fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }

    /// Writes an element without children.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, Value<'_>)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    /// Writes an element whose only child is escaped text.
    pub fn text_element(&mut self, name: &str, attrs: &[(&str, Value<'_>)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        escape_into(&mut self.out, text);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// Closes the document and returns it.
    pub fn finish(mut self) -> String {
        debug_assert_eq!(self.depth, 1, "unbalanced SVG elements");
        self.close("svg");
        self.out
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, Value<'_>)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            let _ = write!(self.out, " {key}=\"");
            match value {
                Value::Num(v) => self.out.push_str(&num(*v)),
                Value::Str(s) => escape_into(&mut self.out, s),
            }
            self.out.push('"');
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push(' ');
        }
    }
}

/// Formats a length with at most two decimals and no trailing zeros (`12`, `3.5`, `-0.25`).
pub fn num(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(3.5), "3.5");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(0.126), "0.13");
        assert_eq!(num(-2.25), "-2.25");
    }

    #[test]
    fn writes_escaped_well_formed_elements() {
        let mut w = SvgWriter::new(10.0, 20.5);
        w.open("g", &[("class", "filter".into())]);
        w.text_element("text", &[("x", 1.0.into())], "a < b & \"c\"");
        w.close("g");
        let svg = w.finish();
        assert!(
            svg.contains("<text x=\"1\">a &lt; b &amp; &quot;c&quot;</text>"),
            "{svg}"
        );
        assert!(svg.contains("viewBox=\"0 0 10 20.5\""));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
