//! Reading and writing parameters: the JSON forms of keys, signatures and arrays, layer
//! weights in ginjax's layout, the named parameters of norms and nonlinearities, and whole
//! layer sequences exported from ginjax, and the model file (configuration and named
//! parameters of a UNet, ResNet or DilResNet).

pub mod ginjax_import;
pub mod layer_params;
pub mod model_file;
pub mod params;
pub mod weights;
