//! One module per format. Each exposes a `scan` that reads a [`crate::source::Source`] and
//! reports findings into the per-file context; none of them panics on any input.

pub mod compress;
pub mod gguf;
pub mod hdf5;
pub mod keras;
pub mod numpy;
pub mod pickle;
pub mod protobuf;
pub mod safetensors;
pub mod sevenz;
pub mod tar;
pub mod torch;
pub mod yaml;
pub mod zip;
