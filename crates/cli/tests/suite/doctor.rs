//! `aegisclaw doctor`: the JSON shape, and that failures fail.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::common::{TestHome, text};

fn doctor_json(t: &TestHome) -> (Option<i32>, Value) {
    let out = t.run(&["doctor", "--json"]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {}", text(&out.stdout)));
    (out.status.code(), json)
}

fn check<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {json}"))
}

#[test]
fn json_shape_is_stable() {
    let t = TestHome::new();
    t.init();
    let (code, json) = doctor_json(&t);
    let checks = json["checks"].as_array().expect("checks array");
    assert!(checks.len() >= 6);
    for c in checks {
        assert!(c["name"].is_string() && c["detail"].is_string(), "{c}");
        let status = c["status"].as_str().unwrap();
        assert!(["pass", "warn", "fail"].contains(&status), "{c}");
        // A passing check has no fix; any other says how to fix it.
        assert_eq!(c["fix"].is_null(), status == "pass", "{c}");
    }
    let counted: u64 = ["pass", "warn", "fail"]
        .iter()
        .map(|k| json["counts"][k].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, checks.len());
    let ok = json["ok"].as_bool().unwrap();
    assert_eq!(ok, json["counts"]["fail"] == 0);
    assert_eq!(code, Some(if ok { 0 } else { 1 }));
    for name in [
        "home",
        "config",
        "kernel",
        "user namespaces",
        "landlock",
        "seccomp",
        "cgroups",
        "sandbox",
    ] {
        check(&json, name);
    }
    assert_eq!(check(&json, "home")["status"], "pass");
    assert_eq!(check(&json, "config")["status"], "pass");
}

#[test]
fn uninitialised_home_fails_with_a_fix() {
    let t = TestHome::new();
    let (code, json) = doctor_json(&t);
    assert_eq!(code, Some(1));
    assert_eq!(json["ok"], false);
    let home = check(&json, "home");
    assert_eq!(home["status"], "fail");
    assert!(home["fix"].as_str().unwrap().contains("aegisclaw init"));
}

#[test]
fn loose_permissions_and_bad_config_fail() {
    let t = TestHome::new();
    t.init();
    std::fs::set_permissions(t.path("keys"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(t.path("config.toml"), "[sandbox]\nbakend = \"native\"\n").unwrap();
    std::fs::set_permissions(
        t.path("config.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (code, json) = doctor_json(&t);
    assert_eq!(code, Some(1));
    let home = check(&json, "home");
    assert_eq!(home["status"], "fail");
    let detail = home["detail"].as_str().unwrap();
    assert!(
        detail.contains("keys is 755") && detail.contains("config.toml is 644"),
        "{detail}"
    );
    let config = check(&json, "config");
    assert_eq!(config["status"], "fail");
    assert!(
        config["detail"]
            .as_str()
            .unwrap()
            .contains("sandbox.bakend"),
        "{config}"
    );
}

#[test]
fn docker_backend_without_engine_fails_the_docker_check() {
    let t = TestHome::new();
    t.init();
    std::fs::write(t.path("config.toml"), "[sandbox]\nbackend = \"docker\"\n").unwrap();
    let missing_socket = t.scratch().join("no-docker.sock");
    let out = t
        .cmd(&["doctor", "--json"])
        .env(
            "DOCKER_HOST",
            format!("unix://{}", missing_socket.display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let docker = check(&json, "docker");
    assert_eq!(docker["status"], "fail");
    assert!(
        docker["detail"]
            .as_str()
            .unwrap()
            .contains("no-docker.sock"),
        "{docker}"
    );
}

#[test]
fn human_output_has_a_summary_line() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["doctor"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("passed,") && stdout.contains("failed"),
        "{stdout}"
    );
}
