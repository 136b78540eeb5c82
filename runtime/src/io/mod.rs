//! Reading and writing parameters: the JSON forms of keys, signatures and arrays, layer
//! weights in ginjax's layout, the named parameters of norms and nonlinearities, and whole
//! models exported from ginjax.

pub mod ginjax_import;
pub mod layer_params;
pub mod params;
pub mod weights;
