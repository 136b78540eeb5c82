//! Isotropic power spectra of square 2-D images, binned as ginjax 0.1.8's `utils.power`.
//!
//! [`power`] takes a batch of scalar images `(batch, channels, n, n)`, Fourier transforms each
//! image, takes `|F|²`, means over the batch and sums over the channels, then bins the modes by
//! `ceil(|k|)` (`k` in integer wavenumbers, numpy's `fftfreq(n) · n` on both axes) with the
//! weights `N` ginjax uses, drops the `k = 0` bin and keeps the bins `1 ..= n / 2`. Each bin
//! holds the `N`-weighted mean of `|k|` and of the power, and the sum of the weights:
//! `(k, P, N)`, ginjax's return value. [`energy_spectrum`] is the kinetic-energy spectrum of
//! velocity fields, `E(k) = ½ Σ_components P(k)`; [`energy_spectrum_blocks`] takes the
//! velocity as runtime [`ImageBlock`]s.
//!
//! ## Normalisation
//!
//! The transform is unnormalised, numpy's `fftn`: `F(k) = Σ_x u(x) e^{-2πi k·x/n}`, so
//! Parseval reads `Σ_k |F(k)|² = n² Σ_x |u(x)|²`. A mode `A cos(2π k·x/n)` (k ≠ 0, not a
//! Nyquist mode) has `|F|² = (A n²/2)²` at `±k`.
//!
//! ## ginjax's weights, replicated exactly
//!
//! ginjax builds `N` for a full (not real) FFT as `N = 2` everywhere, then `N[..., 0] = 1` and,
//! when `n` is even, `N[..., -1] = 1`: weight 1 for the modes in the **last-axis** column of
//! index 0 (wavenumber 0 along axis 1) and, for even `n`, the last-axis column of index `n − 1`
//! — that is wavenumber **−1** along axis 1, not the Nyquist column (the weighting is the one of
//! a real FFT's half plane, applied to the full plane). The weights only change how the modes
//! of a bin are averaged, but they make the spectrum depend on the orientation: a single mode
//! along axis 0 (in column 0, weight 1) gets half the binned power of the same mode along
//! axis 1 (weight 2). The spectrum is invariant under reversing either axis and under the
//! 180° rotation; under 90° rotations only when the power in the weight-1 columns and the
//! matching rows agrees (e.g. no power on those columns and rows at all).
//!
//! Input values are `f32`; the transform and the binning run in `f64`. Non-finite inputs are
//! not rejected: they propagate into the bins, as in ginjax.
//!
//! ```
//! use ginrs_train::spectrum::power;
//!
//! // One image, one channel: cos(2π·3·x₁/16) on a 16×16 grid.
//! let n = 16;
//! let image: Vec<f32> = (0..n * n)
//!     .map(|p| (2.0 * std::f64::consts::PI * 3.0 * (p % n) as f64 / n as f64).cos() as f32)
//!     .collect();
//! let spectrum = power(&image, 1, 1, n)?;
//! assert_eq!(spectrum.len(), 8); // bins k = 1 ..= 8
//! assert!((spectrum.power[2] / (65536.0 / 28.0) - 1.0).abs() < 1e-6); // all the power in k = 3
//! # Ok::<(), ginrs_train::spectrum::SpectrumError>(())
//! ```

use ginrs_runtime::ImageBlock;
use rustfft::num_complex::Complex;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A binned isotropic spectrum, ginjax's `(k, P, N)`: entry `i` is the bin `ceil(|k|) = i + 1`,
/// for `i` in `0 .. n / 2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// The `N`-weighted mean of `|k|` (integer wavenumbers) over the modes of each bin.
    pub k: Vec<f64>,
    /// The `N`-weighted mean over the modes of each bin of the power `|F|²` (meaned over the
    /// batch, summed over the channels; halved for [`energy_spectrum`]).
    pub power: Vec<f64>,
    /// The sum of the weights `N` (1 or 2 per mode) of each bin.
    pub count: Vec<u32>,
}

impl Spectrum {
    /// The number of bins, `n / 2`.
    pub fn len(&self) -> usize {
        self.k.len()
    }

    /// Whether there are no bins (never, for a spectrum this module computed).
    pub fn is_empty(&self) -> bool {
        self.k.is_empty()
    }
}

/// Errors from computing a spectrum.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpectrumError {
    /// The image side is below 2: there would be no bin `k ≥ 1`.
    #[error("image side n = {n} is below 2")]
    SideTooSmall {
        /// The rejected side.
        n: usize,
    },
    /// The batch or the channel count is zero (ginjax's mean over an empty batch is NaN).
    #[error("empty input: batch = {batch}, channels = {channels}")]
    Empty {
        /// The batch size.
        batch: usize,
        /// The number of channels.
        channels: usize,
    },
    /// The data length is not `batch · channels · n² · components`.
    #[error("data length {got}, expected {expected}")]
    DataLength {
        /// The length the shape asks for.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The shape's element count overflows `usize`.
    #[error("the shape's element count overflows usize")]
    SizeOverflow,
    /// A velocity block is not a vector image on a square 2-D grid, or does not match block 0.
    #[error("velocity block {index}: {reason}")]
    Block {
        /// The offending block.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// ginjax's `power`: the binned isotropic power spectrum of a batch of scalar images.
///
/// `images` holds `batch · channels` images of `n × n` values, row-major, layout
/// `[batch][channels][n][n]` (axis 0 is the row index). Returns the bins `k = 1 ..= n / 2`
/// (see the [module docs](self) for the weights and the normalisation).
///
/// # Errors
///
/// [`SpectrumError::SideTooSmall`] for `n < 2`, [`SpectrumError::Empty`] for a zero batch or
/// channel count, [`SpectrumError::DataLength`] when `images.len() ≠ batch · channels · n²`.
pub fn power(
    images: &[f32],
    batch: usize,
    channels: usize,
    n: usize,
) -> Result<Spectrum, SpectrumError> {
    check(images.len(), batch, channels, n, 1)?;
    let acc = power_map(images.chunks_exact(n * n), n);
    Ok(bins(&acc, batch, n, 1.0))
}

/// The kinetic-energy spectrum `E(k) = ½ Σ_components P(k)` of a batch of 2-D vector fields.
///
/// `velocity` holds `batch · channels` vector images in ginrs's layout (that of
/// [`ImageBlock`] data and of [`Frame::velocity`](crate::simulate::Frame::velocity)):
/// `[batch][channels][n][n][2]`, pixel-major with the components `(u₀, u₁)` innermost. The two
/// components of every channel are treated as two scalar channels of [`power`] (mean over the
/// batch, sum over channels and components) and the power is halved; `k` and `count` are
/// [`power`]'s. For one field (batch 1, one channel) whose modes all lie at `0 < |k| ≤ n/2`
/// and avoid ginjax's weight-1 columns (see the module docs), every mode has weight 2 and
/// `Σ_bins E·N = n² Σ_x |u(x)|² = 2 n² · Σ_x ½|u(x)|²`, twice `n²` times the kinetic energy.
///
/// # Errors
///
/// As [`power`], with `images.len() ≠ batch · channels · n² · 2` reported as
/// [`SpectrumError::DataLength`].
pub fn energy_spectrum(
    velocity: &[f32],
    batch: usize,
    channels: usize,
    n: usize,
) -> Result<Spectrum, SpectrumError> {
    check(velocity.len(), batch, channels, n, 2)?;
    let pixels = n * n;
    let mut planes = Vec::with_capacity(velocity.len());
    for image in velocity.chunks_exact(2 * pixels) {
        for component in 0..2 {
            planes.extend(image.iter().skip(component).step_by(2));
        }
    }
    let acc = power_map(planes.chunks_exact(pixels), n);
    Ok(bins(&acc, batch, n, 0.5))
}

/// [`energy_spectrum`] of a batch of velocity [`ImageBlock`]s (one block per batch item).
///
/// Every block must be a vector image (`k = 1`, any parity) on a square 2-D grid, with the
/// grid side and the channel count of block 0.
///
/// # Errors
///
/// [`SpectrumError::Empty`] for no blocks, [`SpectrumError::Block`] for a block that is not a
/// square 2-D vector image or differs from block 0, otherwise as [`energy_spectrum`].
pub fn energy_spectrum_blocks(blocks: &[&ImageBlock]) -> Result<Spectrum, SpectrumError> {
    let Some(first) = blocks.first() else {
        return Err(SpectrumError::Empty {
            batch: 0,
            channels: 0,
        });
    };
    let n = first.geometry().spatial().first().copied().unwrap_or(0);
    let channels = first.channels();
    let mut data = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let spatial = block.geometry().spatial();
        let reason = if block.key().k() != 1 {
            Some(format!(
                "tensor order {}, expected a vector (k = 1)",
                block.key().k()
            ))
        } else if spatial.len() != 2 || spatial[0] != spatial[1] {
            Some(format!("grid {spatial:?} is not a square 2-D grid"))
        } else if spatial[0] != n || block.channels() != channels {
            Some(format!(
                "{} channels on a {}² grid, block 0 has {channels} on {n}²",
                block.channels(),
                spatial[0]
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(SpectrumError::Block { index, reason });
        }
        data.extend_from_slice(block.data());
    }
    energy_spectrum(&data, blocks.len(), channels, n)
}

/// Checks the shape against the data length `len`.
fn check(
    len: usize,
    batch: usize,
    channels: usize,
    n: usize,
    components: usize,
) -> Result<(), SpectrumError> {
    if n < 2 {
        return Err(SpectrumError::SideTooSmall { n });
    }
    if batch == 0 || channels == 0 {
        return Err(SpectrumError::Empty { batch, channels });
    }
    let expected = [channels, n, n, components]
        .into_iter()
        .try_fold(batch, usize::checked_mul)
        .ok_or(SpectrumError::SizeOverflow)?;
    if len != expected {
        return Err(SpectrumError::DataLength { expected, got: len });
    }
    Ok(())
}

/// `Σ_images |F|²` per mode, row-major `[k₀][k₁]` in FFT order, of `n × n` images.
fn power_map<'a>(images: impl Iterator<Item = &'a [f32]>, n: usize) -> Vec<f64> {
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
    let mut scratch = vec![Complex::default(); fft.get_inplace_scratch_len()];
    let mut rows = vec![Complex::default(); n * n];
    let mut columns = vec![Complex::default(); n * n];
    let mut acc = vec![0.0; n * n];
    for image in images {
        for (c, &v) in rows.iter_mut().zip(image) {
            *c = Complex::new(f64::from(v), 0.0);
        }
        // Every row (axis 1), then every column (axis 0) through the transpose.
        fft.process_with_scratch(&mut rows, &mut scratch);
        for i in 0..n {
            for j in 0..n {
                columns[j * n + i] = rows[i * n + j];
            }
        }
        fft.process_with_scratch(&mut columns, &mut scratch);
        for i in 0..n {
            for j in 0..n {
                acc[i * n + j] += columns[j * n + i].norm_sqr();
            }
        }
    }
    acc
}

/// numpy's `fftfreq(n)[i] · n`.
fn frequency(i: usize, n: usize) -> f64 {
    if i <= (n - 1) / 2 {
        i as f64
    } else {
        i as f64 - n as f64
    }
}

/// ginjax's weight of the mode in last-axis column `j`.
fn weight(j: usize, n: usize) -> u32 {
    if j == 0 || (n.is_multiple_of(2) && j == n - 1) {
        1
    } else {
        2
    }
}

/// The weighted sums `(Σ N|k|, Σ N·P, Σ N)` of every bin `ceil(|k|)` from 0 up, for the power
/// map `p` (`P = p · scale`).
fn bin_sums(p: &[f64], n: usize, scale: f64) -> (Vec<f64>, Vec<f64>, Vec<u32>) {
    let mut k_sum = Vec::new();
    let mut p_sum = Vec::new();
    let mut count = Vec::new();
    for i in 0..n {
        for j in 0..n {
            let k = frequency(i, n).hypot(frequency(j, n));
            let bin = k.ceil() as usize;
            if bin >= count.len() {
                k_sum.resize(bin + 1, 0.0);
                p_sum.resize(bin + 1, 0.0);
                count.resize(bin + 1, 0);
            }
            let w = weight(j, n);
            k_sum[bin] += f64::from(w) * k;
            p_sum[bin] += f64::from(w) * p[i * n + j] * scale;
            count[bin] += w;
        }
    }
    (k_sum, p_sum, count)
}

/// The bins `1 ..= n / 2` of the summed power map `acc` over `batch` images, scaled by `scale`.
fn bins(acc: &[f64], batch: usize, n: usize, scale: f64) -> Spectrum {
    let (k_sum, p_sum, count) = bin_sums(acc, n, scale / batch as f64);
    // Every bin 1 ..= n / 2 holds the mode (k, 0), so its count is positive.
    let range = 1..=n / 2;
    Spectrum {
        k: range
            .clone()
            .map(|b| k_sum[b] / f64::from(count[b]))
            .collect(),
        power: range
            .clone()
            .map(|b| p_sum[b] / f64::from(count[b]))
            .collect(),
        count: count[range].to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ginrs_runtime::{Geometry, TensorKey};
    use std::f64::consts::PI;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    fn assert_spectra_close(a: &Spectrum, b: &Spectrum, tol: f64) {
        assert_eq!(a.count, b.count);
        for (x, y) in a.k.iter().zip(&b.k).chain(a.power.iter().zip(&b.power)) {
            assert!(close(*x, *y, tol), "{x} vs {y}\n{a:?}\n{b:?}");
        }
    }

    /// `Σ_m A_m cos(2π (a_m i + b_m j)/n + φ_m)` on the `n × n` grid, row-major `[i][j]`.
    fn modes(n: usize, modes: &[(i64, i64, f64, f64)]) -> Vec<f32> {
        let mut out = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                let v: f64 = modes
                    .iter()
                    .map(|&(a, b, amp, phase)| {
                        amp * (2.0 * PI * (a * i as i64 + b * j as i64) as f64 / n as f64 + phase)
                            .cos()
                    })
                    .sum();
                out.push(v as f32);
            }
        }
        out
    }

    /// A deterministic, random-looking field of exactly representable values in [−1, 1).
    fn hashed(batch: usize, channels: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for b in 0..batch {
            for c in 0..channels {
                for i in 0..n {
                    for j in 0..n {
                        let h = (b * 131 + c * 71 + i * 37 + j * j * 13 + i * j * 7) % 17;
                        out.push(h as f32 / 8.0 - 1.0);
                    }
                }
            }
        }
        out
    }

    /// `rot[i][j] = u[n − 1 − j][i]`: a 90° rotation of one `n × n` image.
    fn rotate(u: &[f32], n: usize) -> Vec<f32> {
        (0..n * n).map(|p| u[(n - 1 - p % n) * n + p / n]).collect()
    }

    /// (a) `cos(2π·3·x/n)` on 16×16. By the definition, `F(k) = Σ_x cos(2π·3x₁/n) e^{-2πik·x/n}`
    /// is `n²/2 = 128` at `k = (0, ±3)` and zero elsewhere, so `|F|² = (n²/2)² = 16384` at two
    /// modes (Parseval: 2·16384 = n² Σ cos² = 256 · 128). Both modes lie in bin
    /// `ceil(3) = 3`, in last-axis columns 3 and 13: weight 2 each. Bin 3 holds the lattice
    /// points with 4 < a² + b² ≤ 9: (±1,±2), (±2,±1) [8], (±2,±2) [4], (±3,0), (0,±3) [4],
    /// 16 modes; weight 1 for column 0 ((±3,0)) and column 15 = wavenumber −1 ((±2,−1)),
    /// 2 for the other 12, so N₃ = 4 + 24 = 28 and P₃ = (2·16384 + 2·16384)/28 = 65536/28.
    /// The same mode along axis 0 sits at (±3, 0), in column 0 (weight 1): P₃ = 32768/28,
    /// ginjax's orientation quirk. numpy (the script of `matches_numpy`) gives 2340.5714… and
    /// 1170.2857…, N = [5, 12, 28, 36, 60, 60, 68, 89].
    #[test]
    fn single_mode_is_in_its_bin() {
        let n = 16;
        let along_1 = power(&modes(n, &[(0, 3, 1.0, 0.0)]), 1, 1, n).unwrap();
        let along_0 = power(&modes(n, &[(3, 0, 1.0, 0.0)]), 1, 1, n).unwrap();
        assert_eq!(along_1.count, vec![5, 12, 28, 36, 60, 60, 68, 89]);
        assert_eq!(along_0.count, along_1.count);
        for (b, (&p1, &p0)) in along_1.power.iter().zip(&along_0.power).enumerate() {
            if b == 2 {
                assert!(close(p1, 65536.0 / 28.0, 1e-6), "{p1}"); // f32 input
                assert!(close(p0, 32768.0 / 28.0, 1e-6), "{p0}");
            } else {
                assert!(
                    p1.abs() < 1e-6 && p0.abs() < 1e-6,
                    "bin {}: {p1} {p0}",
                    b + 1
                );
            }
        }
        assert!(close(along_1.k[2], 2.569_013_167_248_806, 1e-12));
    }

    /// `Σ_modes N|F|² = 2 Σ|F|² − Σ_{column 0}|F|² − [n even] Σ_{column n−1}|F|²`, written in
    /// real space: `Σ|F|² = n² Σ u²`, column 0 is the 1-D FFT of the row sums
    /// (`n Σ_i (Σ_j u_ij)²`) and column n − 1 that of `Σ_j u_ij e^{2πij/n}`.
    fn weighted_parseval(u: &[f32], n: usize) -> f64 {
        let total: f64 = u.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() * (n * n) as f64;
        let mut col0 = 0.0;
        let mut col_last = 0.0;
        for row in u.chunks_exact(n) {
            col0 += row.iter().map(|&v| f64::from(v)).sum::<f64>().powi(2);
            let (re, im) = row
                .iter()
                .enumerate()
                .fold((0.0, 0.0), |(re, im), (j, &v)| {
                    let t = 2.0 * PI * j as f64 / n as f64;
                    (re + f64::from(v) * t.cos(), im + f64::from(v) * t.sin())
                });
            col_last += re * re + im * im;
        }
        let even = if n.is_multiple_of(2) { 1.0 } else { 0.0 };
        2.0 * total - n as f64 * col0 - even * n as f64 * col_last
    }

    /// (b) Parseval through the binning: over all bins (`k = 0` and beyond `n/2` included),
    /// `Σ P·N` is the weighted Parseval sum, for even and odd `n`.
    #[test]
    fn all_bins_satisfy_weighted_parseval() {
        for n in [7, 8, 16] {
            let u = hashed(1, 1, n);
            let (_, p_sum, count) = bin_sums(&power_map(std::iter::once(&u[..]), n), n, 1.0);
            let sum: f64 = p_sum.iter().sum();
            assert!(close(sum, weighted_parseval(&u, n), 1e-12), "n = {n}");
            let weight_1_columns = if n.is_multiple_of(2) { 2 } else { 1 };
            assert_eq!(
                count.iter().sum::<u32>() as usize,
                2 * n * n - weight_1_columns * n
            );
        }
    }

    /// (b) For a zero-mean field with all its modes at |k| ≤ n/2, the returned bins hold all the
    /// power: `Σ P·N` is the weighted Parseval sum (and plain Parseval `2 n² Σu²` when no mode
    /// lies in a weight-1 column).
    #[test]
    fn band_limited_field_keeps_all_power() {
        let n = 16;
        let u = modes(
            n,
            &[
                (1, 2, 1.0, 0.3),
                (3, 0, 0.5, 1.1),
                (0, 1, 0.7, -0.4),
                (2, -1, 0.2, 2.0),
                (5, 6, 0.3, 0.9),
            ],
        );
        let s = power(&u, 1, 1, n).unwrap();
        let binned: f64 = s
            .power
            .iter()
            .zip(&s.count)
            .map(|(p, &c)| p * f64::from(c))
            .sum();
        assert!(close(binned, weighted_parseval(&u, n), 1e-9));

        let v = modes(n, &[(1, 2, 1.0, 0.3), (4, 3, 0.5, 1.1), (-5, 6, 0.3, 0.9)]);
        let s = power(&v, 1, 1, n).unwrap();
        let binned: f64 = s
            .power
            .iter()
            .zip(&s.count)
            .map(|(p, &c)| p * f64::from(c))
            .sum();
        let plain = 2.0 * (n * n) as f64 * v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>();
        assert!(close(binned, plain, 1e-9), "{binned} vs {plain}");
    }

    /// (c) Isotropy: a field with no power on the weight-1 columns (0 and n − 1) nor on the rows
    /// they rotate to (0 and 1) has the spectrum of its 90°-rotated copy; any field has the
    /// spectrum of its 180° rotation and of its axis reversals.
    #[test]
    fn rotation_invariance() {
        let n = 16;
        let u = modes(
            n,
            &[(2, 3, 1.0, 0.3), (-4, 5, 0.6, 1.2), (7, -2, 0.4, -0.8)],
        );
        let s = power(&u, 1, 1, n).unwrap();
        assert_spectra_close(&s, &power(&rotate(&u, n), 1, 1, n).unwrap(), 1e-9);

        for n in [7, 8] {
            let u = hashed(1, 1, n);
            let s = power(&u, 1, 1, n).unwrap();
            let half_turn = rotate(&rotate(&u, n), n);
            let flip_0: Vec<f32> = (0..n * n).map(|p| u[(n - 1 - p / n) * n + p % n]).collect();
            let flip_1: Vec<f32> = (0..n * n).map(|p| u[p / n * n + n - 1 - p % n]).collect();
            for other in [half_turn, flip_0, flip_1] {
                assert_spectra_close(&s, &power(&other, 1, 1, n).unwrap(), 1e-9);
            }
        }

        // The quirk: a generic field and its 90° rotation differ.
        let u = hashed(1, 1, 8);
        assert_ne!(
            power(&u, 1, 1, 8).unwrap().power,
            power(&rotate(&u, 8), 1, 1, 8).unwrap().power
        );
    }

    /// The energy spectrum of a vector field is half the summed power of its components, and
    /// is invariant under rotating the field (positions and components) by 90° when the
    /// components carry no power on the weight-1 columns and rows.
    #[test]
    fn energy_spectrum_of_velocity() {
        let n = 8;
        let u0 = hashed(2, 1, n);
        let u1: Vec<f32> = hashed(3, 1, n)[n * n..].to_vec();
        // Interleave: [batch][n][n][2].
        let mut velocity = Vec::new();
        for b in 0..2 {
            for p in 0..n * n {
                velocity.push(u0[b * n * n + p]);
                velocity.push(u1[b * n * n + p]);
            }
        }
        let e = energy_spectrum(&velocity, 2, 1, n).unwrap();
        let mut planes = Vec::new();
        for b in 0..2 {
            planes.extend_from_slice(&u0[b * n * n..(b + 1) * n * n]);
            planes.extend_from_slice(&u1[b * n * n..(b + 1) * n * n]);
        }
        let mut p = power(&planes, 2, 2, n).unwrap();
        p.power.iter_mut().for_each(|x| *x *= 0.5);
        assert_spectra_close(&e, &p, 1e-12);

        let geometry = Geometry::square(2, n, true).unwrap();
        let block = ImageBlock::new(
            geometry.clone(),
            TensorKey::vector(),
            1,
            velocity[..2 * n * n].to_vec(),
        )
        .unwrap();
        let block2 = ImageBlock::new(
            geometry,
            TensorKey::vector(),
            1,
            velocity[2 * n * n..].to_vec(),
        )
        .unwrap();
        assert_spectra_close(
            &energy_spectrum_blocks(&[&block, &block2]).unwrap(),
            &e,
            0.0,
        );

        // Rotation of a vector field: u'(x) = R u(R⁻¹x); the energy is per-pixel invariant.
        let n = 16;
        let a = modes(n, &[(2, 3, 1.0, 0.3), (-4, 5, 0.6, 1.2)]);
        let b = modes(n, &[(3, -2, 0.8, -0.5), (6, 7, 0.2, 0.1)]);
        let (ra, rb) = (rotate(&a, n), rotate(&b, n));
        let v: Vec<f32> = a.iter().zip(&b).flat_map(|(&x, &y)| [x, y]).collect();
        let rv: Vec<f32> = ra.iter().zip(&rb).flat_map(|(&x, &y)| [-y, x]).collect();
        assert_spectra_close(
            &energy_spectrum(&v, 1, 1, n).unwrap(),
            &energy_spectrum(&rv, 1, 1, n).unwrap(),
            1e-9,
        );
    }

    /// (d) Bad shapes are errors.
    #[test]
    fn errors() {
        assert_eq!(
            power(&[0.0], 1, 1, 1),
            Err(SpectrumError::SideTooSmall { n: 1 })
        );
        assert_eq!(
            power(&[], 0, 1, 4),
            Err(SpectrumError::Empty {
                batch: 0,
                channels: 1
            })
        );
        assert_eq!(
            power(&[0.0; 15], 1, 1, 4),
            Err(SpectrumError::DataLength {
                expected: 16,
                got: 15
            })
        );
        assert_eq!(
            energy_spectrum(&[0.0; 16], 1, 1, 4),
            Err(SpectrumError::DataLength {
                expected: 32,
                got: 16
            })
        );
        assert_eq!(
            power(&[], usize::MAX, 2, 4),
            Err(SpectrumError::SizeOverflow)
        );
        assert_eq!(
            energy_spectrum_blocks(&[]),
            Err(SpectrumError::Empty {
                batch: 0,
                channels: 0
            })
        );
        let scalar = ImageBlock::zeros(
            Geometry::square(2, 4, true).unwrap(),
            TensorKey::scalar(),
            1,
        );
        assert!(matches!(
            energy_spectrum_blocks(&[&scalar]),
            Err(SpectrumError::Block { index: 0, .. })
        ));
        let vector = ImageBlock::zeros(
            Geometry::square(2, 4, true).unwrap(),
            TensorKey::vector(),
            1,
        );
        let other = ImageBlock::zeros(
            Geometry::square(2, 6, true).unwrap(),
            TensorKey::vector(),
            1,
        );
        assert!(matches!(
            energy_spectrum_blocks(&[&vector, &other]),
            Err(SpectrumError::Block { index: 1, .. })
        ));
    }

    /// A random-looking batch (2 images × 2 channels, values `hashed`) against numpy, for an
    /// even and an odd side. The expected arrays were produced with numpy 2.4.6 (float64) by
    /// this replica of ginjax 0.1.8's `utils.power` (jnp → np):
    ///
    /// ```python
    /// import numpy as np
    /// def power(img):
    ///     s = img.shape[2:]; kmax = min(s)//2; even = s[0] % 2 == 0
    ///     F = np.fft.fftn(img, s=s, axes=(2, 3)); P = F.real**2 + F.imag**2
    ///     P = np.sum(np.mean(P, axis=0), axis=0)
    ///     kf = np.fft.fftfreq(s[0]) * s[0]
    ///     k = np.linalg.norm(np.stack(np.meshgrid(kf, kf), 0), axis=0)
    ///     N = np.full_like(P, 2, dtype=np.int32); N[..., 0] = 1
    ///     if even: N[..., -1] = 1
    ///     k, P, N = k.flatten(), P.flatten(), N.flatten(); kb = np.ceil(k).astype(np.int32)
    ///     k = np.bincount(kb, weights=k*N); P = np.bincount(kb, weights=P*N)
    ///     N = np.bincount(kb, weights=N).round().astype(np.int32)
    ///     k, P, N = k[1:1+kmax], P[1:1+kmax], N[1:1+kmax]
    ///     return k/N, P/N, N
    /// for n in (8, 7):
    ///     img = np.array([[[[((b*131 + c*71 + i*37 + j*j*13 + i*j*7) % 17) / 8 - 1
    ///         for j in range(n)] for i in range(n)] for c in range(2)] for b in range(2)])
    ///     print(n, power(img))
    /// ```
    #[test]
    fn matches_numpy() {
        let s = power(&hashed(2, 2, 8), 2, 2, 8).unwrap();
        let expected = Spectrum {
            k: vec![
                1.0,
                1.7071067811865477,
                2.569013167248806,
                3.4533547772660946,
            ],
            power: vec![
                58.37067980857929,
                38.49181268148119,
                51.628070073477865,
                54.701175654177725,
            ],
            count: vec![5, 12, 28, 33],
        };
        assert_spectra_close(&s, &expected, 1e-12);

        let s = power(&hashed(2, 2, 7), 2, 2, 7).unwrap();
        let expected = Spectrum {
            k: vec![1.0, 1.6652648927846259, 2.546816821265538],
            power: vec![38.78551336221649, 29.244202365645954, 49.424929256266616],
            count: vec![6, 14, 30],
        };
        assert_spectra_close(&s, &expected, 1e-12);
    }

    #[test]
    fn serde_round_trip() {
        let s = power(&hashed(1, 1, 4), 1, 1, 4).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Spectrum>(&json).unwrap(), s);
    }
}
