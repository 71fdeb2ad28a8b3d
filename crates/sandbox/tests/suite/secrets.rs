//! Secret files: `/run/secrets/NAME`, readable only by the sandbox user, never in argv or the
//! environment, gone with the sandbox.

use aegisclaw_sandbox::{Backend, ExecSpec, ExecStdio, SecretFile};

use crate::common::{backend, spec};

fn host_processes_mention(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| e.file_name().to_string_lossy() != std::process::id().to_string())
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&cmd),
                String::from_utf8_lossy(&env)
            );
            text.contains(needle)
                .then(|| e.path().display().to_string())
        })
        .collect()
}

#[test]
fn a_secret_file_is_private_and_nowhere_else() {
    let canary = format!("canary-secret-{}", std::process::id());
    let mut s = spec();
    s.secrets.push(SecretFile::new("API_TOKEN", canary.clone()));
    let mut session = backend().prepare(s).unwrap();
    let script = "stat -c '%a %U' /run/secrets /run/secrets/API_TOKEN; cat /run/secrets/API_TOKEN; echo; env; \
                  echo x > /run/secrets/other 2>/dev/null || echo read-only";
    let exec = session
        .exec(
            &ExecSpec::new("sh").args(["-c", script]),
            ExecStdio::piped(),
        )
        .unwrap();
    let (report, out, _) = exec.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(report.code(), 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "700 sandbox");
    assert_eq!(lines[1], "400 sandbox");
    assert_eq!(lines[2], canary);
    // In the file, not in the environment.
    assert_eq!(out.matches(&canary).count(), 1, "{out}");
    assert!(out.ends_with("read-only\n"), "{out}");
    // While the sandbox lives, no host process carries the value in argv or environment.
    let holders = host_processes_mention(&canary);
    assert!(holders.is_empty(), "{holders:?}");
    session.destroy().unwrap();

    // A new sandbox starts without it.
    let out = backend()
        .run(
            spec(),
            &ExecSpec::new("ls").arg("-A").arg("/run/secrets"),
            ExecStdio::piped(),
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn secret_names_are_validated() {
    let mut s = spec();
    s.secrets.push(SecretFile::new("../../etc/passwd", "x"));
    let e = backend()
        .run(s, &ExecSpec::new("true"), ExecStdio::piped())
        .unwrap_err();
    assert!(e.to_string().contains("secret file name"), "{e}");
}
