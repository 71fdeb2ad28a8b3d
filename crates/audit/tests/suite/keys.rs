//! The signing key: created on first use with owner-only permissions, never silently replaced.

use std::os::unix::fs::PermissionsExt;

use aegisclaw_audit::{KeySource, SignerKey, VerifyOptions};

use crate::common::{TestLog, record};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_key_is_created_private_and_its_public_half_published() {
    let t = TestLog::new();
    let log = t.log();
    assert!(log.public_key().unwrap().is_none());
    log.append(&[record(0)]).unwrap();
    let key_file = t.home_dir().join("keys/audit-log.key");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&t.home_dir().join("keys")), 0o700);
    let secret = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        secret.starts_with("PRIVATE+KEY+aegisclaw.local/audit/"),
        "{secret}"
    );
    let (public, source) = log.public_key().unwrap().unwrap();
    assert_eq!(source, KeySource::SigningKey);
    assert_eq!(public, SignerKey::parse(&secret).unwrap().verifier());
    let published = std::fs::read_to_string(t.audit("log.pub")).unwrap();
    assert_eq!(published.trim(), public.to_string());
    assert_eq!(mode(&t.audit("log.pub")), 0o600);
    // Nothing of the secret is in the audit directory.
    // PRIVATE+KEY+<name>+<hash>+<base64 key>: the key itself may contain '+', so split from
    // the left (a tail after its last '+' can be two characters that occur anywhere by chance).
    let seed = secret.trim().splitn(5, '+').nth(4).unwrap();
    assert!(seed.len() >= 40, "{secret}");
    for e in walk(&t.home_dir().join("audit")) {
        let bytes = std::fs::read(&e).unwrap();
        assert!(
            !bytes.windows(seed.len()).any(|w| w == seed.as_bytes()),
            "{}",
            e.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_key_readable_by_others_is_refused() {
    let t = TestLog::new();
    t.log().append(&[record(0)]).unwrap();
    let key_file = t.home_dir().join("keys/audit-log.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = t.log().append(&[record(1)]).unwrap_err().to_string();
    assert!(
        err.contains("chmod 600") && err.contains("audit-log.key"),
        "{err}"
    );
    let report = t.verify();
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("mode 644")),
        "{report:#?}"
    );
}

#[test]
fn a_lost_key_is_not_replaced_while_checkpoints_need_it() {
    let t = TestLog::new();
    t.fill(3, 3);
    let key_file = t.home_dir().join("keys/audit-log.key");
    std::fs::remove_file(&key_file).unwrap();
    let err = t.log().append(&[record(3)]).unwrap_err().to_string();
    assert!(
        err.contains("missing, but") && err.contains("restore it"),
        "{err}"
    );
    assert!(!key_file.exists());
    // The published public half still checks the existing checkpoints.
    let report = t.verify();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.key_source, Some(KeySource::PublicFile));
}

#[test]
fn a_swapped_public_file_or_a_wrong_key_is_reported() {
    let t = TestLog::new();
    t.fill(3, 3);
    let other = SignerKey::generate("aegisclaw.local/audit/other").unwrap();
    std::fs::write(t.audit("log.pub"), format!("{}\n", other.verifier())).unwrap();
    let report = t.verify();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("not the public half")),
        "{report:#?}"
    );

    let with_wrong = t
        .log()
        .verify(&VerifyOptions {
            key: Some(other.verifier()),
            checkpoints: Vec::new(),
        })
        .unwrap();
    assert!(!with_wrong.ok);
    assert!(
        with_wrong
            .problems
            .iter()
            .any(|p| p.message.starts_with("rejected")),
        "{with_wrong:#?}"
    );
}
