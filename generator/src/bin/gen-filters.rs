//! `gen-filters`: writes invariant filter banks as `ginrs-filters/1` JSON.
//!
//! Example: `gen-filters --dim 2 --size 3,5 --max-k 3 -o filters/d2.json --summary`.
//! Pictures: `gen-filters --dim 2 --size 3 --max-k 2 --svg pictures/ --png pictures/`.
#![forbid(unsafe_code)]

use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use ginrs_generator::filters::{bank_bytes, bank_order, MAX_BANK_BYTES};
use ginrs_generator::group::{Group, GroupKind};
use ginrs_generator::picture::{self, file_stem, Fonts, Rasterizer};
use ginrs_generator::{
    invariant_bank, invariant_count, BankOptions, Convention, FilterBank, FilterFile, Scale,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Most banks one invocation may request.
const MAX_BANKS: usize = 4096;

/// Which parities to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parities {
    Even,
    Odd,
    Both,
}

impl Parities {
    fn list(self) -> &'static [u8] {
        match self {
            Self::Even => &[0],
            Self::Odd => &[1],
            Self::Both => &[0, 1],
        }
    }
}

fn parse_parities(s: &str) -> Result<Parities, String> {
    match s {
        "0" => Ok(Parities::Even),
        "1" => Ok(Parities::Odd),
        "both" => Ok(Parities::Both),
        _ => Err(format!("`{s}` is not a parity: use 0, 1 or both")),
    }
}

fn parse_named<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

/// Generate the invariant convolution filters of the hyperoctahedral group (or a subgroup) as
/// JSON, in ginjax's convention or the exact canonical one.
#[derive(Debug, Parser)]
#[command(name = "gen-filters", version)]
struct Cli {
    /// Spatial dimension d (1..=6).
    #[arg(long)]
    dim: usize,
    /// Filter side lengths M ≥ 1, comma separated. An even M is centred between pixels (as
    /// ginjax's M = 2 upsampling banks) and needs explicit padding when used in a layer.
    #[arg(long, value_delimiter = ',', required = true)]
    size: Vec<usize>,
    /// Largest tensor order k; banks are written for k = 0..=K.
    #[arg(long)]
    max_k: usize,
    /// Parities to generate: 0, 1 or both.
    #[arg(long, default_value = "both", value_parser = parse_parities)]
    parity: Parities,
    /// The group: hyperoctahedral, flips or rotations.
    #[arg(long, default_value = "hyperoctahedral", value_parser = parse_named::<GroupKind>)]
    group: GroupKind,
    /// Basis, order and signs: ginjax or canonical.
    #[arg(long, default_value = "ginjax", value_parser = parse_named::<Convention>)]
    convention: Convention,
    /// Final scaling: normalize (largest pixel norm 1) or one (largest entry 1).
    #[arg(long, default_value = "normalize", value_parser = parse_named::<Scale>)]
    scale: Scale,
    /// Use the standard basis for k = 2 instead of ginjax's irreps basis.
    #[arg(long)]
    no_k2_irreps_basis: bool,
    /// Output file (default: standard output, unless --svg or --png is given).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write one SVG picture per bank, named like `d2_m3_k1_p0.svg`, into this directory.
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
    /// Write one PNG picture per bank into this directory (text needs system fonts).
    #[arg(long, value_name = "DIR")]
    png: Option<PathBuf>,
    /// Print a table of filter counts per (M, k, parity).
    #[arg(long)]
    summary: bool,
    /// Print the time taken per bank and in total.
    #[arg(long)]
    timings: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let start = Instant::now();
    let group = Group::new(cli.group, cli.dim).map_err(|e| e.to_string())?;
    let options = BankOptions {
        convention: cli.convention,
        scale: cli.scale,
        k2_irreps_basis: !cli.no_k2_irreps_basis,
    };
    let bank_count = cli
        .max_k
        .checked_add(1)
        .and_then(|ks| ks.checked_mul(cli.size.len() * cli.parity.list().len()));
    if bank_count.is_none_or(|n| n > MAX_BANKS) {
        return Err(format!(
            "--max-k {} with {} size(s) asks for more than {MAX_BANKS} banks: \
             lower --max-k or request fewer sizes",
            cli.max_k,
            cli.size.len()
        ));
    }
    let requests = bank_order(&cli.size, cli.max_k, cli.parity.list());
    // Refuse everything up front, before spending time on any bank.
    let mut total_bytes: u64 = 0;
    for &(m, k, p) in &requests {
        let bytes = bank_bytes(&group, m, k, p).map_err(|e| e.to_string())?;
        total_bytes = total_bytes.saturating_add(bytes);
    }
    if total_bytes > 2 * MAX_BANK_BYTES {
        return Err(format!(
            "the requested banks together would need about {} MiB, more than 2048 MiB: \
             request fewer sizes or a smaller --max-k",
            total_bytes >> 20
        ));
    }
    for dir in cli.svg.iter().chain(&cli.png) {
        picture::prepare_dir(dir).map_err(|e| e.to_string())?;
    }
    let pictures = usize::from(cli.svg.is_some()) + usize::from(cli.png.is_some());
    let progress = progress_bar(
        std::io::stderr().is_terminal() && wants_progress(cli.dim, requests.len(), total_bytes),
        requests.len() * (1 + pictures),
    );

    let mut banks: Vec<FilterBank> = Vec::with_capacity(requests.len());
    let mut times: Vec<Duration> = Vec::with_capacity(requests.len());
    for &(m, k, p) in &requests {
        progress.set_message(format!("bank M = {m}, k = {k}, p = {p}"));
        let t = Instant::now();
        banks.push(invariant_bank(&group, m, k, p, &options).map_err(|e| e.to_string())?);
        times.push(t.elapsed());
        progress.inc(1);
    }
    let compute_time = start.elapsed();
    let file = FilterFile::new(&group, &options, banks);

    let mut report = String::new();
    if cli.summary {
        report.push_str(&summary(&group, &file, &options));
    }
    if cli.timings {
        report.push_str(&timings(&file, &times, compute_time));
    }
    match &cli.output {
        Some(path) => {
            let cannot = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
            let out = std::fs::File::create(path).map_err(cannot)?;
            file.write_json(BufWriter::new(out)).map_err(cannot)?;
            print!("{report}");
        }
        None if pictures > 0 => eprint!("{report}"),
        None => {
            file.write_json(BufWriter::new(std::io::stdout().lock()))
                .map_err(|e| format!("cannot write to standard output: {e}"))?;
            eprint!("{report}");
        }
    }
    let written = write_pictures(cli, &file.banks, &progress)?;
    progress.finish_and_clear();
    eprint!("{written}");
    if cli.timings {
        let line = format!(
            "total (including JSON and output): {:.3} ms\n",
            ms(start.elapsed())
        );
        match cli.output {
            Some(_) => print!("{line}"),
            None => eprint!("{line}"),
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(group: &Group, file: &FilterFile, options: &BankOptions) -> String {
    let mut out = format!(
        "{} filters, d = {}, group {} (order {}), scale {}\n",
        options.convention,
        group.dim(),
        group.kind(),
        group.order(),
        options.scale
    );
    out.push_str("   M   k   p   coords  filters  dimension\n");
    for bank in &file.banks {
        let coords: usize = bank.shape().iter().product();
        let formula = invariant_count(group, bank.size(), bank.k(), bank.parity());
        out.push_str(&format!(
            "{:>4}{:>4}{:>4}{:>9}{:>9}{:>11}\n",
            bank.size(),
            bank.k(),
            bank.parity(),
            coords,
            bank.len(),
            formula
        ));
    }
    out
}

fn timings(file: &FilterFile, times: &[Duration], compute: Duration) -> String {
    let mut out = String::from("   M   k   p   time (ms)\n");
    for (bank, t) in file.banks.iter().zip(times) {
        out.push_str(&format!(
            "{:>4}{:>4}{:>4}{:>12.3}\n",
            bank.size(),
            bank.k(),
            bank.parity(),
            ms(*t)
        ));
    }
    out.push_str(&format!(
        "banks (including group setup): {:.3} ms\n",
        ms(compute)
    ));
    out
}

/// Whether a run is long enough to deserve a progress bar (when stderr is a terminal): d ≥ 4,
/// many banks, or banks needing much memory.
fn wants_progress(dim: usize, banks: usize, bytes: u64) -> bool {
    dim >= 4 || banks >= 16 || bytes >= 64 << 20
}

/// A progress bar over `steps` on stderr, or a hidden one that draws nothing.
fn progress_bar(show: bool, steps: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Writes the SVG and PNG pictures asked for, one per bank, and returns a line per directory.
fn write_pictures(
    cli: &Cli,
    banks: &[FilterBank],
    progress: &ProgressBar,
) -> Result<String, String> {
    let mut report = String::new();
    if let Some(dir) = &cli.svg {
        for bank in banks {
            progress.set_message(format!("SVG {}", file_stem(bank)));
            picture::write_svg(dir, bank).map_err(|e| e.to_string())?;
            progress.inc(1);
        }
        report.push_str(&pictures_line(banks.len(), "SVG", dir));
    }
    if let Some(dir) = &cli.png {
        let rasterizer = Rasterizer::new(Fonts::System);
        if rasterizer.font_count() == 0 {
            progress.suspend(|| {
                eprintln!("warning: no system fonts found; PNG pictures will have no text")
            });
        }
        for bank in banks {
            progress.set_message(format!("PNG {}", file_stem(bank)));
            picture::write_png(dir, bank, &rasterizer).map_err(|e| e.to_string())?;
            progress.inc(1);
        }
        report.push_str(&pictures_line(banks.len(), "PNG", dir));
    }
    Ok(report)
}

fn pictures_line(count: usize, kind: &str, dir: &Path) -> String {
    let noun = if count == 1 { "picture" } else { "pictures" };
    format!("wrote {count} {kind} {noun} to {}\n", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_for_long_runs() {
        assert!(!wants_progress(2, 8, 1 << 20));
        assert!(wants_progress(4, 1, 0));
        assert!(wants_progress(2, 16, 0));
        assert!(wants_progress(3, 2, 64 << 20));
        assert!(progress_bar(false, 10).is_hidden());
    }

    #[test]
    fn picture_report_lines() {
        assert_eq!(
            pictures_line(1, "SVG", Path::new("out")),
            "wrote 1 SVG picture to out\n"
        );
        assert_eq!(
            pictures_line(4, "PNG", Path::new("a/b")),
            "wrote 4 PNG pictures to a/b\n"
        );
    }
}
