//! The test split seen through an element of B_d: every frame rotated or reflected by the
//! runtime's group action ([`times_group_element`], ginjax's): pixels move to `g·x`, a
//! tensor of order k is acted on in each index (`g·v` for a vector), and a field of parity 1
//! is multiplied by `det g` (the vorticity, a pseudoscalar). An equivariant model has the same
//! errors on every such copy; a baseline need not. Which elements are used is the run's
//! [`Symmetry`].

use ginrs_runtime::group::SignedPermutation;
use ginrs_runtime::ops::action::times_group_element;
use ginrs_runtime::MultiImage;

use super::error::CliError;
use crate::data::{LoadedWindows, Rollout, Schema, Symmetry};

/// The elements of `symmetry` that map `schema`'s grid onto itself, the identity first.
pub fn elements(symmetry: Symmetry, schema: &Schema) -> Result<Vec<SignedPermutation>, CliError> {
    symmetry
        .elements(schema)
        .map_err(|message| CliError::Invalid {
            field: "symmetry",
            value: symmetry.to_string(),
            requirement: message,
        })
}

/// Every input and target transformed by `g`.
pub fn windows(windows: &LoadedWindows, g: &SignedPermutation) -> Result<LoadedWindows, CliError> {
    Ok(LoadedWindows {
        inputs: all(&windows.inputs, g)?,
        targets: all(&windows.targets, g)?,
    })
}

/// Every rollout's input and true frames transformed by `g`.
pub fn rollouts(rollouts: &[Rollout], g: &SignedPermutation) -> Result<Vec<Rollout>, CliError> {
    rollouts
        .iter()
        .map(|r| {
            Ok(Rollout {
                part: r.part,
                trajectory: r.trajectory,
                start: r.start,
                input: times_group_element(&r.input, g)?,
                truth: all(&r.truth, g)?,
            })
        })
        .collect()
}

fn all(images: &[MultiImage], g: &SignedPermutation) -> Result<Vec<MultiImage>, CliError> {
    images
        .iter()
        .map(|x| Ok(times_group_element(x, g)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{frame_to_multi_image, multi_image_to_frame, Frame};

    #[test]
    fn a_quarter_turn_rotates_velocity_and_keeps_vorticity_sign() {
        // One nonzero pixel, off centre, on a 4 × 4 torus.
        let n = 4;
        let mut frame = Frame {
            n,
            velocity: vec![0.0; 2 * n * n],
            vorticity: vec![0.0; n * n],
            tracer: vec![0.0; n * n],
        };
        let pixel = 1; // (0, 1)
        frame.velocity[2 * pixel] = 1.0; // u = (1, 0)
        frame.vorticity[pixel] = 2.0;
        frame.tracer[pixel] = 3.0;
        let image = frame_to_multi_image(&frame).unwrap();
        let schema = crate::data::turbulence::schema(&crate::simulate::SimConfig {
            n,
            ..Default::default()
        });
        let elements = elements(Symmetry::Full, &schema).unwrap();
        assert_eq!(elements.len(), 8);
        assert!(elements[0].is_identity());
        for g in &elements {
            let w = windows(
                &LoadedWindows {
                    inputs: vec![image.clone()],
                    targets: vec![image.clone()],
                },
                g,
            )
            .unwrap();
            let out = multi_image_to_frame(&w.inputs[0]).unwrap();
            // The pixel moves to g·(x − c) + c with c = 1.5.
            // Doubled centred coordinates: 2·(0, 1) − 3 = (−3, −1).
            let moved = g.apply(&[-3, -1]);
            let (i, j) = (((moved[0] + 3) / 2) as usize, ((moved[1] + 3) / 2) as usize);
            let q = i * n + j;
            assert_eq!(out.tracer[q], 3.0, "{g:?}");
            assert_eq!(out.vorticity[q], 2.0 * f32::from(g.det()), "{g:?}");
            // g·(1, 0) is column 0 of g.
            let v = [out.velocity[2 * q], out.velocity[2 * q + 1]];
            let want = [g.entry(0, 0) as f32, g.entry(1, 0) as f32];
            assert_eq!(v, want, "{g:?}");
            assert_eq!(out.tracer.iter().filter(|&&t| t != 0.0).count(), 1);
        }
    }
}
