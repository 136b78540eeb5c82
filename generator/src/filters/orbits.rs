//! Signed orbits of the group on filter coordinates.
//!
//! The group permutes the unit filters `e_c` up to sign, so the invariant filters are spanned by
//! the signed orbit sums `O = Σ_{y ∈ orbit} σ_y e_y`. An orbit whose stabilizer contains an
//! element acting by −1 (some `g` with `g·e_c = −e_c`) has zero group average and contributes
//! nothing; every other orbit contributes exactly one invariant filter, and these are linearly
//! independent (disjoint supports).
//!
//! Orbits are found by a breadth-first walk over the group's generators, visiting coordinates in
//! increasing order, so each orbit's representative is its smallest coordinate (with sign +1)
//! and orbits are numbered in increasing order of representative. Memory is a few bytes per
//! coordinate.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::group::{Group, GroupKind, SignedPermutation};

use super::coords::{CoordAction, CoordSpace};

/// The signed orbits of a group acting on the coordinates of a [`CoordSpace`].
#[derive(Debug, Clone)]
pub struct Orbits {
    group_order: usize,
    orbit_of: Vec<u32>,
    sign: Vec<i8>,
    members: Vec<u32>,
    start: Vec<usize>,
    alive: Vec<bool>,
}

impl Orbits {
    /// Computes the orbits of `group` (acting with parity `parity`) on `space`.
    pub fn new(space: &CoordSpace, group: &Group, parity: u8) -> Self {
        let actions: Vec<CoordAction> = cached_generators(group)
            .iter()
            .map(|g| CoordAction::new(space, g, parity))
            .collect();
        let n = space.len();
        let mut orbit_of = vec![u32::MAX; n];
        let mut sign = vec![0i8; n];
        let mut members: Vec<u32> = Vec::with_capacity(n);
        let mut start = vec![0usize];
        let mut alive = Vec::new();
        for rep in 0..n {
            if orbit_of[rep] != u32::MAX {
                continue;
            }
            let id = alive.len() as u32;
            let first = members.len();
            orbit_of[rep] = id;
            sign[rep] = 1;
            members.push(rep as u32);
            let mut consistent = true;
            let mut next = first;
            while next < members.len() {
                let u = members[next] as usize;
                next += 1;
                for action in &actions {
                    let (v, s) = action.apply(u);
                    let sv = s * sign[u];
                    if orbit_of[v] == u32::MAX {
                        orbit_of[v] = id;
                        sign[v] = sv;
                        members.push(v as u32);
                    } else if sign[v] != sv {
                        // A closed walk maps e_v to −e_v: the stabilizer acts by −1.
                        consistent = false;
                    }
                }
            }
            members[first..].sort_unstable();
            start.push(members.len());
            alive.push(consistent);
        }
        Self {
            group_order: group.order(),
            orbit_of,
            sign,
            members,
            start,
            alive,
        }
    }

    /// The number of orbits (alive or not).
    pub fn len(&self) -> usize {
        self.alive.len()
    }

    /// True when there are no orbits.
    pub fn is_empty(&self) -> bool {
        self.alive.is_empty()
    }

    /// The orbit containing coordinate `coord`.
    pub fn orbit_of(&self, coord: usize) -> usize {
        self.orbit_of[coord] as usize
    }

    /// The sign of `coord` in its orbit sum (relative to the representative, which has +1).
    pub fn sign(&self, coord: usize) -> i8 {
        self.sign[coord]
    }

    /// The coordinates of orbit `orbit`, ascending (the first is the representative).
    pub fn members(&self, orbit: usize) -> &[u32] {
        &self.members[self.start[orbit]..self.start[orbit + 1]]
    }

    /// The orbit's representative, its smallest coordinate.
    pub fn representative(&self, orbit: usize) -> usize {
        self.members(orbit)[0] as usize
    }

    /// False when the orbit's stabilizer acts by −1, so its group average vanishes.
    pub fn is_alive(&self, orbit: usize) -> bool {
        self.alive[orbit]
    }

    /// The order of the stabilizer of any coordinate of the orbit, |G| / |orbit|.
    pub fn stabilizer_order(&self, orbit: usize) -> usize {
        self.group_order / self.members(orbit).len()
    }

    /// The alive orbits, in increasing order of representative.
    pub fn alive_orbits(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&o| self.alive[o])
    }

    /// The number of alive orbits: the dimension of the invariant subspace.
    pub fn alive_count(&self) -> usize {
        self.alive.iter().filter(|&&a| a).count()
    }
}

/// `group.generators()`, computed once per (kind, dimension): a [`Group`] is determined by
/// them, and finding generators costs far more than a small bank for d ≥ 5.
fn cached_generators(group: &Group) -> Vec<SignedPermutation> {
    type Cache = Mutex<HashMap<(GroupKind, usize), Vec<SignedPermutation>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (group.kind(), group.dim());
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return found;
    }
    let generators = group.generators();
    if let Ok(mut c) = cache.lock() {
        c.insert(key, generators.clone());
    }
    generators
}
