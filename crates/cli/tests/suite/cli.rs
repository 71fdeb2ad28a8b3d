//! Global behaviour: version, help for every command, completions, man pages, logging flags.

use crate::common::{TestHome, text};

/// The subcommands listed under "Commands:" in `aegisclaw --help`.
fn listed_commands(t: &TestHome) -> Vec<String> {
    let out = t.run(&["--help"]);
    text(&out.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn version_names_the_package_version() {
    let out = TestHome::new().run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("aegisclaw {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn every_command_has_help() {
    let t = TestHome::new();
    let commands = listed_commands(&t);
    for expected in [
        "init",
        "doctor",
        "config",
        "logs",
        "completions",
        "man",
        "help",
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "{expected} missing from {commands:?}"
        );
    }
    for command in commands.iter().filter(|c| *c != "help") {
        let out = t.run(&["help", command]);
        assert_eq!(out.status.code(), Some(0), "help {command}");
        assert!(
            text(&out.stdout).contains("Usage: aegisclaw"),
            "help {command}: {}",
            text(&out.stdout)
        );
        let out = t.run(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command} --help");
    }
    for sub in ["path", "show", "validate"] {
        assert_eq!(
            t.run(&["config", sub, "--help"]).status.code(),
            Some(0),
            "config {sub}"
        );
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    let out = TestHome::new().run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unrecognized subcommand"));
}

#[test]
fn bash_completion_is_valid_bash() {
    let t = TestHome::new();
    let out = t.run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let script = t.scratch().join("aegisclaw.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {}", text(&check.stderr));
    let body = text(&out.stdout);
    for word in ["doctor", "init", "validate", "--template"] {
        assert!(body.contains(word), "bash completion lacks {word}");
    }
}

#[test]
fn completions_for_every_shell() {
    let t = TestHome::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = t.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let body = text(&out.stdout);
        assert!(
            body.contains("aegisclaw") && body.contains("doctor"),
            "{shell}: {body}"
        );
    }
    assert_eq!(t.run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_page_prints_and_writes_one_page_per_command() {
    let t = TestHome::new();
    let out = t.run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH aegisclaw"),
        "{page}"
    );
    assert!(page.contains("doctor"));
    let dir = t.scratch().join("man");
    let out = t.run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for page in [
        "aegisclaw.1",
        "aegisclaw-init.1",
        "aegisclaw-doctor.1",
        "aegisclaw-config-validate.1",
    ] {
        let body =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|_| panic!("{page} missing"));
        assert!(body.contains(".TH"), "{page}");
    }
}

#[test]
fn bad_rust_log_is_an_error() {
    let t = TestHome::new();
    let out = t
        .cmd(&["config", "path"])
        .env("RUST_LOG", "info,=[")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("RUST_LOG"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verbose_and_quiet_conflict() {
    let out = TestHome::new().run(&["-v", "-q", "config", "path"]);
    assert_eq!(out.status.code(), Some(2));
}
