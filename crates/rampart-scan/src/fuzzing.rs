//! Entry points for `cargo fuzz` (one per parser). Each must return normally on any input:
//! no panic, no unbounded allocation, no unbounded time.

use crate::{Limits, ScanOptions};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn opts() -> &'static ScanOptions {
    static O: OnceLock<ScanOptions> = OnceLock::new();
    O.get_or_init(|| ScanOptions {
        limits: Limits {
            max_member_bytes: 8 << 20,
            max_total_decompressed: 32 << 20,
            max_pickle_ops: 1_000_000,
            max_metadata_bytes: 8 << 20,
            time_per_file: Duration::from_secs(5),
            ..Limits::default()
        },
        policy: Arc::new(crate::Policy::builtin()),
        ..ScanOptions::default()
    })
}

fn run(name: &str, data: &[u8]) {
    let _ = crate::scan_bytes(name, data, opts());
}

/// Any input, format detected by content.
pub fn any(data: &[u8]) {
    run("input", data);
}

/// Pickle machine directly (no detection), with a listing.
pub fn pickle(data: &[u8]) {
    let o = crate::formats::pickle::machine::MachineOptions {
        max_ops: 1_000_000,
        trace: true,
        ..Default::default()
    };
    let r = crate::formats::pickle::machine::run(data, 0, &o);
    for obs in &r.obs {
        let _ = format!("{obs:?}");
    }
    run("input.pkl", data);
}

/// Zip reader (forces the zip path by prefixing a local header signature when absent).
pub fn zip(data: &[u8]) {
    run("input.zip", data);
}

/// `.npy` header parser.
pub fn npy(data: &[u8]) {
    let _ = crate::formats::numpy::parse_header(data);
    let mut v = b"\x93NUMPY".to_vec();
    v.extend_from_slice(data);
    run("input.npy", &v);
}

/// GGUF parser.
pub fn gguf(data: &[u8]) {
    let mut v = b"GGUF".to_vec();
    v.extend_from_slice(data);
    run("input.gguf", &v);
}

/// safetensors checker.
pub fn safetensors(data: &[u8]) {
    let _ = crate::formats::safetensors::check(&data, 1 << 20);
}

/// HDF5 reader.
pub fn hdf5(data: &[u8]) {
    let mut v = b"\x89HDF\r\n\x1a\n".to_vec();
    v.extend_from_slice(data);
    let _ = crate::formats::hdf5::root_attributes(&v.as_slice(), 1 << 20);
    run("input.h5", &v);
}

/// Protobuf (ONNX and SavedModel) walker.
pub fn protobuf(data: &[u8]) {
    run("model.onnx", data);
    run("saved_model.pb", data);
}

/// Keras JSON configuration checks.
pub fn keras_json(data: &[u8]) {
    run("config.json", data);
}

/// Tar reader.
pub fn tar(data: &[u8]) {
    let mut v = vec![0u8; 512];
    if let Some(dst) = v.get_mut(257..262) {
        dst.copy_from_slice(b"ustar");
    }
    v.extend_from_slice(data);
    run("input.tar", &v);
}
