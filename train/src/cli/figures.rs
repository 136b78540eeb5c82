//! Figures of a run, drawn with the generator's picture code ([`SvgWriter`], its
//! blue–white–red [`diverging`] scale and [`draw_arrow`]) and rasterised to PNG with resvg.
//!
//! - [`loss_curves`]: training and validation loss per epoch, on a log scale;
//! - [`rollout`]: a few steps of one test rollout, one row per step: the vorticity and the
//!   tracer (truth, prediction, error; colour, symmetric about 0) and the velocity (truth,
//!   prediction, error; arrows). Truth and prediction share one scale over all steps, so the
//!   decay shows; each step's errors have their own scale, written under the panel, so the
//!   small errors of the first step are visible too. As in the filter pictures, axis 0 of the
//!   grid runs down and axis 1 to the right, so a velocity `(u₀, u₁)` is an arrow `u₁` right
//!   and `u₀` down;
//! - [`error_curves`]: an error against the rollout step, one line per series (the model's,
//!   persistence's, …), on a linear axis, or a log one where the values span more than two
//!   decades;
//! - [`spectra`]: energy spectra `E(k)` against `k`, log–log, one line per series.
//!
//! Every figure is a plain SVG string; [`write()`] stores it and its PNG rasterisation.

use std::path::Path;

use ginrs_generator::picture::{diverging, draw_arrow, Fonts, Rasterizer, SvgWriter, ARROW};
use ginrs_runtime::MultiImage;

use super::checkpoint::EpochMetrics;
use super::error::CliError;
use crate::simulate::{multi_image_to_frame, FrameError};

/// Text colour.
const INK: &str = "#1a1a1a";
/// Axis and frame colour.
const FRAME: &str = "#7f7f7f";
/// Training curve colour.
const TRAIN: &str = "#0571b0";
/// Validation curve colour.
const VAL: &str = "#ca0020";
/// Colours of the series of [`error_curves`] and [`spectra`], in turn.
const PALETTE: [&str; 6] = [TRAIN, VAL, "#008837", "#7b3294", "#e66101", "#404040"];
/// Side of one field panel (SVG units).
const PANEL: f64 = 168.0;
/// Gap between panels.
const GAP: f64 = 14.0;
/// Arrows per panel side, at most.
const ARROWS_PER_SIDE: usize = 12;
/// PNG pixels per SVG unit.
const PNG_SCALE: f32 = 2.0;
/// Longest PNG side.
const PNG_MAX_SIDE: u32 = 4096;

/// A rasteriser with the system's fonts (text is left out where there are none).
pub fn rasterizer() -> Rasterizer {
    Rasterizer::new(Fonts::System)
}

/// Writes `<stem>.svg` and `<stem>.png` into `dir`.
pub fn write(dir: &Path, stem: &str, svg: &str, rasterizer: &Rasterizer) -> Result<(), CliError> {
    let path = dir.join(format!("{stem}.svg"));
    std::fs::write(&path, svg).map_err(CliError::io(&path))?;
    let png = rasterizer.render_png_fitted(svg, PNG_SCALE, PNG_MAX_SIDE)?;
    let path = dir.join(format!("{stem}.png"));
    std::fs::write(&path, png).map_err(CliError::io(path))
}

fn text(w: &mut SvgWriter, x: f64, y: f64, size: f64, anchor: &str, label: &str) {
    w.text_element(
        "text",
        &[
            ("x", x.into()),
            ("y", y.into()),
            ("font-size", size.into()),
            ("text-anchor", anchor.into()),
            ("fill", INK.into()),
        ],
        label,
    );
}

fn line(w: &mut SvgWriter, (x1, y1): (f64, f64), (x2, y2): (f64, f64), colour: &str, width: f64) {
    w.empty(
        "line",
        &[
            ("x1", x1.into()),
            ("y1", y1.into()),
            ("x2", x2.into()),
            ("y2", y2.into()),
            ("stroke", colour.into()),
            ("stroke-width", width.into()),
        ],
    );
}

/// A curve of the loss plot: name, colour and the value it shows.
type Curve = (&'static str, &'static str, fn(&EpochMetrics) -> f64);

/// Training and validation loss per epoch on a log scale (non-positive values are left out).
pub fn loss_curves(history: &[EpochMetrics]) -> String {
    let (width, height) = (640.0, 400.0);
    let (left, right, top, bottom) = (80.0, 24.0, 48.0, 56.0);
    let mut w = SvgWriter::new(width, height);
    text(&mut w, width / 2.0, 28.0, 16.0, "middle", "Loss per epoch");
    let logs: Vec<f64> = history
        .iter()
        .flat_map(|m| [m.train_loss, m.val_loss])
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(f64::log10)
        .collect();
    if logs.is_empty() {
        text(
            &mut w,
            width / 2.0,
            height / 2.0,
            14.0,
            "middle",
            "no finished epochs",
        );
        return w.finish();
    }
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min).floor();
    let hi = logs
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil();
    let hi = if hi <= lo { lo + 1.0 } else { hi };
    let last = history.last().map_or(1, |m| m.epoch).max(2) as f64;
    let first = history.first().map_or(1, |m| m.epoch) as f64;
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let x_of = |epoch: f64| left + (epoch - first) / (last - first).max(1.0) * plot_w;
    let y_of = |log: f64| top + (hi - log) / (hi - lo) * plot_h;
    line(&mut w, (left, top), (left, top + plot_h), FRAME, 1.0);
    line(
        &mut w,
        (left, top + plot_h),
        (left + plot_w, top + plot_h),
        FRAME,
        1.0,
    );
    for decade in (lo as i32)..=(hi as i32) {
        let y = y_of(f64::from(decade));
        line(&mut w, (left - 5.0, y), (left, y), FRAME, 1.0);
        text(
            &mut w,
            left - 8.0,
            y + 4.0,
            11.0,
            "end",
            &format!("1e{decade}"),
        );
    }
    let ticks = history.len().clamp(1, 10);
    for i in 0..=ticks {
        let epoch = (first + (last - first) * i as f64 / ticks as f64).round();
        let x = x_of(epoch);
        line(
            &mut w,
            (x, top + plot_h),
            (x, top + plot_h + 5.0),
            FRAME,
            1.0,
        );
        text(
            &mut w,
            x,
            top + plot_h + 18.0,
            11.0,
            "middle",
            &format!("{epoch}"),
        );
    }
    text(
        &mut w,
        left + plot_w / 2.0,
        height - 14.0,
        12.0,
        "middle",
        "epoch",
    );
    let curves: [Curve; 2] = [
        ("train", TRAIN, |m| m.train_loss),
        ("validation", VAL, |m| m.val_loss),
    ];
    for (index, (name, colour, value)) in curves.into_iter().enumerate() {
        let points: Vec<(f64, f64)> = history
            .iter()
            .map(|m| (m.epoch as f64, value(m)))
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .map(|(e, v)| (x_of(e), y_of(v.log10())))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.2},{y:.2}"))
            .collect();
        w.empty(
            "polyline",
            &[
                ("class", name.into()),
                ("points", (&path.join(" ")).into()),
                ("fill", "none".into()),
                ("stroke", colour.into()),
                ("stroke-width", 2.0.into()),
            ],
        );
        for &(x, y) in &points {
            w.empty(
                "circle",
                &[
                    ("cx", x.into()),
                    ("cy", y.into()),
                    ("r", 2.5.into()),
                    ("fill", colour.into()),
                ],
            );
        }
        let ly = top + 10.0 + 18.0 * index as f64;
        let lx = left + plot_w - 120.0;
        line(&mut w, (lx, ly), (lx + 24.0, ly), colour, 2.0);
        text(&mut w, lx + 30.0, ly + 4.0, 12.0, "start", name);
    }
    w.finish()
}

/// One axis of a line plot: its range (of log10 values on a log axis) and its ticks.
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
    /// Tick positions (log10 values on a log axis) and their labels.
    ticks: Vec<(f64, String)>,
}

impl Axis {
    /// An axis over `values` (finite; positive on a log axis). A linear axis starts at 0 when
    /// `from_zero` and no value is negative.
    fn new(values: &[f64], log: bool, from_zero: bool) -> Self {
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if log {
            let lo = min.log10().floor();
            let hi = max.log10().ceil().max(lo + 1.0);
            let every = ((hi - lo) / 8.0).ceil().max(1.0);
            let ticks = (0..)
                .map(|i| lo + every * f64::from(i))
                .take_while(|&d| d <= hi)
                .map(|d| (d, decade_label(d as i32)))
                .collect();
            return Self { log, lo, hi, ticks };
        }
        let min = if from_zero && min >= 0.0 { 0.0 } else { min };
        let (min, max) = if max > min {
            (min, max)
        } else {
            (min - 0.5, max + 0.5)
        };
        let step = nice_step((max - min) / 5.0);
        let lo = (min / step).floor() * step;
        let hi = (max / step).ceil() * step;
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        let exponent = !(1e-3..1e5).contains(&step);
        let ticks = (0..)
            .map(|i| lo + step * f64::from(i))
            .take_while(|&v| v <= hi + step * 1e-9)
            .map(|v| {
                let label = if v == 0.0 {
                    "0".to_string()
                } else if exponent {
                    format!("{v:.1e}")
                } else {
                    format!("{v:.decimals$}")
                };
                (v, label)
            })
            .collect();
        Self { log, lo, hi, ticks }
    }

    /// Where `value` lies between the axis ends, from 0 to 1.
    fn fraction(&self, value: f64) -> f64 {
        let v = if self.log { value.log10() } else { value };
        (v - self.lo) / (self.hi - self.lo)
    }
}

/// The smallest of 1, 2 or 5 times a power of ten that is ≥ `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&s| s >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// A decade's tick label: `0.01` … `1000` written out, others as `1e-5`.
fn decade_label(decade: i32) -> String {
    match decade {
        -2..=-1 => format!("{}", 10f64.powi(decade)),
        0..=3 => format!("{}", 10i64.pow(decade as u32)),
        _ => format!("1e{decade}"),
    }
}

/// One line of a [`line_plot`].
struct Series<'a> {
    label: &'a str,
    /// The points to draw, already free of values the axes cannot show.
    points: Vec<(f64, f64)>,
    colour: &'a str,
    dashed: bool,
}

/// A line plot: one polyline (`class="series"`) per series with at least one point, a dot per
/// point when `markers`, and a legend naming every series (those without points as
/// "(no data)").
fn line_plot(
    title: &str,
    (x_label, y_label): (&str, &str),
    (x_axis, y_axis): (&Axis, &Axis),
    series: &[Series<'_>],
    markers: bool,
) -> String {
    let (width, height) = (640.0, 400.0);
    let (left, right, top, bottom) = (80.0, 24.0, 48.0, 56.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let mut w = SvgWriter::new(width, height);
    text(&mut w, width / 2.0, 28.0, 16.0, "middle", title);
    let x_of = |v: f64| left + x_axis.fraction(v) * plot_w;
    let y_of = |v: f64| top + (1.0 - y_axis.fraction(v)) * plot_h;
    line(&mut w, (left, top), (left, top + plot_h), FRAME, 1.0);
    line(
        &mut w,
        (left, top + plot_h),
        (left + plot_w, top + plot_h),
        FRAME,
        1.0,
    );
    // Tick positions are axis coordinates (log10 values on a log axis).
    let unlog = |axis: &Axis, t: f64| if axis.log { 10f64.powf(t) } else { t };
    for (t, label) in &y_axis.ticks {
        let y = y_of(unlog(y_axis, *t));
        line(&mut w, (left - 5.0, y), (left, y), FRAME, 1.0);
        text(&mut w, left - 8.0, y + 4.0, 11.0, "end", label);
    }
    for (t, label) in &x_axis.ticks {
        let x = x_of(unlog(x_axis, *t));
        line(
            &mut w,
            (x, top + plot_h),
            (x, top + plot_h + 5.0),
            FRAME,
            1.0,
        );
        text(&mut w, x, top + plot_h + 18.0, 11.0, "middle", label);
    }
    text(
        &mut w,
        left + plot_w / 2.0,
        height - 14.0,
        12.0,
        "middle",
        x_label,
    );
    let (label_x, label_y) = (18.0, top + plot_h / 2.0);
    w.text_element(
        "text",
        &[
            ("x", label_x.into()),
            ("y", label_y.into()),
            ("font-size", 12.0.into()),
            ("text-anchor", "middle".into()),
            ("fill", INK.into()),
            (
                "transform",
                (&format!("rotate(-90 {label_x} {label_y})")).into(),
            ),
        ],
        y_label,
    );
    let longest = series
        .iter()
        .map(|s| s.label.chars().count() + if s.points.is_empty() { 10 } else { 0 })
        .max()
        .unwrap_or(0);
    let lx = (left + plot_w - 40.0 - 7.0 * longest as f64).max(left + 10.0);
    for (index, s) in series.iter().enumerate() {
        let dash = if s.dashed { "6 4" } else { "none" };
        if !s.points.is_empty() {
            let path: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| format!("{:.2},{:.2}", x_of(x), y_of(y)))
                .collect();
            w.empty(
                "polyline",
                &[
                    ("class", "series".into()),
                    ("points", (&path.join(" ")).into()),
                    ("fill", "none".into()),
                    ("stroke", s.colour.into()),
                    ("stroke-width", 2.0.into()),
                    ("stroke-dasharray", dash.into()),
                ],
            );
            if markers {
                for &(x, y) in &s.points {
                    w.empty(
                        "circle",
                        &[
                            ("cx", x_of(x).into()),
                            ("cy", y_of(y).into()),
                            ("r", 2.5.into()),
                            ("fill", s.colour.into()),
                        ],
                    );
                }
            }
        }
        let ly = top + 10.0 + 18.0 * index as f64;
        w.empty(
            "line",
            &[
                ("x1", lx.into()),
                ("y1", ly.into()),
                ("x2", (lx + 24.0).into()),
                ("y2", ly.into()),
                ("stroke", s.colour.into()),
                ("stroke-width", 2.0.into()),
                ("stroke-dasharray", dash.into()),
            ],
        );
        let label = if s.points.is_empty() {
            format!("{} (no data)", s.label)
        } else {
            s.label.to_string()
        };
        text(&mut w, lx + 30.0, ly + 4.0, 12.0, "start", &label);
    }
    w.finish()
}

/// A figure that says there is nothing to plot.
fn empty_plot(title: &str, message: &str) -> String {
    let (width, height) = (640.0, 400.0);
    let mut w = SvgWriter::new(width, height);
    text(&mut w, width / 2.0, 28.0, 16.0, "middle", title);
    text(&mut w, width / 2.0, height / 2.0, 14.0, "middle", message);
    w.finish()
}

/// An error against the rollout step, one line per `(label, errors)` series, where
/// `errors[k]` is the error after step `k + 1` (x = 1, …, N); the series share the axes and
/// each gets a legend entry. A series labelled `persistence` (the "nothing changes" baseline)
/// is dashed. NaN and infinite values are left out (a line joins the values around them).
///
/// The y axis is linear from 0, or logarithmic (decades) when the positive values span more
/// than two decades; on a log axis zeros and negative values are left out too. A series with
/// nothing left to draw is listed in the legend as "(no data)"; with no value at all the
/// figure says so.
pub fn error_curves(title: &str, ylabel: &str, series: &[(String, Vec<f64>)]) -> String {
    let finite: Vec<f64> = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let (min_positive, max) = finite.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &v| {
        (if v > 0.0 { lo.min(v) } else { lo }, hi.max(v))
    });
    let log = min_positive.is_finite() && max / min_positive > 100.0;
    let drawable = |v: f64| v.is_finite() && (!log || v > 0.0);
    let lines: Vec<Series<'_>> = series
        .iter()
        .enumerate()
        .map(|(i, (label, values))| Series {
            label,
            points: values
                .iter()
                .enumerate()
                .filter(|(_, &v)| drawable(v))
                .map(|(k, &v)| ((k + 1) as f64, v))
                .collect(),
            colour: PALETTE[i % PALETTE.len()],
            dashed: label == "persistence",
        })
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    if ys.is_empty() {
        return empty_plot(title, "no finite values");
    }
    let steps = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let step = nice_step((steps - 1) as f64 / 8.0).max(1.0).round();
    let x_axis = Axis {
        log: false,
        lo: 1.0,
        hi: steps as f64,
        ticks: std::iter::once(1.0)
            .chain((1..).map(|i| step * f64::from(i)).skip_while(|&t| t <= 1.0))
            .take_while(|&t| t <= steps as f64)
            .map(|t| (t, format!("{t}")))
            .collect(),
    };
    let y_axis = Axis::new(&ys, log, true);
    line_plot(
        title,
        ("rollout step", ylabel),
        (&x_axis, &y_axis),
        &lines,
        true,
    )
}

/// Energy spectra: `E(k)` against the wavenumber `k` on log–log axes, one line per
/// `(label, k, E)` series (the pairs `(k[i], E[i])`), with a legend. Points whose `k` or `E`
/// is not positive and finite are left out (`k = 0`, empty shells); a series with nothing
/// left is listed in the legend as "(no data)".
pub fn spectra(title: &str, series: &[(String, Vec<f64>, Vec<f64>)]) -> String {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let lines: Vec<Series<'_>> = series
        .iter()
        .enumerate()
        .map(|(i, (label, k, e))| Series {
            label,
            points: k
                .iter()
                .zip(e)
                .map(|(&k, &e)| (k, e))
                .filter(|&(k, e)| positive(k) && positive(e))
                .collect(),
            colour: PALETTE[i % PALETTE.len()],
            dashed: false,
        })
        .collect();
    let points: Vec<(f64, f64)> = lines.iter().flat_map(|s| s.points.clone()).collect();
    if points.is_empty() {
        return empty_plot(title, "no positive values");
    }
    let ks: Vec<f64> = points.iter().map(|p| p.0).collect();
    let es: Vec<f64> = points.iter().map(|p| p.1).collect();
    line_plot(
        title,
        ("wavenumber k", "E(k)"),
        (&Axis::new(&ks, true, false), &Axis::new(&es, true, false)),
        &lines,
        false,
    )
}

/// The fields of one frame.
struct Fields {
    n: usize,
    vorticity: Vec<f64>,
    tracer: Vec<f64>,
    velocity: Vec<f64>,
}

impl Fields {
    fn of(image: &MultiImage) -> Result<Self, FrameError> {
        let frame = multi_image_to_frame(image)?;
        Ok(Self {
            n: frame.n,
            vorticity: frame.vorticity.iter().map(|&v| f64::from(v)).collect(),
            tracer: frame.tracer.iter().map(|&v| f64::from(v)).collect(),
            velocity: frame.velocity.iter().map(|&v| f64::from(v)).collect(),
        })
    }

    fn minus(&self, other: &Self) -> Self {
        let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect();
        Self {
            n: self.n,
            vorticity: diff(&self.vorticity, &other.vorticity),
            tracer: diff(&self.tracer, &other.tracer),
            velocity: diff(&self.velocity, &other.velocity),
        }
    }

    fn max_vorticity(&self) -> f64 {
        max_abs(&self.vorticity)
    }

    fn max_tracer(&self) -> f64 {
        max_abs(&self.tracer)
    }

    fn max_speed(&self) -> f64 {
        self.velocity
            .chunks_exact(2)
            .fold(0.0, |m, v| m.max(v[0].hypot(v[1])))
    }
}

/// The largest finite absolute value (0 when there is none).
fn max_abs(values: &[f64]) -> f64 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// `value` with two significant digits (`0.031`, `1.2`, `450`, `3.1e-5`).
fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor();
    if !(-3.0..4.0).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    let decimals = (1.0 - magnitude).max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// One row of the rollout figure: a step and its fields.
struct Row {
    step: usize,
    truth: Fields,
    prediction: Fields,
    error: Fields,
}

/// A field as coloured pixels, each row drawn as runs of equal colour.
fn heat_map(w: &mut SvgWriter, (x, y): (f64, f64), n: usize, values: &[f64], scale: f64) {
    let cell = PANEL / n as f64;
    for i in 0..n {
        let mut j = 0;
        while j < n {
            let colour = diverging(values[i * n + j], scale);
            let run = (j..n)
                .take_while(|&k| diverging(values[i * n + k], scale) == colour)
                .count();
            w.empty(
                "rect",
                &[
                    ("x", (x + j as f64 * cell).into()),
                    ("y", (y + i as f64 * cell).into()),
                    // A hair wider and taller, so no seams show between rects.
                    ("width", (run as f64 * cell + 0.3).into()),
                    ("height", (cell + 0.3).into()),
                    ("fill", (&colour.to_string()).into()),
                ],
            );
            j += run;
        }
    }
    frame(w, (x, y));
}

/// A vector field as arrows, one per block of `stride × stride` pixels, the longest almost
/// `stride` cells long.
fn arrows(w: &mut SvgWriter, (x, y): (f64, f64), n: usize, velocity: &[f64], scale: f64) {
    let cell = PANEL / n as f64;
    let stride = n.div_ceil(ARROWS_PER_SIDE).max(1);
    let reach = 0.95 * stride as f64 * cell;
    let colour = ARROW.to_string();
    if scale > 0.0 && scale.is_finite() {
        // One arrow per whole stride × stride block, centred on the block and drawn with the
        // velocity of its middle pixel, so it stays inside the block.
        let half = stride as f64 / 2.0;
        for bi in 0..n / stride {
            for bj in 0..n / stride {
                let (i, j) = (bi * stride + stride / 2, bj * stride + stride / 2);
                let v = &velocity[2 * (i * n + j)..][..2];
                let (dx, dy) = (v[1] / scale * reach, v[0] / scale * reach);
                let tail = (
                    x + ((bj * stride) as f64 + half) * cell - dx / 2.0,
                    y + ((bi * stride) as f64 + half) * cell - dy / 2.0,
                );
                draw_arrow(w, tail, (dx, dy), &colour, 1.2);
            }
        }
    }
    frame(w, (x, y));
}

fn frame(w: &mut SvgWriter, (x, y): (f64, f64)) {
    w.empty(
        "rect",
        &[
            ("x", x.into()),
            ("y", y.into()),
            ("width", PANEL.into()),
            ("height", PANEL.into()),
            ("fill", "none".into()),
            ("stroke", FRAME.into()),
            ("stroke-width", 1.0.into()),
        ],
    );
}

/// Up to three rollout steps to show: the first, the middle and the last.
fn shown_steps(steps: usize) -> Vec<usize> {
    let mut shown = vec![0, (steps.saturating_sub(1)) / 2, steps.saturating_sub(1)];
    shown.dedup();
    shown
}

/// One rollout: `truth[k]` and `prediction[k]` are step `k + 1`; `interval` is the time
/// between frames (see the module docs for the layout).
pub fn rollout(
    truth: &[MultiImage],
    prediction: &[MultiImage],
    interval: f64,
    trajectory: usize,
) -> Result<String, CliError> {
    let steps = truth.len().min(prediction.len());
    let shown = shown_steps(steps);
    let rows = shown
        .iter()
        .map(|&step| {
            let truth = Fields::of(&truth[step])?;
            let prediction = Fields::of(&prediction[step])?;
            let error = prediction.minus(&truth);
            Ok(Row {
                step,
                truth,
                prediction,
                error,
            })
        })
        .collect::<Result<Vec<_>, FrameError>>()
        .map_err(|e| CliError::Dataset(e.into()))?;
    let max = |f: fn(&Row) -> f64| rows.iter().map(f).fold(0.0, f64::max);
    let vort_scale = max(|r| r.truth.max_vorticity());
    let tracer_scale = max(|r| r.truth.max_tracer());
    let speed = max(|r| r.truth.max_speed());
    let (left, top) = (96.0, 76.0);
    // Under each row, a line for the error panels' scales.
    let pitch = PANEL + GAP + 14.0;
    let width = left + 9.0 * (PANEL + GAP) + GAP;
    let height = top + rows.len() as f64 * pitch + 40.0;
    let mut w = SvgWriter::new(width, height);
    text(
        &mut w,
        width / 2.0,
        26.0,
        16.0,
        "middle",
        &format!("Rollout of test trajectory {trajectory}: truth, prediction and error"),
    );
    let headers = [
        format!("vorticity, truth (±{})", short(vort_scale)),
        format!("vorticity, prediction (±{})", short(vort_scale)),
        "vorticity, error (scale per step)".to_string(),
        format!("velocity, truth (max {})", short(speed)),
        format!("velocity, prediction (max {})", short(speed)),
        "velocity, error (scale per step)".to_string(),
        format!("tracer, truth (±{})", short(tracer_scale)),
        format!("tracer, prediction (±{})", short(tracer_scale)),
        "tracer, error (scale per step)".to_string(),
    ];
    for (c, header) in headers.iter().enumerate() {
        let x = left + c as f64 * (PANEL + GAP) + PANEL / 2.0;
        text(&mut w, x, top - 12.0, 11.0, "middle", header);
    }
    for (r, row) in rows.iter().enumerate() {
        let (k, t, p, e) = (row.step, &row.truth, &row.prediction, &row.error);
        let y = top + r as f64 * pitch;
        let label_y = y + PANEL / 2.0;
        text(
            &mut w,
            left - 10.0,
            label_y - 6.0,
            12.0,
            "end",
            &format!("step {}", k + 1),
        );
        text(
            &mut w,
            left - 10.0,
            label_y + 10.0,
            11.0,
            "end",
            &format!("t + {:.2}", (k + 1) as f64 * interval),
        );
        let x = |c: usize| left + c as f64 * (PANEL + GAP);
        let (vort_err, speed_err, tracer_err) = (e.max_vorticity(), e.max_speed(), e.max_tracer());
        heat_map(&mut w, (x(0), y), t.n, &t.vorticity, vort_scale);
        heat_map(&mut w, (x(1), y), p.n, &p.vorticity, vort_scale);
        heat_map(&mut w, (x(2), y), e.n, &e.vorticity, vort_err);
        arrows(&mut w, (x(3), y), t.n, &t.velocity, speed);
        arrows(&mut w, (x(4), y), p.n, &p.velocity, speed);
        arrows(&mut w, (x(5), y), e.n, &e.velocity, speed_err);
        heat_map(&mut w, (x(6), y), t.n, &t.tracer, tracer_scale);
        heat_map(&mut w, (x(7), y), p.n, &p.tracer, tracer_scale);
        heat_map(&mut w, (x(8), y), e.n, &e.tracer, tracer_err);
        for (c, label) in [
            (2, format!("error (±{})", short(vort_err))),
            (5, format!("error (max {})", short(speed_err))),
            (8, format!("error (±{})", short(tracer_err))),
        ] {
            let scale_x = x(c) + PANEL / 2.0;
            text(&mut w, scale_x, y + PANEL + 13.0, 10.0, "middle", &label);
        }
    }
    text(
        &mut w,
        left,
        height - 14.0,
        11.0,
        "start",
        "Colours: blue negative, white zero, red positive, saturating at the scale in the \
         header (truth, prediction) or under the panel (error, one scale per step). Axis 0 \
         runs down, axis 1 right; arrows share the same scales.",
    );
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(epoch: usize, train_loss: f64, val_loss: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss,
            val_loss,
            learning_rate: 1e-3,
            seconds: 1.0,
            samples_per_second: 10.0,
            ranks: 1,
        }
    }

    #[test]
    fn loss_curves_have_one_point_per_epoch_and_decade_ticks() {
        let history = [
            metrics(1, 1.0, 2.0),
            metrics(2, 0.1, 0.5),
            metrics(3, 0.05, 0.2),
        ];
        let svg = loss_curves(&history);
        let doc = svg.matches("<circle").count();
        assert_eq!(doc, 6, "{svg}");
        // log10 of the losses spans [−2, 1): ticks 1e-2, 1e-1, 1e0, 1e1.
        for tick in ["1e-2", "1e-1", "1e0", "1e1"] {
            assert!(svg.contains(&format!(">{tick}<")), "{tick}");
        }
        assert!(!svg.contains(">1e-3<"));
        assert!(loss_curves(&[]).contains("no finished epochs"));
    }

    #[test]
    fn arrows_stay_inside_their_panel_one_per_block() {
        for n in [16, 17, 48] {
            // Every velocity is (1, 1): arrows point down and right, at full length.
            let velocity = vec![1.0; 2 * n * n];
            let mut w = SvgWriter::new(PANEL, PANEL);
            arrows(&mut w, (0.0, 0.0), n, &velocity, 2f64.sqrt());
            let svg = w.finish();
            let blocks = n / n.div_ceil(ARROWS_PER_SIDE);
            assert_eq!(
                svg.matches("class=\"arrow\"").count(),
                blocks * blocks,
                "n = {n}"
            );
            let coordinates: Vec<f64> = svg
                .split(['"', ' ', ','])
                .filter(|t| !t.is_empty())
                .filter_map(|t| t.parse::<f64>().ok())
                .collect();
            assert!(coordinates.len() > 4 * blocks * blocks);
            assert!(
                coordinates.iter().all(|&c| (0.0..=PANEL).contains(&c)),
                "n = {n}: {svg}"
            );
        }
    }

    /// Checks that `svg` is a complete document the rasteriser parses.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
        let png = Rasterizer::new(Fonts::None)
            .render_png_fitted(svg, 1.0, 1024)
            .unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
    }

    fn count(svg: &str, pattern: &str) -> usize {
        svg.matches(pattern).count()
    }

    #[test]
    fn error_curves_draw_one_line_per_series_and_skip_non_finite_values() {
        let series = vec![
            ("model".to_string(), vec![0.1, 0.2, f64::NAN, 0.4]),
            (
                "persistence".to_string(),
                vec![0.3, f64::INFINITY, 0.5, 0.6],
            ),
        ];
        let svg = error_curves("Rollout error", "l2 rel %", &series);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "class=\"series\""), 2, "{svg}");
        // One dot per finite value; only persistence is dashed (its line and legend entry).
        assert_eq!(count(&svg, "<circle"), 6, "{svg}");
        assert_eq!(count(&svg, "stroke-dasharray=\"6 4\""), 2, "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        for label in [">model<", ">persistence<", ">l2 rel %<", ">rollout step<"] {
            assert!(svg.contains(label), "{label}");
        }
        // A linear axis from 0 with steps 1..=4 along x.
        assert!(svg.contains(">0<") && svg.contains(">0.6<"), "{svg}");
        assert!(!svg.contains(">1e"), "{svg}");
        for step in 1..=4 {
            assert!(svg.contains(&format!(">{step}<")), "{step}");
        }
    }

    #[test]
    fn error_curves_turn_logarithmic_beyond_two_decades() {
        let series = vec![
            ("model".to_string(), vec![1e-4, 1e-3, 0.0, 1e-1]),
            ("persistence".to_string(), vec![1e-2; 10]),
            ("empty".to_string(), vec![f64::NAN]),
        ];
        let svg = error_curves("Rollout error", "smse", &series);
        assert_well_formed(&svg);
        // The zero has no place on a log axis; the empty series is only in the legend.
        assert_eq!(count(&svg, "class=\"series\""), 2, "{svg}");
        assert_eq!(count(&svg, "<circle"), 3 + 10, "{svg}");
        assert!(svg.contains(">empty (no data)<"), "{svg}");
        for tick in [">1e-4<", ">0.01<", ">0.1<"] {
            assert!(svg.contains(tick), "{tick}: {svg}");
        }
        let nothing = error_curves("Rollout error", "smse", &[("model".into(), vec![f64::NAN])]);
        assert_well_formed(&nothing);
        assert!(nothing.contains("no finite values"));
    }

    #[test]
    fn spectra_are_log_log_and_skip_non_positive_values() {
        let k: Vec<f64> = (0..=32).map(f64::from).collect();
        let power = |a: f64| k.iter().map(|&k| a * k.powi(-3)).collect::<Vec<_>>();
        let series = vec![
            ("truth".to_string(), k.clone(), power(1.0)),
            ("prediction".to_string(), k.clone(), power(0.5)),
            ("zero".to_string(), k.clone(), vec![0.0; k.len()]),
        ];
        let svg = spectra("Energy spectra", &series);
        assert_well_formed(&svg);
        assert_eq!(count(&svg, "class=\"series\""), 2, "{svg}");
        assert_eq!(count(&svg, "<circle"), 0);
        assert!(svg.contains(">zero (no data)<"), "{svg}");
        // k = 0 (E = inf) is left out: 32 points per line.
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        assert_eq!(points.split(' ').count(), 32, "{points}");
        // k from 1 to 32 spans decades 1..100; E from ~1.5e-5 to 1 spans 1e-5..1.
        for tick in [">1<", ">10<", ">100<", ">1e-5<", ">E(k)<", ">wavenumber k<"] {
            assert!(svg.contains(tick), "{tick}: {svg}");
        }
        assert!(spectra("Energy spectra", &[]).contains("no positive values"));
    }

    #[test]
    fn rollouts_show_every_field_with_an_error_scale_per_step() {
        let n = 8;
        let frame = |a: f32| {
            let ramp = |offset: f32| -> Vec<f32> {
                (0..n * n).map(|i| a * (i as f32 - offset) / 64.0).collect()
            };
            let velocity: Vec<f32> = ramp(10.0).iter().flat_map(|&v| [v, -v]).collect();
            multi_image_to_frame_round_trip(n, velocity, ramp(30.0), ramp(0.0))
        };
        // The prediction's error grows tenfold per step.
        let truth: Vec<MultiImage> = (0..3).map(|_| frame(1.0)).collect();
        let prediction: Vec<MultiImage> = [1.001, 1.01, 1.1].into_iter().map(frame).collect();
        let svg = rollout(&truth, &prediction, 0.5, 7).unwrap();
        assert_well_formed(&svg);
        for header in [
            "vorticity, error",
            "velocity, error",
            "tracer, truth",
            "tracer, error",
        ] {
            assert!(svg.contains(header), "{header}");
        }
        // Three rows, each with its own error scales: the vorticity's errors are 0.001, 0.01
        // and 0.1 times its largest value (33/64).
        assert_eq!(count(&svg, ">error (±"), 6, "{svg}");
        assert_eq!(count(&svg, ">error (max "), 3, "{svg}");
        for scale in ["±5.2e-4", "±0.0052", "±0.052"] {
            assert!(
                svg.contains(&format!(">error ({scale})<")),
                "{scale}: {svg}"
            );
        }
    }

    fn multi_image_to_frame_round_trip(
        n: usize,
        velocity: Vec<f32>,
        vorticity: Vec<f32>,
        tracer: Vec<f32>,
    ) -> MultiImage {
        crate::simulate::frame_to_multi_image(&crate::simulate::Frame {
            n,
            velocity,
            vorticity,
            tracer,
        })
        .unwrap()
    }

    #[test]
    fn short_numbers_keep_two_significant_digits() {
        assert_eq!(short(0.031234), "0.031");
        assert_eq!(short(1.234), "1.2");
        assert_eq!(short(450.2), "450");
        assert_eq!(short(3.1e-5), "3.1e-5");
        assert_eq!(short(0.0), "0");
    }

    #[test]
    fn the_shown_steps_are_first_middle_last() {
        assert_eq!(shown_steps(10), [0, 4, 9]);
        assert_eq!(shown_steps(2), [0, 1]);
        assert_eq!(shown_steps(1), [0]);
    }
}
