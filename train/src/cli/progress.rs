//! Progress bars (indicatif) in the style of the generator's `gen-filters`, or hidden.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `prefix`; hidden when `show` is false.
pub fn bar(len: usize, prefix: &str, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64).with_prefix(prefix.to_string());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} {elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
