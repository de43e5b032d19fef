//! Tool calls in the gateway: the answer a tool-policy refusal gets, and the gate that holds
//! a stream's tool-call deltas until each call is complete and decided.
//!
//! A streamed call arrives in pieces (`delta.tool_calls[k]`: id and name first, then the
//! arguments a few characters at a time). Arguments cannot be checked against a schema or a
//! deny pattern before they are whole, and a client that has seen half a call may already act
//! on it, so while a policy applies the pieces are taken out of the events and the whole call
//! is released in the event that finishes its choice — or the stream ends with an error.

use crate::guards::ToolRefusal;
use axum::http::StatusCode;
use rampart_guard::tools::Decision;
use rampart_guard::tools::ToolCall;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most bytes of tool-call arguments held for one stream.
pub const MAX_HELD: usize = 1 << 20;

/// Index used for the legacy single `function_call` of a choice.
const LEGACY: u64 = u64::MAX;

/// Status, error code and OpenAI-shaped body for a refusal.
pub fn refusal(r: &ToolRefusal, request_id: &str) -> (StatusCode, &'static str, Value) {
    let call = json!({"id": r.call_id, "name": r.tool, "arguments": r.arguments});
    let (status, kind, code, message) = match &r.decision {
        Decision::RequiresApproval => (
            StatusCode::FORBIDDEN,
            "tool_approval_required",
            "tool_approval_required",
            format!(
                "The model called `{}`, which needs a person's approval before it runs (policy `{}`). The call is in `error.tool_call`.",
                r.tool, r.guard
            ),
        ),
        Decision::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "tool_rate_limited",
            format!(
                "The model called `{}` more often than the `{}` policy allows per minute.",
                r.tool, r.guard
            ),
        ),
        Decision::Deny { .. } if r.offer => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "tool_not_allowed",
            format!(
                "The request offers tools the `{}` policy does not allow: {}. Remove them or ask for them to be added to the policy.",
                r.guard, r.tool
            ),
        ),
        Decision::Deny { reason } => (
            StatusCode::FORBIDDEN,
            "permission_error",
            "tool_call_denied",
            format!(
                "The model's call of `{}` was refused by the `{}` policy: {reason}.",
                r.tool, r.guard
            ),
        ),
        Decision::Allow => (
            StatusCode::FORBIDDEN,
            "permission_error",
            "tool_call_denied",
            format!("The `{}` policy refused the call.", r.guard),
        ),
    };
    let mut err = json!({"message": message, "type": kind, "param": null, "code": code});
    // The whole call (arguments included) only where a person must review it; a refused
    // call is named, not handed back.
    match r.decision {
        Decision::RequiresApproval => err["tool_call"] = call,
        _ if !r.offer => err["tool_call"] = json!({"id": r.call_id, "name": r.tool}),
        _ => {}
    }
    if let Decision::RateLimited { retry_after_s } = r.decision {
        err["retry_after_s"] = json!(retry_after_s);
    }
    (
        status,
        code,
        json!({"error": err, "request_id": request_id}),
    )
}

/// Tool-call pieces held from a stream, by choice and call index.
#[derive(Debug, Default)]
pub struct Gate {
    calls: BTreeMap<(u64, u64), ToolCall>,
    bytes: usize,
}

/// Event is too large to hold.
#[derive(Debug)]
pub struct TooLarge;

fn piece(v: &Value, p: &str) -> String {
    v.pointer(p)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl Gate {
    /// Take the tool-call pieces out of an event's choices. Returns whether the event changed.
    pub fn absorb(&mut self, ev: &mut Value) -> Result<bool, TooLarge> {
        let mut changed = false;
        let Some(cs) = ev.get_mut("choices").and_then(Value::as_array_mut) else {
            return Ok(false);
        };
        for c in cs.iter_mut() {
            let idx = c.get("index").and_then(Value::as_u64).unwrap_or(0);
            let Some(delta) = c.get_mut("delta").and_then(Value::as_object_mut) else {
                continue;
            };
            let mut pieces: Vec<(u64, Value)> = Vec::new();
            if let Some(Value::Array(tc)) = delta.remove("tool_calls") {
                changed = true;
                for (n, t) in tc.into_iter().enumerate() {
                    let k = t.get("index").and_then(Value::as_u64).unwrap_or(n as u64);
                    pieces.push((k.min(LEGACY - 1), t));
                }
            }
            if let Some(fc) = delta.remove("function_call") {
                changed = true;
                pieces.push((LEGACY, json!({"function": fc})));
            }
            for (k, t) in pieces {
                let call = self.calls.entry((idx, k)).or_default();
                let id = piece(&t, "/id");
                if !id.is_empty() {
                    call.id = id;
                }
                let name = piece(&t, "/function/name");
                let args = piece(&t, "/function/arguments");
                self.bytes += name.len() + args.len();
                if self.bytes > MAX_HELD {
                    return Err(TooLarge);
                }
                call.name.push_str(&name);
                call.arguments.push_str(&args);
            }
        }
        Ok(changed)
    }

    /// Choices of `ev` that finish now and have calls held.
    pub fn finishing(&self, ev: &Value) -> Vec<u64> {
        let mut out = Vec::new();
        for c in ev
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let idx = c.get("index").and_then(Value::as_u64).unwrap_or(0);
            if c.get("finish_reason").is_some_and(|r| !r.is_null()) && self.has(idx) {
                out.push(idx);
            }
        }
        out
    }

    fn has(&self, choice: u64) -> bool {
        self.calls
            .range((choice, 0)..=(choice, LEGACY))
            .next()
            .is_some()
    }

    /// Choices with calls still held (a stream that ended without finishing them).
    pub fn pending_choices(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.calls.keys().map(|k| k.0).collect();
        v.dedup();
        v
    }

    /// The whole calls of one choice, removed from the gate.
    pub fn take(&mut self, choice: u64) -> Vec<(u64, ToolCall)> {
        let keys: Vec<(u64, u64)> = self
            .calls
            .range((choice, 0)..=(choice, LEGACY))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| self.calls.remove(&k).map(|c| (k.1, c)))
            .collect()
    }
}

/// Put released calls back into choice `choice` of `ev` as one delta each, whole.
pub fn release(ev: &mut Value, choice: u64, calls: &[(u64, ToolCall)]) {
    let Some(cs) = ev.get_mut("choices").and_then(Value::as_array_mut) else {
        return;
    };
    let Some(c) = cs
        .iter_mut()
        .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == choice)
    else {
        return;
    };
    if c.get("delta").is_none_or(|d| !d.is_object()) {
        c["delta"] = json!({});
    }
    let mut list = Vec::new();
    for (k, call) in calls {
        if *k == LEGACY {
            c["delta"]["function_call"] = json!({"name": call.name, "arguments": call.arguments});
        } else {
            list.push(json!({"index": k, "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments}}));
        }
    }
    if !list.is_empty() {
        c["delta"]["tool_calls"] = Value::Array(list);
    }
}

/// A chunk that says nothing once tool-call pieces were taken out (no text, no role, no other
/// delta field, no finish, no usage): not worth sending. The role is kept: clients build the
/// message from the first delta.
pub fn is_empty_chunk(ev: &Value) -> bool {
    if ev.get("usage").is_some_and(|u| !u.is_null()) {
        return false;
    }
    ev.get("choices")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            !cs.is_empty()
                && cs.iter().all(|c| {
                    c.get("finish_reason").is_none_or(Value::is_null)
                        && c.get("logprobs").is_none_or(Value::is_null)
                        && c.get("delta")
                            .and_then(Value::as_object)
                            .is_none_or(|d| d.values().all(Value::is_null))
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_assembles_pieces_and_releases_them_whole() {
        let mut g = Gate::default();
        let mut e1 = json!({"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]});
        let mut e2 = json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]});
        let mut e3 = json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]});
        let mut fin = json!({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]});
        for e in [&mut e1, &mut e2, &mut e3] {
            assert!(g.absorb(e).unwrap());
            assert!(g.finishing(e).is_empty());
        }
        // The first chunk still carries the role; the argument pieces say nothing.
        assert!(!is_empty_chunk(&e1), "{e1}");
        assert_eq!(e1.pointer("/choices/0/delta/tool_calls"), None);
        assert!(is_empty_chunk(&e2) && is_empty_chunk(&e3));
        assert!(!g.absorb(&mut fin).unwrap());
        assert_eq!(g.finishing(&fin), vec![0]);
        let calls = g.take(0);
        assert_eq!(
            calls,
            vec![(
                0,
                ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into()
                }
            )]
        );
        assert!(g.pending_choices().is_empty());
        release(&mut fin, 0, &calls);
        assert_eq!(
            fin.pointer("/choices/0/delta/tool_calls/0/function/arguments"),
            Some(&json!("{\"city\":\"Paris\"}"))
        );
        assert!(!is_empty_chunk(&fin));
    }

    #[test]
    fn gate_is_bounded() {
        let mut g = Gate::default();
        let big = "x".repeat(MAX_HELD / 2 + 1);
        let mut e = json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments": big}}]}}]});
        assert!(g.absorb(&mut e.clone()).is_ok());
        assert!(g.absorb(&mut e).is_err());
    }

    #[test]
    fn refusals_have_their_status_and_code() {
        let r = |d: Decision, id: &str| ToolRefusal {
            guard: "tools".into(),
            tool: "send_email".into(),
            call_id: id.into(),
            arguments: String::new(),
            offer: id.is_empty(),
            decision: d,
        };
        let (s, c, b) = refusal(&r(Decision::RequiresApproval, "call_1"), "rid");
        assert_eq!((s.as_u16(), c), (403, "tool_approval_required"));
        assert_eq!(b["error"]["tool_call"]["id"], "call_1");
        assert_eq!(b["request_id"], "rid");
        let (s, c, b) = refusal(&r(Decision::RateLimited { retry_after_s: 7 }, "c"), "rid");
        assert_eq!((s.as_u16(), c), (429, "tool_rate_limited"));
        assert_eq!(b["error"]["retry_after_s"], 7);
        let deny = || Decision::Deny {
            reason: "no".into(),
        };
        assert_eq!(refusal(&r(deny(), ""), "rid").1, "tool_not_allowed");
        assert_eq!(refusal(&r(deny(), "c"), "rid").1, "tool_call_denied");
    }
}
