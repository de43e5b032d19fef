//! Criterion benchmarks of the scanner's hot paths on generated inputs.

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_scan::{ScanOptions, scan_bytes};
use std::hint::black_box;

/// A protocol-2 pickle of a state dict with `n` tensors, shaped like torch's data.pkl.
fn torch_like_pickle(n: usize) -> Vec<u8> {
    let mut p = vec![0x80, 2, b'}', b'q', 0, b'('];
    for i in 0..n {
        let key = format!("layer.{i}.weight");
        p.push(b'X');
        p.extend_from_slice(&(key.len() as u32).to_le_bytes());
        p.extend_from_slice(key.as_bytes());
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.extend_from_slice(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuM\x00\x04tQ");
        p.extend_from_slice(b"K\x00M\x00\x04\x85M\x01\x00\x85\x89ccollections\nOrderedDict\n)RtR");
    }
    p.extend_from_slice(b"u.");
    p
}

fn bench(c: &mut Criterion) {
    let opts = ScanOptions::new();
    let small = torch_like_pickle(100);
    let big = torch_like_pickle(20_000);
    c.bench_function("pickle_state_dict_100", |b| {
        b.iter(|| scan_bytes("a.pkl", black_box(&small), &opts))
    });
    c.bench_function("pickle_state_dict_20000", |b| {
        b.iter(|| scan_bytes("a.pkl", black_box(&big), &opts))
    });
    let evil = b"cos\nsystem\n(S'echo rampart-bench'\ntR.".to_vec();
    c.bench_function("pickle_malicious_tiny", |b| {
        b.iter(|| scan_bytes("e.pkl", black_box(&evil), &opts))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
