//! [`Symmetry`]: the subgroup of B_d that a dataset respects, named by the user.
//!
//! Many physical systems are symmetric under only part of B_d: walls on some axes, gravity,
//! a shear direction. ginrs's equivariant models stay equivariant under all of B_d (their
//! filters are B_d-invariant), which is the stronger constraint; what the named subgroup
//! changes is what is *claimed*: evaluation transforms the test split by the elements of
//! the subgroup only, and the metrics name the subgroup. Elements that do not map the grid
//! onto itself (a rotation swapping axes of different sides or different boundaries) are
//! left out whatever the name, since the data cannot be transformed by them.

use std::fmt;
use std::str::FromStr;

use ginrs_runtime::group::{Group, SignedPermutation};
use serde::{Deserialize, Serialize};

use super::schema::Schema;

/// A named subgroup of B_d.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Symmetry {
    /// All of B_d: rotations and reflections.
    #[default]
    Full,
    /// The rotations (determinant +1).
    Rotations,
    /// The reflections of single axes and their products (diagonal sign changes).
    Flips,
    /// The identity and the reflection of axis `0` (`x`), `1` (`y`) or `2` (`z`).
    FlipAxis(usize),
    /// The identity only: no symmetry is claimed.
    None,
}

const AXES: [&str; 3] = ["x", "y", "z"];

impl Symmetry {
    /// Whether `g` belongs to the named subgroup.
    pub fn contains(self, g: &SignedPermutation) -> bool {
        let diagonal = (0..g.dim()).all(|r| g.col(r) == r);
        match self {
            Self::Full => true,
            Self::Rotations => g.det() == 1,
            Self::Flips => diagonal,
            Self::FlipAxis(axis) => diagonal && (0..g.dim()).all(|r| r == axis || g.sign(r) == 1),
            Self::None => g.is_identity(),
        }
    }

    /// The elements of the subgroup that map the schema's grid onto itself, the identity
    /// first, in the generator's order; an axis this dimension lacks is an error.
    pub fn elements(self, schema: &Schema) -> Result<Vec<SignedPermutation>, String> {
        let d = schema.dim();
        if let Self::FlipAxis(axis) = self {
            if axis >= d {
                return Err(format!(
                    "symmetry `{self}` names an axis a {d}-D grid lacks"
                ));
            }
        }
        let group = Group::hyperoctahedral(d).map_err(|e| e.to_string())?;
        let mut out: Vec<SignedPermutation> = group
            .elements()
            .iter()
            .filter(|g| self.contains(g) && maps_grid_onto_itself(g, schema))
            .cloned()
            .collect();
        out.sort_by_key(|g| !g.is_identity());
        Ok(out)
    }
}

/// Whether `g` sends every axis to one of the same side and the same boundary.
fn maps_grid_onto_itself(g: &SignedPermutation, schema: &Schema) -> bool {
    (0..g.dim()).all(|r| {
        let c = g.col(r);
        schema.spatial[r] == schema.spatial[c] && schema.torus[r] == schema.torus[c]
    })
}

impl fmt::Display for Symmetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("full"),
            Self::Rotations => f.write_str("rotations"),
            Self::Flips => f.write_str("flips"),
            Self::FlipAxis(axis) => write!(f, "flips-{}", AXES.get(*axis).unwrap_or(&"?")),
            Self::None => f.write_str("none"),
        }
    }
}

impl FromStr for Symmetry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "full" => Self::Full,
            "rotations" => Self::Rotations,
            "flips" => Self::Flips,
            "none" => Self::None,
            _ => match s
                .strip_prefix("flips-")
                .and_then(|a| AXES.iter().position(|x| *x == a))
            {
                Some(axis) => Self::FlipAxis(axis),
                None => {
                    return Err(format!(
                        "unknown symmetry `{s}`: expected full, rotations, flips, flips-x, \
                         flips-y, flips-z or none"
                    ))
                }
            },
        })
    }
}

impl TryFrom<String> for Symmetry {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Symmetry> for String {
    fn from(s: Symmetry) -> Self {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::FieldSpec;

    fn schema(spatial: Vec<usize>, torus: Vec<bool>) -> Schema {
        Schema {
            spatial,
            torus,
            frame_interval: 1.0,
            fields: vec![FieldSpec::new("u", 0, 0)],
            constants: Vec::new(),
        }
    }

    #[test]
    fn subgroups_have_their_orders_and_respect_the_grid() {
        let square = schema(vec![8, 8], vec![true, true]);
        let count = |s: Symmetry, sc: &Schema| s.elements(sc).unwrap().len();
        assert_eq!(count(Symmetry::Full, &square), 8);
        assert_eq!(count(Symmetry::Rotations, &square), 4);
        assert_eq!(count(Symmetry::Flips, &square), 4);
        assert_eq!(count(Symmetry::FlipAxis(0), &square), 2);
        assert_eq!(count(Symmetry::None, &square), 1);
        let cube = schema(vec![4, 4, 4], vec![true; 3]);
        assert_eq!(count(Symmetry::Full, &cube), 48);
        assert_eq!(count(Symmetry::Rotations, &cube), 24);
        // A wall on y: no element may swap x and y, so only the 4 flips remain.
        let walls = schema(vec![8, 8], vec![true, false]);
        assert_eq!(count(Symmetry::Full, &walls), 4);
        assert_eq!(count(Symmetry::Rotations, &walls), 2);
        let first = &Symmetry::Full.elements(&cube).unwrap()[0];
        assert!(first.is_identity());
        assert!(Symmetry::FlipAxis(2).elements(&square).is_err());
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "full",
            "rotations",
            "flips",
            "flips-x",
            "flips-y",
            "flips-z",
            "none",
        ] {
            assert_eq!(name.parse::<Symmetry>().unwrap().to_string(), name);
        }
        assert!("mirror"
            .parse::<Symmetry>()
            .unwrap_err()
            .contains("unknown symmetry"));
    }
}
