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
use std::hash::{Hash, Hasher};
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
    grams: HashSet<u64>,
    gram_order: VecDeque<u64>,
}

/// Signals of all keys.
#[derive(Default)]
pub struct Tracker {
    keys: Mutex<HashMap<String, KeyState>>,
}

fn h64<T: Hash>(t: T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn simhash(grams: &[u64]) -> u64 {
    let mut v = [0i32; 64];
    for g in grams {
        for (i, slot) in v.iter_mut().enumerate() {
            *slot += if (g >> i) & 1 == 1 { 1 } else { -1 };
        }
    }
    v.iter().enumerate().fold(
        0u64,
        |acc, (i, &x)| if x > 0 { acc | (1 << i) } else { acc },
    )
}

fn skeleton(text: &str) -> u64 {
    let mut s = String::with_capacity(text.len().min(4096));
    let mut last_digit = false;
    for c in text.chars().take(4096) {
        if c.is_ascii_digit() {
            if !last_digit {
                s.push('0');
            }
            last_digit = true;
        } else {
            s.extend(c.to_lowercase());
            last_digit = false;
        }
    }
    h64(s)
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

        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(2048)
            .collect();
        let grams: Vec<u64> = if words.len() < 3 {
            vec![h64(&words)]
        } else {
            words.windows(3).map(h64).collect()
        };
        let sh = simhash(&grams);
        let sk = skeleton(text);
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
