//! The redactor as an attacker sees it: a secret printed raw or encoded, in one piece or split
//! across output chunks, must not survive in any decodable form.
//!
//! The oracle (`leaks`) is independent of the redactor: it decodes every base64, hex,
//! percent-encoded and JSON-escaped run left in the output and looks for any 8-byte window of
//! the secret.

use aegisclaw_redact::Redactor;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use pretty_assertions::assert_eq;

const NAME: &str = "GITHUB_TOKEN";
const SECRET: &[u8] = b"ghp_s3cr3t/V4lue+with~odd chars\"\\\x7f";

fn redactor() -> Redactor {
    let mut b = Redactor::builder();
    b.secret(NAME, SECRET).unwrap();
    b.secret("OTHER", b"another-secret-0123456789").unwrap();
    b.build()
}

/// Whether any 8-byte window of `secret` can be recovered from `output`.
fn leaks(output: &[u8], secret: &[u8]) -> bool {
    let windows: Vec<&[u8]> = secret.windows(8).collect();
    let has_window = |data: &[u8]| windows.iter().any(|w| data.windows(8).any(|d| d == *w));
    if has_window(output) {
        return true;
    }
    let text = String::from_utf8_lossy(output);
    // Runs of base64 (either alphabet), decoded at every alignment.
    let b64_char = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    for run in text.split(|c: char| !b64_char(c)) {
        for skip in 0..4 {
            if run.len() < skip + 4 {
                continue;
            }
            let part = &run[skip..];
            let part = &part[..part.len() / 4 * 4];
            let normal: String = part
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect();
            if let Ok(decoded) = STANDARD.decode(&normal)
                && has_window(&decoded)
            {
                return true;
            }
        }
    }
    // Hex runs at both nibble alignments.
    for run in text.split(|c: char| !c.is_ascii_hexdigit()) {
        for skip in 0..2 {
            let digits: Vec<u8> = run.bytes().skip(skip).collect();
            let bytes: Vec<u8> = digits
                .chunks_exact(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
                .collect();
            if has_window(&bytes) {
                return true;
            }
        }
    }
    // Percent-encoding (and `+` for space) and JSON escapes.
    let unpercent: Vec<u8> = percent_decode(&text.replace('+', " "));
    if has_window(&unpercent) {
        return true;
    }
    let unjson = json_unescape(&text);
    has_window(unjson.as_bytes())
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn json_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn json_string(value: &[u8]) -> String {
    serde_json::to_string(std::str::from_utf8(value).unwrap()).unwrap()
}

/// Every encoding of the secret the redactor promises to catch, each in some context.
fn encoded_samples() -> Vec<(String, Vec<u8>)> {
    let mut samples = vec![
        ("raw".to_string(), [b"token: ", SECRET, b"\n"].concat()),
        ("hex".into(), format!("dump={}", hex(SECRET)).into_bytes()),
        (
            "HEX".into(),
            format!("dump={}", hex(SECRET).to_uppercase()).into_bytes(),
        ),
        (
            "url".into(),
            format!(
                "GET /cb?t={}&x=1",
                percent(SECRET, |b| b.is_ascii_alphanumeric()
                    || b"-._~".contains(&b))
            )
            .into_bytes(),
        ),
        (
            "url-all".into(),
            format!("GET /cb?t={}", percent(SECRET, |_| false)).into_bytes(),
        ),
        (
            "url-lower".into(),
            format!(
                "GET /cb?t={}",
                lower_digits(&percent(SECRET, |b| b.is_ascii_alphanumeric()
                    || b"-._~".contains(&b)))
            )
            .into_bytes(),
        ),
        (
            "encodeURIComponent".into(),
            format!(
                "GET /cb?t={}",
                percent(SECRET, |b| b.is_ascii_alphanumeric()
                    || b"-_.!~*'()".contains(&b))
            )
            .into_bytes(),
        ),
        (
            "form".into(),
            format!(
                "t={}",
                percent(SECRET, |b| b.is_ascii_alphanumeric()
                    || b"*-._ ".contains(&b))
                .replace(' ', "+")
            )
            .into_bytes(),
        ),
        (
            "json".into(),
            format!("{{\"token\":{}}}", json_string(SECRET)).into_bytes(),
        ),
        (
            "json-slash".into(),
            format!("{{\"token\":{}}}", json_string(SECRET).replace('/', "\\/")).into_bytes(),
        ),
        (
            "base64".into(),
            format!("b64={}", STANDARD.encode(SECRET)).into_bytes(),
        ),
        (
            "base64url".into(),
            format!("b64={}", URL_SAFE_NO_PAD.encode(SECRET)).into_bytes(),
        ),
    ];
    // The secret inside a larger message that is base64-encoded as a whole, at every alignment.
    for prefix in 0..6 {
        for suffix in [0, 1, 2, 5] {
            let mut message = b"Authorization: token ".to_vec();
            message.extend(std::iter::repeat_n(b'#', prefix));
            message.extend_from_slice(SECRET);
            message.extend(std::iter::repeat_n(b'!', suffix));
            for (label, engine) in [("std", &STANDARD), ("url", &URL_SAFE)] {
                samples.push((
                    format!("embedded-{label}-{prefix}-{suffix}"),
                    format!("basic {} end", engine.encode(&message)).into_bytes(),
                ));
            }
        }
    }
    samples
}

/// `%2F` → `%2f`, leaving the other characters alone.
fn lower_digits(encoded: &str) -> String {
    let mut out = String::new();
    let mut left = 0;
    for c in encoded.chars() {
        if c == '%' {
            left = 2;
            out.push(c);
        } else if left > 0 {
            left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn percent(data: &[u8], keep: impl Fn(u8) -> bool) -> String {
    data.iter()
        .map(|&b| {
            if keep(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn the_oracle_sees_every_unredacted_sample() {
    for (label, sample) in encoded_samples() {
        assert!(leaks(&sample, SECRET), "oracle misses {label}");
    }
}

#[test]
fn every_encoding_is_redacted_with_the_secret_name() {
    let r = redactor();
    for (label, sample) in encoded_samples() {
        let out = r.redact_bytes(&sample);
        assert!(
            !leaks(&out, SECRET),
            "{label}: leaked in {}",
            String::from_utf8_lossy(&out)
        );
        assert!(
            String::from_utf8_lossy(&out).contains("[REDACTED:GITHUB_TOKEN]"),
            "{label}: {}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// Output with the secret in every form, plus another secret and surrounding noise.
fn long_output() -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (_, sample)) in encoded_samples().into_iter().enumerate() {
        out.extend_from_slice(format!("line {i}: ").as_bytes());
        out.extend_from_slice(&sample);
        out.extend_from_slice(b" another-secret-0123456789\n");
    }
    out
}

#[test]
fn a_split_at_every_point_gives_the_one_shot_result() {
    let r = redactor();
    let input = long_output();
    let expected = r.redact_bytes(&input).into_owned();
    assert!(!leaks(&expected, SECRET));
    assert!(!leaks(&expected, b"another-secret-0123456789"));
    for split in 0..=input.len() {
        let mut stream = r.stream();
        let mut out = stream.push(&input[..split]);
        out.extend(stream.push(&input[split..]));
        out.extend(stream.finish());
        assert_eq!(out, expected, "split at {split}");
    }
}

#[test]
fn many_small_chunks_give_the_one_shot_result() {
    let r = redactor();
    let input = long_output();
    let expected = r.redact_bytes(&input).into_owned();
    // Chunk sizes from a fixed pseudo-random sequence, including 1-byte chunks.
    for seed in 1..=20u64 {
        let mut state = seed;
        let mut stream = r.stream();
        let mut out = Vec::new();
        let mut at = 0;
        while at < input.len() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let size = 1 + (state >> 33) as usize % (seed as usize * 3);
            let end = (at + size).min(input.len());
            out.extend(stream.push(&input[at..end]));
            assert!(stream.pending_len() < 200, "held back too much");
            at = end;
        }
        out.extend(stream.finish());
        assert_eq!(out, expected, "seed {seed}");
    }
}

#[test]
fn the_stream_releases_everything_that_cannot_start_a_secret() {
    let r = redactor();
    let mut stream = r.stream();
    let noise = vec![b'.'; 10_000];
    let out = stream.push(&noise);
    // Everything except at most `longest pattern - 1` bytes is released at once.
    assert!(out.len() + stream.pending_len() == noise.len());
    assert!(stream.pending_len() < 200, "{}", stream.pending_len());
    assert_eq!([out, stream.finish()].concat(), noise);
}

#[test]
fn a_hundred_secrets_all_redacted() {
    let mut b = Redactor::builder();
    let values: Vec<String> = (0..100)
        .map(|i| format!("secret-{i:03}-{}", "Zq9".repeat(i % 7 + 2)))
        .collect();
    for (i, v) in values.iter().enumerate() {
        b.secret(&format!("S{i}"), v.as_bytes()).unwrap();
    }
    let r = b.build();
    let text: String = values
        .iter()
        .map(|v| format!("{v} {} | ", STANDARD.encode(v)))
        .collect();
    let out = r.redact(&text);
    for v in &values {
        assert!(!leaks(out.as_bytes(), v.as_bytes()), "{v} in {out}");
    }
    assert!(out.contains("[REDACTED:S99]"));
}
