//! Evasion: each obfuscation, and combinations, applied to every validation attack; recall may
//! drop at most 3 points against the clean text. The obfuscations are written here, apart from
//! the detector, each as an attacker would apply it to the whole text.

use aegisclaw_core::{GuardConfig, GuardMode};
use aegisclaw_guard::{Guard, Plane, ScanContext};
use base64::Engine as _;

use super::validation;

type Obfuscation = fn(&str) -> String;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_escaped(s: &str) -> String {
    s.bytes().map(|b| format!("\\x{b:02x}")).collect()
}

fn url_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn html_entities(s: &str) -> String {
    s.chars().map(|c| format!("&#{};", c as u32)).collect()
}

fn html_hex_entities(s: &str) -> String {
    s.chars().map(|c| format!("&#x{:x};", c as u32)).collect()
}

fn json_escapes(s: &str) -> String {
    let mut out = String::new();
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out
}

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

fn zero_width(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push(c);
        out.push(['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'][i % 5]);
    }
    out
}

fn bidi(s: &str) -> String {
    s.split(' ')
        .map(|w| format!("\u{202D}{w}\u{202C}\u{200E}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn homoglyphs(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a' => '\u{0430}',
            'c' => '\u{0441}',
            'e' => '\u{0435}',
            'o' => '\u{043E}',
            'p' => '\u{0440}',
            'x' => '\u{0445}',
            'y' => '\u{0443}',
            'i' => '\u{0456}',
            's' => '\u{0455}',
            'A' => '\u{0391}',
            'B' => '\u{0392}',
            'E' => '\u{0395}',
            'H' => '\u{0397}',
            'O' => '\u{039F}',
            'T' => '\u{03A4}',
            _ => c,
        })
        .collect()
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
            ' ' => '\u{3000}',
            _ => c,
        })
        .collect()
}

fn math_bold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' => char::from_u32(0x1D400 + (c as u32 - 'A' as u32)).unwrap(),
            'a'..='z' => char::from_u32(0x1D41A + (c as u32 - 'a' as u32)).unwrap(),
            '0'..='9' => char::from_u32(0x1D7CE + (c as u32 - '0' as u32)).unwrap(),
            _ => c,
        })
        .collect()
}

fn unicode_tags(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (' '..='~').contains(&c) {
                char::from_u32(0xE0000 + c as u32).unwrap()
            } else {
                c
            }
        })
        .collect()
}

fn letter_spacing(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.chars().map(String::from).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("   ")
}

fn dotted(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.chars().map(String::from).collect::<Vec<_>>().join("."))
        .collect::<Vec<_>>()
        .join(" ")
}

fn leetspeak(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_ascii_lowercase() {
            'a' => '4',
            'e' => '3',
            'i' => '1',
            'o' => '0',
            's' => '5',
            't' => '7',
            _ => c,
        })
        .collect()
}

fn random_case(s: &str) -> String {
    let mut state = 0x2545_f491u32;
    s.chars()
        .map(|c| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if state & 1 == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

const SINGLE: &[(&str, Obfuscation)] = &[
    ("base64", b64),
    ("hex", hex),
    ("hex \\x escapes", hex_escaped),
    ("URL-encoding (every byte)", url_all),
    ("URL-encoding (encodeURIComponent)", url_component),
    ("HTML decimal entities", html_entities),
    ("HTML hex entities", html_hex_entities),
    ("JSON \\u escapes", json_escapes),
    ("rot13", rot13),
    ("zero-width characters", zero_width),
    ("bidi controls", bidi),
    ("homoglyphs", homoglyphs),
    ("fullwidth", fullwidth),
    ("mathematical bold", math_bold),
    ("unicode tags", unicode_tags),
    ("letter spacing", letter_spacing),
    ("dotted letters", dotted),
    ("leetspeak", leetspeak),
    ("random case", random_case),
];

fn leet_b64(s: &str) -> String {
    b64(&leetspeak(s))
}
fn homoglyph_zero_width(s: &str) -> String {
    zero_width(&homoglyphs(s))
}
fn fullwidth_url(s: &str) -> String {
    url_all(&fullwidth(s))
}
fn rot13_b64(s: &str) -> String {
    b64(&rot13(s))
}
fn b64_b64(s: &str) -> String {
    b64(&b64(s))
}
fn case_spacing(s: &str) -> String {
    letter_spacing(&random_case(s))
}
fn json_html(s: &str) -> String {
    json_escapes(&html_entities(s))
}
fn hex_b64_leet(s: &str) -> String {
    hex(&b64(&leetspeak(s)))
}
fn math_bidi_case(s: &str) -> String {
    bidi(&math_bold(&random_case(s)))
}

const COMBINED: &[(&str, Obfuscation)] = &[
    ("leetspeak + base64", leet_b64),
    ("homoglyphs + zero-width", homoglyph_zero_width),
    ("fullwidth + URL-encoding", fullwidth_url),
    ("rot13 + base64", rot13_b64),
    ("base64 + base64", b64_b64),
    ("random case + letter spacing", case_spacing),
    ("HTML entities + JSON escapes", json_html),
    ("leetspeak + base64 + hex", hex_b64_leet),
    ("random case + mathematical bold + bidi", math_bidi_case),
];

fn recall(guard: &Guard, attacks: &[String], f: impl Fn(&str) -> String) -> f64 {
    let ctx = ScanContext::input(Plane::Model);
    let hits = attacks
        .iter()
        .filter(|a| guard.scan(&f(a), &ctx).detected())
        .count();
    hits as f64 / attacks.len() as f64
}

#[test]
fn obfuscated_attacks_are_still_caught() {
    let guard = Guard::new(&GuardConfig {
        host: GuardMode::Warn,
        tools: GuardMode::Warn,
        model: GuardMode::Warn,
        network: GuardMode::Warn,
    });
    let attacks: Vec<String> = ["s-labs", "neuralchemy"]
        .iter()
        .flat_map(|n| validation(n))
        .filter(|e| e.label == 1)
        .map(|e| e.text)
        .collect();
    assert!(attacks.len() > 1000);
    let clean = recall(&guard, &attacks, str::to_owned);
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for (name, f) in SINGLE.iter().chain(COMBINED) {
        let r = recall(&guard, &attacks, f);
        table.push(format!("{name}: {r:.4}"));
        if clean - r > 0.03 {
            failures.push(format!("{name}: recall {r:.4} vs clean {clean:.4}"));
        }
    }
    eprintln!("clean recall {clean:.4}\n{}", table.join("\n"));
    assert!(failures.is_empty(), "{failures:#?}");
}
