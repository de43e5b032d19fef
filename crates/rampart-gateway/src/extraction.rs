//! Model-extraction signals per key: systematic querying looks different from an
//! application's traffic. Three signals, each in 0..1, over the key's last 256 prompts:
//!
//! - **volume**: this minute's requests against the key's own baseline (an exponentially
//!   weighted mean of past minutes); 0 at or below 2x the baseline, 1 at 6x.
//! - **templated**: share of prompts that are near-duplicates of an earlier one (SimHash over
//!   word 3-grams, Hamming distance <= 6) or share its skeleton (digits and numbers replaced):
//!   a sweep over one template.
//! - **breadth**: share of word 3-grams never seen before in the window: an exploration of the
//!   input space (extraction by diverse synthetic queries) keeps this high while an
//!   application's traffic repeats itself.
//!
//! score = volume-weighted maximum of templated and breadth (both need volume to matter:
//! a burst of diverse questions from a new key is not extraction; sustained high volume with
//! either pattern is). Scores above the configured alert raise an audit event and, with
//! `throttle = true`, cut the key's request rate.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hasher;
use std::sync::Mutex;

const WINDOW: usize = 256;
const MAX_GRAMS: usize = 50_000;

/// The signals of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Signals {
    /// Volume against baseline (0..1).
    pub volume: f64,
    /// Templated / near-duplicate share (0..1).
    pub templated: f64,
    /// Breadth of the input space (0..1).
    pub breadth: f64,
    /// Combined score (0..1).
    pub score: f64,
}

#[derive(Default)]
struct KeyState {
    minute: u64,
    this_minute: u64,
    baseline: f64,
    minutes_seen: u64,
    recent: VecDeque<(u64, u64, bool, f64)>,
    grams: GramSet,
    gram_order: VecDeque<u64>,
}

/// Signals of all keys.
#[derive(Default)]
pub struct Tracker {
    keys: Mutex<HashMap<String, KeyState>>,
}

/// FNV-1a then a 64-bit finaliser: fast, and these hashes only feed statistics (a collision
/// costs nothing but a slightly wrong signal), so a keyed hash is not needed.
fn h64(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h = (h ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The grams are hashes already: the set uses them as they are.
#[derive(Default, Clone, Copy)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 << 8) ^ u64::from(x);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type GramSet = HashSet<u64, std::hash::BuildHasherDefault<Identity>>;

fn simhash(grams: &[u64]) -> u64 {
    // Branch-free per-bit counts (vectorised by the compiler); callers pass at most 255 grams.
    let mut counts = [0u8; 64];
    for g in grams.iter().take(255) {
        for (i, c) in counts.iter_mut().enumerate() {
            *c += ((g >> i) & 1) as u8;
        }
    }
    let n = grams.len().min(255);
    counts.iter().enumerate().fold(0u64, |acc, (i, &c)| {
        if usize::from(c) * 2 > n {
            acc | (1 << i)
        } else {
            acc
        }
    })
}

/// Hash of the lower-cased text with every run of digits replaced by one `0`.
fn skeleton(lower: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut last_digit = false;
    for &b in lower.as_bytes().iter().take(16_384) {
        let d = b.is_ascii_digit();
        if d && last_digit {
            continue;
        }
        last_digit = d;
        h = (h ^ u64::from(if d { b'0' } else { b })).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

impl Tracker {
    /// Observe one prompt of `key` at `minute`; returns its signals.
    pub fn observe(&self, key: &str, text: &str, minute: u64) -> Signals {
        let Ok(mut map) = self.keys.lock() else {
            return Signals::default();
        };
        if map.len() > 100_000 && !map.contains_key(key) {
            map.clear();
        }
        let st = map.entry(key.to_string()).or_default();
        if st.minute != minute {
            // Fold finished minutes (and idle ones, as zeros) into the baseline.
            let gap = minute.saturating_sub(st.minute).min(60);
            if st.minute != 0 {
                for i in 0..gap {
                    let x = if i == 0 { st.this_minute as f64 } else { 0.0 };
                    st.baseline = if st.minutes_seen == 0 {
                        x
                    } else {
                        0.9 * st.baseline + 0.1 * x
                    };
                    st.minutes_seen += 1;
                }
            }
            st.minute = minute;
            st.this_minute = 0;
        }
        st.this_minute += 1;

        let lower = if text.is_ascii() {
            text.to_ascii_lowercase()
        } else {
            text.to_lowercase()
        };
        // The first 512 words say what kind of prompt this is; the rest adds cost, not signal.
        let words: Vec<u64> = if lower.is_ascii() {
            lower
                .as_bytes()
                .split(|b| !b.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(512)
                .map(h64)
                .collect()
        } else {
            lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .take(512)
                .map(|w| h64(w.as_bytes()))
                .collect()
        };
        let grams: Vec<u64> = if words.len() < 3 {
            vec![mix(words
                .iter()
                .fold(0x9e37_79b9, |a, w| a.rotate_left(21) ^ w))]
        } else {
            words
                .windows(3)
                .map(|g| mix(g[0] ^ g[1].rotate_left(21) ^ g[2].rotate_left(42)))
                .collect()
        };
        let sh = simhash(&grams[..grams.len().min(128)]);
        let sk = skeleton(&lower);
        let dup = st
            .recent
            .iter()
            .any(|(h, k, _, _)| (h ^ sh).count_ones() <= 6 || *k == sk);
        let new = grams.iter().filter(|g| !st.grams.contains(g)).count();
        let novelty = if grams.is_empty() {
            0.0
        } else {
            new as f64 / grams.len() as f64
        };
        for g in grams {
            if st.grams.insert(g) {
                st.gram_order.push_back(g);
                if st.gram_order.len() > MAX_GRAMS
                    && let Some(old) = st.gram_order.pop_front()
                {
                    st.grams.remove(&old);
                }
            }
        }
        st.recent.push_back((sh, sk, dup, novelty));
        if st.recent.len() > WINDOW {
            st.recent.pop_front();
        }
        let n = st.recent.len() as f64;
        let templated = st.recent.iter().filter(|r| r.2).count() as f64 / n;
        let breadth = st.recent.iter().map(|r| r.3).sum::<f64>() / n;
        let base = if st.minutes_seen < 5 {
            st.baseline.max(30.0)
        } else {
            st.baseline.max(5.0)
        };
        let ratio = st.this_minute as f64 / base;
        let volume = ((ratio - 2.0) / 4.0).clamp(0.0, 1.0);
        // Few prompts say little: the pattern signals count fully from 32 prompts on.
        let confidence = (n / 32.0).min(1.0);
        let pattern = templated.max(breadth) * confidence;
        let score =
            (pattern * (0.5 + 0.5 * volume)).clamp(0.0, 1.0) * if volume > 0.0 { 1.0 } else { 0.8 };
        Signals {
            volume,
            templated,
            breadth,
            score,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_sweep_scores_high_and_ordinary_traffic_low() {
        let t = Tracker::default();
        let mut s = Signals::default();
        for i in 0..200 {
            s = t.observe(
                "sweep",
                &format!(
                    "Classify the sentiment of review number {i}: the product is {}",
                    i * 7
                ),
                1000,
            );
        }
        assert!(
            s.templated > 0.9 && s.volume > 0.5 && s.score > 0.8,
            "{s:?}"
        );
        let chat = [
            "How do I reset my password?",
            "What are your opening hours?",
            "How do I reset my password?",
            "Can I change my delivery address?",
        ];
        for m in 0..20u64 {
            for q in chat {
                s = t.observe("app", q, 2000 + m);
            }
        }
        assert!(s.score < 0.8, "{s:?}");
    }
}
