//! Criterion benchmark: the parts of `rampart bom` that run on every byte (dataset counters,
//! fed by the hashing pass, must keep pace with SHA-256) and the per-file parsers.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_bom::data::{Counter, parquet};
use std::hint::black_box;

fn feed(format: &str, data: &[u8]) -> rampart_bom::data::DataStats {
    let mut c = Counter::new(format).expect("counter");
    for chunk in data.chunks(1 << 20) {
        c.feed(chunk);
    }
    c.finish()
}

fn bench(c: &mut Criterion) {
    let line = b"{\"question\": \"How do I reset my password? How do I reset it?\", \"answer\": \"Settings > Account > Reset, then follow the e-mail link.\"}\n";
    let jsonl: Vec<u8> = line.iter().copied().cycle().take(64 << 20).collect();
    let row = b"17,\"How do I reset my password, please?\",\"Settings > Account > Reset\",en\r\n";
    let mut csv = b"id,question,answer,lang\r\n".to_vec();
    csv.extend(row.iter().copied().cycle().take(64 << 20));
    let mut g = c.benchmark_group("counters");
    g.throughput(Throughput::Bytes(64 << 20));
    g.sample_size(10);
    g.bench_function("jsonl_64MiB", |b| {
        b.iter(|| black_box(feed("jsonl", &jsonl)))
    });
    g.bench_function("csv_64MiB", |b| b.iter(|| black_box(feed("csv", &csv))));
    g.finish();

    let readme = include_str!("../../../fixtures/bom/tiny-llm/README.md");
    c.bench_function("front_matter", |b| {
        b.iter(|| {
            let (fm, _) = rampart_bom::yaml::split_front_matter(black_box(readme));
            rampart_bom::yaml::parse(fm.unwrap_or_default())
        })
    });
    let pq = include_bytes!("../../../fixtures/bom/datasets/faq.parquet");
    let n = u32::from_le_bytes([
        pq[pq.len() - 8],
        pq[pq.len() - 7],
        pq[pq.len() - 6],
        pq[pq.len() - 5],
    ]) as usize;
    let footer = &pq[pq.len() - 8 - n..pq.len() - 8];
    c.bench_function("parquet_footer", |b| {
        b.iter(|| parquet::parse_footer(black_box(footer)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
