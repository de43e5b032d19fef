//! Personal data: e-mail addresses, phone numbers (validated against numbering-plan metadata,
//! not any run of digits), payment cards (Luhn and issuer ranges), IBANs (length per country
//! and mod-97), IP addresses, and national identifiers with their check rules (US SSN, UK
//! National Insurance number, Spanish DNI/NIE here; twenty-two more in `national_ids`).

use crate::{Detector, Finding, finding};
use regex::Regex;
use std::sync::LazyLock;

fn re(s: &str) -> Option<Regex> {
    Regex::new(s).ok()
}

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b[a-z0-9][a-z0-9._%+\-]{0,63}@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
    )
});
static CARD: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\b(?:\d[ \-]?){12,18}\d\b"));
static IBAN: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"));
static IPV4: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"));
static IPV6: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)(?:^|[^0-9a-f:])((?:[0-9a-f]{1,4}:){1,7}(?::|[0-9a-f]{1,4})(?::[0-9a-f]{1,4}){0,6})")
});
static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\b(\d{3})-(\d{2})-(\d{4})\b"));
static NINO: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\b([A-CEGHJ-PR-TW-Z]{2}) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"));
static DNI: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\b([XYZ]?)(\d{7,8})-?([A-Z])\b"));
static PHONE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?:\+|\b00)?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{1,5}\)?){1,5}[ .\-]?\d{2,5}\b"));

/// Every expression of this module, for [`warm`] and [`compiled`].
static ALL: [&LazyLock<Option<Regex>>; 9] = [
    &EMAIL, &CARD, &IBAN, &IPV4, &IPV6, &SSN, &NINO, &DNI, &PHONE,
];

/// Compiles this module's expressions now rather than on first use (see [`crate::warm_up`]).
pub(crate) fn warm() {
    ALL.into_iter().for_each(|re| {
        LazyLock::force(re);
    });
    crate::national_ids::warm();
}

/// Whether [`warm`] (or a first use) has compiled this module's expressions.
pub(crate) fn compiled() -> bool {
    ALL.into_iter().all(|re| LazyLock::get(re).is_some()) && crate::national_ids::compiled()
}

/// Luhn checksum.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// Whether a card number's prefix and length belong to an issuer in use.
pub fn card_issuer(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let prefix = |k: usize| d.iter().take(k).fold(0u32, |a, x| a * 10 + u32::from(*x));
    let (p2, p3, p4, p6) = (prefix(2), prefix(3), prefix(4), prefix(6));
    Some(match () {
        _ if d.first() == Some(&4) && matches!(n, 13 | 16 | 19) => "visa",
        _ if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16 => "mastercard",
        _ if (p2 == 34 || p2 == 37) && n == 15 => "amex",
        _ if (p4 == 6011
            || (644..=649).contains(&p3)
            || p2 == 65
            || (622_126..=622_925).contains(&p6))
            && (16..=19).contains(&n) =>
        {
            "discover"
        }
        _ if (3528..=3589).contains(&p4) && (16..=19).contains(&n) => "jcb",
        _ if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39)
            && (14..=19).contains(&n) =>
        {
            "diners"
        }
        _ if (2200..=2204).contains(&p4) && (16..=19).contains(&n) => "mir",
        _ if p2 == 62 && (16..=19).contains(&n) => "unionpay",
        _ if (p2 == 50 || (56..=69).contains(&p2)) && (12..=19).contains(&n) => "maestro",
        _ => return None,
    })
}

/// IBAN lengths by country (ISO 13616 registry).
fn iban_len(cc: &str) -> Option<usize> {
    const T: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BI", 27),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DJ", 27),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FK", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("LY", 25),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MN", 20),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NI", 28),
        ("NL", 18),
        ("NO", 15),
        ("OM", 23),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("RU", 33),
        ("SA", 24),
        ("SC", 31),
        ("SD", 18),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("SO", 23),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
        ("YE", 30),
    ];
    T.iter().find(|(c, _)| *c == cc).map(|(_, n)| *n)
}

/// ISO 13616 mod-97 check of a compact IBAN.
pub fn iban_valid(compact: &str) -> bool {
    let Some(cc) = compact.get(..2) else {
        return false;
    };
    if iban_len(cc) != Some(compact.len()) {
        return false;
    }
    let rotated = compact
        .get(4..)
        .unwrap_or("")
        .chars()
        .chain(compact.chars().take(4));
    let mut rem = 0u32;
    for c in rotated {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    let a: u32 = area.parse().unwrap_or(0);
    a != 0 && a != 666 && a < 900 && group != "00" && serial != "0000"
}

fn nino_valid(prefix: &str) -> bool {
    !matches!(prefix, "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ") && !prefix.ends_with('O')
}

fn dni_valid(nie: &str, num: &str, letter: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let prefix = match nie {
        "" => "",
        "X" => "0",
        "Y" => "1",
        "Z" => "2",
        _ => return false,
    };
    if nie.is_empty() && num.len() != 8 || !nie.is_empty() && num.len() != 7 {
        return false;
    }
    let Ok(n) = format!("{prefix}{num}").parse::<u64>() else {
        return false;
    };
    usize::try_from(n % 23)
        .ok()
        .and_then(|i| LETTERS.get(i))
        .is_some_and(|l| letter.as_bytes().first() == Some(l))
}

/// Whether a candidate is a valid phone number: with a `+`/`00` country code, valid for that
/// country; otherwise valid in one of the common national formats (US/NANP, UK, DE, FR, IN).
fn phone_valid(s: &str) -> bool {
    use phonenumber::country::Id;
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) || s.len() > 32 {
        return false;
    }
    let intl = s.starts_with('+') || s.starts_with("00");
    // A bare run of digits is an order, account or reference number far more often than a
    // phone number written without any grouping.
    if !intl && s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // NANP 555-0100..0199 is reserved for fiction.
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    let nanp = d.strip_prefix('1').unwrap_or(&d);
    if nanp.len() == 10 && nanp.get(3..8) == Some("55501") {
        return false;
    }
    let s = if let Some(r) = s.strip_prefix("00") {
        format!("+{r}")
    } else {
        s.to_string()
    };
    // National formats: with a trunk prefix 0 (UK, Germany, France, India), else NANP, which
    // is written 3-3-4 (with an optional leading 1).
    let regions: &[Option<Id>] = if intl {
        &[None]
    } else if s.trim_start_matches('(').starts_with('0') {
        &[Some(Id::GB), Some(Id::DE), Some(Id::FR), Some(Id::IN)]
    } else {
        let groups: Vec<usize> = s
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .map(str::len)
            .collect();
        if !matches!(groups.as_slice(), [3, 3, 4] | [1, 3, 3, 4] | [3, 7]) {
            return false;
        }
        &[Some(Id::US)]
    };
    regions.iter().any(|r| {
        phonenumber::parse(*r, &s)
            .ok()
            .is_some_and(|n| phonenumber::is_valid(&n))
    })
}

/// Dates and version-like numbers that phone patterns would otherwise pick up.
fn looks_like_date_or_version(s: &str) -> bool {
    let parts: Vec<&str> = s
        .split(['-', '.', '/', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    let year_first = parts
        .first()
        .is_some_and(|p| p.len() == 4 && (p.starts_with("19") || p.starts_with("20")));
    let year_last = parts
        .last()
        .is_some_and(|p| p.len() == 4 && (p.starts_with("19") || p.starts_with("20")));
    (parts.len() == 3 && (year_first || year_last) && !s.contains(' '))
        || (s.contains('.')
            && !s.contains(' ')
            && parts.len() >= 3
            && parts.iter().all(|p| p.len() <= 3))
}

/// Personal data in `t` (byte ranges).
pub fn find(t: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |kind, rule, r| out.push(finding(kind, Detector::Pii, rule, r));
    // A national identifier named just before it ("身份证号 3875…") comes first, so that where
    // it also reads as a card or phone number of the same length, the name decides.
    let ids = crate::national_ids::find(t);
    for (kind, rule, r, _) in ids.iter().filter(|h| h.3) {
        push(kind, rule, *r);
    }
    if let Some(re) = EMAIL.as_ref() {
        for m in re.find_iter(t) {
            push("EMAIL", "email", (m.start(), m.end()));
        }
    }
    if let Some(re) = CARD.as_ref() {
        for m in re.find_iter(t) {
            let s = m.as_str();
            let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
            // One kind of separator, if any.
            if seps.windows(2).any(|w| w.first() != w.get(1)) {
                continue;
            }
            let d: Vec<u8> = s
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect();
            if luhn(&d) && card_issuer(&d).is_some() {
                push("CREDIT_CARD", "card-luhn-issuer", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = IBAN.as_ref() {
        for m in re.find_iter(t) {
            let compact: String = m.as_str().chars().filter(|c| *c != ' ').collect();
            if iban_valid(&compact) {
                push("IBAN", "iban-mod97", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = IPV4.as_ref() {
        for m in re.find_iter(t) {
            let before = t.get(..m.start()).unwrap_or("");
            let versiony =
                before.ends_with('v') || before.to_ascii_lowercase().ends_with("version ");
            let after = t.get(m.end()..).unwrap_or("");
            // Part of a longer dotted number (an OID, a version) is not an address.
            let dotted = after.starts_with('.')
                && after
                    .get(1..2)
                    .is_some_and(|c| c.chars().all(|c| c.is_ascii_digit()))
                || before.ends_with('.');
            if !versiony && !dotted && m.as_str().parse::<std::net::Ipv4Addr>().is_ok() {
                push("IP_ADDRESS", "ipv4", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = IPV6.as_ref() {
        for c in re.captures_iter(t) {
            if let Some(m) = c.get(1)
                && m.as_str().matches(':').count() >= 2
                && m.as_str().bytes().filter(u8::is_ascii_hexdigit).count() >= 4
                && m.as_str().parse::<std::net::Ipv6Addr>().is_ok()
            {
                push("IP_ADDRESS", "ipv6", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = SSN.as_ref() {
        for c in re.captures_iter(t) {
            if let (Some(m), Some(a), Some(g), Some(s)) = (c.get(0), c.get(1), c.get(2), c.get(3))
                && ssn_valid(a.as_str(), g.as_str(), s.as_str())
            {
                push("US_SSN", "us-ssn", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = NINO.as_ref() {
        for c in re.captures_iter(t) {
            if let (Some(m), Some(p)) = (c.get(0), c.get(1))
                && nino_valid(p.as_str())
            {
                push("UK_NINO", "uk-nino", (m.start(), m.end()));
            }
        }
    }
    if let Some(re) = DNI.as_ref() {
        for c in re.captures_iter(t) {
            if let (Some(m), Some(x), Some(n), Some(l)) = (c.get(0), c.get(1), c.get(2), c.get(3))
                && dni_valid(x.as_str(), n.as_str(), l.as_str())
            {
                push("ES_DNI", "es-dni-nie", (m.start(), m.end()));
            }
        }
    }
    for (kind, rule, r, _) in ids.iter().filter(|h| !h.3) {
        push(kind, rule, *r);
    }
    if let Some(re) = PHONE.as_ref() {
        for m in re.find_iter(t) {
            let s = m.as_str().trim();
            let start = m.start() + (m.as_str().len() - m.as_str().trim_start().len());
            // Not inside a longer token (an IBAN, a reference like AB12345678).
            let glued = t
                .get(..start)
                .and_then(|b| b.chars().next_back())
                .is_some_and(|c| c.is_alphanumeric())
                || t.get(start + s.len()..)
                    .and_then(|a| a.chars().next())
                    .is_some_and(|c| c.is_alphanumeric());
            if !glued && !looks_like_date_or_version(s) && phone_valid(s) {
                push("PHONE", "phone-metadata", (start, start + s.len()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<&'static str> {
        let mut v = crate::Guards::default().check(t, &[Detector::Pii]);
        v.sort_by_key(|f| f.bytes.0);
        v.into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn cards_need_luhn_and_an_issuer() {
        assert_eq!(kinds("card 4111 1111 1111 1111 ok"), ["CREDIT_CARD"]);
        assert_eq!(kinds("amex 378282246310005"), ["CREDIT_CARD"]);
        assert_eq!(kinds("mc 2223-0031-2200-3222"), ["CREDIT_CARD"]);
        assert!(
            kinds("order 4111 1111 1111 1112")
                .iter()
                .all(|k| *k != "CREDIT_CARD")
        );
        assert!(
            kinds("id 1234567812345670")
                .iter()
                .all(|k| *k != "CREDIT_CARD")
        );
        assert!(
            kinds("4111-1111 1111-1111")
                .iter()
                .all(|k| *k != "CREDIT_CARD")
        );
    }

    #[test]
    fn ibans_need_length_and_mod97() {
        assert_eq!(kinds("IBAN GB82 WEST 1234 5698 7654 32."), ["IBAN"]);
        assert_eq!(kinds("DE89370400440532013000"), ["IBAN"]);
        assert!(kinds("GB82 WEST 1234 5698 7654 33").is_empty());
        assert!(kinds("DE8937040044053201300").is_empty());
    }

    #[test]
    fn phones_are_validated_not_digit_runs() {
        assert_eq!(kinds("call +1 415 555 2671 now"), ["PHONE"]);
        assert_eq!(kinds("ring (415) 555-2671"), ["PHONE"]);
        assert_eq!(kinds("UK +44 20 7946 0958"), ["PHONE"]);
        assert!(kinds("order 123456789012 shipped").is_empty());
        assert!(kinds("on 2024-11-25 at noon").is_empty());
        assert!(kinds("version 1.2.3.4").is_empty());
        assert!(kinds("+1 555 555 5555").is_empty());
        assert!(kinds("+1 303 555 0113").is_empty(), "fictional 555-01xx");
        assert!(kinds("order #0824628194").is_empty(), "bare digit run");
        assert!(
            kinds("ref 2497 9583 69").is_empty(),
            "not written like a NANP number"
        );
        assert!(kinds("NL43VFIL0400088387").iter().all(|k| *k != "PHONE"));
    }

    #[test]
    fn addresses_and_identifiers() {
        assert_eq!(kinds("from 192.168.10.254:8080"), ["IP_ADDRESS"]);
        assert!(kinds("999.1.1.1").is_empty());
        assert!(kinds("oid 1.3.6.1.4.1").is_empty());
        assert_eq!(kinds("v6 2001:db8::8a2e:370:7334 up"), ["IP_ADDRESS"]);
        assert!(kinds("time 12:30:45").is_empty());
        assert_eq!(kinds("ssn 536-22-1234"), ["US_SSN"]);
        assert!(kinds("ssn 666-22-1234").is_empty());
        assert_eq!(kinds("NI AB 12 34 56 C"), ["UK_NINO"]);
        assert!(kinds("NI GB 12 34 56 C").is_empty());
        assert_eq!(kinds("DNI 12345678Z"), ["ES_DNI"]);
        assert!(kinds("DNI 12345678A").is_empty());
        assert_eq!(kinds("write to a.b-c+tag@mail.example.co.uk"), ["EMAIL"]);
    }
}
