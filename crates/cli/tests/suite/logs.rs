//! `aegisclaw logs …` against a real log: filters, JSON shapes, exit codes, tampering found by
//! verify, proofs checked offline, external keys and checkpoints, terminal-safe output, doctor.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aegisclaw_audit::{AuditLog, Options, Record};
use aegisclaw_core::Home;
use serde_json::Value;

use crate::common::{TestHome, text};

fn log(t: &TestHome) -> AuditLog {
    AuditLog::new(&Home::at(t.home()), Options::default())
}

/// 12 entries: three actors, every third denied, an hour apart ending now.
fn populated() -> TestHome {
    let t = TestHome::new();
    t.init();
    let now = SystemTime::now();
    let records: Vec<Record> = (0..12u64)
        .map(|i| {
            Record::new(
                ["agent:codex", "skill:git-stats", "user"][i as usize % 3],
                if i % 2 == 0 { "exec" } else { "connect" },
                if i % 3 == 1 { "deny" } else { "allow" },
            )
            .at(now - Duration::from_secs(3600 * (11 - i)))
            .scope(format!("files.read:/data/{i}"))
            .reason(format!("reason {i}"))
            .result(format!("result {i}"))
            .session("s-1")
        })
        .collect();
    log(&t).append(&records).unwrap();
    t
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

fn seqs(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn show_filters_and_json() {
    let t = populated();
    let out = t.run(&["logs", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert_eq!(table.lines().count(), 12);
    assert!(
        table.lines().nth(4).unwrap().contains("skill:git-stats"),
        "{table}"
    );

    let out = t.run(&["logs", "show", "--json", "--decision", "deny"]);
    let v = json(&out);
    assert_eq!(seqs(&v), vec![1, 4, 7, 10]);
    let first = &v[0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "action",
            "actor",
            "attrs",
            "decision",
            "hash",
            "prev",
            "reasons",
            "result",
            "run",
            "scopes",
            "seq",
            "session",
            "time",
            "tool_call"
        ]
    );
    assert_eq!(first["scopes"][0], "files.read:/data/1");
    assert_eq!(first["prev"].as_str().unwrap().len(), 64);

    let v = json(&t.run(&[
        "logs", "show", "--json", "--actor", "user", "--since", "4h30m",
    ]));
    assert_eq!(seqs(&v), vec![8, 11]);
    let v = json(&t.run(&["logs", "show", "--json", "--actor", "nobody"]));
    assert_eq!(v, serde_json::json!([]));

    let since =
        humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(2 * 3600 + 60));
    let v = json(&t.run(&["logs", "show", "--json", "--since", &since.to_string()]));
    assert_eq!(seqs(&v), vec![9, 10, 11]);

    let out = t.run(&["logs", "show", "--since", "yesterday-ish"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("RFC 3339"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_empty_log_shows_nothing() {
    let t = TestHome::new();
    t.init();
    let out = t.run(&["logs", "show", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out), serde_json::json!([]));
    assert_eq!(t.run(&["logs", "verify"]).status.code(), Some(0));
}

#[test]
fn tail_prints_the_last_entries_and_follows() {
    let t = populated();
    let out = t.run(&["logs", "tail", "-n", "2"]);
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].trim_start().starts_with("10 "), "{lines:?}");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aegisclaw"))
        .env("AEGISCLAW_HOME", t.home())
        .env_remove("RUST_LOG")
        .args(["logs", "tail", "-f", "-n", "1", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |rx: &std::sync::mpsc::Receiver<String>| -> Value {
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(20)).expect("a line")).unwrap()
    };
    assert_eq!(next(&rx)["seq"], 11);
    log(&t)
        .append(&[Record::new("late", "exec", "allow")])
        .unwrap();
    let e = next(&rx);
    assert_eq!(
        (e["seq"].as_u64(), e["actor"].as_str()),
        (Some(12), Some("late"))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn verify_exit_codes_and_the_first_bad_entry() {
    let t = populated();
    let out = t.run(&["logs", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("OK: every entry"));

    // Change one byte of entry 7's result ("result 7" -> "result 8") and fix the checksum.
    let seg = t.path("audit/segments/00000000000000000000.seg");
    let mut data = std::fs::read(&seg).unwrap();
    let at = data.windows(8).position(|w| w == b"result 7").unwrap();
    data[at + 7] = b'8';
    // The frame holding it: walk the frames (FORMAT.md) to find its start.
    let mut pos = 50 + data[49] as usize * 32 + 4;
    loop {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        if at < pos + 8 + len {
            let crc = crc32fast::hash(&data[pos..pos + 4 + len]);
            data[pos + 4 + len..pos + 8 + len].copy_from_slice(&crc.to_be_bytes());
            break;
        }
        pos += len + 8;
    }
    std::fs::write(&seg, &data).unwrap();

    let out = t.run(&["logs", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("the first bad entry is 7"), "{stdout}");
    let report = json(&t.run(&["logs", "verify", "--json"]));
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_bad_seq"], 7);

    // doctor fails the audit row too.
    let doctor = json(&t.run(&["doctor", "--json"]));
    let row = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "audit log")
        .unwrap();
    assert_eq!(row["status"], "fail");
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("first bad entry is 7"),
        "{row}"
    );
}

#[test]
fn external_key_and_checkpoint_catch_what_the_home_cannot() {
    let t = populated();
    let key_line = text(&t.run(&["logs", "key"]).stdout).trim().to_string();
    let out = t.run(&["logs", "checkpoint"]);
    assert_eq!(out.status.code(), Some(0));
    let kept = t.scratch().join("kept.note");
    std::fs::write(&kept, &out.stdout).unwrap();
    let key_file = t.scratch().join("log.key.pub");
    std::fs::write(&key_file, format!("{key_line}\n")).unwrap();
    let kept_s = kept.to_str().unwrap();

    for key in [key_line.as_str(), key_file.to_str().unwrap()] {
        let out = t.run(&["logs", "verify", "--key", key, "--checkpoint", kept_s]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("given with --key"));
    }

    // An attacker replaces the whole log, key included: it verifies on its own terms...
    std::fs::remove_dir_all(t.path("audit")).unwrap();
    std::fs::remove_file(t.path("keys/audit-log.key")).unwrap();
    log(&t)
        .append(&[Record::new("agent:codex", "exec", "allow")])
        .unwrap();
    assert_eq!(t.run(&["logs", "verify"]).status.code(), Some(0));
    // ...but not against the key and checkpoint kept elsewhere.
    let out = t.run(&["logs", "verify", "--key", &key_line]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("rejected"),
        "{}",
        text(&out.stdout)
    );
    let out = t.run(&["logs", "verify", "--checkpoint", kept_s]);
    assert_eq!(out.status.code(), Some(1));

    let out = t.run(&["logs", "verify", "--key", "not-a-key"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("neither a public key line nor a readable file"));
}

#[test]
fn prove_and_check_a_proof() {
    let t = populated();
    let out = t.run(&["logs", "prove", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let proof = json(&out);
    assert_eq!(proof["seq"], 4);
    assert_eq!(proof["tree_size"], 12);
    let file = t.scratch().join("proof.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let f = file.to_str().unwrap();
    let out = t.run(&["logs", "prove", "--check", f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("valid: entry 4 (skill:git-stats exec deny)"));

    // A proof that claims another entry's content does not hold.
    let mut forged = proof;
    forged["seq"] = 5.into();
    std::fs::write(&file, forged.to_string()).unwrap();
    let out = t.run(&["logs", "prove", "--check", f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("invalid:"));

    // Entries not yet covered get a fresh checkpoint; entries that do not exist are an error.
    log(&t)
        .append(&[Record::new("late", "exec", "allow")])
        .unwrap();
    let out = t.run(&["logs", "prove", "12"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["tree_size"], 13);
    let out = t.run(&["logs", "prove", "99"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("entry 99 does not exist"));
    assert_eq!(t.run(&["logs", "prove"]).status.code(), Some(2));
}

#[test]
fn export_jsonl_has_every_entry() {
    let t = populated();
    let out = t.run(&["logs", "export", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], i as u64);
        if i > 0 {
            assert_eq!(l["prev"], lines[i - 1]["hash"]);
        }
    }
    assert_eq!(
        t.run(&["logs", "export", "--format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(t.run(&["logs", "export"]).status.code(), Some(2));
}

#[test]
fn key_is_created_private_and_stable() {
    let t = TestHome::new();
    t.init();
    let a = t.run(&["logs", "key"]);
    assert_eq!(a.status.code(), Some(0));
    let line = text(&a.stdout);
    assert!(line.starts_with("aegisclaw.local/audit/"), "{line}");
    assert_eq!(crate::common::mode(&t.path("keys/audit-log.key")), 0o600);
    assert_eq!(text(&t.run(&["logs", "key"]).stdout), line);
    assert_eq!(
        std::fs::read_to_string(t.path("audit/log.pub")).unwrap(),
        line
    );
    let doctor = json(&t.run(&["doctor", "--json"]));
    let row = |name: &str| {
        doctor["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("audit key")["status"], "pass");
    assert_eq!(row("audit log")["status"], "pass");

    std::fs::set_permissions(
        t.path("keys/audit-log.key"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let doctor = json(&t.run(&["doctor", "--json"]));
    let key = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "audit key")
        .unwrap();
    assert_eq!(key["status"], "fail");
    assert!(
        key["fix"].as_str().unwrap().starts_with("chmod 600"),
        "{key}"
    );
}

#[test]
fn untrusted_text_cannot_drive_the_terminal() {
    let t = TestHome::new();
    t.init();
    log(&t)
        .append(&[
            Record::new("agent:\u{1b}[2J\u{1b}[31mevil", "exec", "allow")
                .at(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
                .result("ok\u{202e}txt.exe\rforged line"),
        ])
        .unwrap();
    for args in [&["logs", "show"][..], &["logs", "tail"]] {
        let out = t.run(args);
        let stdout = text(&out.stdout);
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\r') && !stdout.contains('\u{202e}'),
            "{stdout:?}"
        );
        assert!(
            stdout.contains("\\u{1b}[2J") && stdout.contains("\\u{202e}"),
            "{stdout:?}"
        );
    }
    // JSON keeps the exact text (escaped by JSON itself).
    let v = json(&t.run(&["logs", "show", "--json"]));
    assert_eq!(v[0]["actor"], "agent:\u{1b}[2J\u{1b}[31mevil");
}

#[test]
fn a_bad_segment_size_is_a_config_error() {
    let t = TestHome::new();
    t.init();
    std::fs::write(t.path("config.toml"), "[audit]\nsegment_size = \"1KiB\"\n").unwrap();
    let out = t.run(&["logs", "show"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("audit.segment_size"),
        "{}",
        text(&out.stderr)
    );
}
