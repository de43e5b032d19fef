//! Tool-call policy for OpenAI-style `tools` (in requests) and `tool_calls` (in responses):
//! an allowlist of tool names (everything else denied), JSON-schema rules on arguments, deny
//! patterns, "requires approval" answered with a structured error, and per-tool rate limits.
//!
//! The policy is data (TOML):
//!
//! ```toml
//! [tools.get_weather]
//! schema = '{"type":"object","properties":{"city":{"type":"string","maxLength":64}},"required":["city"],"additionalProperties":false}'
//!
//! [tools.send_email]
//! requires_approval = true
//! deny_patterns = ["(?i)@evil\\.example"]   # regex syntax of the `regex` crate
//! max_calls_per_minute = 5
//! ```

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

/// One tool's rule as written in the policy file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ToolSpec {
    /// JSON schema (as a JSON string) the parsed arguments must satisfy.
    pub schema: Option<String>,
    /// Regular expressions; a call whose arguments (any string value, or the raw argument
    /// text) match one is denied.
    pub deny_patterns: Vec<String>,
    /// Calls need a person's approval: the gateway answers with [`approval_error`].
    pub requires_approval: bool,
    /// At most this many calls per minute (per policy state, e.g. per key).
    pub max_calls_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    tools: BTreeMap<String, ToolSpec>,
}

struct Rule {
    schema: Option<jsonschema::Validator>,
    deny: Vec<Regex>,
    requires_approval: bool,
    per_minute: Option<u32>,
}

/// A compiled policy.
pub struct ToolPolicy {
    rules: BTreeMap<String, Rule>,
}

impl std::fmt::Debug for ToolPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolPolicy")
            .field("tools", &self.rules.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What the policy says about one call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// The call may proceed.
    Allow,
    /// The call is refused.
    Deny {
        /// Why.
        reason: String,
    },
    /// A person must approve the call.
    RequiresApproval,
    /// Too many calls of this tool.
    RateLimited {
        /// Seconds until a call would be allowed.
        retry_after_s: u64,
    },
}

/// Per-tool call times for rate limits (one per key or session).
#[derive(Debug, Default)]
pub struct RateState {
    calls: BTreeMap<String, VecDeque<u64>>,
}

/// Largest argument text examined.
pub const MAX_ARGUMENTS: usize = 1 << 20;

impl ToolPolicy {
    /// Parse and compile a policy; errors name the tool and what is wrong.
    pub fn from_toml(text: &str) -> Result<ToolPolicy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| format!("tool policy: {e}"))?;
        ToolPolicy::from_specs(file.tools)
    }

    /// Compile rules already parsed (the gateway's `[guards.tools.NAME]` tables).
    pub fn from_specs(specs: BTreeMap<String, ToolSpec>) -> Result<ToolPolicy, String> {
        let mut rules = BTreeMap::new();
        for (name, spec) in specs {
            let schema = match &spec.schema {
                None => None,
                Some(s) => {
                    let v: Value = serde_json::from_str(s)
                        .map_err(|e| format!("tool {name}: schema is not JSON: {e}"))?;
                    Some(
                        jsonschema::options()
                            .build(&v)
                            .map_err(|e| format!("tool {name}: invalid schema: {e}"))?,
                    )
                }
            };
            let deny = spec
                .deny_patterns
                .iter()
                .map(|p| Regex::new(p).map_err(|e| format!("tool {name}: deny pattern {p:?}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            rules.insert(
                name,
                Rule {
                    schema,
                    deny,
                    requires_approval: spec.requires_approval,
                    per_minute: spec.max_calls_per_minute,
                },
            );
        }
        Ok(ToolPolicy { rules })
    }

    /// Is `name` one of the policy's tools?
    pub fn lists(&self, name: &str) -> bool {
        self.rules.contains_key(name)
    }

    /// Names of tools offered in a chat request (`tools[].function.name`, and the legacy
    /// `functions[].name`) that the policy does not allow. The gateway refuses such requests
    /// before they reach the model.
    pub fn disallowed_offers(&self, request: &Value) -> Vec<String> {
        let listed = |key: &str, pointer: &'static str| {
            request
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |t| {
                    t.pointer(pointer)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                })
        };
        listed("tools", "/function/name")
            .chain(listed("functions", "/name"))
            .filter(|n| !self.rules.contains_key(n))
            .collect()
    }

    /// Decide on one call of `name` with `arguments` (the JSON text the model produced) at
    /// Unix time `now` (seconds); records the call in `state` when it is allowed.
    pub fn decide(&self, name: &str, arguments: &str, now: u64, state: &mut RateState) -> Decision {
        let Some(rule) = self.rules.get(name) else {
            return Decision::Deny {
                reason: format!("tool {name:?} is not in the policy's allowlist"),
            };
        };
        if arguments.len() > MAX_ARGUMENTS {
            return Decision::Deny {
                reason: format!("arguments larger than {MAX_ARGUMENTS} bytes"),
            };
        }
        let args: Value = match serde_json::from_str(if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        }) {
            Ok(v) => v,
            Err(e) => {
                return Decision::Deny {
                    reason: format!("arguments are not valid JSON: {e}"),
                };
            }
        };
        if let Some(s) = &rule.schema
            && let Some(err) = s.iter_errors(&args).next()
        {
            return Decision::Deny {
                reason: format!(
                    "arguments break the schema: {err} at {}",
                    err.instance_path()
                ),
            };
        }
        let mut strings = Vec::new();
        collect_strings(&args, &mut strings, 0);
        for (i, re) in rule.deny.iter().enumerate() {
            if re.is_match(arguments) || strings.iter().any(|s| re.is_match(s)) {
                // The pattern's number, not its text: the answer goes to the client, and a
                // deny list spelled out is a guide to getting around it.
                return Decision::Deny {
                    reason: format!("arguments match deny pattern #{} of the tool", i + 1),
                };
            }
        }
        if rule.requires_approval {
            return Decision::RequiresApproval;
        }
        if let Some(limit) = rule.per_minute {
            let q = state.calls.entry(name.to_string()).or_default();
            while q.front().is_some_and(|t| now.saturating_sub(*t) >= 60) {
                q.pop_front();
            }
            if q.len() >= limit as usize {
                let oldest = q.front().copied().unwrap_or(now);
                return Decision::RateLimited {
                    retry_after_s: 60u64.saturating_sub(now.saturating_sub(oldest)).max(1),
                };
            }
            q.push_back(now);
        }
        Decision::Allow
    }

    /// Decisions for every call of a chat completion response ([`response_calls`]), in
    /// order: `(call id, tool name, decision)`.
    pub fn decide_response(
        &self,
        response: &Value,
        now: u64,
        state: &mut RateState,
    ) -> Vec<(String, String, Decision)> {
        response_calls(response)
            .into_iter()
            .map(|c| {
                let d = self.decide(&c.name, &c.arguments, now, state);
                (c.id, c.name, d)
            })
            .collect()
    }
}

/// One tool call of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCall {
    /// Call id ("" for the legacy `function_call`).
    pub id: String,
    /// Tool (function) name.
    pub name: String,
    /// Arguments as the model wrote them (JSON text).
    pub arguments: String,
}

/// The tool calls of a complete chat response, in order: every `choices[].message.tool_calls`
/// entry and the legacy single `function_call`.
pub fn response_calls(resp: &Value) -> Vec<ToolCall> {
    let text = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out = Vec::new();
    let choices = resp.get("choices").and_then(Value::as_array);
    for c in choices.into_iter().flatten() {
        let calls = c.pointer("/message/tool_calls").and_then(Value::as_array);
        for call in calls.into_iter().flatten() {
            out.push(ToolCall {
                id: text(call, "/id"),
                name: text(call, "/function/name"),
                arguments: text(call, "/function/arguments"),
            });
        }
        if let Some(fc) = c.pointer("/message/function_call") {
            out.push(ToolCall {
                id: String::new(),
                name: text(fc, "/name"),
                arguments: text(fc, "/arguments"),
            });
        }
    }
    out
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>, depth: u32) {
    if depth > 64 {
        return;
    }
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out, depth + 1)),
        _ => {}
    }
}

/// The structured error a gateway returns for a call that needs approval (OpenAI error shape).
pub fn approval_error(tool: &str, call_id: &str, request_id: &str) -> Value {
    json!({"error": {
        "message": format!("the call of tool {tool:?} requires approval before it runs"),
        "type": "tool_approval_required",
        "code": "tool_approval_required",
        "param": call_id,
        "request_id": request_id,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
[tools.get_weather]
schema = '{"type":"object","properties":{"city":{"type":"string","maxLength":32}},"required":["city"],"additionalProperties":false}'
max_calls_per_minute = 2

[tools.send_email]
requires_approval = true
deny_patterns = ["(?i)@evil\\.test"]

[tools.run_sql]
deny_patterns = ["(?i)\\b(drop|delete|truncate|alter)\\b"]
"#;

    #[test]
    fn decisions() {
        let p = ToolPolicy::from_toml(POLICY).unwrap();
        let mut st = RateState::default();
        assert_eq!(
            p.decide("get_weather", r#"{"city":"Paris"}"#, 0, &mut st),
            Decision::Allow
        );
        assert!(matches!(
            p.decide("get_weather", r#"{"city":"Paris","x":1}"#, 0, &mut st),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            p.decide("get_weather", r#"{"town":"Paris"}"#, 0, &mut st),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            p.decide("get_weather", "{not json", 0, &mut st),
            Decision::Deny { .. }
        ));
        assert_eq!(
            p.decide("get_weather", r#"{"city":"Rome"}"#, 10, &mut st),
            Decision::Allow
        );
        assert_eq!(
            p.decide("get_weather", r#"{"city":"Oslo"}"#, 20, &mut st),
            Decision::RateLimited { retry_after_s: 40 }
        );
        assert_eq!(
            p.decide("get_weather", r#"{"city":"Oslo"}"#, 61, &mut st),
            Decision::Allow
        );
        assert_eq!(
            p.decide("send_email", r#"{"to":"a@example.com"}"#, 0, &mut st),
            Decision::RequiresApproval
        );
        assert!(matches!(
            p.decide("send_email", r#"{"to":"a@EVIL.test"}"#, 0, &mut st),
            Decision::Deny { .. }
        ));
        assert!(matches!(
            p.decide(
                "run_sql",
                r#"{"q":"select 1; DROP table users"}"#,
                0,
                &mut st
            ),
            Decision::Deny { .. }
        ));
        assert_eq!(
            p.decide("run_sql", r#"{"q":"select name from users"}"#, 0, &mut st),
            Decision::Allow
        );
        let d = p.decide("shell", "{}", 0, &mut st);
        assert!(matches!(d, Decision::Deny { ref reason } if reason.contains("allowlist")));
    }

    #[test]
    fn requests_and_responses() {
        let p = ToolPolicy::from_toml(POLICY).unwrap();
        let req = json!({"tools": [{"type":"function","function":{"name":"get_weather"}}, {"type":"function","function":{"name":"exec"}}]});
        assert_eq!(p.disallowed_offers(&req), ["exec"]);
        let old_style = json!({"choices":[{"message":{"function_call":{"name":"get_weather","arguments":"{}"}}}]});
        assert_eq!(
            response_calls(&old_style),
            [ToolCall {
                id: String::new(),
                name: "get_weather".into(),
                arguments: "{}".into()
            }]
        );
        let legacy = json!({"functions": [{"name": "get_weather"}, {"name": "curl"}]});
        assert_eq!(p.disallowed_offers(&legacy), ["curl"]);
        let resp = json!({"choices":[{"message":{"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"send_email","arguments":"{\"to\":\"x@example.com\"}"}},
            {"id":"c2","type":"function","function":{"name":"rm","arguments":"{}"}}]}}]});
        let d = p.decide_response(&resp, 0, &mut RateState::default());
        assert_eq!(d[0].2, Decision::RequiresApproval);
        assert!(matches!(d[1].2, Decision::Deny { .. }));
        let e = approval_error("send_email", "c1", "req-1");
        assert_eq!(e["error"]["type"], "tool_approval_required");
    }

    #[test]
    fn bad_policies_are_clear_errors() {
        assert!(
            ToolPolicy::from_toml("[tools.x]\nschema = 'nope'")
                .unwrap_err()
                .contains("tool x")
        );
        assert!(
            ToolPolicy::from_toml("[tools.x]\ndeny_patterns = ['(']")
                .unwrap_err()
                .contains("deny pattern")
        );
        assert!(ToolPolicy::from_toml("[tools.x]\nbogus = 1").is_err());
    }
}
