//! The engine fails closed, reloads edits, and combines reasons deterministically.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aegisclaw_core::{Decision, ScopesConfig, Verdict};
use aegisclaw_policy::{PolicyEngine, PolicySource, ScopeRegistry};
use pretty_assertions::assert_eq;

use crate::common::action;

const ALLOW_ALL: &str = r#"package aegisclaw
import rego.v1
allow contains {"rule": "all", "message": "everything", "scope": s.scope} if some s in input.scopes
"#;

const DENY_ALL: &str = r#"package aegisclaw
import rego.v1
deny contains {"rule": "none", "message": "nothing at all", "scope": s.scope} if some s in input.scopes
"#;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn file_engine(dir: &tempfile::TempDir, text: &str) -> (PolicyEngine, PathBuf) {
    let path = dir.path().join("policy.rego");
    write(&path, text);
    let engine = PolicyEngine::new(PolicySource::File(path.clone()), ScopeRegistry::builtin());
    (engine, path)
}

fn text_engine(text: &str) -> PolicyEngine {
    PolicyEngine::new(
        PolicySource::Text {
            name: "test.rego".into(),
            text: text.into(),
        },
        ScopeRegistry::builtin(),
    )
}

fn decide(engine: &PolicyEngine, scopes: &[&str]) -> Verdict {
    engine.evaluate(&action(scopes, Some(true), false)).verdict
}

fn assert_denied(v: &Verdict, rule: &str, needle: &str) {
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
    assert!(
        v.reasons
            .iter()
            .any(|r| r.rule == rule && r.message.contains(needle)),
        "expected a {rule} reason mentioning {needle:?}: {v:#?}"
    );
}

#[test]
fn edits_take_effect_on_the_next_decision() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = file_engine(&dir, ALLOW_ALL);
    assert_eq!(decide(&engine, &["shell.exec"]).decision, Decision::Allow);
    let first = engine.status().unwrap().policy.digest;

    // In place, same length, immediately: still noticed.
    let same_length = ALLOW_ALL
        .replace("everything", "every-thing")
        .replace("\"all\"", "\"al\"");
    assert_eq!(same_length.len(), ALLOW_ALL.len());
    write(&path, &same_length);
    assert_eq!(decide(&engine, &["shell.exec"]).reasons[0].rule, "al");

    // Replaced by rename (what editors and `write_atomic` do).
    let tmp = dir.path().join("new.rego");
    write(&tmp, DENY_ALL);
    std::fs::rename(&tmp, &path).unwrap();
    assert_denied(&decide(&engine, &["shell.exec"]), "none", "nothing at all");
    assert_ne!(engine.status().unwrap().policy.digest, first);
}

#[test]
fn a_missing_policy_denies_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = file_engine(&dir, ALLOW_ALL);
    std::fs::remove_file(&path).unwrap();
    let v = decide(&engine, &["files.read:/tmp"]);
    assert_denied(&v, "policy.unavailable", "cannot read the policy");
    assert!(engine.evaluate(&action(&[], None, false)).policy.is_none());
    assert!(
        engine
            .status()
            .unwrap_err()
            .to_string()
            .contains("policy.rego")
    );
    write(&path, ALLOW_ALL);
    assert_eq!(
        decide(&engine, &["files.read:/tmp"]).decision,
        Decision::Allow
    );
}

#[test]
fn a_broken_edit_denies_instead_of_keeping_the_old_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = file_engine(&dir, ALLOW_ALL);
    assert_eq!(decide(&engine, &["shell.exec"]).decision, Decision::Allow);
    write(&path, "package aegisclaw\nallow contains x if {\n");
    assert_denied(
        &decide(&engine, &["shell.exec"]),
        "policy.unavailable",
        "does not compile",
    );
    write(
        &path,
        "package aegisclaw\nimport rego.v1\nallow contains x if x := no_such_function(1)\n",
    );
    assert_denied(
        &decide(&engine, &["shell.exec"]),
        "policy.unavailable",
        "no_such_function",
    );
}

#[test]
fn a_policy_others_can_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, path) = file_engine(&dir, ALLOW_ALL);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_denied(
        &decide(&engine, &["files.read:/tmp"]),
        "policy.unavailable",
        "writable by other users",
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        decide(&engine, &["files.read:/tmp"]).decision,
        Decision::Allow
    );
}

#[test]
fn contract_violations_are_refused_at_load() {
    for (text, needle) in [
        (
            "package other\nimport rego.v1\nallow contains {\"rule\": \"r\", \"message\": \"m\"}\n",
            "package aegisclaw",
        ),
        (
            "package aegisclaw\nimport rego.v1\nallow := true\n",
            "must be a set",
        ),
        (
            "package aegisclaw\nimport rego.v1\ndefault allow := true\nallow contains 1 if false\n",
            "must be a set",
        ),
        (
            "package aegisclaw\nimport rego.v1\ndecision := \"maybe\"\nallow contains {\"rule\": \"r\", \"message\": \"m\"}\n",
            "not read by AegisClaw",
        ),
        (
            "package aegisclaw\nimport rego.v1\nx := 1\n",
            "none of `deny`, `ask`, `allow`",
        ),
    ] {
        let v = decide(&text_engine(text), &["files.read:/tmp"]);
        assert_denied(&v, "policy.unavailable", needle);
    }
}

#[test]
fn malformed_output_denies() {
    for (body, needle) in [
        (r#"allow contains "yes" if true"#, "must be an object"),
        (r#"allow contains {"rule": "r"} if true"#, "lacks"),
        (
            r#"allow contains {"rule": "r", "message": "m", "scop": "x"} if true"#,
            "unknown key",
        ),
        (
            r#"allow contains {"rule": "r", "message": "m", "scope": "shell.exec"} if true"#,
            "does not request",
        ),
        (
            r#"allow contains {"rule": 1, "message": "m"} if true"#,
            "must be a string",
        ),
    ] {
        let text = format!("package aegisclaw\nimport rego.v1\n{body}\n");
        let engine = text_engine(&text);
        // The sample action at load time may already trip on it; either way the verdict is deny.
        let v = decide(&engine, &["files.read:/tmp"]);
        assert_eq!(v.decision, Decision::Deny, "{body}: {v:?}");
        assert!(
            v.reasons.iter().any(|r| r.message.contains(needle)),
            "{body}: expected {needle:?} in {v:#?}"
        );
    }
}

#[test]
fn an_allow_for_one_scope_does_not_carry_another() {
    // The attack: bundle a scope the policy never speaks about with one it allows.
    let engine = text_engine(
        r#"package aegisclaw
import rego.v1
allow contains {"rule": "reads", "message": "reads are fine", "scope": s.scope} if {
    some s in input.scopes
    s.name == "files.read"
}
"#,
    );
    assert_eq!(
        decide(&engine, &["files.read:/tmp"]).decision,
        Decision::Allow
    );
    let v = decide(&engine, &["files.read:/tmp", "secrets.access:AWS_KEY"]);
    assert_denied(&v, "default_deny", "secrets.access:AWS_KEY");
    // And an action with no scope at all is not allowed by silence.
    assert_denied(&decide(&engine, &[]), "default_deny", "no rule");
}

#[test]
fn deny_beats_ask_beats_allow_regardless_of_order() {
    let both = |first: &str, second: &str| {
        format!(
            "package aegisclaw\nimport rego.v1\n{first} contains {{\"rule\": \"{first}\", \"message\": \"m\", \"scope\": s.scope}} if some s in input.scopes\n{second} contains {{\"rule\": \"{second}\", \"message\": \"m\", \"scope\": s.scope}} if some s in input.scopes\n"
        )
    };
    for (a, b, expected) in [
        ("allow", "deny", Decision::Deny),
        ("deny", "allow", Decision::Deny),
        ("allow", "ask", Decision::Ask),
        ("ask", "allow", Decision::Ask),
        ("ask", "deny", Decision::Deny),
    ] {
        let v = decide(&text_engine(&both(a, b)), &["shell.exec"]);
        assert_eq!(v.decision, expected, "{a} + {b}");
        assert!(
            v.reasons.iter().all(|r| r.rule == expected.as_str()),
            "{v:?}"
        );
    }
    // An action-wide deny applies to every scope.
    let v = decide(
        &text_engine(
            "package aegisclaw\nimport rego.v1\nallow contains {\"rule\": \"a\", \"message\": \"m\", \"scope\": s.scope} if some s in input.scopes\ndeny contains {\"rule\": \"d\", \"message\": \"m\"} if true\n",
        ),
        &["files.read:/x"],
    );
    assert_eq!(v.decision, Decision::Deny);
}

#[test]
fn a_rule_conflict_is_a_deny_not_a_crash() {
    let engine = text_engine(
        r#"package aegisclaw
import rego.v1
level := 1 if input.kind == "exec"
level := 2 if count(input.scopes) > 0
allow contains {"rule": "r", "message": "m"} if level > 0
"#,
    );
    // regorus' VM leaves the conflicting rule undefined (the interpreter raises an error): either
    // way nothing allows the scope, so it is denied.
    let v = decide(&engine, &["shell.exec"]);
    assert_eq!(v.decision, Decision::Deny, "{v:?}");
}

#[test]
fn a_slow_policy_times_out_into_a_deny() {
    let engine = text_engine(
        r#"package aegisclaw
import rego.v1
allow contains {"rule": "slow", "message": "m"} if {
    input.kind == "exec"
    count([x | some x in numbers.range(1, 50000000); x % 7 == 0]) > 0
}
"#,
    )
    .with_timeout(Duration::from_millis(20));
    let v = decide(&engine, &["shell.exec"]);
    assert_denied(&v, "policy.timeout", "time limit");
}

#[test]
fn obligations_merge_to_the_strictest_and_unknown_ones_deny() {
    let engine = text_engine(
        r#"package aegisclaw
import rego.v1
allow contains {"rule": "a", "message": "m"} if true
obligations contains {"approval_ttl": "10m", "max_runtime": "90s"} if true
obligations contains {"approval_ttl": "2m", "redact": true} if true
"#,
    );
    let v = decide(&engine, &["shell.exec"]);
    assert_eq!(v.decision, Decision::Allow);
    assert_eq!(v.obligations.approval_ttl, Some(Duration::from_secs(120)));
    assert_eq!(v.obligations.max_runtime, Some(Duration::from_secs(90)));
    assert!(v.obligations.redact);

    let engine = text_engine(
        "package aegisclaw\nimport rego.v1\nallow contains {\"rule\": \"a\", \"message\": \"m\"} if true\nobligations contains {\"sandbox\": \"off\"} if true\n",
    );
    assert_denied(
        &decide(&engine, &["shell.exec"]),
        "policy.unavailable",
        "unknown obligation",
    );
}

#[test]
fn unknown_scopes_are_denied_and_declared_ones_decided() {
    let engine = text_engine(ALLOW_ALL);
    let v = decide(&engine, &["jira.write:PROJ"]);
    assert_denied(&v, "scope.unknown", "jira.write");

    let config: aegisclaw_core::Config = aegisclaw_core::Config::from_toml(
        "[[scopes.custom]]\nname = \"jira.write\"\nrisk = \"high\"\n",
        Path::new("config.toml"),
    )
    .unwrap();
    let engine = PolicyEngine::from_template(
        aegisclaw_core::PolicyTemplate::Standard,
        ScopeRegistry::from_config(&config.scopes),
    );
    assert_eq!(
        decide(&engine, &["jira.write:PROJ"]).decision,
        Decision::Ask
    );
    let _ = ScopesConfig::default();
}

#[test]
fn raw_documents_that_are_not_actions_deny() {
    let engine = PolicyEngine::from_template(
        aegisclaw_core::PolicyTemplate::Permissive,
        ScopeRegistry::builtin(),
    );
    for doc in [
        "",
        "null",
        "[]",
        "{\"scopes\": 3}",
        "{\"scopes\": [{\"name\": \"files.read\"}]}",
        "{\"scopes\": [{\"scope\": \"x.y\", \"risk\": \"galactic\"}]}",
    ] {
        assert_eq!(
            engine.evaluate_document(doc).verdict.decision,
            Decision::Deny,
            "{doc}"
        );
    }
    // A well-formed document is decided like the action it describes.
    let doc = r#"{"actor": {"agent": "a", "skill": null}, "kind": "exec",
        "scopes": [{"scope": "files.read:/x", "name": "files.read", "risk": "low", "approved": false}],
        "provenance": {"tainted": false}, "findings": [], "environment": {"lockdown": false}}"#;
    assert_eq!(
        engine.evaluate_document(doc).verdict.decision,
        Decision::Allow
    );
}

#[test]
fn the_engine_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyEngine>();
    let engine = std::sync::Arc::new(PolicyEngine::from_template(
        aegisclaw_core::PolicyTemplate::Standard,
        ScopeRegistry::builtin(),
    ));
    #[expect(
        clippy::needless_collect,
        reason = "spawn every thread before joining any"
    )]
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let scope = if i % 2 == 0 {
                    "files.read:/a"
                } else {
                    "shell.exec"
                };
                (0..50)
                    .map(|_| decide(&engine, &[scope]).decision)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let expected = if i % 2 == 0 {
            Decision::Allow
        } else {
            Decision::Ask
        };
        assert!(h.join().unwrap().iter().all(|d| *d == expected));
    }
}

#[test]
fn explain_lists_every_rule_that_fired() {
    let engine = PolicyEngine::from_template(
        aegisclaw_core::PolicyTemplate::Standard,
        ScopeRegistry::builtin(),
    );
    let e = engine.explain(&action(
        &["files.read:/a", "payments.send"],
        Some(false),
        false,
    ));
    assert_eq!(e.verdict.decision, Decision::Deny);
    let rules: Vec<(Decision, &str)> = e
        .fired
        .iter()
        .map(|f| (f.decision, f.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (Decision::Allow, "low_risk"),
            (Decision::Ask, "critical"),
            (Decision::Deny, "critical_unsigned"),
        ]
    );
    assert_eq!(e.scopes.len(), 2);
    assert_eq!(e.input.as_ref().unwrap()["scopes"][1]["risk"], "critical");
    assert!(e.policy.unwrap().digest.starts_with("sha256:"));
}
