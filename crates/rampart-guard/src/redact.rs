//! Rewriting text at findings: redact (`[EMAIL]`), mask (`****1234`), hash
//! (`[EMAIL:1a2b3c4d]`, keyed so that hashes cannot be reversed by guessing) or pseudonymise
//! (`EMAIL_1`, with a per-request [`Vault`] that restores the originals in the answer).

use crate::Finding;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What to put in place of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `[TYPE]`.
    Redact,
    /// Keep the last four characters, mask the rest with `*`.
    Mask,
    /// `[TYPE:first 8 hex of SHA-256(key ‖ value)]`.
    Hash,
    /// `TYPE_n`, reversible with the vault.
    Pseudonymize,
}

impl Action {
    /// Parse a name.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "redact" => Action::Redact,
            "mask" => Action::Mask,
            "hash" => Action::Hash,
            "pseudonymize" | "pseudonymise" => Action::Pseudonymize,
            _ => return None,
        })
    }
}

/// Pseudonyms of one request: the same value gets the same pseudonym; [`Vault::restore`] puts
/// the originals back into a model's answer. Lives only as long as the request.
#[derive(Debug, Default)]
pub struct Vault {
    by_value: BTreeMap<String, String>,
    by_token: BTreeMap<String, String>,
    counters: BTreeMap<&'static str, usize>,
}

impl Vault {
    fn token(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(t) = self.by_value.get(value) {
            return t.clone();
        }
        let n = self.counters.entry(kind).or_default();
        *n += 1;
        let t = format!("{kind}_{n}");
        self.by_value.insert(value.to_string(), t.clone());
        self.by_token.insert(t.clone(), value.to_string());
        t
    }

    /// Replace every pseudonym in `text` by its original (longest tokens first, so `EMAIL_10`
    /// is not read as `EMAIL_1` followed by `0`).
    pub fn restore(&self, text: &str) -> String {
        let mut tokens: Vec<(&String, &String)> = self.by_token.iter().collect();
        tokens.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        let mut out = text.to_string();
        for (t, v) in tokens {
            out = out.replace(t.as_str(), v);
        }
        out
    }

    /// Number of distinct values held.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

/// The finding type of [`crate::text::strippable_runs`]: redacting it removes the run.
pub const INVISIBLE_TEXT: &str = "INVISIBLE_TEXT";

/// `text` with every finding replaced (findings must come from the same text; overlapping
/// ones are skipped after the first).
pub fn apply(
    text: &str,
    findings: &[Finding],
    action: Action,
    key: &[u8],
    vault: &mut Vault,
) -> String {
    let mut fs: Vec<&Finding> = findings.iter().filter(|f| f.bytes.0 < f.bytes.1).collect();
    fs.sort_by_key(|f| f.bytes.0);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in fs {
        let (s, e) = f.bytes;
        if s < at {
            continue;
        }
        let (Some(before), Some(value)) = (text.get(at..s), text.get(s..e)) else {
            continue;
        };
        out.push_str(before);
        match action {
            // Invisible characters are removed, not labelled: a label would put visible
            // text where the user saw none.
            Action::Redact if f.kind == INVISIBLE_TEXT => {}
            Action::Redact => out.push_str(&format!("[{}]", f.kind)),
            Action::Mask => {
                let n = value.chars().count();
                let keep = if n > 8 { 4 } else { 0 };
                out.extend(std::iter::repeat_n('*', n - keep));
                out.extend(value.chars().skip(n - keep));
            }
            Action::Hash => {
                let mut h = Sha256::new();
                h.update(key);
                h.update(value.as_bytes());
                let d = hex::encode(h.finalize());
                out.push_str(&format!("[{}:{}]", f.kind, d.get(..8).unwrap_or(&d)));
            }
            Action::Pseudonymize => out.push_str(&vault.token(f.kind, value)),
        }
        at = e;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Detector, Guards};

    #[test]
    fn actions() {
        let t = "mail alice@example.com or alice@example.com, card 4111 1111 1111 1111";
        let f = Guards::default().check(t, &[Detector::Pii]);
        let mut v = Vault::default();
        assert_eq!(
            apply(t, &f, Action::Redact, b"k", &mut v),
            "mail [EMAIL] or [EMAIL], card [CREDIT_CARD]"
        );
        assert_eq!(
            apply(t, &f, Action::Mask, b"k", &mut v),
            "mail *************.com or *************.com, card ***************1111"
        );
        let h1 = apply(t, &f, Action::Hash, b"k1", &mut v);
        let h2 = apply(t, &f, Action::Hash, b"k2", &mut v);
        assert!(
            h1.starts_with("mail [EMAIL:") && h1 != h2,
            "keyed: {h1} {h2}"
        );
        let p = apply(t, &f, Action::Pseudonymize, b"k", &mut v);
        assert_eq!(p, "mail EMAIL_1 or EMAIL_1, card CREDIT_CARD_1");
        assert_eq!(v.len(), 2);
        assert_eq!(
            v.restore("I wrote to EMAIL_1."),
            "I wrote to alice@example.com."
        );
    }
}
