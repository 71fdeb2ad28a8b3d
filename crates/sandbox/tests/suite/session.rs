//! Kept-warm sessions: many commands in one sandbox, kill from another thread, teardown.

use std::time::{Duration, Instant};

use aegisclaw_sandbox::{Backend, Error, ExecSpec, ExecStdio, ExitStatus};

use crate::common::{backend, spec};

fn sh(script: &str) -> ExecSpec {
    ExecSpec::new("sh").args(["-c", script])
}

#[test]
fn commands_share_one_sandbox_until_destroyed() {
    let marker = format!("aegisclaw-session-{}", std::process::id());
    let mut session = backend().prepare(spec()).unwrap();
    for i in 0..5 {
        let exec = session
            .exec(
                &sh(&format!("echo {i} >> /tmp/count; wc -l < /tmp/count")),
                ExecStdio::piped(),
            )
            .unwrap();
        let (report, out, _) = exec.wait_with_output().unwrap();
        assert_eq!(report.code(), 0);
        assert_eq!(String::from_utf8_lossy(&out).trim(), (i + 1).to_string());
    }
    // A background process lives on between commands ...
    let exec = session
        .exec(
            &sh(&format!(
                "setsid sh -c 'sleep 60; echo {marker}' >/dev/null 2>&1 &"
            )),
            ExecStdio::piped(),
        )
        .unwrap();
    assert_eq!(exec.wait().unwrap().code(), 0);
    let alive = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| String::from_utf8_lossy(&c).contains(&marker))
    };
    // (Give it a moment: it may still be between fork and exec.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while !alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(alive());
    // ... and dies with the session.
    session.destroy().unwrap();
    assert!(!alive(), "a process outlived its session");
}

#[test]
fn a_killer_stops_a_running_command_from_another_thread() {
    let mut session = backend().prepare(spec()).unwrap();
    let exec = session.exec(&sh("sleep 60"), ExecStdio::piped()).unwrap();
    let killer = exec.killer();
    let started = Instant::now();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        killer.kill().unwrap();
    });
    let report = exec.wait().unwrap();
    t.join().unwrap();
    assert_eq!(report.status, ExitStatus::Signaled(libc::SIGKILL));
    assert!(started.elapsed() < Duration::from_secs(30));
    // Killing ends the session.
    let e = session.exec(&sh("true"), ExecStdio::piped()).unwrap_err();
    assert!(matches!(e, Error::SessionEnded | Error::Launcher(_)), "{e}");
}

#[test]
fn dropping_a_session_tears_it_down() {
    let marker = format!("aegisclaw-drop-{}", std::process::id());
    let alive = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| String::from_utf8_lossy(&c).contains(&marker))
    };
    {
        let mut session = backend().prepare(spec()).unwrap();
        let exec = session
            .exec(
                &sh(&format!(
                    "sh -c 'sleep 60; echo {marker}' >/dev/null 2>&1 & echo started"
                )),
                ExecStdio::piped(),
            )
            .unwrap();
        exec.wait_with_output().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(alive(), "the background process never ran");
    }
    assert!(!alive(), "a process outlived its dropped session");
}
