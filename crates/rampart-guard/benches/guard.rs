//! Criterion benchmark: every guard on a 1 KB prompt (the gateway's per-request cost).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_guard::injection::{Model, classify, shipped};
use rampart_guard::{Detector, Guards};
use std::hint::black_box;

fn prompt() -> String {
    let mut s = String::from(
        "You are helping a customer. Summarise the ticket below and suggest a reply. \
         Ticket: the customer says the invoice for March was charged twice to the card ending \
         1111 and asks for a refund to be sent to alice@example.com; they attached a screenshot. ",
    );
    while s.len() < 1024 {
        s.push_str("They also mention that the mobile app logs them out after every update. ");
    }
    s.truncate(1024);
    s
}

fn bench(c: &mut Criterion) {
    let p = prompt();
    let model = Model::from_bytes(shipped::MODEL).expect("shipped model");
    let g = Guards::default();
    let mut group = c.benchmark_group("guards_1KB");
    group.throughput(Throughput::Bytes(p.len() as u64));
    group.bench_function("injection", |b| b.iter(|| classify(&model, black_box(&p))));
    group.bench_function("secrets_pii_exfil", |b| {
        b.iter(|| g.check(black_box(&p), &Detector::ALL))
    });
    // Secrets alone: the rule table grows with the providers it knows, and each rule must
    // cost next to nothing on text that holds none.
    group.bench_function("secrets", |b| {
        b.iter(|| g.check(black_box(&p), &[Detector::Secrets]))
    });
    // The gateway's exfiltration check of a 1 KB answer against a 1 KB request: building
    // the request's context, then checking the answer (with a link) against it.
    let answer = format!(
        "{} See ![chart](https://charts.example.org/q3/refund-status.png) for details.",
        &p[..900]
    );
    group.bench_function("exfil_context_build_and_check", |b| {
        b.iter(|| {
            let ctx = rampart_guard::exfil::Context::new([black_box(p.as_str())]);
            g.check_in_context(black_box(&answer), &[Detector::Exfil], Some(&ctx))
        })
    });
    let folded = p.replace("card ending 1111", "card ending \u{FF11}111\u{200B}");
    group.bench_function("secrets_pii_exfil_non_ascii", |b| {
        b.iter(|| g.check(black_box(&folded), &Detector::ALL))
    });
    // Non-ASCII text takes the NFKC path of normalisation (ASCII skips it).
    group.bench_function("injection_non_ascii", |b| {
        b.iter(|| classify(&model, black_box(&folded)))
    });
    group.bench_function("all", |b| {
        b.iter(|| {
            (
                classify(&model, black_box(&p)),
                g.check(black_box(&p), &Detector::ALL),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
