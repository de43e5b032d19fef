//! Secrets: the rule families of gitleaks and detect-secrets — cloud provider keys, VCS and
//! SaaS tokens, JWTs, private key blocks, connection strings with passwords, and high-entropy
//! values assigned to secret-sounding names.

use crate::text::entropy;
use crate::{Detector, Finding, finding};
use regex::Regex;
use std::sync::LazyLock;

/// A rule: the type it reports, its name, the pattern (capture group 1 is the secret when
/// present) and a validator of the captured value.
struct Rule {
    kind: &'static str,
    name: &'static str,
    re: Regex,
    valid: fn(&str) -> bool,
}

/// Provider-format tokens: anything but a template placeholder (`AKIAXXXXXXXXXXXXXXXX`).
fn any(s: &str) -> bool {
    !placeholder(s)
}

fn mixed(s: &str) -> bool {
    let classes = [
        s.bytes().any(|b| b.is_ascii_lowercase()),
        s.bytes().any(|b| b.is_ascii_uppercase()),
        s.bytes().any(|b| b.is_ascii_digit()),
    ];
    classes.iter().filter(|x| **x).count() >= 2
}

fn random_looking(s: &str) -> bool {
    mixed(s) && entropy(s) >= 3.5 && !placeholder(s)
}

/// Values people write in examples and templates.
fn placeholder(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "xxxx",
        "****",
        "changeme",
        "change_me",
        "your",
        "placeholder",
        "dummy",
        "sample",
        "redacted",
        "<",
        "${",
        "{{",
        "%(",
        "todo",
        "secret_here",
        "password1",
    ];
    WORDS.iter().any(|w| l.contains(w)) || s.chars().all(|c| c == s.chars().next().unwrap_or(c))
}

fn jwt(s: &str) -> bool {
    use base64::Engine;
    let head = s.split('.').next().unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v.get("alg").is_some() || v.get("typ").is_some())
}

fn rule(kind: &'static str, name: &'static str, re: &str, valid: fn(&str) -> bool) -> Option<Rule> {
    Regex::new(re).ok().map(|re| Rule {
        kind,
        name,
        re,
        valid,
    })
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        rule("AWS_ACCESS_KEY_ID", "aws-access-key-id", r"\b((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16})\b", any),
        rule(
            "AWS_SECRET_ACCESS_KEY",
            "aws-secret-access-key",
            r#"(?i)(?:aws|amazon)[\w\-. ]{0,30}?(?:secret|private)?[\w\-. ]{0,20}?(?:key|token)?["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            random_looking,
        ),
        rule("GITHUB_TOKEN", "github-token", r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,251})\b", any),
        rule("GITHUB_TOKEN", "github-fine-grained-pat", r"\b(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b", any),
        rule("GITLAB_TOKEN", "gitlab-pat", r"\b(glpat-[A-Za-z0-9_\-]{20,})\b", any),
        rule("SLACK_TOKEN", "slack-token", r"\b(xox[abposr]-[A-Za-z0-9-]{10,250})\b", any),
        rule("SLACK_WEBHOOK", "slack-webhook", r"(https://hooks\.slack\.com/services/T[A-Za-z0-9_]{8,}/B[A-Za-z0-9_]{8,}/[A-Za-z0-9_]{20,})", any),
        rule("STRIPE_KEY", "stripe-key", r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247})\b", any),
        rule("GOOGLE_API_KEY", "gcp-api-key", r"\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)", any),
        rule("GCP_SERVICE_ACCOUNT", "gcp-service-account", r#""type"\s*:\s*"service_account"[^}]{0,2000}?"private_key"\s*:\s*"(-----BEGIN[^"]{20,}?)""#, any),
        rule("OPENAI_API_KEY", "openai-api-key", r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})", any),
        rule("OPENAI_API_KEY", "openai-project-key", r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,})", any),
        rule("ANTHROPIC_API_KEY", "anthropic-api-key", r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,})", any),
        rule("HUGGINGFACE_TOKEN", "huggingface-token", r"\b(hf_[A-Za-z]{34})\b", any),
        rule("NPM_TOKEN", "npm-token", r"\b(npm_[A-Za-z0-9]{36})\b", any),
        rule("PYPI_TOKEN", "pypi-token", r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", any),
        rule("SENDGRID_API_KEY", "sendgrid", r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})\b", any),
        rule("TWILIO_API_KEY", "twilio", r"\b(SK[0-9a-f]{32})\b", any),
        rule("AZURE_STORAGE_KEY", "azure-storage-key", r"AccountKey=([A-Za-z0-9+/]{86}==)", any),
        rule("JWT", "jwt", r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})", jwt),
        rule(
            "PRIVATE_KEY",
            "private-key-block",
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]+?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)",
            any,
        ),
        rule(
            "CONNECTION_STRING",
            "uri-with-password",
            r"\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|ftp|sftp|ldaps?)://[^\s:/@]{1,128}:[^\s@/]{3,256}@[^\s/?#]{1,253}[^\s]*)",
            |s| {
                let pw = s.split("://").nth(1).and_then(|r| r.split('@').next()).and_then(|r| r.split(':').nth(1)).unwrap_or("");
                !placeholder(pw)
            },
        ),
        rule(
            "SECRET",
            "assigned-high-entropy",
            r#"(?i)(?:api[_\-]?key|apikey|secret|token|passwd|password|pwd|auth|credential|access[_\-]?key)[\w\-]{0,20}["']?\s*(?:[:=]|=>|:=)\s*["']?([A-Za-z0-9_\-+/=.!@#$%^&*~]{12,200})"#,
            random_looking,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Compiles this module's expressions now rather than on first use (see [`crate::warm_up`]).
pub(crate) fn warm() {
    LazyLock::force(&RULES);
}

/// Whether [`warm`] (or a first use) has compiled this module's expressions.
pub(crate) fn compiled() -> bool {
    LazyLock::get(&RULES).is_some()
}

/// Secrets in `t` (byte ranges).
pub fn find(t: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in RULES.iter() {
        for c in r.re.captures_iter(t) {
            let Some(m) = c.get(1).or_else(|| c.get(0)) else {
                continue;
            };
            if (r.valid)(m.as_str()) {
                out.push(finding(
                    r.kind,
                    Detector::Secrets,
                    r.name,
                    (m.start(), m.end()),
                ));
            }
        }
    }
    out
}

/// Number of rules (for documentation and tests).
pub fn rule_count() -> usize {
    RULES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<&'static str> {
        crate::Guards::default()
            .check(t, &[Detector::Secrets])
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn every_rule_compiles() {
        assert_eq!(rule_count(), 23);
    }

    #[test]
    fn cloud_and_vcs_tokens() {
        assert_eq!(
            kinds("key AKIAQ3EGRQWX7ZYPAB2D here"),
            ["AWS_ACCESS_KEY_ID"]
        );
        assert_eq!(
            kinds("aws_secret_access_key = Q9b2Xk7LmN4pR8sT1vW3yZ6aC0dF5gH2jK9lM1nP"),
            ["AWS_SECRET_ACCESS_KEY"]
        );
        assert_eq!(
            kinds("ghp_R8sT1vW3yZ6aC0dF5gH2jK9lM1nPq4Rs7Tu0"),
            ["GITHUB_TOKEN"]
        );
        assert_eq!(kinds("token: glpat-Ab3dE6gH9jK2mN5pQ8sT"), ["GITLAB_TOKEN"]);
        assert_eq!(
            kinds("hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
            ["HUGGINGFACE_TOKEN"]
        );
        assert_eq!(kinds("sk_live_51HqZ2kL9mN4pR8sT1vW3yZ6a"), ["STRIPE_KEY"]);
    }

    #[test]
    fn structured_secrets() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(kinds(jwt), ["JWT"]);
        // Three base64 parts whose head is not a JWT header: not a JWT.
        assert!(
            kinds("eyJub3RhIjoiand0In0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmN").is_empty()
        );
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
        assert_eq!(kinds(pem), ["PRIVATE_KEY"]);
        assert_eq!(
            kinds("mongodb+srv://svc:Xk7Lm9Qp2@cluster0.example.net/db"),
            ["CONNECTION_STRING"]
        );
        assert!(kinds("postgres://user:changeme@localhost/db").is_empty());
    }

    #[test]
    fn assignments_need_entropy() {
        assert_eq!(kinds("API_KEY=9fK2xL7qM4nP8rS1tV5w"), ["SECRET"]);
        assert!(kinds("password = \"your_password_here\"").is_empty());
        assert!(kinds("token: xxxxxxxxxxxxxxxxxxxx").is_empty());
        assert!(kinds("the secret is that we all like cake").is_empty());
    }
}
