//! Compile-time signatures: signatures that are Rust types, so that chaining two layers whose
//! signatures differ is a compile error (see `TypedLayer::then`).
//!
//! A declared signature `[scalar: 8, vector: 8]` is the tuple type
//! `(Block<0, 0, 8>, Block<1, 0, 8>)`: one [`Block`] per entry with its tensor order, parity and
//! channel count, in declared order. Two layers that agree on a signature therefore name the same
//! type, and [`TypedLayer::then`](crate::TypedLayer::then) accepts a next layer only if its input type is the previous
//! layer's output type.

use crate::image::{Signature, TensorKey};

/// One signature entry at the type level: tensor order `K`, parity `P`, `C` channels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Block<const K: usize, const P: u8, const C: usize>;

/// A type that stands for a signature (tuples of [`Block`]s).
pub trait SignatureType: Send + Sync + 'static {
    /// The `(k, parity, channels)` entries, in order.
    const ENTRIES: &'static [(usize, u8, usize)];

    /// The run-time signature (all tensor axes contravariant).
    fn signature() -> Signature {
        Signature::new(
            Self::ENTRIES
                .iter()
                .map(|&(k, p, c)| (TensorKey::new(k, p), c))
                .collect(),
        )
        .expect("a declared signature has distinct keys and positive channel counts")
    }
}

macro_rules! tuple_signatures {
    ($(($($name:ident $k:ident $p:ident $c:ident),+))+) => {$(
        impl<$(const $k: usize, const $p: u8, const $c: usize),+> SignatureType
            for ($(tuple_signatures!(@block $name $k $p $c),)+)
        {
            const ENTRIES: &'static [(usize, u8, usize)] = &[$(($k, $p, $c)),+];
        }
    )+};
    (@block $name:ident $k:ident $p:ident $c:ident) => { Block<$k, $p, $c> };
}

tuple_signatures! {
    (A K0 P0 C0)
    (A K0 P0 C0, B K1 P1 C1)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4, F K5 P5 C5)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4, F K5 P5 C5, G K6 P6 C6)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4, F K5 P5 C5, G K6 P6 C6,
     H K7 P7 C7)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4, F K5 P5 C5, G K6 P6 C6,
     H K7 P7 C7, I K8 P8 C8)
    (A K0 P0 C0, B K1 P1 C1, C K2 P2 C2, D K3 P3 C3, E K4 P4 C4, F K5 P5 C5, G K6 P6 C6,
     H K7 P7 C7, I K8 P8 C8, J K9 P9 C9)
}

/// Holds when signature type `Self` equals `Expected`: the bound `TypedLayer::then` puts on
/// the next layer's input.
#[diagnostic::on_unimplemented(
    message = "layer signatures do not chain: the next layer takes `{Self}`, but the previous \
               layer produces `{Expected}`",
    label = "this layer's input signature differs from the previous layer's output signature",
    note = "a signature type lists `Block<k, parity, channels>` per entry, in declared order; \
            declare the next layer's `input = [...]` exactly as the previous layer's \
            `output = [...]`"
)]
pub trait SameSignature<Expected> {}

impl<T> SameSignature<T> for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_types_list_their_entries_in_order() {
        type S = (Block<0, 0, 8>, Block<1, 1, 3>);
        assert_eq!(S::ENTRIES, &[(0, 0, 8), (1, 1, 3)]);
        let sig = S::signature();
        assert_eq!(sig.entries()[1], (TensorKey::new(1, 1), 3));
        assert_eq!(<(Block<2, 0, 1>,)>::ENTRIES, &[(2, 0, 1)]);
    }
}
