//! Figures of a run, drawn with the generator's picture code ([`SvgWriter`], its
//! blue–white–red [`diverging`] scale and [`draw_arrow`]) and rasterised to PNG with resvg.
//!
//! - [`loss_curves`]: training and validation loss per epoch, on a log scale;
//! - [`rollout`]: a few steps of one test rollout, one row per step: the vorticity (truth,
//!   prediction, error; colour, symmetric about 0) and the velocity (truth, prediction, error;
//!   arrows). As in the filter pictures, axis 0 of the grid runs down and axis 1 to the right,
//!   so a velocity `(u₀, u₁)` is an arrow `u₁` right and `u₀` down.

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

/// The vorticity and velocity of one frame.
struct Fields {
    n: usize,
    vorticity: Vec<f64>,
    velocity: Vec<f64>,
}

impl Fields {
    fn of(image: &MultiImage) -> Result<Self, FrameError> {
        let frame = multi_image_to_frame(image)?;
        Ok(Self {
            n: frame.n,
            vorticity: frame.vorticity.iter().map(|&v| f64::from(v)).collect(),
            velocity: frame.velocity.iter().map(|&v| f64::from(v)).collect(),
        })
    }

    fn minus(&self, other: &Self) -> Self {
        let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x - y).collect();
        Self {
            n: self.n,
            vorticity: diff(&self.vorticity, &other.vorticity),
            velocity: diff(&self.velocity, &other.velocity),
        }
    }

    fn max_vorticity(&self) -> f64 {
        self.vorticity.iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    fn max_speed(&self) -> f64 {
        self.velocity
            .chunks_exact(2)
            .fold(0.0, |m, v| m.max(v[0].hypot(v[1])))
    }
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
    let vort_err = max(|r| r.error.max_vorticity());
    let speed = max(|r| r.truth.max_speed());
    let speed_err = max(|r| r.error.max_speed());
    let (left, top) = (96.0, 76.0);
    let width = left + 6.0 * (PANEL + GAP) + GAP;
    let height = top + rows.len() as f64 * (PANEL + GAP) + 40.0;
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
        format!("vorticity, truth (±{vort_scale:.2})"),
        format!("vorticity, prediction (±{vort_scale:.2})"),
        format!("vorticity, error (±{vort_err:.2})"),
        format!("velocity, truth (max {speed:.2})"),
        format!("velocity, prediction (max {speed:.2})"),
        format!("velocity, error (max {speed_err:.2})"),
    ];
    for (c, header) in headers.iter().enumerate() {
        let x = left + c as f64 * (PANEL + GAP) + PANEL / 2.0;
        text(&mut w, x, top - 12.0, 11.0, "middle", header);
    }
    for (r, row) in rows.iter().enumerate() {
        let (k, t, p, e) = (row.step, &row.truth, &row.prediction, &row.error);
        let y = top + r as f64 * (PANEL + GAP);
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
        heat_map(&mut w, (x(0), y), t.n, &t.vorticity, vort_scale);
        heat_map(&mut w, (x(1), y), p.n, &p.vorticity, vort_scale);
        heat_map(&mut w, (x(2), y), e.n, &e.vorticity, vort_err);
        arrows(&mut w, (x(3), y), t.n, &t.velocity, speed);
        arrows(&mut w, (x(4), y), p.n, &p.velocity, speed);
        arrows(&mut w, (x(5), y), e.n, &e.velocity, speed_err);
    }
    text(
        &mut w,
        left,
        height - 14.0,
        11.0,
        "start",
        "Colours: blue negative, white zero, red positive, saturating at the scale in the \
         header. Axis 0 runs down, axis 1 right; arrows share the header's scale.",
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

    #[test]
    fn the_shown_steps_are_first_middle_last() {
        assert_eq!(shown_steps(10), [0, 4, 9]);
        assert_eq!(shown_steps(2), [0, 1]);
        assert_eq!(shown_steps(1), [0]);
    }
}
