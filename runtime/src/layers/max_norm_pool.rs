//! The [`MaxNormPool`] layer: ginjax's `MaxNormPool`, [`max_pool`] on every block.

use crate::error::Error;
use crate::image::Geometry;
use crate::image::MultiImage;
use crate::layers::layer::Layer;
use crate::ops::pool::{
    max_pool, max_pool_backward, max_pool_with_choices, pooled_geometry, Comparator, PoolError,
};

/// ginjax's `MaxNormPool(patch_len, use_norm)`: `max_pool` on every channel of every block,
/// by pixel norm (`use_norm`) or by value (scalar blocks only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxNormPool {
    patch_len: usize,
    use_norm: bool,
}

impl MaxNormPool {
    /// A pool with patches of side `patch_len` (at least 1), comparing pixel norms when
    /// `use_norm` (ginjax's default) and raw values otherwise.
    pub fn new(patch_len: usize, use_norm: bool) -> Result<Self, PoolError> {
        if patch_len == 0 {
            return Err(PoolError::ZeroPatch);
        }
        Ok(Self {
            patch_len,
            use_norm,
        })
    }

    /// The patch side.
    pub fn patch_len(&self) -> usize {
        self.patch_len
    }

    /// Whether pixels are compared by norm.
    pub fn use_norm(&self) -> bool {
        self.use_norm
    }

    fn comparator(&self) -> Comparator<'static> {
        if self.use_norm {
            Comparator::Norm
        } else {
            Comparator::Value
        }
    }

    /// The forward pass and, per block, the pool's choices (see
    /// [`max_pool_with_choices`]), which [`MaxNormPool::backward`] takes.
    pub fn forward_with_choices(
        &self,
        input: &MultiImage,
    ) -> Result<(MultiImage, Vec<Vec<usize>>), Error> {
        let (blocks, choices): (Vec<_>, Vec<_>) = input
            .blocks()
            .iter()
            .map(|block| max_pool_with_choices(block, self.patch_len, self.comparator()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .unzip();
        Ok((self.pooled_image(input.geometry(), blocks)?, choices))
    }

    /// The gradient with respect to the input (of `input_geometry`) for the gradient
    /// `output_grad` with respect to the pooled output, given the choices of the forward pass
    /// ([`MaxNormPool::forward_with_choices`], one list per block).
    pub fn backward(
        &self,
        output_grad: &MultiImage,
        choices: &[Vec<usize>],
        input_geometry: &Geometry,
    ) -> Result<MultiImage, Error> {
        if choices.len() != output_grad.blocks().len() {
            return Err(PoolError::Choices {
                expected: output_grad.blocks().len(),
                got: choices.len(),
                pixels: input_geometry.pixels(),
            }
            .into());
        }
        let blocks = output_grad
            .blocks()
            .iter()
            .zip(choices)
            .map(|(g, c)| max_pool_backward(g, c, input_geometry))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultiImage::from_blocks(input_geometry.clone(), blocks)?)
    }

    /// The multi-image of pooled `blocks` of an input on `geometry`.
    fn pooled_image(
        &self,
        geometry: &Geometry,
        blocks: Vec<crate::image::ImageBlock>,
    ) -> Result<MultiImage, Error> {
        let geometry = match blocks.first() {
            Some(block) => block.geometry().clone(),
            None => pooled_geometry(geometry, self.patch_len)?,
        };
        Ok(MultiImage::from_blocks(geometry, blocks)?)
    }
}

impl Layer for MaxNormPool {
    fn forward(&self, input: &MultiImage) -> Result<MultiImage, Error> {
        let blocks = input
            .blocks()
            .iter()
            .map(|block| max_pool(block, self.patch_len, self.comparator()))
            .collect::<Result<Vec<_>, _>>()?;
        self.pooled_image(input.geometry(), blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{image_dot, random_image, sig};

    /// The pool takes each pooled pixel from the pixel it names, and its backward pass is the
    /// adjoint of that selection: `⟨g, pool(x)⟩ = ⟨backward(g), x⟩`, with every pixel that was
    /// not chosen getting no gradient; on d = 2 and 3, with a side the patch does not divide.
    #[test]
    fn backward_is_the_adjoint_of_the_choices() {
        for (spatial, patch) in [(vec![6, 7], 2), (vec![4, 3, 5], 2), (vec![9, 9], 3)] {
            let geometry = Geometry::new(spatial.clone(), vec![true; spatial.len()]).unwrap();
            let signature = sig(&[(0, 0, 2), (1, 0, 3), (1, 1, 1)]);
            let x = random_image(&geometry, &signature, 5);
            let pool = MaxNormPool::new(patch, true).unwrap();
            let (y, choices) = pool.forward_with_choices(&x).unwrap();
            assert_eq!(y, pool.forward(&x).unwrap());
            let g = random_image(y.geometry(), &signature, 6);
            let dx = pool.backward(&g, &choices, &geometry).unwrap();
            let (lhs, rhs) = (image_dot(&g, &y), image_dot(&dx, &x));
            assert!((lhs - rhs).abs() < 1e-5, "{spatial:?}: {lhs} vs {rhs}");
            for ((xb, yb), (db, chosen)) in x
                .blocks()
                .iter()
                .zip(y.blocks())
                .zip(dx.blocks().iter().zip(&choices))
            {
                let comps = xb.components();
                let (pixels, pooled) = (geometry.pixels(), y.geometry().pixels());
                for c in 0..xb.channels() {
                    for o in 0..pooled {
                        let p = chosen[c * pooled + o];
                        assert_eq!(
                            yb.channel(c)[o * comps..(o + 1) * comps],
                            xb.channel(c)[p * comps..(p + 1) * comps]
                        );
                    }
                    let picked: Vec<usize> = chosen[c * pooled..(c + 1) * pooled].to_vec();
                    for p in (0..pixels).filter(|p| !picked.contains(p)) {
                        assert!(db.channel(c)[p * comps..(p + 1) * comps]
                            .iter()
                            .all(|&v| v == 0.0));
                    }
                }
            }
            let err = pool.backward(&g, &choices[..1], &geometry).unwrap_err();
            assert!(err.to_string().contains("pool choices"), "{err}");
        }
    }
}
