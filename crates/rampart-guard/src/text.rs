//! Offsets and small text measures.

use crate::Finding;

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
    fn measures() {
        assert_eq!(floor_boundary("aé", 2), 1);
        assert_eq!(char_len("aé😀"), 3);
        assert!(entropy("aaaa") < 0.01);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
        assert_eq!(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
    }
}
