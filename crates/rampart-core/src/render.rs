//! Renderers: concise human text, JSON (schema in `docs/scan-report.md`) and SARIF 2.1.0.

use crate::{Finding, Report, RuleInfo, Severity};
use owo_colors::OwoColorize;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Options of the human renderer.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// Emit ANSI colours.
    pub color: bool,
    /// Print findings below this severity only as counts.
    pub min_severity: Option<Severity>,
}

fn sev_label(s: Severity, color: bool) -> String {
    let text = format!("{:<8}", s.as_str().to_uppercase());
    if !color {
        return text;
    }
    match s {
        Severity::Critical => text.bold().red().to_string(),
        Severity::High => text.red().to_string(),
        Severity::Medium => text.yellow().to_string(),
        Severity::Low => text.cyan().to_string(),
        Severity::Info => text.dimmed().to_string(),
    }
}

/// The concise human view: one block per finding, then a summary line.
pub fn human(report: &Report, opts: HumanOptions) -> String {
    let mut out = String::new();
    let min = opts.min_severity.unwrap_or(Severity::Info);
    let mut hidden = 0u64;
    for f in &report.findings {
        if f.severity < min {
            hidden += 1;
            continue;
        }
        human_finding(&mut out, f, opts.color);
    }
    for e in &report.errors {
        let label = if opts.color {
            "error   ".red().bold().to_string()
        } else {
            "error   ".to_string()
        };
        let _ = writeln!(out, "{label} {}: {}", e.path, e.message);
    }
    let s = &report.summary;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            let n = s.by_severity.get(sev).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    let verdict = if report.findings.is_empty() {
        "no findings".to_string()
    } else {
        format!("{} findings ({})", report.findings.len(), counts.join(", "))
    };
    let _ = write!(
        out,
        "{} {} files, {} archive members, {} in {} ms: {verdict}",
        if opts.color {
            "scanned".bold().to_string()
        } else {
            "scanned".to_string()
        },
        s.files,
        s.members,
        human_bytes(s.bytes),
        s.duration_ms,
    );
    if hidden > 0 {
        let _ = write!(out, " ({hidden} below {min} not shown)");
    }
    if !report.errors.is_empty() {
        let _ = write!(out, "; {} files could not be read", report.errors.len());
    }
    out.push('\n');
    out
}

fn human_finding(out: &mut String, f: &Finding, color: bool) {
    let loc = f.location.to_string();
    let rule = format!("{} {}", f.rule_id, f.rule);
    let _ = writeln!(
        out,
        "{} {}  {}",
        sev_label(f.severity, color),
        if color { loc.bold().to_string() } else { loc },
        if color {
            rule.dimmed().to_string()
        } else {
            rule
        },
    );
    let times = if f.occurrences > 1 {
        format!(" (×{})", f.occurrences)
    } else {
        String::new()
    };
    let _ = writeln!(out, "         {}{times}", f.message);
    if let Some(ev) = &f.evidence {
        let _ = writeln!(out, "         evidence: {ev}");
    }
    if !f.impact.is_empty() {
        let _ = writeln!(out, "         impact:   {}", f.impact);
    }
    if !f.remediation.is_empty() {
        let _ = writeln!(out, "         fix:      {}", f.remediation);
    }
}

/// Bytes as a short human figure (`1.5 GiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    match (u, UNITS.get(u)) {
        (0, _) => format!("{n} B"),
        (_, Some(unit)) => format!("{v:.1} {unit}"),
        _ => format!("{n} B"),
    }
}

/// The report as pretty JSON (schema version [`crate::REPORT_SCHEMA_VERSION`]).
pub fn json(report: &Report) -> String {
    // Serialising plain data structs cannot fail; fall back to an error object rather than panic.
    serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\":\"serialisation failed: {e}\"}}"))
}

/// Percent-encode a relative path for a SARIF `artifactLocation.uri` (RFC 3986 path segment
/// characters kept, `/` kept as separator).
fn uri_path(p: &str) -> String {
    let p = p.strip_prefix("./").unwrap_or(p);
    let mut s = String::with_capacity(p.len());
    for b in p.replace('\\', "/").bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b);
        if keep {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

/// A stable fingerprint of a finding, independent of line numbers and run order, so that code
/// scanning can follow an alert across runs.
fn fingerprint(f: &Finding) -> String {
    // FNV-1a 64: tiny, stable across platforms and releases; not a security boundary.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{}|{}|{}|{}",
        f.rule_id,
        f.location.display_path(),
        f.evidence.as_deref().unwrap_or(""),
        f.message
    );
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The report as SARIF 2.1.0, accepted by GitHub code scanning.
pub fn sarif(report: &Report, rules: &[RuleInfo]) -> String {
    let rule_index = |id: &str| rules.iter().position(|r| r.id == id);
    let driver_rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.help},
                "help": {"text": r.help, "markdown": format!("**{}** — {}\n\n{}", r.name, r.summary, r.help)},
                "defaultConfiguration": {"level": r.severity.sarif_level()},
                "properties": {
                    "tags": ["security", "ai-supply-chain"],
                    "security-severity": r.severity.security_score(),
                    "precision": "high",
                    "problem.severity": r.severity.sarif_level(),
                }
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut region = json!({"startLine": 1});
            if let Some(off) = f.location.offset
                && f.location.entry.is_empty()
            {
                region["byteOffset"] = json!(off);
                region["byteLength"] = json!(1);
            }
            let mut text = f.message.clone();
            if !f.location.entry.is_empty() {
                let _ = write!(
                    text,
                    " (in archive member {})",
                    f.location.entry.join(" → ")
                );
            }
            if let Some(ev) = &f.evidence {
                let _ = write!(text, ". Evidence: {ev}");
            }
            if !f.remediation.is_empty() {
                let _ = write!(text, ". Fix: {}", f.remediation);
            }
            let mut loc = json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": uri_path(&f.location.path)},
                    "region": region,
                }
            });
            if !f.location.entry.is_empty() {
                loc["logicalLocations"] = json!([{
                    "fullyQualifiedName": f.location.display_path(),
                    "kind": "member",
                }]);
            }
            let mut r = json!({
                "ruleId": f.rule_id,
                "level": f.severity.sarif_level(),
                "message": {"text": text},
                "locations": [loc],
                "partialFingerprints": {"rampartFinding/v1": fingerprint(f)},
                "properties": {
                    "severity": f.severity.as_str(),
                    "security-severity": f.severity.security_score(),
                    "format": f.format,
                    "occurrences": f.occurrences,
                }
            });
            if let Some(i) = rule_index(&f.rule_id) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(off) = f.location.offset {
                r["properties"]["byteOffset"] = json!(off);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rampart",
                "semanticVersion": report.tool.version,
                "version": report.tool.version,
                "informationUri": "https://github.com/rampart-ai/rampart",
                "rules": driver_rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": report.errors.iter().map(|e| json!({
                    "level": "error",
                    "message": {"text": format!("{}: {}", e.path, e.message)},
                })).collect::<Vec<_>>(),
            }],
        }]
    });
    serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"error\":\"serialisation failed: {e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Report};

    fn sample() -> Report {
        let mut r = Report::new("scan", "0.1.0", vec!["x".into()]);
        let mut f = Finding::new(
            "RS101",
            "pickle-dangerous-callable",
            Severity::Critical,
            Location::file("dir/my model.pkl").at(7),
            "imports os.system",
        );
        f.evidence = Some("os.system('echo hi')".into());
        r.findings.push(f);
        r.finalize();
        r
    }

    #[test]
    fn sarif_has_required_shape() {
        let rules = [RuleInfo {
            id: "RS101",
            name: "pickle-dangerous-callable",
            severity: Severity::Critical,
            summary: "s",
            help: "h",
        }];
        let v: Value = serde_json::from_str(&sarif(&sample(), &rules)).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let res = &v["runs"][0]["results"][0];
        assert_eq!(res["ruleId"], "RS101");
        assert_eq!(res["ruleIndex"], 0);
        assert_eq!(res["level"], "error");
        assert_eq!(
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dir/my%20model.pkl"
        );
        assert_eq!(
            res["locations"][0]["physicalLocation"]["region"]["byteOffset"],
            7
        );
    }

    #[test]
    fn human_mentions_everything() {
        let s = human(&sample(), HumanOptions::default());
        assert!(s.contains("CRITICAL"));
        assert!(s.contains("dir/my model.pkl @ 0x7"));
        assert!(s.contains("os.system('echo hi')"));
        assert!(s.contains("1 findings (1 critical)"));
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
