//! Criterion benchmark: manifest hashing of a generated model folder (SHA-256, files and shards).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_sign::hash::{HashOptions, Method, manifest};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = vec![0x5au8; 64 << 20];
    for i in 0..2 {
        std::fs::write(dir.path().join(format!("shard-{i}.bin")), &big).expect("write");
    }
    for i in 0..200 {
        std::fs::write(dir.path().join(format!("small-{i}.json")), vec![b'x'; 4096])
            .expect("write");
    }
    let total = 2 * (64u64 << 20) + 200 * 4096;
    let mut g = c.benchmark_group("manifest");
    g.throughput(Throughput::Bytes(total));
    g.sample_size(10);
    g.bench_function("files_sha256", |b| {
        b.iter(|| manifest(dir.path(), &HashOptions::default()).expect("manifest"))
    });
    let shards = HashOptions {
        method: Method::Shards(16 << 20),
        ..HashOptions::default()
    };
    g.bench_function("shards_16MiB_sha256", |b| {
        b.iter(|| manifest(dir.path(), &shards).expect("manifest"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
