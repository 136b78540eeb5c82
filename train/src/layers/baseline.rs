//! The layers of ginjax's non-equivariant baseline models: equinox layers that ginjax wraps in
//! a `LayerWrapper` on the one scalar key `((), 0)` (its baseline flattens every key into
//! scalar channels first).
//!
//! - [`BaselineConv`]: `equinox.nn.Conv` with `'SAME'` padding (`ZEROS` or `CIRCULAR`), stride
//!   1 and filter (rhs) dilation, or UNet's `equinox.nn.ConvTranspose` (kernel 2, stride 2,
//!   `'VALID'`). equinox's transposed convolution is `lax.conv_general_dilated` of the input
//!   dilated by the stride and zero-padded by `d·(k − 1)` per side, with the weight *as stored*
//!   (equinox neither flips nor transposes it), which is what this module computes. Parameters
//!   `.weight` `(out, in, k, …, k)` and `.bias` `(out, 1, …, 1)`.
//! - [`BaselineNorm`]: `equinox.nn.GroupNorm(1, c)` (eps 1e-5, mean and biased variance over
//!   all channels and pixels, then a per-channel affine map), parameters `.weight` and `.bias`
//!   `(c,)`. It is ginrs-train's [`GroupNorm`] of one scalar key and one group.

use burn::module::{Module, Param};
use burn::tensor::module::{conv1d, conv2d, conv3d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use ginrs_runtime::models::{BaselineConv as ConvSpec, BaselinePadding};
use ginrs_runtime::GroupNorm as RuntimeGroupNorm;
use ginrs_runtime::{Geometry, Signature, TensorKey};

use crate::error::TrainError;
use crate::image::TensorImage;
use crate::layers::norm::GroupNorm;
use crate::layers::padding::{dilate, wrap_pad, zero_pad};
use crate::params::{GinjaxParams, NamedTensor};

/// equinox's `Conv` / `ConvTranspose` of the baseline (see the module docs).
#[derive(Module, Debug)]
pub struct BaselineConv {
    /// `(out, in, k^d)`: equinox's `(out, in, k, …, k)`, row-major.
    weight: Param<Tensor<3>>,
    /// `(out,)`: equinox's `(out, 1, …, 1)`; `None` without bias.
    bias: Option<Param<Tensor<1>>>,
    #[module(skip)]
    spec: ConvSpec,
    #[module(skip)]
    dim: usize,
}

impl BaselineConv {
    /// The layer `spec` in `dim` dimensions with equinox's `weight` (`out·in·k^d` values,
    /// row-major) and, when the spec has a bias, `bias` (`out` values).
    pub fn new(
        spec: &ConvSpec,
        dim: usize,
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        if !(1..=3).contains(&dim) {
            return Err(TrainError::Unsupported(format!("d = {dim}")));
        }
        let taps = spec.kernel_size.pow(dim as u32);
        let shape = [spec.out_channels, spec.in_channels, taps];
        if weight.len() != shape.iter().product::<usize>() {
            return Err(TrainError::ParamLength {
                path: ".weight".into(),
                expected: shape.iter().product(),
                got: weight.len(),
            });
        }
        let bias = match (spec.bias, bias) {
            (true, Some(b)) if b.len() == spec.out_channels => Some(Param::from_data(
                TensorData::new(b, [spec.out_channels]),
                device,
            )),
            (false, None) => None,
            (want, got) => {
                return Err(TrainError::ParamLength {
                    path: ".bias".into(),
                    expected: if want { spec.out_channels } else { 0 },
                    got: got.map_or(0, |b| b.len()),
                })
            }
        };
        Ok(Self {
            weight: Param::from_data(TensorData::new(weight, shape), device),
            bias,
            spec: spec.clone(),
            dim,
        })
    }

    /// The layer's configuration.
    pub fn spec(&self) -> &ConvSpec {
        &self.spec
    }

    /// The spatial dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// equinox's shape of `.weight`: `(out, in, k, …, k)`.
    pub fn weight_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.spec.out_channels, self.spec.in_channels];
        shape.extend(std::iter::repeat_n(self.spec.kernel_size, self.dim));
        shape
    }

    /// equinox's shape of `.bias`: `(out, 1, …, 1)`.
    pub fn bias_shape(&self) -> Vec<usize> {
        let mut shape = vec![self.spec.out_channels];
        shape.extend(std::iter::repeat_n(1, self.dim));
        shape
    }

    /// Applies the convolution to a batch of `in_channels` scalars.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        let dim = self.dim;
        if input.dim() != dim {
            return Err(TrainError::Dimension {
                expected: dim,
                got: input.dim(),
            });
        }
        let scalars = Signature::new(vec![(TensorKey::scalar(), self.spec.in_channels)])
            .expect("one key is a valid signature");
        input.expect_signature("baseline convolution input", &scalars)?;
        let (k, d) = (self.spec.kernel_size, self.spec.rhs_dilation);
        let x = &input.blocks()[0].1;
        let [n, c, _, _] = x.dims();
        let mut sides = [1usize; 3];
        sides[..dim].copy_from_slice(input.geometry().spatial());
        let mut x: Tensor<5> = x.clone().reshape([n, c, sides[0], sides[1], sides[2]]);
        for axis in 2..2 + dim {
            x = if self.spec.transpose {
                zero_pad(dilate(x, axis, 2), axis, d * (k - 1), d * (k - 1))
            } else {
                // lax's 'SAME' at stride 1: d·(k − 1) in all, the odd one after.
                let total = d * (k - 1);
                let (lo, hi) = (total / 2, total - total / 2);
                match self.spec.padding {
                    BaselinePadding::Zeros => zero_pad(x, axis, lo, hi),
                    BaselinePadding::Circular => wrap_pad(x, axis, lo, hi),
                }
            };
        }
        let mut ksides = [1usize; 3];
        ksides[..dim].fill(k);
        let filter: Tensor<5> = self.weight.val().reshape([
            self.spec.out_channels,
            self.spec.in_channels,
            ksides[0],
            ksides[1],
            ksides[2],
        ]);
        let y = correlate(x, filter, dim, d);
        let [_, out_c, o0, o1, o2] = y.dims();
        let y = match &self.bias {
            Some(b) => y + b.val().reshape([1, out_c, 1, 1, 1]),
            None => y,
        };
        let geometry = Geometry::new(
            [o0, o1, o2][..dim].to_vec(),
            input.geometry().torus().to_vec(),
        )?;
        let mut out = TensorImage::new(geometry, n);
        out.push(TensorKey::scalar(), y.reshape([n, out_c, o0 * o1 * o2, 1]))?;
        Ok(out)
    }
}

/// Cross-correlation (burn's `conv{1,2,3}d`, stride 1, no padding) of `x`
/// `[batch, in, s0, s1, s2]` with `filter` `[out, in, m0, m1, m2]` (trailing sides 1 below
/// d = 3) and filter dilation `dilation`.
fn correlate(x: Tensor<5>, filter: Tensor<5>, dim: usize, dilation: usize) -> Tensor<5> {
    let [n, c, s0, s1, _] = x.dims();
    let [o, _, m0, m1, _] = filter.dims();
    match dim {
        1 => {
            let y = conv1d(
                x.reshape([n, c, s0]),
                filter.reshape([o, c, m0]),
                None,
                ConvOptions::new([1], [0], [dilation], 1),
            );
            let [_, _, l0] = y.dims();
            y.reshape([n, o, l0, 1, 1])
        }
        2 => {
            let y = conv2d(
                x.reshape([n, c, s0, s1]),
                filter.reshape([o, c, m0, m1]),
                None,
                ConvOptions::new([1, 1], [0, 0], [dilation, dilation], 1),
            );
            let [_, _, l0, l1] = y.dims();
            y.reshape([n, o, l0, l1, 1])
        }
        _ => conv3d(
            x,
            filter,
            None,
            ConvOptions::new([1, 1, 1], [0, 0, 0], [dilation, dilation, dilation], 1),
        ),
    }
}

impl GinjaxParams for BaselineConv {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        let mut out = vec![(
            ".weight".to_string(),
            NamedTensor::reshaped(&self.weight, self.weight_shape()),
        )];
        if let Some(b) = &self.bias {
            out.push((
                ".bias".to_string(),
                NamedTensor::reshaped(b, self.bias_shape()),
            ));
        }
        out
    }
}

/// equinox's `GroupNorm(1, c)` of the baseline (see the module docs).
#[derive(Module, Debug)]
pub struct BaselineNorm {
    norm: GroupNorm,
}

impl BaselineNorm {
    /// A trainable copy of a runtime group norm of one scalar key and one group.
    pub fn from_runtime(runtime: &RuntimeGroupNorm, device: &Device) -> Result<Self, TrainError> {
        let keys = runtime.input_keys();
        let single_scalar = matches!(keys.entries(), [(key, _)] if key.is_scalar());
        if !single_scalar || runtime.groups() != 1 {
            return Err(TrainError::Unsupported(format!(
                "equinox's GroupNorm(1, c) normalises one scalar key with one group, not {keys} \
                 with {} groups",
                runtime.groups()
            )));
        }
        Ok(Self {
            norm: GroupNorm::from_runtime(runtime, device),
        })
    }

    /// A runtime layer with the current parameters.
    pub fn to_runtime(&self) -> Result<RuntimeGroupNorm, TrainError> {
        self.norm.to_runtime()
    }

    /// Normalises the batch.
    pub fn forward(&self, input: &TensorImage) -> Result<TensorImage, TrainError> {
        self.norm.forward(input)
    }
}

impl GinjaxParams for BaselineNorm {
    fn named_tensors(&self) -> Vec<(String, NamedTensor)> {
        let (weight, bias) = self
            .norm
            .affine()
            .next()
            .expect("a baseline norm has exactly one key");
        let bias = bias.expect("equinox's GroupNorm(1, c) on parity-0 scalars has a bias");
        vec![
            (".weight".to_string(), NamedTensor::from(weight)),
            (".bias".to_string(), NamedTensor::from(bias)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::read_f32;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((((i as u32 + 1).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32) / 500.0 - 1.0
            })
            .collect()
    }

    fn spec(k: usize, d: usize, padding: BaselinePadding, transpose: bool) -> ConvSpec {
        ConvSpec {
            in_channels: 2,
            out_channels: 3,
            kernel_size: k,
            rhs_dilation: d,
            bias: true,
            padding,
            transpose,
        }
    }

    /// `lax.conv_general_dilated` of one `(c, h, w)` image written out with loops: the input
    /// dilated by `l`, padded by `pad` (wrapping when `circular`), correlated with `w`
    /// `(o, c, k, k)` at filter dilation `d`, plus the bias.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &[f32],
        (c, h, w): (usize, usize, usize),
        weight: &[f32],
        bias: &[f32],
        (o, k, d, l): (usize, usize, usize, usize),
        pad: (usize, usize),
        circular: bool,
    ) -> (Vec<f32>, usize, usize) {
        let (dh, dw) = ((h - 1) * l + 1, (w - 1) * l + 1);
        let (ph, pw) = (dh + pad.0 + pad.1, dw + pad.0 + pad.1);
        let (oh, ow) = (ph - d * (k - 1), pw - d * (k - 1));
        // The padded input's value at padded position (u, v) of channel ci.
        let at = |ci: usize, u: usize, v: usize| -> f32 {
            let src = |p: usize, len: usize| -> Option<usize> {
                let j = p as isize - pad.0 as isize;
                let j = if circular {
                    j.rem_euclid(len as isize)
                } else if j < 0 || j >= len as isize {
                    return None;
                } else {
                    j
                } as usize;
                j.is_multiple_of(l).then_some(j / l)
            };
            match (src(u, dh), src(v, dw)) {
                (Some(i), Some(j)) => x[(ci * h + i) * w + j],
                _ => 0.0,
            }
        };
        let mut out = vec![0.0f32; o * oh * ow];
        for oc in 0..o {
            for y in 0..oh {
                for z in 0..ow {
                    let mut acc = bias[oc];
                    for ci in 0..c {
                        for a in 0..k {
                            for b in 0..k {
                                acc += weight[((oc * c + ci) * k + a) * k + b]
                                    * at(ci, y + a * d, z + b * d);
                            }
                        }
                    }
                    out[(oc * oh + y) * ow + z] = acc;
                }
            }
        }
        (out, oh, ow)
    }

    fn run(spec: &ConvSpec, sides: [usize; 2]) -> (Vec<f32>, Vec<usize>) {
        let device = Device::flex();
        let k = spec.kernel_size;
        let weight = values(3 * 2 * k * k, 7);
        let bias = values(3, 11);
        let layer = BaselineConv::new(spec, 2, weight, Some(bias), &device).unwrap();
        let geometry = Geometry::new(sides.to_vec(), vec![true, true]).unwrap();
        let x = values(2 * sides[0] * sides[1], 3);
        let mut input = TensorImage::new(geometry, 1);
        let tensor = Tensor::from_data(TensorData::new(x, [1, 2, sides[0] * sides[1], 1]), &device);
        input.push(TensorKey::scalar(), tensor).unwrap();
        let out = layer.forward(&input).unwrap();
        (
            read_f32(&out.blocks()[0].1).unwrap(),
            out.geometry().spatial().to_vec(),
        )
    }

    fn close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-5, "{g} vs {w}");
        }
    }

    #[test]
    fn same_convolutions_match_lax() {
        let (h, w) = (5, 4);
        for (k, d, padding) in [
            (3, 1, BaselinePadding::Zeros),
            (3, 2, BaselinePadding::Circular),
            (2, 1, BaselinePadding::Circular),
            (4, 1, BaselinePadding::Zeros),
        ] {
            let spec = spec(k, d, padding, false);
            let (got, sides) = run(&spec, [h, w]);
            assert_eq!(sides, [h, w], "'SAME' keeps the sides");
            let total = d * (k - 1);
            let (want, _, _) = reference(
                &values(2 * h * w, 3),
                (2, h, w),
                &values(3 * 2 * k * k, 7),
                &values(3, 11),
                (3, k, d, 1),
                (total / 2, total - total / 2),
                padding == BaselinePadding::Circular,
            );
            close(&got, &want);
        }
    }

    #[test]
    fn transposed_convolution_doubles_the_sides_like_equinox() {
        let spec = spec(2, 1, BaselinePadding::Zeros, true);
        let (got, sides) = run(&spec, [3, 2]);
        assert_eq!(sides, [6, 4]);
        let weight = values(3 * 2 * 4, 7);
        let (want, _, _) = reference(
            &values(2 * 3 * 2, 3),
            (2, 3, 2),
            &weight,
            &values(3, 11),
            (3, 2, 1, 2),
            (1, 1),
            false,
        );
        close(&got, &want);
        // equinox applies the weight unflipped: output pixel (2m, 2n) sees only input (m, n)
        // through tap (1, 1).
        let x = values(2 * 3 * 2, 3);
        let bias = values(3, 11);
        let want00 = bias[0] + weight[3] * x[0] + weight[4 + 3] * x[6];
        assert!((got[0] - want00).abs() <= 1e-5);
    }

    #[test]
    fn wrong_parameter_lengths_are_errors() {
        let spec = spec(3, 1, BaselinePadding::Zeros, false);
        let device = Device::flex();
        assert!(matches!(
            BaselineConv::new(&spec, 2, vec![0.0; 5], Some(vec![0.0; 3]), &device),
            Err(TrainError::ParamLength { .. })
        ));
        assert!(matches!(
            BaselineConv::new(&spec, 2, vec![0.0; 54], None, &device),
            Err(TrainError::ParamLength { .. })
        ));
    }
}
