//! Fuzz-style tests of the HDF5 readers (`ginrs_train::data::hdf5`): damaged copies of the
//! valid fixture files in `train/tests/fixtures/data/` (random bytes flipped, runs of random
//! bytes written, the file cut at a random length) must open into a typed error or a reader whose frames and constants read
//! into values or errors, without a panic and without an allocation beyond
//! [`ALLOCATION_LIMIT`](ginrs_tests::fuzz::ALLOCATION_LIMIT).
//!
//! `cargo test` runs [`FEW`] cases per file; `cargo test -- --ignored` runs [`MANY`]. A failing
//! case prints its file and seed; [`damage`] with that seed rebuilds the bytes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ginrs_tests::fuzz::{
    clear_case, panic_message, print_panics_on_this_thread, quiet_panics_on_this_thread, set_case,
    set_subject, Guard,
};
use ginrs_train::data::hdf5::{sniff, PdebenchFile, WellFile};
use ginrs_train::data::{DataError, DataOptions, TrajectorySource};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Cases per file in the default test run.
const FEW: u64 = 400;
/// Cases per file in the ignored long run.
const MANY: u64 = 5_000;
/// Frames (and constants) read per opened case at most: a damaged shape can claim billions.
const MAX_READS: usize = 64;

#[global_allocator]
static GLOBAL: Guard = Guard;

/// How a file is opened.
#[derive(Debug, Clone, Copy)]
enum Reader {
    Well,
    Pdebench,
}

/// The valid files damaged, relative to train/tests/fixtures/data, and their readers: both HDF5
/// layouts h5py writes (`earliest`: symbol tables, version-1 B-trees; `latest`: link messages,
/// fixed arrays), both dimensions, order-2 tensors and constants.
const FILES: [(&str, Reader); 5] = [
    ("well_2d/data/train/a.hdf5", Reader::Well),
    ("well_2d_walls.hdf5", Reader::Well),
    ("well_3d_k2.hdf5", Reader::Well),
    (
        "2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_16_Train.hdf5",
        Reader::Pdebench,
    ),
    (
        "3D_CFD_Rand_M1.0_Eta1e-08_Zeta1e-08_periodic_8_Train.hdf5",
        Reader::Pdebench,
    ),
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../train/tests/fixtures/data")
        .join(name)
}

/// Integers a damaged size, count or address field may hold: limits of each width, powers of
/// two that overflow products, and the undefined address.
const EXTREMES: [u64; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 40,
    1 << 62,
    u64::MAX,
];

/// A damaged copy of `bytes`: one to eight random bytes changed, a run of up to 64 random
/// bytes written, an extreme integer of 1, 2, 4 or 8 bytes written (where size and address
/// fields live, a header's claim of a huge array), or the file cut at a random length. Half
/// the positions fall in the first 8 KiB, where the superblock and the first object headers
/// lie.
fn damage(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = bytes.to_vec();
    let len = out.len();
    let position = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.5) {
            rng.random_range(0..len.min(8192))
        } else {
            rng.random_range(0..len)
        }
    };
    match rng.random_range(0..5) {
        0 => out.truncate(rng.random_range(0..len)),
        1 => {
            let width = [1, 2, 4, 8][rng.random_range(0..4)];
            let value = EXTREMES[rng.random_range(0..EXTREMES.len())].to_le_bytes();
            let at = position(&mut rng).min(len - width);
            out[at..at + width].copy_from_slice(&value[..width]);
        }
        2 => {
            let at = position(&mut rng);
            let run = rng.random_range(1..=64).min(len - at);
            for b in &mut out[at..at + run] {
                *b = rng.random();
            }
        }
        _ => {
            for _ in 0..rng.random_range(1..=8) {
                let at = position(&mut rng);
                out[at] = rng.random();
            }
        }
    }
    out
}

/// What one file's damaged copies did.
#[derive(Debug, Default)]
struct Outcome {
    /// Copies that opened (their reads may still have failed).
    opened: usize,
    /// Copies refused when opened.
    refused: usize,
    /// Frames and constants read without error.
    reads: usize,
    /// Reads that failed with an error.
    failed_reads: usize,
    /// Errors reporting a panic of the HDF5 parser, caught by the reader: seed and message.
    caught_panics: Vec<(u64, String)>,
    /// Seeds and messages of the cases that panicked out of the reader.
    panicked: Vec<(u64, String)>,
}

impl Outcome {
    fn note(&mut self, error: &DataError) {
        if matches!(error, DataError::Hdf5 { message, .. } if message.contains("(panic:")) {
            self.caught_panics.push((u64::MAX, error.to_string()));
        }
    }
}

/// Opens `path` with `reader` and reads up to [`MAX_READS`] frames and constants.
fn exercise(path: &Path, reader: Reader, outcome: &mut Outcome) {
    let _ = sniff(path);
    let options = DataOptions::default();
    let source: Box<dyn TrajectorySource> = match reader {
        Reader::Well => match WellFile::open(path, &options) {
            Ok(file) => Box::new(file),
            Err(error) => {
                outcome.note(&error);
                outcome.refused += 1;
                return;
            }
        },
        Reader::Pdebench => match PdebenchFile::open(path, &options) {
            Ok(file) => Box::new(file),
            Err(error) => {
                outcome.note(&error);
                outcome.refused += 1;
                return;
            }
        },
    };
    outcome.opened += 1;
    let mut budget = MAX_READS;
    'all: for t in 0..source.trajectories() {
        let mut results = vec![source.constants(t).map(drop)];
        for f in 0..source.frames() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            results.push(source.frame(t, f).map(drop));
        }
        for result in results {
            match result {
                Ok(()) => outcome.reads += 1,
                Err(error) => {
                    outcome.note(&error);
                    outcome.failed_reads += 1;
                }
            }
        }
        if budget == 0 {
            break 'all;
        }
    }
}

/// Runs the damaged copies `cases` of file `index` of [`FILES`].
fn fuzz(index: usize, cases: std::ops::Range<u64>) -> Outcome {
    let (name, reader) = FILES[index];
    let bytes = std::fs::read(fixture(name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The copy keeps the file name: PDEBench's boundary comes from it.
    let path = dir.path().join(Path::new(name).file_name().unwrap());
    let mut outcome = Outcome::default();
    set_subject(index);
    for seed in cases {
        set_case(seed);
        std::fs::write(&path, damage(&bytes, seed)).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut local = Outcome::default();
            exercise(&path, reader, &mut local);
            local
        }));
        match result {
            Ok(local) => {
                outcome.opened += local.opened;
                outcome.refused += local.refused;
                outcome.reads += local.reads;
                outcome.failed_reads += local.failed_reads;
                outcome.caught_panics.extend(
                    local
                        .caught_panics
                        .into_iter()
                        .map(|(_, message)| (seed, message)),
                );
            }
            Err(payload) => outcome
                .panicked
                .push((seed, panic_message(payload.as_ref()))),
        }
    }
    clear_case();
    outcome
}

/// Every file, with the counts printed (`--nocapture` shows them).
fn all(cases: std::ops::Range<u64>) {
    quiet_panics_on_this_thread();
    let mut failures = Vec::new();
    for (index, (name, _)) in FILES.iter().enumerate() {
        let outcome = fuzz(index, cases.clone());
        println!(
            "{name}: {} damaged copies opened ({} reads, {} failed), {} refused, {} parser \
             panics caught, {} escaped",
            outcome.opened,
            outcome.reads,
            outcome.failed_reads,
            outcome.refused,
            outcome.caught_panics.len(),
            outcome.panicked.len()
        );
        for (seed, message) in outcome.caught_panics.iter().take(3) {
            println!("  caught, seed {seed}: {message}");
        }
        assert!(outcome.refused > 0, "{name}: no damaged copy was refused");
        if !outcome.panicked.is_empty() {
            failures.push(format!("{name}: {:?}", outcome.panicked));
        }
    }
    print_panics_on_this_thread();
    assert!(
        failures.is_empty(),
        "panicking cases (file: [(seed, message)]): {failures:#?}"
    );
}

#[test]
fn damaged_files_open_or_fail_cleanly() {
    all(0..FEW);
}

#[test]
#[ignore = "long: MANY cases per file"]
fn damaged_files_open_or_fail_cleanly_many() {
    all(FEW..FEW + MANY);
}

#[test]
fn the_undamaged_files_read_whole() {
    // The fuzzed files themselves open and read every frame: the damage is what fails.
    for (name, reader) in FILES {
        let mut outcome = Outcome::default();
        exercise(&fixture(name), reader, &mut outcome);
        assert_eq!(
            (outcome.opened, outcome.failed_reads),
            (1, 0),
            "{name}: {outcome:?}"
        );
    }
}

/// Replays one case with its panic printed: `HDF5_FUZZ_FILE=<index in FILES>
/// HDF5_FUZZ_SEED=<seed> cargo test -p ginrs-train --test hdf5_fuzz replay -- --ignored`.
#[test]
#[ignore = "replays the case named by HDF5_FUZZ_FILE and HDF5_FUZZ_SEED"]
fn replay() {
    let var = |name: &str| std::env::var(name).ok()?.parse::<u64>().ok();
    let (Some(index), Some(seed)) = (var("HDF5_FUZZ_FILE"), var("HDF5_FUZZ_SEED")) else {
        println!("set HDF5_FUZZ_FILE and HDF5_FUZZ_SEED to replay a case");
        return;
    };
    let index = index as usize;
    let (name, reader) = FILES[index];
    let bytes = std::fs::read(fixture(name)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(Path::new(name).file_name().unwrap());
    std::fs::write(&path, damage(&bytes, seed)).unwrap();
    let mut outcome = Outcome::default();
    exercise(&path, reader, &mut outcome);
    println!("{outcome:?}");
}
