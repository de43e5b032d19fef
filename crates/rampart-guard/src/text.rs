//! Offsets and small text measures.

use crate::Finding;
use unicode_normalization::UnicodeNormalization;

/// Format characters that render as nothing: zero-width spaces and joiners, bidi controls,
/// word joiners, the byte-order mark, soft hyphens, tag characters.
pub(crate) fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
        || ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Characters a sanitiser removes from a prompt: [`invisible`] ones less the zero-width
/// joiner and non-joiner (emoji sequences and Persian or Indic text need them), plus the
/// variation selectors of the supplement (U+E0100–E01EF, no font uses them for text; they
/// carry bytes in "emoji smuggling"). The ordinary selectors U+FE00–FE0F stay.
pub fn strippable(c: char) -> bool {
    (invisible(c) && !matches!(c, '\u{200C}' | '\u{200D}'))
        || ('\u{E0100}'..='\u{E01EF}').contains(&c)
}

/// Byte ranges of the runs of [`strippable`] characters in `t`.
pub fn strippable_runs(t: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, c) in t.char_indices().filter(|(_, c)| strippable(*c)) {
        let end = i + c.len_utf8();
        match out.last_mut() {
            Some(last) if last.1 == i => last.1 = end,
            _ => out.push((i, end)),
        }
    }
    out
}

/// What detectors read in place of a text that is not plain ASCII: each character folded on
/// its own by NFKC (fullwidth digits and `＠`, no-break and other spaces), Unicode dashes
/// as `-`, invisible format characters dropped — so a key split by a zero-width space or a
/// card number in fullwidth digits is still found. Every byte of the view knows the
/// character of the original it came from, so findings map back to the original text.
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// For each byte of `text`, the byte offset in the original of its character.
    origin: Vec<u32>,
}

impl Folded {
    /// The folded view of `t`, or `None` when `t` is ASCII (nothing to fold).
    pub fn new(t: &str) -> Option<Folded> {
        if t.is_ascii() || t.len() > u32::MAX as usize {
            return None;
        }
        let mut text = String::with_capacity(t.len());
        let mut origin = Vec::with_capacity(t.len());
        for (i, c) in t.char_indices() {
            if invisible(c) {
                continue;
            }
            let before = text.len();
            for f in std::iter::once(c).nfkc() {
                text.push(match f {
                    '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
                    _ => f,
                });
            }
            origin.resize(origin.len() + (text.len() - before), i as u32);
        }
        Some(Folded { text, origin })
    }

    /// The range of the original `t` that view range `r` came from, whole characters.
    pub fn original(&self, t: &str, r: (usize, usize)) -> (usize, usize) {
        let start = self.origin.get(r.0).map_or(t.len(), |&o| o as usize);
        let end =
            r.1.checked_sub(1)
                .and_then(|last| self.origin.get(last))
                .map_or(start, |&o| {
                    let o = o as usize;
                    o + t
                        .get(o..)
                        .and_then(|s| s.chars().next())
                        .map_or(0, char::len_utf8)
                });
        (start, end.max(start))
    }
}

/// The largest char boundary at or below `max`.
pub fn floor_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Number of Unicode scalar values.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Turn the byte ranges of `fs` (sorted by start) into char offsets in one sweep.
pub fn fill_char_offsets(s: &str, fs: &mut [Finding]) {
    let mut points: Vec<(usize, usize, bool)> = Vec::with_capacity(fs.len() * 2);
    for (i, f) in fs.iter().enumerate() {
        points.push((f.bytes.0, i, true));
        points.push((f.bytes.1, i, false));
    }
    points.sort_unstable();
    let mut chars = 0usize;
    let mut byte = 0usize;
    let mut it = s.char_indices().peekable();
    for (target, i, start) in points {
        while byte < target {
            match it.next() {
                Some((_, c)) => {
                    byte += c.len_utf8();
                    chars += 1;
                }
                None => break,
            }
        }
        if let Some(f) = fs.get_mut(i) {
            if start {
                f.start_char = chars;
            } else {
                f.end_char = chars;
            }
        }
    }
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// Decode `%XX` escapes and `+` (as in query strings); invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|x| (*x as char).to_digit(16)),
                b.get(i + 2).and_then(|x| (*x as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(if c == b'+' { b' ' } else { c });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strippable_runs_keep_joiners_and_emoji_selectors() {
        let t = "a\u{200B}\u{E0041}\u{E0042}b \u{1F468}\u{200D}\u{1F469} \u{2764}\u{FE0F} c\u{E0100}d\u{202E}";
        let runs = strippable_runs(t);
        let removed: String = runs.iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(removed, "\u{200B}\u{E0041}\u{E0042}\u{E0100}\u{202E}");
        assert_eq!(runs.len(), 3);
        assert!(strippable_runs("plain text, 👍🏽 and ❤️").is_empty());
    }

    #[test]
    fn folded_view_maps_back_to_whole_characters() {
        assert!(Folded::new("plain ascii").is_none());
        let t = "key AKIA\u{200B}Q3EG card \u{FF14}\u{FF11} a\u{00A0}b x\u{2011}y";
        let f = Folded::new(t).unwrap();
        assert_eq!(f.text, "key AKIAQ3EG card 41 a b x-y");
        let s = f.text.find("AKIAQ3EG").unwrap();
        let (a, b) = f.original(t, (s, s + 8));
        assert_eq!(&t[a..b], "AKIA\u{200B}Q3EG");
        let s = f.text.find("41").unwrap();
        let (a, b) = f.original(t, (s, s + 2));
        assert_eq!(&t[a..b], "\u{FF14}\u{FF11}");
        // A character that folds to several ("ﬁ" → "fi"): part of it maps to all of it.
        let t = "\u{FB01}le";
        let f = Folded::new(t).unwrap();
        assert_eq!(f.text, "file");
        assert_eq!(f.original(t, (1, 4)), (0, t.len()));
        assert_eq!(f.original(t, (4, 4)), (t.len(), t.len()));
    }

    #[test]
    fn measures() {
        assert_eq!(floor_boundary("aé", 2), 1);
        assert_eq!(char_len("aé😀"), 3);
        assert!(entropy("aaaa") < 0.01);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
        assert_eq!(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
    }
}
