//! Checks that cut false positives after a rule's pattern matched: checksums where a format has
//! one, entropy, placeholders, and structure (a JWT header that decodes, a PyPI macaroon).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Shannon entropy of `s` in bits per byte.
pub(crate) fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// How many of lower case, upper case, digits and other characters `s` has.
pub(crate) fn char_classes(s: &[u8]) -> usize {
    let has = |f: fn(&u8) -> bool| usize::from(s.iter().any(f));
    has(u8::is_ascii_lowercase)
        + has(u8::is_ascii_uppercase)
        + has(u8::is_ascii_digit)
        + has(|b| !b.is_ascii_alphanumeric())
}

/// Words that mark documentation, templates and tests rather than real credentials.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "sample",
    "placeholder",
    "dummy",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "yoursecret",
    "redacted",
    "notreal",
    "not_real",
    "not-real",
    "fake",
    "_here",
    "-here",
    "insert",
    "replace",
    "xxxx",
    "****",
    "....",
    "\u{2026}",
    "<",
    ">",
    "${",
    "{{",
    "%s",
    "abcdefgh",
    "12345678",
];

/// Whether `s` looks like a template value: a placeholder word, a run of five equal
/// characters, or an ellipsis.
pub(crate) fn is_placeholder(s: &[u8]) -> bool {
    let lower = s.to_ascii_lowercase();
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| contains(&lower, w.as_bytes()))
    {
        return true;
    }
    let mut run = 1;
    for pair in s.windows(2) {
        if pair[0] == pair[1] {
            run += 1;
            if run >= 5 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub (`ghp_` …) and npm (`npm_`) tokens: a 4-character prefix, 30 random base62
/// characters, and the CRC-32 of those 30 characters in 6 base62 digits (`0-9A-Za-z`,
/// big-endian, zero-padded).
pub(crate) fn base62_crc32_ok(token: &[u8]) -> bool {
    if token.len() != 40 {
        return false;
    }
    let (body, check) = (&token[4..34], &token[34..]);
    let mut value: u64 = 0;
    for &c in check {
        let Some(digit) = BASE62.iter().position(|&d| d == c) else {
            return false;
        };
        value = value * 62 + digit as u64;
    }
    value == u64::from(crc32fast::hash(body))
}

/// A JWT whose header decodes to a JSON object naming an algorithm and whose payload decodes
/// to a JSON object.
pub(crate) fn jwt_ok(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode = |part: &[u8]| URL_SAFE_NO_PAD.decode(part.trim_ascii_end()).ok();
    let is_object =
        |json: &[u8]| json.trim_ascii().starts_with(b"{") && json.trim_ascii().ends_with(b"}");
    match (decode(header), decode(payload)) {
        (Some(h), Some(p)) => is_object(&h) && contains(&h, b"\"alg\"") && is_object(&p),
        _ => false,
    }
}

/// A PyPI API token: `pypi-` and a base64url macaroon whose location is `pypi.org` or
/// `test.pypi.org`.
pub(crate) fn pypi_ok(token: &[u8]) -> bool {
    let Some(body) = token.strip_prefix(b"pypi-") else {
        return false;
    };
    let head = &body[..body.len().min(28) / 4 * 4];
    let Ok(decoded) = URL_SAFE_NO_PAD.decode(head) else {
        return false;
    };
    decoded.first() == Some(&2) && contains(&decoded, b"pypi.org") && entropy(body) >= 4.0
}

/// An age X25519 secret key: bech32 with a valid checksum and 32 bytes of key.
pub(crate) fn age_key_ok(token: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(token) else {
        return false;
    };
    match bech32::primitives::decode::CheckedHrpstring::new::<bech32::Bech32>(text) {
        Ok(checked) => {
            checked
                .hrp()
                .as_str()
                .eq_ignore_ascii_case("age-secret-key-")
                && checked.byte_iter().count() == 32
        }
        Err(_) => false,
    }
}

/// HTTP Basic credentials: base64 of `user:password` with a non-placeholder password.
pub(crate) fn basic_auth_ok(encoded: &[u8]) -> bool {
    let Ok(decoded) = STANDARD.decode(encoded) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let password = &decoded[colon + 1..];
    password.len() >= 4 && !is_placeholder(password) && !is_default_password(password)
}

/// Passwords that ship as defaults or appear in tutorials; a URL or config with one is not a
/// leak worth stopping for.
pub(crate) fn is_default_password(password: &[u8]) -> bool {
    const DEFAULTS: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "admin",
        "root",
        "toor",
        "test",
        "guest",
        "user",
        "postgres",
        "mysql",
        "redis",
        "mongo",
        "changeme",
        "letmein",
        "qwerty",
        "123456",
        "1234",
        "12345",
        "password1",
        "password123",
        "admin123",
        "default",
        "none",
        "null",
        "foobar",
        "foo",
        "bar",
    ];
    let lower = password.to_ascii_lowercase();
    DEFAULTS.iter().any(|d| lower == d.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum_matches_published_tokens() {
        // Expired sample tokens published with the base62-token.js project (issue #2), the
        // public vectors for GitHub's token format.
        for token in [
            "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",
            "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",
            "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",
        ] {
            assert!(base62_crc32_ok(token.as_bytes()), "{token}");
        }
        assert!(!base62_crc32_ok(
            b"ghp_aQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq17"
        ));
        assert!(!base62_crc32_ok(
            b"ghp_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq18"
        ));
        assert!(!base62_crc32_ok(b"ghp_short"));
    }

    #[test]
    fn entropy_and_classes() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert_eq!(char_classes(b"aB3-"), 4);
        assert_eq!(char_classes(b"abc"), 1);
    }

    #[test]
    fn placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "your_api_key",
            "xxxxxxxxxxxx",
            "sk_live_000000000000000",
            "<token>",
            "${TOKEN}",
            "{{ secrets.X }}",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for real in ["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", "Xk9mP2vL5nQ8"] {
            assert!(!is_placeholder(real.as_bytes()), "{real}");
        }
    }

    #[test]
    fn jwt_structure() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1234567890","iat":1516239022}"#);
        let token = format!("{header}.{payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
        assert!(jwt_ok(token.as_bytes()));
        let no_alg = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#);
        assert!(!jwt_ok(format!("{no_alg}.{payload}.sig").as_bytes()));
        assert!(!jwt_ok(b"eyJhbGciOiJIUzI1NiJ9.notbase64!.sig"));
    }

    #[test]
    fn basic_auth() {
        assert!(basic_auth_ok(STANDARD.encode("alice:S3cr3t!x").as_bytes()));
        assert!(!basic_auth_ok(STANDARD.encode("alice:password").as_bytes()));
        assert!(!basic_auth_ok(STANDARD.encode("nocolon").as_bytes()));
    }
}
