//! OpenAI wire shapes: error bodies and what the gateway reads from requests and responses.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// An error in OpenAI's shape, with the request id in the body and `x-request-id`.
pub fn error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code},
        "request_id": request_id,
    });
    let mut r = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

/// The route of a path.
pub fn route_of(path: &str) -> Option<&'static str> {
    match path {
        "/v1/chat/completions" => Some("chat"),
        "/v1/completions" => Some("completions"),
        "/v1/embeddings" => Some("embeddings"),
        _ => None,
    }
}

/// Upstream path of a route.
pub fn path_of(route: &str) -> &'static str {
    match route {
        "chat" => "/v1/chat/completions",
        "completions" => "/v1/completions",
        _ => "/v1/embeddings",
    }
}

/// Scopes a request body needs beyond its endpoint.
pub fn needed_scopes(route: &str, v: &Value) -> Vec<&'static str> {
    let truthy = |k: &str| match v.get(k) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|x| x != 0.0) || route == "completions",
        Some(_) => true,
    };
    let mut s = Vec::new();
    if truthy("logprobs") || truthy("top_logprobs") {
        s.push("logprobs");
    }
    if truthy("tools") || truthy("functions") || truthy("tool_choice") || truthy("function_call") {
        s.push("tools");
    }
    if truthy("stream") {
        s.push("stream");
    }
    s
}

/// The completion tokens a request may produce (what quotas reserve).
pub fn max_completion(v: &Value, default: u64) -> u64 {
    let n = v
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 128);
    let m = v
        .get("max_completion_tokens")
        .or_else(|| v.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(default);
    m.saturating_mul(n)
}

/// (prompt, completion) tokens from a `usage` object.
pub fn usage(v: &Value) -> Option<(u64, u64)> {
    let u = v.get("usage")?;
    let p = u.get("prompt_tokens").and_then(Value::as_u64)?;
    let c = u
        .get("completion_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some((p, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_body() {
        let v = serde_json::json!({"logprobs": true, "top_logprobs": 5, "stream": true});
        assert_eq!(needed_scopes("chat", &v), ["logprobs", "stream"]);
        assert!(
            needed_scopes(
                "chat",
                &serde_json::json!({"logprobs": false, "stream": false})
            )
            .is_empty()
        );
        assert_eq!(
            needed_scopes("completions", &serde_json::json!({"logprobs": 0})),
            ["logprobs"]
        );
        assert_eq!(
            needed_scopes("chat", &serde_json::json!({"tools": []})),
            ["tools"]
        );
        assert_eq!(
            max_completion(&serde_json::json!({"max_tokens": 10, "n": 3}), 1024),
            30
        );
    }
}
