//! `aegisclaw init`: fresh, refusal, --force with backup, permissions, the interactive wizard.

use std::process::Stdio;

use aegisclaw_core::Config;
use pretty_assertions::assert_eq;

use crate::common::{TestHome, mode, text};

fn config_of(t: &TestHome) -> Config {
    Config::load(&t.path("config.toml")).expect("init wrote a valid config")
}

#[test]
fn fresh_init_creates_private_layout_and_valid_config() {
    let t = TestHome::new();
    let out = t.run(&["init", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("This machine:") && stdout.contains("landlock"),
        "{stdout}"
    );
    assert!(stdout.contains("Recommended sandbox backend"), "{stdout}");
    for dir in ["", "policies", "audit", "keys", "secrets", "skills"] {
        assert_eq!(mode(&t.path(dir)), 0o700, "{dir}");
    }
    assert_eq!(mode(&t.path("config.toml")), 0o600);
    let config = config_of(&t);
    assert_eq!(
        config.policy.template,
        aegisclaw_core::PolicyTemplate::Standard
    );
}

#[test]
fn flags_choose_template_and_backend() {
    let t = TestHome::new();
    let out = t.run(&[
        "init",
        "--yes",
        "--template",
        "strict",
        "--backend",
        "docker",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = config_of(&t);
    assert_eq!(
        config.policy.template,
        aegisclaw_core::PolicyTemplate::Strict
    );
    assert_eq!(
        config.sandbox.backend,
        aegisclaw_core::SandboxBackend::Docker
    );
    let bad = t.run(&["init", "--yes", "--force", "--template", "lax"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("possible values: strict, standard, permissive"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn second_init_refuses_and_changes_nothing() {
    let t = TestHome::new();
    t.init();
    std::fs::write(
        t.path("config.toml"),
        "# edited by hand\n[sandbox]\nbackend = \"docker\"\n",
    )
    .unwrap();
    let before = std::fs::read(t.path("config.toml")).unwrap();
    let out = t.run(&["init", "--yes", "--template", "strict"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already initialised") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(t.path("config.toml")).unwrap(), before);
}

#[test]
fn force_keeps_a_timestamped_backup() {
    let t = TestHome::new();
    t.init();
    let edited = "# edited by hand\n[sandbox]\nbackend = \"docker\"\n";
    std::fs::write(t.path("config.toml"), edited).unwrap();
    for round in 0..2 {
        let out = t.run(&["init", "--yes", "--force", "--template", "permissive"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("Kept the previous"),
            "{}",
            text(&out.stdout)
        );
    }
    let backups: Vec<_> = std::fs::read_dir(t.home())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("config.toml.bak-")
        })
        .collect();
    assert_eq!(backups.len(), 2, "{backups:?}");
    let contents: Vec<String> = backups
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        contents.iter().any(|c| c == edited),
        "the hand-edited file was kept"
    );
    for b in &backups {
        assert_eq!(mode(b), 0o600);
    }
    assert_eq!(
        config_of(&t).policy.template,
        aegisclaw_core::PolicyTemplate::Permissive
    );
}

#[test]
fn without_a_terminal_init_asks_for_yes() {
    let t = TestHome::new();
    let out = t.cmd(&["init"]).write_stdin("").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(!t.path("config.toml").exists());
}

#[test]
fn interactive_wizard_on_a_pseudo_terminal() {
    // util-linux `script` gives the wizard a real pty; the keys pick the second backend
    // (arrow down, Enter) and the first template (arrow up, Enter).
    let t = TestHome::new();
    let bin = assert_cmd::cargo::cargo_bin("aegisclaw");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{} init", bin.display()), "/dev/null"])
        .env("AEGISCLAW_HOME", t.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is installed");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\x1b[B\n\x1b[A\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Sandbox backend") && shown.contains("Policy template"),
        "{shown}"
    );
    let config = config_of(&t);
    assert_eq!(
        config.sandbox.backend,
        aegisclaw_core::SandboxBackend::Docker
    );
    assert_eq!(
        config.policy.template,
        aegisclaw_core::PolicyTemplate::Strict
    );
}
