//! Leases: the granted secrets and nothing else, redaction of every leased value, expiry, and an
//! audit record without values.

use std::time::{Duration, SystemTime};

use aegisclaw_core::Home;
use aegisclaw_secrets::{AgeStore, Broker, Delivery, Error, SecretGrant, Store};

use super::{name, temp_home};

const TOKEN: &str = "ghp-like-token-value-0123456789";
const DB: &str = "db-password-4f9c2e";

fn broker(home: &Home) -> Broker {
    let (store, _) = AgeStore::init(home).unwrap();
    store.set(&name("GITHUB_TOKEN"), TOKEN.as_bytes()).unwrap();
    store.set(&name("DB_PASSWORD"), DB.as_bytes()).unwrap();
    store
        .set(&name("NOT_GRANTED"), b"never-leased-value")
        .unwrap();
    store.set(&name("SHORT"), b"1234").unwrap();
    Broker::new(Box::new(store))
}

#[test]
fn a_lease_holds_exactly_the_granted_secrets() {
    let (_dir, home) = temp_home();
    let broker = broker(&home);
    let lease = broker
        .lease(
            "run-42",
            &[
                SecretGrant::file(name("GITHUB_TOKEN")),
                SecretGrant::env(name("DB_PASSWORD"), "PGPASSWORD"),
            ],
            Duration::from_secs(60),
        )
        .unwrap();
    assert!(
        lease.id().starts_with("lease-") && lease.id().len() == 38,
        "{}",
        lease.id()
    );
    assert_eq!(lease.run_id(), "run-42");
    let files: Vec<(&str, &[u8])> = lease.files().collect();
    assert_eq!(files, [("GITHUB_TOKEN", TOKEN.as_bytes())]);
    let env: Vec<(&str, &str)> = lease.env_vars().collect();
    assert_eq!(env, [("PGPASSWORD", DB)]);
    lease.check().unwrap();
    let left = lease.remaining();
    assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(60));

    // Every leased value, also encoded, is redacted; what was not leased is not known to it.
    let hex_token = hex::encode(TOKEN);
    let text = format!("token={TOKEN} pw=\"{DB}\" hex={hex_token} other=never-leased-value");
    let out = lease.redactor().redact(&text);
    assert_eq!(
        out,
        "token=[REDACTED:GITHUB_TOKEN] pw=\"[REDACTED:DB_PASSWORD]\" hex=[REDACTED:GITHUB_TOKEN] other=never-leased-value"
    );

    // Two leases never share an id.
    let other = broker
        .lease(
            "run-43",
            &[SecretGrant::file(name("GITHUB_TOKEN"))],
            Duration::from_secs(1),
        )
        .unwrap();
    assert_ne!(other.id(), lease.id());
}

#[test]
fn the_audit_record_and_debug_output_name_secrets_but_hold_no_value() {
    let (_dir, home) = temp_home();
    let broker = broker(&home);
    let lease = broker
        .lease(
            "run-7",
            &[
                SecretGrant::file(name("GITHUB_TOKEN")),
                SecretGrant::env(name("DB_PASSWORD"), "PGPASSWORD"),
            ],
            Duration::from_secs(30),
        )
        .unwrap();
    let record = lease.record();
    assert_eq!(record.lease_id, lease.id());
    assert_eq!(record.run_id, "run-7");
    assert_eq!(record.secrets[0].name, "GITHUB_TOKEN");
    assert_eq!(record.secrets[0].delivery, Delivery::File);
    assert_eq!(
        record.secrets[1].delivery,
        Delivery::Env {
            var: "PGPASSWORD".into()
        }
    );
    let json = serde_json::to_string(&record).unwrap();
    let debug = format!("{lease:?} {record:?}");
    for text in [&json, &debug] {
        assert!(text.contains("GITHUB_TOKEN"), "{text}");
        assert!(!text.contains(TOKEN) && !text.contains(DB), "{text}");
    }
    assert!(json.contains(&record.expires_at));
}

#[test]
fn a_missing_secret_fails_the_whole_lease_and_names_it() {
    let (_dir, home) = temp_home();
    let broker = broker(&home);
    let e = broker
        .lease(
            "run-1",
            &[
                SecretGrant::file(name("GITHUB_TOKEN")),
                SecretGrant::file(name("NO_SUCH_SECRET")),
            ],
            Duration::from_secs(30),
        )
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("NO_SUCH_SECRET"), "{e}");
}

#[test]
fn grants_that_cannot_be_honoured_safely_are_refused() {
    let (_dir, home) = temp_home();
    let broker = broker(&home);
    let ttl = Duration::from_secs(30);
    // Too short to redact reliably.
    let e = broker
        .lease("r", &[SecretGrant::file(name("SHORT"))], ttl)
        .unwrap_err();
    assert!(matches!(e, Error::TooShort { len: 4, .. }), "{e}");
    // Twice the same secret.
    let e = broker
        .lease(
            "r",
            &[
                SecretGrant::file(name("GITHUB_TOKEN")),
                SecretGrant::env(name("GITHUB_TOKEN"), "GH_TOKEN"),
            ],
            ttl,
        )
        .unwrap_err();
    assert!(matches!(e, Error::DuplicateGrant { .. }), "{e}");
    // Environment variables that are not names, or that control how programs start.
    for var in ["", "1ABC", "A-B", "A=B", "LD_PRELOAD", "PATH", "BASH_ENV"] {
        let e = broker
            .lease("r", &[SecretGrant::env(name("DB_PASSWORD"), var)], ttl)
            .unwrap_err();
        assert!(matches!(e, Error::BadEnvDelivery { .. }), "{var}: {e}");
    }
    // Two secrets in one variable.
    let e = broker
        .lease(
            "r",
            &[
                SecretGrant::env(name("GITHUB_TOKEN"), "X"),
                SecretGrant::env(name("DB_PASSWORD"), "X"),
            ],
            ttl,
        )
        .unwrap_err();
    assert!(matches!(e, Error::BadEnvDelivery { .. }), "{e}");
    // A binary value cannot be an environment variable.
    broker
        .store()
        .set(&name("BINARY"), b"\x00\x01binary\xff")
        .unwrap();
    let e = broker
        .lease("r", &[SecretGrant::env(name("BINARY"), "B")], ttl)
        .unwrap_err();
    assert!(matches!(e, Error::BadEnvDelivery { .. }), "{e}");
    // As a file it is fine.
    let lease = broker
        .lease("r", &[SecretGrant::file(name("BINARY"))], ttl)
        .unwrap();
    assert_eq!(lease.files().next().unwrap().1, b"\x00\x01binary\xff");
}

#[test]
fn an_expired_lease_delivers_nothing() {
    let (_dir, home) = temp_home();
    let broker = broker(&home);
    let grants = [
        SecretGrant::file(name("GITHUB_TOKEN")),
        SecretGrant::env(name("DB_PASSWORD"), "PGPASSWORD"),
    ];
    let lease = broker
        .lease("run-1", &grants, Duration::from_secs(2))
        .unwrap();
    assert_eq!(lease.files().count(), 1);
    assert!(!lease.is_expired());
    assert!(!lease.is_expired_at(lease.issued_at()));
    assert!(lease.is_expired_at(lease.expires_at()));
    assert!(lease.is_expired_at(SystemTime::now() + Duration::from_millis(2001)));
    // Wait for the real clock to pass the expiry.
    while SystemTime::now() < lease.expires_at() {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lease.is_expired());
    assert_eq!(lease.files().count(), 0);
    assert_eq!(lease.env_vars().count(), 0);
    assert_eq!(lease.remaining(), Duration::ZERO);
    let e = lease.check().unwrap_err();
    assert!(matches!(e, Error::LeaseExpired { .. }), "{e}");
    assert!(e.to_string().contains(lease.id()));
    // Output that outlives the lease is still redacted.
    assert_eq!(lease.redactor().redact(TOKEN), "[REDACTED:GITHUB_TOKEN]");

    // A lease with no time at all is expired from the start.
    let lease = broker.lease("run-2", &grants, Duration::ZERO).unwrap();
    assert_eq!(lease.files().count(), 0);
}
