//! `aegisclaw config path|show|validate`, and how every command treats a bad config.

use crate::common::{TestHome, text};

#[test]
fn path_honours_the_home() {
    let t = TestHome::new();
    let out = t.run(&["config", "path"]);
    assert_eq!(
        text(&out.stdout).trim(),
        t.path("config.toml").to_str().unwrap()
    );
    let other = t.scratch().join("elsewhere");
    let out = t.run(&["--home", other.to_str().unwrap(), "config", "path"]);
    assert_eq!(
        text(&out.stdout).trim(),
        other.join("config.toml").to_str().unwrap()
    );
}

#[test]
fn show_prints_effective_config_as_toml_and_json() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["config", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let toml = text(&out.stdout);
    assert!(
        toml.contains("[sandbox.limits]") && toml.contains("backend = "),
        "{toml}"
    );
    let out = t.run(&["config", "show", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["approvals"]["timeout"], "5m");
    assert_eq!(json["server"]["bind"], "127.0.0.1");
}

#[test]
fn validate_accepts_a_good_file() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["config", "validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));
}

#[test]
fn validate_names_file_line_key_and_expectation() {
    let t = TestHome::new();
    let file = t.scratch().join("bad.toml");
    let cases = [
        (
            "[sandbox]\nbackend = \"dockr\"\n",
            ":2:11: key `sandbox.backend`",
            "expected one of `native`, `docker`, `microvm`",
        ),
        (
            "[guard]\nhost = \"block\"\nmodle = \"warn\"\n",
            ":3:1: key `guard.modle`",
            "unknown field `modle`",
        ),
        ("[approvals]\ntimeout = 5\n", ":2:", "approvals.timeout"),
        (
            "[network]\nallow = [\"*\"]\n",
            ":2:",
            "expected host[:port]",
        ),
        ("[sandbox\n", ":1:", "invalid"),
    ];
    for (src, location, expectation) in cases {
        std::fs::write(&file, src).unwrap();
        let out = t.run(&["config", "validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{src}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{}{location}", file.display())),
            "{src}: {stderr}"
        );
        assert!(stderr.contains(expectation), "{src}: {stderr}");
    }
}

#[test]
fn validate_of_a_missing_file_is_an_error() {
    let t = TestHome::new();
    let out = t.run(&["config", "validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("aegisclaw init"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn every_command_that_reads_config_exits_2_on_a_bad_one() {
    let t = TestHome::new();
    t.init();
    std::fs::write(t.path("config.toml"), "[server]\nport = 0\n").unwrap();
    let out = t.run(&["config", "show"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("config.toml:2:8: key `server.port`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}
