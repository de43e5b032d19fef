//! National identifiers beyond the US, UK and Spanish ones of [`crate::pii`]: each a format
//! and the check its issuer defines (Verhoeff, mod 11, mod 97, ISO 7064, Luhn, check
//! letters), and a valid date where the number holds one. Numbers that are only a run of
//! digits (a Polish PESEL, a Dutch BSN, a German tax id, an NHS number, a Canadian SIN, a
//! Turkish id, an Australian TFN or Medicare number, an ungrouped Aadhaar or CPF) pass their
//! check about one time in ten by chance, so they count only after a word that names them
//! ("PESEL", "BSN", "Steuer-ID", …) shortly before.

use crate::gate::Gate;
use regex::Regex;
use std::sync::LazyLock;

/// An identifier: its type, rule name, pattern, check, the words that name it, and whether
/// one of them must come shortly before it (otherwise the format and check are enough, and a
/// name only settles which of two formats a number is).
struct Id {
    kind: &'static str,
    name: &'static str,
    re: Regex,
    valid: fn(&str) -> bool,
    names: &'static [&'static str],
    needs_name: bool,
}

fn id(
    kind: &'static str,
    name: &'static str,
    re: &str,
    valid: fn(&str) -> bool,
    (names, needs_name): (&'static [&'static str], bool),
) -> Option<Id> {
    // ASCII digits and word boundaries: Unicode ones make every pattern a far larger
    // automaton, and these numbers are written in ASCII digits.
    Regex::new(&format!("(?-u){re}")).ok().map(|re| Id {
        kind,
        name,
        re,
        valid,
        names,
        needs_name,
    })
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// Whether a text's separators (anything but digits and letters) are all the same.
fn one_separator(s: &str) -> bool {
    let mut seps = s.chars().filter(|c| !c.is_ascii_alphanumeric());
    let first = seps.next();
    seps.all(|c| Some(c) == first)
}

fn leap(y: u32) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn date_ok(y: u32, m: u32, d: u32) -> bool {
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Two digits of `d` from `i` as a number.
fn two(d: &[u32], i: usize) -> u32 {
    d.get(i).copied().unwrap_or(0) * 10 + d.get(i + 1).copied().unwrap_or(0)
}

fn weighted(d: &[u32], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(a, b)| a * b).sum()
}

fn luhn(d: &[u32]) -> bool {
    let b: Vec<u8> = d.iter().filter_map(|x| u8::try_from(*x).ok()).collect();
    crate::pii::luhn(&b)
}

/// India's Aadhaar: 12 digits, the first 2-9, Verhoeff check digit.
fn aadhaar(s: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 7, 6, 8, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let d = digits(s);
    if d.len() != 12 || !one_separator(s) {
        return false;
    }
    let mut c = 0u8;
    for (i, x) in d.iter().rev().enumerate() {
        let p = P
            .get(i % 8)
            .and_then(|row| row.get(*x as usize))
            .copied()
            .unwrap_or(0);
        c = D
            .get(c as usize)
            .and_then(|row| row.get(p as usize))
            .copied()
            .unwrap_or(1);
    }
    c == 0
}

/// Italy's codice fiscale: the check letter over the first 15 characters (odd and even
/// position tables), digits possibly replaced by letters (omocodia).
fn codice_fiscale(s: &str) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let b = s.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in b.iter().take(15).enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A'),
            _ => return false,
        };
        sum += if i % 2 == 0 {
            ODD.get(v as usize).copied().unwrap_or(0)
        } else {
            v
        };
    }
    b.get(15).map(|c| u32::from(*c)) == Some(u32::from(b'A') + sum % 26)
}

/// Poland's PESEL: weights 1 3 7 9 …, and a birth date whose month carries the century.
fn pesel(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 {
        return false;
    }
    let sum = weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
    let (yy, mm, dd) = (two(&d, 0), two(&d, 2), two(&d, 4));
    let (century, month) = match mm {
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        81..=92 => (1800, mm - 80),
        _ => return false,
    };
    (10 - sum % 10) % 10 == d.get(10).copied().unwrap_or(99) && date_ok(century + yy, month, dd)
}

/// The Netherlands' BSN: the "11-proef" (weights 9 to 2, and -1 on the last digit).
fn bsn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 || d.iter().all(|x| *x == 0) {
        return false;
    }
    let sum = weighted(&d, &[9, 8, 7, 6, 5, 4, 3, 2]);
    let last = d.get(8).copied().unwrap_or(0);
    sum >= last && (sum - last).is_multiple_of(11)
}

/// Brazil's CPF: two mod-11 check digits; eleven equal digits are not a number.
fn cpf(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d.iter().all(|x| Some(x) == d.first()) {
        return false;
    }
    let check = |n: usize| {
        let sum: u32 = (0..n)
            .map(|i| d.get(i).copied().unwrap_or(0) * (n as u32 + 1 - i as u32))
            .sum();
        (sum * 10) % 11 % 10
    };
    check(9) == d.get(9).copied().unwrap_or(99) && check(10) == d.get(10).copied().unwrap_or(99)
}

/// France's NIR (social security number): 13 characters and a key of 97 minus the number
/// mod 97, Corsica's departments 2A and 2B counted as 19 and 18.
fn nir(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != 15 {
        return false;
    }
    let (body, key) = compact.split_at(13);
    let body = body.replacen("2A", "19", 1).replacen("2B", "18", 1);
    let (Ok(n), Ok(k)) = (body.parse::<u64>(), key.parse::<u64>()) else {
        return false;
    };
    // Months 20 and 30-42 stand for an unknown month, 50-99 for some foreign-born people.
    let month: u32 = compact.get(3..5).and_then(|m| m.parse().ok()).unwrap_or(0);
    matches!(month, 1..=12 | 20 | 30..=42 | 50..=99) && k == 97 - n % 97
}

/// Germany's tax identification number: no leading zero, exactly one digit repeated (two or
/// three times) in the first ten, and an ISO 7064 MOD 11,10 check digit.
fn steuer_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d.first() == Some(&0) {
        return false;
    }
    let mut counts = [0u8; 10];
    for x in d.iter().take(10) {
        if let Some(c) = counts.get_mut(*x as usize) {
            *c += 1;
        }
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|c| *c > 1).collect();
    if repeated.len() != 1 || !matches!(repeated.first(), Some(2 | 3)) {
        return false;
    }
    let mut product = 10;
    for x in d.iter().take(10) {
        let mut sum = (x + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    d.get(10) == Some(&check)
}

/// Canada's SIN: Luhn, and no number starts with 0 or 8.
fn sin(s: &str) -> bool {
    let d = digits(s);
    d.len() == 9 && !matches!(d.first(), Some(0 | 8)) && luhn(&d) && one_separator(s)
}

/// Singapore's NRIC and FIN (S, T, F, G series): weights 2 7 6 5 4 3 2, a century offset,
/// and a check letter from the series' table.
fn nric(s: &str) -> bool {
    let b = s.as_bytes();
    let d = digits(s.get(1..8).unwrap_or(""));
    if b.len() != 9 || d.len() != 7 {
        return false;
    }
    let offset = match b.first() {
        Some(b'S' | b'F') => 0,
        Some(b'T' | b'G') => 4,
        _ => return false,
    };
    let r = (weighted(&d, &[2, 7, 6, 5, 4, 3, 2]) + offset) % 11;
    let table: &[u8; 11] = if matches!(b.first(), Some(b'S' | b'T')) {
        b"JZIHGFEDCBA"
    } else {
        b"XWUTRQPNMLK"
    };
    table.get(r as usize) == b.get(8)
}

/// South Korea's resident registration number: a birth date and a sex digit (1-8) whose
/// value carries the century (numbers issued since October 2020 have no check digit, so none
/// is required).
fn rrn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 13 {
        return false;
    }
    let century = match d.get(6) {
        Some(1 | 2 | 5 | 6) => 1900,
        Some(3 | 4 | 7 | 8) => 2000,
        _ => return false,
    };
    date_ok(century + two(&d, 0), two(&d, 2), two(&d, 4))
}

/// China's resident identity number: a birth date at digits 7-14 and an ISO 7064 MOD 11-2
/// check character (`X` for 10).
fn cn_id(s: &str) -> bool {
    let b = s.as_bytes();
    let d = digits(s.get(..17).unwrap_or(""));
    if b.len() != 18 || d.len() != 17 {
        return false;
    }
    let year = two(&d, 6) * 100 + two(&d, 8);
    if !(1900..=2099).contains(&year) || !date_ok(year, two(&d, 10), two(&d, 12)) {
        return false;
    }
    let r = weighted(&d, &[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]) % 11;
    b"10X98765432".get(r as usize) == b.get(17)
}

/// Sweden's personnummer (and samordningsnummer, day + 60): a birth date and Luhn over the
/// ten digits.
fn personnummer(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 {
        return false;
    }
    let day = two(&d, 4);
    let day = if day > 60 { day - 60 } else { day };
    // The century is not written; 2000 is a leap year like 1900 is not, so either may hold.
    (date_ok(2000 + two(&d, 0), two(&d, 2), day) || date_ok(1900 + two(&d, 0), two(&d, 2), day))
        && luhn(&d)
}

/// Finland's personal identity code: a birth date, a century sign, and a check character of
/// the nine digits mod 31.
fn hetu(s: &str) -> bool {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let b = s.as_bytes();
    if b.len() != 11 {
        return false;
    }
    let century = match b.get(6) {
        Some(b'+') => 1800,
        Some(b'-' | b'U'..=b'Y') => 1900,
        Some(b'A'..=b'F') => 2000,
        _ => return false,
    };
    let d: Vec<u32> = digits(s.get(..6).unwrap_or(""))
        .into_iter()
        .chain(digits(s.get(7..10).unwrap_or("")))
        .collect();
    if d.len() != 9 || !date_ok(century + two(&d, 4), two(&d, 2), two(&d, 0)) {
        return false;
    }
    let n = d.iter().fold(0u64, |a, x| a * 10 + u64::from(*x));
    usize::try_from(n % 31)
        .ok()
        .and_then(|i| CHECK.get(i))
        .is_some_and(|c| b.get(10) == Some(c))
}

/// Belgium's national register number: 97 minus the first nine digits mod 97 (with a 2 in
/// front for people born since 2000).
fn be_nrn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || two(&d, 2) > 12 || two(&d, 4) > 31 {
        return false;
    }
    let n = d.iter().take(9).fold(0u64, |a, x| a * 10 + u64::from(*x));
    let key = u64::from(two(&d, 9));
    key == 97 - n % 97 || key == 97 - (2_000_000_000 + n) % 97
}

/// The US ITIN: 9XX, a group in the ranges the IRS issues (50-65, 70-88, 90-92, 94-99).
fn itin(s: &str) -> bool {
    let d = digits(s);
    let g = two(&d, 3);
    d.len() == 9
        && d.first() == Some(&9)
        && matches!(g, 50..=65 | 70..=88 | 90..=92 | 94..=99)
        && one_separator(s)
}

/// The UK's NHS number: weights 10 to 2, check digit 11 minus the sum mod 11 (10 is never
/// issued).
fn nhs(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 || !one_separator(s) {
        return false;
    }
    let check = 11 - weighted(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && d.get(9) == Some(&check)
}

/// Türkiye's T.C. Kimlik number: no leading zero, a tenth digit from the odd and even
/// positions, an eleventh from the sum of the first ten.
fn tc_kimlik(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d.first() == Some(&0) {
        return false;
    }
    let at = |i: usize| d.get(i).copied().unwrap_or(0);
    let odd = at(0) + at(2) + at(4) + at(6) + at(8);
    let even = at(1) + at(3) + at(5) + at(7);
    let tenth = (odd * 7 + 10 * 9 - even) % 10;
    let eleventh = d.iter().take(10).sum::<u32>() % 10;
    tenth == at(9) && eleventh == at(10)
}

/// South Africa's identity number: a birth date, a citizenship digit (0, 1 or 2), and Luhn
/// over the thirteen digits.
fn za_id(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 13 || !matches!(d.get(10), Some(0..=2)) {
        return false;
    }
    let (yy, mm, dd) = (two(&d, 0), two(&d, 2), two(&d, 4));
    (date_ok(1900 + yy, mm, dd) || date_ok(2000 + yy, mm, dd)) && luhn(&d)
}

/// Australia's tax file number: eight or nine digits whose weighted sum (1 4 3 7 5 8 6 9 10)
/// is a multiple of 11.
fn tfn(s: &str) -> bool {
    let d = digits(s);
    let w: &[u32] = if d.len() == 9 {
        &[1, 4, 3, 7, 5, 8, 6, 9, 10]
    } else {
        &[10, 7, 8, 4, 6, 3, 5, 1]
    };
    matches!(d.len(), 8 | 9) && one_separator(s) && weighted(&d, w).is_multiple_of(11)
}

/// Australia's Medicare card number: first digit 2-6, a check digit (weights 1 3 7 9 1 3 7
/// 9, mod 10) in ninth place, then the issue number (and the person's position on the card).
fn medicare(s: &str) -> bool {
    let d = digits(s);
    matches!(d.len(), 10 | 11)
        && matches!(d.first(), Some(2..=6))
        && one_separator(s)
        && weighted(&d, &[1, 3, 7, 9, 1, 3, 7, 9]) % 10 == d.get(8).copied().unwrap_or(99)
}

/// Mexico's CURP: a birth date and a check digit over the first 17 characters (Ñ, written
/// as X in the code, has its own value in the alphabet).
fn curp(s: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let d = digits(s.get(4..10).unwrap_or(""));
    if d.len() != 6
        || !(date_ok(2000 + two(&d, 0), two(&d, 2), two(&d, 4))
            || date_ok(1900 + two(&d, 0), two(&d, 2), two(&d, 4)))
    {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in s.chars().take(17).enumerate() {
        let Some(v) = ALPHABET.chars().position(|a| a == c) else {
            return false;
        };
        sum += v as u32 * (18 - i as u32);
    }
    let check = (10 - sum % 10) % 10;
    s.chars().nth(17).and_then(|c| c.to_digit(10)) == Some(check)
}

fn any(_: &str) -> bool {
    true
}

const AADHAAR: &[&str] = &["aadhaar", "aadhar", "uid", "uidai"];
const CPF: &[&str] = &["cpf"];

/// The identifiers, each with the words that name it; a name must come shortly before those
/// whose format alone is a run of digits.
static IDS: LazyLock<Vec<Id>> = LazyLock::new(|| {
    [
        // Grouped 4-4-4 as printed on the card, or bare after its name.
        id(
            "IN_AADHAAR",
            "in-aadhaar",
            r"\b[2-9]\d{3}[ \-]\d{4}[ \-]\d{4}\b",
            aadhaar,
            (AADHAAR, false),
        ),
        id(
            "IN_AADHAAR",
            "in-aadhaar-named",
            r"\b[2-9]\d{11}\b",
            aadhaar,
            (AADHAAR, true),
        ),
        id(
            "IN_PAN",
            "in-pan",
            r"\b[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]\b",
            any,
            (&["pan", "permanent account number"], false),
        ),
        id(
            "IT_FISCAL_CODE",
            "it-codice-fiscale",
            r"\b[A-Z]{6}[0-9LMNP-V]{2}[A-EHLMPR-T][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]\b",
            codice_fiscale,
            (&["codice fiscale", "cf", "fiscal code"], false),
        ),
        id(
            "PL_PESEL",
            "pl-pesel",
            r"\b\d{11}\b",
            pesel,
            (&["pesel"], true),
        ),
        id(
            "NL_BSN",
            "nl-bsn",
            r"\b\d{4}\.?\d{2}\.?\d{3}\b",
            bsn,
            (
                &["bsn", "burgerservicenummer", "sofinummer", "sofi nummer"],
                true,
            ),
        ),
        id(
            "BR_CPF",
            "br-cpf",
            r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b",
            cpf,
            (CPF, false),
        ),
        id("BR_CPF", "br-cpf-named", r"\b\d{11}\b", cpf, (CPF, true)),
        id(
            "FR_NIR",
            "fr-nir",
            r"\b[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b",
            nir,
            (
                &[
                    "nir",
                    "insee",
                    "sécurité sociale",
                    "securite sociale",
                    "social security",
                ],
                false,
            ),
        ),
        id(
            "DE_TAX_ID",
            "de-steuer-id",
            r"\b[1-9]\d(?: ?\d{3}){3}\b",
            steuer_id,
            (
                &[
                    "steuer id",
                    "steuerid",
                    "steuer identifikationsnummer",
                    "steueridentifikationsnummer",
                    "identifikationsnummer",
                    "idnr",
                    "tax id",
                    "tin",
                ],
                true,
            ),
        ),
        id(
            "CA_SIN",
            "ca-sin",
            r"\b\d{3}[ \-]?\d{3}[ \-]?\d{3}\b",
            sin,
            (
                &["sin", "social insurance", "nas", "assurance sociale"],
                true,
            ),
        ),
        id(
            "SG_NRIC",
            "sg-nric-fin",
            r"\b[STFG]\d{7}[A-Z]\b",
            nric,
            (&["nric", "fin"], false),
        ),
        id(
            "KR_RRN",
            "kr-rrn",
            r"\b\d{6}-\d{7}\b",
            rrn,
            (&["rrn", "resident registration", "주민등록번호"], false),
        ),
        id(
            "CN_RESIDENT_ID",
            "cn-resident-id",
            r"\b\d{17}[\dX]\b",
            cn_id,
            (
                &["身份证", "居民身份", "resident identity", "id card"],
                false,
            ),
        ),
        id(
            "SE_PERSONNUMMER",
            "se-personnummer",
            r"\b\d{6}[\-+]\d{4}\b",
            personnummer,
            (&["personnummer", "personnr", "samordningsnummer"], false),
        ),
        id(
            "FI_HETU",
            "fi-hetu",
            r"\b\d{6}[\-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y]\b",
            hetu,
            (
                &["henkilötunnus", "hetu", "sotu", "personbeteckning"],
                false,
            ),
        ),
        id(
            "BE_NATIONAL_NUMBER",
            "be-national-number",
            r"\b\d{2}\.\d{2}\.\d{2}-\d{3}\.\d{2}\b",
            be_nrn,
            (
                &[
                    "rijksregisternummer",
                    "numéro national",
                    "registre national",
                    "national number",
                    "nationaal nummer",
                ],
                false,
            ),
        ),
        id(
            "US_ITIN",
            "us-itin",
            r"\b9\d{2}[ \-]\d{2}[ \-]\d{4}\b",
            itin,
            (&["itin"], false),
        ),
        id(
            "UK_NHS",
            "uk-nhs",
            r"\b\d{3}[ \-]?\d{3}[ \-]?\d{4}\b",
            nhs,
            (&["nhs"], true),
        ),
        id(
            "TR_NATIONAL_ID",
            "tr-tc-kimlik",
            r"\b[1-9]\d{10}\b",
            tc_kimlik,
            (&["kimlik", "tckn", "tc no", "turkish id"], true),
        ),
        id(
            "ZA_ID",
            "za-id-number",
            r"\b\d{6} ?\d{4} ?\d{3}\b",
            za_id,
            (&["id number", "identity number", "sa id", "rsa id"], false),
        ),
        id(
            "AU_TFN",
            "au-tfn",
            r"\b\d{3} ?\d{3} ?\d{2,3}\b",
            tfn,
            (&["tfn", "tax file number"], true),
        ),
        id(
            "AU_MEDICARE",
            "au-medicare",
            r"\b[2-6]\d{3} ?\d{5} ?\d{1,2}\b",
            medicare,
            (&["medicare"], true),
        ),
        id(
            "MX_CURP",
            "mx-curp",
            r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[A-Z\d]\d\b",
            curp,
            (&["curp"], false),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Which identifier patterns can match a text (see [`crate::gate`]).
static GATE: LazyLock<Gate> = LazyLock::new(|| Gate::new(IDS.iter().map(|i| i.re.as_str())));

pub(crate) fn warm() {
    LazyLock::force(&IDS);
    LazyLock::force(&GATE);
    LazyLock::force(&SET);
}

pub(crate) fn compiled() -> bool {
    LazyLock::get(&IDS).is_some() && LazyLock::get(&GATE).is_some() && LazyLock::get(&SET).is_some()
}

/// How far before an identifier the word naming it may be, in bytes.
const CONTEXT_BYTES: usize = 48;

/// Whether one of `words` is a whole word (or words) of the text just before `start`.
fn named_before(t: &str, start: usize, words: &[&str]) -> bool {
    let mut from = start.saturating_sub(CONTEXT_BYTES);
    while !t.is_char_boundary(from) {
        from += 1;
    }
    let window: String = t
        .get(from..start)
        .unwrap_or("")
        .chars()
        .flat_map(|c| {
            let c = if c.is_alphanumeric() { c } else { ' ' };
            c.to_lowercase()
        })
        .collect();
    let window = format!(
        " {} ",
        window.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    // Words of scripts written without spaces (身份证号码) are matched inside longer runs.
    words.iter().any(|w| {
        if w.is_ascii() {
            window.contains(&format!(" {w} "))
        } else {
            window.contains(w)
        }
    })
}

/// All the patterns as one set: most of them start with a digit, which any number in a text
/// gives the gate, so the set's single pass over the text tells which have a match at all.
static SET: LazyLock<Option<regex::RegexSet>> =
    LazyLock::new(|| regex::RegexSet::new(IDS.iter().map(|i| i.re.as_str())).ok());

/// National identifiers in `t`: `(type, rule, byte range, named)`, `named` when a word that
/// names the type comes just before it. Where two types read the same number (a Finnish
/// code that also passes the Swedish check), only the named ones are kept; PII puts named
/// identifiers before its other findings.
pub(crate) fn find(t: &str) -> Vec<Hit> {
    let run = GATE.open(t);
    if !run.iter().any(|r| *r) {
        return Vec::new();
    }
    match SET.as_ref() {
        Some(set) => {
            let m = set.matches(t);
            find_where(t, |i| m.matched(i))
        }
        None => find_where(t, |i| run.get(i).copied().unwrap_or(true)),
    }
}

/// [`find`] with every pattern run: what the tests check the gate against.
pub(crate) fn ungated_find(t: &str) -> Vec<Hit> {
    find_where(t, |_| true)
}

fn find_where(t: &str, run: impl Fn(usize) -> bool) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::new();
    for (i, x) in IDS.iter().enumerate() {
        if !run(i) {
            continue;
        }
        for m in x.re.find_iter(t) {
            if !(x.valid)(m.as_str()) || in_longer_number(t, m.start(), m.end()) {
                continue;
            }
            let named = named_before(t, m.start(), x.names);
            if named || !x.needs_name {
                out.push((x.kind, x.name, (m.start(), m.end()), named));
            }
        }
    }
    let named_spans: Vec<(usize, usize)> = out.iter().filter(|h| h.3).map(|h| h.2).collect();
    out.retain(|h| h.3 || !named_spans.contains(&h.2));
    out
}

/// Whether `start..end` is part of a longer grouped number: another group of digits joined
/// to it by a space, dash or dot (the last twelve digits of a 16-digit card number read as
/// an Aadhaar number otherwise).
fn in_longer_number(t: &str, start: usize, end: usize) -> bool {
    let sep = |b: u8| matches!(b, b' ' | b'-' | b'.');
    let before = t.as_bytes().get(..start).unwrap_or_default();
    let after = t.as_bytes().get(end..).unwrap_or_default();
    matches!(before, [.., d, s] if d.is_ascii_digit() && sep(*s))
        || matches!(after, [s, d, ..] if d.is_ascii_digit() && sep(*s))
}

/// A national identifier found: type, rule, byte range, and whether it was named.
pub(crate) type Hit = (&'static str, &'static str, (usize, usize), bool);

#[cfg(test)]
mod tests {
    use super::*;

    /// Made-up numbers that pass their checks (bench/national_ids.py, seed 99), with the
    /// words written before them, and one with its check broken (none where the format has
    /// no check).
    const SAMPLES: &[(&str, &str, [&str; 3], Option<&str>)] = &[
        (
            "IN_AADHAAR",
            "Aadhaar ",
            ["8639 2332 1469", "3973 6993 5631", "4729 5181 7569"],
            Some("2480 6358 1784"),
        ),
        (
            "IN_PAN",
            "PAN ",
            ["TOBHE3279F", "QVFAD0276C", "NUCCJ9065E"],
            None,
        ),
        (
            "IT_FISCAL_CODE",
            "codice fiscale ",
            ["ZBUGOI06L47Y257S", "WTYXET47C64D112F", "NEGRKY77C46Z341K"],
            Some("CQJASB86C62G665N"),
        ),
        (
            "PL_PESEL",
            "PESEL: ",
            ["99072758124", "54062467345", "78112441538"],
            Some("81071071765"),
        ),
        (
            "NL_BSN",
            "BSN ",
            ["284578241", "746924690", "836535054"],
            Some("532463657"),
        ),
        (
            "BR_CPF",
            "CPF ",
            ["018.830.842-37", "873.467.889-15", "943.014.190-20"],
            Some("064.589.943-72"),
        ),
        (
            "FR_NIR",
            "n° de sécurité sociale ",
            [
                "1 90 07 34 752 276 28",
                "1 93 09 47 434 796 46",
                "2 63 08 86 218 378 20",
            ],
            Some("2 41 02 10 509 840 76"),
        ),
        (
            "DE_TAX_ID",
            "Steuer-ID ",
            ["64218035708", "38419057820", "24859016701"],
            Some("19268520343"),
        ),
        (
            "CA_SIN",
            "SIN ",
            ["350 563 425", "227 803 616", "497 912 279"],
            Some("645 909 604"),
        ),
        (
            "SG_NRIC",
            "NRIC ",
            ["T2048441H", "G6105295Q", "F5064938P"],
            Some("T0466832R"),
        ),
        (
            "KR_RRN",
            "RRN ",
            ["020107-3429160", "530405-1404296", "690121-1867129"],
            None,
        ),
        (
            "CN_RESIDENT_ID",
            "身份证号 ",
            [
                "279158196906142394",
                "16932220020423732X",
                "888133197203218364",
            ],
            Some("134595199009187310"),
        ),
        (
            "SE_PERSONNUMMER",
            "personnummer ",
            ["440702-5305", "770309-4099", "070507-5125"],
            Some("840705-4844"),
        ),
        (
            "FI_HETU",
            "henkilötunnus ",
            ["010197-532M", "270217A605X", "080780-821X"],
            Some("060142-335U"),
        ),
        (
            "BE_NATIONAL_NUMBER",
            "rijksregisternummer ",
            ["72.02.21-061.59", "95.02.23-576.64", "11.07.25-845.72"],
            Some("84.02.09-831.90"),
        ),
        (
            "US_ITIN",
            "ITIN ",
            ["945-64-9144", "993-95-3778", "994-51-1610"],
            None,
        ),
        (
            "UK_NHS",
            "NHS number ",
            ["577 658 3985", "446 319 4776", "591 009 1263"],
            Some("410 642 2427"),
        ),
        (
            "MX_CURP",
            "CURP ",
            [
                "FOMU560527HDFLVM06",
                "YIXD661206HGTDLT08",
                "TOGY750310MMCLVL00",
            ],
            Some("JEGK900315HGTKYP09"),
        ),
        (
            "TR_NATIONAL_ID",
            "TC Kimlik No: ",
            ["48570839330", "57357143218", "27853753662"],
            Some("73167431955"),
        ),
        (
            "ZA_ID",
            "ID number ",
            ["7407266361187", "9301287381183", "4206235049086"],
            Some("4407064126188"),
        ),
        (
            "AU_TFN",
            "TFN ",
            ["069 790 534", "733 629 277", "807 456 218"],
            Some("295 565 395"),
        ),
        (
            "AU_MEDICARE",
            "Medicare ",
            ["4862 20611 9", "5243 77934 3", "2166 04298 3"],
            None,
        ),
    ];

    fn kinds(t: &str) -> Vec<&'static str> {
        crate::Guards::default()
            .check(t, &[crate::Detector::Pii])
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn every_identifier_is_found_and_a_broken_check_is_not() {
        let kinds_in_table: std::collections::BTreeSet<_> = IDS.iter().map(|i| i.kind).collect();
        let sampled: std::collections::BTreeSet<_> = SAMPLES.iter().map(|s| s.0).collect();
        assert_eq!(kinds_in_table, sampled, "every type has samples");
        for (kind, words, good, bad) in SAMPLES {
            for v in good {
                let t = format!("Customer record: {words}{v}, updated today.");
                assert_eq!(kinds(&t), [*kind], "{t}");
            }
            if let Some(b) = bad {
                let t = format!("Customer record: {words}{b}, updated today.");
                assert!(!kinds(&t).contains(kind), "{t}");
            }
        }
    }

    #[test]
    fn bare_digit_runs_need_the_name_of_the_number() {
        // Each passes its check; without the word that names it, it is just a number.
        for (kind, words, good, _) in SAMPLES {
            if !matches!(
                *kind,
                "PL_PESEL"
                    | "NL_BSN"
                    | "DE_TAX_ID"
                    | "UK_NHS"
                    | "TR_NATIONAL_ID"
                    | "AU_TFN"
                    | "AU_MEDICARE"
            ) {
                continue;
            }
            let v = good[0];
            let bare = kinds(&format!("order {v} shipped"));
            assert!(!bare.contains(kind), "{kind} {v}: {bare:?}");
            assert_eq!(kinds(&format!("{words}{v}")), [*kind]);
        }
        // "sin" inside a word does not name a SIN.
        assert!(!kinds("using 446 579 187 as the id").contains(&"CA_SIN"));
    }

    #[test]
    fn the_name_before_a_number_decides_what_it_is() {
        // Valid as a Finnish code and, by chance, as a Swedish one (Luhn).
        assert!(hetu("030575-6819") && personnummer("030575-6819"));
        assert_eq!(kinds("henkilötunnus 030575-6819"), ["FI_HETU"]);
        assert_eq!(kinds("personnummer 030575-6819"), ["SE_PERSONNUMMER"]);
        // A Chinese id that also passes Luhn with a Diners Club prefix.
        assert!(cn_id("387562197808277417"));
        assert_eq!(kinds("身份证号 387562197808277417"), ["CN_RESIDENT_ID"]);
        assert_eq!(kinds("card 387562197808277417"), ["CREDIT_CARD"]);
    }

    #[test]
    fn part_of_a_longer_number_is_not_an_identifier() {
        assert_eq!(kinds("Aadhaar 8454 2841 0363 today"), ["IN_AADHAAR"]);
        // The same twelve digits as the end of a 16-digit grouped number.
        assert!(!kinds("ref 4689 8454 2841 0363 today").contains(&"IN_AADHAAR"));
        assert!(!kinds("ref 8454 2841 0363 7 today").contains(&"IN_AADHAAR"));
    }

    #[test]
    fn checks_reject_what_they_should() {
        assert!(aadhaar("8454 2841 0363"));
        assert!(
            !aadhaar("8454 2841 0364"),
            "Verhoeff finds every one-digit error"
        );
        assert!(!aadhaar("2345-6789 0123"), "one kind of separator");
        assert!(!pesel("66132245520"), "month 13");
        assert!(!cpf("111.111.111-11"), "equal digits");
        assert!(!cn_id("110101190002301234"), "30 February");
        assert!(!hetu("310299-123A"), "31 February");
        assert!(!steuer_id("12345678903"), "no repeated digit");
        assert!(!itin("900-49-1234"), "group 49 is not issued");
        assert!(!sin("046 454 286"), "no SIN starts with 0");
    }

    #[test]
    fn the_gate_answers_as_every_pattern_run() {
        let mut texts: Vec<String> = SAMPLES
            .iter()
            .flat_map(|(_, w, good, _)| good.iter().map(move |v| format!("{w}{v} and 12 34")))
            .collect();
        texts.push("nothing numeric here".into());
        texts.push("call 020 7946 0958 or 4111 1111 1111 1111".into());
        for t in &texts {
            assert_eq!(find(t), ungated_find(t), "{t}");
        }
    }
}
