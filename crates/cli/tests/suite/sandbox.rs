//! `aegisclaw sandbox run` and `aegisclaw sandbox selftest` through the real binary.

use serde_json::Value;

use crate::common::{TestHome, text};

/// The `--json` summary: the last line of stdout.
fn summary(stdout: &[u8]) -> Value {
    let out = text(stdout);
    let line = out.lines().last().unwrap_or_default().to_string();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("no JSON summary ({e}) in {out:?}"))
}

#[test]
fn hello_safe_world() {
    let t = TestHome::new();
    let out = t.run(&["sandbox", "run", "--", "echo", "Hello Safe World"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello Safe World\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn the_command_exit_code_is_ours() {
    let t = TestHome::new();
    let out = t.run(&["sandbox", "run", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let out = t.run(&[
        "sandbox",
        "run",
        "--timeout",
        "1s",
        "--json",
        "--",
        "sleep",
        "30",
    ]);
    assert_eq!(out.status.code(), Some(137));
    let json = summary(&out.stdout);
    assert_eq!(json["timed_out"], true);
    assert_eq!(json["exit_code"], 137);
    assert_eq!(json["denials"][0]["kind"], "timeout");
}

#[test]
fn json_summary_lists_denials() {
    let t = TestHome::new();
    let out = t.run(&[
        "sandbox",
        "run",
        "--json",
        "--",
        "sh",
        "-c",
        "echo before; mount -t tmpfs x /tmp; true",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("before\n"));
    let json = summary(&out.stdout);
    for key in [
        "backend",
        "status",
        "exit_code",
        "duration_ms",
        "timed_out",
        "denials",
        "degraded",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
    let denials = json["denials"].as_array().unwrap();
    assert!(
        denials
            .iter()
            .any(|d| d["kind"] == "syscall" && d["syscall"] == "mount"),
        "{json}"
    );
}

#[test]
fn grants_read_only_and_read_write() {
    let t = TestHome::new();
    let ro = t.scratch().join("ro");
    let rw = t.scratch().join("rw");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::write(ro.join("in.txt"), "input\n").unwrap();
    let script = format!(
        "cat {ro}/in.txt > {rw}/out.txt && echo x > {ro}/nope.txt",
        ro = ro.display(),
        rw = rw.display()
    );
    let out = t.run(&[
        "sandbox",
        "run",
        "--ro",
        ro.to_str().unwrap(),
        "--rw",
        rw.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(rw.join("out.txt")).unwrap(),
        "input\n"
    );
    assert!(!ro.join("nope.txt").exists());
}

#[test]
fn the_working_directory_follows_the_grant_and_env_passes() {
    let t = TestHome::new();
    let ws = t.scratch().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let out = t
        .cmd(&[
            "sandbox",
            "run",
            "--rw",
            ".",
            "--env",
            "COLOUR=blue",
            "--",
            "sh",
            "-c",
            "pwd; echo $COLOUR",
        ])
        .current_dir(&ws)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}\nblue\n", ws.display()));
}

#[test]
fn the_aegisclaw_home_stays_hidden_inside_a_grant() {
    let t = TestHome::new();
    t.init();
    let config = t.path("config.toml");
    let out = t.run(&[
        "sandbox",
        "run",
        "--ro",
        t.scratch().to_str().unwrap(),
        "--",
        "cat",
        config.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stdout).is_empty(), "{}", text(&out.stdout));
}

#[test]
fn flags_can_only_lower_the_configured_limits() {
    let t = TestHome::new();
    let out = t.run(&["sandbox", "run", "--mem", "64G", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--mem") && err.contains("sandbox.limits.memory"),
        "{err}"
    );
    let out = t.run(&["sandbox", "run", "--mem", "lots", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&["sandbox", "run", "--env", "NOEQUALS", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn setup_failures_exit_2_with_a_hint() {
    let t = TestHome::new();
    let out = t.run(&["sandbox", "run", "--ro", "/proc", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/proc"), "{}", text(&out.stderr));
    let out = t.run(&["sandbox", "run", "--", "definitely-not-a-command"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("definitely-not-a-command") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn selftest_passes_every_required_attack() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["sandbox", "selftest", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)));
    let failed: Vec<String> = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] != true)
        .map(|c| format!("{} {}", c["id"], c["checks"]))
        .collect();
    assert_eq!(out.status.code(), Some(0), "{failed:?}");
    assert_eq!(json["total"], 30);
    assert_eq!(json["required_total"], 22);
    assert_eq!(json["required_passed"], 22, "{failed:?}");
}

#[test]
fn selftest_of_an_unavailable_backend_is_an_error() {
    let t = TestHome::new();
    let out = t.run(&["sandbox", "selftest", "--backend", "docker"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("docker"));
}

#[test]
fn every_run_is_recorded_in_the_audit_log() {
    let t = TestHome::new();
    let out = t.run(&[
        "sandbox",
        "run",
        "--ro",
        "/etc/hostname",
        "--",
        "sh",
        "-c",
        "mount -t tmpfs x /tmp; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let out = t.run(&["logs", "show", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entries: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (start, end) = (&entries[0], &entries[1]);
    for e in [start, end] {
        assert_eq!(e["action"], "sandbox.run");
        assert_eq!(e["attrs"]["program"], "sh");
        assert_eq!(e["attrs"]["args"], "2");
        assert!(
            e["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "files.read:/etc/hostname"),
            "{e}"
        );
    }
    assert_eq!(start["result"], "started");
    assert_eq!(start["run"], end["run"]);
    assert_eq!(end["attrs"]["exit_code"], "4");
    assert!(
        end["attrs"]["denial.0"].as_str().unwrap().contains("mount"),
        "{end}"
    );
    // Arguments can hold secrets someone typed: they are not recorded.
    let export = t.run(&["logs", "export", "--format", "jsonl"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let exported = text(&export.stdout);
    assert!(exported.contains("sandbox.run"), "{exported}");
    assert!(!exported.contains("tmpfs"), "{exported}");
}

#[test]
fn a_run_that_cannot_be_audited_does_not_start() {
    let t = TestHome::new();
    std::fs::create_dir_all(t.home()).unwrap();
    // An audit "directory" that is a file: the log cannot be written.
    std::fs::write(t.path("audit"), "not a directory").unwrap();
    let marker = t.scratch().join("ran");
    let out = t.run(&[
        "sandbox",
        "run",
        "--rw",
        t.scratch().to_str().unwrap(),
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("audit log"),
        "{}",
        text(&out.stderr)
    );
    assert!(!marker.exists());
}
