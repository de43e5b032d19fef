//! An OpenAI-compatible mock upstream for tests and benchmarks: fixed latency, streaming,
//! injected faults, usage. The reply to a chat is `reply` unless the last message starts with
//! `echo:`, in which case the rest of that message is the reply (so a test controls what the
//! "model" says), or `call: NAME ARGUMENTS`, in which case the model calls tool NAME with
//! ARGUMENTS (streamed as OpenAI does: id and name first, then the arguments in pieces).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Mock behaviour.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Delay before answering (or before the first chunk).
    pub latency: Duration,
    /// Delay between streamed chunks.
    pub chunk_delay: Duration,
    /// Default reply.
    pub reply: String,
    /// Answer every request with this status (500, 503, ...).
    pub fail_status: Option<u16>,
    /// Close the connection without answering (a reset).
    pub reset: bool,
    /// Stop a stream after this many chunks, without `[DONE]` (a broken stream).
    pub cut_stream_after: Option<usize>,
    /// Include `usage` in answers.
    pub usage: bool,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            reply: "Hello from the mock upstream.".into(),
            fail_status: None,
            reset: false,
            cut_stream_after: None,
            usage: true,
        }
    }
}

struct Mock {
    o: MockOptions,
    served: AtomicU64,
}

/// The mock's routes. `GET /mock/stats` returns how many requests it received.
pub fn router(o: MockOptions) -> Router {
    let m = Arc::new(Mock {
        o,
        served: AtomicU64::new(0),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(|| async { axum::Json(serde_json::json!({"object": "list", "data": [{"id": "mock", "object": "model"}]})) }))
        .route("/mock/stats", get(stats))
        .with_state(m)
}

async fn stats(State(m): State<Arc<Mock>>) -> Response {
    axum::Json(serde_json::json!({"requests": m.served.load(Ordering::Relaxed)})).into_response()
}

async fn prelude(m: &Mock) -> Option<Response> {
    m.served.fetch_add(1, Ordering::Relaxed);
    if !m.o.latency.is_zero() {
        tokio::time::sleep(m.o.latency).await;
    }
    if m.o.reset {
        // A body that errors makes hyper abort the connection.
        let s = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("reset"))
        });
        return Some(Response::new(Body::from_stream(s)));
    }
    m.o.fail_status.map(|s| {
        (
            StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(
                serde_json::json!({"error": {"message": "mock failure", "type": "server_error"}}),
            ),
        )
            .into_response()
    })
}

fn reply_for(m: &Mock, v: &Value, route: &str) -> String {
    let last = if route == "chat" {
        v.get("messages")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
    } else {
        v.get("prompt").and_then(Value::as_str)
    };
    match last {
        Some(t) if t.starts_with("call:") => t.to_string(),
        Some(t) if t.starts_with("echo:") => t.get(5..).unwrap_or("").trim_start().to_string(),
        _ => m.o.reply.clone(),
    }
}

fn usage(body: &[u8], reply: &str) -> Value {
    let p = (body.len() as u64).div_ceil(4);
    let c = reply.split_whitespace().count() as u64;
    serde_json::json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})
}

async fn chat(State(m): State<Arc<Mock>>, body: Bytes) -> Response {
    answer(m, body, "chat").await
}
async fn completions(State(m): State<Arc<Mock>>, body: Bytes) -> Response {
    answer(m, body, "completions").await
}

async fn answer(m: Arc<Mock>, body: Bytes, route: &'static str) -> Response {
    if let Some(r) = prelude(&m).await {
        return r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": {"message": "bad json"}})),
        )
            .into_response();
    };
    let reply = reply_for(&m, &v, route);
    let model = v.get("model").cloned().unwrap_or(Value::Null);
    let call = (route == "chat")
        .then(|| reply.strip_prefix("call:"))
        .flatten()
        .map(|rest| {
            let rest = rest.trim();
            let (name, args) = rest.split_once(' ').unwrap_or((rest, "{}"));
            (name.to_string(), args.trim().to_string())
        });
    let u = usage(&body, &reply);
    if v.get("stream").and_then(Value::as_bool).unwrap_or(false) {
        let include_usage = v
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut pieces: Vec<String> = Vec::new();
        let mut cur = String::new();
        for c in reply.chars() {
            cur.push(c);
            if c == ' ' {
                pieces.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            pieces.push(cur);
        }
        let mut events: Vec<Value> = Vec::new();
        let chunk = |choice: Value| serde_json::json!({"id": "chatcmpl-mock", "object": if route == "chat" {"chat.completion.chunk"} else {"text_completion"}, "created": 0, "model": model, "choices": [choice]});
        if let Some((name, args)) = &call {
            events.push(chunk(serde_json::json!({"index": 0, "delta": {"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_mock1", "type": "function", "function": {"name": name, "arguments": ""}}]}, "finish_reason": null})));
            let chars: Vec<char> = args.chars().collect();
            for piece in chars.chunks(4) {
                let p: String = piece.iter().collect();
                events.push(chunk(serde_json::json!({"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}, "finish_reason": null})));
            }
            events.push(chunk(
                serde_json::json!({"index": 0, "delta": {}, "finish_reason": "tool_calls"}),
            ));
            pieces.clear();
        } else if route == "chat" {
            events.push(chunk(serde_json::json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null})));
        }
        for p in pieces {
            events.push(chunk(if route == "chat" {
                serde_json::json!({"index": 0, "delta": {"content": p}, "finish_reason": null})
            } else {
                serde_json::json!({"index": 0, "text": p, "finish_reason": null})
            }));
        }
        events.push(chunk(if call.is_some() {
            Value::Null
        } else if route == "chat" {
            serde_json::json!({"index": 0, "delta": {}, "finish_reason": "stop"})
        } else {
            serde_json::json!({"index": 0, "text": "", "finish_reason": "stop"})
        }));
        events.retain(|e| !e["choices"][0].is_null());
        if include_usage && m.o.usage {
            events.push(serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [], "usage": u}));
        }
        let delay = m.o.chunk_delay;
        let cut = m.o.cut_stream_after;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        tokio::spawn(async move {
            for (i, e) in events.iter().enumerate() {
                if cut.is_some_and(|c| i >= c) {
                    let _ = tx.send(Err(std::io::Error::other("cut"))).await;
                    return;
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let mut b = b"data: ".to_vec();
                b.extend(serde_json::to_vec(e).unwrap_or_default());
                b.extend_from_slice(b"\n\n");
                if tx.send(Ok(Bytes::from(b))).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
        });
        let mut rx = rx;
        let s = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut r = Response::new(Body::from_stream(s));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/event-stream"),
        );
        return r;
    }
    let mut out = if let Some((name, args)) = &call {
        serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_mock1", "type": "function", "function": {"name": name, "arguments": args}}]}, "finish_reason": "tool_calls"}]})
    } else if route == "chat" {
        serde_json::json!({"id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]})
    } else {
        serde_json::json!({"id": "cmpl-mock", "object": "text_completion", "created": 0, "model": model,
            "choices": [{"index": 0, "text": reply, "finish_reason": "stop"}]})
    };
    if m.o.usage {
        out["usage"] = u;
    }
    axum::Json(out).into_response()
}

async fn embeddings(State(m): State<Arc<Mock>>, body: Bytes) -> Response {
    if let Some(r) = prelude(&m).await {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = match v.get("input") {
        Some(Value::Array(a)) => a.len(),
        _ => 1,
    };
    let data: Vec<Value> = (0..n).map(|i| serde_json::json!({"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]})).collect();
    let p = (body.len() as u64).div_ceil(4);
    axum::Json(serde_json::json!({"object": "list", "data": data, "model": v.get("model"), "usage": {"prompt_tokens": p, "total_tokens": p}})).into_response()
}

/// Serve the mock on `addr` until the process ends; prints `mock listening on ADDR`.
pub async fn run(addr: std::net::SocketAddr, o: MockOptions) -> std::io::Result<()> {
    let l = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("mock listening on http://{}", l.local_addr()?);
    axum::serve(l, router(o)).await
}
