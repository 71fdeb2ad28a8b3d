//! `aegisclaw policy`: the template tables through the real binary, exit codes, `use`, `check`,
//! `show`, `explain`, and the policy rows of `init` and `doctor`.

use std::os::unix::fs::PermissionsExt;

use aegisclaw_core::{Config, PolicyTemplate};
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::{TestHome, mode, text};

fn table(template: PolicyTemplate) -> &'static str {
    match template {
        PolicyTemplate::Strict => include_str!("../../../policy/templates/strict.table"),
        PolicyTemplate::Standard => include_str!("../../../policy/templates/standard.table"),
        PolicyTemplate::Permissive => include_str!("../../../policy/templates/permissive.table"),
    }
}

fn exit_code_of(decision: &str) -> i32 {
    match decision {
        "allow" => 0,
        "deny" => 1,
        "ask" => 3,
        other => panic!("unknown decision {other}"),
    }
}

#[test]
fn eval_gives_the_decisions_in_the_tables() {
    let t = TestHome::new();
    t.init();
    for template in PolicyTemplate::ALL {
        let out = t.run(&["policy", "use", template.as_str()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        for line in table(template).lines().filter(|l| !l.starts_with('#')) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let columns = [(true, false), (true, true), (false, false), (false, true)];
            for ((signed, tainted), expected) in columns.iter().zip(&cells[2..]) {
                let mut args = vec!["policy", "eval", "--scope", cells[0], "--skill", "demo"];
                if *signed {
                    args.push("--signed");
                }
                if *tainted {
                    args.push("--tainted");
                }
                let out = t.run(&args);
                assert_eq!(
                    out.status.code(),
                    Some(exit_code_of(expected)),
                    "{template} {args:?}: {}{}",
                    text(&out.stdout),
                    text(&out.stderr)
                );
                assert_eq!(text(&out.stdout).lines().next(), Some(*expected));
            }
        }
    }
}

#[test]
fn eval_json_and_bad_scopes() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&[
        "policy",
        "eval",
        "--scope",
        "shell.exec",
        "--scope",
        "secrets.access:TOKEN",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "ask");
    assert_eq!(v["obligations"]["approval_ttl"], "15m");
    assert_eq!(v["obligations"]["redact"], true);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["scope"] == "shell.exec")
    );

    for (scope, needle) in [
        ("SHELL.EXEC", "lowercase"),
        ("shell.execute", "unknown scope"),
        ("files.read:relative/path", "absolute path"),
        ("net.outbound:http://x.com", "host[:port]"),
    ] {
        let out = t.run(&["policy", "eval", "--scope", scope]);
        assert_eq!(out.status.code(), Some(2), "{scope}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(needle) && stderr.contains("hint:"),
            "{scope}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = t.run(&["policy", "eval", "--scope", "shell.exec", "--signed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--skill"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn custom_scopes_from_config_are_decided() {
    let t = TestHome::new();
    t.init();
    let mut config = std::fs::read_to_string(t.path("config.toml")).unwrap();
    config.push_str("\n[[scopes.custom]]\nname = \"jira.write\"\nrisk = \"low\"\ndescription = \"edit Jira issues\"\n");
    std::fs::write(t.path("config.toml"), config).unwrap();
    let out = t.run(&["policy", "eval", "--scope", "jira.write:PROJ-1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = t.run(&["policy", "scopes", "--json"]);
    let scopes: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jira = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "jira.write")
        .unwrap();
    assert_eq!(jira["risk"], "low");
    assert_eq!(jira["builtin"], false);
}

#[test]
fn init_writes_the_active_policy_and_doctor_checks_it() {
    let t = TestHome::new();
    let out = t.run(&["init", "--yes", "--template", "strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let policy = t.path("policies/strict.rego");
    assert_eq!(mode(&policy), 0o600);
    assert_eq!(
        std::fs::read_to_string(&policy).unwrap(),
        aegisclaw_policy::templates::source(PolicyTemplate::Strict)
    );
    let doctor = |t: &TestHome| -> Value {
        let out = t.run(&["doctor", "--json"]);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "policy")
            .cloned()
            .unwrap()
    };
    let row = doctor(&t);
    assert_eq!(row["status"], "pass", "{row}");
    assert!(
        row["detail"].as_str().unwrap().contains("strict template"),
        "{row}"
    );

    // A broken policy fails the row and every decision.
    std::fs::write(&policy, "package aegisclaw\nallow contains x if {\n").unwrap();
    let row = doctor(&t);
    assert_eq!(row["status"], "fail", "{row}");
    assert!(
        row["fix"].as_str().unwrap().contains("policy check"),
        "{row}"
    );
    let out = t.run(&["policy", "eval", "--scope", "files.read:/tmp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("policy.unavailable"),
        "{}",
        text(&out.stdout)
    );

    // A missing one too, with the command that restores it.
    std::fs::remove_file(&policy).unwrap();
    let row = doctor(&t);
    assert_eq!(row["status"], "fail");
    assert!(
        row["fix"]
            .as_str()
            .unwrap()
            .contains("aegisclaw policy use strict"),
        "{row}"
    );
    let out = t.run(&["policy", "eval", "--scope", "files.read:/tmp"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn init_refuses_to_replace_a_policy_and_backs_it_up_with_force() {
    let t = TestHome::new();
    std::fs::create_dir_all(t.path("policies")).unwrap();
    let edited = "# mine\npackage aegisclaw\n";
    std::fs::write(t.path("policies/standard.rego"), edited).unwrap();
    let out = t.run(&["init", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("standard.rego"),
        "{}",
        text(&out.stderr)
    );
    assert!(!t.path("config.toml").exists());
    assert_eq!(
        std::fs::read_to_string(t.path("policies/standard.rego")).unwrap(),
        edited
    );

    let out = t.run(&["init", "--yes", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let backups: Vec<String> = std::fs::read_dir(t.path("policies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("standard.rego.bak-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        std::fs::read_to_string(t.path("policies").join(&backups[0])).unwrap(),
        edited
    );
}

#[test]
fn use_switches_template_and_keeps_edits_unless_forced() {
    let t = TestHome::new();
    t.init();
    let config_before = std::fs::read_to_string(t.path("config.toml")).unwrap();
    let out = t.run(&["policy", "use", "permissive"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config_after = std::fs::read_to_string(t.path("config.toml")).unwrap();
    assert!(
        config_after.starts_with("# AegisClaw configuration."),
        "comments are kept"
    );
    assert_eq!(
        Config::load(&t.path("config.toml"))
            .unwrap()
            .policy
            .template,
        PolicyTemplate::Permissive
    );
    assert_ne!(config_before, config_after);
    assert_eq!(mode(&t.path("policies/permissive.rego")), 0o600);
    let out = t.run(&["policy", "eval", "--scope", "files.write:/tmp/x"]);
    assert_eq!(out.status.code(), Some(0), "permissive allows medium");

    std::fs::write(t.path("policies/standard.rego"), "# edited\n").unwrap();
    let out = t.run(&["policy", "use", "standard"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(t.path("policies/standard.rego")).unwrap(),
        "# edited\n"
    );
    assert_eq!(
        Config::load(&t.path("config.toml"))
            .unwrap()
            .policy
            .template,
        PolicyTemplate::Permissive,
        "a refused `use` changes nothing"
    );
    let out = t.run(&["policy", "use", "standard", "--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Kept the previous"));
}

#[test]
fn policy_file_overrides_the_template() {
    let t = TestHome::new();
    t.init();
    let custom = t.path("policies/custom.rego");
    std::fs::write(
        &custom,
        "package aegisclaw\nimport rego.v1\ndeny contains {\"rule\": \"house_rule\", \"message\": \"no exec here\", \"scope\": s.scope} if {\n  some s in input.scopes\n  s.name == \"shell.exec\"\n}\nallow contains {\"rule\": \"rest\", \"message\": \"fine\"} if true\n",
    )
    .unwrap();
    std::fs::set_permissions(&custom, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = std::fs::read_to_string(t.path("config.toml")).unwrap();
    config = config.replace("[policy]\n", "[policy]\nfile = \"policies/custom.rego\"\n");
    std::fs::write(t.path("config.toml"), config).unwrap();

    let out = t.run(&["policy", "eval", "--scope", "shell.exec"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("house_rule"),
        "{}",
        text(&out.stdout)
    );
    let out = t.run(&["policy", "show", "--json"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["custom"], true);
    assert!(
        shown["path"]
            .as_str()
            .unwrap()
            .ends_with("policies/custom.rego")
    );
    let out = t.run(&["policy", "use", "strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("policy.file"),
        "{}",
        text(&out.stderr)
    );
    // A policy others may write is refused (and `check` says so).
    std::fs::set_permissions(&custom, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = t.run(&["policy", "eval", "--scope", "files.read:/tmp"]);
    assert_eq!(out.status.code(), Some(1));
    let out = t.run(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("writable by other users"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_reports_compile_lint_and_tests() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("compile: ok") && stdout.contains("5 passed, 0 failed"),
        "{stdout}"
    );

    let bad = t.scratch().join("bad.rego");
    std::fs::write(
        &bad,
        "package aegisclaw\nimport rego.v1\nallow contains {\"rule\": \"r\", \"message\": \"m\"} if input.kind == \"exec\"\ntest_wrong if { count(allow) == 0 with input as {\"kind\": \"exec\"} }\n",
    )
    .unwrap();
    let out = t.run(&["policy", "check", bad.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tests"][0]["name"], "test_wrong");
    assert_eq!(report["tests"][0]["passed"], false);

    std::fs::write(&bad, "package aegisclaw\nimport rego.v1\nallow := true\n").unwrap();
    let out = t.run(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("error (line 3)"),
        "{}",
        text(&out.stdout)
    );

    let out = t.run(&["policy", "check", "/nonexistent/policy.rego"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_shows_the_rules_that_fired() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&[
        "policy",
        "explain",
        "--scope",
        "files.read:/home/me",
        "--scope",
        "payments.send",
        "--skill",
        "pay",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for needle in [
        "rules that fired",
        "critical_unsigned",
        "low_risk",
        "decision per scope",
        "verdict: deny",
    ] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    let out = t.run(&["policy", "explain", "--scope", "shell.exec", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["verdict"]["decision"], "ask");
    assert_eq!(e["input"]["scopes"][0]["risk"], "high");
    assert_eq!(e["fired"][0]["rule"], "needs_approval");
}

#[test]
fn show_and_templates() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["policy", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("# from the standard template") && stdout.contains("package aegisclaw"),
        "{stdout}"
    );
    let out = t.run(&["policy", "templates", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["strict", "standard", "permissive"]);
    assert_eq!(list[1]["active"], true);
}
