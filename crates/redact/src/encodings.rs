//! The forms a secret value takes when a program prints it encoded.
//!
//! For a value `v` the redactor looks for `v` itself and for each of:
//!
//! - base64, standard and URL-safe alphabets: the whole padded and unpadded encoding, and the
//!   part of the encoding that is fully determined by `v` when `v` sits at byte offset 0, 1 or 2
//!   (mod 3) inside a larger encoded message;
//! - hex, lower and upper case;
//! - URL percent-encoding (reserved characters, or every byte), upper and lower case hex digits,
//!   and form encoding (space as `+`);
//! - JSON string escaping (minimal, with `\/`, and ASCII-only with `\uXXXX`).
//!
//! Forms equal to the raw value or to each other are listed once; encoded forms shorter than
//! [`MIN_ENCODED_LEN`] are left out, because so short a string occurs by chance in ordinary
//! base64 or hex output.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Shortest encoded form that is still searched for.
pub(crate) const MIN_ENCODED_LEN: usize = 8;

/// RFC 3986: everything but the unreserved characters is encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// JavaScript's `encodeURIComponent`.
const JS_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');
/// WHATWG `application/x-www-form-urlencoded` (space becomes `+` afterwards).
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Every form of `value` to search for, the raw value first, without duplicates.
pub(crate) fn forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = vec![value.to_vec()];
    let mut add = |form: Vec<u8>| {
        if form.len() >= MIN_ENCODED_LEN && !out.contains(&form) {
            out.push(form);
        }
    };
    for form in base64_forms(value) {
        add(form);
    }
    let hex = hex_lower(value);
    add(hex.to_ascii_uppercase());
    add(hex);
    for form in url_forms(value) {
        add(form);
    }
    if let Ok(text) = std::str::from_utf8(value) {
        for form in json_forms(text) {
            add(form.into_bytes());
        }
    }
    out
}

fn base64_forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (padded, unpadded) in [(&STANDARD, &STANDARD_NO_PAD), (&URL_SAFE, &URL_SAFE_NO_PAD)] {
        out.push(padded.encode(value).into_bytes());
        out.push(unpadded.encode(value).into_bytes());
        for offset in 0..3 {
            out.push(aligned_core(unpadded, value, offset));
        }
    }
    out
}

/// The base64 characters of `value` that do not depend on its neighbours when it starts at byte
/// `offset` (mod 3) of a larger message: character `i` covers bits `6i .. 6i + 6`, and is kept
/// when those bits all belong to `value`.
fn aligned_core(engine: &base64::engine::GeneralPurpose, value: &[u8], offset: usize) -> Vec<u8> {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(value);
    let encoded = engine.encode(&shifted).into_bytes();
    let first_bit = 8 * offset;
    let end_bit = 8 * (offset + value.len());
    let first = first_bit.div_ceil(6);
    let last = end_bit / 6;
    if first >= last {
        return Vec::new();
    }
    encoded[first..last].to_vec()
}

fn hex_lower(value: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(value.len() * 2);
    for b in value {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
    out
}

fn url_forms(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut encodings: Vec<String> = [RFC3986, JS_COMPONENT, FORM, NON_ALPHANUMERIC]
        .into_iter()
        .map(|set| percent_encoding::percent_encode(value, set).collect())
        .collect();
    encodings.push(value.iter().map(|b| format!("%{b:02X}")).collect());
    for upper in encodings {
        out.push(lower_percent_digits(&upper).into_bytes());
        if value.contains(&b' ') {
            let plus = upper.replace("%20", "+");
            out.push(lower_percent_digits(&plus).into_bytes());
            out.push(plus.into_bytes());
        }
        out.push(upper.into_bytes());
    }
    out
}

/// `%2F` → `%2f`: some encoders emit lower-case hex digits.
fn lower_percent_digits(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut after_percent = 0;
    for c in encoded.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn json_forms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for ascii_only in [false, true] {
        for escape_slash in [false, true] {
            out.push(json_escape(text, ascii_only, escape_slash));
        }
    }
    out
}

/// The contents of a JSON string literal holding `text` (without the quotes).
fn json_escape(text: &str, ascii_only: bool, escape_slash: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escape_slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii_only && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_cores_are_substrings_of_every_enclosing_encoding() {
        let value = b"s3cr3t-value-0123456789";
        for prefix_len in 0..9 {
            for suffix_len in 0..4 {
                let mut message = vec![b'#'; prefix_len];
                message.extend_from_slice(value);
                message.extend(std::iter::repeat_n(b'!', suffix_len));
                for engine in [&STANDARD, &URL_SAFE] {
                    let encoded = engine.encode(&message);
                    let core = aligned_core(engine, value, prefix_len % 3);
                    assert!(core.len() >= 28, "{prefix_len}: {}", core.len());
                    let core = String::from_utf8(core).unwrap();
                    assert!(
                        encoded.contains(&core),
                        "prefix {prefix_len} suffix {suffix_len}: {core} not in {encoded}"
                    );
                }
            }
        }
    }

    #[test]
    fn forms_cover_each_encoding_once() {
        let value = "p@ss/word \"ü\"+";
        let forms: Vec<String> = forms(value.as_bytes())
            .into_iter()
            .map(|f| String::from_utf8(f).unwrap())
            .collect();
        let expect = [
            value.to_string(),
            STANDARD.encode(value),
            URL_SAFE_NO_PAD.encode(value),
            "70407373".to_string() + "2f776f726420" + "22c3bc222b",
            "p%40ss%2Fword%20%22%C3%BC%22%2B".into(),
            "p%40ss%2fword%20%22%c3%bc%22%2b".into(),
            "p%40ss%2Fword+%22%C3%BC%22%2B".into(),
            "p@ss/word \\\"ü\\\"+".into(),
            "p@ss\\/word \\\"\\u00fc\\\"+".into(),
        ];
        for e in expect {
            assert!(forms.contains(&e), "missing {e:?} in {forms:#?}");
        }
        let mut dedup = forms.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), forms.len());
        assert!(forms.iter().all(|f| f.len() >= MIN_ENCODED_LEN));
    }

    #[test]
    fn plain_values_have_no_redundant_forms() {
        // Nothing to escape: URL and JSON forms equal the raw value.
        let forms = forms(b"abcdef012345");
        assert_eq!(forms[0], b"abcdef012345");
        assert!(!forms[1..].iter().any(|f| f == b"abcdef012345"));
    }
}
