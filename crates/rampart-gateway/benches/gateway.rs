//! Per-request costs inside the gateway: the guard pipeline on a 1 KB prompt (every guard),
//! the counter reservation, the audit record (serialise + chain hash), and one streamed
//! window release. `bench/gateway.sh` measures the whole gateway over HTTP against nginx and
//! LiteLLM.

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_gateway::config::Config;
use rampart_gateway::counters::{Counters, Limits, Windows};
use rampart_gateway::guards::{Ctx, Held, Pipeline};
use std::hint::black_box;
use std::sync::Arc;

const GUARDS: &str = r#"
[[guards]]
name = "size"
kind = "prompt_limit"
max_tokens = 8000
[[guards]]
name = "deny"
kind = "regex"
stage = "both"
action = "redact"
patterns = ["(?i)project-x\\w*"]
[[guards]]
name = "injection"
kind = "injection"
action = "flag"
[[guards]]
name = "pii"
kind = "pii"
action = "redact"
[[guards]]
name = "secrets"
kind = "secrets"
stage = "both"
action = "redact"
[[guards]]
name = "exfil"
kind = "exfil"
stage = "output"
action = "block"
"#;

fn prompt() -> String {
    let p = "Summarise the following customer message for the support queue and suggest a reply. \
             The delivery arrived two days late, the box was damaged and one of the three items was \
             missing; the customer would like a refund and asks whether the late fee can be waived. ";
    p.repeat(6).chars().take(1024).collect()
}

fn benches(c: &mut Criterion) {
    let cfg = Config::parse(GUARDS).expect("config");
    let model = Arc::new(
        rampart_guard::injection::Model::from_bytes(rampart_guard::injection::shipped::MODEL)
            .expect("model"),
    );
    let p = Pipeline::new(&cfg, Some(model)).expect("pipeline");
    let text = prompt();
    let req = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]});
    c.bench_function("pipeline_input_1kb_all_guards", |b| {
        b.iter(|| {
            let mut r = req.clone();
            let mut cx = Ctx::default();
            let mut v = p.skipped();
            black_box(p.input("chat", &[], &mut r, &mut cx, &mut v).is_ok())
        })
    });
    c.bench_function("pipeline_output_1kb_all_guards", |b| {
        b.iter(|| {
            let mut cx = Ctx::default();
            let mut v = p.skipped();
            black_box(p.output_text("chat", &[], &text, &mut cx, &mut v).is_ok())
        })
    });
    c.bench_function("stream_release_1kb_in_16_byte_chunks", |b| {
        b.iter(|| {
            let mut cx = Ctx::default();
            let mut v = p.skipped();
            let mut held = Held::default();
            let mut out = 0;
            for ch in text.as_bytes().chunks(16) {
                held.pending.push_str(std::str::from_utf8(ch).unwrap_or(""));
                out += p
                    .release("chat", &[], &mut held, false, &mut cx, &mut v)
                    .map_or(0, |s| s.len());
            }
            out += p
                .release("chat", &[], &mut held, true, &mut cx, &mut v)
                .map_or(0, |s| s.len());
            black_box(out)
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let counters = Counters::local();
    let lim = Limits {
        rpm: Some(u64::MAX / 2),
        tpm: Some(u64::MAX / 2),
        tpd: None,
        tpmo: None,
    };
    let w = Windows::at(1_795_651_200_000);
    c.bench_function("counters_reserve_local", |b| {
        b.iter(|| rt.block_on(counters.reserve("key_1", &lim, 300, &w)).ok())
    });
    let rec = rampart_gateway::audit::Record {
        request_id: "req_0123456789abcdef01234567".into(),
        key_id: "key_0123456789abcdef".into(),
        route: "chat".into(),
        model: "m".into(),
        status: 200,
        guards: p.skipped().0,
        ..Default::default()
    };
    c.bench_function("audit_record_serialise_and_hash", |b| {
        b.iter(|| {
            let body = serde_json::to_string(&rec).unwrap_or_default();
            black_box(rampart_gateway::audit::row_hash(
                42,
                rampart_gateway::audit::GENESIS,
                &body,
            ))
        })
    });
}

criterion_group!(g, benches);
criterion_main!(g);
