//! Rule behaviour on hand-written cases: exact spans, checksums, boundaries, placeholders.

use aegisclaw_redact::Scanner;
use pretty_assertions::assert_eq;

fn rules(text: &str) -> Vec<&'static str> {
    Scanner::global()
        .scan(text)
        .iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn span_is_exactly_the_secret() {
    let text = "GITHUB_TOKEN=\"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\" # ci";
    let findings = Scanner::global().scan(text);
    assert_eq!(findings.len(), 1);
    assert_eq!(
        &text[findings[0].span()],
        "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"
    );
    assert_eq!(findings[0].preview, "ghp_\u{2026} (40 bytes)");
    assert!(!findings[0].preview.contains("zQWB"));
}

#[test]
fn github_checksum_cuts_every_single_character_change() {
    let token = "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";
    assert_eq!(rules(token), ["github-token"]);
    for i in 4..token.len() {
        let mut bytes = token.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(
            !rules(&changed).contains(&"github-token"),
            "one change at {i} still passes: {changed}"
        );
    }
}

#[test]
fn tokens_inside_longer_words_are_not_findings() {
    // A valid token glued to more alphanumerics is some other string.
    assert!(rules("x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").is_empty());
    assert!(rules("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abc").is_empty());
    assert!(rules("AKIAQYLPMN5HHHFPZAM2X").is_empty());
}

#[test]
fn several_findings_are_ordered_and_redacted() {
    let text = "a=AKIAQYLPMN5HHHFPZAM2 b=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 \
                c=postgres://app:Vq8-zr4Lm2x@db.internal:5432/app";
    assert_eq!(
        rules(text),
        ["aws-access-key-id", "github-token", "database-url"]
    );
    assert_eq!(
        Scanner::global().redact(text),
        "a=[REDACTED:aws-access-key-id] b=[REDACTED:github-token] \
         c=postgres://app:[REDACTED:database-url]@db.internal:5432/app"
    );
}

#[test]
fn private_key_block_spans_header_to_footer() {
    let body: String = (0..12)
        .map(|i| {
            format!(
                "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{i:02}Kgwgg{}\n",
                "Sk3jQ9xZ".repeat(3)
            )
        })
        .collect();
    let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
    let text = format!("key:\n{key}\nnext line");
    let findings = Scanner::global().scan(&text);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(&text[findings[0].span()], key);
    // Mentioned in prose, or with an elided body: not a key.
    assert!(rules("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----").is_empty());
    assert!(rules("a line with -----BEGIN RSA PRIVATE KEY----- in it").is_empty());
}

#[test]
fn near_misses_per_rule() {
    for text in [
        "AKIAIOSFODNN7EXAMPLE",
        "npm_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq18",
        "sk_live_0000000000000000000000000",
        "postgres://postgres:postgres@localhost/db",
        "password = os.environ['DB_PASSWORD']",
        "api_key: <YOUR_KEY>",
        "Authorization: Bearer $TOKEN",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24gYXQgYWxs.c2lnbmF0dXJlX2hlcmVfMTIz",
    ] {
        assert!(rules(text).is_empty(), "{text}: {:?}", rules(text));
    }
}

#[test]
fn binary_input_is_scanned() {
    let mut data = vec![0xff, 0x00, 0xfe];
    data.extend_from_slice(b"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");
    data.extend_from_slice(&[0x80, 0x81]);
    let findings = Scanner::global().scan_bytes(&data);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].start, 3);
}

#[test]
fn every_rule_is_listed_with_a_description() {
    let rules: Vec<_> = Scanner::global().rules().collect();
    assert!(rules.len() >= 30);
    assert!(rules.iter().all(|r| !r.description.is_empty()));
    assert_eq!(rules.last().unwrap().id, "generic-secret");
}
