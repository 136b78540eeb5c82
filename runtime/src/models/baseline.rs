//! The baseline (non-equivariant) convolutions of ginjax's models, equinox's `nn.Conv` and
//! UNet's `nn.ConvTranspose`, run on the ConvContract path.
//!
//! A scalar-to-scalar ConvContract whose bank is the `K^D` one-hot filters
//! (`one_hot_bank`) computes `Σ_i w[o, i, m] · x_i[y + m·d]`, equinox's cross-correlation,
//! with weights `(out, in, K^D)` = equinox's `(out, in, K, …, K)` row-major.
//! `'SAME'` with `ZEROS` pads `d(K−1)` per axis, `⌊d(K−1)/2⌋` below (XLA's rule for stride 1);
//! `CIRCULAR` wraps (the torus padding, which needs odd `K` and torus axes).
//! equinox's `ConvTranspose(kernel K, stride 2, 'VALID')` is `conv_general_dilated` with lhs
//! dilation 2, padding `d(K−1)` on both sides and the weight unflipped (equinox
//! `ConvTranspose.__call__`), so it is the same layer with those options.

use crate::error::Error;
use crate::image::{MultiImage, Signature, TensorKey};
use crate::layers::conv_contract::{BiasMode, ConvContract, ConvContractConfig};
use crate::layers::layer::Layer;
use crate::models::config::BaselinePadding;
use crate::models::error::ModelError;
use crate::models::plan::BaselineConv;
use crate::ops::bank::DenseBank;
use crate::ops::padding::{ConvOptions, Padding};

/// A baseline convolution (equinox `nn.Conv` or UNet's `nn.ConvTranspose`) on the one scalar
/// key, computed by a scalar ConvContract with one-hot filters (see the module docs).
#[derive(Debug)]
pub struct BaselineConvLayer {
    spec: BaselineConv,
    conv: ConvContract,
}

impl BaselineConvLayer {
    /// The convolution `spec` of dimension `dim` at `path`, on the one-hot bank of its kernel
    /// side (`one_hot_bank`), its weights drawn from `seed` by the ConvContract's rule.
    pub(crate) fn new(
        dim: usize,
        path: &str,
        spec: &BaselineConv,
        one_hot: &DenseBank,
        seed: u64,
    ) -> Result<Self, ModelError> {
        let config = baseline_config(dim, path, spec)?;
        let conv = ConvContract::from_bank(config, one_hot, seed)
            .map_err(|e| ModelError::layer(path, e))?;
        Ok(Self {
            spec: spec.clone(),
            conv,
        })
    }

    /// What the convolution is.
    pub fn spec(&self) -> &BaselineConv {
        &self.spec
    }

    /// The ConvContract that computes it; its one weight block `(out, in, K^D)` is equinox's
    /// `weight` and its scalar bias is equinox's `bias`.
    pub fn conv(&self) -> &ConvContract {
        &self.conv
    }

    /// The ConvContract, to load weights into.
    pub(crate) fn conv_mut(&mut self) -> &mut ConvContract {
        &mut self.conv
    }

    fn check_torus(&self, input: &MultiImage) -> Result<(), Error> {
        let circular = self.spec.padding == BaselinePadding::Circular && !self.spec.transpose;
        if circular && !input.geometry().torus().iter().all(|&t| t) {
            return Err(ModelError::CircularNeedsTorus {
                torus: input.geometry().torus().to_vec(),
            }
            .into());
        }
        Ok(())
    }
}

impl Layer for BaselineConvLayer {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        self.check_torus(input)?;
        self.conv.forward(input)
    }

    fn forward_into(&self, input: &MultiImage, output: &mut MultiImage) -> Result<(), Error> {
        self.check_torus(input)?;
        self.conv.forward_into(input, output)
    }
}

/// The `K^D` one-hot filters of side `K = side` in `dim` dimensions (scalar, parity 0),
/// row-major by pixel.
pub(crate) fn one_hot_bank(dim: usize, side: usize) -> Result<DenseBank, Error> {
    let n = side.pow(dim as u32);
    let mut data = vec![0.0; n * n];
    data.iter_mut().step_by(n + 1).for_each(|v| *v = 1.0);
    Ok(DenseBank::new(dim, vec![side; dim], vec![(0, 0, n, data)])?)
}

/// The ConvContract configuration of a baseline convolution.
fn baseline_config(
    dim: usize,
    path: &str,
    conv: &BaselineConv,
) -> Result<ConvContractConfig, ModelError> {
    let scalars = |channels| {
        Signature::new(vec![(TensorKey::scalar(), channels)])
            .map_err(|e| ModelError::layer(path, e))
    };
    let reach = conv.rhs_dilation * (conv.kernel_size - 1);
    let options = if conv.transpose {
        ConvOptions::with_padding(Padding::Explicit(vec![(reach, reach); dim])).lhs_dilation(2)
    } else {
        match conv.padding {
            BaselinePadding::Zeros => {
                ConvOptions::with_padding(Padding::Explicit(vec![
                    (reach / 2, reach - reach / 2);
                    dim
                ]))
            }
            BaselinePadding::Circular => {
                if conv.kernel_size.is_multiple_of(2) {
                    return Err(ModelError::EvenCircularKernel {
                        path: path.to_string(),
                        kernel_size: conv.kernel_size,
                    });
                }
                ConvOptions::with_padding(Padding::Torus)
            }
        }
    }
    .rhs_dilation(conv.rhs_dilation);
    let bias = if conv.bias {
        BiasMode::Auto
    } else {
        BiasMode::None
    };
    Ok(
        ConvContractConfig::new(scalars(conv.in_channels)?, scalars(conv.out_channels)?)
            .bias(bias)
            .options(options),
    )
}

#[cfg(test)]
mod tests {
    use crate::image::{Geometry, ImageBlock, MultiImage, TensorKey};
    use crate::io::model_file::NamedParam;
    use crate::layers::layer::Layer;
    use crate::models::build::LayerBuilder;
    use crate::models::config::BaselinePadding;
    use crate::models::leaves::layer_leaves;
    use crate::models::param_set::ParamSet;
    use crate::models::plan::{BaselineConv, LayerSpec};

    #[test]
    fn baseline_conv_is_equinox_cross_correlation_with_same_padding() {
        // One input and output channel, kernel 2 (even: XLA pads 0 below, 1 above), 1-D.
        let conv = BaselineConv {
            in_channels: 1,
            out_channels: 1,
            kernel_size: 2,
            rhs_dilation: 1,
            bias: true,
            padding: BaselinePadding::Zeros,
            transpose: false,
        };
        let spec = LayerSpec::Conv(conv);
        let mut builder = LayerBuilder::new(1);
        let params = vec![
            NamedParam::new(".c.weight", vec![1, 1, 2], vec![2.0, 3.0]),
            NamedParam::new(".c.bias", vec![1, 1], vec![0.5]),
        ];
        let mut set = ParamSet::new(&params).unwrap();
        let layer = builder.load(&spec, ".c", &mut set).unwrap();
        set.finish().unwrap();
        assert_eq!(layer_leaves(&layer, ".c"), params);
        let geometry = Geometry::new(vec![4], vec![false]).unwrap();
        let x = MultiImage::from_blocks(
            geometry.clone(),
            vec![
                ImageBlock::new(geometry, TensorKey::scalar(), 1, vec![1.0, 2.0, 3.0, 4.0])
                    .unwrap(),
            ],
        )
        .unwrap();
        let y = layer.forward(&x).unwrap();
        // y[i] = 2 x[i] + 3 x[i + 1] + 0.5, x[4] = 0.
        assert_eq!(y.blocks()[0].data(), [8.5, 13.5, 18.5, 8.5]);
    }

    #[test]
    fn baseline_transpose_doubles_the_side() {
        // equinox ConvTranspose(1, 1, kernel 2, stride 2, 'VALID'): y[2i + a] = w[1 - a] x[i]
        // (lhs dilation 2 and padding 1 of the unflipped kernel).
        let spec = LayerSpec::Conv(BaselineConv {
            in_channels: 1,
            out_channels: 1,
            kernel_size: 2,
            rhs_dilation: 1,
            bias: false,
            padding: BaselinePadding::Zeros,
            transpose: true,
        });
        let mut builder = LayerBuilder::new(1);
        let params = vec![NamedParam::new(".u.weight", vec![1, 1, 2], vec![2.0, 3.0])];
        let layer = builder
            .load(&spec, ".u", &mut ParamSet::new(&params).unwrap())
            .unwrap();
        let geometry = Geometry::new(vec![2], vec![true]).unwrap();
        let x = MultiImage::from_blocks(
            geometry.clone(),
            vec![ImageBlock::new(geometry, TensorKey::scalar(), 1, vec![1.0, 10.0]).unwrap()],
        )
        .unwrap();
        let y = layer.forward(&x).unwrap();
        assert_eq!(y.blocks()[0].data(), [3.0, 2.0, 30.0, 20.0]);
    }
}
