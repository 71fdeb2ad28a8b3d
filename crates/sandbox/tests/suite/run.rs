//! The run interface: output, exit codes, errors, working directory, environment, limits,
//! denials, timeouts, ownership of created files.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use aegisclaw_sandbox::{Backend, Denial, Error, ExecSpec, ExecStdio, ExitStatus, Layer, Stdio};
use bytesize::ByteSize;

use crate::common::{backend, spec};

fn sh(script: &str) -> ExecSpec {
    ExecSpec::new("sh").args(["-c", script])
}

fn run(spec: aegisclaw_sandbox::SandboxSpec, exec: &ExecSpec) -> aegisclaw_sandbox::RunOutput {
    backend().run(spec, exec, ExecStdio::piped()).unwrap()
}

#[test]
fn echo_prints_and_exits_zero() {
    let out = run(spec(), &ExecSpec::new("echo").arg("Hello Safe World"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello Safe World\n");
    assert_eq!(out.report.exec.code(), 0);
    assert_eq!(out.report.backend, "native");
    assert!(out.report.degraded.is_empty(), "{:?}", out.report.degraded);
}

#[test]
fn exit_codes_and_signals_follow_the_shell_convention() {
    let out = run(spec(), &sh("echo out; echo err >&2; exit 7"));
    assert_eq!(out.report.exec.status, ExitStatus::Exited(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let out = run(spec(), &sh("kill -TERM $$"));
    assert_eq!(out.report.exec.status, ExitStatus::Signaled(libc::SIGTERM));
    assert_eq!(out.report.exec.code(), 128 + libc::SIGTERM);
}

#[test]
fn a_missing_program_is_an_exec_error() {
    let e = backend()
        .run(
            spec(),
            &ExecSpec::new("no-such-program-aegisclaw"),
            ExecStdio::piped(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Exec { .. }), "{e}");
    assert!(e.to_string().contains("no-such-program-aegisclaw"), "{e}");
    assert!(e.hint().is_some());
}

#[test]
fn stdin_is_piped_through() {
    let mut session = backend().prepare(spec()).unwrap();
    let stdio = ExecStdio {
        stdin: Stdio::Piped,
        stdout: Stdio::Piped,
        stderr: Stdio::Null,
    };
    let mut exec = session
        .exec(&ExecSpec::new("tr").args(["a-z", "A-Z"]), stdio)
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = exec.stdin.take().unwrap();
        stdin.write_all(b"sandboxed\n").unwrap();
    }
    let (report, out, _) = exec.wait_with_output().unwrap();
    assert_eq!(report.code(), 0);
    assert_eq!(String::from_utf8_lossy(&out), "SANDBOXED\n");
    session.destroy().unwrap();
}

#[test]
fn the_environment_is_built_not_inherited() {
    let mut s = spec();
    s.env.push(("GREETING".into(), "hi".into()));
    let exec = sh("env | sort").env("PER_COMMAND", "yes");
    let out = run(s, &exec);
    let env = String::from_utf8_lossy(&out.stdout).into_owned();
    for expected in [
        "GREETING=hi",
        "PER_COMMAND=yes",
        "HOME=/home/sandbox",
        "USER=sandbox",
    ] {
        assert!(
            env.lines().any(|l| l == expected),
            "{expected} missing from:\n{env}"
        );
    }
    // Nothing of this test process's environment (cargo sets plenty).
    for (k, _) in std::env::vars() {
        if ![
            "PATH", "HOME", "LANG", "USER", "SHELL", "TERM", "LOGNAME", "TMPDIR", "PWD",
        ]
        .contains(&k.as_str())
        {
            assert!(
                !env.lines().any(|l| l.starts_with(&format!("{k}="))),
                "{k} leaked:\n{env}"
            );
        }
    }
}

#[test]
fn workdir_defaults_to_the_workspace_and_must_exist() {
    let ws = tempfile::tempdir().unwrap();
    let mut s = spec();
    s.workspace = Some(ws.path().to_path_buf());
    let out = run(s, &ExecSpec::new("pwd"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ws.path().to_str().unwrap()
    );
    let out = run(spec(), &ExecSpec::new("pwd"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/home/sandbox");
    let mut s = spec();
    s.workdir = Some("/not/granted".into());
    let e = backend()
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap_err();
    assert!(e.to_string().contains("/not/granted"), "{e}");
}

#[test]
fn files_created_in_the_workspace_belong_to_the_invoking_user() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("mine.txt"), "private\n").unwrap();
    std::fs::set_permissions(
        ws.path().join("mine.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut s = spec();
    s.workspace = Some(ws.path().to_path_buf());
    let out = run(
        s,
        &sh("cat mine.txt && echo more >> mine.txt && echo new > new.txt && id -u"),
    );
    assert_eq!(
        out.report.exec.code(),
        0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<_> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines[0], "private");
    // Never uid 0 inside.
    assert_eq!(lines[1], "1000");
    let me = nix::unistd::geteuid().as_raw();
    assert_eq!(
        std::fs::metadata(ws.path().join("new.txt")).unwrap().uid(),
        me
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("mine.txt")).unwrap(),
        "private\nmore\n"
    );
}

/// Host processes whose command line holds `marker`.
fn marked_processes(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(marker))
        .count()
}

#[test]
fn the_timeout_kills_the_whole_tree_and_is_reported() {
    let marker = format!("aegisclaw-timeout-{}", std::process::id());
    let mut s = spec();
    s.limits.timeout = Duration::from_millis(700);
    // Each background shell keeps the marker in its command line while it waits on its sleep.
    let script = format!(
        "sh -c 'sleep 60; echo {marker}' & setsid sh -c 'sleep 60; echo {marker}' & exec sleep 60"
    );
    let marked = marker.clone();
    let watcher = std::thread::spawn(move || {
        // The oracle must see the marked processes alive before the timeout, or the check
        // below proves nothing.
        let deadline = std::time::Instant::now() + Duration::from_millis(600);
        while std::time::Instant::now() < deadline {
            if marked_processes(&marked) >= 2 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    let out = run(s, &sh(&script));
    assert!(
        watcher.join().unwrap(),
        "the background processes never ran"
    );
    let exec = &out.report.exec;
    assert!(exec.timed_out);
    assert_eq!(exec.status, ExitStatus::Signaled(libc::SIGKILL));
    assert!(
        exec.denials
            .iter()
            .any(|d| matches!(d, Denial::Timeout { .. })),
        "{:?}",
        exec.denials
    );
    assert_eq!(
        marked_processes(&marker),
        0,
        "processes survived the timeout"
    );
}

#[test]
fn a_per_command_timeout_can_only_lower_the_limit() {
    let out = run(spec(), &sh("sleep 30").timeout(Duration::from_millis(300)));
    assert!(out.report.exec.timed_out);
    assert!(out.report.exec.duration < Duration::from_secs(20));
}

#[test]
fn limits_are_enforced_and_reported_as_denials() {
    let mut s = spec();
    s.limits.file_size = ByteSize::mib(1);
    let out = run(s, &sh("exec head -c 2000000 /dev/zero > /tmp/big"));
    assert_eq!(out.report.exec.status, ExitStatus::Signaled(libc::SIGXFSZ));
    assert!(
        out.report
            .exec
            .denials
            .iter()
            .any(|d| matches!(d, Denial::Limit { limit, .. } if limit == "file_size")),
        "{:?}",
        out.report.exec.denials
    );
    if nix::unistd::geteuid().is_root() {
        let mut s = spec();
        s.limits.pids = 8;
        let out = run(
            s,
            &sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done; wait"),
        );
        assert!(
            out.report
                .exec
                .denials
                .iter()
                .any(|d| matches!(d, Denial::Limit { limit, .. } if limit == "pids")),
            "{:?}",
            out.report.exec.denials
        );
    }
}

#[test]
fn refused_system_calls_are_reported() {
    let out = run(
        spec(),
        &sh("mount -t tmpfs x /tmp; python3 -c 'import socket; socket.socket()' || true"),
    );
    let denials = &out.report.exec.denials;
    assert!(
        denials
            .iter()
            .any(|d| matches!(d, Denial::Syscall { syscall, .. } if syscall == "mount")),
        "{denials:?}"
    );
    if std::path::Path::new("/usr/bin/python3").exists() {
        assert!(
            denials
                .iter()
                .any(|d| matches!(d, Denial::Network { family, .. } if family == "inet")),
            "{denials:?}"
        );
    }
}

#[test]
fn invalid_specs_are_refused_before_anything_runs() {
    let mut s = spec();
    s.read_only.push("relative/path".into());
    let e = backend()
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap_err();
    assert!(matches!(e, Error::Spec(_)), "{e}");
    let mut s = spec();
    s.read_write.push("/proc/self".into());
    let e = backend()
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap_err();
    assert!(matches!(e, Error::Spec(_)), "{e}");
    let ws = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc", ws.path().join(".git")).unwrap();
    let mut s = spec();
    s.workspace = Some(ws.path().to_path_buf());
    let e = backend()
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Layer {
                layer: Layer::ProtectedPaths,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn hidden_paths_inside_grants_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    std::fs::write(dir.path().join("home/secret.toml"), "token = 1\n").unwrap();
    std::fs::write(dir.path().join("visible.txt"), "ok\n").unwrap();
    let mut s = spec();
    s.read_only.push(dir.path().to_path_buf());
    s.hidden.push(dir.path().join("home"));
    let out = run(
        s,
        &sh(&format!(
            "cat {0}/visible.txt; ls -A {0}/home; cat {0}/home/secret.toml",
            dir.path().display()
        )),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "ok\n");
    assert_ne!(out.report.exec.code(), 0);
}
